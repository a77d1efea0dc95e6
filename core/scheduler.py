"""The scheduler: hands waiting jobs to ComfyUI backends and follows each one to its end.

Per backend it keeps up to `depth` jobs inside ComfyUI (default 2: the one running and the next
one already pending), so when a job ends ComfyUI starts the next at once, without waiting for us.
One more job per backend is prepared beforehand (stored as submitted, image uploaded, graph
filled), so when a place in ComfyUI's queue frees up only its POST is left to do.
Completion, progress and previews are pushed by the client's websocket (`client.wait`, listeners).

Every state change goes through `transition` (the table is core/lifecycle.py): check the move,
write the store (retried with backoff while the database is away: the job stays where it was,
never dropped between states), update memory, then publish. A job's prompt_id is chosen here and
stored before the POST, so after a crash the job is found again in ComfyUI by that id
(`client.wait` on an unknown id looks it up in /queue, then /history), and a job is only
submitted again when ComfyUI has no trace of it; that does not count as an attempt, since
nothing says ComfyUI ever had it.

Pause stops dispatching and takes back what has not started: the prepared job, and the jobs
pending in ComfyUI's queue (deleted there; the running one finishes). They return to their place
in the waiting list with their prompt_id cleared, so a later dispatch posts them under a new id.

Which waiting job a backend takes is core/dispatch.py's choice: the one whose model it already
holds, within the fairness bound (MAX_BYPASS, MAX_EXTRA_WAIT_S), priorities first. Positions and
ETAs come from replaying that choice forward (`run_order`), counting model loads, so the order
users see is the order jobs run in.

Failures: WorkflowRejected and ExecutionFailed fail the job at once. Once ComfyUI says a job
succeeded it never runs again: its images are downloaded with retries, and if they cannot be,
it fails (output_unavailable). A lost prompt, an HTTP 5xx,
or a backend that stays down while another is up sends the job back to the front of the queue
(to another backend when there is one) until `max_attempts`. While a backend is down (websocket
closed, health checks failing, or the supervisor says ComfyUI is not up), nothing is sent to it:
jobs wait in the queue, held, not failed. A backend that comes back gets no new work until the
prompts it still holds for jobs that moved on (failed over, cancelled) are deleted there, so a
job never runs on two backends because the old one kept its copy pending.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from comfy import events as cev
from comfy.backends import Backend, BackendPool
from comfy.client import ComfyClient
from comfy.errors import (ComfyConnectionError, ComfyError, ComfyHTTPError, ComfyTimeoutError, ExecutionFailed,
                          PromptInterrupted, PromptLost, WorkflowRejected)
from comfy.workflows import WorkflowError
from core.dispatch import BackendView, Dispatcher, Fairness, Model, Planned, model_of, plan
from core.errors import ImageError
from core.gpu_mode import HostGpuChanged
from core.eta import EtaModel
from core.events import EventBus
from core.images import sanitize_output
from core.jobs import (BackendHealthChanged, BackendSnapshot, FailureCode, Job, JobCancelled, JobFailed, JobFinished,
                       JobPositionChanged, JobProgress, JobQueued, JobStarted, JobState, QueueSnapshot)
from core.jobstore import JobStore, LoadedJob, StoredImage
from core.lifecycle import Phase, check_move
from core.paths import AppPaths, write_file
from core.queue import RunQueue
from core.retention import comfy_upload_name
from core.tasks import TaskManager

log = logging.getLogger(__name__)

_TRANSIENT = (ComfyConnectionError, ComfyTimeoutError)
_IN_COMFY = (Phase.PREPARING, Phase.SENT, Phase.RUNNING)
FETCH_TRIES = 6               # downloads of a finished job's image before it fails (never re-run)


@dataclass(eq=False)
class Entry:
    """A job the scheduler is responsible for (waiting or inside ComfyUI)."""
    job: Job
    order: int
    input_path: str | None                  # relative to the data folder
    phase: Phase = Phase.WAITING
    backend: "BackendState | None" = None
    task: asyncio.Task | None = None
    avoid: set[str] = field(default_factory=set)   # backends that already lost this job
    holds_permit: bool = False              # has one of its backend's places in ComfyUI's queue
    recovered: bool = False                 # posted by an earlier run of the app
    start_task: asyncio.Task | None = None
    dispatched_at: float = 0.0
    progress: tuple[int, int] = (0, 0)
    copy_of: Mapping[str, int] | None = None   # node -> copy index, where its images are made as copies
    copies_started: list[int] = field(default_factory=list)   # copy indices in the order ComfyUI ran them
    copies_cached: set[int] = field(default_factory=set)       # copies ComfyUI had from an earlier run
    preview: bytes | None = None
    preview_mime: str | None = None
    attempts_at_dispatch: int = 0
    loads_model: bool = False               # dispatched to a backend that held another model
    pull_back: asyncio.Future | None = None  # paused: deleted from ComfyUI's queue, coming back to ours
    moving: asyncio.Lock = field(default_factory=asyncio.Lock)   # one state change at a time

    @property
    def final(self) -> bool:
        return self.phase is Phase.ENDED


class BackendState:
    """One ComfyUI as the scheduler sees it: its client, its health record (the pool's, the only
    one), and the jobs inside it."""

    def __init__(self, health: Backend) -> None:
        self.health = health
        self.client = health.client
        self.url: str = health.url
        self.slots: set[Entry] = set()        # jobs inside ComfyUI (running + pending) or being prepared
        self.running: Entry | None = None
        self.stale: set[str] = set()          # prompt ids to delete once it answers again
        self.announced: bool | None = None
        self.failover_task: asyncio.Task | None = None
        self.reconcile_task: asyncio.Task | None = None
        self.clean_task: asyncio.Task | None = None
        self.listener: Callable | None = None
        # POSTs leave in dispatch order (ComfyUI runs prompts in the order they arrive): the lock
        # is taken in dispatch order and held from preparing a job until it is posted.
        self.submit_lock = asyncio.Lock()
        self.permits: asyncio.Semaphore | None = None   # places in ComfyUI's queue (depth)

    @property
    def up(self) -> bool:
        return self.health.healthy

    @property
    def takes_work(self) -> bool:
        """Up, and holding no prompts of ours that must be deleted first (see `Scheduler._clean_stale`)."""
        return self.up and not self.stale

    def snapshot(self) -> BackendSnapshot:
        running = self.running.job.id if self.running is not None else None
        pending = tuple(e.job.id for e in sorted(self.slots, key=lambda e: e.dispatched_at)
                        if e is not self.running)
        return BackendSnapshot(self.url, self.up, self.health.reason, running, pending)


Backends = BackendPool | ComfyClient | list[ComfyClient]


class Scheduler:
    def __init__(self, *, store: JobStore, bus: EventBus, settings: Any, paths: AppPaths,
                 workflows: Callable[[], Any], backends: Backends, eta: EtaModel,
                 clock: Callable[[], datetime], depth: int = 2, position_interval_s: float = 1.0,
                 failover_after_s: float = 30.0, probe_interval_s: float = 2.0,
                 tasks: TaskManager | None = None) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.paths = paths
        self._workflows = workflows
        self.eta = eta
        self.clock = clock
        self.depth = max(1, depth)
        self.position_interval_s = position_interval_s
        self.failover_after_s = failover_after_s
        self.probe_interval_s = probe_interval_s
        self.tasks = tasks or TaskManager("scheduler")
        # One health record per backend, in a pool: the app's (main.py runs its poller), or ours
        # around the clients we were given (then we run its poller).
        self._own_pool = not isinstance(backends, BackendPool)
        if isinstance(backends, BackendPool):
            self.pool = backends
        else:
            clients = [backends] if isinstance(backends, ComfyClient) else list(backends)
            self.pool = BackendPool.of_clients(clients, recheck_interval_s=probe_interval_s)
        self.backends = [BackendState(health) for health in self.pool.backends]
        for backend in self.backends:
            backend.permits = asyncio.Semaphore(self.depth)
        self._by_url = {b.url: b for b in self.backends}
        self.queue = RunQueue()
        self.entries: dict[int, Entry] = {}
        self.by_prompt: dict[str, Entry] = {}
        self._avoiding: set[int] = set()
        self._published_position: dict[int, int] = {}
        self._changed = asyncio.Event()         # positions or the snapshot need publishing
        self._snapshot_dirty = False
        self._running = False
        self.upload_limit_bytes = int(float(settings.upload_limit_mb) * 1024 * 1024)
        self.dispatcher = Dispatcher(getattr(settings, "fairness", None) or Fairness())
        self._models: dict[str, tuple[Any, Model]] = {}      # workflow -> (its template, the model it loads)
        self._plan: tuple[list[int], dict[int, tuple[int, Planned | None]]] | None = None   # until something changes
        self._published_in_line_order: bool | None = None
        self._unsubscribe_host_gpu: Callable[[], None] | None = None

    # ---- start and stop ------------------------------------------------------------------------

    async def start(self, loaded: list[LoadedJob]) -> None:
        """Take over the jobs loaded from the database, then start dispatching."""
        self.tasks = TaskManager(self.tasks.owner)      # a fresh one: stop() closed the last
        for backend in self.backends:
            backend.listener = self._listener_for(backend)
            backend.client.add_listener(backend.listener)
        self.pool.add_listener(self._on_pool_health)
        self._unsubscribe_host_gpu = self.bus.subscribe(HostGpuChanged, self._on_host_gpu)
        resume: list[Entry] = []
        for item in loaded:
            entry = Entry(item.job, item.order, item.input_path)
            self.entries[entry.job.id] = entry
            if entry.job.state == JobState.QUEUED or not entry.job.prompt_id:
                entry.job.state = JobState.QUEUED    # a SUBMITTED row without a prompt_id never reached ComfyUI
                self.queue.join(entry.job.id, entry.job.user_id, entry.job.priority, entry.order)
                self._line_up(entry)
            else:
                self.queue.count_in(entry.job.user_id)
                resume.append(entry)
        self._running = True
        if self._own_pool:
            await self.pool.start()
        for backend in self.backends:
            await backend.client.connect(wait=False)
        for entry in resume:
            backend = self._by_url.get((entry.job.backend or "").rstrip("/"))
            if backend is None:      # that backend is no longer configured: ComfyUI there is out of reach
                await self.transition(entry, JobState.QUEUED, prompt_id=None)
                self._wait_again(entry)
                continue
            entry.recovered = True
            model = self._model_of(entry.job.workflow)
            if model:                 # what it will hold once the jobs it still has are done
                self.dispatcher.backend(backend.url).loaded = model
            entry.phase = Phase.RUNNING if entry.job.state == JobState.RUNNING else Phase.SENT
            entry.attempts_at_dispatch = max(0, entry.job.attempts - 1)
            self._occupy(entry, backend)
            self.by_prompt[entry.job.prompt_id] = entry
            entry.task = self.tasks.spawn(self._drive(entry, resume=True), name=f"job {entry.job.id}")
        self.tasks.spawn(self._publish_loop(), name="queue positions and snapshot")
        self.changed()
        self.dispatch()

    async def stop(self) -> None:
        """Stop dispatching and following jobs. The database keeps them for the next start."""
        self._running = False
        for backend in self.backends:
            if backend.listener is not None:
                backend.client.remove_listener(backend.listener)
        self.pool.remove_listener(self._on_pool_health)
        if self._own_pool:
            await self.pool.stop()
        if self._unsubscribe_host_gpu is not None:
            self._unsubscribe_host_gpu()
            self._unsubscribe_host_gpu = None
        await self.tasks.close()

    def _spawn(self, coro, name: str) -> asyncio.Task:
        return self.tasks.spawn(coro, name=name)

    # ---- the one way a job's state changes ------------------------------------------------------

    async def transition(self, entry: Entry, new: JobState, *, write: Callable[[], Awaitable[Any]] | None = None,
                         event: Callable[[Job], Any] | None = None, memory: dict[str, Any] | None = None,
                         **fields: Any) -> bool:
        """Move the job to `new`: check the move (core/lifecycle.py), write the store (retried
        until the database takes it; until then the job stays where it was), update memory, then
        publish `event(job snapshot)`. `fields` are stored and set on the job; `memory` only set
        (not columns); `write` replaces the plain UPDATE (DONE stores its images with it).
        Returns False when the job had already ended meanwhile (a cancel and a finish racing)."""
        job = entry.job
        async with entry.moving:
            if job.state.is_final:
                return False
            check_move(job.id, job.state, new)
            values = {"state": new, **fields}
            await self.store.retrying(write or (lambda: self.store.update(job.id, **values)),
                                      f"storing job {job.id} as {new.value}")
            for name, value in {**values, **(memory or {})}.items():
                setattr(job, name, value)
            if new.is_final:
                entry.phase = Phase.ENDED
                self._forget(entry)
            if event is not None:
                self.bus.publish(event(job.snapshot()))
            self.changed()
        return True

    # ---- queue bookkeeping ---------------------------------------------------------------------

    def add(self, job: Job, input_path: str | None) -> int:
        """A newly stored job joins the waiting list (JobQueued is published); returns its position."""
        entry = Entry(job, job.id, input_path)
        self.entries[job.id] = entry
        self.queue.join(job.id, job.user_id, job.priority, entry.order)
        self._line_up(entry)
        self.changed()
        position = self.position(job.id)
        self._published_position[job.id] = position
        self.bus.publish(JobQueued(job.id, job.user_id, job.snapshot(), position))
        self.dispatch()
        return position

    def _wait_again(self, entry: Entry) -> None:
        """Back to its place in the waiting list (memory only: the store already says QUEUED)."""
        entry.phase = Phase.WAITING
        entry.backend = None
        entry.recovered = False
        self.queue.wait_again(entry.job.id, entry.job.priority, entry.order)
        self._line_up(entry)
        self.changed()
        self.dispatch()

    def _line_up(self, entry: Entry) -> None:
        """The dispatcher learns of a job in the waiting line, and the model it loads."""
        job = entry.job
        self.dispatcher.wait(job.id, job.priority, self._model_of(job.workflow), job.workflow)

    def _model_of(self, workflow: str) -> Model:
        template = self._workflows().get(workflow)
        known = self._models.get(workflow)
        if known is None or known[0] is not template:
            model = model_of(template.graph_with_models()) if template is not None else frozenset()
            known = self._models[workflow] = (template, model)
        return known[1]

    def _forget(self, entry: Entry) -> None:
        job_id = entry.job.id
        self.entries.pop(job_id, None)
        self.queue.leave(job_id, entry.job.user_id)
        self.dispatcher.leave(job_id)
        self._published_position.pop(job_id, None)
        self._avoiding.discard(job_id)
        self._drop_prompt(entry)
        self._release(entry)
        self.changed()

    def _drop_prompt(self, entry: Entry) -> None:
        """Stop routing ComfyUI events for the entry's current prompt id to it."""
        prompt_id = entry.job.prompt_id
        if prompt_id and self.by_prompt.get(prompt_id) is entry:
            del self.by_prompt[prompt_id]

    def _occupy(self, entry: Entry, backend: BackendState) -> None:
        entry.backend = backend
        entry.dispatched_at = time.monotonic()
        backend.slots.add(entry)

    def _release(self, entry: Entry) -> None:
        backend = entry.backend
        if backend is not None and entry.holds_permit:
            entry.holds_permit = False
            backend.permits.release()
        if backend is not None and entry in backend.slots:
            backend.slots.discard(entry)
            if backend.running is entry:
                backend.running = None
            self.changed()
            self.dispatch()

    def move(self, job_id: int, steps: int) -> list[tuple[int, int]]:
        """A waiting job `steps` places (negative: earlier) within its priority; returns the
        (job_id, order) pairs to store."""
        changed = self.queue.move(job_id, steps)
        for changed_id, order in changed:
            self.entries[changed_id].order = order
        if changed:
            self.changed()
        return changed

    def note_feedback_message(self, job_id: int, message_id: int) -> None:
        """The bot's status message id, already stored: the job in memory carries it too."""
        entry = self.entries.get(job_id)
        if entry is not None:
            entry.job.feedback_message_id = message_id

    def set_priority(self, job_id: int, priority: int) -> None:
        self.entries[job_id].job.priority = priority
        self.queue.set_priority(job_id, priority)
        self._line_up(self.entries[job_id])
        self.changed()

    # ---- dispatching ---------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Fill every healthy backend up to `depth` jobs from the head of the queue. Never waits."""
        if not self._running:
            return
        while not self.queue.paused and len(self.queue):
            free = [b for b in self.backends if b.takes_work and len(b.slots) < self.depth + 1]
            if not free:
                return
            backend = min(free, key=lambda b: len(b.slots))
            held = self.dispatcher.backend(backend.url).loaded
            job_id = self._next_for(backend)
            if job_id is None:
                return
            entry = self.entries[job_id]
            model = self._model_of(entry.job.workflow)
            entry.loads_model = bool(model) and model != held
            entry.phase = Phase.PREPARING
            entry.attempts_at_dispatch = entry.job.attempts
            self._occupy(entry, backend)
            self.changed()
            entry.task = self._spawn(self._drive(entry, resume=False), f"job {job_id}")

    def _next_for(self, backend: BackendState) -> int | None:
        """The waiting job `backend` takes now (core/dispatch.py), out of the waiting line."""
        skip = self._skip_for(backend) if self._avoiding else frozenset()
        others = [b.url for b in self.backends if b is not backend and b.takes_work]
        job_id = self.dispatcher.pick(backend.url, self.queue, others, time.monotonic(), skip)
        if job_id is not None:
            self.queue.take(job_id)
        return job_id

    def _skip_for(self, backend: BackendState) -> set[int]:
        """Jobs that already failed on `backend` wait for another healthy one, if there is one."""
        skip = set()
        for job_id in self._avoiding:
            avoid = self.entries[job_id].avoid
            if backend.url in avoid and any(b.up and b.url not in avoid for b in self.backends):
                skip.add(job_id)
        return skip

    def set_paused(self, paused: bool) -> None:
        self.queue.paused = paused
        self.changed()
        self.dispatch()

    @property
    def paused(self) -> bool:
        return self.queue.paused

    async def pull_back(self, timeout: float = 5.0) -> None:
        """Paused: what has not started in ComfyUI comes back to the waiting list, at its place.

        The prepared job (stored as submitted, not posted) stops where it is. The jobs pending in
        ComfyUI's queue are deleted there; each one's `wait` then ends in PromptLost and `_drive`
        puts it back (a job that started meanwhile simply finishes). Returns once they are back,
        or after `timeout` seconds.
        """
        waits: list[asyncio.Future] = []
        for backend in self.backends:
            for entry in [e for e in backend.slots if e.phase is Phase.PREPARING and not e.holds_permit]:
                await self._unprepare(entry)
            if not backend.up:
                continue                  # cannot delete there now; failover deals with its jobs
            async with backend.submit_lock:      # a POST on its way is answered first
                pending = [e for e in backend.slots if e is not backend.running and e.phase is Phase.SENT
                           and e.job.state == JobState.SUBMITTED and e.job.prompt_id and e.pull_back is None]
                if not pending:
                    continue
                loop = asyncio.get_running_loop()
                for entry in pending:
                    entry.pull_back = loop.create_future()
                try:
                    await backend.client.delete_pending([e.job.prompt_id for e in pending])
                except ComfyError as exc:
                    log.info("could not take pending jobs back from %s: %s", backend.url, exc)
                    for entry in pending:
                        self._settle_pull_back(entry, clear=True)
                    continue
                waits += [e.pull_back for e in pending]
        if waits:
            await asyncio.wait(waits, timeout=timeout)

    async def _unprepare(self, entry: Entry) -> None:
        """A job prepared for ComfyUI but not posted goes back to waiting (nothing reached ComfyUI)."""
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()
            await asyncio.gather(entry.task, return_exceptions=True)
        if entry.phase is not Phase.PREPARING or entry.holds_permit:
            return
        entry.job.attempts = entry.attempts_at_dispatch
        await self._requeue(entry)

    @staticmethod
    def _settle_pull_back(entry: Entry, *, clear: bool = False) -> None:
        if entry.pull_back is not None and not entry.pull_back.done():
            entry.pull_back.set_result(None)
        if clear:
            entry.pull_back = None

    # ---- one job, start to end --------------------------------------------------------------

    async def _drive(self, entry: Entry, *, resume: bool) -> None:
        backend = entry.backend
        job = entry.job
        try:
            if resume:
                await self._take_permit(entry, backend)
            else:
                async with backend.submit_lock:
                    await self._submit(entry, backend)
            result = await backend.client.wait(job.prompt_id)
            entry.phase = Phase.FETCHING
            self._release(entry)           # out of ComfyUI's queue: let the next job in now
            await self._complete(entry, backend, result)
        except asyncio.CancelledError:
            raise
        except WorkflowRejected as exc:
            await self._fail(entry, FailureCode.WORKFLOW_REJECTED, f"ComfyUI refused the workflow: {exc}")
        except ExecutionFailed as exc:
            await self._fail(entry, FailureCode.COMFY_ERROR, f"ComfyUI failed while generating: {exc}")
        except PromptInterrupted:
            if entry.phase is not Phase.CANCELLING:
                await self._fail(entry, FailureCode.INTERRUPTED, "The job was stopped in ComfyUI (interrupted).")
        except PromptLost as exc:
            if entry.pull_back is not None and entry.phase is not Phase.CANCELLING:   # we deleted it: paused
                log.info("job %s taken back from %s (queue paused)", job.id, backend.url)
                job.attempts = entry.attempts_at_dispatch
                await self._requeue(entry)
            elif entry.recovered:
                # Stored as sent by an earlier run that may have died before its POST: nothing
                # says ComfyUI ever had it, so this attempt does not count and blames nobody.
                await self._retry(entry, "not in ComfyUI after a restart", count=False)
            else:
                await self._retry(entry, str(exc))
        except ComfyHTTPError as exc:
            await self._retry(entry, str(exc))
        except _TRANSIENT as exc:
            self._unreachable(backend, str(exc))
            # The request never got an answer: the job did not reach this ComfyUI, or we will
            # delete it there when it answers again. Either way this attempt does not count.
            if job.prompt_id:
                self._mark_stale(backend, job.prompt_id)
            await self._retry(entry, str(exc), count=False)
        except _Refused as exc:
            await self._fail(entry, exc.code, str(exc))
        except ComfyError as exc:
            await self._retry(entry, str(exc))
        except ImageError as exc:
            await self._fail(entry, FailureCode.BAD_OUTPUT, str(exc))
        except Exception as exc:  # a bug must not leave the job hanging
            log.exception("job %s failed unexpectedly", job.id)
            await self._fail(entry, FailureCode.INTERNAL, f"Internal error: {type(exc).__name__}")
        finally:
            self._release(entry)
            self._settle_pull_back(entry, clear=True)

    async def _submit(self, entry: Entry, backend: BackendState) -> None:
        job = entry.job
        template = self._workflows().get(job.workflow)
        if template is None:
            raise _Refused(FailureCode.WORKFLOW_MISSING, f"The workflow {job.workflow!r} is no longer installed.")
        prompt_id = str(uuid.uuid4())
        self._drop_prompt(entry)
        entry.copies_started, entry.copies_cached = [], set()     # a new prompt: its copies start afresh
        # Stored before the POST: after a crash the job is looked up by this id, never re-run blindly.
        # Position 0 ("sent to ComfyUI") is published only once that is stored.
        self._published_position[job.id] = 0
        await self.transition(
            entry, JobState.SUBMITTED, prompt_id=prompt_id, backend=backend.url, attempts=job.attempts + 1,
            event=lambda j: JobPositionChanged(j.id, j.user_id, 0, len(self.queue), self.eta_s(j.id)))
        self.by_prompt[prompt_id] = entry
        image_name = None
        if entry.input_path:
            data = await asyncio.to_thread((self.paths.data_dir / entry.input_path).read_bytes)
            subfolder, name = comfy_upload_name(job.id)    # core.retention removes it when the job ends
            uploaded = await backend.client.upload_image(data, name, subfolder=subfolder, overwrite=True)
            image_name = uploaded.load_image_value
        request = job.request
        try:
            filled = template.fill(request.fill_params(seed=job.seed, image=image_name))
        except WorkflowError as exc:
            raise _Refused(FailureCode.BAD_PARAMETER, str(exc)) from exc
        await self._take_permit(entry, backend)        # prepared: wait for a place in ComfyUI's queue
        await backend.client.submit(filled.graph, prompt_id=prompt_id)
        if entry.phase is Phase.PREPARING:
            entry.phase = Phase.SENT

    async def _take_permit(self, entry: Entry, backend: BackendState) -> None:
        await backend.permits.acquire()
        entry.holds_permit = True

    async def _complete(self, entry: Entry, backend: BackendState, result: Any) -> None:
        job = entry.job
        if entry.start_task is not None:
            await asyncio.shield(entry.start_task)    # RUNNING is stored before DONE
        # Saved outputs and SaveImageWebsocket's images; PreviewImage's temp files only when there is nothing else.
        refs = [r for r in result.images if r.type == "output"]
        if not refs and not result.image_data:
            refs = list(result.images)
        copy_of = self._copy_of(entry)

        def in_copy_order(image: Any) -> int:      # image i is copy i's (seed + i)
            return copy_of.get(image.node, 0)
        refs.sort(key=in_copy_order)
        folder = Path("images") / job.created_at.strftime("%Y-%m")
        # Saved images are fetched with /view; SaveImageWebsocket's came with the result itself.
        # A batch's images are fetched, cleaned and written side by side: the user waits for the slowest only.
        try:
            blobs = list(await asyncio.gather(*(self._fetch(backend, ref) for ref in refs)))
        except ComfyError as exc:
            await self._fail(entry, FailureCode.OUTPUT_UNAVAILABLE,
                             f"The image was made but could not be downloaded from ComfyUI: {exc}")
            return
        blobs += [image.data for image in sorted(result.image_data, key=in_copy_order)]

        async def keep(index: int, data: bytes) -> StoredImage:
            clean = await sanitize_output(data, limit_bytes=self.upload_limit_bytes)
            relative = folder / f"job{job.id}_{index}{clean.extension}"
            await self._write_image(self.paths.data_dir / relative, clean.data)
            return StoredImage(relative.as_posix(), clean.width, clean.height, len(clean.data))
        images = list(await asyncio.gather(*(keep(index, data) for index, data in enumerate(blobs))))
        now = self.clock()
        started = job.started_at or now
        fields = dict(finished_at=now, started_at=started, error_code=None, error_text=None)
        outputs = [self.paths.data_dir / image.path for image in images]
        ended = await self.transition(
            entry, JobState.DONE, memory={"outputs": outputs},
            write=lambda: self.store.finish(job.id, images, state=JobState.DONE, **fields),
            event=lambda j: JobFinished(j.id, j.user_id, j, tuple(j.outputs), j.queue_wait_s or 0.0,
                                        j.generation_s or 0.0, j.seed, backend.url),
            **fields)
        if not ended:
            return
        runs = self._copies(job) - len(entry.copies_cached)     # the copies ComfyUI really ran
        if not entry.recovered and runs > 0 and not (entry.loads_model and runs > 1):   # (no clean figure then)
            self.eta.record(job.workflow, backend.url, (job.generation_s or 0.0) / runs, loaded=entry.loads_model)
        if self.settings.export_path:
            self._spawn(asyncio.to_thread(_export, list(outputs), Path(self.settings.export_path).expanduser()),
                        f"export {job.id}")

    async def _write_image(self, path: Path, data: bytes) -> None:
        """A full or failing disk holds the job (retried with backoff) rather than failing a job that ran."""
        delay = self.store.retry_min_s
        while True:
            try:
                await asyncio.to_thread(write_file, path, data)
                return
            except OSError as exc:
                log.warning("could not write %s (%s); trying again in %.1f s", path, exc, delay)
            await asyncio.sleep(delay)
            delay = min(self.store.retry_max_s, delay * 2)

    async def _fetch(self, backend: BackendState, ref: Any) -> bytes:
        """The job already ran: a failed download is retried (with growing pauses), never answered
        by running it again."""
        for attempt in range(FETCH_TRIES):
            try:
                return await backend.client.view(ref)
            except _TRANSIENT + (ComfyHTTPError,):
                if attempt == FETCH_TRIES - 1:
                    raise
                await asyncio.sleep(self.probe_interval_s * 2 ** attempt)
        raise AssertionError("unreachable")

    async def _retry(self, entry: Entry, reason: str, *, count: bool = True) -> None:
        """Back to its place in the queue (another backend preferred), or failed when out of attempts."""
        job = entry.job
        if entry.phase in (Phase.ENDED, Phase.CANCELLING):
            return
        if not count:
            job.attempts = entry.attempts_at_dispatch
        if job.attempts >= self.settings.max_attempts:
            await self._fail(entry, FailureCode.RETRIES_EXHAUSTED,
                             f"ComfyUI lost or failed this job {job.attempts} times; giving up. Last error: {reason}")
            return
        log.warning("job %s goes back to the queue: %s", job.id, reason)
        if job.backend and len(self.backends) > 1 and count:
            entry.avoid.add(job.backend)
            self._avoiding.add(job.id)
        await self._requeue(entry)

    async def _requeue(self, entry: Entry) -> None:
        """Back to its place in the waiting list; the prompt_id is cleared (a new one on the next post)."""
        job = entry.job
        self._drop_prompt(entry)
        self._release(entry)
        try:
            if job.state != JobState.QUEUED:        # prepared but not yet stored as sent: nothing to write
                if not await self.transition(entry, JobState.QUEUED, prompt_id=None, attempts=job.attempts):
                    return
            if entry.phase in (Phase.ENDED, Phase.CANCELLING):   # cancelled while the write was on its way
                return
            self._wait_again(entry)
        finally:
            self._settle_pull_back(entry, clear=True)

    async def _fail(self, entry: Entry, code: FailureCode, text: str) -> None:
        if entry.phase is Phase.ENDED:
            return
        now = self.clock()
        text = _printable(text)
        await self.transition(entry, JobState.FAILED, finished_at=now, error_code=code.value, error_text=text,
                              event=lambda j: JobFailed(j.id, j.user_id, j, code, text))

    async def cancel(self, job_id: int, by_user_id: int | None) -> Job | None:
        """Out of our queue, out of ComfyUI's queue, or interrupted while running. None when the job
        is no longer cancellable (finished, or its images are being stored)."""
        entry = self.entries.get(job_id)
        if entry is None or not entry.phase.cancellable:
            return None
        job = entry.job
        entry.phase = Phase.CANCELLING
        self.queue.take(job_id)                 # out of the waiting line at once (it may wait for the write)
        backend = entry.backend
        for task in (entry.task, entry.start_task):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if backend is not None and job.prompt_id and job.state in (JobState.SUBMITTED, JobState.RUNNING):
            # delete first (pending), then interrupt (running): whichever it is, it stops.
            try:
                await backend.client.delete_pending([job.prompt_id])
                await backend.client.interrupt(job.prompt_id)
            except ComfyError as exc:
                log.info("could not remove job %s from %s now (%s); will retry", job.id, backend.url, exc)
                self._mark_stale(backend, job.prompt_id)
        await self.transition(entry, JobState.CANCELLED, finished_at=self.clock(),
                              event=lambda j: JobCancelled(j.id, j.user_id, j, by_user_id))
        return job.snapshot()

    # ---- events from ComfyUI ------------------------------------------------------------------

    def _listener_for(self, backend: BackendState) -> Callable[[Any], None]:
        def on_event(event: Any) -> None:
            if isinstance(event, (cev.PromptProgress, cev.PreviewImage)):
                self._on_progress(backend, event)
            elif isinstance(event, cev.PromptStarted):
                entry = self.by_prompt.get(event.prompt_id)
                if entry is not None and entry.backend is backend and entry.phase in (Phase.PREPARING, Phase.SENT):
                    entry.phase = Phase.RUNNING
                    backend.running = entry
                    self._settle_pull_back(entry, clear=True)   # too late to take it back: it runs
                    self.changed()
                    entry.start_task = self._spawn(self._mark_running(entry), f"job {entry.job.id} started")
            elif isinstance(event, cev.PromptCached):
                entry = self.by_prompt.get(event.prompt_id)
                if entry is not None and entry.backend is backend:
                    self._copies_cached(entry, event.nodes)
            elif isinstance(event, cev.QueueStatus):
                if any(e.recovered for e in backend.slots):
                    self._reconcile_soon(backend)
            elif isinstance(event, cev.SocketConnected):   # (its health: the pool's record hears it too)
                if not backend.slots:         # ComfyUI may have restarted: its memory is empty then
                    self.dispatcher.forget_models(backend.url)
        return on_event

    def _on_progress(self, backend: BackendState, event: Any) -> None:
        entry = self.by_prompt.get(event.prompt_id) if event.prompt_id else backend.running
        if entry is None or entry.phase not in _IN_COMFY or entry.backend is not backend:
            return
        if isinstance(event, cev.PromptProgress):
            # Copies run one after another, in no fixed order: a copy's steps count after those
            # of the copies that started before it.
            copies = self._copies(entry.job)
            if copies > 1:
                copy = self._copy_of(entry).get(str(event.node), 0)
                if copy not in entry.copies_started:
                    entry.copies_started.append(copy)
                before = entry.copies_started.index(copy)
                entry.progress = (before * event.max + event.value, copies * event.max)
            else:
                entry.progress = (event.value, event.max)
        else:
            entry.preview, entry.preview_mime = event.image, event.mime
        value, maximum = entry.progress
        self.bus.publish(JobProgress(entry.job.id, entry.job.user_id, value, maximum, entry.preview,
                                     entry.preview_mime))

    def _copies_cached(self, entry: Entry, nodes: list[str]) -> None:
        """Copies whose nodes ComfyUI kept from an earlier run (a Retry with the same seed) are
        done before the rest start: they count as the first copies in the progress."""
        if self._copies(entry.job) == 1:
            return
        copy_of, cached = self._copy_of(entry), set(map(str, nodes))
        for copy in sorted({copy_of[node] for node in cached if node in copy_of}):
            if all(node in cached for node, index in copy_of.items() if index == copy):
                entry.copies_cached.add(copy)
                if copy not in entry.copies_started:
                    entry.copies_started.append(copy)

    async def _mark_running(self, entry: Entry) -> None:
        if entry.job.state != JobState.SUBMITTED:
            return
        backend_url = entry.backend.url if entry.backend else ""
        await self.transition(entry, JobState.RUNNING, started_at=self.clock(),
                              event=lambda j: JobStarted(j.id, j.user_id, j, backend_url))

    def _reconcile_soon(self, backend: BackendState) -> None:
        """Prompts posted by an earlier run get no events of ours: ask /queue and /history when the queue moves."""
        if backend.reconcile_task is not None and not backend.reconcile_task.done():
            return

        async def run() -> None:
            try:
                await backend.client.reconcile()
            except ComfyError as exc:
                log.debug("reconcile with %s failed: %s", backend.url, exc)
        backend.reconcile_task = self._spawn(run(), f"reconcile {backend.url}")

    # ---- health ---------------------------------------------------------------------------------

    def supervisor_state(self, url: str, is_up: bool, message: str) -> None:
        """ComfyStateChanged from the supervisor (forwarded by JobService) feeds the health record."""
        self.pool.set_supervisor(url, is_up, message)

    def _on_pool_health(self, url: str, healthy: bool, reason: str) -> None:
        backend = self._by_url.get(url.rstrip("/"))
        if backend is not None:
            self._health_changed(backend, reason)

    def _unreachable(self, backend: BackendState, reason: str) -> None:
        """A request got no answer: the record says down, and the pool's poller finds it again."""
        self.pool.report_unreachable(backend.url, reason)

    def _health_changed(self, backend: BackendState, reason: str) -> None:
        up = backend.up
        if backend.announced != up:
            backend.announced = up
            (log.info if up else log.warning)("ComfyUI %s is %s: %s", backend.url, "up" if up else "down", reason)
            self.bus.publish(BackendHealthChanged(backend.url, up, reason))
            self.changed()          # ETAs depend on how many backends are up
            if up and self._running:
                self._spawn(self._read_memory(backend), f"memory report {backend.url}")
        if up:
            self._clean_soon(backend)
            self.dispatch()
        elif self._running and backend.slots and len(self.backends) > 1:
            if backend.failover_task is None or backend.failover_task.done():
                backend.failover_task = self._spawn(self._failover(backend), f"failover {backend.url}")

    async def _failover(self, backend: BackendState) -> None:
        """A backend that stays down while another is up gives its jobs back to the queue."""
        await asyncio.sleep(self.failover_after_s)
        if backend.up or not any(b.up for b in self.backends if b is not backend):
            return
        # Prepared jobs first: cancelling a posted one frees a place in ComfyUI's queue, and a
        # prepared job still waiting for that place would post itself to the dead backend.
        for entry in sorted((e for e in backend.slots if e.phase in _IN_COMFY),
                            key=lambda e: e.holds_permit):
            if entry.task is not None:
                entry.task.cancel()
                await asyncio.gather(entry.task, return_exceptions=True)
            if entry.job.prompt_id:
                self._mark_stale(backend, entry.job.prompt_id)
            await self._retry(entry, f"{backend.url} stopped answering")

    async def _read_memory(self, backend: BackendState) -> None:
        """Whether the backend's /system_stats gives GPU memory figures that make sense: if not, it
        runs jobs first come first served (core/dispatch.py says so in the log)."""
        try:
            stats = await backend.client.system_stats()
        except ComfyError as exc:
            log.debug("no memory report from %s: %s", backend.url, exc)
            return
        device = stats.devices[0] if stats.devices else None
        self.dispatcher.memory_report(backend.url, device.vram_total if device else None,
                                      device.vram_free if device else None)
        self.changed()

    def _on_host_gpu(self, event: HostGpuChanged) -> None:
        """The host took the GPU: ComfyUI was asked to unload every model."""
        if event.in_use:
            for backend in self.backends:
                self.dispatcher.forget_models(backend.url)
            self.changed()

    def _mark_stale(self, backend: BackendState, prompt_id: str) -> None:
        """A prompt of ours on `backend` whose job is gone from there (moved on, cancelled)."""
        backend.stale.add(prompt_id)
        self._clean_soon(backend)

    def _clean_soon(self, backend: BackendState) -> None:
        if (self._running and backend.stale and backend.up
                and (backend.clean_task is None or backend.clean_task.done())):
            backend.clean_task = self._spawn(self._clean_stale(backend), f"stale prompts {backend.url}")

    async def _clean_stale(self, backend: BackendState) -> None:
        """Delete (pending) and interrupt (running) our stale prompts there, retrying while it is up.
        Until this is done the backend gets no new work (`takes_work`): its queue would run them first."""
        while backend.stale and backend.up:
            ids = list(backend.stale)
            try:
                await backend.client.delete_pending(ids)
                for prompt_id in ids:
                    await backend.client.interrupt(prompt_id)
            except ComfyError as exc:
                log.info("could not delete stale prompts on %s yet: %s", backend.url, exc)
                await asyncio.sleep(self.probe_interval_s)
                continue
            backend.stale.difference_update(ids)
            log.info("deleted %d stale prompt(s) on %s", len(ids), backend.url)
        if not backend.stale:
            self.dispatch()

    # ---- positions, the snapshot and ETAs ---------------------------------------------------------

    def changed(self) -> None:
        """Something positions or the snapshot show changed: publish soon (coalesced)."""
        self._plan = None
        self._snapshot_dirty = True
        self._changed.set()

    # the name JobService and older callers use
    positions_changed = changed

    async def _publish_loop(self) -> None:
        """One task publishes position changes and the queue snapshot, at most once per interval."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                self.publish_positions()
                if self._snapshot_dirty:
                    self._snapshot_dirty = False
                    self.bus.publish(self.snapshot())
            except Exception:
                log.exception("publishing queue positions failed")
            await asyncio.sleep(self.position_interval_s)

    def snapshot(self) -> QueueSnapshot:
        return QueueSnapshot(tuple(self.run_order()), tuple(b.snapshot() for b in self.backends), self.queue.paused,
                             self.store.ok)

    # ---- the run order: positions and ETAs -----------------------------------------------------

    def run_order(self) -> list[int]:
        """The waiting jobs in the order they will leave for ComfyUI."""
        return list(self.queue) if self.dispatcher.in_line_order else self._planned()[0]

    def position(self, job_id: int) -> int | None:
        """1 = the next to leave for ComfyUI; None when not waiting."""
        if job_id not in self.queue:
            return None
        if self.dispatcher.in_line_order:
            return self.queue.position(job_id)
        return self._planned()[1][job_id][0] + 1

    def _planned(self) -> tuple[list[int], dict[int, tuple[int, Planned | None]]]:
        """core/dispatch.py's choices replayed forward from now (kept until something changes):
        the run order, and for each job its index in it and its planned run."""
        if self._plan is None:
            serving = [b for b in self.backends if b.takes_work] or self.backends
            views = [(BackendView(b.url, self.dispatcher.backend(b.url).loaded, self.dispatcher.backend(b.url).known),
                      sum(self._remaining(e) for e in b.slots)) for b in serving]
            planned = plan(self.dispatcher.line(self.queue), views, time.monotonic(), self.dispatcher.fairness,
                           lambda waiting, backend, loads: self._expected(self.entries[waiting.job_id].job, backend, loads))
            runs = {p.job_id: p for p in planned}
            order = [p.job_id for p in planned] + [j for j in self.queue if j not in runs]   # none may take them
            self._plan = (order, {job_id: (index, runs.get(job_id)) for index, job_id in enumerate(order)})
        return self._plan

    def publish_positions(self) -> None:
        start = self.queue.waiting.take_changed_from()
        in_line_order = self.dispatcher.in_line_order
        if not in_line_order or self._published_in_line_order is False:
            start = 0                        # the order is the plan's (or just was): look at every job
        self._published_in_line_order = in_line_order
        if start is None:
            return
        length = len(self.queue)
        published = self._published_position
        if not in_line_order:
            order, planned = self._planned()
            for index, job_id in enumerate(order):
                if published.get(job_id) != index + 1:
                    published[job_id] = index + 1
                    self.bus.publish(JobPositionChanged(job_id, self.entries[job_id].job.user_id, index + 1, length,
                                                        self._planned_eta(planned[job_id][1])))
            return
        ahead, backends = self._eta_base()
        held = self._held()
        for index, job_id in enumerate(self.queue):
            entry = self.entries[job_id]
            own, held = self._in_line(entry, held)
            if index >= start:
                position = index + 1
                if published.get(job_id) != position:
                    published[job_id] = position
                    self.bus.publish(JobPositionChanged(job_id, entry.job.user_id, position, length,
                                                        ahead / backends + own))
            ahead += own

    def _held(self) -> Model | None:
        """The model the next job in line finds loaded (jobs in line order): the least busy backend's."""
        serving = [b for b in self.backends if b.takes_work] or self.backends
        if not serving:
            return None
        least_busy = min(serving, key=lambda b: sum(self._remaining(e) for e in b.slots))
        return self.dispatcher.backend(least_busy.url).loaded

    def _in_line(self, entry: Entry, held: Model | None) -> tuple[float, Model | None]:
        """(expected seconds, the model loaded after it) of a job run in line order after `held`."""
        model = self._model_of(entry.job.workflow)
        loads = bool(model) and model != held
        return self._expected(entry.job, None, loads), (model or held)

    def _expected(self, job: Job, backend: str | None, loads: bool) -> float:
        """Seconds `job` should take: its workflow's time per run, once per copy, plus a model load."""
        return self.eta.expected(job.workflow, backend) * self._copies(job) + (self.eta.load_s(backend) if loads else 0.0)

    def _copies(self, job: Job) -> int:
        template = self._workflows().get(job.workflow)
        return template.copies_for(job.request.batch_size) if template is not None else 1

    def _copy_of(self, entry: Entry) -> Mapping[str, int]:
        """Which copy each node belongs to (see `WorkflowTemplate.copy_plan`), worked out once per job."""
        if entry.copy_of is None:
            template = self._workflows().get(entry.job.workflow)
            plan = template.copy_plan(entry.job.request.batch_size) if template is not None else {}
            entry.copy_of = {node_id: index for node_id, (_, index) in plan.items()}
        return entry.copy_of

    def _planned_eta(self, run: Planned | None) -> float | None:
        return None if run is None else run.end_s

    def _eta_base(self) -> tuple[float, int]:
        """Work still inside ComfyUI (seconds) and how many backends share the queue."""
        up = sum(1 for b in self.backends if b.up) or len(self.backends) or 1
        return sum(self._remaining(e) for b in self.backends for e in b.slots), up

    def _remaining(self, entry: Entry) -> float:
        backend = entry.backend.url if entry.backend else None
        expected = self._expected(entry.job, backend, entry.loads_model)
        if entry.job.state == JobState.RUNNING and entry.job.started_at is not None:
            elapsed = (self.clock() - entry.job.started_at).total_seconds()
            return max(0.0, expected - elapsed)
        return expected

    def eta_s(self, job_id: int) -> float | None:
        entry = self.entries.get(job_id)
        if entry is None:
            return None
        if entry.backend is not None:          # inside ComfyUI: what runs before it there, then itself
            own = self._remaining(entry)
            if entry.job.state != JobState.RUNNING:
                before = [e for e in entry.backend.slots if e is not entry and
                          (e.job.state == JobState.RUNNING or e.dispatched_at < entry.dispatched_at)]
                own += sum(self._remaining(e) for e in before)
            return own
        if job_id not in self.queue:
            return None
        if not self.dispatcher.in_line_order:
            return self._planned_eta(self._planned()[1][job_id][1])
        ahead, backends = self._eta_base()
        held = self._held()
        for other in self.queue:
            own, held = self._in_line(self.entries[other], held)
            if other == job_id:
                return ahead / backends + own
            ahead += own
        return None

    def in_flight(self) -> list[Entry]:
        entries = [e for b in self.backends for e in b.slots]
        entries.sort(key=lambda e: (e.job.state != JobState.RUNNING, e.dispatched_at))
        return entries


class _Refused(ComfyError):
    """Raised inside the scheduler for a job that cannot run at all (workflow gone, bad values)."""

    def __init__(self, code: FailureCode, text: str) -> None:
        super().__init__(text)
        self.code = code


def _export(files: list[Path], folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copy2(file, folder / file.name)
    except OSError as exc:
        log.warning("could not copy results to EXPORT_PATH %s: %s", folder, exc)


def _printable(text: str) -> str:
    """Error text as every database stores it: no NUL, no unpaired surrogates, one screenful."""
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:2000]
