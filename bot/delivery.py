"""The end of a job in Discord: the status message becomes the result (the images, or one grid of
them, with the buttons of bot/results.py), a failure (with Retry), or a cancellation. Only the
requesting user is ever pinged."""
from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord

from bot.context import BotContext
from bot.i18n import format_duration
from bot.results import RetryButton, only_user, prompt_embed, result_view
from core.errors import ImageError
from core.grid import compose
from core.jobs import FailureCode, JobCancelled, JobFailed, JobFinished

if TYPE_CHECKING:
    from bot.feedback import StatusMessage

log = logging.getLogger(__name__)

_OUT_OF_MEMORY = re.compile(r"out ?of ?memory|\bOOM\b|Allocation on device", re.IGNORECASE)
MIN_WAIT_SHOWN_S = 1.0        # a shorter wait in the queue is not worth a mention

def _read_files(paths: list[Path], limit_bytes: int) -> tuple[list[tuple[str, bytes]], bool]:
    """(name, bytes) of each image under the upload limit; True when one was left out."""
    files, left_out = [], False
    for index, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except OSError:
            left_out = True
            continue
        if len(data) > limit_bytes:
            left_out = True
            continue
        files.append((f"image_{index + 1}{path.suffix or '.png'}", data))
    return files, left_out


GRID_NAME = "grid.jpg"


def _files_to_show(paths: list[Path], limit_bytes: int) -> tuple[list[tuple[str, bytes]], bool]:
    """The images to upload (one grid for several) and whether one was left out."""
    files, left_out = _read_files(paths, limit_bytes)
    return (_as_grid(files, limit_bytes) if len(files) > 1 else files), left_out


def _as_grid(files: list[tuple[str, bytes]], limit_bytes: int) -> list[tuple[str, bytes]]:
    """Several images as one grid picture (smaller if it is over the upload limit); the images
    themselves when they cannot be combined."""
    for max_tile_side in (1024, 512):
        try:
            grid = compose([data for _, data in files], max_tile_side=max_tile_side)
        except ImageError as exc:
            log.warning("could not make a grid (%s); sending the images one by one", exc)
            return files
        if len(grid) <= limit_bytes:
            return [(GRID_NAME, grid)]
    return files


def failure_reason(catalog, lang: str, event: JobFailed) -> str:
    """Why it failed, in the user's words; a GPU out of memory gets its own advice."""
    if event.code == FailureCode.COMFY_ERROR and _OUT_OF_MEMORY.search(event.text or ""):
        return catalog.text("failure.out_of_memory", lang)
    return catalog.try_text(f"failure.{event.code}", lang) or catalog.text("failure.default", lang, code=event.code)


async def deliver_final(bot: BotContext, status: "StatusMessage") -> None:
    event = status.final
    catalog, lang = bot.catalog, status.lang
    user_id = status.job.request.user_id
    mention = f"<@{user_id}>"
    kwargs: dict[str, Any]
    if isinstance(event, JobFinished):
        limit = int(bot.settings.upload_limit_mb * 1024 * 1024)
        paths = [Path(p) for p in event.images]
        files, left_out = await asyncio.to_thread(_files_to_show, paths, limit)   # one trip to a thread
        seed = event.seed if event.seed is not None else event.job.seed
        waited = event.queue_wait_s or 0.0
        wait = catalog.text("result.waited", lang, wait=format_duration(waited, lang)) if waited >= MIN_WAIT_SHOWN_S else ""
        count = len(event.images)
        content = catalog.text("result.done_grid" if count > 1 else "result.done", lang, mention=mention, count=count,
                               generation=format_duration(event.generation_s, lang), wait=wait, model=status.model)
        if left_out:
            content += "\n" + catalog.text("result.too_large" if files else "result.files_gone", lang)
        request = event.job.request
        embed = prompt_embed(catalog, lang, request)
        embed.set_footer(text=catalog.text("result.footer", lang, job_id=event.job_id, seed="?" if seed is None else seed))
        spoiler = request.spoiler
        if len(files) == 1 and files[0][0] == GRID_NAME and not spoiler:
            embed.set_image(url=f"attachment://{GRID_NAME}")
        kwargs = dict(content=content, embed=embed, allowed_mentions=only_user(user_id),
                      view=result_view(bot, event.job, count, lang))
        attachments = [discord.File(io.BytesIO(data), filename=name, spoiler=spoiler) for name, data in files]
        await _show(status, kwargs, attachments)
        return
    if isinstance(event, JobFailed):
        content = catalog.text("status.failed", lang, mention=mention, job_id=event.job_id,
                               reason=failure_reason(catalog, lang, event))
        view = discord.ui.View(timeout=None)
        view.add_item(RetryButton(event.job_id, label=catalog.text("button.retry", lang)))
        await _show(status, dict(content=content, allowed_mentions=only_user(user_id), embed=None, view=view), [])
        return
    if isinstance(event, JobCancelled):
        key = "status.cancelled" if event.by_user_id in (None, user_id) else "status.cancelled_by_admin"
        content = catalog.text(key, lang, job_id=event.job_id)
        await _show(status, dict(content=content, allowed_mentions=discord.AllowedMentions.none(), embed=None, view=None), [])


async def _show(status: "StatusMessage", kwargs: dict[str, Any], files: list[discord.File]) -> None:
    """Turn the status message into `kwargs`; send a new message when there is none (or it was deleted).
    A status message known only by its stored id (a delivery from the outbox after a restart) is
    edited too, so delivering the same job twice never posts it twice."""
    if status.message is None and status.message_id is not None:
        channel = await status.channel()
        if channel is not None:
            status.message = channel.get_partial_message(status.message_id)  # type: ignore[attr-defined]
    if status.message is not None:
        try:
            await status.wait_for_channel(final=True)
            await status.message.edit(attachments=files, **kwargs)
            status.edits += 1
            status.hub.edit_count += 1
            return
        except discord.NotFound:
            status.message = None
            for file in files:
                file.reset()
    channel = await status.channel()
    if channel is None:
        log.warning("job %s ended but its channel %s is gone", status.job_id, status.channel_id)
        return
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    status.message = await channel.send(files=files, **kwargs)
    status.message_id = status.message.id
    try:
        await status.hub.bot.job_service.set_feedback_message(status.job_id, status.message.id)
    except Exception:  # it only spares a second post after a crash; the delivery itself is done
        log.warning("could not store the result message of job %s", status.job_id, exc_info=True)

