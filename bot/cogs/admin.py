"""Admin tools: `!sync`, `!clearall`, `!getid` (admins, in #admin-tools only) and `/admin pause|resume|cancel`.

Refusals are answered here rather than raised as check failures: a non-admin typing `!sync` is
an expected event, not an error.
"""
from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.checks import ADMIN_CHANNEL, guild_allowed, is_admin
from bot.context import BotContext
from bot.i18n import interaction_lang, lang_of
from bot.requests import default_model, refusal_text, reply, workflow_info
from core.errors import JobRefused

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    # Hidden from members by default (server admins may show it to a role under Integrations);
    # every subcommand still checks the user itself.
    admin = app_commands.Group(name=_("admin"), description=_("Bot administration"), guild_only=True,
                               default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, bot: BotContext) -> None:
        self.bot = bot

    # ---------------------------------------------------------------- prefix commands

    async def _allowed(self, ctx: commands.Context) -> bool:
        """Admins, in #admin-tools of an allowed server. Others get one line saying why."""
        if ctx.guild is None or not guild_allowed(self.bot.settings, ctx.guild.id):
            return False
        lang = lang_of(ctx.guild.preferred_locale)
        if not is_admin(self.bot.settings, ctx.author):
            await ctx.reply(self.bot.catalog.text("admin.only", lang), mention_author=False)
            return False
        if getattr(ctx.channel, "name", None) != ADMIN_CHANNEL:
            await ctx.reply(self.bot.catalog.text("admin.channel_only", lang), mention_author=False)
            return False
        return True

    @commands.command(name="sync")
    async def sync(self, ctx: commands.Context) -> None:
        if not await self._allowed(ctx):
            return
        await ctx.send(await self._sync(ctx.guild, lang_of(ctx.guild.preferred_locale)))

    async def _sync(self, guild: discord.Guild, lang: str) -> str:
        synced = await self.bot.sync_commands(guild)
        names = ", ".join(sorted(self.bot.catalog.command_path(c.name, lang) for c in synced))
        return self.bot.catalog.text("admin.synced", lang, count=len(synced), names=names)

    @commands.command(name="clearall")
    async def clearall(self, ctx: commands.Context) -> None:
        if not await self._allowed(ctx):
            return
        tree = self.bot.tree
        tree.clear_commands(guild=ctx.guild)
        await tree.sync(guild=ctx.guild)
        # Clear the global set on Discord, then put our commands back locally so !sync works again.
        ours = tree.get_commands()
        tree.clear_commands(guild=None)
        await tree.sync()
        for command in ours:
            tree.add_command(command)
        await self.bot.prefs.update(ctx.guild.id, commands_hash=None)    # the next start publishes them again
        log.info("cleared the commands of guild %s and the global ones", ctx.guild.id)
        await ctx.send(self.bot.catalog.text("admin.cleared", lang_of(ctx.guild.preferred_locale)))

    @commands.command(name="getid")
    async def getid(self, ctx: commands.Context) -> None:
        if not await self._allowed(ctx):
            return
        roles = ", ".join(str(r.id) for r in ctx.author.roles if not r.is_default()) or "-"
        await ctx.send(self.bot.catalog.text("admin.getid", lang_of(ctx.guild.preferred_locale), guild_id=ctx.guild.id,
                                             channel_id=ctx.channel.id, user_id=ctx.author.id, role_ids=roles))

    # ---------------------------------------------------------------- /admin

    async def _check(self, interaction: discord.Interaction) -> bool:
        if is_admin(self.bot.settings, interaction.user):
            return True
        await reply(interaction, self.bot.catalog.text("admin.only", interaction_lang(interaction)))
        return False

    @admin.command(name=_("sync"), description=_("Publish the slash commands to this server now"))
    async def sync_now(self, interaction: discord.Interaction) -> None:
        if not await self._check(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await reply(interaction, await self._sync(interaction.guild, interaction_lang(interaction)))

    async def _imagine_models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        current = current.lower().strip()
        return [app_commands.Choice(name=w.display_name[:100], value=w.name)
                for w in self.bot.job_service.workflows()
                if w.kind == "imagine" and (current in w.name.lower() or current in w.display_name.lower())][:25]

    @admin.command(name=_("defaults"), description=_("The model /imagine uses when none is given, for the server or one channel"))
    @app_commands.rename(model=_("model"), channel=_("channel"), count=_("count"), notices=_("notices"))
    @app_commands.describe(model=_("The default model"), channel=_("Only in this channel (left out: the whole server)"),
                           count=_("Images per /imagine when the user gives no count"),
                           notices=_("Where to tell users their channel was deleted, when they take no DMs"))
    async def defaults(self, interaction: discord.Interaction, model: str | None = None,
                       channel: discord.TextChannel | None = None, count: app_commands.Range[int, 1, 4] | None = None,
                       notices: discord.TextChannel | None = None) -> None:
        if not await self._check(interaction):
            return
        lang = interaction_lang(interaction)
        catalog, prefs = self.bot.catalog, self.bot.prefs
        current = await prefs.get(interaction.guild_id)
        if model is not None:
            info = workflow_info(self.bot, model, "imagine")
            if info is None:
                await reply(interaction, catalog.text("refusal.unknown_workflow", lang, workflow=model))
                return
            if channel is None:
                current = await prefs.update(interaction.guild_id, default_model=info.name)
            else:
                current = await prefs.update(interaction.guild_id,
                                             channel_models={**current.channel_models, str(channel.id): info.name})
            log.info("default model of guild %s%s set to %s by %s", interaction.guild_id,
                     f" channel {channel.id}" if channel else "", info.name, interaction.user.id)
        if count is not None or notices is not None:
            changes = {"default_count": count} if count is not None else {}
            if notices is not None:
                changes["notice_channel_id"] = notices.id
            current = await prefs.update(interaction.guild_id, **changes)
        server = default_model(self.bot, current.default_model, "imagine")
        lines = [catalog.text("admin.default_model", lang, model=self._model_name(server)),
                 catalog.text("admin.default_count", lang, count=current.default_count)]
        if current.notice_channel_id:
            lines.append(catalog.text("admin.notices", lang, channel=f"<#{current.notice_channel_id}>"))
        for channel_id, name in sorted(current.channel_models.items()):
            lines.append(catalog.text("admin.channel_model", lang, channel=f"<#{channel_id}>", model=self._model_name(name)))
        await reply(interaction, "\n".join(lines))

    defaults.autocomplete("model")(_imagine_models)

    def _model_name(self, name: str | None) -> str:
        info = workflow_info(self.bot, name, "imagine") if name else None
        return info.display_name if info is not None else (name or "-")

    @admin.command(name=_("safety"), description=_("Banned words, a negative-prompt prefix, spoiler channels"))
    @app_commands.rename(banned_words=_("banned_words"), negative_prefix=_("negative_prefix"),
                         spoiler_channel=_("spoiler_channel"), spoiler=_("spoiler"))
    @app_commands.describe(banned_words=_("Words refused in prompts, comma-separated (- clears the list)"),
                           negative_prefix=_("Put before every negative prompt (- clears it)"),
                           spoiler_channel=_("A channel whose requests get spoiler results"),
                           spoiler=_("On or off for that channel"))
    async def safety(self, interaction: discord.Interaction, banned_words: str | None = None,
                     negative_prefix: str | None = None, spoiler_channel: discord.TextChannel | None = None,
                     spoiler: bool = True) -> None:
        if not await self._check(interaction):
            return
        lang = interaction_lang(interaction)
        catalog, prefs = self.bot.catalog, self.bot.prefs
        current = await prefs.get(interaction.guild_id)
        changes: dict = {}
        if banned_words is not None:
            words = () if banned_words.strip() == "-" else tuple(
                dict.fromkeys(w.strip() for w in banned_words.split(",") if w.strip()))
            changes["banned_words"] = words
        if negative_prefix is not None:
            changes["negative_prefix"] = "" if negative_prefix.strip() == "-" else negative_prefix.strip()[:500]
        if spoiler_channel is not None:
            channels = set(current.spoiler_channels)
            channels.add(spoiler_channel.id) if spoiler else channels.discard(spoiler_channel.id)
            changes["spoiler_channels"] = tuple(sorted(channels))
        if changes:
            current = await prefs.update(interaction.guild_id, **changes)
            log.info("safety settings of guild %s changed by %s: %s", interaction.guild_id, interaction.user.id,
                     sorted(changes))
        none = catalog.text("admin.none", lang)
        await reply(interaction, "\n".join([
            catalog.text("admin.banned_words", lang, words=", ".join(f"`{w}`" for w in current.banned_words) or none),
            catalog.text("admin.negative_prefix", lang,
                         prefix=f"`{discord.utils.escape_markdown(current.negative_prefix)}`" if current.negative_prefix else none),
            catalog.text("admin.spoiler_channels", lang,
                         channels=", ".join(f"<#{c}>" for c in current.spoiler_channels) or none),
        ]))

    @admin.command(name=_("loras"), description=_("The LoRA files members may pick in /imagine"))
    @app_commands.rename(allow=_("allow"))
    @app_commands.describe(allow=_("File names, comma-separated (- allows none)"))
    async def loras(self, interaction: discord.Interaction, allow: str | None = None) -> None:
        if not await self._check(interaction):
            return
        lang = interaction_lang(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        catalog = self.bot.catalog
        if allow is not None:
            names = () if allow.strip() == "-" else tuple(dict.fromkeys(n.strip() for n in allow.split(",") if n.strip()))
            await self.bot.prefs.update(interaction.guild_id, lora_allow=names)
        allowed = (await self.bot.prefs.get(interaction.guild_id)).lora_allow
        available = await self.bot.job_service.lora_files()
        none = catalog.text("admin.none", lang)
        missing = [n for n in allowed if n not in available]
        lines = [catalog.text("admin.loras_allowed", lang, names=", ".join(f"`{n}`" for n in allowed) or none),
                 catalog.text("admin.loras_available", lang, names=", ".join(f"`{n}`" for n in available[:40]) or none)]
        if missing:
            lines.append(catalog.text("admin.loras_missing", lang, names=", ".join(f"`{n}`" for n in missing)))
        await reply(interaction, "\n".join(lines))

    @admin.command(name=_("pause"), description=_("Pause the queue: the running job finishes, the others wait"))
    async def pause(self, interaction: discord.Interaction) -> None:
        if not await self._check(interaction):
            return
        lang = interaction_lang(interaction)
        if self.bot.job_service.paused:
            await reply(interaction, self.bot.catalog.text("admin.already_paused", lang))
            return
        await self.bot.job_service.pause()
        log.info("queue paused by %s", interaction.user.id)
        await reply(interaction, self.bot.catalog.text("admin.paused", lang))

    @admin.command(name=_("resume"), description=_("Resume the queue"))
    async def resume(self, interaction: discord.Interaction) -> None:
        if not await self._check(interaction):
            return
        await self.bot.job_service.resume()
        log.info("queue resumed by %s", interaction.user.id)
        await reply(interaction, self.bot.catalog.text("admin.resumed", interaction_lang(interaction)))

    @admin.command(name=_("cancel"), description=_("Cancel anyone's job"))
    @app_commands.rename(job_id=_("job_id"))
    @app_commands.describe(job_id=_("The job number (#)"))
    async def cancel(self, interaction: discord.Interaction, job_id: int) -> None:
        if not await self._check(interaction):
            return
        lang = interaction_lang(interaction)
        try:
            job = await self.bot.job_service.cancel(job_id, by_user_id=interaction.user.id, is_admin=True)
        except JobRefused as refused:
            await reply(interaction, refusal_text(self.bot, lang, refused))
            return
        log.info("job %s cancelled by admin %s", job_id, interaction.user.id)
        await reply(interaction, self.bot.catalog.text("admin.cancelled", lang, job_id=job_id,
                                                       user=discord.utils.escape_mentions(job.request.user_name)))


async def setup(bot: BotContext) -> None:
    await bot.add_cog(Admin(bot))
