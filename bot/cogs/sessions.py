"""Session channel life: the reaper that warns and deletes idle channels, the Keep button, activity.

One reaper task looks at the deadlines in the database every REAPER_INTERVAL_S, so a restart
loses nothing: a new bot on the same database warns and deletes on the same schedule, and a
warning's Keep button (a DynamicItem) still works.
"""
from __future__ import annotations

import logging
import math
import time
from datetime import datetime

import discord
from discord.ext import commands, tasks

from bot.buttons import PersistentButton
from bot.checks import guild_allowed, is_admin
from bot.context import BotContext
from bot.i18n import interaction_lang
from core.sessions import SessionChanged, SessionInfo

log = logging.getLogger(__name__)

REAPER_INTERVAL_S = 30
ACTIVITY_DEBOUNCE_S = 60      # messages in a session channel move its deadline at most once a minute


class KeepButton(PersistentButton, template=r"imagebot:keep:(\d+):(\d+)"):
    action, emoji, style = "keep", "📌", discord.ButtonStyle.success

    def __init__(self, guild_id: int, user_id: int, *, label: str | None) -> None:
        super().__init__(guild_id, user_id, label=label)
        self.guild_id = guild_id
        self.user_id = user_id

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        if interaction.user.id != self.user_id and not is_admin(bot.settings, interaction.user):
            await interaction.response.send_message(bot.catalog.text("session.keep_not_yours", lang), ephemeral=True)
            return
        info = await bot.session_service.keep(self.user_id, self.guild_id, now=discord.utils.utcnow())
        if info is None:
            await interaction.response.send_message(bot.catalog.text("session.gone", lang), ephemeral=True)
            return
        text = bot.catalog.text("session.kept", lang, minutes=bot.settings.session_idle_minutes)
        await interaction.response.edit_message(content=text, view=None)


class Sessions(commands.Cog):
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot
        self._last_activity: dict[tuple[int, int], float] = {}
        # The soonest warning/deletion instant, cached so a quiet tick costs no database query.
        # Any SessionChanged (from the bot or the GUI) makes it stale.
        self._next_due: datetime | None = None
        self._stale = True
        self._unsubscribe = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(KeepButton)
        self._unsubscribe = self.bot.bus.subscribe(SessionChanged, self._on_session_changed)
        self.reaper.start()

    async def cog_unload(self) -> None:
        self.reaper.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.bot.remove_dynamic_items(KeepButton)

    def _on_session_changed(self, event: SessionChanged) -> None:
        self._stale = True

    # ---------------------------------------------------------------- the reaper

    @tasks.loop(seconds=REAPER_INTERVAL_S)
    async def reaper(self) -> None:
        try:
            await self.reap()
        except Exception:
            log.exception("session reaper failed; it tries again in %s s", REAPER_INTERVAL_S)

    @reaper.before_loop
    async def _before_reaper(self) -> None:
        await self.bot.wait_until_ready()

    async def reap(self) -> None:
        """Delete the channels past their deadline, then warn the ones inside the warning window."""
        now = discord.utils.utcnow()
        if not self._stale and (self._next_due is None or now < self._next_due):
            return
        sessions = self.bot.session_service
        for info in await sessions.due_deletions(now=now):
            await self._expire(info)
        for info in await sessions.due_warnings(now=now):
            await self._warn(info, now)
        self._stale = False
        self._next_due = await sessions.next_deadline()

    def _guild(self, info: SessionInfo) -> discord.Guild | None:
        if not guild_allowed(self.bot.settings, info.guild_id):
            return None
        return self.bot.get_guild(info.guild_id)

    async def _expire(self, info: SessionInfo) -> None:
        guild = self._guild(info)
        if guild is None:
            return  # not connected to that server now; its sessions wait
        sessions = self.bot.session_service
        if self.bot.job_service.active_count(info.user_id) > 0:
            # Never delete the channel a job's result is about to land in.
            await sessions.touch(info.user_id, info.guild_id, info.user_name, now=discord.utils.utcnow())
            return
        channel = guild.get_channel(info.channel_id) if info.channel_id else None
        if channel is not None:
            try:
                await channel.delete(reason="Private image session idle")
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning("could not delete session channel %s: %s", info.channel_id, exc)
                return
        await sessions.close(info.user_id, info.guild_id)
        log.info("session of user %s in guild %s ended", info.user_id, info.guild_id)
        if channel is not None:
            await self._tell_closed(guild, info)

    async def _tell_closed(self, guild: discord.Guild, info: SessionInfo) -> None:
        """A short note that the channel is gone and the images are not: by DM, or (when the user
        does not take DMs from the server) in the channel the admins chose for it."""
        lang = self.bot.lang_for(info.user_id, guild)
        text = self.bot.catalog.text("session.closed_note", lang, server=discord.utils.escape_markdown(guild.name),
                                     minutes=self.bot.settings.session_idle_minutes)
        try:
            user = self.bot.get_user(info.user_id) or await self.bot.fetch_user(info.user_id)
            await user.send(text)
            return
        except discord.HTTPException as exc:
            log.info("could not DM user %s about their closed session (%s)", info.user_id, exc.status)
        notice_id = (await self.bot.prefs.get(guild.id)).notice_channel_id
        channel = guild.get_channel(notice_id) if notice_id else None
        if isinstance(channel, discord.TextChannel):
            try:
                await channel.send(f"<@{info.user_id}> {text}",
                                   allowed_mentions=discord.AllowedMentions(users=[discord.Object(info.user_id)]))
            except discord.HTTPException as exc:
                log.warning("could not post the closed-session note in %s: %s", channel.id, exc)

    async def _warn(self, info: SessionInfo, now) -> None:
        guild = self._guild(info)
        if guild is None:
            return
        channel = guild.get_channel(info.channel_id) if info.channel_id else None
        if not isinstance(channel, discord.TextChannel):
            await self.bot.session_service.close(info.user_id, info.guild_id)   # its channel was deleted by hand
            return
        lang = self.bot.lang_for(info.user_id, guild)
        minutes = max(1, math.ceil((info.delete_at - now).total_seconds() / 60))
        view = discord.ui.View(timeout=None)
        view.add_item(KeepButton(info.guild_id, info.user_id, label=self.bot.catalog.text("button.keep", lang)))
        text = self.bot.catalog.text("session.warning", lang, mention=f"<@{info.user_id}>", minutes=minutes)
        try:
            message = await channel.send(text, view=view,
                                         allowed_mentions=discord.AllowedMentions(users=[discord.Object(info.user_id)]))
        except discord.HTTPException as exc:
            log.warning("could not warn session %s: %s", info.channel_id, exc)
            return
        await self.bot.session_service.mark_warned(info.user_id, info.guild_id, message.id)

    # ---------------------------------------------------------------- activity

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None or not guild_allowed(self.bot.settings, message.guild.id):
            return
        key = (message.guild.id, message.author.id)
        now = time.monotonic()
        if now - self._last_activity.get(key, -math.inf) < ACTIVITY_DEBOUNCE_S:
            return
        self._last_activity[key] = now
        info = await self.bot.session_service.get(message.author.id, message.guild.id)
        if info is None or info.channel_id != message.channel.id:
            return
        await self.bot.session_channels.touch(message.guild.id, message.author)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        info = await self.bot.session_service.get_by_channel(channel.id)
        if info is not None:
            await self.bot.session_service.close(info.user_id, info.guild_id)


async def setup(bot: BotContext) -> None:
    await bot.add_cog(Sessions(bot))
