"""What crosses the core boundary: job requests, jobs, refusals and the events the queue publishes.

The bot and the GUI build a `JobRequest`, hand it to `JobService.submit`, and from then on only
observe these events on the `EventBus`. Everything here is plain data.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from comfy.workflows import FillParams, LoraChoice


class JobState(enum.StrEnum):
    QUEUED = "queued"          # stored, waiting in our queue
    SUBMITTED = "submitted"    # posted to ComfyUI, waiting in ComfyUI's own queue
    RUNNING = "running"        # ComfyUI is executing it
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class Priority(enum.IntEnum):
    """Lower runs first. Role priorities from settings may use any int in between."""
    ADMIN = 0
    ROLE = 50
    USER = 100


@dataclass(frozen=True)
class JobRequest:
    """Everything a caller knows about a request. `input_image` is raw attachment bytes (edit only)."""
    user_id: int
    user_name: str
    workflow: str                      # workflow name (file stem in flujos/)
    prompt: str
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    seed: int | None = None            # None: random
    batch_size: int | None = None
    input_image: bytes | None = None
    input_image_name: str | None = None
    source: str = "discord"            # "discord" | "tray"
    guild_id: int | None = None
    channel_id: int | None = None      # where feedback goes (the user's session channel)
    role_ids: tuple[int, ...] = ()
    is_admin: bool = False
    locale: str = "en"
    parent_job_id: int | None = None   # reroll / edit of an earlier result
    spoiler: bool = False              # show the result as a spoiler (the server's rule for where it was asked)
    loras: tuple[tuple[str, float | None], ...] = ()   # (file, strength or None) for the workflow's LoRA slots, in order
    steps: int | None = None           # None: the workflow's own
    cfg: float | None = None

    def fill_params(self, *, seed: int | None, image: str | None) -> FillParams:
        """What the workflow is filled with for this request (the dry fill at submit and the real one)."""
        return FillParams(prompt=self.prompt, negative_prompt=self.negative_prompt or None, seed=seed,
                          width=self.width, height=self.height, batch_size=self.batch_size, image=image,
                          steps=self.steps, cfg=self.cfg,
                          loras=[LoraChoice(name, strength) for name, strength in self.loras] or None)


@dataclass
class Job:
    id: int
    request: JobRequest
    state: JobState
    priority: int
    created_at: datetime
    seed: int | None = None            # the seed actually used, once filled
    backend: str | None = None         # ComfyUI base URL it ran on
    prompt_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    error_code: str | None = None
    error_text: str | None = None
    outputs: list[Path] = field(default_factory=list)
    feedback_message_id: int | None = None   # the bot's live status message (set_feedback_message)
    delivered_at: datetime | None = None     # the outbox: when its result or failure reached the user

    @property
    def user_id(self) -> int:
        return self.request.user_id

    @property
    def workflow(self) -> str:
        return self.request.workflow

    @property
    def queue_wait_s(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.created_at).total_seconds()

    @property
    def generation_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def snapshot(self) -> Job:
        """What goes into an event or an answer: a copy the scheduler will not change afterwards."""
        return replace(self, outputs=list(self.outputs))


class RefusalCode(enum.StrEnum):
    UNKNOWN_WORKFLOW = "unknown_workflow"
    WORKFLOW_DISABLED = "workflow_disabled"
    WRONG_KIND = "wrong_kind"              # /edit with an imagine workflow, or the reverse
    EMPTY_PROMPT = "empty_prompt"
    PROMPT_TOO_LONG = "prompt_too_long"
    USER_LIMIT = "user_limit"
    QUEUE_FULL = "queue_full"
    QUEUE_PAUSED = "queue_paused"
    BAD_IMAGE = "bad_image"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_REQUIRED = "image_required"
    BAD_PARAMETER = "bad_parameter"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    DATABASE_UNAVAILABLE = "database_unavailable"   # nothing can be stored now; try again in a minute
    BAD_TEXT = "bad_text"                  # NUL/control characters, broken Unicode, text-direction overrides
    INTERNAL = "internal"                  # a bug on our side; nothing was queued


class FailureCode(enum.StrEnum):
    """Why a job ended FAILED (`JobFailed.code`, `Job.error_code`); the bot translates `failure.<code>`."""
    WORKFLOW_REJECTED = "workflow_rejected"   # ComfyUI refused the graph (missing model, bad node)
    COMFY_ERROR = "comfy_error"               # ComfyUI failed while generating
    INTERRUPTED = "interrupted"               # stopped in ComfyUI by someone else
    RETRIES_EXHAUSTED = "retries_exhausted"   # lost or refused by ComfyUI max_attempts times
    WORKFLOW_MISSING = "workflow_missing"     # the workflow was removed while the job waited
    BAD_PARAMETER = "bad_parameter"           # the workflow (reloaded) no longer takes the job's values
    BAD_OUTPUT = "bad_output"                 # ComfyUI's result is not a usable image
    OUTPUT_UNAVAILABLE = "output_unavailable" # it ran, but its images could not be downloaded
    INTERNAL = "internal"                     # a bug; the log has the details


@dataclass(frozen=True)
class Accepted:
    job: Job
    position: int                      # 1 = next to run
    eta_s: float | None
    paused: bool = False               # accepted while the queue is paused: it waits for resume


# ---- events published on the core EventBus ----

@dataclass(frozen=True)
class JobEvent:
    job_id: int
    user_id: int


@dataclass(frozen=True)
class JobQueued(JobEvent):
    job: Job
    position: int


@dataclass(frozen=True)
class JobPositionChanged(JobEvent):
    """The job's place in our waiting list changed.

    position >= 1: waiting with us (1 = next to leave for ComfyUI).
    position == 0: it left our waiting list for ComfyUI (being sent, or pending in ComfyUI's own
    queue behind the running job); JobStarted follows when ComfyUI starts it. Sent once per
    hand-over, at once (so always before that JobStarted). A job that comes back (pause, retry)
    gets a position >= 1 again.
    """
    position: int
    queue_length: int                  # jobs waiting with us now
    eta_s: float | None


@dataclass(frozen=True)
class JobStarted(JobEvent):
    job: Job
    backend: str


@dataclass(frozen=True)
class JobProgress(JobEvent):
    value: int
    max: int
    preview: bytes | None = None       # latest preview image, if ComfyUI sent one
    preview_mime: str | None = None


@dataclass(frozen=True)
class JobFinished(JobEvent):
    job: Job
    images: tuple[Path, ...]           # metadata-free files in the data folder
    queue_wait_s: float
    generation_s: float
    seed: int | None
    backend: str


@dataclass(frozen=True)
class JobFailed(JobEvent):
    job: Job
    code: FailureCode                  # machine-readable reason
    text: str                          # human text, English; the bot may translate by code


@dataclass(frozen=True)
class JobCancelled(JobEvent):
    job: Job
    by_user_id: int | None


@dataclass(frozen=True)
class QueuePausedChanged:
    paused: bool


@dataclass(frozen=True)
class BackendHealthChanged:
    backend: str
    healthy: bool
    reason: str = ""


@dataclass(frozen=True)
class BackendSnapshot:
    """One ComfyUI backend in a QueueSnapshot."""
    url: str
    healthy: bool
    reason: str                        # why it is up or down, for people
    running: int | None                # the job ComfyUI is executing now
    pending: tuple[int, ...]           # sent there (or being sent), not started yet, in send order


@dataclass(frozen=True)
class QueueSnapshot:
    """The whole queue at one moment: what the bot's /queue and the tray render from.

    Published on the bus whenever something in it changed, coalesced (at most one per
    position interval); `JobService.snapshot()` returns the latest at any time.
    """
    waiting: tuple[int, ...]           # job ids waiting with us, in run order (position = index + 1)
    backends: tuple[BackendSnapshot, ...]
    paused: bool
    store_ok: bool = True              # False while the database is unreachable

    @property
    def queue_length(self) -> int:
        """THE queue length, everywhere: jobs waiting with us (not yet handed to ComfyUI)."""
        return len(self.waiting)

    @property
    def running(self) -> tuple[int, ...]:
        return tuple(b.running for b in self.backends if b.running is not None)

    @property
    def pending(self) -> tuple[int, ...]:
        return tuple(job_id for b in self.backends for job_id in b.pending)

    @property
    def in_comfy(self) -> int:
        """Jobs handed to ComfyUI (running + pending there)."""
        return len(self.running) + len(self.pending)

    def position(self, job_id: int) -> int | None:
        """1 = next to leave for ComfyUI; None when not waiting. O(n): renderers, not hot paths."""
        try:
            return self.waiting.index(job_id) + 1
        except ValueError:
            return None
