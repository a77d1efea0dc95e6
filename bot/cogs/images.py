"""/imagine, /edit, /cancel and /queue."""
from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.context import BotContext
from bot.i18n import format_duration, interaction_lang
from bot.requests import (check_sampling, choose_lora, default_model, lora_choices, read_attachment, read_result_image, refusal_text, reply, size_for, submit,
                          workflow_info)
from core.errors import JobRefused
from core.jobs import JobState

log = logging.getLogger(__name__)

SEED_MAX = 2**53 - 1          # Discord's largest integer option
MAX_COUNT = 4                 # images per request: one grid
ASPECT_CHOICES = [
    app_commands.Choice(name=_("Square (1:1)"), value="square"),
    app_commands.Choice(name=_("Portrait (2:3)"), value="portrait"),
    app_commands.Choice(name=_("Landscape (3:2)"), value="landscape"),
    app_commands.Choice(name=_("Tall (9:16)"), value="tall"),
    app_commands.Choice(name=_("Wide (16:9)"), value="wide"),
]


class ImageCommands(commands.Cog):
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot

    # ---------------------------------------------------------------- autocomplete

    def _model_choices(self, kind: str, current: str) -> list[app_commands.Choice[str]]:
        current = current.lower().strip()
        found = [w for w in self.bot.job_service.workflows() if w.kind == kind]
        return [app_commands.Choice(name=w.display_name[:100], value=w.name)
                for w in found if current in w.name.lower() or current in w.display_name.lower()][:25]

    async def imagine_models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return self._model_choices("imagine", current)

    async def edit_models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return self._model_choices("edit", current)

    async def example_prompts(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        examples = self.bot.catalog.examples(interaction_lang(interaction))
        needle = current.lower().strip()
        found = [e for e in examples if needle in e.lower()] if needle else examples
        choices = [app_commands.Choice(name=e[:100], value=e[:100]) for e in found]
        if current.strip() and current not in found:
            # What the user typed stays the first choice, so picking nothing keeps their text.
            choices.insert(0, app_commands.Choice(name=current[:100], value=current[:100]))
        return choices[:25]

    # ---------------------------------------------------------------- /imagine

    @app_commands.command(name=_("imagine"), description=_("Generate an image from a text prompt"))
    @app_commands.rename(prompt=_("prompt"), model=_("model"), count=_("count"), negative=_("negative"),
                         aspect=_("aspect"), seed=_("seed"), lora=_("lora"), lora_strength=_("lora_strength"),
                         steps=_("steps"), cfg=_("cfg"))
    @app_commands.describe(prompt=_("What to draw"), model=_("Which model draws it (the server's default if left out)"),
                           count=_("How many images, shown as one grid (1-4)"),
                           negative=_("What to keep out of the image (only models that take it)"),
                           aspect=_("Shape of the image"), seed=_("Same seed and prompt give the same image"),
                           lora=_("A style (LoRA) the server offers, on models that take one"),
                           lora_strength=_("How strongly the LoRA applies"),
                           steps=_("Sampling steps (only models that take them)"),
                           cfg=_("How closely to follow the prompt (only models that take it)"))
    @app_commands.choices(aspect=ASPECT_CHOICES)
    @app_commands.guild_only()
    async def imagine(self, interaction: discord.Interaction, prompt: str, model: str | None = None,
                      count: app_commands.Range[int, 1, MAX_COUNT] | None = None, negative: str | None = None,
                      aspect: app_commands.Choice[str] | None = None,
                      seed: app_commands.Range[int, 0, SEED_MAX] | None = None, lora: str | None = None,
                      lora_strength: float | None = None, steps: app_commands.Range[int, 1, 200] | None = None,
                      cfg: app_commands.Range[float, 0.0, 30.0] | None = None) -> None:
        await self.bot.run_guarded(interaction, self._imagine(interaction, model, prompt, negative, aspect, seed, count,
                                                              lora, lora_strength, steps, cfg))

    imagine.autocomplete("model")(imagine_models)
    imagine.autocomplete("prompt")(example_prompts)

    @imagine.autocomplete("lora")
    async def imagine_loras(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        model = interaction.namespace.model
        prefs = await self.bot.prefs.get(interaction.guild_id)      # read once, then from memory
        model = model or default_model(self.bot, prefs.model_for(interaction.channel_id), "imagine")
        files = await lora_choices(self.bot, workflow_info(self.bot, model, "imagine"), prefs.lora_allow)
        needle = current.lower().strip()
        return [app_commands.Choice(name=f[:100], value=f[:100]) for f in files if needle in f.lower()][:25]

    async def _imagine(self, interaction: discord.Interaction, model: str | None, prompt: str, negative: str | None,
                       aspect: app_commands.Choice[str] | None, seed: int | None, count: int | None,
                       lora: str | None = None, lora_strength: float | None = None, steps: int | None = None,
                       cfg: float | None = None) -> None:
        lang = interaction_lang(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not any(w.kind == "imagine" for w in self.bot.job_service.workflows()):
            await reply(interaction, self.bot.catalog.text("imagine.no_models", lang))
            return
        prefs = await self.bot.prefs.get(interaction.guild_id)
        if model is None:
            model = default_model(self.bot, prefs.model_for(interaction.channel_id), "imagine")
        info = workflow_info(self.bot, model, "imagine")
        if count is None and info is not None:     # the server's default, within what the model can batch
            count = min(prefs.default_count, info.limits.batch_max)
        # Unknown or not an imagine model: the name goes on as given, to be refused with its reason.
        workflow = info.name if info is not None else model
        width, height = size_for(info, aspect.value if aspect else None)
        loras = ()
        if info is not None:
            loras = await choose_lora(self.bot, info, prefs.lora_allow, lora, lora_strength, lang)
            check_sampling(info, steps, cfg, lang)
        await submit(self.bot, interaction, workflow=workflow, prompt=prompt, negative_prompt=negative or "",
                     width=width, height=height, seed=seed, count=count, loras=loras, steps=steps, cfg=cfg)

    # ---------------------------------------------------------------- /edit

    @app_commands.command(name=_("edit"), description=_("Edit an image: the one you attach, or your last result"))
    @app_commands.rename(prompt=_("prompt"), image=_("image"), model=_("model"))
    @app_commands.describe(prompt=_("What should change"), image=_("The image to edit (PNG, JPEG or WebP)"),
                           model=_("Which edit model to use"))
    @app_commands.guild_only()
    async def edit(self, interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None,
                   model: str | None = None) -> None:
        await self.bot.run_guarded(interaction, self._edit(interaction, prompt, image, model))

    edit.autocomplete("model")(edit_models)

    async def _edit(self, interaction: discord.Interaction, prompt: str, image: discord.Attachment | None,
                    model: str | None) -> None:
        lang = interaction_lang(interaction)
        catalog = self.bot.catalog
        await interaction.response.defer(ephemeral=True, thinking=True)
        info = workflow_info(self.bot, model, "edit")
        if info is None and model is None:
            await reply(interaction, catalog.text("edit.no_model", lang))
            return
        workflow = info.name if info is not None else model
        parent_job_id = None
        if image is not None:
            data = await read_attachment(self.bot, image, lang)
            name = image.filename
        else:
            last = await self.bot.job_service.last_result(interaction.user.id)
            if last is None:
                await reply(interaction, catalog.text("edit.no_last", lang))
                return
            data = await read_result_image(self.bot, last)
            if data is None:
                await reply(interaction, catalog.text("edit.source_gone", lang, job_id=last.id))
                return
            name, parent_job_id = f"job_{last.id}.png", last.id
        await submit(self.bot, interaction, workflow=workflow, prompt=prompt, input_image=data,
                     input_image_name=name, parent_job_id=parent_job_id)

    # ---------------------------------------------------------------- /cancel and /queue

    @app_commands.command(name=_("cancel"), description=_("Cancel your queued or running jobs"))
    @app_commands.rename(job_id=_("job_id"))
    @app_commands.describe(job_id=_("The job number (#)"))
    @app_commands.guild_only()
    async def cancel(self, interaction: discord.Interaction, job_id: int | None = None) -> None:
        await self.bot.run_guarded(interaction, self._cancel(interaction, job_id))

    async def _cancel(self, interaction: discord.Interaction, job_id: int | None) -> None:
        lang = interaction_lang(interaction)
        user_id = interaction.user.id
        mine = [job.id for job in self.bot.job_service.queued() if job.user_id == user_id]
        targets = [job_id] if job_id is not None else mine
        if not targets:
            await reply(interaction, self.bot.catalog.text("cancel.none", lang))
            return
        await interaction.response.defer(ephemeral=True)
        if job_id is not None and job_id not in mine:
            # Not waiting or running: say what became of it rather than "no longer exists".
            job = await self.bot.job_service.get(job_id)
            if job is None:
                await reply(interaction, self.bot.catalog.text("cancel.unknown", lang, job_id=job_id))
                return
            if job.user_id != user_id:
                await reply(interaction, self.bot.catalog.text("refusal.not_allowed", lang))
                return
            if job.state.is_final:
                await reply(interaction, self.bot.catalog.text(f"cancel.already_{job.state.value}", lang, job_id=job_id))
                return
        done = []
        for target in targets:
            try:
                await self.bot.job_service.cancel(target, by_user_id=user_id, is_admin=False)
                done.append(f"#{target}")
            except JobRefused as refused:
                await reply(interaction, refusal_text(self.bot, lang, refused))
                return
        await reply(interaction, self.bot.catalog.text("cancel.done", lang, ids=", ".join(done)))

    @app_commands.command(name=_("queue"), description=_("Your place in the queue and the wait"))
    @app_commands.guild_only()
    async def queue(self, interaction: discord.Interaction) -> None:
        await self.bot.run_guarded(interaction, self._queue(interaction))

    async def _queue(self, interaction: discord.Interaction) -> None:
        lang = interaction_lang(interaction)
        catalog, service = self.bot.catalog, self.bot.job_service
        snapshot = service.snapshot()          # one moment's queue: length, paused and health agree
        lines = []
        backends = snapshot.backends
        if backends and not any(b.healthy for b in backends):
            lines.append(catalog.text("queue.offline", lang))
        if self.bot.feedback.host_gpu.in_use:
            lines.append(catalog.text("queue.host_gpu", lang, back=self.bot.feedback.host_gpu_back_text(lang)))
        elif snapshot.paused:
            lines.append(catalog.text("queue.paused", lang))
        if not snapshot.waiting and not snapshot.in_comfy:
            lines.append(catalog.text("queue.empty", lang))
            await reply(interaction, "\n".join(lines))
            return
        lines.append(catalog.text("queue.summary", lang, length=snapshot.queue_length, running=snapshot.in_comfy))
        mine = [job for job in service.queued() if job.user_id == interaction.user.id]
        for job in mine:
            position = snapshot.position(job.id)
            if position is None:
                lines.append(catalog.text("queue.yours_running", lang, job_id=job.id))
            else:
                eta_s = service.eta_s(job.id)
                held = snapshot.paused or bool(backends) and not any(b.healthy for b in backends)
                eta = catalog.text("eta", lang, eta=format_duration(eta_s, lang)) if eta_s and not held else ""
                lines.append(catalog.text("queue.yours_waiting", lang, job_id=job.id, position=position, eta=eta))
        if not mine:
            lines.append(catalog.text("queue.none_yours", lang))
        await reply(interaction, "\n".join(lines))


async def setup(bot: BotContext) -> None:
    await bot.add_cog(ImageCommands(bot))

