"""/help, and `!help` (or `@Bot help`): the commands with an example each, the user's limits and the models."""
from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.checks import guild_allowed, is_admin
from bot.context import BotContext
from bot.i18n import format_size, interaction_lang, lang_of

KIND_ORDER = ("imagine", "edit", "vary", "upscale")


def help_embed(bot: BotContext, lang: str, member: discord.abc.User) -> discord.Embed:
    catalog, settings = bot.catalog, bot.settings
    embed = discord.Embed(title=catalog.text("help.title", lang), colour=discord.Colour.blurple(),
                          description="\n".join(catalog.text(key, lang, days=settings.result_retention_days) for key in
                                                ("help.imagine", "help.edit", "help.queue", "help.cancel", "help.gallery",
                                                 "help.help")))
    admin = is_admin(settings, member)
    limits = [catalog.text("help.jobs_at_once", lang, count=settings.user_job_limit) if not admin
              else catalog.text("help.no_job_limit", lang),
              catalog.text("help.prompt_length", lang, count=settings.max_prompt_length),
              catalog.text("help.image_size", lang, size=format_size(bot.max_input_bytes, lang))]
    embed.add_field(name=catalog.text("help.limits", lang), value="\n".join(limits), inline=False)
    workflows = sorted(bot.job_service.workflows(), key=lambda w: (KIND_ORDER.index(w.kind) if w.kind in KIND_ORDER
                                                                   else len(KIND_ORDER), w.display_name))
    lines = []
    for info in workflows:
        if info.kind not in ("imagine", "edit"):
            continue
        command = catalog.command_path(info.kind, lang)
        negative = " · " + catalog.text("help.takes_negative", lang) if "negative_prompt" in info.inputs else ""
        lines.append(catalog.text("help.model_line", lang, model=info.display_name, command=command, negative=negative))
    embed.add_field(name=catalog.text("help.models", lang),
                    value="\n".join(lines)[:1024] or catalog.text("imagine.no_models", lang), inline=False)
    if admin:
        embed.add_field(name=catalog.text("help.admin_title", lang), value=catalog.text("help.admin", lang), inline=False)
    return embed


class Help(commands.Cog):
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot

    @app_commands.command(name=_("help"), description=_("What the bot can do, your limits and the models"))
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        await self.bot.run_guarded(interaction, interaction.response.send_message(
            embed=help_embed(self.bot, interaction_lang(interaction), interaction.user), ephemeral=True))

    @commands.command(name="help")
    async def help_prefix(self, ctx: commands.Context) -> None:
        """`!help` (with the Message Content intent) or `@Bot help`: the same card, in the server's language."""
        if ctx.guild is None or not guild_allowed(self.bot.settings, ctx.guild.id):
            return
        lang = self.bot.lang_for(ctx.author.id, ctx.guild)
        await ctx.reply(embed=help_embed(self.bot, lang, ctx.author), mention_author=False)


async def setup(bot: BotContext) -> None:
    await bot.add_cog(Help(bot))
