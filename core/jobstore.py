"""Jobs and their images in the database: the durable half of the queue.

Every method is one short transaction. The in-memory queue is rebuilt from here on start, so
whatever the service told a user has already been written here first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from core.jobs import Job, JobRequest, JobState
from core.store import Database, ImageRow, JobRow, SettingRow

ACTIVE_STATES = (JobState.QUEUED.value, JobState.SUBMITTED.value, JobState.RUNNING.value)
FINAL_STATES = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
# JobRequest fields kept in the `params` JSON column (the rest have columns of their own).
_PARAM_FIELDS = ("negative_prompt", "width", "height", "seed", "batch_size", "input_image_name",
                 "role_ids", "is_admin", "locale", "parent_job_id")
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
    def __init__(self, db: Database, data_dir: Path) -> None:
        self._db = db
        self._data_dir = data_dir

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
            parent_job_id=params.get("parent_job_id"),
        )
        return Job(
            id=row.id, request=request, state=JobState(row.state), priority=row.priority,
            created_at=_aware(row.created_at), seed=_int_or_none(row.seed), backend=row.backend,
            prompt_id=row.prompt_id, started_at=_aware(row.started_at), finished_at=_aware(row.finished_at),
            attempts=row.attempts or 0, error_code=row.error_code, error_text=row.error_text,
            outputs=[self._data_dir / image.path for image in row.images],
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
        row = JobRow(
            state=JobState.QUEUED.value, priority=priority, user_id=request.user_id,
            user_name=request.user_name[:100], guild_id=request.guild_id, channel_id=request.channel_id,
            source=request.source[:16], workflow=request.workflow[:100], prompt=request.prompt,
            params=params, input_image=input_path, seed=None if seed is None else str(seed),
            attempts=0, created_at=created_at,
        )
        async with self._db.sessions() as session, session.begin():
            session.add(row)
            await session.flush()
            job_id = row.id
        return Job(id=job_id, request=request, state=JobState.QUEUED, priority=priority,
                   created_at=created_at, seed=seed)

    async def update(self, job_id: int, **fields: Any) -> None:
        values = {name: (value.value if isinstance(value, JobState) else value) for name, value in fields.items()}
        if "seed" in values and values["seed"] is not None:
            values["seed"] = str(values["seed"])
        async with self._db.sessions() as session, session.begin():
            await session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    async def set_orders(self, orders: list[tuple[int, int]]) -> None:
        """Persist queue orders after a move (kept in params, so no schema change)."""
        async with self._db.sessions() as session, session.begin():
            for job_id, order in orders:
                row = await session.get(JobRow, job_id)
                if row is not None:
                    row.params = {**(row.params or {}), ORDER_PARAM: order}

    async def finish(self, job_id: int, images: list[StoredImage], **fields: Any) -> None:
        """Images and the DONE state in one transaction: a job is never done without its files."""
        now = fields.get("finished_at") or utcnow()
        async with self._db.sessions() as session, session.begin():
            for index, image in enumerate(images):
                session.add(ImageRow(job_id=job_id, index=index, path=image.path, width=image.width,
                                     height=image.height, size_bytes=image.size_bytes, created_at=now))
            values = {name: (value.value if isinstance(value, JobState) else value) for name, value in fields.items()}
            await session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    # ---- reads ----

    async def load_active(self) -> list[LoadedJob]:
        """Unfinished jobs (queued, submitted, running), oldest first."""
        async with self._db.sessions() as session:
            rows = (await session.scalars(
                select(JobRow).where(JobRow.state.in_(ACTIVE_STATES)).order_by(JobRow.id))).all()
            return [LoadedJob(self._to_job(row), int((row.params or {}).get(ORDER_PARAM, row.id)), row.input_image)
                    for row in rows]

    async def get(self, job_id: int) -> Job | None:
        async with self._db.sessions() as session:
            row = await session.get(JobRow, job_id)
            return None if row is None else self._to_job(row)

    async def input_path(self, job_id: int) -> str | None:
        async with self._db.sessions() as session:
            return await session.scalar(select(JobRow.input_image).where(JobRow.id == job_id))

    async def recent(self, limit: int) -> list[Job]:
        async with self._db.sessions() as session:
            rows = (await session.scalars(
                select(JobRow).where(JobRow.state.in_(FINAL_STATES))
                .order_by(JobRow.finished_at.desc(), JobRow.id.desc()).limit(limit))).all()
            return [self._to_job(row) for row in rows]

    async def last_result(self, user_id: int) -> Job | None:
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(JobRow).where(JobRow.user_id == user_id, JobRow.state == JobState.DONE.value)
                .order_by(JobRow.finished_at.desc(), JobRow.id.desc()).limit(1))
            return None if row is None else self._to_job(row)

    async def generation_times(self, limit: int = 500) -> list[tuple[str, str, float]]:
        """(workflow, backend, seconds) of the latest DONE jobs, oldest first (to rebuild ETAs)."""
        async with self._db.sessions() as session:
            rows = (await session.execute(
                select(JobRow.workflow, JobRow.backend, JobRow.started_at, JobRow.finished_at)
                .where(JobRow.state == JobState.DONE.value, JobRow.started_at.is_not(None),
                       JobRow.finished_at.is_not(None), JobRow.backend.is_not(None))
                .order_by(JobRow.id.desc()).limit(limit))).all()
        out = []
        for workflow, backend, started, finished in reversed(rows):
            seconds = (_aware(finished) - _aware(started)).total_seconds()
            if seconds >= 0:
                out.append((workflow, backend, seconds))
        return out

    async def count_active(self) -> int:
        async with self._db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(JobRow).where(JobRow.state.in_(ACTIVE_STATES)))

    # ---- run-time settings ----

    async def get_setting(self, key: str, default: Any = None) -> Any:
        async with self._db.sessions() as session:
            row = await session.get(SettingRow, key)
            return default if row is None else row.value

    async def set_setting(self, key: str, value: Any) -> None:
        async with self._db.sessions() as session, session.begin():
            row = await session.get(SettingRow, key)
            if row is None:
                session.add(SettingRow(key=key, value=value))
            else:
                row.value = value


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
