"""The scheduler: hands waiting jobs to ComfyUI backends and follows each one to its end.

Per backend it keeps up to `depth` jobs inside ComfyUI (default 2: the one running and the next
one already pending), so when a job ends ComfyUI starts the next at once, without waiting for us.
One more job per backend is prepared beforehand (stored as submitted, image uploaded, graph
filled), so when a place in ComfyUI's queue frees up only its POST is left to do.
Completion, progress and previews are pushed by the client's websocket (`client.wait`, listeners).

Every state change is written to the database before it is published on the bus. A job's
prompt_id is chosen here and stored before the POST, so after a crash the job is found again in
ComfyUI by that id (`client.wait` on an unknown id looks it up in /queue, then /history), and a
job is only submitted again when ComfyUI has no trace of it.

Pause stops dispatching and takes back what has not started: the prepared job, and the jobs
pending in ComfyUI's queue (deleted there; the running one finishes). They return to their place
in the waiting list with their prompt_id cleared, so a later dispatch posts them under a new id.

Failures: WorkflowRejected and ExecutionFailed fail the job at once. A lost prompt, an HTTP 5xx,
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from comfy import events as cev
from comfy.backends import Backend, BackendPool
from comfy.client import ComfyClient
from comfy.errors import (ComfyConnectionError, ComfyError, ComfyHTTPError, ComfyTimeoutError, ExecutionFailed,
                          PromptInterrupted, PromptLost, WorkflowRejected)
from comfy.workflows import FillParams, WorkflowError
from core.errors import ImageError
from core.eta import EtaModel
from core.events import EventBus
from core.images import sanitize_output
from core.jobs import (BackendHealthChanged, Job, JobCancelled, JobFailed, JobFinished, JobPositionChanged,
                       JobProgress, JobStarted, JobState)
from core.jobstore import JobStore, StoredImage
from core.paths import AppPaths, write_file
from core.queue import WaitingQueue

log = logging.getLogger(__name__)

_TRANSIENT = (ComfyConnectionError, ComfyTimeoutError)
_FETCH_TRIES = 3


@dataclass(eq=False)
class Entry:
    """A job the scheduler is responsible for (waiting or inside ComfyUI)."""
    job: Job
    order: int
    input_path: str | None                  # relative to the data folder
    backend: "BackendState | None" = None
    task: asyncio.Task | None = None
    avoid: set[str] = field(default_factory=set)   # backends that already lost this job
    final: bool = False
    cancelling: bool = False
    completing: bool = False                # ComfyUI finished it; fetching the images
    holds_permit: bool = False              # has one of its backend's places in ComfyUI's queue
    recovered: bool = False                 # posted by an earlier run of the app
    start_task: asyncio.Task | None = None
    dispatched_at: float = 0.0
    progress: tuple[int, int] = (0, 0)
    preview: bytes | None = None
    preview_mime: str | None = None
    last_error: str = ""
    attempts_at_dispatch: int = 0
    pull_back: asyncio.Future | None = None  # paused: deleted from ComfyUI's queue, coming back to ours


class BackendState:
    """One ComfyUI as the scheduler sees it: its client, health, and the jobs inside it."""

    def __init__(self, client: ComfyClient, pool_backend: Backend | None = None) -> None:
        self.client = client
        self.url: str = client.base_url
        self.pool_backend = pool_backend
        self.socket_up = client.connected
        self.supervisor_up = True
        self.reachable = True                 # False after a connection error, until a probe succeeds
        self.slots: set[Entry] = set()        # jobs inside ComfyUI (running + pending)
        self.running: Entry | None = None
        self.stale: set[str] = set()          # prompt ids to delete once it answers again
        self.announced: bool | None = None
        self.probe_task: asyncio.Task | None = None
        self.failover_task: asyncio.Task | None = None
        self.reconcile_task: asyncio.Task | None = None
        self.clean_task: asyncio.Task | None = None
        self.listener: Callable | None = None
        # POSTs leave in dispatch order (ComfyUI runs prompts in the order they arrive): the lock
        # is taken in dispatch order and held from preparing a job until it is posted.
        self.submit_lock = asyncio.Lock()
        self.permits: asyncio.Semaphore | None = None   # places in ComfyUI's queue (depth)

    @property
    def pool_healthy(self) -> bool:
        pb = self.pool_backend
        return True if pb is None or not pb.checked else pb.healthy

    @property
    def up(self) -> bool:
        return self.socket_up and self.supervisor_up and self.reachable and self.pool_healthy

    @property
    def takes_work(self) -> bool:
        """Up, and holding no prompts of ours that must be deleted first (see `Scheduler._clean_stale`)."""
        return self.up and not self.stale


Backends = BackendPool | ComfyClient | list[ComfyClient]


def clients_of(backends: Backends) -> list[tuple[ComfyClient, Backend | None]]:
    """(client, pool backend or None) for a BackendPool, a list of clients, or one client."""
    if isinstance(backends, BackendPool):
        return [(b.client, b) for b in backends.backends]
    if isinstance(backends, ComfyClient):
        return [(backends, None)]
    return [(client, None) for client in backends]


class Scheduler:
    def __init__(self, *, store: JobStore, bus: EventBus, settings: Any, paths: AppPaths,
                 workflows: Callable[[], Any], backends: Backends, eta: EtaModel,
                 clock: Callable[[], datetime], depth: int = 2, position_interval_s: float = 1.0,
                 failover_after_s: float = 30.0, probe_interval_s: float = 2.0) -> None:
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
        self.pool = backends if isinstance(backends, BackendPool) else None
        self.backends = [BackendState(client, pb) for client, pb in clients_of(backends)]
        for backend in self.backends:
            backend.permits = asyncio.Semaphore(self.depth)
        self._by_url = {b.url: b for b in self.backends}
        self.waiting = WaitingQueue()
        self.entries: dict[int, Entry] = {}
        self.by_prompt: dict[str, Entry] = {}
        self.user_active: Counter[int] = Counter()
        self.paused = False
        self._avoiding: set[int] = set()
        self._published_position: dict[int, int] = {}
        self._positions_dirty = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._position_task: asyncio.Task | None = None
        self._running = False
        self.upload_limit_bytes = int(float(settings.upload_limit_mb) * 1024 * 1024)

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self, loaded: list) -> None:
        """Take over the jobs loaded from the database, then start dispatching."""
        for backend in self.backends:
            backend.listener = self._listener_for(backend)
            backend.client.add_listener(backend.listener)
        if self.pool is not None:
            self.pool.add_listener(self._on_pool_health)
        resume: list[Entry] = []
        for item in loaded:
            entry = Entry(item.job, item.order, item.input_path)
            self.entries[entry.job.id] = entry
            self.user_active[entry.job.user_id] += 1
            if entry.job.state == JobState.QUEUED or not entry.job.prompt_id:
                entry.job.state = JobState.QUEUED
                self.waiting.add(entry.job.id, entry.job.priority, entry.order)
            else:
                resume.append(entry)
        self._running = True
        for backend in self.backends:
            backend.socket_up = backend.client.connected
            await backend.client.connect(wait=False)
        for entry in resume:
            backend = self._by_url.get((entry.job.backend or "").rstrip("/"))
            if backend is None:      # that backend is no longer configured: ComfyUI there is out of reach
                entry.job.state = JobState.QUEUED
                await self.store.update(entry.job.id, state=JobState.QUEUED, prompt_id=None)
                self.waiting.add(entry.job.id, entry.job.priority, entry.order)
                continue
            entry.recovered = True
            entry.attempts_at_dispatch = max(0, entry.job.attempts - 1)
            self._occupy(entry, backend)
            self.by_prompt[entry.job.prompt_id] = entry
            entry.task = self._spawn(self._drive(entry, resume=True), f"job-{entry.job.id}")
        self._position_task = asyncio.create_task(self._position_loop(), name="job-positions")
        self.positions_changed()
        self.dispatch()

    async def stop(self) -> None:
        """Stop dispatching and following jobs. The database keeps them for the next start."""
        self._running = False
        for backend in self.backends:
            if backend.listener is not None:
                backend.client.remove_listener(backend.listener)
        if self.pool is not None:
            self.pool.remove_listener(self._on_pool_health)
        tasks = [t for t in self._tasks if not t.done()]
        if self._position_task is not None:
            tasks.append(self._position_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._position_task = None

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- queue bookkeeping ---------------------------------------------------------------------

    def add(self, entry: Entry) -> int:
        """A newly stored job joins the waiting list; returns its position."""
        self.entries[entry.job.id] = entry
        self.user_active[entry.job.user_id] += 1
        position = self.waiting.add(entry.job.id, entry.job.priority, entry.order)
        self._published_position[entry.job.id] = position
        self.positions_changed()
        return position

    def _forget(self, entry: Entry) -> None:
        job_id = entry.job.id
        self.entries.pop(job_id, None)
        self.waiting.remove(job_id)
        self._published_position.pop(job_id, None)
        self._avoiding.discard(job_id)
        self._drop_prompt(entry)
        self.user_active[entry.job.user_id] -= 1
        if self.user_active[entry.job.user_id] <= 0:
            del self.user_active[entry.job.user_id]
        self._release(entry)
        self.positions_changed()

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
            self.dispatch()

    # ---- dispatching ---------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Fill every healthy backend up to `depth` jobs from the head of the queue. Never waits."""
        if not self._running:
            return
        while not self.paused and len(self.waiting):
            free = [b for b in self.backends if b.takes_work and len(b.slots) < self.depth + 1]
            if not free:
                return
            backend = min(free, key=lambda b: len(b.slots))
            job_id = self.waiting.pop_first(self._skip_for(backend) if self._avoiding else None)
            if job_id is None:
                return
            entry = self.entries[job_id]
            entry.attempts_at_dispatch = entry.job.attempts
            self._occupy(entry, backend)
            self.positions_changed()
            self._announce_sent(entry)
            entry.task = self._spawn(self._drive(entry, resume=False), f"job-{job_id}")

    def _announce_sent(self, entry: Entry) -> None:
        """Position 0: the job left the waiting list for ComfyUI (JobStarted follows when it runs).
        Published at once, so it always comes before that job's JobStarted."""
        job = entry.job
        self._published_position[job.id] = 0
        self.bus.publish(JobPositionChanged(job.id, job.user_id, 0, len(self.waiting), self.eta_s(job.id)))

    def _skip_for(self, backend: BackendState) -> set[int]:
        """Jobs that already failed on `backend` wait for another healthy one, if there is one."""
        skip = set()
        for job_id in self._avoiding:
            avoid = self.entries[job_id].avoid
            if backend.url in avoid and any(b.up and b.url not in avoid for b in self.backends):
                skip.add(job_id)
        return skip

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.dispatch()

    async def pull_back(self, timeout: float = 5.0) -> None:
        """Paused: what has not started in ComfyUI comes back to the waiting list, at its place.

        The prepared job (stored as submitted, not posted) stops where it is. The jobs pending in
        ComfyUI's queue are deleted there; each one's `wait` then ends in PromptLost and `_drive`
        puts it back (a job that started meanwhile simply finishes). Returns once they are back,
        or after `timeout` seconds.
        """
        waits: list[asyncio.Future] = []
        for backend in self.backends:
            for entry in [e for e in backend.slots if not (e.holds_permit or e.recovered)]:
                await self._unprepare(entry)
            if not backend.up:
                continue                  # cannot delete there now; failover deals with its jobs
            async with backend.submit_lock:      # a POST on its way is answered first
                pending = [e for e in backend.slots if e is not backend.running and not e.final and not e.completing
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
        if entry.final or entry.completing:
            return
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()
            await asyncio.gather(entry.task, return_exceptions=True)
        if entry.final or entry.holds_permit:
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
            entry.completing = True
            self._release(entry)           # out of ComfyUI's queue: let the next job in now
            await self._complete(entry, backend, result)
        except asyncio.CancelledError:
            raise
        except WorkflowRejected as exc:
            await self._fail(entry, "workflow_rejected", f"ComfyUI refused the workflow: {exc}")
        except ExecutionFailed as exc:
            await self._fail(entry, "comfy_error", f"ComfyUI failed while generating: {exc}")
        except PromptInterrupted:
            if not entry.cancelling:
                await self._fail(entry, "interrupted", "The job was stopped in ComfyUI (interrupted).")
        except PromptLost as exc:
            if entry.pull_back is not None and not entry.cancelling:   # we deleted it: the queue is paused
                log.info("job %s taken back from %s (queue paused)", job.id, backend.url)
                job.attempts = entry.attempts_at_dispatch
                await self._requeue(entry)
            else:
                await self._retry(entry, "lost", str(exc))
        except ComfyHTTPError as exc:
            await self._retry(entry, "comfy_http", str(exc))
        except _TRANSIENT as exc:
            self._unreachable(backend, str(exc))
            # The request never got an answer: the job did not reach this ComfyUI, or we will
            # delete it there when it answers again. Either way this attempt does not count.
            if job.prompt_id:
                self._mark_stale(backend, job.prompt_id)
            await self._retry(entry, "unreachable", str(exc), count=False)
        except _Refused as exc:
            await self._fail(entry, exc.code, str(exc))
        except ComfyError as exc:
            await self._retry(entry, "comfy_error", str(exc))
        except ImageError as exc:
            await self._fail(entry, "bad_output", str(exc))
        except Exception as exc:  # a bug must not leave the job hanging
            log.exception("job %s failed unexpectedly", job.id)
            await self._fail(entry, "internal", f"Internal error: {type(exc).__name__}: {exc}")
        finally:
            self._release(entry)
            self._settle_pull_back(entry, clear=True)

    async def _submit(self, entry: Entry, backend: BackendState) -> None:
        job = entry.job
        template = self._workflows().get(job.workflow)
        if template is None:
            raise _Refused("workflow_missing", f"The workflow {job.workflow!r} is no longer installed.")
        prompt_id = str(uuid.uuid4())
        self._drop_prompt(entry)
        job.prompt_id, job.backend, job.state = prompt_id, backend.url, JobState.SUBMITTED
        job.attempts += 1
        self.by_prompt[prompt_id] = entry
        # Stored before the POST: after a crash the job is looked up by this id, never re-run blindly.
        await self.store.update(job.id, state=JobState.SUBMITTED, prompt_id=prompt_id, backend=backend.url,
                                attempts=job.attempts)
        image_name = None
        if entry.input_path:
            data = await asyncio.to_thread((self.paths.data_dir / entry.input_path).read_bytes)
            uploaded = await backend.client.upload_image(data, f"imagebot_job{job.id}.png", subfolder="imagebot",
                                                        overwrite=True)
            image_name = uploaded.load_image_value
        request = job.request
        try:
            filled = template.fill(FillParams(
                prompt=request.prompt, negative_prompt=request.negative_prompt or None, seed=job.seed,
                width=request.width, height=request.height, batch_size=request.batch_size, image=image_name))
        except WorkflowError as exc:
            raise _Refused("bad_parameter", str(exc)) from exc
        await self._take_permit(entry, backend)        # prepared: wait for a place in ComfyUI's queue
        await backend.client.submit(filled.graph, prompt_id=prompt_id)

    async def _take_permit(self, entry: Entry, backend: BackendState) -> None:
        await backend.permits.acquire()
        entry.holds_permit = True

    async def _complete(self, entry: Entry, backend: BackendState, result: Any) -> None:
        job = entry.job
        if entry.start_task is not None:
            await asyncio.shield(entry.start_task)
        refs = [r for r in result.images if r.type == "output"] or list(result.images)
        images: list[StoredImage] = []
        folder = Path("images") / job.created_at.strftime("%Y-%m")
        # Saved images are fetched with /view; SaveImageWebsocket's came with the result itself.
        blobs = [await self._fetch(backend, ref) for ref in refs] + list(result.image_data)
        for index, data in enumerate(blobs):
            clean = await sanitize_output(data, limit_bytes=self.upload_limit_bytes)
            relative = folder / f"job{job.id}_{index}{clean.extension}"
            await asyncio.to_thread(write_file, self.paths.data_dir / relative, clean.data)
            images.append(StoredImage(relative.as_posix(), clean.width, clean.height, len(clean.data)))
        if entry.final:
            return
        now = self.clock()
        started = job.started_at or now
        entry.final = True
        await self.store.finish(job.id, images, state=JobState.DONE, finished_at=now, started_at=started,
                                error_code=None, error_text=None)
        job.state, job.started_at, job.finished_at = JobState.DONE, started, now
        job.outputs = [self.paths.data_dir / image.path for image in images]
        generation = job.generation_s or 0.0
        if not entry.recovered:
            self.eta.record(job.workflow, backend.url, generation)
        self._forget(entry)
        snapshot = job.snapshot()
        self.bus.publish(JobFinished(job.id, job.user_id, snapshot, tuple(snapshot.outputs),
                                     job.queue_wait_s or 0.0, generation, job.seed, backend.url))
        if self.settings.export_path:
            self._spawn(asyncio.to_thread(_export, snapshot.outputs, Path(self.settings.export_path).expanduser()),
                        f"export-{job.id}")

    async def _fetch(self, backend: BackendState, ref: Any) -> bytes:
        """The job already ran: a failed download is retried, never answered by running it again."""
        for attempt in range(_FETCH_TRIES):
            try:
                return await backend.client.view(ref)
            except _TRANSIENT + (ComfyHTTPError,):
                if attempt == _FETCH_TRIES - 1:
                    raise
                await asyncio.sleep(self.probe_interval_s * (attempt + 1))
        raise AssertionError("unreachable")

    async def _retry(self, entry: Entry, code: str, reason: str, *, count: bool = True) -> None:
        """Back to the front of its priority (another backend preferred), or failed when out of attempts."""
        job = entry.job
        if entry.final or entry.cancelling:
            return
        entry.last_error = reason
        if not count:
            job.attempts = max(0, job.attempts - 1)
        if job.attempts >= self.settings.max_attempts:
            await self._fail(entry, "retries_exhausted",
                             f"ComfyUI lost or failed this job {job.attempts} times; giving up. Last error: {reason}")
            return
        log.warning("job %s goes back to the queue (%s): %s", job.id, code, reason)
        if job.backend and len(self.backends) > 1 and count:
            entry.avoid.add(job.backend)
            self._avoiding.add(job.id)
        await self._requeue(entry)

    async def _requeue(self, entry: Entry) -> None:
        """Back to its place in the waiting list; the prompt_id is cleared (a new one on the next post)."""
        job = entry.job
        self._drop_prompt(entry)
        job.state, job.prompt_id = JobState.QUEUED, None
        await self.store.update(job.id, state=JobState.QUEUED, prompt_id=None, attempts=job.attempts)
        self._release(entry)
        self._settle_pull_back(entry, clear=True)
        if entry.final:                  # cancelled while the write was on its way
            return
        entry.backend = None
        entry.completing = False
        entry.recovered = False
        self.waiting.add(job.id, job.priority, entry.order)
        self.positions_changed()
        self.dispatch()

    async def _fail(self, entry: Entry, code: str, text: str) -> None:
        if entry.final:
            return
        entry.final = True
        job = entry.job
        now = self.clock()
        await self.store.update(job.id, state=JobState.FAILED, finished_at=now, error_code=code, error_text=text)
        job.state, job.finished_at, job.error_code, job.error_text = JobState.FAILED, now, code, text
        self._forget(entry)
        self.bus.publish(JobFailed(job.id, job.user_id, job.snapshot(), code, text))

    async def cancel(self, entry: Entry, by_user_id: int | None) -> Job:
        """Out of our queue, out of ComfyUI's queue, or interrupted while running."""
        job = entry.job
        entry.cancelling = True
        backend = entry.backend
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()
            await asyncio.gather(entry.task, return_exceptions=True)
        if backend is not None and job.prompt_id and job.state in (JobState.SUBMITTED, JobState.RUNNING):
            # delete first (pending), then interrupt (running): whichever it is, it stops.
            try:
                await backend.client.delete_pending([job.prompt_id])
                await backend.client.interrupt(job.prompt_id)
            except ComfyError as exc:
                log.info("could not remove job %s from %s now (%s); will retry", job.id, backend.url, exc)
                self._mark_stale(backend, job.prompt_id)
        if entry.final:
            return job.snapshot()
        entry.final = True
        now = self.clock()
        await self.store.update(job.id, state=JobState.CANCELLED, finished_at=now)
        job.state, job.finished_at = JobState.CANCELLED, now
        self._forget(entry)
        snapshot = job.snapshot()
        self.bus.publish(JobCancelled(job.id, job.user_id, snapshot, by_user_id))
        return snapshot

    # ---- events from ComfyUI ------------------------------------------------------------------

    def _listener_for(self, backend: BackendState) -> Callable[[Any], None]:
        def on_event(event: Any) -> None:
            if isinstance(event, (cev.PromptProgress, cev.PreviewImage)):
                self._on_progress(backend, event)
            elif isinstance(event, cev.PromptStarted):
                entry = self.by_prompt.get(event.prompt_id)
                if entry is not None and entry.backend is backend and not entry.final:
                    backend.running = entry
                    self._settle_pull_back(entry, clear=True)   # too late to take it back: it runs
                    entry.start_task = self._spawn(self._mark_running(entry), f"job-{entry.job.id}-start")
            elif isinstance(event, cev.QueueStatus):
                if any(e.recovered for e in backend.slots):
                    self._reconcile_soon(backend)
            elif isinstance(event, cev.SocketConnected):
                backend.socket_up = True
                self._health_changed(backend, "websocket connected")
            elif isinstance(event, cev.SocketDisconnected):
                backend.socket_up = False
                self._health_changed(backend, f"websocket closed: {event.reason}")
        return on_event

    def _on_progress(self, backend: BackendState, event: Any) -> None:
        entry = self.by_prompt.get(event.prompt_id) if event.prompt_id else backend.running
        if entry is None or entry.final or entry.backend is not backend:
            return
        if isinstance(event, cev.PromptProgress):
            entry.progress = (event.value, event.max)
        else:
            entry.preview, entry.preview_mime = event.image, event.mime
        value, maximum = entry.progress
        self.bus.publish(JobProgress(entry.job.id, entry.job.user_id, value, maximum, entry.preview,
                                     entry.preview_mime))

    async def _mark_running(self, entry: Entry) -> None:
        job = entry.job
        if entry.final or job.state == JobState.RUNNING:
            return
        now = self.clock()
        job.state, job.started_at = JobState.RUNNING, now
        await self.store.update(job.id, state=JobState.RUNNING, started_at=now)
        if not entry.final:
            self.bus.publish(JobStarted(job.id, job.user_id, job.snapshot(), entry.backend.url))

    def _reconcile_soon(self, backend: BackendState) -> None:
        """Prompts posted by an earlier run get no events of ours: ask /queue and /history when the queue moves."""
        if backend.reconcile_task is not None and not backend.reconcile_task.done():
            return

        async def run() -> None:
            try:
                await backend.client.reconcile()
            except ComfyError as exc:
                log.debug("reconcile with %s failed: %s", backend.url, exc)
        backend.reconcile_task = self._spawn(run(), f"reconcile-{backend.url}")

    # ---- health ---------------------------------------------------------------------------------

    def supervisor_state(self, url: str, is_up: bool, message: str) -> None:
        """ComfyStateChanged from the supervisor (forwarded by JobService)."""
        url = url.rstrip("/")
        targets = [b for b in self.backends if b.url == url] or (self.backends if len(self.backends) == 1 else [])
        for backend in targets:
            if backend.supervisor_up != is_up:
                backend.supervisor_up = is_up
                self._health_changed(backend, message)

    def _on_pool_health(self, url: str, healthy: bool, reason: str) -> None:
        backend = self._by_url.get(url.rstrip("/"))
        if backend is not None:
            if healthy:
                backend.reachable = True
            self._health_changed(backend, reason)

    def _unreachable(self, backend: BackendState, reason: str) -> None:
        if backend.reachable:
            backend.reachable = False
            self._health_changed(backend, reason)
        if backend.probe_task is None or backend.probe_task.done():
            backend.probe_task = self._spawn(self._probe(backend), f"probe-{backend.url}")

    async def _probe(self, backend: BackendState) -> None:
        while not backend.reachable:
            await asyncio.sleep(self.probe_interval_s)
            try:
                await backend.client.system_stats()
            except ComfyError:
                continue
            backend.reachable = True
            self._health_changed(backend, "answering again")

    def _health_changed(self, backend: BackendState, reason: str) -> None:
        up = backend.up
        if backend.announced != up:
            backend.announced = up
            (log.info if up else log.warning)("ComfyUI %s is %s: %s", backend.url, "up" if up else "down", reason)
            self.bus.publish(BackendHealthChanged(backend.url, up, reason))
            self.positions_changed()          # ETAs depend on how many backends are up
        if up:
            self._clean_soon(backend)
            self.dispatch()
        elif self._running and backend.slots and len(self.backends) > 1:
            if backend.failover_task is None or backend.failover_task.done():
                backend.failover_task = self._spawn(self._failover(backend), f"failover-{backend.url}")

    async def _failover(self, backend: BackendState) -> None:
        """A backend that stays down while another is up gives its jobs back to the queue."""
        await asyncio.sleep(self.failover_after_s)
        if backend.up or not any(b.up for b in self.backends if b is not backend):
            return
        # Prepared jobs first: cancelling a posted one frees a place in ComfyUI's queue, and a
        # prepared job still waiting for that place would post itself to the dead backend.
        for entry in sorted((e for e in backend.slots if not e.completing), key=lambda e: e.holds_permit):
            if entry.task is not None:
                entry.task.cancel()
                await asyncio.gather(entry.task, return_exceptions=True)
            if entry.job.prompt_id:
                self._mark_stale(backend, entry.job.prompt_id)
            await self._retry(entry, "backend_down", f"{backend.url} stopped answering")

    def _mark_stale(self, backend: BackendState, prompt_id: str) -> None:
        """A prompt of ours on `backend` whose job is gone from there (moved on, cancelled)."""
        backend.stale.add(prompt_id)
        self._clean_soon(backend)

    def _clean_soon(self, backend: BackendState) -> None:
        if (self._running and backend.stale and backend.up
                and (backend.clean_task is None or backend.clean_task.done())):
            backend.clean_task = self._spawn(self._clean_stale(backend), f"stale-{backend.url}")

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

    # ---- positions and ETAs -------------------------------------------------------------------

    def positions_changed(self) -> None:
        self._positions_dirty.set()

    async def _position_loop(self) -> None:
        """One task publishes every position change, at most once per job per interval."""
        while True:
            await self._positions_dirty.wait()
            self._positions_dirty.clear()
            try:
                self.publish_positions()
            except Exception:
                log.exception("publishing queue positions failed")
            await asyncio.sleep(self.position_interval_s)

    def publish_positions(self) -> None:
        start = self.waiting.take_changed_from()
        if start is None:
            return
        length = len(self.waiting)
        ahead, backends = self._eta_base()
        published = self._published_position
        for index, job_id in enumerate(self.waiting):
            entry = self.entries[job_id]
            own = self.eta.expected(entry.job.workflow)
            if index >= start:
                position = index + 1
                if published.get(job_id) != position:
                    published[job_id] = position
                    self.bus.publish(JobPositionChanged(job_id, entry.job.user_id, position, length,
                                                        ahead / backends + own))
            ahead += own

    def _eta_base(self) -> tuple[float, int]:
        """Work still inside ComfyUI (seconds) and how many backends share the queue."""
        up = sum(1 for b in self.backends if b.up) or len(self.backends) or 1
        return sum(self._remaining(e) for b in self.backends for e in b.slots), up

    def _remaining(self, entry: Entry) -> float:
        backend = entry.backend.url if entry.backend else None
        expected = self.eta.expected(entry.job.workflow, backend)
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
        position = self.waiting.position(job_id)
        if position is None:
            return None
        ahead, backends = self._eta_base()
        for index in range(position - 1):
            ahead += self.eta.expected(self.entries[self.waiting.at(index)].job.workflow)
        return ahead / backends + self.eta.expected(entry.job.workflow)

    def in_flight(self) -> list[Entry]:
        entries = [e for b in self.backends for e in b.slots]
        entries.sort(key=lambda e: (e.job.state != JobState.RUNNING, e.dispatched_at))
        return entries


class _Refused(ComfyError):
    """Raised inside the scheduler for a job that cannot run at all (workflow gone, bad values)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def _export(files: list[Path], folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copy2(file, folder / file.name)
    except OSError as exc:
        log.warning("could not copy results to EXPORT_PATH %s: %s", folder, exc)
