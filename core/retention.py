"""Retention: what the app stores does not grow forever.

- Result images are kept `RESULT_RETENTION_DAYS` (default 30) and, when `RESULT_RETENTION_MAX_GB` is
  set, under that size, the oldest removed first. An image whose job is not delivered yet
  (`jobs.delivered_at` is NULL: its user was not told) is never removed: it may be the only copy.
  Job rows stay (they are small, and History shows them); their image rows and files go. A file
  no row names (left by a crash between writing it and storing it, or between the two steps of a
  removal) goes too, once it is a day old and its job is not running.
- The input image the app uploads to ComfyUI for an edit job is removed from ComfyUI's input folder
  when the job ends, where the app knows that folder (it launches ComfyUI from COMFY_FOLDER:
  `comfy.supervisor.input_folder`). A
  remote ComfyUI keeps those uploads, and ComfyUI's own output folder is never touched.

A pass runs at start and then every `interval_s`, on a task this object owns; the file work runs
in a thread so the event loop never waits for the disk.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, func, select

from core.events import EventBus
from core.jobs import JobCancelled, JobFailed, JobFinished, JobState
from core.paths import AppPaths
from core.store import Database, ImageRow, JobRow
from core.tasks import TaskManager

log = logging.getLogger(__name__)

GB = 1024 ** 3
DEFAULT_INTERVAL_S = 3600.0
UPLOAD_SUBFOLDER = "imagebot"            # in ComfyUI's input folder: only the app's own uploads
_UPLOAD_NAME = re.compile(r"^imagebot_job(\d+)\.png$")
_ACTIVE = (JobState.QUEUED.value, JobState.SUBMITTED.value, JobState.RUNNING.value)
_DELETE_BATCH = 500
STRAY_GRACE_S = 24 * 3600                # a result file no row names yet may still be being stored
_RESULT_NAME = re.compile(r"^job(\d+)_\d+\.\w+$")


def comfy_upload_name(job_id: int) -> tuple[str, str]:
    """(subfolder, file name) under which a job's input image is uploaded to ComfyUI."""
    return UPLOAD_SUBFOLDER, f"imagebot_job{job_id}.png"


@dataclass(frozen=True)
class RetentionPolicy:
    max_age: timedelta
    max_bytes: int | None = None         # None: no size cap

    @classmethod
    def from_settings(cls, settings) -> "RetentionPolicy":
        cap = settings.result_retention_max_gb
        return cls(timedelta(days=settings.result_retention_days), None if cap is None else int(cap * GB))


@dataclass(frozen=True)
class Pruned:
    images: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class _Image:
    id: int
    path: str
    size: int


class Retention:
    def __init__(self, *, db: Database, bus: EventBus, paths: AppPaths, policy: RetentionPolicy,
                 comfy_input_dir: Path | None = None, interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._db = db
        self._bus = bus
        self._paths = paths
        self.policy = policy
        self._uploads_dir = comfy_input_dir / UPLOAD_SUBFOLDER if comfy_input_dir is not None else None
        self.interval_s = interval_s
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._tasks = TaskManager("retention")
        self._unsubscribe: list[Callable[[], None]] = []
        self._loop_task: asyncio.Task | None = None
        self.passes = 0                  # completed passes (tests wait on it)
        self._pass_done = asyncio.Event()

    async def start(self) -> None:
        """Listen for jobs that end, then prune now and every `interval_s` in the background."""
        if self._uploads_dir is not None:
            for kind in (JobFinished, JobFailed, JobCancelled):
                self._unsubscribe.append(self._bus.subscribe(kind, self._on_job_ended))
        self._loop_task = self._tasks.spawn(self._loop(), name="prune")

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await self._tasks.close()

    async def settled(self) -> None:
        """Until the uploads of jobs that ended are removed (tests)."""
        await asyncio.gather(*(t for t in self._tasks.running if t is not self._loop_task), return_exceptions=True)

    async def wait_pass(self, count: int) -> None:
        """Until `count` passes have completed (tests)."""
        while self.passes < count:
            self._pass_done.clear()
            await self._pass_done.wait()

    async def _loop(self) -> None:
        while True:
            try:
                pruned = await self.prune()
                strays = await self.sweep_strays()
                removed_uploads = await self.sweep_uploads()
            except Exception as exc:   # e.g. the database went away: try again next time
                log.warning("cleaning up old result images failed (%s: %s); trying again in %.0f s",
                            type(exc).__name__, exc, self.interval_s)
            else:
                if pruned.images or strays or removed_uploads:
                    log.info("retention: removed %d result image(s) (%.1f MB), %d stray file(s) and %d upload(s) "
                             "from ComfyUI's input folder", pruned.images, pruned.bytes / 1e6, strays, removed_uploads)
            self.passes += 1
            self._pass_done.set()
            await asyncio.sleep(self.interval_s)

    # ---- result images --------------------------------------------------------------------

    async def prune(self) -> Pruned:
        """One pass: remove delivered results older than the policy allows, then the oldest
        delivered ones while all results together are over the size cap."""
        cutoff = self._clock() - self.policy.max_age
        cap = self.policy.max_bytes
        candidates = (select(ImageRow.id, ImageRow.path, ImageRow.size_bytes, ImageRow.created_at)
                      .join(JobRow, JobRow.id == ImageRow.job_id).where(JobRow.delivered_at.is_not(None))
                      .order_by(ImageRow.created_at, ImageRow.id))
        if cap is None:                                   # without a cap only the expired ones matter
            candidates = candidates.where(ImageRow.created_at < cutoff)
        async with self._db.sessions() as session:
            delivered = (await session.execute(candidates)).all()
            total = int(await session.scalar(select(func.coalesce(func.sum(ImageRow.size_bytes), 0))))
        doomed: list[_Image] = []
        for id_, path, size, created in delivered:        # oldest first
            if _aware(created) < cutoff or (cap is not None and total > cap):
                doomed.append(_Image(id_, path, size))
                total -= size
        if cap is not None and total > cap:
            log.warning("result images take %.2f GB, over RESULT_RETENTION_MAX_GB (%.2f GB): the rest belong to "
                        "jobs whose users were not told yet, and are kept until they are", total / GB, cap / GB)
        await self._forget(doomed)
        return Pruned(len(doomed), sum(image.size for image in doomed))

    async def _forget(self, images: list[_Image]) -> None:
        """Rows first, then files: a crash in between leaves a stray file, never a row without one."""
        if not images:
            return
        ids = [image.id for image in images]
        async with self._db.engine.begin() as conn:
            for start in range(0, len(ids), _DELETE_BATCH):
                await conn.execute(delete(ImageRow).where(ImageRow.id.in_(ids[start:start + _DELETE_BATCH])))
        await asyncio.to_thread(_remove_results, self._paths, [image.path for image in images])

    async def sweep_strays(self, now_s: float | None = None) -> int:
        """Remove result files no image row names, older than STRAY_GRACE_S, of jobs not active."""
        candidates = await asyncio.to_thread(_result_files, self._paths.images_dir,
                                             (now_s if now_s is not None else time.time()) - STRAY_GRACE_S)
        if not candidates:
            return 0
        async with self._db.sessions() as session:
            named = set((await session.scalars(select(ImageRow.path))).all())
            active = set((await session.scalars(select(JobRow.id).where(JobRow.state.in_(_ACTIVE)))).all())
        data_dir = self._paths.data_dir
        strays = [path for path, job_id in candidates
                  if path.relative_to(data_dir).as_posix() not in named and job_id not in active]
        await asyncio.to_thread(_remove_results, self._paths, [p.relative_to(data_dir).as_posix() for p in strays])
        return len(strays)

    # ---- uploads in ComfyUI's input folder ----------------------------------------------------

    def _on_job_ended(self, event: JobFinished | JobFailed | JobCancelled) -> None:
        assert self._uploads_dir is not None
        path = self._uploads_dir / comfy_upload_name(event.job_id)[1]
        try:
            self._tasks.spawn(asyncio.to_thread(_unlink, path), name=f"remove upload of job {event.job_id}")
        except RuntimeError:             # closing: the next start's sweep removes it
            pass

    async def sweep_uploads(self) -> int:
        """Remove the app's uploads whose job is no longer active (left by a crash or a restart)."""
        if self._uploads_dir is None:
            return 0
        names = await asyncio.to_thread(_upload_names, self._uploads_dir)
        if not names:
            return 0
        async with self._db.sessions() as session:
            active = set((await session.scalars(select(JobRow.id).where(JobRow.state.in_(_ACTIVE)))).all())
        stale = [self._uploads_dir / name for job_id, name in names if job_id not in active]
        return sum(await asyncio.to_thread(lambda: [_unlink(path) for path in stale]))


def _aware(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes; the app only ever stores UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _remove_results(paths: AppPaths, relatives: Iterable[str]) -> None:
    images_dir = paths.images_dir.resolve()
    folders: set[Path] = set()
    for relative in relatives:
        path = (paths.data_dir / relative).resolve()
        if not path.is_relative_to(images_dir):      # only ever a file the app wrote there
            continue
        _unlink(path)
        folders.add(path.parent)
    for folder in folders:                           # a month folder left empty goes too
        if folder != images_dir:
            try:
                folder.rmdir()
            except OSError:
                pass


def _result_files(images_dir: Path, older_than_s: float) -> list[tuple[Path, int]]:
    """(file, its job id) for the app's result files last written before `older_than_s`."""
    found = []
    for folder, _dirs, names in os.walk(images_dir):
        for name in names:
            match = _RESULT_NAME.match(name)
            path = Path(folder) / name
            try:
                if match and path.stat().st_mtime < older_than_s:
                    found.append((path, int(match[1])))
            except OSError:
                continue
    return found


def _unlink(path: Path) -> int:
    try:
        path.unlink()
        return 1
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
        return 0


def _upload_names(folder: Path) -> list[tuple[int, str]]:
    try:
        with os.scandir(folder) as entries:
            return [(int(match[1]), entry.name) for entry in entries
                    if (match := _UPLOAD_NAME.match(entry.name)) and entry.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
