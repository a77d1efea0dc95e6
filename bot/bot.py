"""The Discord bot: a commands.Bot holding the core services, with three cogs.

main.py builds the services and passes them in:

    bot = ImageBot(job_service=..., session_service=..., bus=..., settings=...)
    async with bot:
        await bot.start(token)

The bot never calls ComfyUI and never polls: it submits through JobService and shows what the
bus reports (feedback.py). It stays only in the guilds of settings.allowed_guild_ids and answers
nothing anywhere else.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable

import discord
from discord import app_commands
from discord.ext import commands

from bot.channels import SessionChannels
from bot.checks import guild_allowed
from bot.context import BotContext
from bot.delivery import deliver_final
from bot.errors import SessionChannelError, UserError
from bot.feedback import FeedbackHub
from bot.i18n import Catalog, CommandTranslator, default_catalog, interaction_lang, lang_of
from bot.requests import refusal_text, reply
from bot.results import RESULT_BUTTONS
from core.errors import CoreError, JobRefused
from core.events import EventBus
from core.guildprefs import GuildPrefsStore
from core.images import MAX_INPUT_BYTES
from core.jobservice import JobService
from core.sessions import SessionService
from core.settings import Settings

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.cogs.images", "bot.cogs.sessions", "bot.cogs.admin", "bot.cogs.help", "bot.cogs.gallery")


def default_intents(settings: Settings) -> discord.Intents:
    """No privileged intent unless the admin asks for it (DISCORD_MESSAGE_CONTENT): the bot works
    without any switch in the Developer Portal. Prefix commands (`sync`, `help`...) then reach it
    when the message mentions it (`@Bot sync`); with the intent, bare `!sync` works too."""
    intents = discord.Intents.default()
    intents.message_content = settings.discord_message_content
    return intents


async def tree_hash(tree: app_commands.CommandTree, guild: discord.abc.Snowflake) -> str:
    """A fingerprint of the commands as Discord would get them for `guild` (names, options,
    translations): when it changes, the server needs a sync."""
    commands = tree.get_commands(guild=guild)    # after copy_global_to: every command the server gets
    translator = tree.translator
    payload = [await c.get_translated_payload(tree, translator) if translator else c.to_dict(tree) for c in commands]
    text = json.dumps(sorted(payload, key=lambda p: p["name"]), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class GuardedTree(app_commands.CommandTree):
    """Every slash command and autocomplete passes the guild allowlist first; one error handler."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.client.guard_interaction(interaction)  # type: ignore[attr-defined]

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await self.client.report_error(interaction, error)  # type: ignore[attr-defined]


class ImageBot(BotContext):
    feedback: FeedbackHub
    session_channels: SessionChannels

    def __init__(self, *, job_service: JobService, session_service: SessionService, prefs: GuildPrefsStore,
                 bus: EventBus, settings: Settings, catalog: Catalog | None = None,
                 intents: discord.Intents | None = None) -> None:
        super().__init__(command_prefix=commands.when_mentioned_or("!"), intents=intents or default_intents(settings), tree_cls=GuardedTree,
                         help_command=None, allowed_mentions=discord.AllowedMentions.none())
        self.job_service = job_service
        self.session_service = session_service
        self.prefs = prefs
        self.bus = bus
        self.settings = settings
        self.catalog = catalog or default_catalog()
        self.max_input_bytes = MAX_INPUT_BYTES
        self.feedback = FeedbackHub(self, deliver=deliver_final)
        self.session_channels = SessionChannels(self)
        self.left_guilds: list[int] = []
        self._langs: dict[int, str] = {}
        if not settings.allowed_guild_ids:
            log.warning("ALLOWED_GUILD_ID is empty: the bot will refuse every command until a server ID is set")

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CommandTranslator(self.catalog))
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*RESULT_BUTTONS)
        self.feedback.start()

    async def close(self) -> None:
        await self.feedback.stop()
        await super().close()

    # ---------------------------------------------------------------- languages

    def remember_lang(self, user_id: int, lang: str) -> None:
        self._langs[user_id] = lang

    def lang_for(self, user_id: int, guild: discord.Guild | None = None) -> str:
        """A user's last seen language (for messages nobody asked for, like warnings), else the server's."""
        if user_id in self._langs:
            return self._langs[user_id]
        return lang_of(guild.preferred_locale if guild is not None else None)

    # ---------------------------------------------------------------- slash commands

    async def sync_commands(self, guild: discord.Guild) -> list[app_commands.AppCommand]:
        """Publish our slash commands to `guild` (a guild's commands show at once, global ones late)."""
        self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        await self.prefs.update(guild.id, commands_hash=await tree_hash(self.tree, guild))
        log.info("synced %d commands to guild %s", len(synced), guild.id)
        return synced

    async def sync_if_changed(self, guild: discord.Guild) -> None:
        """Publish the commands when they differ from the last set published to `guild` (the hash is
        stored), so a new version's commands appear without anyone typing !sync."""
        self.tree.copy_global_to(guild=guild)
        if (await self.prefs.get(guild.id)).commands_hash == await tree_hash(self.tree, guild):
            return
        await self.sync_commands(guild)

    # ---------------------------------------------------------------- guild allowlist

    async def _police(self, guild: discord.Guild) -> None:
        if not self.settings.allowed_guild_ids:
            return  # not configured yet: refuse interactions, but do not leave (re-inviting costs the admin)
        if guild.id not in self.settings.allowed_guild_ids:
            log.warning("leaving guild %s (%s): it is not in ALLOWED_GUILD_ID", guild.id, guild.name)
            self.left_guilds.append(guild.id)
            try:
                await guild.leave()
            except discord.HTTPException as exc:
                log.warning("could not leave guild %s (%s); trying again when it is next seen", guild.id, exc)
            return
        try:
            await self.sync_if_changed(guild)
        except (discord.HTTPException, CoreError) as exc:
            log.warning("could not publish the slash commands to %s (%s); an admin can run /admin sync", guild.id, exc)
        try:
            await self.session_channels.ensure_admin_tools(guild)
        except discord.HTTPException as exc:
            log.warning("could not create #admin-tools in %s: %s", guild.id, exc)

    async def on_ready(self) -> None:
        log.info("Discord bot ready as %s in %d server(s)", self.user, len(self.guilds))
        for guild in list(self.guilds):
            await self._police(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._police(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        if self.is_ready():
            await self._police(guild)

    async def guard_interaction(self, interaction: discord.Interaction) -> bool:
        """True for interactions from an allowed guild; everything else gets a refusal and does nothing."""
        if interaction.guild_id is not None and guild_allowed(self.settings, interaction.guild_id) \
                and interaction.guild is not None:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            if not interaction.response.is_done():
                await interaction.response.autocomplete([])
            return False
        lang = interaction_lang(interaction)
        if interaction.guild_id is None:
            key = "guard.dm"
        elif not self.settings.allowed_guild_ids:
            key = "guard.not_configured"
        else:
            key = "guard.foreign_guild"
        log.info("refused an interaction from user %s in guild %s", interaction.user.id, interaction.guild_id)
        if not interaction.response.is_done():
            await interaction.response.send_message(self.catalog.text(key, lang), ephemeral=True)
        return False

    # ---------------------------------------------------------------- errors

    async def run_guarded(self, interaction: discord.Interaction, work: Awaitable[None]) -> None:
        """Run a button or modal handler; anything unexpected becomes the generic error message."""
        try:
            await work
        except Exception as exc:  # one place that turns failures into a polite answer
            await self.report_error(interaction, exc)

    async def report_error(self, interaction: discord.Interaction, error: BaseException) -> None:
        """The one error handler: known problems get their text, the rest a reference. Never a traceback."""
        original = getattr(error, "original", None) or error
        lang = interaction_lang(interaction)
        if isinstance(original, JobRefused):
            text = refusal_text(self, lang, original)
        elif isinstance(original, UserError):
            text = self.catalog.text(original.key, lang, **original.params)
        elif isinstance(original, SessionChannelError):
            log.warning("session channel: %s", original)
            text = self.catalog.text("session.create_failed", lang)
        elif isinstance(original, discord.HTTPException):
            log.warning("Discord refused a request: %s %s", original.status, original.code)
            text = self.catalog.text("error.discord", lang, status=original.status)
        else:
            ref = secrets.token_hex(3)
            command = getattr(interaction.command, "qualified_name", None) or (interaction.data or {}).get("custom_id")
            log.error("interaction %s failed (ref %s)", command, ref, exc_info=(type(original), original, original.__traceback__))
            text = self.catalog.text("error.generic", lang, ref=ref)
        try:
            await reply(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell user %s about an error", interaction.user.id)
