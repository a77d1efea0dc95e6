"""Retention: delivered results go after RESULT_RETENTION_DAYS or over the size cap (oldest first),
undelivered ones never; job rows stay; the app's uploads leave ComfyUI's input folder when their
job ends. Time is a clock the test sets; the periodic pass runs on an interval the test chooses."""
from __future__ import annotations

import io
import logging
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, text

from core.events import EventBus
from core.jobs import JobCancelled, JobFailed, JobFinished, JobState
from core.retention import GB, Retention, RetentionPolicy, comfy_upload_name
from core.settings import Settings
from core.store import Database, ImageRow, JobRow
from tests.fixtures_core import EDIT, EventLog

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


class Results:
    """Finished jobs with result files in the data folder, as the scheduler leaves them."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir

    async def add(self, *, age: timedelta, delivered: bool = True, size: int = 100, state: str = "done",
                  images: int = 1) -> int:
        finished = NOW - age
        async with self.db.sessions() as session:
            job = JobRow(state=state, priority=100, user_id=1, user_name="alice", source="discord",
                         workflow="z_image_turbo", prompt="a fox", params={}, created_at=finished,
                         finished_at=finished, delivered_at=finished if delivered else None)
            session.add(job)
            await session.flush()
            for index in range(images):
                relative = f"images/{finished:%Y-%m}/job{job.id}_{index}.png"
                path = self.data_dir / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"x" * size)
                session.add(ImageRow(job_id=job.id, index=index, path=relative, width=8, height=8,
                                     size_bytes=size, created_at=finished))
            await session.commit()
            return job.id

    async def kept(self) -> dict[int, list[str]]:
        """job id -> its image paths, for every job row (rows never go)."""
        async with self.db.sessions() as session:
            jobs = (await session.scalars(select(JobRow).order_by(JobRow.id))).all()
            return {job.id: [image.path for image in job.images] for job in jobs}

    def files(self) -> set[str]:
        return {p.relative_to(self.data_dir).as_posix() for p in (self.data_dir / "images").rglob("*") if p.is_file()}


@pytest.fixture
def results(database, app_paths):
    return Results(database, app_paths.data_dir)


def retention(db, app_paths, *, days=30, max_bytes=None, bus=None, comfy_input_dir=None, **kwargs) -> Retention:
    return Retention(db=db, bus=bus or EventBus(), paths=app_paths, policy=RetentionPolicy(timedelta(days=days), max_bytes),
                     comfy_input_dir=comfy_input_dir, clock=lambda: NOW, **kwargs)


async def test_delivered_results_older_than_the_retention_go_and_their_job_rows_stay(database, app_paths, results):
    old = await results.add(age=31 * DAY, images=2)
    recent = await results.add(age=29 * DAY)
    old_undelivered = await results.add(age=400 * DAY, delivered=False)
    pruned = await retention(database, app_paths).prune()
    kept = await results.kept()
    assert (pruned.images, pruned.bytes) == (2, 200)
    assert kept[old] == []
    assert len(kept[recent]) == 1 and len(kept[old_undelivered]) == 1
    assert results.files() == {*kept[recent], *kept[old_undelivered]}
    assert not (app_paths.data_dir / f"images/{NOW - 31 * DAY:%Y-%m}").exists()  # its emptied month folder too


async def test_over_the_size_cap_the_oldest_delivered_go_first_never_an_undelivered_one(database, app_paths,
                                                                                       results, caplog):
    undelivered = await results.add(age=10 * DAY, delivered=False, size=400)
    oldest, middle, newest = [await results.add(age=age * DAY, size=400) for age in (5, 4, 3)]
    pruned = await retention(database, app_paths, max_bytes=900).prune()
    kept = await results.kept()
    assert pruned.images == 2
    assert kept[oldest] == kept[middle] == []
    assert kept[newest] and kept[undelivered]                     # 800 bytes: under the cap again
    with caplog.at_level(logging.WARNING, logger="core.retention"):
        pruned = await retention(database, app_paths, max_bytes=100).prune()
    assert pruned.images == 1 and (await results.kept())[undelivered]
    assert "not told yet" in caplog.text


async def test_nothing_to_do_is_a_quiet_pass(database, app_paths, results):
    await results.add(age=DAY)
    assert (await retention(database, app_paths, max_bytes=GB).prune()).images == 0


async def test_a_stray_result_file_goes_once_a_day_old_unless_its_job_is_running(database, app_paths, results):
    named = await results.add(age=40 * DAY, delivered=False)     # a row names its file: not a stray
    running = await results.add(age=timedelta(0), state="running", images=0)
    folder = app_paths.data_dir / "images" / "2026-11"
    folder.mkdir(parents=True, exist_ok=True)
    old_stray, young_stray, running_stray = (folder / f"job{job_id}_0.png" for job_id in (9001, 9002, running))
    two_days_ago = time.time() - 2 * 86400
    for path in (old_stray, young_stray, running_stray):
        path.write_bytes(b"png")
    for path in (old_stray, running_stray, *(app_paths.data_dir / p for p in (await results.kept())[named])):
        os.utime(path, (two_days_ago, two_days_ago))
    assert await retention(database, app_paths).sweep_strays() == 1
    assert not old_stray.exists() and young_stray.exists() and running_stray.exists()
    assert len(results.files()) == 3


def test_the_policy_comes_from_the_settings(app_paths):
    settings = Settings(paths=app_paths, result_retention_days=7, result_retention_max_gb=1.5)
    assert RetentionPolicy.from_settings(settings) == RetentionPolicy(timedelta(days=7), int(1.5 * GB))
    assert RetentionPolicy.from_settings(Settings(paths=app_paths)) == RetentionPolicy(timedelta(days=30), None)


# ---- the background pass ----

async def test_a_pass_runs_at_start_and_then_on_every_interval(database, app_paths, results):
    await results.add(age=40 * DAY)
    keeper = retention(database, app_paths, interval_s=0)
    await keeper.start()
    try:
        await keeper.wait_pass(1)
        assert all(paths == [] for paths in (await results.kept()).values())
        later = await results.add(age=50 * DAY)      # appears after the first pass: the next one takes it
        await keeper.wait_pass(keeper.passes + 2)
        assert (await results.kept())[later] == []
    finally:
        await keeper.close()
    assert not keeper._tasks.running


async def test_a_database_fault_is_logged_and_retried_on_the_next_pass(app_paths, tmp_path, caplog):
    db = await Database.open(None, tmp_path)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE images"))    # every pass fails from now on
    keeper = retention(db, app_paths, interval_s=0)
    await keeper.start()
    try:
        await keeper.wait_pass(2)                        # the loop survived the first failure
    finally:
        await keeper.close()
        await db.close()
    assert "cleaning up old result images failed" in caplog.text


# ---- uploads in ComfyUI's input folder ----

def upload(folder: Path, job_id: int) -> Path:
    subfolder, name = comfy_upload_name(job_id)
    path = folder / subfolder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"png")
    return path


async def test_an_upload_goes_when_its_job_ends_however_it_ends(database, app_paths, tmp_path, job_request):
    from core.jobs import Job

    bus = EventBus()
    inputs = tmp_path / "ComfyUI" / "input"
    keeper = retention(database, app_paths, bus=bus, comfy_input_dir=inputs, interval_s=3600)
    files = {job_id: upload(inputs, job_id) for job_id in (1, 2, 3, 4)}
    other = inputs / "someone_elses.png"
    other.write_bytes(b"png")
    await keeper.start()
    try:
        job = lambda job_id: Job(job_id, job_request(), JobState.DONE, 100, NOW)
        bus.publish(JobFinished(1, 1, job(1), (), 0.0, 1.0, None, "http://127.0.0.1:8188"))
        bus.publish(JobFailed(2, 1, job(2), "comfy_error", "boom"))
        bus.publish(JobCancelled(3, 1, job(3), None))
        await keeper.settled()
    finally:
        await keeper.close()
    assert [job_id for job_id, path in files.items() if path.exists()] == [4]
    assert other.exists()


async def test_at_start_uploads_of_jobs_no_longer_active_are_swept(database, app_paths, tmp_path, results):
    inputs = tmp_path / "input"
    running = await results.add(age=timedelta(0), state="running")
    ended = await results.add(age=DAY)
    files = {job_id: upload(inputs, job_id) for job_id in (running, ended, 9999)}
    assert await retention(database, app_paths, comfy_input_dir=inputs).sweep_uploads() == 2
    assert [job_id for job_id, path in files.items() if path.exists()] == [running]


async def test_an_edit_jobs_upload_leaves_comfyuis_input_folder_when_it_is_done(make_job_service, fake_comfy,
                                                                               core_bus, job_request, app_paths):
    service = await make_job_service()
    events = EventLog(core_bus)
    keeper = Retention(db=service._db, bus=core_bus, paths=app_paths, policy=RetentionPolicy(timedelta(days=30)),
                       comfy_input_dir=fake_comfy.dir_for("input"))
    await keeper.start()
    try:
        picture = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(picture, "PNG")
        accepted = await service.submit(job_request(workflow=EDIT, prompt="make it night", width=None, height=None,
                                                    input_image=picture.getvalue()))
        await events.wait_final([accepted.job.id])
        assert events.of(JobFinished, accepted.job.id)
        await keeper.settled()
    finally:
        await keeper.close()
    uploaded = [path for _, path, _ in fake_comfy.request_log if path == "/upload/image"]
    assert uploaded                                                     # it was uploaded there...
    assert not list(fake_comfy.dir_for("input").rglob("imagebot_job*"))  # ...and is gone now
