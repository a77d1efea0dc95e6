"""Private channels: each user's `session-<name>` channel and the admins' `#admin-tools`.

A session channel is visible only to its user, the bot and the configured admin roles (server
administrators see every channel anyway). It is reused while the session lives, and made again
when it was deleted. Its deadline lives in the database (core.sessions); the reaper in
cogs/sessions.py warns and deletes.
"""
from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import discord

from bot.checks import ADMIN_CHANNEL
from bot.context import BotContext
from bot.errors import SessionChannelError
from bot.i18n import lang_of
from core.sessions import SessionInfo

log = logging.getLogger(__name__)

SESSIONS_CATEGORY = "sessions"
SESSION_PREFIX = "session-"


def channel_slug(name: str) -> str:
    """A Discord-safe channel name part: lowercase letters, digits and dashes."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:80] or "user"


def _bot_overwrite() -> discord.PermissionOverwrite:
    return discord.PermissionOverwrite(view_channel=True, send_messages=True, manage_channels=True,
                                       manage_messages=True, attach_files=True, embed_links=True,
                                       read_message_history=True)


@dataclass
class Opening:
    channels: "SessionChannels"
    guild: discord.Guild
    member: discord.Member
    info: SessionInfo | None
    existing: discord.TextChannel | None

    async def open(self, lang: str) -> discord.TextChannel:
        return await self.channels._open(self, lang)


class SessionChannels:
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot
        self._locks: dict[tuple[int, int], asyncio.Lock] = {}

    def _lock(self, guild_id: int, user_id: int) -> asyncio.Lock:
        return self._locks.setdefault((guild_id, user_id), asyncio.Lock())

    def _admin_overwrites(self, guild: discord.Guild) -> dict:
        overwrites = {}
        for role_id in self.bot.settings.admin_role_ids:
            role = guild.get_role(role_id)
            if role is not None:
                overwrites[role] = discord.PermissionOverwrite(view_channel=True, send_messages=True, read_message_history=True)
        return overwrites

    @asynccontextmanager
    async def opening(self, guild: discord.Guild, member: discord.Member) -> AsyncIterator["Opening"]:
        """Hold the user's session while a job is queued for it: `existing` is the channel if it is
        there now (no Discord call); `open()` makes it when missing. Whoever asks for the session
        channel meanwhile (`current`) waits until it is open."""
        async with self._lock(guild.id, member.id):
            info = await self.bot.session_service.get(member.id, guild.id)
            channel = guild.get_channel(info.channel_id) if info and info.channel_id else None
            yield Opening(self, guild, member, info, channel if isinstance(channel, discord.TextChannel) else None)

    async def ensure(self, guild: discord.Guild, member: discord.Member, lang: str) -> discord.TextChannel:
        """The user's session channel (made if missing), with its deadline moved forward."""
        async with self.opening(guild, member) as opening:
            return await opening.open(lang)

    async def current(self, guild_id: int, user_id: int) -> discord.TextChannel | None:
        """The user's session channel now, once any opening of it has finished; None when there is none."""
        async with self._lock(guild_id, user_id):
            info = await self.bot.session_service.get(user_id, guild_id)
        guild = self.bot.get_guild(guild_id)
        channel = guild.get_channel(info.channel_id) if guild is not None and info and info.channel_id else None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def _open(self, opening: "Opening", lang: str) -> discord.TextChannel:
        guild, member, info, channel = opening.guild, opening.member, opening.info, opening.existing
        created = channel is None
        if channel is None:
            channel = await self._create(guild, member)
        await self.bot.session_service.touch(member.id, guild.id, member.name, channel_id=channel.id,
                                             now=discord.utils.utcnow())
        self.bot.remember_lang(member.id, lang)
        if info and info.warning_message_id and not created:
            await self._remove_warning(channel, info.warning_message_id)
        if created:
            minutes = self.bot.settings.session_idle_minutes
            await channel.send(self.bot.catalog.text("session.welcome", lang, mention=member.mention, minutes=minutes),
                               allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[member]))
        return channel

    async def touch(self, guild_id: int, user: discord.abc.User) -> None:
        """Activity in an existing session (a button, a message): move the deadline, drop the warning."""
        sessions = self.bot.session_service
        info = await sessions.get(user.id, guild_id)
        if info is None:
            return
        await sessions.touch(user.id, guild_id, user.name, now=discord.utils.utcnow())
        if info.warning_message_id and info.channel_id:
            channel = self.bot.get_channel(info.channel_id)
            if channel is not None:
                await self._remove_warning(channel, info.warning_message_id)

    async def _remove_warning(self, channel: discord.abc.Messageable, message_id: int) -> None:
        try:
            await channel.get_partial_message(message_id).delete()  # type: ignore[attr-defined]
        except discord.HTTPException:
            pass

    async def _category(self, guild: discord.Guild) -> discord.CategoryChannel:
        category = discord.utils.get(guild.categories, name=SESSIONS_CATEGORY)
        if category is not None:
            return category
        overwrites = {guild.default_role: discord.PermissionOverwrite(view_channel=False), guild.me: _bot_overwrite()}
        return await guild.create_category(SESSIONS_CATEGORY, overwrites=overwrites, reason="Private image sessions")

    async def _create(self, guild: discord.Guild, member: discord.Member) -> discord.TextChannel:
        overwrites = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            member: discord.PermissionOverwrite(view_channel=True, send_messages=True, read_message_history=True,
                                                attach_files=True, embed_links=True, use_application_commands=True),
            guild.me: _bot_overwrite(),
            **self._admin_overwrites(guild),
        }
        try:
            category = await self._category(guild)
            return await guild.create_text_channel(f"{SESSION_PREFIX}{channel_slug(member.name)}", category=category,
                                                   overwrites=overwrites, reason=f"Private image session of {member.id}")
        except discord.Forbidden as exc:
            raise SessionChannelError("the bot may not create channels (Manage Channels)") from exc

    async def ensure_admin_tools(self, guild: discord.Guild) -> discord.TextChannel:
        """`#admin-tools`, made private to admins (and the bot) when missing."""
        channel = discord.utils.get(guild.text_channels, name=ADMIN_CHANNEL)
        if channel is not None:
            return channel
        overwrites = {guild.default_role: discord.PermissionOverwrite(view_channel=False), guild.me: _bot_overwrite(),
                      **self._admin_overwrites(guild)}
        channel = await guild.create_text_channel(ADMIN_CHANNEL, overwrites=overwrites, reason="Bot admin tools")
        await channel.send(self.bot.catalog.text("admin.tools_welcome", lang_of(guild.preferred_locale)))
        return channel
