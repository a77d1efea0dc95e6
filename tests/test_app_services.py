"""The composition root end to end, without Discord: main.build_services launches ComfyUI from a
configured folder (the fake, as a real child process), a job runs through the queue, and an
orderly stop ends the child it started."""
import os
import sys
import textwrap
from pathlib import Path

import psutil

from comfy.supervisor import ComfyStateChanged, SupervisorState
from core.bootstrap import ensure_user_files
from core.jobs import JobFinished, JobRequest
from core.settings import Settings
from core.status import BotStateChanged
from main import build_services
from tests.fixtures_core import EventLog
from tests.ports import free_port

REPO = Path(__file__).resolve().parent.parent



def comfy_folder(path: Path) -> Path:
    """A ComfyUI folder whose main.py is the fake ComfyUI, launched the way a real one is."""
    path.mkdir()
    (path / "main.py").write_text(textwrap.dedent(f"""\
        import runpy, sys
        sys.path.insert(0, {str(REPO)!r})
        runpy.run_module("tests.fake_comfyui", run_name="__main__", alter_sys=True)
    """))
    return path


def process_alive(pid: int) -> bool:
    return psutil.pid_exists(pid)


async def test_the_app_launches_comfyui_runs_a_job_and_stops_what_it_started(app_paths, tmp_path):
    port = free_port()
    settings = Settings(paths=app_paths, comfy_urls=(f"http://127.0.0.1:{port}",), comfy_python=sys.executable,
                        comfy_folder=str(comfy_folder(tmp_path / "ComfyUI")), comfy_ready_timeout_s=60)
    ensure_user_files(app_paths)
    services = await build_services(settings)
    events = EventLog(services.bus)
    try:
        await services.start(with_bot=False)
        assert services.supervisor.started_by_us
        assert services.supervisor.state == SupervisorState.UP
        assert any(e.state == SupervisorState.UP for e in events.of(ComfyStateChanged))
        accepted = await services.jobs.submit(JobRequest(user_id=1, user_name="alice", workflow="z_image_turbo",
                                                         prompt="a fox in the snow", width=256, height=256))
        await events.wait_final([accepted.job.id], timeout=30)
        finished = events.of(JobFinished, accepted.job.id)
        assert finished and all(path.exists() for path in finished[0].images)
        pid = services.supervisor.pid
    finally:
        await services.stop()
    assert not process_alive(pid)
    assert events.of(BotStateChanged)[-1].connected is False


async def test_a_missing_token_is_said_and_nothing_else_stops(app_paths):
    settings = Settings(paths=app_paths, comfy_urls=(f"http://127.0.0.1:{free_port()}",))
    services = await build_services(settings)
    events = EventLog(services.bus)
    try:
        try:
            await services.bot.start()
        except RuntimeError as exc:
            assert "No Discord token" in str(exc)
        else:
            raise AssertionError("the bot started without a token")
        assert "DISCORD_TOKEN" in events.of(BotStateChanged)[-1].message
    finally:
        await services.stop()


async def test_a_login_in_the_comfyui_url_authenticates_but_never_reaches_the_database_or_logs(
        app_paths, fake_comfy, no_keyring, caplog):
    import logging

    from sqlalchemy import select

    from core.settings import load_settings
    from core.store import JobRow
    from tests.fixtures_core import teach_shipped_models

    caplog.set_level(logging.DEBUG)
    teach_shipped_models(fake_comfy)
    ensure_user_files(app_paths)
    address = fake_comfy.url
    settings = load_settings(app_paths, env={"COMFY_URLS": address.replace("http://", "http://bot:hunter2-s3cret@")})
    services = await build_services(settings)
    events = EventLog(services.bus)
    try:
        await services.start(with_bot=False)
        accepted = await services.jobs.submit(JobRequest(user_id=1, user_name="alice", workflow="z_image_turbo",
                                                         prompt="a fox in the snow", width=256, height=256))
        await events.wait_final([accepted.job.id], timeout=30)
        assert events.of(JobFinished, accepted.job.id)
        async with services.db.sessions() as session:
            stored = (await session.scalars(select(JobRow.backend))).all()
    finally:
        await services.stop()
    assert stored == [address]
    sent = {h.get("Authorization") for _, path, h in fake_comfy.request_log if not path.startswith("/__")}
    assert sent == {"Basic Ym90Omh1bnRlcjItczNjcmV0"}          # bot:hunter2-s3cret
    assert "hunter2" not in caplog.text and "hunter2" not in repr(services.backends)


async def test_the_app_cleans_old_results_at_start_and_the_uploads_of_its_jobs_from_comfyuis_input_folder(
        app_paths, tmp_path):
    import io
    from datetime import datetime, timedelta, timezone

    from PIL import Image
    from sqlalchemy import select

    from core.store import Database, ImageRow, JobRow

    long_ago = datetime.now(timezone.utc) - timedelta(days=31)
    db = await Database.open(None, app_paths.data_dir)
    async with db.sessions() as session:                    # a result delivered a month ago
        old = JobRow(state="done", priority=100, user_id=1, user_name="alice", source="discord", workflow="z_image_turbo",
                     prompt="old", params={}, created_at=long_ago, finished_at=long_ago, delivered_at=long_ago)
        session.add(old)
        await session.flush()
        session.add(ImageRow(job_id=old.id, index=0, path="images/old/job1_0.png", width=8, height=8, size_bytes=3,
                             created_at=long_ago))
        await session.commit()
    await db.close()
    (app_paths.data_dir / "images" / "old").mkdir(parents=True)
    (app_paths.data_dir / "images" / "old" / "job1_0.png").write_bytes(b"png")

    folder = comfy_folder(tmp_path / "ComfyUI")
    settings = Settings(paths=app_paths, comfy_urls=(f"http://127.0.0.1:{free_port()}",), comfy_python=sys.executable,
                        comfy_folder=str(folder), comfy_extra_args=f"--root {folder}", comfy_ready_timeout_s=60)
    ensure_user_files(app_paths)
    services = await build_services(settings)
    events = EventLog(services.bus)
    try:
        await services.start(with_bot=False)
        await services.retention.wait_pass(1)
        assert not (app_paths.data_dir / "images" / "old").exists()
        async with services.db.sessions() as session:
            assert (await session.scalars(select(JobRow.prompt))).all() == ["old"]     # the job row stays
            assert (await session.scalars(select(ImageRow.id))).all() == []
        picture = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(picture, "PNG")
        accepted = await services.jobs.submit(JobRequest(user_id=1, user_name="alice", workflow="flux_edit",
                                                         prompt="make it night", input_image=picture.getvalue()))
        await events.wait_final([accepted.job.id], timeout=30)
        assert events.of(JobFinished, accepted.job.id)
        await services.retention.settled()
        uploads = folder / "input" / "imagebot"
        assert uploads.is_dir() and list(uploads.iterdir()) == []      # uploaded there, gone now
    finally:
        await services.stop()


async def test_settings_saved_while_running_take_effect_at_once(app_paths, fake_comfy):
    """Limits, session minutes, allowed servers, logging and ComfyUI addresses apply live; the
    database is named as needing a restart."""
    import json
    import logging

    from core.errors import JobRefused
    from main import _apply_saved_settings

    settings = Settings(paths=app_paths, comfy_urls=(fake_comfy.url,), allowed_guild_ids=(1,))
    ensure_user_files(app_paths)
    services = await build_services(settings)
    try:
        await services.start(with_bot=False)
        app_paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
        app_paths.settings_file.write_text(json.dumps({
            "max_prompt_length": 10, "session_idle_minutes": 5, "allowed_guild_ids": [1, 2], "log_level": "DEBUG",
            "comfy_urls": [fake_comfy.url, "http://127.0.0.1:9"], "database_url": "postgresql://bot@db/imagebot"}))
        restart = await _apply_saved_settings(services, {"max_prompt_length": 10})
        assert restart == ["database_url"]
        assert services.backends.urls == [fake_comfy.url, "http://127.0.0.1:9"]
        try:
            await services.jobs.submit(JobRequest(user_id=1, user_name="alice", workflow="z_image_turbo",
                                                  prompt="a prompt longer than ten characters"))
            raise AssertionError("the new prompt limit was not applied")
        except JobRefused as refused:
            assert refused.params.get("limit") == 10 or "10" in refused.message
        assert services.sessions.idle.total_seconds() == 5 * 60
        assert services.settings.allowed_guild_ids == (1, 2)
        assert logging.getLogger().level == logging.DEBUG
    finally:
        logging.getLogger().setLevel(logging.WARNING)
        await services.stop()


async def test_comfyui_addresses_changed_while_running_take_the_next_jobs(app_paths, fake_comfy):
    """A host moves the bot to another ComfyUI in Settings: no restart, the next job runs there, and
    a job already waiting is not lost."""
    import json

    from main import _apply_saved_settings
    from tests.fake_comfyui import FakeComfyUI

    other = FakeComfyUI(exec_ms=20)
    await other.start()
    settings = Settings(paths=app_paths, comfy_urls=(fake_comfy.url,))
    ensure_user_files(app_paths)
    services = await build_services(settings)
    events = EventLog(services.bus)
    try:
        await services.start(with_bot=False)
        await services.jobs.pause()
        waiting = (await services.jobs.submit(JobRequest(user_id=1, user_name="alice", workflow="z_image_turbo",
                                                         prompt="queued before the move"))).job
        app_paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
        app_paths.settings_file.write_text(json.dumps({"comfy_urls": [other.url]}))
        assert await _apply_saved_settings(services, {"comfy_urls": [other.url]}) == []
        assert services.backends.urls == [other.url]
        assert services.jobs.queued()[0].id == waiting.id          # still waiting, in its place
        await services.jobs.resume()
        await events.wait_for(lambda: events.of(JobFinished, waiting.id))
        assert events.of(JobFinished, waiting.id)[0].backend == other.url
        assert len(other.received_prompts) == 1 and not fake_comfy.received_prompts
    finally:
        await services.stop()
        await other.stop()
