"""JobService: the one API the bot and the GUI call to queue, watch and steer image jobs.

`submit` checks a request completely before anything is stored (workflow, prompt, limits, the
attached image by content, the workflow's own parameter limits), then stores the job, and only
then queues it and answers. Everything after that is reported as events on the bus (see
core/jobs.py). Refusals are `JobRefused` with a RefusalCode, an English message and params.

The engine behind it is core/scheduler.py; the waiting list is core/queue.py; the database
side is core/jobstore.py.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from comfy.supervisor import ComfyStateChanged
from comfy.workflows import FillError, FillParams, Range, WorkflowError
from core.errors import ImageError, ImageTooLarge, JobRefused
from core.eta import EtaModel
from core.events import EventBus
from core.images import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, check_input_image
from core.jobs import Accepted, Job, JobQueued, JobRequest, Priority, QueuePausedChanged, RefusalCode
from core.jobstore import JobStore, utcnow
from core.paths import AppPaths, write_file
from core.scheduler import Entry, Scheduler

log = logging.getLogger(__name__)

PAUSED_SETTING = "queue_paused"
# Input images of finished edits are kept for Reroll while the job is among the newest this many
# edits or this recent; older ones are deleted when the service starts.
INPUT_KEEP_JOBS = 200
INPUT_KEEP_DAYS = 7


@dataclass(frozen=True)
class WorkflowLimits:
    """What a request to one workflow may ask for: the manifest's limits narrowed by the settings
    (MAX_BATCH_SIZE, MAX_PROMPT_LENGTH), so a value inside them is never refused for its size."""
    width: Range | None              # None: the workflow takes no size (edits keep the input's)
    height: Range | None
    batch_max: int                   # 1 when the workflow takes no batch size
    prompt_max_length: int


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


class JobService:
    def __init__(self, *, db, bus: EventBus, settings, workflows, backends, paths: AppPaths,
                 clock: Callable[[], datetime] | None = None, position_interval_s: float = 1.0,
                 failover_after_s: float = 30.0, probe_interval_s: float = 2.0, pipeline_depth: int = 2,
                 max_input_bytes: int = MAX_INPUT_BYTES, max_input_pixels: int = MAX_INPUT_PIXELS,
                 input_keep_jobs: int = INPUT_KEEP_JOBS, input_keep_days: float = INPUT_KEEP_DAYS) -> None:
        self._db = db
        self._bus = bus
        self._settings = settings
        self._workflow_set = workflows
        self._paths = paths
        self._clock = clock or utcnow
        self._max_input_bytes = max_input_bytes
        self._max_input_pixels = max_input_pixels
        self._input_keep_jobs = input_keep_jobs
        self._input_keep_days = input_keep_days
        self._store = JobStore(db, paths.data_dir)
        self._eta = EtaModel()
        self._scheduler = Scheduler(
            store=self._store, bus=bus, settings=settings, paths=paths, workflows=lambda: self._workflow_set,
            backends=backends, eta=self._eta, clock=self._clock, depth=pipeline_depth,
            position_interval_s=position_interval_s, failover_after_s=failover_after_s,
            probe_interval_s=probe_interval_s)
        self._reserved: Counter[int] = Counter()    # submissions being checked, per user
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the queue from the database, find in-flight jobs again in ComfyUI, start dispatching."""
        if self._started:
            return
        self._scheduler.paused = bool(await self._store.get_setting(PAUSED_SETTING, False))
        await self._prune_inputs()
        for workflow, backend, seconds in await self._store.generation_times():
            self._eta.record(workflow, backend, seconds)
        loaded = await self._store.load_active()
        self._unsubscribe = self._bus.subscribe(ComfyStateChanged, self._on_comfy_state)
        await self._scheduler.start(loaded)
        self._started = True
        log.info("job queue started: %d waiting, %d in ComfyUI%s", len(self._scheduler.waiting),
                 len(self._scheduler.in_flight()), " (paused)" if self.paused else "")

    async def stop(self) -> None:
        """Stop dispatching and following jobs; they stay in the database for the next start."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._scheduler.stop()
        self._started = False

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
        """Check, store, queue. Raises JobRefused (and nothing else) for a request we cannot take."""
        template = self._check_request(request)
        admin = self._is_admin(request)
        self._check_capacity(request.user_id, admin)
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
        entry = Entry(job, job.id, input_path)
        position = self._scheduler.add(entry)
        eta = self._scheduler.eta_s(job.id)
        snapshot = job.snapshot()
        self._bus.publish(JobQueued(job.id, job.user_id, snapshot, position))
        self._scheduler.dispatch()
        return Accepted(snapshot, position, eta, paused=self.paused)

    def _check_request(self, request: JobRequest):
        name = request.workflow
        template = self._workflow_set.get(name) if self._workflow_set is not None else None
        if template is None:
            raise JobRefused(RefusalCode.UNKNOWN_WORKFLOW, f"There is no workflow named {name!r}.", workflow=name)
        if not template.enabled:
            raise JobRefused(RefusalCode.WORKFLOW_DISABLED,
                             f"The workflow {template.display_name!r} is disabled.", workflow=name)
        prompt = request.prompt if isinstance(request.prompt, str) else ""
        if template.prompt_required and not prompt.strip():
            raise JobRefused(RefusalCode.EMPTY_PROMPT, "The prompt is empty: describe what you want.")
        limit = self._settings.max_prompt_length
        if len(prompt) > limit:
            raise JobRefused(RefusalCode.PROMPT_TOO_LONG,
                             f"The prompt is {len(prompt)} characters long; the limit is {limit}.",
                             length=len(prompt), limit=limit)
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
        active = self._scheduler.user_active.get(user_id, 0) + self._reserved.get(user_id, 0)
        if not admin and active >= limit:
            raise JobRefused(RefusalCode.USER_LIMIT,
                             f"You already have {active} job(s) in the queue; the limit is {limit}. "
                             "Wait for one to finish.", active=active, limit=limit)
        cap = self._settings.queue_cap
        waiting = len(self._scheduler.waiting) + sum(self._reserved.values())
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
            filled = template.fill(FillParams(
                prompt=request.prompt, negative_prompt=request.negative_prompt or None, seed=request.seed,
                width=request.width, height=request.height, batch_size=request.batch_size,
                image="check.png" if template.takes_image else None))
        except WorkflowError as exc:
            problems = exc.problems if isinstance(exc, FillError) else [str(exc)]
            text = "; ".join(problems)
            raise JobRefused(RefusalCode.BAD_PARAMETER, text[:1].upper() + text[1:] + ".",
                             problems=list(problems), workflow=request.workflow) from exc
        return filled.seed

    # ---- steering ------------------------------------------------------------------------------

    def _entry(self, job_id: int) -> Entry:
        entry = self._scheduler.entries.get(job_id)
        if entry is None or entry.final:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} is not in the queue (finished or unknown).",
                             job_id=job_id)
        return entry

    async def cancel(self, job_id: int, *, by_user_id: int | None = None, is_admin: bool = False) -> Job:
        entry = self._entry(job_id)
        if not is_admin and by_user_id is not None and by_user_id != entry.job.user_id:
            raise JobRefused(RefusalCode.NOT_ALLOWED, f"Job #{job_id} belongs to someone else; only they or an "
                             "admin can cancel it.", job_id=job_id)
        if entry.completing:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} has already finished.", job_id=job_id)
        return await self._scheduler.cancel(entry, by_user_id)

    def _waiting_entry(self, job_id: int) -> Entry:
        entry = self._entry(job_id)
        if job_id not in self._scheduler.waiting:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job #{job_id} is already in ComfyUI; it cannot be moved.",
                             job_id=job_id)
        return entry

    async def move(self, job_id: int, steps: int) -> None:
        """-1: one place earlier, +1: one later; never past a job of another priority."""
        self._waiting_entry(job_id)
        changed = self._scheduler.waiting.move(job_id, int(steps))
        if not changed:
            return
        for changed_id, order in changed:
            self._scheduler.entries[changed_id].order = order
        await self._store.set_orders(changed)
        self._scheduler.positions_changed()

    async def set_priority(self, job_id: int, priority: int) -> None:
        entry = self._waiting_entry(job_id)
        priority = int(priority)
        await self._store.update(job_id, priority=priority)
        entry.job.priority = priority
        self._scheduler.waiting.set_priority(job_id, priority)
        self._scheduler.positions_changed()

    async def pause(self) -> None:
        await self._set_paused(True)

    async def resume(self) -> None:
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        """Pause: nothing more is sent to ComfyUI, and what waits inside ComfyUI's queue (not the
        running job) comes back to ours, so ComfyUI is free once the running job ends."""
        await self._store.set_setting(PAUSED_SETTING, paused)
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
        jobs += [scheduler.entries[job_id].job.snapshot() for job_id in scheduler.waiting]
        return jobs

    def position(self, job_id: int) -> int | None:
        return self._scheduler.waiting.position(job_id)

    def eta_s(self, job_id: int) -> float | None:
        return self._scheduler.eta_s(job_id)

    def active_count(self, user_id: int) -> int:
        return self._scheduler.user_active.get(user_id, 0)

    def queue_length(self) -> int:
        return len(self._scheduler.waiting)

    async def get(self, job_id: int) -> Job | None:
        entry = self._scheduler.entries.get(job_id)
        if entry is not None:
            return entry.job.snapshot()
        return await self._store.get(job_id)

    async def recent(self, limit: int = 50) -> list[Job]:
        return await self._store.recent(limit)

    async def last_result(self, user_id: int) -> Job | None:
        return await self._store.last_result(user_id)

    async def set_feedback_message(self, job_id: int, message_id: int) -> None:
        """Remember the bot's status message; `Job.feedback_message_id` carries it (also after a restart)."""
        await self._store.update(job_id, feedback_message_id=message_id)
        entry = self._scheduler.entries.get(job_id)
        if entry is not None:
            entry.job.feedback_message_id = message_id

    def workflows(self) -> list[WorkflowInfo]:
        if self._workflow_set is None:
            return []
        return [self._workflow_info(t) for t in self._workflow_set.enabled()]

    def _workflow_info(self, template) -> WorkflowInfo:
        manifest = template.manifest
        limits, takes = manifest.limits, manifest.inputs
        batch_max = min(limits.batch_size.max, self._settings.max_batch_size) if "batch_size" in takes else 1
        info_limits = WorkflowLimits(
            width=limits.width if "width" in takes else None,
            height=limits.height if "height" in takes else None,
            batch_max=max(1, batch_max),
            prompt_max_length=min(limits.prompt_max_length, self._settings.max_prompt_length))
        defaults = {role: value for role, value in manifest.defaults.items() if role in takes}
        return WorkflowInfo(template.name, template.display_name, template.kind, manifest.description,
                            defaults, info_limits)

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
        return [(b.url, b.up) for b in self._scheduler.backends]


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
