"""Jobs and their images in the database: the durable half of the queue.

Every method is one short transaction. The in-memory queue is rebuilt from here on start, so
whatever the service told a user has already been written here first.

The database may go away (a server restarting, a locked SQLite file, a full disk). Every call
then raises `StoreUnavailable` (a `StoreError`), never a driver error, and the store reports its
health once per change (`on_health(ok, reason)`); while it is down a probe asks every
`retry_max_s` until it answers. `retrying()` is for the writes that must happen (a job's state
changes): it repeats one with backoff until the database takes it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import StoreError, StoreUnavailable
from core.jobs import Job, JobRequest, JobState
from core.paths import write_file
from core.store import Database, ImageRow, JobRow, SettingRow
from core.tasks import TaskManager

log = logging.getLogger(__name__)
UNANSWERED_FILE = "unanswered-inserts.json"   # keys of inserts refused though they may have landed
T = TypeVar("T")
HealthListener = Callable[[bool, str], None]
# The driver errors that mean "the database is not answering now" (as opposed to a bad value).
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, OSError, TimeoutError, ConnectionError)

ACTIVE_STATES = (JobState.QUEUED.value, JobState.SUBMITTED.value, JobState.RUNNING.value)
FINAL_STATES = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
# JobRequest fields kept in the `params` JSON column (the rest have columns of their own).
_PARAM_FIELDS = ("negative_prompt", "width", "height", "seed", "batch_size", "input_image_name",
                 "role_ids", "is_admin", "locale", "parent_job_id", "spoiler", "loras", "steps", "cfg")
ORDER_PARAM = "queue_order"   # set when an admin moved the job; otherwise the id is the order


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite and MariaDB hand back naive datetimes; we only ever store UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


@dataclass(frozen=True)
class StoredImage:
    path: str            # relative to the data folder
    width: int
    height: int
    size_bytes: int


@dataclass
class LoadedJob:
    job: Job
    order: int
    input_path: str | None      # relative to the data folder


class JobStore:
    def __init__(self, db: Database, data_dir: Path, *, tasks: TaskManager | None = None,
                 on_health: HealthListener | None = None, timeout_s: float = 10.0,
                 retry_min_s: float = 0.05, retry_max_s: float = 5.0) -> None:
        self._db = db
        self._data_dir = data_dir
        self._tasks = tasks or TaskManager("job store")
        self._on_health = on_health
        self.timeout_s = timeout_s
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.ok = True
        self.reason = ""
        self._probe: asyncio.Task | None = None
        # Writes go through one writer task, in order, and the writes that pile up while one
        # transaction commits share the next one (group commit). Each caller still returns only
        # once its own write is committed. SQLite has a single writer anyway; this spares it the
        # sleep-and-retry of a blocked writer, and spares every write its own transaction.
        self._pending: list[tuple[Callable[[AsyncConnection], Awaitable[Any]], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._unanswered_lock = asyncio.Lock()

    # ---- health -------------------------------------------------------------------------------

    def _set_health(self, ok: bool, reason: str) -> None:
        if ok == self.ok:
            return
        self.ok, self.reason = ok, reason
        (log.info if ok else log.warning)("database %s%s", "answers again" if ok else "unreachable: ",
                                          "" if ok else reason)
        if not ok and (self._probe is None or self._probe.done()):
            try:
                self._probe = self._tasks.spawn(self._probe_until_up(), name="database probe")
            except RuntimeError:            # closing: nobody is left to care
                pass
        if self._on_health is not None:
            self._on_health(ok, reason)

    async def _probe_until_up(self) -> None:
        while not self.ok:
            await asyncio.sleep(self.retry_max_s)
            try:
                await self._guard(self._select_one())
            except StoreError:
                continue

    async def _select_one(self) -> None:
        async with self._db.engine.connect() as conn:
            await conn.execute(select(1))

    async def _guard(self, awaitable: Awaitable[T]) -> T:
        """Run one database call: a driver error becomes StoreUnavailable/StoreError, health follows."""
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await awaitable
        except asyncio.CancelledError:
            raise
        except _UNAVAILABLE as exc:
            reason = _reason(exc)
            self._set_health(False, reason)
            raise StoreUnavailable(f"The database is unreachable: {reason}") from exc
        except (SQLAlchemyError, UnicodeError, ValueError, OverflowError) as exc:
            raise StoreError(f"The database refused the change: {_reason(exc)}") from exc
        self._set_health(True, "")
        return result

    async def retrying(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        """`attempt()` until it succeeds, waiting longer after each failure (up to retry_max_s).
        For writes that must not be lost; cancelling the caller stops it."""
        delay = self.retry_min_s
        while True:
            try:
                return await attempt()
            except StoreError as exc:
                log.warning("%s: %s; trying again in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(self.retry_max_s, delay * 2)

    async def close(self) -> None:
        """Stop the writer and the probe; writes still waiting are answered with StoreUnavailable.
        The store can be used again afterwards (a service started again)."""
        owner = self._tasks.owner
        await self._tasks.close()
        self._tasks = TaskManager(owner)
        pending, self._pending = self._pending, []
        for _, future in pending:
            _settle(future, error=StoreUnavailable("The job store was closed"))

    # ---- the writer ---------------------------------------------------------------------------

    async def _write(self, op: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._writer is None or self._writer.done():
            self._writer = self._tasks.spawn(self._write_loop(), name="writer")
        return await asyncio.shield(future)

    async def _transaction(self, ops: list[Callable[[AsyncConnection], Awaitable[Any]]]) -> list[Any]:
        async def run() -> list[Any]:
            async with self._db.engine.begin() as conn:
                return [await op(conn) for op in ops]
        return await self._guard(run())

    async def _write_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._transaction([op for op, _ in batch])
            except StoreUnavailable:
                for _, future in batch:          # nothing got in: each caller decides (retry or refuse)
                    _settle(future, error=sys.exc_info()[1])
                continue
            except StoreError:
                if len(batch) == 1:
                    _settle(batch[0][1], error=sys.exc_info()[1])
                    continue
                for op, future in batch:        # one bad write must not sink the others
                    try:
                        [result] = await self._transaction([op])
                    except StoreError as exc:
                        _settle(future, error=exc)
                    else:
                        _settle(future, result)
                continue
            for (_, future), result in zip(batch, results):
                _settle(future, result)

    async def _read(self, query: Callable[[Any], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self._db.sessions() as session:
                return await query(session)
        return await self._guard(run())

    # ---- rows <-> jobs ----

    def _to_job(self, row: JobRow) -> Job:
        params = row.params or {}
        request = JobRequest(
            user_id=row.user_id, user_name=row.user_name, workflow=row.workflow, prompt=row.prompt,
            negative_prompt=params.get("negative_prompt", ""), width=params.get("width"),
            height=params.get("height"), seed=_int_or_none(params.get("seed")),
            batch_size=params.get("batch_size"), input_image=None,
            input_image_name=params.get("input_image_name"), source=row.source, guild_id=row.guild_id,
            channel_id=row.channel_id, role_ids=tuple(params.get("role_ids") or ()),
            is_admin=bool(params.get("is_admin", False)), locale=params.get("locale", "en"),
            parent_job_id=params.get("parent_job_id"), spoiler=bool(params.get("spoiler", False)),
            loras=tuple((str(name), None if strength is None else float(strength))
                        for name, strength in params.get("loras") or ()),
            steps=params.get("steps"), cfg=params.get("cfg"),
        )
        return Job(
            id=row.id, request=request, state=JobState(row.state), priority=row.priority,
            created_at=_aware(row.created_at), seed=_int_or_none(row.seed), backend=row.backend,
            prompt_id=row.prompt_id, started_at=_aware(row.started_at), finished_at=_aware(row.finished_at),
            attempts=row.attempts or 0, error_code=row.error_code, error_text=row.error_text,
            outputs=[self._data_dir / image.path for image in row.images],
            feedback_message_id=row.feedback_message_id, delivered_at=_aware(row.delivered_at),
        )

    # ---- writes ----

    async def insert(self, request: JobRequest, *, priority: int, seed: int | None,
                     input_path: str | None, created_at: datetime) -> Job:
        params: dict[str, Any] = {}
        for name in _PARAM_FIELDS:
            value = getattr(request, name)
            if name == "seed" and value is not None:
                value = str(value)             # may exceed JSON-safe ints on some drivers
            params[name] = list(value) if isinstance(value, tuple) else value
        key = uuid.uuid4().hex         # finds the row again if the answer to this insert is lost
        values = dict(
            state=JobState.QUEUED.value, priority=priority, user_id=request.user_id,
            user_name=request.user_name[:100], guild_id=request.guild_id, channel_id=request.channel_id,
            source=request.source[:16], workflow=request.workflow[:100], prompt=request.prompt,
            params=params, input_image=input_path, seed=None if seed is None else str(seed),
            attempts=0, created_at=created_at, feedback_message_id=None, request_key=key,
        )

        async def op(conn: AsyncConnection) -> int:
            result = await conn.execute(_JOBS.insert().values(**values))
            return result.inserted_primary_key[0]
        try:
            job_id = await self._write(op)
        except StoreUnavailable:
            # The row may have been committed with only the answer lost. The caller refuses the
            # request, so such a row must never run: noted on disk, removed once the database answers.
            await self._note_unanswered(key, True)
            try:
                self._tasks.spawn(self._take_back(key), name="take back an unanswered insert")
            except RuntimeError:            # closing: the next start takes it back
                pass
            raise
        return Job(id=job_id, request=request, state=JobState.QUEUED, priority=priority,
                   created_at=created_at, seed=seed)

    async def take_back_unanswered(self) -> None:
        """At start: remove the rows of inserts refused while their answer was lost (see `insert`)
        that the last run could not remove before it stopped."""
        for key in await asyncio.to_thread(self._unanswered):
            await self._take_back(key)

    async def _take_back(self, key: str) -> None:
        async def op(conn: AsyncConnection) -> int:
            result = await conn.execute(_JOBS.delete().where(_JOBS.c.request_key == key,
                                                             _JOBS.c.state == JobState.QUEUED.value))
            return result.rowcount
        removed = await self.retrying(lambda: self._write(op), "taking back a refused request")
        if removed:
            log.info("removed a job whose insert landed although its request was refused")
        await self._note_unanswered(key, False)

    def _unanswered(self) -> list[str]:
        try:
            keys = json.loads((self._data_dir / UNANSWERED_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []

    async def _note_unanswered(self, key: str, pending: bool) -> None:
        def note() -> None:
            keys = [k for k in self._unanswered() if k != key] + ([key] if pending else [])
            path = self._data_dir / UNANSWERED_FILE
            if keys:
                write_file(path, json.dumps(keys).encode())
            else:
                path.unlink(missing_ok=True)
        async with self._unanswered_lock:
            await asyncio.to_thread(note)

    async def update(self, job_id: int, **fields: Any) -> None:
        # Core UPDATE on the table: the ORM's bulk-update bookkeeping costs more than the write.
        statement = _JOBS.update().where(_JOBS.c.id == job_id).values(**_column_values(fields))
        await self._write(lambda conn: conn.execute(statement))

    async def set_orders(self, orders: list[tuple[int, int]]) -> None:
        """Persist queue orders after a move (kept in params, so no schema change)."""
        async def op(conn: AsyncConnection) -> None:
            for job_id, order in orders:
                params = await conn.scalar(select(_JOBS.c.params).where(_JOBS.c.id == job_id))
                if params is not None:
                    await conn.execute(_JOBS.update().where(_JOBS.c.id == job_id)
                                       .values(params={**params, ORDER_PARAM: order}))
        await self._write(op)

    async def finish(self, job_id: int, images: list[StoredImage], **fields: Any) -> None:
        """Images and the DONE state in one transaction: a job is never done without its files."""
        now = fields.get("finished_at") or utcnow()
        rows = [dict(job_id=job_id, index=index, path=image.path, width=image.width, height=image.height,
                     size_bytes=image.size_bytes, created_at=now) for index, image in enumerate(images)]
        statement = _JOBS.update().where(_JOBS.c.id == job_id).values(**_column_values(fields))

        async def op(conn: AsyncConnection) -> None:
            if rows:
                await conn.execute(_IMAGES.insert(), rows)
            await conn.execute(statement)
        await self._write(op)

    async def mark_delivered(self, job_id: int, at: datetime) -> None:
        """The outbox: the job's result or failure reached its user (only a final job, only once)."""
        statement = (_JOBS.update().where(_JOBS.c.id == job_id, _JOBS.c.state.in_(FINAL_STATES),
                                          _JOBS.c.delivered_at.is_(None)).values(delivered_at=at))
        await self._write(lambda conn: conn.execute(statement))

    # ---- reads ----

    async def load_active(self) -> list[LoadedJob]:
        """Unfinished jobs (queued, submitted, running), oldest first."""
        async def query(session) -> list[LoadedJob]:
            rows = (await session.scalars(
                select(JobRow).where(JobRow.state.in_(ACTIVE_STATES)).order_by(JobRow.id))).all()
            return [LoadedJob(self._to_job(row), int((row.params or {}).get(ORDER_PARAM, row.id)), row.input_image)
                    for row in rows]
        return await self._read(query)

    async def get(self, job_id: int) -> Job | None:
        async def query(session) -> Job | None:
            row = await session.get(JobRow, job_id)
            return None if row is None else self._to_job(row)
        return await self._read(query)

    async def input_path(self, job_id: int) -> str | None:
        return await self._read(lambda session: session.scalar(
            select(JobRow.input_image).where(JobRow.id == job_id)))

    async def input_paths_in_use(self, *, newest: int, since: datetime) -> set[str]:
        """Input image paths a job may still need: unfinished jobs, the `newest` jobs that have one,
        and jobs created or finished since `since` (a Reroll of a recent edit reuses the image)."""
        has_input = JobRow.input_image.is_not(None)

        async def query(session) -> set[str]:
            active_or_recent = (await session.scalars(select(JobRow.input_image).where(
                has_input, or_(JobRow.state.in_(ACTIVE_STATES), JobRow.created_at >= since,
                               JobRow.finished_at >= since)))).all()
            latest = (await session.scalars(select(JobRow.input_image).where(has_input)
                                            .order_by(JobRow.id.desc()).limit(newest))).all()
            return set(active_or_recent) | set(latest)
        return await self._read(query)

    async def recent(self, limit: int) -> list[Job]:
        async def query(session) -> list[Job]:
            rows = (await session.scalars(
                select(JobRow).where(JobRow.state.in_(FINAL_STATES))
                .order_by(JobRow.finished_at.desc(), JobRow.id.desc()).limit(limit))).all()
            return [self._to_job(row) for row in rows]
        return await self._read(query)

    async def undelivered(self, source: str | None = None) -> list[Job]:
        """Finished jobs whose user was not told yet (the outbox), oldest first."""
        async def query(session) -> list[Job]:
            statement = select(JobRow).where(JobRow.state.in_(FINAL_STATES), JobRow.delivered_at.is_(None))
            if source is not None:
                statement = statement.where(JobRow.source == source)
            rows = (await session.scalars(statement.order_by(JobRow.id))).all()
            return [self._to_job(row) for row in rows]
        return await self._read(query)

    async def results_of(self, user_id: int, limit: int, offset: int) -> tuple[list[Job], int]:
        """A user's finished jobs that still have images, newest first: one page and the total."""
        kept = (JobRow.user_id == user_id, JobRow.state == JobState.DONE.value, JobRow.images.any())

        async def query(session) -> tuple[list[Job], int]:
            total = await session.scalar(select(func.count()).select_from(JobRow).where(*kept))
            rows = (await session.scalars(select(JobRow).where(*kept).order_by(JobRow.id.desc())
                                          .limit(limit).offset(offset))).all()
            return [self._to_job(row) for row in rows], int(total or 0)
        return await self._read(query)

    async def last_result(self, user_id: int) -> Job | None:
        async def query(session) -> Job | None:
            row = await session.scalar(
                select(JobRow).where(JobRow.user_id == user_id, JobRow.state == JobState.DONE.value)
                .order_by(JobRow.finished_at.desc(), JobRow.id.desc()).limit(1))
            return None if row is None else self._to_job(row)
        return await self._read(query)

    async def generation_times(self, limit: int = 500) -> list[tuple[str, str, float]]:
        """(workflow, backend, seconds) of the latest DONE jobs, oldest first (to rebuild ETAs)."""
        rows = await self._read(lambda session: _all(session.execute(
            select(JobRow.workflow, JobRow.backend, JobRow.started_at, JobRow.finished_at)
            .where(JobRow.state == JobState.DONE.value, JobRow.started_at.is_not(None),
                   JobRow.finished_at.is_not(None), JobRow.backend.is_not(None))
            .order_by(JobRow.id.desc()).limit(limit))))
        out = []
        for workflow, backend, started, finished in reversed(rows):
            seconds = (_aware(finished) - _aware(started)).total_seconds()
            if seconds >= 0:
                out.append((workflow, backend, seconds))
        return out

    async def count_active(self) -> int:
        return await self._read(lambda session: session.scalar(
            select(func.count()).select_from(JobRow).where(JobRow.state.in_(ACTIVE_STATES))))

    # ---- run-time settings ----

    async def get_setting(self, key: str, default: Any = None) -> Any:
        row = await self._read(lambda session: session.get(SettingRow, key))
        return default if row is None else row.value

    async def set_setting(self, key: str, value: Any) -> None:
        table = SettingRow.__table__

        async def op(conn: AsyncConnection) -> None:
            exists = await conn.scalar(select(func.count()).select_from(table).where(table.c.key == key))
            if exists:
                await conn.execute(table.update().where(table.c.key == key).values(value=value))
            else:
                await conn.execute(table.insert().values(key=key, value=value))
        await self._write(op)


_JOBS = JobRow.__table__
_IMAGES = ImageRow.__table__


def _column_values(fields: dict[str, Any]) -> dict[str, Any]:
    values = {name: (value.value if isinstance(value, JobState) else value) for name, value in fields.items()}
    if values.get("seed") is not None:
        values["seed"] = str(values["seed"])
    return values


def _settle(future: asyncio.Future, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def _all(result: Awaitable[Any]) -> list[Any]:
    return list((await result).all())


def _reason(exc: BaseException) -> str:
    """The driver's one-line reason (no SQL, no parameters, no URL)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return text[:200]


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
