"""What a result message shows and the buttons under it.

A result is the prompt in an embed (escaped: it reads as typed and never pings), the images (one
grid picture for several), and buttons. Buttons are `DynamicItem`s whose custom_id carries the job
id (and the image's number), so they keep working after the bot restarts: U<n> (upscale image n,
a child job that replies to the grid), V<n> (a variation of image n), Reroll (same prompt, new
seed), Info (every setting, and "Use these settings"), Edit (a modal asks for a new prompt),
Delete (asks first; the requester or an admin), Originals (a grid's images one by one), Retry
(under a failure). Mentions: only the requesting user is ever pinged.
"""
from __future__ import annotations

import io
import logging
import re

import discord

from bot.buttons import PersistentButton
from bot.checks import is_admin
from bot.context import BotContext
from bot.errors import UserError
from bot.i18n import format_duration, interaction_lang
from bot.requests import (ASPECTS, edit_result, read_result_image, reply, reroll, retry, size_for, submit, upscale, vary,
                          workflow_info)
from core.jobs import Job

log = logging.getLogger(__name__)

EMBED_TEXT_MAX = 1024
PROMPT_MAX = 4000
MODAL_PROMPT_ID = "imagebot:edit_prompt"
MODAL_IMAGE_ID = "imagebot:edit_image"
SETTINGS_PROMPT_ID, SETTINGS_ASPECT_ID, SETTINGS_SEED_ID = "imagebot:again_prompt", "imagebot:again_aspect", "imagebot:again_seed"
_LINE_MARKUP = re.compile(r"(?m)^(\s*)(#|>|-(?=\s))")
_NUMBERED = re.compile(r"(?m)^(\s*\d+)\.(?=\s)")


def only_user(user_id: int) -> discord.AllowedMentions:
    """Ping the requesting user and nobody else: no @everyone, no roles, no users named in a prompt."""
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=[discord.Object(user_id)])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """User text as it is shown in an embed: markdown escaped (also line-leading headings, quotes and
    lists), so `**x**` reads as typed. Mentions stay as typed: an embed never pings."""
    escaped = _LINE_MARKUP.sub(r"\1\\\2", discord.utils.escape_markdown(text))
    return _NUMBERED.sub(r"\1\\.", escaped)


def prompt_embed(catalog, lang: str, request) -> discord.Embed:
    """The prompt (and negative prompt) of a request, escaped, as an embed."""
    if not request.prompt:         # an upscale: nothing to show but the image
        return discord.Embed(colour=discord.Colour.blurple())
    embed = discord.Embed(description=_clip(shown(request.prompt), PROMPT_MAX), colour=discord.Colour.blurple())
    embed.set_author(name=catalog.text("result.prompt", lang))
    if request.negative_prompt:
        embed.add_field(name=catalog.text("result.negative", lang), value=_clip(shown(request.negative_prompt), EMBED_TEXT_MAX),
                        inline=False)
    return embed


def result_view(bot: BotContext, job: Job, image_count: int, lang: str, *,
                view: discord.ui.View | None = None) -> discord.ui.View:
    """The buttons under a result. A grid of n: U1..Un and V1..Vn on their own rows; then Reroll,
    Info, Edit, Delete (and Originals for a grid). An upscaled image gets Info, Edit and Delete.
    Into `view` when given (the gallery's, which has no Delete: it shows a copy)."""
    catalog = bot.catalog
    in_gallery = view is not None
    view = view if view is not None else discord.ui.View(timeout=None)
    kinds = {w.kind for w in bot.job_service.workflows()}
    job_kind = next((w.kind for w in bot.job_service.workflows() if w.name == job.request.workflow), "imagine")
    grid = image_count > 1
    if job_kind != "upscale":
        for index in range(image_count):
            if "upscale" in kinds:
                label = f"U{index + 1}" if grid else catalog.text("button.upscale", lang)
                view.add_item(UpscaleButton(job.id, index, label=label, row=0))
            label = f"V{index + 1}" if grid else catalog.text("button.vary", lang)
            view.add_item(VaryButton(job.id, index, label=label, row=1 if grid else 0))
        view.add_item(RerollButton(job.id, label=catalog.text("button.reroll", lang), row=2 if grid else 1))
    last_row = 2 if grid else 1
    view.add_item(InfoButton(job.id, label=catalog.text("button.info", lang), row=last_row))
    view.add_item(EditButton(job.id, label=catalog.text("button.edit", lang), row=last_row))
    if not in_gallery:
        view.add_item(DeleteButton(job.id, job.user_id, label=catalog.text("button.delete", lang), row=last_row))
    if grid:
        view.add_item(OriginalsButton(job.id, label=catalog.text("button.originals", lang), row=3))
    return view


# ---------------------------------------------------------------- buttons

# The bases' templates match nothing: only the buttons below them are registered with the bot.
class JobButton(PersistentButton, template=r"imagebot:(?!)"):
    """A button about one job: its custom_id carries the job's id."""

    def __init__(self, job_id: int, *, label: str | None, row: int | None = None) -> None:
        super().__init__(job_id, label=label, row=row)
        self.job_id = job_id


class ImageButton(PersistentButton, template=r"imagebot:(?!)"):
    """A button about one image of a job (U<n>, V<n>): the job's id and the image's index."""

    def __init__(self, job_id: int, index: int, *, label: str | None, row: int | None = None) -> None:
        super().__init__(job_id, index, label=label, row=row)
        self.job_id, self.index = job_id, index


class RerollButton(JobButton, template=r"imagebot:reroll:(\d+)"):
    action, emoji, style = "reroll", "🎲", discord.ButtonStyle.primary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        await reroll(bot, interaction, self.job_id)


class RetryButton(JobButton, template=r"imagebot:retry:(\d+)"):
    """Under a failure: the same request again, same seed (a transient fault should not change the image)."""
    action, emoji, style = "retry", "🔁", discord.ButtonStyle.primary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        await retry(bot, interaction, self.job_id)


class EditButton(JobButton, template=r"imagebot:edit:(\d+)"):
    action, emoji, style = "edit", "✏️", discord.ButtonStyle.secondary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        job = await bot.job_service.get(self.job_id)
        images = len(job.outputs) if job is not None else 1
        await interaction.response.send_modal(EditPromptModal(bot, self.job_id, interaction_lang(interaction), images))


class EditPromptModal(discord.ui.Modal):
    """The new prompt; under a grid, also which image to edit (1 unless the user says otherwise)."""

    def __init__(self, bot: BotContext, job_id: int, lang: str, images: int = 1) -> None:
        super().__init__(title=bot.catalog.text("modal.edit_title", lang), timeout=15 * 60)
        self.bot = bot
        self.job_id = job_id
        self.images = images
        self.prompt = discord.ui.TextInput(
            label=bot.catalog.text("modal.edit_label", lang), style=discord.TextStyle.paragraph,
            placeholder=bot.catalog.text("modal.edit_placeholder", lang),
            max_length=min(PROMPT_MAX, bot.settings.max_prompt_length), required=True, custom_id=MODAL_PROMPT_ID)
        self.add_item(self.prompt)
        self.image = None
        if images > 1:
            self.image = discord.ui.TextInput(
                label=bot.catalog.text("modal.edit_image_label", lang, count=images), default="1", max_length=2,
                required=False, custom_id=MODAL_IMAGE_ID)
            self.add_item(self.image)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.bot.guard_interaction(interaction)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        chosen = (self.image.value or "1").strip() if self.image is not None else "1"
        if not chosen.isdigit() or not 1 <= int(chosen) <= self.images:
            await interaction.response.send_message(self.bot.catalog.text(
                "edit.image_number", interaction_lang(interaction), count=self.images, given=chosen[:10]),
                ephemeral=True)
            return
        await self.bot.run_guarded(interaction, edit_result(self.bot, interaction, self.job_id, str(self.prompt.value),
                                                            int(chosen) - 1))


class DeleteButton(PersistentButton, template=r"imagebot:delete:(\d+):(\d+)"):
    action, emoji, style = "delete", "🗑️", discord.ButtonStyle.danger

    def __init__(self, job_id: int, owner_id: int, *, label: str | None, row: int | None = None) -> None:
        super().__init__(job_id, owner_id, label=label, row=row)
        self.job_id = job_id
        self.owner_id = owner_id

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        if interaction.user.id != self.owner_id and not is_admin(bot.settings, interaction.user):
            await interaction.response.send_message(bot.catalog.text("delete.not_owner", lang), ephemeral=True)
            return
        await interaction.response.send_message(bot.catalog.text("delete.ask", lang), ephemeral=True,
                                                view=ConfirmDelete(bot, interaction.message, lang))


class ConfirmDelete(discord.ui.View):
    """The ephemeral "Delete this image?" question: Delete removes the result, Keep leaves it."""

    def __init__(self, bot: BotContext, result: discord.Message, lang: str) -> None:
        super().__init__(timeout=5 * 60)
        self.bot, self.result = bot, result
        yes = discord.ui.Button(label=bot.catalog.text("button.delete", lang), emoji="🗑️", style=discord.ButtonStyle.danger)
        no = discord.ui.Button(label=bot.catalog.text("button.keep_image", lang), style=discord.ButtonStyle.secondary)
        yes.callback, no.callback = self._delete, self._keep
        self.add_item(yes)
        self.add_item(no)

    async def _delete(self, interaction: discord.Interaction) -> None:
        try:
            await self.result.delete()
        except discord.NotFound:
            pass           # already gone: the answer is the same
        await self._answer(interaction, "delete.done")

    async def _keep(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, "delete.kept")

    async def _answer(self, interaction: discord.Interaction, key: str) -> None:
        self.stop()
        text = self.bot.catalog.text(key, interaction_lang(interaction))
        await interaction.response.edit_message(content=text, view=None)


class UpscaleButton(ImageButton, template=r"imagebot:upscale:(\d+):(\d+)"):
    action, emoji, style = "upscale", None, discord.ButtonStyle.secondary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        await upscale(bot, interaction, self.job_id, self.index)


class VaryButton(ImageButton, template=r"imagebot:vary:(\d+):(\d+)"):
    action, emoji, style = "vary", None, discord.ButtonStyle.secondary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        await vary(bot, interaction, self.job_id, self.index)


class OriginalsButton(JobButton, template=r"imagebot:originals:(\d+)"):
    action, emoji, style = "originals", "🖼️", discord.ButtonStyle.secondary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        """The grid's images one by one, only for whoever asked (ephemeral)."""
        lang = interaction_lang(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await bot.job_service.get(self.job_id)
        images = []
        for index in range(len(job.outputs) if job is not None else 0):
            data = await read_result_image(bot, job, index)
            if data is not None:
                images.append(discord.File(io.BytesIO(data), filename=f"image_{index + 1}.png"))
        if not images:
            await reply(interaction, bot.catalog.text("job.gone", lang))
            return
        await interaction.followup.send(bot.catalog.text("originals.sent", lang, count=len(images), job_id=self.job_id),
                                        files=images, ephemeral=True)


class InfoButton(JobButton, template=r"imagebot:info:(\d+)"):
    action, emoji, style = "info", "ℹ️", discord.ButtonStyle.secondary

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        job = await bot.job_service.get(self.job_id)
        if job is None:
            await interaction.response.send_message(bot.catalog.text("job.gone", lang), ephemeral=True)
            return
        view = discord.ui.View(timeout=15 * 60)
        view.add_item(UseSettingsButton(self.job_id, label=bot.catalog.text("button.use_settings", lang)))
        await interaction.response.send_message(embed=info_card(bot, job, lang), view=view, ephemeral=True)


def info_card(bot: BotContext, job: Job, lang: str) -> discord.Embed:
    """Every setting of a job, for the ephemeral Info card."""
    catalog, request = bot.catalog, job.request
    info = workflow_info(bot, request.workflow, next((w.kind for w in bot.job_service.workflows()
                                                       if w.name == request.workflow), "imagine"))
    defaults = info.defaults if info is not None else {}
    width, height = request.width or defaults.get("width"), request.height or defaults.get("height")
    embed = prompt_embed(catalog, lang, request) if request.prompt else discord.Embed(colour=discord.Colour.blurple())
    embed.title = catalog.text("info.title", lang, job_id=job.id)
    fields = [
        ("info.model", info.display_name if info is not None else request.workflow),
        ("info.size", f"{width} × {height}" if width and height else "-"),
        ("info.seed", ", ".join(f"`{seed}`" for seed in bot.job_service.image_seeds(job)) or "-"),
        ("info.images", str(max(1, len(job.outputs), request.batch_size or 1))),
        ("info.time", format_duration(job.generation_s, lang) if job.generation_s is not None else "-"),
        ("info.wait", format_duration(job.queue_wait_s, lang) if job.queue_wait_s is not None else "-"),
    ]
    for role, key in (("steps", "info.steps"), ("cfg", "info.cfg")):
        value = getattr(request, role, None)
        value = value if value is not None else defaults.get(role)
        if value is not None:
            fields.append((key, str(value)))
    if request.loras:
        fields.append(("info.loras", ", ".join(f"`{name}`" + (f" × {strength}" if strength is not None else "")
                                               for name, strength in request.loras)))
    if request.parent_job_id is not None:
        fields.append(("info.from", f"#{request.parent_job_id}"))
    for key, value in fields:
        embed.add_field(name=catalog.text(key, lang), value=value, inline=True)
    return embed


class UseSettingsButton(discord.ui.Button):
    """On the Info card: a modal with the prompt, the shape and the seed of this job, to run again."""

    def __init__(self, job_id: int, *, label: str) -> None:
        super().__init__(label=label, emoji="🔁", style=discord.ButtonStyle.primary)
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BotContext = interaction.client  # type: ignore[assignment]
        job = await bot.job_service.get(self.job_id)
        lang = interaction_lang(interaction)
        if job is None:
            await interaction.response.send_message(bot.catalog.text("job.gone", lang), ephemeral=True)
            return
        await interaction.response.send_modal(SettingsModal(bot, job, lang))


class SettingsModal(discord.ui.Modal):
    def __init__(self, bot: BotContext, job: Job, lang: str) -> None:
        super().__init__(title=bot.catalog.text("modal.settings_title", lang), timeout=15 * 60)
        self.bot, self.job = bot, job
        catalog = bot.catalog
        self.prompt = discord.ui.TextInput(
            label=catalog.text("modal.settings_prompt", lang), style=discord.TextStyle.paragraph,
            default=job.request.prompt[:PROMPT_MAX], max_length=min(PROMPT_MAX, bot.settings.max_prompt_length),
            custom_id=SETTINGS_PROMPT_ID)
        self.aspect = discord.ui.TextInput(
            label=catalog.text("modal.settings_aspect", lang), required=False, max_length=20,
            placeholder=", ".join(ASPECTS), custom_id=SETTINGS_ASPECT_ID)
        self.seed = discord.ui.TextInput(
            label=catalog.text("modal.settings_seed", lang), required=False, max_length=20,
            default=str(job.seed) if job.seed is not None else None, custom_id=SETTINGS_SEED_ID)
        for item in (self.prompt, self.aspect, self.seed):
            self.add_item(item)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.bot.guard_interaction(interaction)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.bot.run_guarded(interaction, self._run(interaction))

    async def _run(self, interaction: discord.Interaction) -> None:
        aspect = str(self.aspect.value or "").strip().lower() or None
        if aspect is not None and aspect not in ASPECTS:
            raise UserError("modal.bad_aspect", aspect=aspect[:20], choices=", ".join(ASPECTS))
        seed_text = str(self.seed.value or "").strip()
        if seed_text and not seed_text.isdigit():
            raise UserError("modal.bad_seed", seed=seed_text[:20])
        await interaction.response.defer(ephemeral=True, thinking=True)
        request = self.job.request
        info = workflow_info(self.bot, request.workflow, "imagine")
        width, height = size_for(info, aspect) if aspect else (request.width, request.height)
        await submit(self.bot, interaction, workflow=request.workflow, prompt=str(self.prompt.value),
                     negative_prompt=request.negative_prompt, width=width, height=height,
                     seed=int(seed_text) if seed_text else None, count=request.batch_size,
                     parent_job_id=self.job.id)


RESULT_BUTTONS = (RerollButton, EditButton, DeleteButton, RetryButton, UpscaleButton, VaryButton, InfoButton,
                  OriginalsButton)
