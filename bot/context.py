"""The bot as its parts see it: the core services it holds and the few methods the parts call.

Every module of bot/ types against `BotContext`, never against bot/bot.py's `ImageBot` (the one
subclass, which imports all the parts to wire them): so no part imports the module that imports
it. The live feedback and the session channels are seen through the small protocols below for
the same reason (feedback.py and channels.py are parts themselves).
"""
from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import Catalog
from core.events import EventBus
from core.gpu_mode import HostGpuChanged
from core.guildprefs import GuildPrefsStore
from core.jobservice import JobService
from core.sessions import SessionService
from core.settings import Settings


class QueueFeedback(Protocol):
    """What a request and /queue read of the live feedback (bot/feedback.py's FeedbackHub)."""

    host_gpu: HostGpuChanged

    def backends_down(self) -> bool: ...

    def host_gpu_back_text(self, lang: str) -> str: ...


class UserChannels(Protocol):
    """The users' session channels (bot/channels.py's SessionChannels)."""

    def opening(self, guild: discord.Guild, member: discord.Member) -> AbstractAsyncContextManager[Any]: ...

    async def current(self, guild_id: int, user_id: int) -> discord.TextChannel | None: ...

    async def touch(self, guild_id: int, user: discord.abc.User) -> None: ...


class BotContext(commands.Bot):
    """A discord.py bot with the application's services; bot/bot.py's ImageBot implements it."""

    job_service: JobService
    session_service: SessionService
    prefs: GuildPrefsStore
    bus: EventBus
    settings: Settings
    catalog: Catalog
    max_input_bytes: int
    feedback: QueueFeedback
    session_channels: UserChannels

    def remember_lang(self, user_id: int, lang: str) -> None:
        raise NotImplementedError

    def lang_for(self, user_id: int, guild: discord.Guild | None = None) -> str:
        raise NotImplementedError

    async def sync_commands(self, guild: discord.Guild) -> list[app_commands.AppCommand]:
        raise NotImplementedError

    async def guard_interaction(self, interaction: discord.Interaction) -> bool:
        raise NotImplementedError

    async def run_guarded(self, interaction: discord.Interaction, work: Awaitable[None]) -> None:
        raise NotImplementedError
