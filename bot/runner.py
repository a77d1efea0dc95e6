"""Running the bot inside the app: start, stop and watch it, and check a token before saving it.

The tray's Start/Stop bot and the headless mode use `BotRunner`; its state goes onto the core bus
as `BotStateChanged`, which the tray shows. When Discord cannot be reached at start (network down),
the runner keeps trying in the background with a capped backoff instead of failing: a server
started before its network should come up on its own. A missing or rejected token still fails
at once, since waiting cannot fix it. `check_token` logs in over HTTP only (no gateway) so the
setup wizard can show the bot's name or Discord's refusal.

How a bot reaches Discord is a `DiscordConnection` (log in, hold the gateway, close). The app always
uses the real one; the tests pass one that starts the bot in simcord, an offline Discord.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

import aiohttp
import discord

from core.events import EventBus
from core.status import BotIdentity, BotStateChanged, DiscordUnreachable, TokenRejected

log = logging.getLogger(__name__)

TOKEN_MISSING = "No Discord token is set: open Settings (or set DISCORD_TOKEN) to start the bot."
TOKEN_REJECTED = "Discord rejected the bot token: copy it again from the Developer Portal (Bot → Reset Token) and save it in Settings."
INTENTS_REFUSED = "Discord refused the bot: switch on the Message Content intent in the Developer Portal (Bot page)."
STOPPED = "The Discord bot is stopped"
RECONNECTING = "Disconnected from Discord; reconnecting"
UNREACHABLE = "Cannot reach Discord: check the internet connection; retrying"
RETRY_FIRST_S = 2.0
RETRY_MAX_S = 300.0
# What a failed HTTPS request to Discord can raise besides discord.HTTPException.
_NETWORK_ERRORS = (discord.HTTPException, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def backoff(first_s: float, max_s: float) -> Iterator[float]:
    """first_s, then doubling, never more than max_s."""
    delay = first_s
    while True:
        yield delay
        delay = min(delay * 2, max_s)


class DiscordConnection:
    """The real way in: log in over HTTPS, then hold the gateway (reconnecting) until the bot is closed."""

    async def login(self, bot: discord.Client, token: str) -> None:
        await bot.login(token)

    async def run(self, bot: discord.Client) -> None:
        await bot.connect(reconnect=True)

    async def close(self, bot: discord.Client) -> None:
        await bot.close()


class BotRunner:
    """Owns one ImageBot at a time; a stopped bot is rebuilt on the next start (discord.py clients are single-use)."""

    def __init__(self, make_bot: Callable[[], discord.Client], token: str | None, bus: EventBus, *,
                 connection: DiscordConnection | None = None, retry_first_s: float = RETRY_FIRST_S,
                 retry_max_s: float = RETRY_MAX_S) -> None:
        self._make_bot = make_bot
        self._token = token
        self._bus = bus
        self._connection = connection or DiscordConnection()
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._bot: discord.Client | None = None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()          # start/stop never interleave (double clicks in the tray)

    @property
    def bot(self) -> discord.Client | None:
        return self._bot

    def is_connected(self) -> bool:
        return self._bot is not None and self._bot.is_ready() and not self._bot.is_closed()

    def set_token(self, token: str | None) -> None:
        self._token = token

    async def start(self) -> None:
        """Log in and connect; raises RuntimeError with a clear message when the token is missing or rejected.

        When Discord cannot be reached, it says so (UNREACHABLE) and returns: the login is retried
        in the background until it succeeds, the token is rejected, or stop() is called.
        """
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            token = (self._token or "").strip()  # a pasted token often carries a newline
            if not token:
                self._publish(False, TOKEN_MISSING)
                raise RuntimeError(TOKEN_MISSING)
            try:
                bot = await self._login(token)
            except _NETWORK_ERRORS as exc:
                log.warning("cannot reach Discord (%s); retrying in the background", type(exc).__name__)
                self._publish(False, UNREACHABLE, unreachable=True)
                self._task = asyncio.create_task(self._login_when_reachable(token), name="discord-bot")
                return
            except Exception as exc:
                message = self._start_failure(exc)
                self._publish(False, message, token_rejected=isinstance(exc, discord.LoginFailure))
                raise RuntimeError(message) from exc
            self._task = asyncio.create_task(self._run(bot), name="discord-bot")

    async def _login(self, token: str) -> discord.Client:
        """A new bot, logged in; on any failure it is closed and the failure raised."""
        bot = self._make_bot()
        # Listen before logging in: a connection may bring the bot to READY while logging in.
        self._listen(bot)
        self._bot = bot
        try:
            await self._connection.login(bot, token)
        except BaseException:
            if self._bot is bot:
                self._bot = None
            await self._close(bot)
            raise
        return bot

    async def _login_when_reachable(self, token: str) -> None:
        for delay in backoff(self._retry_first_s, self._retry_max_s):
            await asyncio.sleep(delay)
            try:
                bot = await self._login(token)
            except _NETWORK_ERRORS as exc:
                log.info("still cannot reach Discord (%s)", type(exc).__name__)
                continue
            except Exception as exc:
                message = self._start_failure(exc)
                self._publish(False, message, token_rejected=isinstance(exc, discord.LoginFailure))
                return
            log.info("Discord reached again: connecting")
            await self._run(bot)
            return

    def _listen(self, bot: discord.Client) -> None:
        # Events of a bot we already let go (a late disconnect while closing) say nothing.
        async def on_ready() -> None:
            if bot is self._bot:
                self._publish(True, f"Connected to Discord as {bot.user}")

        async def on_resumed() -> None:      # a resumed session gets no new READY
            if bot is self._bot:
                self._publish(True, f"Connected to Discord as {bot.user}")

        async def on_disconnect() -> None:
            if bot is self._bot and not bot.is_closed():
                self._publish(False, RECONNECTING)

        bot.add_listener(on_ready, "on_ready")            # type: ignore[attr-defined]
        bot.add_listener(on_resumed, "on_resumed")        # type: ignore[attr-defined]
        bot.add_listener(on_disconnect, "on_disconnect")  # type: ignore[attr-defined]

    @staticmethod
    def _start_failure(exc: Exception) -> str:
        if isinstance(exc, discord.LoginFailure):
            return TOKEN_REJECTED
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            return INTENTS_REFUSED
        log.error("the Discord bot could not start", exc_info=exc)
        return f"The Discord bot could not start: {type(exc).__name__}. See the log for details."

    async def _run(self, bot: discord.Client) -> None:
        try:
            await self._connection.run(bot)
            message = STOPPED
        except asyncio.CancelledError:
            raise
        except discord.PrivilegedIntentsRequired:
            message = INTENTS_REFUSED
        except discord.LoginFailure:         # the token was reset while the bot ran
            message = TOKEN_REJECTED
        except Exception as exc:
            log.exception("the Discord bot stopped")
            message = f"The Discord bot stopped: {type(exc).__name__}. See the log for details."
        if bot is self._bot:                 # it ended on its own; a stop() says "stopped" itself
            self._bot = self._task = None
            await self._close(bot)
            self._publish(False, message, token_rejected=message == TOKEN_REJECTED)

    async def stop(self) -> None:
        async with self._lock:
            bot, task = self._bot, self._task
            self._bot = self._task = None
            if bot is not None:
                await self._close(bot)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self._publish(False, STOPPED)

    async def _close(self, bot: discord.Client) -> None:
        try:
            await self._connection.close(bot)
        except Exception:
            log.warning("the Discord bot did not close cleanly", exc_info=True)

    def _publish(self, connected: bool, message: str, *, token_rejected: bool = False,
                 unreachable: bool = False) -> None:
        self._bus.publish(BotStateChanged(connected=connected, message=message, token_rejected=token_rejected,
                                          unreachable=unreachable))


async def check_token(token: str) -> BotIdentity:
    """Log in over HTTP with `token`; return the bot's name. Raises TokenRejected when Discord said no,
    DiscordUnreachable when Discord could not be asked (the setup wizard offers "Save and check later")."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token.strip())
        user = client.user
        return BotIdentity(name=str(user), id=user.id if user else None)
    except discord.LoginFailure as exc:
        raise TokenRejected(TOKEN_REJECTED) from exc
    except _NETWORK_ERRORS as exc:
        raise DiscordUnreachable("Cannot reach Discord to check the token: check the internet connection "
                                 "(or a firewall or proxy blocking discord.com).") from exc
    finally:
        await client.close()
