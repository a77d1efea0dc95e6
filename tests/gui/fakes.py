"""In-memory stand-ins for the services the GUI calls, with the real JobService's signatures and
types (JobRefused, Accepted, WorkflowInfo) but none of its database or ComfyUI.

They publish the same core events on a real EventBus, so the GUI under test sees exactly what it
sees in the app, and tests can drive a job step by step (start_next, progress, finish). Used by the
GUI tests and the GUI benchmark; tests/gui/test_integration.py runs the GUI on the real JobService.
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.errors import JobRefused
from core.events import EventBus
from core.jobservice import WorkflowInfo
from core.status import BotStateChanged
from core.jobs import (Accepted, BackendSnapshot, Job, JobCancelled, JobFailed, JobFinished, JobPositionChanged, JobProgress,
                       JobQueued, JobRequest, JobStarted, JobState, Priority, QueuePausedChanged, QueueSnapshot,
                       RefusalCode)


@dataclass
class FakeJobService:
    bus: EventBus
    images_dir: Path | None = None
    paused: bool = False
    calls: list[tuple] = field(default_factory=list)
    _jobs: dict[int, Job] = field(default_factory=dict)
    _order: list[int] = field(default_factory=list)        # waiting + active, run order
    _finished: list[Job] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    backend: str = "http://127.0.0.1:8188"
    backend_healthy: bool = True
    store_ok: bool = True

    # ---- contract ----
    async def submit(self, request: JobRequest) -> Accepted:
        self.calls.append(("submit", request))
        if not request.prompt.strip() and request.input_image is None:   # upscale/vary may go without
            raise JobRefused(RefusalCode.EMPTY_PROMPT, "The prompt is empty.")
        job = Job(id=next(self._ids), request=request, state=JobState.QUEUED,
                  priority=Priority.ADMIN if request.is_admin else Priority.USER,
                  created_at=datetime.now(timezone.utc))
        self._jobs[job.id] = job
        self._order.append(job.id)
        self._sort()
        position = self.position(job.id)
        self.bus.publish(JobQueued(job.id, job.user_id, job=job, position=position))
        self._publish_snapshot()
        return Accepted(job=job, position=position, eta_s=None, paused=self.paused)

    async def cancel(self, job_id: int, *, by_user_id: int | None = None, is_admin: bool = False) -> Job:
        self.calls.append(("cancel", job_id))
        job = self._jobs.get(job_id)
        if job is None or job.state.is_final:
            raise JobRefused(RefusalCode.NOT_FOUND, f"Job {job_id} is not in the queue.")
        job.state = JobState.CANCELLED
        job.finished_at = datetime.now(timezone.utc)
        self._order.remove(job_id)
        self.bus.publish(JobCancelled(job.id, job.user_id, job=job, by_user_id=by_user_id))
        self._publish_snapshot()
        self._announce_positions()
        return job

    async def move(self, job_id: int, steps: int) -> None:
        self.calls.append(("move", job_id, steps))
        waiting = self._waiting()
        at = waiting.index(job_id)
        to = max(0, min(len(waiting) - 1, at + steps))
        waiting.insert(to, waiting.pop(at))
        active = [i for i in self._order if self._jobs[i].state is not JobState.QUEUED]
        self._order = active + waiting
        self._announce_positions()

    async def set_priority(self, job_id: int, priority: int) -> None:
        self.calls.append(("set_priority", job_id, priority))
        self._jobs[job_id].priority = priority
        self._sort()
        self._announce_positions()

    async def pause(self) -> None:
        self.calls.append(("pause",))
        self.paused = True
        self.bus.publish(QueuePausedChanged(True))
        self._publish_snapshot()

    async def resume(self) -> None:
        self.calls.append(("resume",))
        self.paused = False
        self.bus.publish(QueuePausedChanged(False))
        self._publish_snapshot()

    def queued(self) -> list[Job]:
        return [self._jobs[i] for i in self._order]

    def position(self, job_id: int) -> int | None:
        waiting = self._waiting()
        return waiting.index(job_id) + 1 if job_id in waiting else None

    def eta_s(self, job_id: int) -> float | None:
        position = self.position(job_id)
        return None if position is None else position * 4.0

    def active_count(self, user_id: int) -> int:
        return sum(1 for i in self._order if self._jobs[i].user_id == user_id)

    async def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    async def recent(self, limit: int = 50) -> list[Job]:
        return list(reversed(self._finished))[:limit]

    async def undelivered(self, source: str | None = None) -> list[Job]:
        return [job for job in self._finished
                if job.delivered_at is None and (source is None or job.request.source == source)]

    async def mark_delivered(self, job_id: int) -> None:
        self.calls.append(("mark_delivered", job_id))
        for job in self._finished:
            if job.id == job_id and job.delivered_at is None:
                job.delivered_at = datetime.now(timezone.utc)

    def backend_status(self) -> list[tuple[str, bool]]:
        return [(self.backend, self.backend_healthy)]

    def snapshot(self) -> QueueSnapshot:
        running = [i for i in self._order if self._jobs[i].state is JobState.RUNNING]
        pending = tuple(i for i in self._order if self._jobs[i].state is JobState.SUBMITTED)
        backend = BackendSnapshot(self.backend, self.backend_healthy, "" if self.backend_healthy else "not answering",
                                  running[0] if running else None, pending)
        return QueueSnapshot(tuple(self._waiting()), (backend,), self.paused, self.store_ok)

    def set_health(self, *, backend: bool | None = None, store: bool | None = None) -> None:
        """What the scheduler's health records would report (the snapshot follows)."""
        if backend is not None:
            self.backend_healthy = backend
        if store is not None:
            self.store_ok = store
        self._publish_snapshot()

    def workflows(self) -> list[WorkflowInfo]:
        return [WorkflowInfo("flux_schnell", "Flux Schnell", "imagine"),
                WorkflowInfo("z_image_turbo", "Z-Image Turbo", "imagine")]

    def set_workflows(self, workflows) -> None:
        self.calls.append(("set_workflows", sorted(workflows.templates)))

    # ---- driving it (what the scheduler and ComfyUI would do) ----
    def start_next(self) -> Job | None:
        waiting = self._waiting()
        if not waiting:
            return None
        job = self._jobs[waiting[0]]
        job.state = JobState.RUNNING
        job.started_at = datetime.now(timezone.utc)
        job.backend = self.backend
        self.bus.publish(JobStarted(job.id, job.user_id, job=job, backend=self.backend))
        self._publish_snapshot()
        self._announce_positions()
        return job

    def progress(self, job_id: int, value: int, maximum: int, preview: bytes | None = None) -> None:
        job = self._jobs[job_id]
        self.bus.publish(JobProgress(job.id, job.user_id, value=value, max=maximum, preview=preview,
                                     preview_mime="image/png" if preview else None))

    def finish(self, job_id: int, images: tuple[Path, ...] = ()) -> None:
        job = self._jobs[job_id]
        job.state = JobState.DONE
        job.finished_at = datetime.now(timezone.utc)
        job.outputs = list(images)
        self._order.remove(job_id)
        self._finished.append(job)
        self.bus.publish(JobFinished(job.id, job.user_id, job=job, images=tuple(images),
                                     queue_wait_s=job.queue_wait_s or 0.0, generation_s=job.generation_s or 0.0,
                                     seed=job.seed, backend=self.backend))
        self._publish_snapshot()

    def fail(self, job_id: int, code: str = "comfy_error", text: str = "ComfyUI rejected the workflow") -> None:
        job = self._jobs[job_id]
        job.state = JobState.FAILED
        job.error_code, job.error_text = code, text
        self._order.remove(job_id)
        self.bus.publish(JobFailed(job.id, job.user_id, job=job, code=code, text=text))
        self._publish_snapshot()

    def age(self, job_id: int, seconds: float) -> None:
        """Pretend the job was created `seconds` earlier (for realistic wait times in screenshots)."""
        job = self._jobs[job_id]
        job.created_at -= timedelta(seconds=seconds)
        if job.started_at:
            job.started_at -= timedelta(seconds=seconds / 4)

    # ---- internals ----
    def _publish_snapshot(self) -> None:
        self.bus.publish(self.snapshot())

    def _waiting(self) -> list[int]:
        return [i for i in self._order if self._jobs[i].state is JobState.QUEUED]

    def _sort(self) -> None:
        active = [i for i in self._order if self._jobs[i].state is not JobState.QUEUED]
        waiting = sorted(self._waiting(), key=lambda i: self._jobs[i].priority)  # stable: FIFO per priority
        self._order = active + waiting

    def _announce_positions(self) -> None:
        waiting = self._waiting()
        for position, job_id in enumerate(waiting, 1):
            job = self._jobs[job_id]
            self.bus.publish(JobPositionChanged(job_id, job.user_id, position=position,
                                                queue_length=len(waiting), eta_s=position * 4.0))


class FakeBot:
    """Behaves like bot.runner.BotRunner: a refused token is published as BotStateChanged, then raised."""

    def __init__(self, connected: bool = True, fail_with: str | None = None, bus: EventBus | None = None) -> None:
        self.connected = connected
        self.fail_with = fail_with
        self.bus = bus
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")
        await asyncio.sleep(0)
        if self.fail_with:
            if self.bus is not None:
                self.bus.publish(BotStateChanged(False, self.fail_with, token_rejected=True))
            raise RuntimeError(self.fail_with)
        self.connected = True

    async def stop(self) -> None:
        self.calls.append("stop")
        self.connected = False

    def is_connected(self) -> bool:
        return self.connected


def make_request(n: int, *, user: str | None = None, prompt: str | None = None, workflow: str = "flux_schnell",
                 is_admin: bool = False, source: str = "discord") -> JobRequest:
    return JobRequest(user_id=1000 + n, user_name=user or f"user{n}", workflow=workflow,
                      prompt=prompt or f"a watercolour fox number {n} in a snowy forest", is_admin=is_admin,
                      source=source)
