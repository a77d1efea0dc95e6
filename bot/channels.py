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
from typing import TYPE_CHECKING

import discord

from bot.checks import ADMIN_CHANNEL
from bot.errors import SessionChannelError
from bot.i18n import lang_of

if TYPE_CHECKING:
    from bot.bot import ImageBot

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


class SessionChannels:
    def __init__(self, bot: "ImageBot") -> None:
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

    async def ensure(self, guild: discord.Guild, member: discord.Member, lang: str) -> discord.TextChannel:
        """The user's session channel (made if missing), with its deadline moved forward."""
        sessions = self.bot.session_service
        async with self._lock(guild.id, member.id):
            info = await sessions.get(member.id, guild.id)
            channel = guild.get_channel(info.channel_id) if info and info.channel_id else None
            created = False
            if not isinstance(channel, discord.TextChannel):
                channel = await self._create(guild, member)
                created = True
            await sessions.touch(member.id, guild.id, member.name, channel_id=channel.id, now=discord.utils.utcnow())
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
