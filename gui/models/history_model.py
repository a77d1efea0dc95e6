"""Recent results for the History window: a thumbnail, the prompt, the user and the time.

Rows come from `JobService.recent()` when the window opens and from JobFinished events through
the bridge. Thumbnails are decoded and scaled off the loop (QImage is thread-safe) so a page of
large PNGs never stalls it.
"""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QImageReader, QPalette, QPixmap

from core.jobs import Job

THUMB = 160
PathRole = Qt.ItemDataRole.UserRole + 1
JobRole = Qt.ItemDataRole.UserRole + 2


def load_thumbnail(path: Path, size: int = THUMB) -> QImage:
    reader = QImageReader(str(path))
    original = reader.size()
    if original.isValid():
        reader.setScaledSize(original.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def _placeholder() -> QPixmap:
    """A plain square while a thumbnail loads (or when the file is gone), so every cell has its size."""
    return _square(QGuiApplication.palette().color(QPalette.ColorRole.Midlight).name())


@functools.cache
def _square(colour: str) -> QPixmap:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor(colour))
    return pixmap


def clock_text(moment: datetime | None) -> str:
    """HH:MM, in local time when the moment carries its zone."""
    if moment is None:
        return ""
    return (moment.astimezone() if moment.tzinfo else moment).strftime("%H:%M")


@dataclass(eq=False)
class HistoryRow:
    job: Job
    image: Path | None
    thumb: QPixmap | None = None


class HistoryModel(QAbstractListModel):
    def __init__(self, parent=None, *, capacity: int = 200) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._rows: list[HistoryRow] = []
        self._loading: set[int] = set()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        job = row.job
        if role == Qt.ItemDataRole.DisplayRole:
            prompt = " ".join(job.request.prompt.split())
            short = prompt[:40] + ("…" if len(prompt) > 40 else "")
            return f"{short}\n{job.request.user_name} · {clock_text(job.finished_at)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{job.request.prompt}\n\n{job.request.user_name} — {job.workflow}\n{row.image or 'no file'}"
        if role == Qt.ItemDataRole.DecorationRole:
            if row.thumb is None and row.image is not None and job.id not in self._loading:
                self._load(row)
            return row.thumb if row.thumb is not None and not row.thumb.isNull() else _placeholder()
        if role == PathRole:
            return str(row.image) if row.image else None
        if role == JobRole:
            return job
        return None

    def set_jobs(self, jobs: list[Job]) -> None:
        self.beginResetModel()
        self._rows = [HistoryRow(job, job.outputs[0] if job.outputs else None) for job in jobs[: self.capacity]]
        self.endResetModel()

    def on_job_finished(self, event) -> None:
        if any(r.job.id == event.job_id for r in self._rows):
            return
        image = event.images[0] if event.images else (event.job.outputs[0] if event.job.outputs else None)
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, HistoryRow(event.job, image))
        self.endInsertRows()
        if len(self._rows) > self.capacity:
            last = len(self._rows) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._rows.pop()
            self.endRemoveRows()

    def _load(self, row: HistoryRow) -> None:
        self._loading.add(row.job.id)
        try:
            asyncio.get_running_loop()
        except RuntimeError:          # no loop (plain sync use): decode here
            self._set_thumb(row, load_thumbnail(row.image))
            return
        task = asyncio.ensure_future(asyncio.to_thread(load_thumbnail, row.image))
        task.add_done_callback(lambda t: self._set_thumb(row, None if t.cancelled() or t.exception() else t.result()))

    def _set_thumb(self, row: HistoryRow, image: QImage | None) -> None:
        self._loading.discard(row.job.id)
        row.thumb = QPixmap.fromImage(image) if image is not None and not image.isNull() else QPixmap()
        if row in self._rows:
            at = self._rows.index(row)
            self.dataChanged.emit(self.index(at), self.index(at), [Qt.ItemDataRole.DecorationRole])
