"""The Logs window's lines: a capped list fed by the bridge's log_line signal, plus a filter proxy
(minimum level, source, search text). Appends are batched every `flush_ms` so a burst of log lines
never stalls the loop."""
from __future__ import annotations

import functools
import logging

from PySide6.QtCore import QT_TRANSLATE_NOOP, QAbstractListModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QFont

from core.logs import LogLine

LevelRole = Qt.ItemDataRole.UserRole + 1
SourceRole = Qt.ItemDataRole.UserRole + 2
SOURCE_GROUPS = {QT_TRANSLATE_NOOP("LogModel", "All"): None, QT_TRANSLATE_NOOP("LogModel", "Bot"): ("bot", "discord"),
                 QT_TRANSLATE_NOOP("LogModel", "Queue"): ("core",), "ComfyUI": ("comfyui", "comfy"),
                 QT_TRANSLATE_NOOP("LogModel", "App"): ("gui", "main", "__main__")}


@functools.cache
def _bold() -> QFont:
    """Warnings and errors stand out by weight, not colour: the palette's text colour keeps its contrast."""
    font = QFont()
    font.setBold(True)
    return font


class LogModel(QAbstractListModel):
    def __init__(self, parent=None, *, capacity: int = 5000, flush_ms: int = 100) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._lines: list[LogLine] = []
        self._pending: list[LogLine] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._lines)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._lines)):
            return None
        line = self._lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return line.text
        if role == Qt.ItemDataRole.FontRole:
            return _bold() if line.level >= logging.WARNING else None
        if role == LevelRole:
            return line.level
        if role == SourceRole:
            return line.source
        return None

    def extend(self, lines) -> None:
        """Add lines at once (the ring's backlog when the window opens)."""
        self._pending.extend(lines)
        self.flush()

    def append(self, line: LogLine) -> None:
        self._pending.append(line)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        pending, self._pending = self._pending[-self.capacity:], []
        if not pending:
            return
        overflow = len(self._lines) + len(pending) - self.capacity
        if overflow > 0:
            drop = min(overflow, len(self._lines))
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self._lines[:drop]
            self.endRemoveRows()
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(pending) - 1)
        self._lines.extend(pending)
        self.endInsertRows()

    def text_of(self, rows) -> str:
        return "\n".join(self._lines[r].text for r in rows if 0 <= r < len(self._lines))


class LogFilter(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.min_level = logging.DEBUG
        self.sources: tuple[str, ...] | None = None
        self.needle = ""

    def set_filter(self, *, min_level: int | None = None, group: str | None = None, search: str | None = None) -> None:
        self.beginFilterChange()
        if min_level is not None:
            self.min_level = min_level
        if group is not None:
            self.sources = SOURCE_GROUPS.get(group)
        if search is not None:
            self.needle = search.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent) -> bool:
        index = self.sourceModel().index(row, 0, parent)
        if (index.data(LevelRole) or 0) < self.min_level:
            return False
        if self.sources is not None and index.data(SourceRole) not in self.sources:
            return False
        return not self.needle or self.needle in (index.data() or "").lower()
