"""The host's GPU: "I need my GPU" and "Share my GPU again".

The bot shares the host's own PC. When the host needs the GPU (the tray action, a weekly schedule
such as weekday evenings, or a program they named, a game, starting), the queue holds: the job
running in ComfyUI finishes, the rest wait, and ComfyUI is asked to unload its models and free
its memory (`POST /free`). Waiting users are told the host is using the GPU and when it comes
back, when that is known (the end of a schedule window), or "soon". When every reason is gone
the queue runs again.

`HostGpu` owns that state; `Schedule` reads the schedule setting; `running_programs` lists the
processes (psutil) and is replaced in tests by a fake list.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol

from comfy.errors import ComfyError
from core.tasks import TaskManager

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(r"^(?P<days>[a-z,\-\s]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")
_SCHEDULE_HELP = ("write it like 'mon-fri 18:00-23:00; sat,sun 10:00-14:00' (days: mon tue wed thu fri sat sun, "
                  "a range like mon-fri, or daily; 24-hour times; an end before the start runs past midnight)")


class Reason(StrEnum):
    MANUAL = "manual"          # the tray action
    SCHEDULE = "schedule"      # HOST_GPU_SCHEDULE
    PROGRAM = "program"        # a program named in HOST_GPU_PROGRAMS is running


@dataclass(frozen=True)
class HostGpuChanged:
    """Published when the host takes the GPU or shares it again (and when what users are told changes)."""
    in_use: bool
    reasons: tuple[Reason, ...]
    back_at: datetime | None          # when the GPU is shared again, when known (a schedule window's end)
    freed: bool | None = None         # taken: did every ComfyUI free its memory? None while sharing
    not_freed: tuple[str, ...] = ()   # the ComfyUIs that did not free their memory (why: in the log)


# ---- the schedule ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    day: int          # 0 = Monday, the day the window starts
    start: time
    minutes: int      # length; may run past midnight


@dataclass(frozen=True)
class Schedule:
    windows: tuple[Window, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> "Schedule":
        """'mon-fri 18:00-23:00; sat,sun 10:00-14:00'. ValueError saying how to write it otherwise."""
        windows: list[Window] = []
        for raw in re.split(r"[;\n]", (text or "").strip().lower()):
            entry = raw.strip()
            if not entry:
                continue
            match = _ENTRY.match(entry)
            if not match:
                raise ValueError(f"{raw.strip()!r} is not a schedule entry; {_SCHEDULE_HELP}")
            start, end = _clock(match["start"], entry), _clock(match["end"], entry)
            minutes = (end - start) % (24 * 60) or 24 * 60
            for day in _days(match["days"], entry):
                windows.append(Window(day, time(start // 60, start % 60), minutes))
        return cls(tuple(windows))

    def __bool__(self) -> bool:
        return bool(self.windows)

    def active_until(self, now: datetime) -> datetime | None:
        """The end of the window `now` is in (following windows that continue it), None outside."""
        end = None
        for _ in range(len(self.windows) + 1):
            probe = end or now
            ends = [e for e in (self._end_if_inside(w, probe) for w in self.windows) if e is not None and e > probe]
            if not ends:
                break
            end = max(ends)
        return end

    @staticmethod
    def _end_if_inside(window: Window, moment: datetime) -> datetime | None:
        for back in (0, 1, 2):      # a window may have started on one of the last days
            day = moment.date() - timedelta(days=back)
            if day.weekday() != window.day:
                continue
            start = datetime.combine(day, window.start, tzinfo=moment.tzinfo)
            end = start + timedelta(minutes=window.minutes)
            if start <= moment < end:
                return end
        return None


def _clock(text: str, entry: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"{text!r} in {entry!r} is not a time of day (00:00 to 24:00); {_SCHEDULE_HELP}")
    return hours * 60 + minutes


def _days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if part in ("daily", "every day", "*"):
            days += range(7)
            continue
        first, _, last = (p.strip()[:3] for p in part.partition("-"))
        for name in (first, last or first):
            if name not in DAYS:
                raise ValueError(f"unknown day {name!r} in {entry!r}; {_SCHEDULE_HELP}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days += [(a + n) % 7 for n in range(((b - a) % 7) + 1)]
    return sorted(set(days))


def program_names(text: Any) -> tuple[str, ...]:
    """HOST_GPU_PROGRAMS: 'eldenring.exe, cs2' -> ('eldenring', 'cs2') (compared without case or .exe)."""
    items = text if isinstance(text, (list, tuple)) else re.split(r"[,;\n]", str(text or ""))
    return tuple(dict.fromkeys(_plain(str(i)) for i in items if str(i).strip()))


def _plain(name: str) -> str:
    name = name.strip().lower()
    return name[:-4] if name.endswith(".exe") else name


def running_programs() -> list[str]:
    """The names of the processes running now (psutil; blocking, run it in a thread)."""
    import psutil
    names = []
    for process in psutil.process_iter(["name"]):
        name = process.info.get("name")
        if name:
            names.append(name)
    return names


# ---- the controller -------------------------------------------------------------------------

class Queue(Protocol):
    """What HostGpu needs of the job queue (JobService)."""
    paused: bool

    async def hold(self, held: bool) -> None: ...     # pause / resume, not stored


class Freeable(Protocol):
    base_url: str

    async def free(self, unload_models: bool = True, free_memory: bool = True) -> None: ...


class HostGpu:
    """Whether the host has the GPU now, and why; holds and releases the queue accordingly."""

    def __init__(self, *, queue: Queue, backends: Callable[[], Sequence[Freeable]], publish: Callable[[Any], None],
                 clock: Callable[[], datetime], schedule: Schedule = Schedule(), programs: Iterable[str] = (),
                 list_programs: Callable[[], Iterable[str]] = running_programs, check_every_s: float = 30.0) -> None:
        self._queue = queue
        self._backends = backends
        self._publish = publish
        self._clock = clock
        self.schedule = schedule
        self.programs = program_names(tuple(programs))
        self._list_programs = list_programs
        self.reasons: set[Reason] = set()
        # The host shared the GPU by hand while the schedule or a program held it: that window (until
        # its end) or that program run (until it stops) no longer counts.
        self._schedule_ignored_until: datetime | None = None
        self._program_ignored = False
        self.freed: bool | None = None
        self.not_freed: tuple[str, ...] = ()
        self._paused_by_us = False
        self._lock = asyncio.Lock()
        self.check_every_s = check_every_s
        self._tasks = TaskManager("host GPU")

    async def start(self) -> None:
        """Look at the schedule and programs now and then every `check_every_s` (when any is set)."""
        if self.watching:
            await self.check()
            self._tasks.spawn(self._watch(), name="schedule and programs")

    async def stop(self) -> None:
        await self._tasks.close()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_s)
            try:
                await self.check()
            except Exception:       # never stop watching over one bad look
                log.exception("checking the host's GPU schedule and programs failed")

    @property
    def in_use(self) -> bool:
        return bool(self.reasons)

    @property
    def watching(self) -> bool:
        """Something to look at every minute: a schedule or programs."""
        return bool(self.schedule) or bool(self.programs)

    def back_at(self) -> datetime | None:
        """When the GPU will be shared again, when known: only the schedule says so."""
        if self.reasons == {Reason.SCHEDULE}:
            return self.schedule.active_until(self._clock())
        return None

    def state(self) -> HostGpuChanged:
        return HostGpuChanged(self.in_use, tuple(sorted(self.reasons)), self.back_at(),
                              self.freed if self.in_use else None, self.not_freed if self.in_use else ())

    async def take(self, reason: Reason = Reason.MANUAL) -> HostGpuChanged:
        """ "I need my GPU" (or the schedule, or a program): hold the queue and free the GPU."""
        async with self._lock:
            return await self._set(reason, True)

    async def give_back(self, reason: Reason = Reason.MANUAL) -> HostGpuChanged:
        """ "Share my GPU again": the queue runs again once no other reason holds it."""
        async with self._lock:
            if reason == Reason.MANUAL:          # the host's word beats the schedule and programs, until they change
                if Reason.SCHEDULE in self.reasons:
                    self._schedule_ignored_until = self.schedule.active_until(self._clock())
                self._program_ignored = Reason.PROGRAM in self.reasons
                changed = bool(self.reasons)
                self.reasons.clear()
                return await self._apply(was_in_use=changed)
            return await self._set(reason, False)

    async def check(self) -> HostGpuChanged:
        """Look at the schedule and the programs now (the app calls this every minute)."""
        now = self._clock()
        in_window = bool(self.schedule) and self.schedule.active_until(now) is not None
        program = bool(self.programs) and await self._program_running()
        async with self._lock:
            if self._schedule_ignored_until is not None and now >= self._schedule_ignored_until:
                self._schedule_ignored_until = None
            self._program_ignored = self._program_ignored and program
            wanted = {Reason.SCHEDULE: in_window and self._schedule_ignored_until is None,
                      Reason.PROGRAM: program and not self._program_ignored}
            state = self.state()
            for reason, active in wanted.items():
                if active != (reason in self.reasons):
                    state = await self._set(reason, active)
            return state

    async def _program_running(self) -> bool:
        try:
            names = await asyncio.to_thread(lambda: list(self._list_programs()))
        except Exception as exc:     # psutil missing or refused: the other reasons still work
            log.warning("could not list the running programs: %s", exc)
            return False
        return any(_plain(name) in self.programs for name in names)

    async def _set(self, reason: Reason, active: bool) -> HostGpuChanged:
        was_in_use = self.in_use
        (self.reasons.add if active else self.reasons.discard)(reason)
        return await self._apply(was_in_use)

    async def _apply(self, was_in_use: bool) -> HostGpuChanged:
        if self.in_use and not was_in_use:
            if not self._queue.paused:
                await self._queue.hold(True)     # the running job finishes; the rest come back to wait
                self._paused_by_us = True
            self.not_freed = await self._free_all()
            self.freed = not self.not_freed
            log.info("the host is using the GPU (%s)", ", ".join(sorted(self.reasons)))
        elif was_in_use and not self.in_use:
            if self._paused_by_us and self._queue.paused:
                await self._queue.hold(False)
            self._paused_by_us = False
            self.freed, self.not_freed = None, ()
            log.info("the host shares the GPU again")
        state = self.state()
        self._publish(state)
        return state

    async def _free_all(self) -> tuple[str, ...]:
        """Ask every ComfyUI to unload its models and free its memory (it does so once the running
        job ends); the ones that did not. The queue stays held whatever the answer; the host is
        told which failed (in their language), the log says why."""
        not_freed = []
        for backend in self._backends():
            try:
                await backend.free(unload_models=True, free_memory=True)
            except ComfyError as exc:
                log.warning("GPU memory could not be freed on %s: %s", backend.base_url, exc)
                not_freed.append(backend.base_url)
        return tuple(not_freed)
