"""Which waiting job a backend runs next: the one whose model it already holds, within a fairness bound.

Loading a model costs seconds (a Flux GGUF with its T5 encoder, Z-Image with its Qwen encoder do not
both fit on a 12-16 GB card), so first come first served pays a load for nearly every job of a
mixed queue. Here, among the jobs allowed to run next, a backend takes the first one whose model
it holds; failing that, the first one whose model no other backend holds (so the jobs another
backend is warm for stay with it); failing that, the first in line.

The rules, in order:
- Priorities come first: only jobs of the best priority waiting are considered.
- No job is passed over by more than `max_bypass` later jobs, nor more than `max_extra_wait_s`
  after its first-come turn (the first time it was first in line and another job went instead).
  A job at either limit is the last one a backend may look at. 0 turns that limit off.
- A backend whose loaded model is not known (its memory report is missing or makes no sense)
  runs jobs first come first served.

Pure: no I/O, no clock of its own. `choose` + `take` are what the scheduler does each time a
backend has room; `plan` replays them forward to say the order jobs will run in, and when.
"""
from __future__ import annotations

import heapq
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

log = logging.getLogger(__name__)

Model = frozenset[str]          # the model files a job's workflow loads (see `model_of`)

MAX_BYPASS_LIMIT = 10_000
MAX_EXTRA_WAIT_LIMIT_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Fairness:
    model_aware: bool = True          # False: first come first served
    max_bypass: int = 8               # later jobs that may go before a job (0: no limit)
    max_extra_wait_s: float = 90.0    # seconds a job may wait past its first-come turn (0: no limit)

    def __post_init__(self) -> None:
        if not isinstance(self.max_bypass, int) or not 0 <= self.max_bypass <= MAX_BYPASS_LIMIT:
            raise ValueError(f"MAX_BYPASS must be a whole number from 0 (no limit) to {MAX_BYPASS_LIMIT}, "
                             f"got {self.max_bypass!r}")
        if (not isinstance(self.max_extra_wait_s, (int, float)) or not math.isfinite(self.max_extra_wait_s)
                or not 0 <= self.max_extra_wait_s <= MAX_EXTRA_WAIT_LIMIT_S):
            raise ValueError(f"MAX_EXTRA_WAIT_S must be seconds from 0 (no limit) to {MAX_EXTRA_WAIT_LIMIT_S:g} "
                             f"(a week), got {self.max_extra_wait_s!r}")

    @property
    def bounded(self) -> bool:
        return bool(self.max_bypass or self.max_extra_wait_s)


@dataclass(slots=True)
class Waiting:
    """A waiting job as dispatch sees it. `line` lists them in first-come order (priority, then arrival)."""
    job_id: int
    priority: int
    model: Model
    workflow: str = ""
    bypassed: int = 0                 # later jobs that went before it
    turn_at: float | None = None      # its first-come turn: first time it was first in line and passed over


@dataclass(slots=True)
class BackendView:
    name: str
    loaded: Model | None = None       # the model it last ran (None: nothing, or not known)
    known: bool = True                # False: its memory report cannot be trusted, first come first served


def model_of(graph: dict) -> Model:
    """The model files a ComfyUI graph's loader nodes name (unet_name, clip_name1, vae_name, ckpt_name...)."""
    files = set()
    for node in graph.values():
        if not isinstance(node, dict) or "Loader" not in str(node.get("class_type", "")):
            continue
        for name, value in (node.get("inputs") or {}).items():
            if isinstance(value, str) and _is_model_input(name) and "." in value:
                files.add(value)
    return frozenset(files)


def _is_model_input(name: str) -> bool:
    base = name.rstrip("0123456789")
    return base.endswith("_name") and base != "_name"


def at_limit(job: Waiting, now: float, fairness: Fairness) -> bool:
    """The job may not be passed over again."""
    if fairness.max_bypass and job.bypassed >= fairness.max_bypass:
        return True
    return bool(fairness.max_extra_wait_s and job.turn_at is not None
                and now - job.turn_at >= fairness.max_extra_wait_s)


def choose(line: Sequence[Waiting], backend: BackendView, others: Sequence[BackendView], now: float,
           fairness: Fairness, skip: frozenset[int] | set[int] = frozenset()) -> int | None:
    """The index in `line` of the job `backend` should run next (None: nothing it may run).
    Jobs in `skip` are not for this backend; they are neither chosen nor counted as passed over."""
    first = elsewhere_free = None
    top = None
    aware = fairness.model_aware and backend.known
    held_elsewhere = {b.loaded for b in others if b.known and b.loaded} if aware else set()
    for index, job in enumerate(line):
        if top is None:
            top = job.priority
        elif job.priority != top:
            break                                  # never past a better priority
        if job.job_id in skip:
            continue
        if first is None:
            first = index
            if not aware:
                return index
        if job.model and job.model == backend.loaded:
            return index
        if elsewhere_free is None and job.model not in held_elsewhere:
            elsewhere_free = index
        if at_limit(job, now, fairness):
            break                                  # passing it again would break the bound
    return elsewhere_free if elsewhere_free is not None else first


def take(line: list[Waiting], index: int, now: float, skip: frozenset[int] | set[int] = frozenset()) -> Waiting:
    """Remove and return line[index]; every job it passed over counts it (the first one in line
    starts its extra-wait clock)."""
    chosen = line.pop(index)
    passed = [job for job in line[:index] if job.job_id not in skip]
    for job in passed:
        job.bypassed += 1
    if passed and passed[0].turn_at is None:      # it was the first-come choice: its turn was now
        passed[0].turn_at = now
    return chosen


@dataclass(frozen=True)
class Planned:
    job_id: int
    backend: str
    start_s: float      # from now
    end_s: float
    loads: bool         # it pays a model load first


@dataclass(order=True)
class _Busy:
    free_at: float
    order: int
    view: BackendView = field(compare=False)


Cost = Callable[[Waiting, str, bool], float]     # (job, backend name, pays a load) -> seconds


def plan(line: Sequence[Waiting], backends: Sequence[tuple[BackendView, float]], now: float,
         fairness: Fairness, cost: Cost) -> list[Planned]:
    """The order the waiting jobs will run in if nothing changes: each backend, when it frees up
    (`backends` gives each one's view and seconds until it takes its next job), takes what
    `choose` gives it. Works on copies; `line` and the views are left as they are."""
    views = [replace(view) for view, _ in backends]
    heap = [_Busy(max(0.0, free_in), n, view) for n, (view, (_, free_in)) in enumerate(zip(views, backends))]
    heapq.heapify(heap)
    planned: list[Planned] = []
    # One model (or none) waiting, or first come first served: the order is the line's, only the
    # times need working out (long queues of one model skip the choosing).
    in_line_order = not fairness.model_aware or len({job.model for job in line}) <= 1
    in_order = iter(line)
    remaining = [] if in_line_order else [replace(job) for job in line]
    while heap:
        busy = heapq.heappop(heap)
        if in_line_order:
            job = next(in_order, None)
            if job is None:
                break
        else:
            at = now + busy.free_at
            index = choose(remaining, busy.view, [b.view for b in heap], at, fairness)
            if index is None:
                break
            job = take(remaining, index, at)
        loads = bool(job.model) and job.model != busy.view.loaded
        seconds = max(0.0, cost(job, busy.view.name, loads))
        planned.append(Planned(job.job_id, busy.view.name, busy.free_at, busy.free_at + seconds, loads))
        busy.view.loaded = job.model or busy.view.loaded
        busy.free_at += seconds
        heapq.heappush(heap, busy)
    return planned


class Dispatcher:
    """The scheduler's dispatch state: each waiting job's fairness record and model, what each
    backend holds and whether its memory report can be trusted. The scheduler keeps the line
    (the waiting order by priority and arrival) and asks `pick` which job a backend takes."""

    def __init__(self, fairness: Fairness) -> None:
        self.fairness = fairness
        self.jobs: dict[int, Waiting] = {}
        self.models: Counter[Model] = Counter()       # waiting jobs per model
        self.backends: dict[str, BackendView] = {}

    def backend(self, name: str) -> BackendView:
        view = self.backends.get(name)
        if view is None:
            view = self.backends[name] = BackendView(name)
        return view

    def wait(self, job_id: int, priority: int, model: Model, workflow: str = "") -> None:
        """A job joins the line (again after a pause or a retry: its record starts anew), or its
        priority changed."""
        job = self.jobs.get(job_id)
        if job is None:
            job = self.jobs[job_id] = Waiting(job_id, priority, model, workflow)
            self.models[model] += 1
        job.priority = priority

    def leave(self, job_id: int) -> None:
        """Out of the line: it ended, or a backend took it."""
        job = self.jobs.pop(job_id, None)
        if job is not None:
            self.models[job.model] -= 1
            if self.models[job.model] <= 0:
                del self.models[job.model]

    @property
    def in_line_order(self) -> bool:
        """Jobs run in line order: first come first served, or one model (or none) waiting."""
        return not self.fairness.model_aware or len(self.models) <= 1

    def pick(self, backend: str, line: Iterable[int], others: Iterable[str], now: float,
             skip: frozenset[int] | set[int] = frozenset()) -> int | None:
        """The job `backend` takes now (None: none it may take). The jobs it passes over count it,
        and the backend is taken to hold the chosen job's model from now on."""
        view = self.backend(backend)
        waiting = [self.jobs[job_id] for job_id in line]
        others = [self.backend(name) for name in others if name != backend]
        index = choose(waiting, view, others, now, self.fairness, skip)
        if index is None:
            return None
        job = take(waiting, index, now, skip)
        self.leave(job.job_id)
        if job.model:
            view.loaded = job.model
        return job.job_id

    def line(self, line: Iterable[int]) -> list[Waiting]:
        return [self.jobs[job_id] for job_id in line]

    def forget_models(self, backend: str) -> None:
        """Its memory was emptied (/free, a restart): it holds nothing now."""
        self.backend(backend).loaded = None

    def memory_report(self, backend: str, vram_total: int | None, vram_free: int | None) -> bool:
        """What /system_stats says of its GPU memory. Missing or impossible figures: the backend's
        model cannot be known, so it runs first come first served (logged once). Returns whether
        the report can be trusted."""
        view = self.backend(backend)
        known = (isinstance(vram_total, int) and isinstance(vram_free, int) and vram_total > 0
                 and 0 <= vram_free <= vram_total)
        if view.known and not known:
            log.warning("ComfyUI %s reports no usable GPU memory figures (vram_total=%r, vram_free=%r): "
                        "its jobs run first come first served", backend, vram_total, vram_free)
        elif known and not view.known:
            log.info("ComfyUI %s reports its GPU memory again: model-aware dispatch there", backend)
        view.known = known
        return known
