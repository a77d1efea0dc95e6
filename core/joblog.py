"""One log line per step of a job's life, for the host reading the Logs window or the log file:
queued, started, finished, failed, cancelled, each with the job, the user, the model and the times.

Subscribed to the core bus by main.py (tray and headless alike); the prompt is left out (it is the
user's, and long).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from core.events import EventBus
from core.jobs import JobCancelled, JobEvent, JobFailed, JobFinished, JobQueued, JobStarted

log = logging.getLogger("core.jobs")


def _who(event) -> str:
    job = event.job
    return f"{job.request.user_name}, {job.workflow}"


def describe(event: JobEvent) -> str | None:
    """The line for `event`, or None for events that are not a step of the job's life."""
    if isinstance(event, JobQueued):
        return f"job #{event.job_id} queued at position {event.position} ({_who(event)})"
    if isinstance(event, JobStarted):
        return f"job #{event.job_id} started on {event.backend} ({_who(event)})"
    if isinstance(event, JobFinished):
        return (f"job #{event.job_id} finished in {event.generation_s:.1f} s after waiting {event.queue_wait_s:.1f} s, "
                f"{len(event.images)} image(s) ({_who(event)})")
    if isinstance(event, JobFailed):
        return f"job #{event.job_id} failed: {event.text} ({_who(event)})"
    if isinstance(event, JobCancelled):
        by = "by an admin" if event.by_user_id not in (None, event.user_id) else "by its user"
        return f"job #{event.job_id} cancelled {by if event.by_user_id is not None else 'in the app'} ({_who(event)})"
    return None


def log_job_lifecycle(bus: EventBus) -> Callable[[], None]:
    """Log every job's steps from now on; returns the unsubscribe function."""
    def on_event(event: JobEvent) -> None:
        line = describe(event)
        if line is not None:
            (log.warning if isinstance(event, JobFailed) else log.info)("%s", line)

    return bus.subscribe(JobEvent, on_event)
