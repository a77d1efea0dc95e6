"""The end of a job in Discord: the status message becomes the result (images, time, model, seed,
buttons), a failure, or a cancellation.

Buttons are `DynamicItem`s whose custom_id carries the job id, so they keep working after the bot
restarts: Reroll (same prompt, new seed), Edit (a modal asks for a new prompt for this image),
Delete (the requester or an admin). Mentions: only the requesting user is ever pinged; text echoed
from a prompt never pings anyone.
"""
from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord

from bot.buttons import PersistentButton
from bot.checks import is_admin
from bot.i18n import format_duration, interaction_lang
from bot.requests import edit_result, reroll, retry
from core.jobs import FailureCode, JobCancelled, JobFailed, JobFinished

if TYPE_CHECKING:
    from bot.bot import ImageBot
    from bot.feedback import StatusMessage

log = logging.getLogger(__name__)

EMBED_TEXT_MAX = 1024
PROMPT_MAX = 4000
MODAL_PROMPT_ID = "imagebot:edit_prompt"
_LINE_MARKUP = re.compile(r"(?m)^(\s*)(#|>|-(?=\s))")
_NUMBERED = re.compile(r"(?m)^(\s*\d+)\.(?=\s)")
_OUT_OF_MEMORY = re.compile(r"out ?of ?memory|\bOOM\b|CUDA error: out of memory|Allocation on device", re.IGNORECASE)
MIN_WAIT_SHOWN_S = 1.0        # a shorter wait in the queue is not worth a mention


def only_user(user_id: int) -> discord.AllowedMentions:
    """Ping the requesting user and nobody else: no @everyone, no roles, no users named in a prompt."""
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=[discord.Object(user_id)])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def shown(text: str) -> str:
    """User text as it is shown in an embed: markdown escaped (also line-leading headings, quotes and
    lists), so `**x**` reads as typed. Mentions stay as typed: an embed never pings."""
    escaped = _LINE_MARKUP.sub(r"\1\\\2", discord.utils.escape_markdown(text))
    return _NUMBERED.sub(r"\1\\.", escaped)


def prompt_embed(catalog, lang: str, request) -> discord.Embed:
    """The prompt (and negative prompt) of a request, escaped, as an embed."""
    embed = discord.Embed(description=_clip(shown(request.prompt), PROMPT_MAX), colour=discord.Colour.blurple())
    embed.set_author(name=catalog.text("result.prompt", lang))
    if request.negative_prompt:
        embed.add_field(name=catalog.text("result.negative", lang), value=_clip(shown(request.negative_prompt), EMBED_TEXT_MAX),
                        inline=False)
    return embed


def failure_reason(catalog, lang: str, event: JobFailed) -> str:
    """Why it failed, in the user's words; a GPU out of memory gets its own advice."""
    if event.code == FailureCode.COMFY_ERROR and _OUT_OF_MEMORY.search(event.text or ""):
        return catalog.text("failure.out_of_memory", lang)
    return catalog.try_text(f"failure.{event.code}", lang) or catalog.text("failure.default", lang, code=event.code)


def result_view(job_id: int, owner_id: int, lang: str, catalog) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id, label=catalog.text("button.reroll", lang)))
    view.add_item(EditButton(job_id, label=catalog.text("button.edit", lang)))
    view.add_item(DeleteButton(job_id, owner_id, label=catalog.text("button.delete", lang)))
    return view


async def deliver_final(bot: "ImageBot", status: "StatusMessage") -> None:
    event = status.final
    catalog, lang = bot.catalog, status.lang
    user_id = status.job.request.user_id
    mention = f"<@{user_id}>"
    kwargs: dict[str, Any]
    if isinstance(event, JobFinished):
        limit = int(bot.settings.upload_limit_mb * 1024 * 1024)
        paths = [Path(p) for p in event.images]
        files, left_out = await asyncio.to_thread(_read_files, paths, limit)
        seed = event.seed if event.seed is not None else event.job.seed
        waited = event.queue_wait_s or 0.0
        wait = catalog.text("result.waited", lang, wait=format_duration(waited, lang)) if waited >= MIN_WAIT_SHOWN_S else ""
        content = catalog.text("result.done", lang, mention=mention, generation=format_duration(event.generation_s, lang),
                               wait=wait, model=status.model)
        if left_out:
            content += "\n" + catalog.text("result.too_large" if files else "result.files_gone", lang)
        request = event.job.request
        embed = prompt_embed(catalog, lang, request)
        embed.set_footer(text=catalog.text("result.footer", lang, job_id=event.job_id, seed="?" if seed is None else seed))
        kwargs = dict(content=content, embed=embed, allowed_mentions=only_user(user_id),
                      view=result_view(event.job_id, user_id, lang, catalog))
        attachments = [discord.File(io.BytesIO(data), filename=name) for name, data in files]
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


# ---------------------------------------------------------------- buttons

class RerollButton(PersistentButton, template=r"imagebot:reroll:(\d+)"):
    action, emoji, style = "reroll", "🎲", discord.ButtonStyle.primary

    def __init__(self, job_id: int, *, label: str | None) -> None:
        super().__init__(job_id, label=label)
        self.job_id = job_id

    async def press(self, bot: "ImageBot", interaction: discord.Interaction) -> None:
        await reroll(bot, interaction, self.job_id)


class RetryButton(PersistentButton, template=r"imagebot:retry:(\d+)"):
    """Under a failure: the same request again, same seed (a transient fault should not change the image)."""
    action, emoji, style = "retry", "🔁", discord.ButtonStyle.primary

    def __init__(self, job_id: int, *, label: str | None) -> None:
        super().__init__(job_id, label=label)
        self.job_id = job_id

    async def press(self, bot: "ImageBot", interaction: discord.Interaction) -> None:
        await retry(bot, interaction, self.job_id)


class EditButton(PersistentButton, template=r"imagebot:edit:(\d+)"):
    action, emoji, style = "edit", "✏️", discord.ButtonStyle.secondary

    def __init__(self, job_id: int, *, label: str | None) -> None:
        super().__init__(job_id, label=label)
        self.job_id = job_id

    async def press(self, bot: "ImageBot", interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(EditPromptModal(bot, self.job_id, interaction_lang(interaction)))


class EditPromptModal(discord.ui.Modal):
    def __init__(self, bot: "ImageBot", job_id: int, lang: str) -> None:
        super().__init__(title=bot.catalog.text("modal.edit_title", lang), timeout=15 * 60)
        self.bot = bot
        self.job_id = job_id
        self.prompt = discord.ui.TextInput(
            label=bot.catalog.text("modal.edit_label", lang), style=discord.TextStyle.paragraph,
            placeholder=bot.catalog.text("modal.edit_placeholder", lang),
            max_length=min(PROMPT_MAX, bot.settings.max_prompt_length), required=True, custom_id=MODAL_PROMPT_ID)
        self.add_item(self.prompt)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.bot.guard_interaction(interaction)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.bot.run_guarded(interaction, edit_result(self.bot, interaction, self.job_id, str(self.prompt.value)))


class DeleteButton(PersistentButton, template=r"imagebot:delete:(\d+):(\d+)"):
    action, emoji, style = "delete", "🗑️", discord.ButtonStyle.danger

    def __init__(self, job_id: int, owner_id: int, *, label: str | None) -> None:
        super().__init__(job_id, owner_id, label=label)
        self.job_id = job_id
        self.owner_id = owner_id

    async def press(self, bot: "ImageBot", interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        if interaction.user.id != self.owner_id and not is_admin(bot.settings, interaction.user):
            await interaction.response.send_message(bot.catalog.text("delete.not_owner", lang), ephemeral=True)
            return
        await interaction.response.send_message(bot.catalog.text("delete.ask", lang), ephemeral=True,
                                                view=ConfirmDelete(bot, interaction.message, lang))


class ConfirmDelete(discord.ui.View):
    """The ephemeral "Delete this image?" question: Delete removes the result, Keep leaves it."""

    def __init__(self, bot: "ImageBot", result: discord.Message, lang: str) -> None:
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
