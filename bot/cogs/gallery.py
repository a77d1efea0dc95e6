"""/gallery: a user's own results, one per page, ephemeral, with the result buttons (U/V, Reroll,
Info, Edit, Originals). It reads the job store, so results outlive the session channel they were
posted in, for as long as the retention setting keeps their images."""
from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.context import BotContext
from bot.i18n import interaction_lang
from bot.requests import read_result_image
from bot.results import prompt_embed, result_view
from core.errors import ImageError
from core.grid import compose
from core.jobs import Job

log = logging.getLogger(__name__)

PAGE_TIMEOUT_S = 15 * 60


async def _picture(bot: BotContext, job: Job) -> tuple[str, bytes] | None:
    """The result as the channel showed it: the image, or the grid of several."""
    images = [data for index in range(len(job.outputs))
              if (data := await read_result_image(bot, job, index)) is not None]
    if not images:
        return None
    if len(images) == 1:
        return "image.png", images[0]
    try:
        return "grid.jpg", await asyncio.to_thread(compose, images)
    except ImageError:
        return "image.png", images[0]


async def gallery_page(bot: BotContext, user_id: int, lang: str, page: int) -> dict[str, Any] | None:
    """The message for page `page` (0 = newest) of the user's gallery; None when it is empty."""
    jobs, total = await bot.job_service.results_of(user_id, limit=1, offset=max(0, page))
    if not jobs and total:                       # the page went away (retention): show the last one
        page = total - 1
        jobs, total = await bot.job_service.results_of(user_id, limit=1, offset=page)
    if not jobs:
        return None
    job = jobs[0]
    catalog = bot.catalog
    picture = await _picture(bot, job)
    embed = prompt_embed(catalog, lang, job.request)
    embed.set_footer(text=catalog.text("gallery.footer", lang, number=page + 1, total=total, job_id=job.id))
    if job.finished_at is not None:
        embed.add_field(name=catalog.text("gallery.made", lang), value=f"<t:{int(job.finished_at.timestamp())}:f>")
    files = []
    if picture is not None:
        name, data = picture
        embed.set_image(url=f"attachment://{name}")
        files = [discord.File(io.BytesIO(data), filename=name)]
    view = discord.ui.View(timeout=PAGE_TIMEOUT_S)
    result_view(bot, job, len(job.outputs), lang, view=view)
    for step, key, emoji in ((-1, "gallery.newer", "◀️"), (1, "gallery.older", "▶️")):
        target = page + step
        view.add_item(PageButton(user_id, target, label=catalog.text(key, lang), emoji=emoji,
                                 disabled=not 0 <= target < total))
    return dict(embed=embed, files=files, view=view)


class PageButton(discord.ui.Button):
    def __init__(self, user_id: int, page: int, *, label: str, emoji: str, disabled: bool) -> None:
        super().__init__(label=label, emoji=emoji, style=discord.ButtonStyle.secondary, disabled=disabled, row=4)
        self.user_id, self.page = user_id, page

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BotContext = interaction.client  # type: ignore[assignment]
        await bot.run_guarded(interaction, self._turn(bot, interaction))

    async def _turn(self, bot: BotContext, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        page = await gallery_page(bot, self.user_id, lang, self.page)
        if page is None:
            await interaction.response.edit_message(content=bot.catalog.text("gallery.empty", lang), embed=None,
                                                    attachments=[], view=None)
            return
        files = page.pop("files")
        await interaction.response.edit_message(attachments=files, **page)


class Gallery(commands.Cog):
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot

    @app_commands.command(name=_("gallery"), description=_("Your images, also those from deleted channels"))
    @app_commands.guild_only()
    async def gallery(self, interaction: discord.Interaction) -> None:
        await self.bot.run_guarded(interaction, self._gallery(interaction))

    async def _gallery(self, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        page = await gallery_page(self.bot, interaction.user.id, lang, 0)
        if page is None:
            await interaction.followup.send(self.bot.catalog.text("gallery.empty", lang), ephemeral=True)
            return
        await interaction.followup.send(ephemeral=True, **page)


async def setup(bot: BotContext) -> None:
    await bot.add_cog(Gallery(bot))
