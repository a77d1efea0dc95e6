"""The bot under simcord (an offline Discord) with the real JobService on SQLite and the fake ComfyUI.

Gotchas (see the simcord spike): tests run on plain asyncio; simcord settles only work the bot owns
and parks timers beyond `settle_timeout`, so time-based behaviour is stepped with
`env.advance_time`; the bot reads time with `discord.utils.utcnow()` / `time.monotonic()`, which
simcord virtualises inside the bot. The JobService was started outside the bot, so its own tasks
run in real time: `until()` waits (briefly, for real) for what it reports.
"""
from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import discord
import pytest
import simcord
import simcord.interactions

from bot.bot import ImageBot
from core.guildprefs import GuildPrefsStore
from core.sessions import SessionService
from core.settings import Settings
from core.store import Database

HOME = 111111111111111111
FOREIGN = 222222222222222222
SPANISH_USERS: set[int] = set()


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid PNG."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(autouse=True)
def user_locales(monkeypatch):
    """simcord sends every interaction as en-US; users in SPANISH_USERS get es-ES instead."""
    original = simcord.interactions.base_payload

    def with_locale(backend, *, user_id, **kwargs):
        record, payload = original(backend, user_id=user_id, **kwargs)
        if user_id in SPANISH_USERS:
            payload["locale"] = "es-ES"
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_locale)
    SPANISH_USERS.clear()
    yield
    SPANISH_USERS.clear()


@pytest.fixture(autouse=True)
def no_bot_errors(caplog):
    """Whatever a test does, the bot logs no error (every failure reaches the user as a message)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot")]
    assert not errors, [r.getMessage() for r in errors]


@dataclass
class World:
    env: simcord.Env
    bot: ImageBot
    db: Database
    job_service: Any
    sessions: SessionService
    settings: Settings
    guild: Any
    general: Any
    admin: Any
    alice: Any
    bob: Any
    admin_role: Any
    make_bot: Callable[..., ImageBot]
    extra: dict = field(default_factory=dict)

    def channel_named(self, name: str):
        return self.guild.channels.get(name)

    def session_of(self, member):
        from bot.channels import channel_slug
        return self.guild.channels.get(f"session-{channel_slug(member.name)}")

    def requests(self, method: str | None = None, path_part: str = "") -> list:
        return [r for r in self.env.http_requests if (method is None or r.method == method) and path_part in r.path]

    async def advance(self, seconds: float, step: float = 60.0) -> None:
        """Advance simulated time in steps: simcord gives one advance_time() a real-time budget of settle_timeout."""
        while seconds > 0:
            await self.env.advance_time(min(step, seconds))
            seconds -= step

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0, advance: float = 0.0) -> None:
        """Settle the bot until `predicate()` holds, waiting (for real) on the job queue meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if advance:
                await self.env.advance_time(advance)
            else:
                await self.env.settle()
            if predicate():
                return
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {getattr(predicate, '__name__', predicate)}")
            await asyncio.sleep(0.02)


@pytest.fixture
def world_options() -> dict:
    """Override per test module/test: settings for the bot and the service, and the service's options."""
    return {}


@pytest.fixture
async def bot_db(app_paths):
    db = await Database.open(None, app_paths.data_dir)
    yield db
    await db.close()


@pytest.fixture
async def env(bot_db, make_job_service, core_bus, app_paths, world_options):
    options = dict(world_options)
    service_options = options.pop("service_options", {})
    settle_timeout = options.pop("settle_timeout", 3.0)   # real seconds: generous, the machine may be busy
    settings_values = dict(allowed_guild_ids=(HOME,), user_job_limit=2, session_idle_minutes=30,
                           session_warning_minutes=5)
    settings_values.update(options)
    settings = Settings(paths=app_paths, **settings_values)
    job_service = await make_job_service(db=bot_db, service_options=service_options, **settings_values)
    sessions = SessionService(db=bot_db, bus=core_bus, settings=settings)

    def make_bot(**overrides) -> ImageBot:
        values = dict(job_service=job_service, session_service=sessions, prefs=GuildPrefsStore(bot_db), bus=core_bus,
                      settings=settings)
        values.update(overrides)
        return ImageBot(**values)

    bot = make_bot()
    environment = simcord.Env(bot, settle_timeout=settle_timeout)
    environment.test_parts = dict(job_service=job_service, sessions=sessions, settings=settings, make_bot=make_bot)
    yield environment
    if environment._started:
        await environment.shutdown()
    environment.raise_errors()


@pytest.fixture
async def world(env, bot_db) -> World:
    """Home guild (allowed) with an admin, alice and bob; `#general`; bot ready (it synced its commands)."""
    guild = env.create_guild("Home", id=HOME)
    general = guild.create_text_channel("general")
    admin_role = guild.create_role("Admins", permissions=discord.Permissions(administrator=True))
    admin = guild.add_member(env.create_user("boss"), roles=[admin_role])
    alice = guild.add_member(env.create_user("alice"))
    bob = guild.add_member(env.create_user("bob"))
    await env.start()      # the bot publishes its commands to the allowed server by itself
    await env.settle()
    bot = env.bot
    parts = env.test_parts
    return World(env=env, bot=bot, db=bot_db, job_service=parts["job_service"], sessions=parts["sessions"],
                 settings=parts["settings"], guild=guild, general=general, admin=admin, alice=alice, bob=bob,
                 admin_role=admin_role, make_bot=parts["make_bot"])


def results(channel):
    """The result messages in a channel: an image with its buttons."""
    return [m for m in channel.history() if m.attachments and m.components]


async def imagine(w: World, member, prompt: str = "a cat", model: str | None = "z_image_turbo"):
    """/imagine from #general, then wait for its result in the member's session channel."""
    before = w.session_of(member)
    count = len(results(before)) if before is not None else 0
    options = {"model": model} if model is not None else {}
    await member.slash(w.general, "imagine", prompt=prompt, **options)
    session = w.session_of(member)
    await w.until(lambda: len(results(session)) > count, advance=2)
    return session


@pytest.fixture
def gate(fake_comfy):
    """Hold every job at the fake's door until the test releases it (`gate.release()` lets one in)."""
    door = asyncio.Semaphore(0)
    execute = fake_comfy._execute

    async def gated(item):
        await door.acquire()
        return await execute(item)

    fake_comfy._execute = gated
    return door
