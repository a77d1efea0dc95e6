"""JobService: the one API the bot and the GUI call to queue, watch and steer image jobs.

`submit` checks a request completely before anything is stored (workflow, prompt, text that
no database or screen should get, ids that fit the database, limits, the attached image by
content, the workflow's own parameter limits), then stores the job, and only then queues it and
answers. Everything after that is reported as events on the bus (see core/jobs.py). Refusals are
`JobRefused` with a RefusalCode, an English message and params; `submit` raises nothing else.

This service validates and answers; it never edits the queue itself. The engine and the one
queue (order, priorities, pause, positions, per-user counts) are core/scheduler.py and
core/queue.py; a job's states are core/lifecycle.py; the database side is core/jobstore.py.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from comfy.supervisor import ComfyStateChanged
from comfy.errors import ComfyError
from comfy.workflows import FillError, FloatRange, LoraSlot, Range, WorkflowError
from core.errors import ImageError, ImageTooLarge, JobRefused, StoreError, StoreUnavailable
from core.eta import EtaModel
from core.events import EventBus
from core.images import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, check_input_image
from core.jobs import Accepted, Job, JobRequest, Priority, QueuePausedChanged, QueueSnapshot, RefusalCode
from core.jobstore import JobStore, utcnow
from core.paths import AppPaths, write_file
from core.scheduler import Scheduler
from core.status import StoreHealthChanged
from core.tasks import TaskManager

log = logging.getLogger(__name__)

PAUSED_SETTING = "queue_paused"
# Input images of finished edits are kept for Reroll while the job is among the newest this many
# edits or this recent; older ones are deleted when the service starts.
INPUT_KEEP_JOBS = 200
INPUT_KEEP_DAYS = 7
LORA_LIST_KEEP_S = 60.0          # how long ComfyUI's LoRA list is reused before asking again
MAX_DB_INT = 2**63 - 1          # BIGINT columns (user, guild, channel ids)
TEXT_HARD_LIMIT = 4000          # no text field is ever longer, whatever the settings say
# Characters no prompt or name needs: NUL and other C0 controls (tab and newlines are fine),
# DEL, and the bidirectional overrides/isolates that make a text display as something else.
_FORBIDDEN = frozenset([chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\x7f"]
                       + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)])
DATABASE_DOWN = "The bot's database is unavailable, try again in a minute."


@dataclass(frozen=True)
class WorkflowLimits:
    """What a request to one workflow may ask for: the manifest's limits narrowed by the settings
    (MAX_BATCH_SIZE, MAX_PROMPT_LENGTH), so a value inside them is never refused for its size."""
    width: Range | None              # None: the workflow takes no size (edits keep the input's)
    height: Range | None
    batch_max: int                   # 1 when the workflow takes no batch size
    prompt_max_length: int
    steps: Range | None = None       # None: the workflow takes no step count
    cfg: FloatRange | None = None    # None: it takes no CFG (runs at cfg 1, where CFG has no effect)


@dataclass(frozen=True)
class WorkflowInfo:
    name: str
    display_name: str
    kind: str              # "imagine" | "edit"
    description: str = ""
    # The manifest's defaults for the inputs the workflow takes: width, height, batch_size, steps,
    # negative_prompt (each only when the manifest sets it); a request that leaves one out gets it.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    limits: WorkflowLimits = WorkflowLimits(None, None, 1, 4000)
    # The roles the manifest maps (prompt, negative_prompt, seed, steps...): what a request may set.
    inputs: frozenset[str] = frozenset()
    loras: tuple[LoraSlot, ...] = ()   # the LoRA loaders a request may set, in order (name and strength)


class JobService:
    def __init__(self, *, db, bus: EventBus, settings, workflows, backends, paths: AppPaths,
                 clock: Callable[[], datetime] | None = None, position_interval_s: float = 1.0,
                 failover_after_s: float = 30.0, probe_interval_s: float = 2.0, pipeline_depth: int = 2,
                 max_input_bytes: int = MAX_INPUT_BYTES, max_input_pixels: int = MAX_INPUT_PIXELS,
                 input_keep_jobs: int = INPUT_KEEP_JOBS, input_keep_days: float = INPUT_KEEP_DAYS,
                 store_timeout_s: float = 10.0, store_retry_max_s: float = 5.0) -> None:
        self._db = db
        self._bus = bus
        self._settings = settings
        self._workflow_set = workflows
        self._loras: tuple[float, list[str]] | None = None   # (when asked, ComfyUI's LoRA files)
        self._paths = paths
        self._clock = clock or utcnow
        self._max_input_bytes = max_input_bytes
        self._max_input_pixels = max_input_pixels
        self._input_keep_jobs = input_keep_jobs
        self._input_keep_days = input_keep_days
        self._store = JobStore(db, paths.data_dir, tasks=TaskManager("job store"), on_health=self._on_store_health,
                               timeout_s=store_timeout_s, retry_max_s=store_retry_max_s)
        self._eta = EtaModel()
        self._backends = backends
        self._scheduler_options = dict(depth=pipeline_depth, position_interval_s=position_interval_s,
                                       failover_after_s=failover_after_s, probe_interval_s=probe_interval_s)
        self._scheduler = self._new_scheduler()
        self._reserved: Counter[int] = Counter()    # submissions being checked, per user
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False

    # ---- lifecycle ---------------------------------------------------------------------------

    def _new_scheduler(self) -> Scheduler:
        return Scheduler(store=self._store, bus=self._bus, settings=self._settings, paths=self._paths,
                         workflows=lambda: self._workflow_set, backends=self._backends, eta=self._eta,
                         clock=self._clock, tasks=TaskManager("scheduler"), **self._scheduler_options)

    async def use_backends(self) -> None:
        """The pool's ComfyUI addresses changed while running: the queue starts over on them as after
        a restart. Jobs inside a ComfyUI still configured are found again by their prompt id; jobs
        sent to one no longer configured wait again in their place; nothing is lost."""
        started = self._started
        if started:
            await self.stop()
        self._scheduler = self._new_scheduler()
        if started:
            await self.start()

    def use_settings(self, settings) -> None:
        """Settings saved while running take effect for the next request: limits, priorities, batch
        size, prompt length, admin roles, export folder, attempts (ComfyUI URLs and the database need
        a restart)."""
        self._settings = settings
        self._scheduler.settings = settings

    async def start(self) -> None:
        """Load the queue from the database, find in-flight jobs again in ComfyUI, start dispatching."""
        if self._started:
            return
        paused = bool(await self._store.get_setting(PAUSED_SETTING, False))
        self._scheduler.set_paused(paused)
        await self._prune_inputs()
        await self._store.take_back_unanswered()
        for workflow, backend, seconds in await self._store.generation_times():
            self._eta.record(workflow, backend, seconds)
        loaded = await self._store.load_active()
        self._unsubscribe = self._bus.subscribe(ComfyStateChanged, self._on_comfy_state)
        await self._scheduler.start(loaded)
        self._started = True
        # A queue paused before the restart says so at once (windows built before start read False).
        self._bus.publish(QueuePausedChanged(paused))
        log.info("job queue started: %d waiting, %d in ComfyUI%s", len(self._scheduler.queue),
                 len(self._scheduler.in_flight()), " (paused)" if self.paused else "")

    async def stop(self) -> None:
        """Stop dispatching and following jobs; they stay in the database for the next start."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._scheduler.stop()
        await self._store.close()
        self._started = False

    def _on_store_health(self, ok: bool, reason: str) -> None:
        self._bus.publish(StoreHealthChanged(ok, reason))
        self._scheduler.changed()

    @property
    def store_ok(self) -> bool:
        """False while the database is unreachable (new requests are refused meanwhile)."""
        return self._store.ok

    async def _prune_inputs(self) -> None:
        """Delete input images no job needs any more: the job is finished, not among the newest
        `input_keep_jobs` edits and older than `input_keep_days` (or no job names the file at all,
        left by a crash between writing it and storing the job). Runs before anything is queued."""
        since = self._clock() - timedelta(days=self._input_keep_days)
        keep = await self._store.input_paths_in_use(newest=self._input_keep_jobs, since=since)
        names = {PurePosixPath(path).name for path in keep if PurePosixPath(path).parent == PurePosixPath("inputs")}
        try:
            removed = await asyncio.to_thread(_remove_files_except, self._paths.inputs_dir, names)
        except OSError as exc:
            log.warning("could not clean up old input images in %s: %s", self._paths.inputs_dir, exc)
            return
        if removed:
            log.info("deleted %d old input image(s)", removed)

    def _on_comfy_state(self, event: ComfyStateChanged) -> None:
        self._scheduler.supervisor_state(event.url, event.is_up, event.message)

    def set_workflows(self, workflows) -> None:
        """A reloaded WorkflowSet (the GUI's Workflows window); queued jobs run with the new templates."""
        self._workflow_set = workflows

    # ---- submit --------------------------------------------------------------------------------

    def _is_admin(self, request: JobRequest) -> bool:
        return request.is_admin or any(r in self._settings.admin_role_ids for r in request.role_ids)

    def priority_for(self, request: JobRequest) -> int:
        if self._is_admin(request):
            return int(Priority.ADMIN)
        mapped = [p for role, p in self._settings.role_priorities.items() if role in request.role_ids]
        return min(mapped) if mapped else int(Priority.USER)

    async def submit(self, request: JobRequest) -> Accepted:
        """Check, store, queue. Raises JobRefused, and nothing else, for a request we cannot take."""
        try:
            return await self._submit(request)
        except JobRefused:
            raise
        except StoreUnavailable as exc:
            raise JobRefused(RefusalCode.DATABASE_UNAVAILABLE, DATABASE_DOWN) from exc
        except StoreError as exc:
            log.warning("could not store a request of user %s: %s", request.user_id, exc)
            raise JobRefused(RefusalCode.BAD_PARAMETER, "This request could not be stored; change the prompt "
                             "and try again.") from exc
        except Exception as exc:
            log.exception("submit failed unexpectedly")
            raise JobRefused(RefusalCode.INTERNAL, "Something went wrong on the bot's side; the request was not "
                             "queued. Try again.") from exc

    async def _submit(self, request: JobRequest) -> Accepted:
        template = self._check_request(request)
        admin = self._is_admin(request)
        self._check_capacity(request.user_id, admin)
        if not self._store.ok:
            raise JobRefused(RefusalCode.DATABASE_UNAVAILABLE, DATABASE_DOWN)
        # Reserve the place now: checks below await, and other submissions run meanwhile.
        self._reserved[request.user_id] += 1
        written: Path | None = None
        try:
            image_png = None
            if request.input_image is not None:
                image_png = await self._check_image(request.input_image)
            seed = self._dry_fill(template, request)
            input_path = None
            if image_png is not None:
                relative = Path("inputs") / f"{uuid.uuid4().hex}.png"
                written = self._paths.data_dir / relative
                await asyncio.to_thread(write_file, written, image_png)
                input_path = relative.as_posix()
            stored_request = replace(request, input_image=None)   # the bytes live in the file
            job = await self._store.insert(stored_request, priority=self.priority_for(request), seed=seed,
                                           input_path=input_path, created_at=self._clock())
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)
            raise
        finally:
            self._reserved[request.user_id] -= 1
            if self._reserved[request.user_id] <= 0:
                del self._reserved[request.user_id]
        position = self._scheduler.add(job, input_path)
        return Accepted(job.snapshot(), position, self._scheduler.eta_s(job.id), paused=self.paused)

    def _check_request(self, request: JobRequest):
        _check_ids(request)
        _check_text("prompt", request.prompt)
        _check_text("negative prompt", request.negative_prompt)
        _check_text("user name", request.user_name)
        name = request.workflow
        template = self._workflow_set.get(name) if self._workflow_set is not None and isinstance(name, str) else None
        if template is None:
            raise JobRefused(RefusalCode.UNKNOWN_WORKFLOW, f"There is no workflow named {name!r}.", workflow=name)
        if not template.enabled:
            raise JobRefused(RefusalCode.WORKFLOW_DISABLED,
                             f"The workflow {template.display_name!r} is disabled.", workflow=name)
        prompt = request.prompt
        if template.prompt_required and not prompt.strip():
            raise JobRefused(RefusalCode.EMPTY_PROMPT, "The prompt is empty: describe what you want.")
        limit = min(self._settings.max_prompt_length, TEXT_HARD_LIMIT)
        for text in (prompt, request.negative_prompt or ""):
            if len(text) > limit:
                raise JobRefused(RefusalCode.PROMPT_TOO_LONG,
                                 f"The prompt is {len(text)} characters long; the limit is {limit}.",
                                 length=len(text), limit=limit)
        if template.takes_image and request.input_image is None:
            raise JobRefused(RefusalCode.IMAGE_REQUIRED,
                             f"{template.display_name} edits an image: attach one.", workflow=name)
        if not template.takes_image and request.input_image is not None:
            raise JobRefused(RefusalCode.WRONG_KIND,
                             f"{template.display_name} makes new images and takes no attached image; "
                             "use an edit workflow.", workflow=name, kind=template.kind)
        batch = request.batch_size
        if batch is not None and batch > self._settings.max_batch_size:
            raise JobRefused(RefusalCode.BAD_PARAMETER,
                             f"At most {self._settings.max_batch_size} images per request (asked for {batch}).",
                             batch_size=batch, limit=self._settings.max_batch_size)
        return template

    def _check_capacity(self, user_id: int, admin: bool) -> None:
        limit = self._settings.user_job_limit
        active = self._scheduler.queue.active(user_id) + self._reserved.get(user_id, 0)
        if not admin and active >= limit:
            raise JobRefused(RefusalCode.USER_LIMIT,
                             f"You already have {active} job(s) in the queue; the limit is {limit}. "
                             "Wait for one to finish.", active=active, limit=limit)
        cap = self._settings.queue_cap
        waiting = len(self._scheduler.queue) + sum(self._reserved.values())
        if waiting >= cap:
            raise JobRefused(RefusalCode.QUEUE_FULL,
                             f"The queue is full ({cap} jobs waiting); try again later.", cap=cap)

    async def _check_image(self, data: bytes) -> bytes:
        try:
            clean = await check_input_image(data, max_bytes=self._max_input_bytes, max_pixels=self._max_input_pixels)
        except ImageTooLarge as exc:
            raise JobRefused(RefusalCode.IMAGE_TOO_LARGE, str(exc), max_bytes=self._max_input_bytes,
                             max_pixels=self._max_input_pixels) from exc
        except ImageError as exc:
            raise JobRefused(RefusalCode.BAD_IMAGE, str(exc)) from exc
        return clean.data

    def _dry_fill(self, template, request: JobRequest) -> int | None:
        """Fill the template once now, so a bad size/seed/batch is refused before it is queued."""
        try:
            filled = template.fill(request.fill_params(seed=request.seed,
                                                       image="check.png" if template.takes_image else None))
        except WorkflowError as exc:
            problems = exc.problems if isinstance(exc, FillError) else [str(exc)]
            text = "; ".join(problems)
            raise JobRefused(RefusalCode.BAD_PARAMETER, text[:1].upper() + text[1:] + ".",
                             problems=list(problems), workflow=request.workflow) from exc
        return filled.seed

    # ---- steering ------------------------------------------------------------------------------

    def _job(self, job_id: int) -> Job:
        entry = self._scheduler.entries.get(job_id)
        if entry is None or entry.final:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} is not in the queue (finished or unknown).",
                             job_id=job_id)
        return entry.job

    def _need_store(self) -> None:
        if not self._store.ok:
            raise JobRefused(RefusalCode.DATABASE_UNAVAILABLE, DATABASE_DOWN)

    async def cancel(self, job_id: int, *, by_user_id: int | None = None, is_admin: bool = False) -> Job:
        job = self._job(job_id)
        if not is_admin and by_user_id is not None and by_user_id != job.user_id:
            raise JobRefused(RefusalCode.NOT_ALLOWED, f"Job #{job_id} belongs to someone else; only they or an "
                             "admin can cancel it.", job_id=job_id)
        self._need_store()
        cancelled = await self._scheduler.cancel(job_id, by_user_id)
        if cancelled is None:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} has already finished.", job_id=job_id)
        return cancelled

    def _check_waiting(self, job_id: int) -> None:
        self._job(job_id)
        if job_id not in self._scheduler.queue:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} is already in ComfyUI; it cannot be moved.",
                             job_id=job_id)
        self._need_store()

    async def move(self, job_id: int, steps: int) -> None:
        """-1: one place earlier, +1: one later; never past a job of another priority."""
        self._check_waiting(job_id)
        changed = self._scheduler.move(job_id, int(steps))
        if changed:
            await self._store.set_orders(changed)

    async def set_priority(self, job_id: int, priority: int) -> None:
        self._check_waiting(job_id)
        priority = int(priority)
        await self._store.update(job_id, priority=priority)
        self._scheduler.set_priority(job_id, priority)

    async def pause(self) -> None:
        await self._set_paused(True)

    async def resume(self) -> None:
        await self._set_paused(False)

    async def hold(self, held: bool) -> None:
        """The host's GPU mode (core/gpu_mode.py): pause or resume like an admin, but not stored,
        since on the next start the host's schedule and programs are looked at again."""
        await self._set_paused(held, store=False)

    async def _set_paused(self, paused: bool, store: bool = True) -> None:
        """Pause: nothing more is sent to ComfyUI, and what waits inside ComfyUI's queue (not the
        running job) comes back to ours, so ComfyUI is free once the running job ends. Stored, so
        a restart keeps it."""
        try:
            if store:
                await self._store.set_setting(PAUSED_SETTING, paused)
        except StoreError as exc:
            raise JobRefused(RefusalCode.DATABASE_UNAVAILABLE, DATABASE_DOWN) from exc
        changed = self._scheduler.paused != paused
        self._scheduler.set_paused(paused)
        if changed:
            self._bus.publish(QueuePausedChanged(paused))
        if paused and self._started:
            await self._scheduler.pull_back()

    @property
    def paused(self) -> bool:
        return self._scheduler.paused

    # ---- reading -------------------------------------------------------------------------------

    def queued(self) -> list[Job]:
        """Jobs inside ComfyUI (running first), then the waiting ones, in run order."""
        scheduler = self._scheduler
        jobs = [e.job.snapshot() for e in scheduler.in_flight()]
        jobs += [scheduler.entries[job_id].job.snapshot() for job_id in scheduler.run_order()]
        return jobs

    def snapshot(self) -> QueueSnapshot:
        """The queue now: the same thing the coalesced QueueSnapshot events carry."""
        return self._scheduler.snapshot()

    def position(self, job_id: int) -> int | None:
        """1 = next to leave for ComfyUI; None when not waiting with us."""
        return self._scheduler.position(job_id)

    def eta_s(self, job_id: int) -> float | None:
        return self._scheduler.eta_s(job_id)

    def active_count(self, user_id: int) -> int:
        return self._scheduler.queue.active(user_id)

    def queue_length(self) -> int:
        """Jobs waiting with us, not yet handed to ComfyUI (`QueueSnapshot.queue_length`)."""
        return len(self._scheduler.queue)

    async def get(self, job_id: int) -> Job | None:
        entry = self._scheduler.entries.get(job_id)
        if entry is not None:
            return entry.job.snapshot()
        return await self._store.get(job_id)

    async def recent(self, limit: int = 50) -> list[Job]:
        return await self._store.recent(limit)

    async def results_of(self, user_id: int, *, limit: int = 1, offset: int = 0) -> tuple[list[Job], int]:
        """The user's results whose images are still kept (the bot's /gallery), newest first, and how
        many there are."""
        return await self._store.results_of(user_id, limit, offset)

    async def last_result(self, user_id: int) -> Job | None:
        return await self._store.last_result(user_id)

    async def set_feedback_message(self, job_id: int, message_id: int) -> None:
        """Remember the bot's status message; `Job.feedback_message_id` carries it (also after a restart)."""
        await self._store.update(job_id, feedback_message_id=message_id)
        self._scheduler.note_feedback_message(job_id, message_id)

    # ---- the outbox ----------------------------------------------------------------------------

    async def undelivered(self, source: str | None = None) -> list[Job]:
        """Finished jobs whose user was not told yet, oldest first ("discord", "tray" or all).
        On start the bot and the tray deliver these once; `feedback_message_id` makes a second
        delivery of the same job an edit of the same message."""
        return await self._store.undelivered(source)

    async def mark_delivered(self, job_id: int) -> None:
        """The job's result or failure reached its user (the message is posted, the tray showed it).
        Retried until the database takes it; a job that is not finished is left alone."""
        now = self._clock()
        await self._store.retrying(lambda: self._store.mark_delivered(job_id, now), f"marking job {job_id} delivered")

    def workflows(self) -> list[WorkflowInfo]:
        if self._workflow_set is None:
            return []
        return [self._workflow_info(t) for t in self._workflow_set.enabled()]

    def _workflow_info(self, template) -> WorkflowInfo:
        manifest = template.manifest
        limits, takes = manifest.limits, manifest.inputs
        # Several images: one ComfyUI batch where the workflow has a batch size, else copies of its seeded part.
        several = "batch_size" in takes or template.makes_copies
        batch_max = min(limits.batch_size.max, self._settings.max_batch_size) if several else 1
        info_limits = WorkflowLimits(
            width=limits.width if "width" in takes else None,
            height=limits.height if "height" in takes else None,
            batch_max=max(1, batch_max),
            prompt_max_length=min(limits.prompt_max_length, self._settings.max_prompt_length),
            steps=limits.steps if "steps" in takes else None,
            cfg=limits.cfg if "cfg" in takes else None)
        defaults = {role: value for role, value in manifest.defaults.items() if role in takes}
        return WorkflowInfo(template.name, template.display_name, template.kind, manifest.description,
                            defaults, info_limits, frozenset(takes), tuple(manifest.loras))

    def image_seeds(self, job: Job) -> list[int]:
        """The seed each image of a finished job was made with (several where its images were
        made as copies, see `WorkflowTemplate.image_seeds`); [] when it had no seed."""
        if job.seed is None:
            return []
        template = self._workflow_set.get(job.request.workflow) if self._workflow_set is not None else None
        if template is None or "seed" not in template.manifest.inputs:
            return [job.seed]
        return template.image_seeds(job.request.batch_size, job.seed)

    async def lora_files(self) -> list[str]:
        """The LoRA files ComfyUI has (its LoraLoader's choices), from the first backend that
        answers; [] when none does. Kept for a minute: autocomplete asks on every key, and a LoRA
        copied into ComfyUI's folder shows up without a restart."""
        now = time.monotonic()
        if self._loras is not None and now - self._loras[0] < LORA_LIST_KEEP_S:
            return self._loras[1]
        for backend in self._scheduler.backends:
            for node in ("LoraLoaderModelOnly", "LoraLoader"):
                try:
                    info = await backend.client.node_info(node)
                except ComfyError:
                    break
                choices = ((info.get("input") or {}).get("required", {}).get("lora_name") or [[]])[0]
                if isinstance(choices, list) and choices:
                    self._loras = (now, [str(name) for name in choices])
                    return self._loras[1]
        return []

    async def input_image(self, job_id: int) -> bytes | None:
        """The checked PNG an edit job was given (for Reroll), or None: not an edit, unknown job, or
        the file was already cleaned up (see `_prune_inputs`)."""
        entry = self._scheduler.entries.get(job_id)
        relative = entry.input_path if entry is not None else await self._store.input_path(job_id)
        if not relative:
            return None
        return await asyncio.to_thread(_read_input, self._paths, relative)

    def backend_status(self) -> list[tuple[str, bool]]:
        """(url, up) per backend, for the GUI's status line."""
        return [(b.url, b.healthy) for b in self._scheduler.snapshot().backends]


def _check_text(field: str, text: object) -> None:
    """Text every database stores and every screen shows as written: a str, no NUL or control
    characters, no unpaired surrogates, no bidirectional overrides."""
    if text is None and field == "negative prompt":
        return
    if not isinstance(text, str):
        raise JobRefused(RefusalCode.BAD_TEXT, f"The {field} is not text.", field=field)
    if len(text) > TEXT_HARD_LIMIT * 4:
        raise JobRefused(RefusalCode.PROMPT_TOO_LONG, f"The {field} is {len(text)} characters long; the limit "
                         f"is {TEXT_HARD_LIMIT}.", length=len(text), limit=TEXT_HARD_LIMIT)
    if not _FORBIDDEN.isdisjoint(text) or any("\ud800" <= c <= "\udfff" for c in text):
        raise JobRefused(RefusalCode.BAD_TEXT, f"The {field} contains a control, broken or text-direction "
                         "character; remove it and try again.", field=field)


def _check_ids(request: JobRequest) -> None:
    values = {"user id": request.user_id, "server id": request.guild_id, "channel id": request.channel_id,
              "parent job id": request.parent_job_id}
    values.update({f"role id {i + 1}": role for i, role in enumerate(request.role_ids or ())})
    for name, value in values.items():
        if value is None and name != "user id":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DB_INT:
            raise JobRefused(RefusalCode.BAD_PARAMETER, f"The {name} {value!r} is not a valid id.", field=name)


def _remove_files_except(folder: Path, keep: set[str]) -> int:
    if not folder.is_dir():
        return 0
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and entry.name not in keep:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def _read_input(paths: AppPaths, relative: str) -> bytes | None:
    """The input image at `relative` (under the data folder), or None when it is gone. Resolving
    touches the disk too, so all of it runs in a thread."""
    path = (paths.data_dir / relative).resolve()
    if not path.is_relative_to(paths.inputs_dir.resolve()):     # only ever a file we wrote there
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


__all__ = ["JobService", "JobRefused", "WorkflowInfo", "WorkflowLimits"]
