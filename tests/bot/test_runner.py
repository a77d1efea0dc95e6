"""BotRunner and check_token: the bot's state on the bus through start, ready, disconnects and stop.

Starting and running the bot happens in simcord (`SimcordConnection` below: simcord logs the bot in
with its own fake token and brings it to READY, since it cannot open a gateway). Token refusals go
through the real connection and discord.py's real HTTP client, pointed at a small Discord REST stand-in
on 127.0.0.1 that answers 401 to a wrong token.
"""
from __future__ import annotations

import asyncio
import itertools
import json

import discord
import discord.http
import pytest
import simcord
from aiohttp import web

from bot.runner import (INTENTS_REFUSED, RECONNECTING, STOPPED, TOKEN_MISSING, TOKEN_REJECTED, UNREACHABLE, BotRunner,
                        DiscordConnection, backoff, check_token)
from core.status import BotStateChanged, DiscordUnreachable, TokenRejected
from tests.bot.conftest import HOME
from tests.ports import free_port

GOOD_TOKEN = "good.token.value"


class SimcordConnection:
    """Starts the bot in simcord instead of Discord; keeps the same simulated world across restarts."""

    def __init__(self, **env_options) -> None:
        self.env: simcord.Env | None = None
        self.env_options = dict(settle_timeout=0.5, **env_options)
        self.tokens: list[str] = []
        self._ended: asyncio.Future | None = None

    async def login(self, bot: discord.Client, token: str) -> None:
        self.tokens.append(token)
        if self.env is None:
            self.env = simcord.Env(bot, **self.env_options)
            self.env.create_guild("Home", id=HOME).create_text_channel("general")
        self.env.bot = bot           # a restart: the new bot joins the same simulated Discord
        self._ended = asyncio.get_running_loop().create_future()
        await self.env.start()       # simcord's fake login, READY and the guilds

    async def run(self, bot: discord.Client) -> None:
        await self._ended

    def end(self, error: BaseException | None = None) -> None:
        """The gateway connection ends on its own (with `error`, as discord.py's connect() would raise)."""
        if error is None:
            self._ended.set_result(None)
        else:
            self._ended.set_exception(error)

    async def close(self, bot: discord.Client) -> None:
        await bot.close()
        if self.env is not None and self.env._started:
            await self.env.shutdown()
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)


@pytest.fixture
def states(core_bus) -> list[BotStateChanged]:
    seen: list[BotStateChanged] = []
    core_bus.subscribe(BotStateChanged, seen.append)
    return seen


@pytest.fixture
def make_bot(env):
    """Bots wired to the real JobService (the `env` fixture's parts); counts how many were made."""
    made = []

    def make():
        bot = env.test_parts["make_bot"]()
        made.append(bot)
        return bot

    make.made = made
    return make


@pytest.fixture
async def connection():
    conn = SimcordConnection()
    yield conn
    if conn.env is not None and conn.env._started:
        await conn.env.shutdown()


async def settle(bot_env: simcord.Env | None = None) -> None:
    for _ in range(5):
        await asyncio.sleep(0)
    if bot_env is not None and bot_env._started:
        await bot_env.settle()


async def test_start_ready_stop_and_start_again(make_bot, core_bus, states, connection):
    runner = BotRunner(make_bot, f" {GOOD_TOKEN}\n", core_bus, connection=connection)
    await runner.start()
    await settle(connection.env)
    bot = runner.bot
    assert connection.tokens == [GOOD_TOKEN]                     # pasted whitespace is not part of the token
    assert bot is make_bot.made[0] and bot.is_ready() and runner.is_connected()
    assert states == [BotStateChanged(True, f"Connected to Discord as {bot.user}")]
    assert "admin-tools" in connection.env.guild.channels        # on_ready really ran: the bot set up its guild

    await runner.stop()
    assert states[-1] == BotStateChanged(False, STOPPED)
    assert bot.is_closed() and runner.bot is None and not runner.is_connected()

    await runner.start()                                         # a discord.py client is single-use: a new one
    await settle(connection.env)
    assert runner.bot is make_bot.made[1] and runner.is_connected()
    assert states[-1].connected is True
    await runner.stop()
    assert [s.connected for s in states] == [True, False, True, False]


async def test_start_twice_makes_one_bot(make_bot, core_bus, states, connection):
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=connection)
    await asyncio.gather(runner.start(), runner.start())
    await settle(connection.env)
    assert len(make_bot.made) == 1 and runner.is_connected()
    await runner.stop()


async def test_a_resumed_session_shows_connected_again(make_bot, core_bus, states, connection):
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=connection)
    await runner.start()
    await settle(connection.env)
    bot = runner.bot
    bot.dispatch("disconnect")             # the gateway dropped; discord.py resumes the session
    await settle(connection.env)
    assert states[-1] == BotStateChanged(False, RECONNECTING)
    bot.dispatch("resumed")                # a RESUME brings no new READY
    await settle(connection.env)
    assert states[-1] == BotStateChanged(True, f"Connected to Discord as {bot.user}")
    await runner.stop()


class NoisyCloseConnection(SimcordConnection):
    async def close(self, bot: discord.Client) -> None:
        bot.dispatch("disconnect")         # discord.py's connect loop reports the socket that close() shuts
        await super().close(bot)


async def test_a_stopping_bot_does_not_say_reconnecting(make_bot, core_bus, states):
    connection = NoisyCloseConnection()
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=connection)
    await runner.start()
    await settle(connection.env)
    await runner.stop()
    await settle()
    assert [s.message for s in states][1:] == [STOPPED]


async def test_a_connection_that_ends_says_why_and_frees_the_bot(make_bot, core_bus, states, connection):
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=connection)
    await runner.start()
    await settle(connection.env)
    bot = runner.bot
    connection.end(discord.PrivilegedIntentsRequired(shard_id=None))
    await settle()
    for _ in range(20):
        if not states[-1].connected:
            break
        await asyncio.sleep(0)
    assert states[-1] == BotStateChanged(False, INTENTS_REFUSED)
    assert runner.bot is None and bot.is_closed()
    await runner.start()                   # and it can be started again
    await settle(connection.env)
    assert runner.is_connected() and len(make_bot.made) == 2
    await runner.stop()


async def test_no_privileged_intent_is_needed(make_bot, core_bus, states):
    connection = SimcordConnection(approved_intents=discord.Intents.default())   # nothing switched on in the portal
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=connection)
    await runner.start()
    await settle(connection.env)
    assert runner.is_connected() and states[-1].connected
    await runner.stop()


@pytest.mark.parametrize("token", [None, "", "  \n"])
async def test_a_missing_token_is_said_clearly(make_bot, core_bus, states, token):
    runner = BotRunner(make_bot, token, core_bus)
    with pytest.raises(RuntimeError) as raised:
        await runner.start()
    assert str(raised.value) == TOKEN_MISSING and "DISCORD_TOKEN" in TOKEN_MISSING
    assert states == [BotStateChanged(False, TOKEN_MISSING)]
    assert make_bot.made == []


# ---------------------------------------------------------------- the real connection, over HTTP


class DiscordRest:
    """Discord's REST API as far as logging in goes, on 127.0.0.1; `calls` are the paths asked for.

    discord.py's requests go to its port from the start; it answers only once `open()` ran.
    """

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{self.port}/api/v10")

    async def open(self) -> None:
        user = {"id": "900000000000000001", "username": "imagebot", "discriminator": "0", "global_name": None,
                "avatar": None, "bot": True}

        def reply(data: dict, status: int = 200) -> web.Response:
            # Exactly Discord's content type: discord.py parses JSON only for this one.
            return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})

        def authorised(request: web.Request) -> bool:
            self.calls.append(request.path)
            return request.headers.get("Authorization") == f"Bot {GOOD_TOKEN}"

        async def me(request: web.Request) -> web.Response:
            if not authorised(request):
                return reply({"message": "401: Unauthorized", "code": 0}, status=401)
            return reply(user)

        async def application(request: web.Request) -> web.Response:
            if not authorised(request):
                return reply({"message": "401: Unauthorized", "code": 0}, status=401)
            return reply({"id": "900000000000000002", "name": "Image Bot", "description": "", "icon": None,
                          "bot_public": False, "bot_require_code_grant": False, "owner": user,
                          "verify_key": "00", "flags": 0})

        app = web.Application()
        app.router.add_get("/api/v10/users/@me", me)
        app.router.add_get("/api/v10/oauth2/applications/@me", application)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def discord_down(monkeypatch):
    """A Discord REST stand-in that is out of reach until the test calls `open()`."""
    rest = DiscordRest(monkeypatch)
    try:
        yield rest
    finally:
        await rest.close()


@pytest.fixture
async def discord_rest(discord_down):
    await discord_down.open()
    return discord_down.calls


class LoginOnlyConnection(DiscordConnection):
    """The real HTTP login; the gateway, which the stand-in lacks, is a wait until the bot closes."""

    async def run(self, bot: discord.Client) -> None:
        await asyncio.Event().wait()


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_rejected_token_is_said_and_raised(make_bot, core_bus, states, discord_rest):
    runner = BotRunner(make_bot, "reset.long.ago", core_bus)      # the real connection
    with pytest.raises(RuntimeError) as raised:
        await runner.start()
    assert str(raised.value) == TOKEN_REJECTED
    assert isinstance(raised.value.__cause__, discord.LoginFailure)
    assert states == [BotStateChanged(False, TOKEN_REJECTED, token_rejected=True)]
    assert states[0].message.startswith("Discord rejected the bot token")
    assert "reset.long.ago" not in states[0].message
    assert discord_rest == ["/api/v10/users/@me"]
    assert runner.bot is None and make_bot.made[0].is_closed()


def test_retries_back_off_to_a_cap():
    assert list(itertools.islice(backoff(2, 60), 7)) == [2, 4, 8, 16, 32, 60, 60]


async def test_discord_out_of_reach_at_start_is_retried_until_reached(make_bot, core_bus, states, discord_down):
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, connection=LoginOnlyConnection(),
                       retry_first_s=0.01, retry_max_s=0.05)
    await runner.start()                   # returns: the network may come back by itself
    assert states == [BotStateChanged(False, UNREACHABLE, unreachable=True)]
    assert UNREACHABLE.startswith("Cannot reach Discord") and "retrying" in UNREACHABLE
    await until(lambda: len(make_bot.made) >= 3)                 # it keeps trying, a new bot each time
    assert all(bot.is_closed() for bot in make_bot.made[:-1])    # (the last one may be trying now)
    await runner.start()                   # already trying: no second loop
    await discord_down.open()
    await until(lambda: runner.bot is not None and runner.bot.user is not None)
    assert runner.bot is make_bot.made[-1] and not runner.bot.is_closed()
    assert str(runner.bot.user) == "imagebot" and "/api/v10/users/@me" in discord_down.calls
    assert states == [BotStateChanged(False, UNREACHABLE, unreachable=True)]       # "connected" waits for READY from the gateway
    await runner.stop()
    assert states[-1] == BotStateChanged(False, STOPPED) and make_bot.made[-1].is_closed()


async def test_stop_ends_the_retries(make_bot, core_bus, states, discord_down):
    runner = BotRunner(make_bot, GOOD_TOKEN, core_bus, retry_first_s=0.01, retry_max_s=0.01)
    await runner.start()
    await until(lambda: len(make_bot.made) >= 2)
    await runner.stop()
    made = len(make_bot.made)
    await asyncio.sleep(0.05)
    assert len(make_bot.made) == made and runner.bot is None
    assert states == [BotStateChanged(False, UNREACHABLE, unreachable=True), BotStateChanged(False, STOPPED)]


async def test_a_token_rejected_once_discord_is_reached_ends_the_retries(make_bot, core_bus, states, discord_down):
    runner = BotRunner(make_bot, "reset.long.ago", core_bus, retry_first_s=0.01, retry_max_s=0.05)
    await runner.start()
    await discord_down.open()
    await until(lambda: len(states) == 2)
    assert states[-1] == BotStateChanged(False, TOKEN_REJECTED, token_rejected=True)
    made = len(make_bot.made)
    await asyncio.sleep(0.1)
    assert len(make_bot.made) == made and runner.bot is None and make_bot.made[-1].is_closed()
    await runner.stop()


async def test_check_token(discord_rest):
    identity = await check_token(f"{GOOD_TOKEN}\n")
    assert identity.name == "imagebot" and identity.id == 900000000000000001
    with pytest.raises(TokenRejected) as raised:
        await check_token("wrong")
    assert str(raised.value) == TOKEN_REJECTED


async def test_check_token_tells_an_unreachable_discord_from_a_rejected_token(discord_down):
    with pytest.raises(DiscordUnreachable) as raised:
        await check_token(GOOD_TOKEN)
    assert "Cannot reach Discord" in str(raised.value) and "rejected" not in str(raised.value)
