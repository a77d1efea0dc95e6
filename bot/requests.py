"""Turning a user's command or button press into a JobRequest, and answering them.

Shared by /imagine, /edit and the Reroll / Edit buttons. Every answer here is ephemeral and in the
user's language; the job's progress and result appear in their session channel (feedback.py).
"""
from __future__ import annotations

import asyncio
import difflib
import logging
import math
import re
from pathlib import Path

import discord

from bot.checks import is_admin, role_ids
from bot.context import BotContext
from bot.errors import UserError
from bot.i18n import format_duration, format_number, format_size, interaction_lang
from comfy.workflows import Range
from core.errors import JobRefused
from core.jobs import Accepted, Job, JobRequest
from core.jobservice import WorkflowInfo

log = logging.getLogger(__name__)

IMAGE_KINDS = ("edit", "vary", "upscale")      # workflows that take an image
PROMPT_KINDS = ("imagine", "edit")              # workflows that need a prompt
ASPECTS = {"square": (1, 1), "portrait": (2, 3), "landscape": (3, 2), "tall": (9, 16), "wide": (16, 9)}
DEFAULT_SIDE = 1024
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"))


def image_kind(data: bytes) -> str | None:
    """png / jpeg / webp judged by the bytes, never by the name or the declared type."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def size_for(info: WorkflowInfo | None, aspect: str | None) -> tuple[int | None, int | None]:
    """Width and height for an aspect, at about the workflow's default area, within its limits.

    No aspect, no workflow, or a workflow that takes no size: (None, None), the workflow's own size.
    """
    if info is None or aspect not in ASPECTS:
        return None, None
    width_range, height_range = info.limits.width, info.limits.height
    if width_range is None or height_range is None:
        return None, None
    area = int(info.defaults.get("width", DEFAULT_SIDE)) * int(info.defaults.get("height", DEFAULT_SIDE))
    rw, rh = ASPECTS[aspect]
    width = math.sqrt(area * rw / rh)
    height = width * rh / rw
    # Shrink both sides together when one is over its maximum, so the shape holds.
    scale = min(1.0, width_range.max / width, height_range.max / height)
    return _fit(width * scale, width_range), _fit(height * scale, height_range)


def _fit(value: float, allowed: Range) -> int:
    step = max(1, allowed.multiple_of)
    return max(allowed.min, min(allowed.max, round(value / step) * step))


def workflow_info(bot: BotContext, name: str | None, kind: str) -> WorkflowInfo | None:
    enabled = [w for w in bot.job_service.workflows() if w.kind == kind]
    if name is None:
        return enabled[0] if enabled else None
    for info in enabled:
        if info.name == name or info.display_name.lower() == name.lower():
            return info
    return None


def default_model(bot: BotContext, chosen: str | None, kind: str) -> str | None:
    """The admin's default when it is still an enabled workflow of this kind, else the first one."""
    if chosen is not None and workflow_info(bot, chosen, kind) is not None:
        return chosen
    if chosen is not None:
        log.warning("the default model %r is not an enabled %s workflow now; using the first one", chosen, kind)
    first = workflow_info(bot, None, kind)
    return first.name if first is not None else None


def refusal_text(bot: BotContext, lang: str, refused: JobRefused) -> str:
    return bot.catalog.refusal(refused.code, lang, refused.params, refused.message)


async def reply(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral answer, whether or not the interaction was answered already."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


async def read_attachment(bot: BotContext, attachment: discord.Attachment, lang: str) -> bytes:
    """The attachment's bytes if it is a PNG, JPEG or WebP within the size limit; UserError otherwise."""
    name = discord.utils.escape_markdown(attachment.filename)[:100]
    limit = bot.max_input_bytes
    if attachment.size > limit:
        raise UserError("edit.too_large", name=name, size=format_size(attachment.size, lang), limit=format_size(limit, lang))
    declared = (attachment.content_type or "").split(";")[0].strip().lower()
    if declared and not declared.startswith("image/"):
        raise UserError("edit.not_image", name=name)
    try:
        data = await attachment.read()
    except discord.HTTPException as exc:
        raise UserError("edit.download_failed") from exc
    if len(data) > limit:
        raise UserError("edit.too_large", name=name, size=format_size(len(data), lang), limit=format_size(limit, lang))
    if image_kind(data) is None:
        raise UserError("edit.not_image", name=name)
    return data


def _early_refusal(bot: BotContext, member, workflow: str, prompt: str, negative_prompt: str,
                   has_image: bool, count: int | None) -> tuple[str, dict] | None:
    info = next((w for w in bot.job_service.workflows() if w.name == workflow), None)
    if not prompt.strip() and (info is None or info.kind in PROMPT_KINDS):
        return "refusal.empty_prompt", {}
    limit = bot.settings.max_prompt_length
    if len(prompt) > limit:
        return "refusal.prompt_too_long", {"length": len(prompt), "limit": limit}
    if info is None:
        return "refusal.unknown_workflow", {"workflow": workflow}
    takes_image = info.kind in IMAGE_KINDS
    if takes_image and not has_image:
        return "refusal.image_required", {"workflow": workflow}
    if not takes_image and has_image:
        return "refusal.wrong_kind", {"workflow": workflow}
    if negative_prompt.strip() and "negative_prompt" not in info.inputs:
        return "refusal.no_negative", {"model": info.display_name}
    if count is not None and count > info.limits.batch_max:
        key = "refusal.count_one" if info.limits.batch_max == 1 else "refusal.count_too_many"
        return key, {"model": info.display_name, "count": count, "limit": info.limits.batch_max}
    active, user_limit = bot.job_service.active_count(member.id), bot.settings.user_job_limit
    if active >= user_limit and not is_admin(bot.settings, member):
        return "refusal.user_limit", {"active": active, "limit": user_limit}
    return None


async def submit(bot: BotContext, interaction: discord.Interaction, *, workflow: str, prompt: str,
                 negative_prompt: str = "", width: int | None = None, height: int | None = None,
                 seed: int | None = None, input_image: bytes | None = None, input_image_name: str | None = None,
                 count: int | None = None, parent_job_id: int | None = None, spoiler: bool = False,
                 loras: tuple[tuple[str, float | None], ...] = (), steps: int | None = None,
                 cfg: float | None = None) -> Accepted | None:
    """Check, queue, then open the user's session channel, and say what happened (None: refused).

    The job is queued before any Discord call it does not need: the GPU may start while the
    channel is being made. Every refusal comes before anything is created. The interaction must
    be deferred (ephemeral) already.
    """
    lang = interaction_lang(interaction)
    catalog = bot.catalog
    guild, member = interaction.guild, interaction.user
    # Cheap checks first, in the user's words; the service checks everything again (and more).
    prefs = await bot.prefs.get(guild.id)
    early = (_early_refusal(bot, member, workflow, prompt, negative_prompt, input_image is not None, count)
             or _banned(prefs.banned_words, prompt, negative_prompt))
    if early is not None:
        key, params = early
        await reply(interaction, catalog.text(key, lang, **params))
        return None
    async with bot.session_channels.opening(guild, member) as opening:
        request = JobRequest(
            user_id=member.id, user_name=member.display_name[:100], workflow=workflow, prompt=prompt,
            negative_prompt=_with_prefix(bot, workflow, prefs.negative_prefix, negative_prompt), width=width, height=height, seed=seed,
            batch_size=count if count and count > 1 else None, input_image=input_image, input_image_name=input_image_name, source="discord",
            guild_id=guild.id, channel_id=opening.existing.id if opening.existing else None,
            role_ids=role_ids(member), is_admin=is_admin(bot.settings, member), locale=lang,
            parent_job_id=parent_job_id, spoiler=spoiler or interaction.channel_id in prefs.spoiler_channels,
            loras=loras, steps=steps, cfg=cfg,
        )
        try:
            accepted = await bot.job_service.submit(request)
        except JobRefused as refused:
            await reply(interaction, refusal_text(bot, lang, refused))
            return None
        try:
            channel = await opening.open(lang)
        except BaseException:
            # Nowhere to show it: take the job back rather than run it for nobody.
            await _withdraw(bot, accepted.job.id)
            raise
    held = accepted.paused or bot.feedback.backends_down()      # no ETA while nothing can start
    eta = catalog.text("eta", lang, eta=format_duration(accepted.eta_s, lang)) if accepted.eta_s and not held else ""
    key = "imagine.queued_here" if interaction.channel_id == channel.id else "imagine.queued"
    text = catalog.text(key, lang, job_id=accepted.job.id, position=accepted.position, eta=eta, channel=channel.mention)
    if bot.feedback.host_gpu.in_use:
        text += "\n" + catalog.text("imagine.host_gpu", lang, back=bot.feedback.host_gpu_back_text(lang))
    elif accepted.paused:
        text += "\n" + catalog.text("imagine.paused", lang)
    if bot.feedback.backends_down():
        text += "\n" + catalog.text("imagine.backend_down", lang)
    await reply(interaction, text)
    return accepted


async def choose_lora(bot: BotContext, info: WorkflowInfo, allowed: tuple[str, ...], name: str | None,
                      strength: float | None, lang: str) -> tuple[tuple[str, float | None], ...]:
    """The request's LoRA for the workflow's first slot, checked: the model has a slot, ComfyUI has
    the file, the admins allow it, the strength is in the manifest's range. UserError otherwise."""
    if name is None and strength is None:
        return ()
    if not info.loras:
        raise UserError("refusal.no_lora", model=info.display_name)
    slot = info.loras[0]
    if name is not None:
        offered = await lora_choices(bot, info, allowed)
        if name not in offered:
            if not offered:
                raise UserError("refusal.no_loras_allowed")
            closest = difflib.get_close_matches(name, offered, n=3, cutoff=0.3) or offered[:3]
            raise UserError("refusal.unknown_lora", lora=name[:100], closest=", ".join(f"`{c}`" for c in closest))
    if strength is not None and not slot.strength_range.min <= strength <= slot.strength_range.max:
        raise UserError("refusal.lora_strength", min=format_number(slot.strength_range.min, lang),
                        max=format_number(slot.strength_range.max, lang))
    return ((name if name is not None else slot.value, strength),)


async def lora_choices(bot: BotContext, info: WorkflowInfo | None, allowed: tuple[str, ...]) -> list[str]:
    """The LoRA files a user may pick for a workflow: ComfyUI has them, the admins allow them, and
    the manifest's slot offers them (when it limits the choice)."""
    if info is None or not info.loras or not allowed:
        return []
    slot_choices = info.loras[0].choices
    return [f for f in await bot.job_service.lora_files() if f in allowed and (not slot_choices or f in slot_choices)]


def check_sampling(info: WorkflowInfo, steps: int | None, cfg: float | None, lang: str) -> None:
    """`steps` and `cfg` only where the workflow takes them, within its limits; UserError saying why not."""
    limits = info.limits
    if steps is not None:
        if limits.steps is None:
            raise UserError("refusal.no_steps", model=info.display_name)
        if not limits.steps.min <= steps <= limits.steps.max:
            raise UserError("refusal.steps_range", model=info.display_name, min=limits.steps.min, max=limits.steps.max)
    if cfg is not None:
        if limits.cfg is None:
            raise UserError("refusal.no_cfg", model=info.display_name)
        if not limits.cfg.min <= cfg <= limits.cfg.max:
            raise UserError("refusal.cfg_range", model=info.display_name, min=format_number(limits.cfg.min, lang),
                            max=format_number(limits.cfg.max, lang))


def _banned(words: tuple[str, ...], *texts: str) -> tuple[str, dict] | None:
    """The first of the server's banned words found as a whole word (any case) in the texts."""
    for word in words:
        pattern = re.compile(rf"(?<!\w){re.escape(word.strip())}(?!\w)", re.IGNORECASE)
        if word.strip() and any(pattern.search(text or "") for text in texts):
            return "refusal.banned_word", {"word": word.strip()}
    return None


def _with_prefix(bot: BotContext, workflow: str, prefix: str, negative: str) -> str:
    """The server's negative-prompt prefix goes first, on models that take a negative prompt."""
    info = next((w for w in bot.job_service.workflows() if w.name == workflow), None)
    if not prefix.strip() or info is None or "negative_prompt" not in info.inputs:
        return negative or ""
    return f"{prefix.strip()}, {negative.strip()}" if negative and negative.strip() else prefix.strip()


async def _withdraw(bot: BotContext, job_id: int) -> None:
    try:
        await bot.job_service.cancel(job_id, is_admin=True)
    except JobRefused:
        pass      # it already ended


def _output_path(bot: BotContext, path: Path | str) -> Path:
    path = Path(path)
    return path if path.is_absolute() else bot.settings.paths.data_dir / path


async def read_result_image(bot: BotContext, job: Job, index: int | None = None) -> bytes | None:
    """Image `index` (0-based) of a finished job, or its first readable one; None when the files are gone."""
    paths = list(job.outputs or ())
    if index is not None:
        paths = paths[index:index + 1]
    for path in paths:
        try:
            return await asyncio.to_thread(_output_path(bot, path).read_bytes)
        except OSError:
            continue
    return None


async def _pressed_on(bot: BotContext, interaction: discord.Interaction, job_id: int) -> Job | None:
    """A button or modal about job `job_id`: defer the answer and load the job; None (said) when it is gone."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    job = await bot.job_service.get(job_id)
    if job is None:
        await reply(interaction, bot.catalog.text("job.gone", interaction_lang(interaction)))
    return job


async def edit_result(bot: BotContext, interaction: discord.Interaction, job_id: int, prompt: str,
                      index: int = 0) -> None:
    """The Edit button's modal: edit image `index` (0-based) of `job_id` with a new prompt."""
    job = await _pressed_on(bot, interaction, job_id)
    if job is None:
        return
    lang = interaction_lang(interaction)
    data = await read_result_image(bot, job, index)
    if data is None:
        await reply(interaction, bot.catalog.text("edit.source_gone", lang, job_id=job_id))
        return
    info = workflow_info(bot, None, "edit")
    if info is None:
        await reply(interaction, bot.catalog.text("edit.no_model", lang))
        return
    await submit(bot, interaction, workflow=info.name, prompt=prompt, input_image=data,
                 input_image_name=f"job_{job_id}.png", parent_job_id=job_id)


async def reroll(bot: BotContext, interaction: discord.Interaction, job_id: int) -> None:
    """The Reroll button: the same request with a new seed, for whoever pressed it."""
    await _again(bot, interaction, job_id, keep_seed=False)


async def retry(bot: BotContext, interaction: discord.Interaction, job_id: int) -> None:
    """The Retry button under a failure: the same request, the same seed."""
    await _again(bot, interaction, job_id, keep_seed=True)


async def upscale(bot: BotContext, interaction: discord.Interaction, job_id: int, index: int) -> None:
    """U<n>: image n of the result, made bigger by the upscale workflow (a child job that replies to it)."""
    job = await _pressed_on(bot, interaction, job_id)
    if job is None:
        return
    lang = interaction_lang(interaction)
    info = workflow_info(bot, None, "upscale")
    if info is None:
        await reply(interaction, bot.catalog.text("upscale.no_model", lang))
        return
    data = await read_result_image(bot, job, index)
    if data is None:
        await reply(interaction, bot.catalog.text("result.image_gone", lang, job_id=job_id, number=index + 1))
        return
    await submit(bot, interaction, workflow=info.name, prompt="", input_image=data,
                 input_image_name=f"job_{job_id}_{index + 1}.png", parent_job_id=job_id, spoiler=job.request.spoiler)


async def vary(bot: BotContext, interaction: discord.Interaction, job_id: int, index: int) -> None:
    """V<n>: a variation of image n. With a `vary` workflow, image-to-image from it with the same
    prompt; without one, the same request with a new seed (one image)."""
    info = workflow_info(bot, None, "vary")
    if info is None:
        await _again(bot, interaction, job_id, keep_seed=False, count=1)
        return
    job = await _pressed_on(bot, interaction, job_id)
    if job is None:
        return
    data = await read_result_image(bot, job, index)
    if data is None:
        lang = interaction_lang(interaction)
        await reply(interaction, bot.catalog.text("result.image_gone", lang, job_id=job_id, number=index + 1))
        return
    await submit(bot, interaction, workflow=info.name, prompt=job.request.prompt, input_image=data,
                 input_image_name=f"job_{job_id}_{index + 1}.png", parent_job_id=job_id, spoiler=job.request.spoiler)


async def _again(bot: BotContext, interaction: discord.Interaction, job_id: int, *, keep_seed: bool,
                 count: int | None = None) -> None:
    job = await _pressed_on(bot, interaction, job_id)
    if job is None:
        return
    request = job.request
    input_image, input_name = None, request.input_image_name
    takes_image = any(w.name == request.workflow and w.kind in IMAGE_KINDS for w in bot.job_service.workflows())
    if takes_image or input_name is not None:
        # The service keeps the (checked) image an edit was given; the request in the DB has no bytes.
        input_image = await bot.job_service.input_image(job_id)
        if input_image is None:
            await reply(interaction, bot.catalog.text("edit.source_gone", interaction_lang(interaction), job_id=job_id))
            return
        input_name = input_name or f"job_{job_id}.png"
    await submit(bot, interaction, workflow=request.workflow, prompt=request.prompt,
                 negative_prompt=request.negative_prompt, width=request.width, height=request.height,
                 seed=(job.seed if job.seed is not None else request.seed) if keep_seed else None,
                 input_image=input_image, input_image_name=input_name, count=count or request.batch_size,
                 parent_job_id=job_id, spoiler=request.spoiler, loras=request.loras, steps=request.steps, cfg=request.cfg)
