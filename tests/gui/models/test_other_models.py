from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from core.jobs import Job, JobFinished, JobRequest, JobState
from core.logs import LogLine
from core.sessions import SessionInfo
from gui.models.history_model import HistoryModel, PathRole, load_thumbnail
from gui.models.log_model import LogFilter, LogModel
from gui.models.session_model import COL_DELETES, COL_USER, SessionModel
from tests.gui.conftest import until


def session(user_id: int, minutes_left: float) -> SessionInfo:
    now = datetime.now(timezone.utc)
    delete_at = now + timedelta(minutes=minutes_left)
    return SessionInfo(user_id=user_id, guild_id=1, user_name=f"user{user_id}", channel_id=900 + user_id,
                       last_activity=now - timedelta(minutes=3), delete_at=delete_at, warned=False,
                       warning_message_id=None, warn_at=delete_at - timedelta(minutes=5))


def test_session_model(qtmodeltester):
    model = SessionModel(tick_ms=0)
    qtmodeltester.check(model, force_py=True)
    model.set_sessions([session(1, 25), session(2, 0.5)])
    qtmodeltester.check(model, force_py=True)
    assert model.index(0, COL_USER).data() == "user1"
    assert model.index(0, COL_DELETES).data().startswith(("24m", "25m"))
    assert model.index(1, COL_DELETES).data().endswith("s")
    assert model.row_at(1).guild_id == 1


def line(level: int, source: str, text: str) -> LogLine:
    return LogLine(0.0, level, source, text)


async def test_log_model_batches_and_filters(qtmodeltester):
    model = LogModel(capacity=5, flush_ms=5)
    proxy = LogFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(model, force_py=True)
    model.extend([line(logging.INFO, "core", "queue started"), line(logging.DEBUG, "comfyui", "loading model")])
    for n in range(6):
        model.append(line(logging.WARNING if n % 2 else logging.INFO, "bot", f"bot line {n}"))
    assert model.rowCount() == 2        # not yet: appends are batched
    await until(lambda: model.rowCount() == 5)
    qtmodeltester.check(model, force_py=True)
    assert model.index(4, 0).data() == "bot line 5"
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole).bold()          # a warning: bold, in the palette's colour
    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    proxy.set_filter(min_level=logging.WARNING)
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == ["bot line 1", "bot line 3", "bot line 5"]
    proxy.set_filter(min_level=logging.DEBUG, group="Bot", search="LINE 4")
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == ["bot line 4"]


def finished_job(job_id: int, image: Path | None) -> Job:
    now = datetime.now(timezone.utc)
    return Job(id=job_id, request=JobRequest(user_id=1, user_name="alice", workflow="z_image_turbo",
                                             prompt=f"a lighthouse {job_id}"),
               state=JobState.DONE, priority=100, created_at=now - timedelta(seconds=9),
               started_at=now - timedelta(seconds=5), finished_at=now, outputs=[image] if image else [])


async def test_history_model_thumbnails(qtmodeltester, tmp_path):
    image = QImage(640, 480, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    path = tmp_path / "result.png"
    assert image.save(str(path))
    assert load_thumbnail(path).width() == 160

    model = HistoryModel()
    model.set_jobs([finished_job(1, path), finished_job(2, None)])
    qtmodeltester.check(model, force_py=True)
    job = finished_job(3, path)
    model.on_job_finished(JobFinished(3, 1, job=job, images=(path,), queue_wait_s=4, generation_s=5, seed=1,
                                      backend="b"))
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 3
    assert "a lighthouse 3" in model.index(0).data()
    assert model.index(0).data(PathRole) == str(path)
    placeholder = model.index(0).data(1)      # DecorationRole: a placeholder; loading starts off the loop
    await until(lambda: model._rows[0].thumb is not None)
    assert model.index(0).data(1).cacheKey() != placeholder.cacheKey()
    assert model.index(0).data(1).width() == 160
