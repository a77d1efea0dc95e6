"""A job's life in one table: which state may follow which, and the in-flight phases in memory.

Every state change goes through `Scheduler.transition`, which checks the move here, writes the
store (retrying with backoff until the database answers), updates the job in memory, then
publishes, in that order. A move not in `MOVES` is a bug and raises `IllegalMove`.

    QUEUED    -> SUBMITTED   dispatched: stored with its prompt_id before the POST to ComfyUI
    QUEUED    -> CANCELLED   cancelled while waiting
    QUEUED    -> FAILED      cannot run at all (its workflow was removed or no longer takes its values)
    SUBMITTED -> RUNNING     ComfyUI started it
    SUBMITTED -> DONE        finished before we saw it start (recovered after a restart)
    SUBMITTED -> QUEUED      taken back (pause), lost by ComfyUI, or its backend went away: waits again
    SUBMITTED -> FAILED      ComfyUI refused or failed it, or out of attempts
    SUBMITTED -> CANCELLED   deleted from ComfyUI's queue
    RUNNING   -> DONE        its images are stored
    RUNNING   -> QUEUED      ComfyUI crashed or lost it mid-run: runs again (another attempt)
    RUNNING   -> FAILED      ComfyUI failed it, or out of attempts
    RUNNING   -> CANCELLED   interrupted in ComfyUI
    DONE, FAILED, CANCELLED  final: nothing follows. Delivery (`Job.delivered_at`) is not a state:
                             the outbox marks a final job once its user was told.
"""
from __future__ import annotations

import enum

from core.errors import CoreError
from core.jobs import JobState

Q, S, R = JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING
DONE, FAILED, CANCELLED = JobState.DONE, JobState.FAILED, JobState.CANCELLED

MOVES: dict[JobState, frozenset[JobState]] = {
    Q: frozenset({S, CANCELLED, FAILED}),
    S: frozenset({R, DONE, Q, FAILED, CANCELLED}),
    R: frozenset({DONE, Q, FAILED, CANCELLED}),
    DONE: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


class IllegalMove(CoreError):
    """A state change the lifecycle table does not allow (a bug in the caller)."""


def allowed(current: JobState, new: JobState) -> bool:
    return new in MOVES[current]


def check_move(job_id: int, current: JobState, new: JobState) -> None:
    if not allowed(current, new):
        raise IllegalMove(f"job {job_id} cannot go from {current.value} to {new.value}")


class Phase(enum.Enum):
    """Where the scheduler has a job in memory (finer than its stored state, never stored)."""
    WAITING = "waiting"          # in our waiting list                               (QUEUED)
    PREPARING = "preparing"      # taken for a backend: storing, uploading, filling   (QUEUED/SUBMITTED)
    SENT = "sent"                # posted: pending in ComfyUI's queue                  (SUBMITTED)
    RUNNING = "running"          # ComfyUI executes it                                 (SUBMITTED/RUNNING)
    FETCHING = "fetching"        # ComfyUI finished it: downloading and storing images (SUBMITTED/RUNNING)
    CANCELLING = "cancelling"    # being removed from ComfyUI; CANCELLED follows
    ENDED = "ended"              # its final state is stored

    @property
    def cancellable(self) -> bool:
        return self not in (Phase.FETCHING, Phase.CANCELLING, Phase.ENDED)
