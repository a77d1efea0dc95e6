"""The Sessions window: one row per private session channel, with the time left before the bot
deletes it. Rows come from SessionService (when the window opens and when a SessionChanged event
arrives through the bridge); the countdown repaints once a second."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer

from core.sessions import SessionInfo
from gui.models.table import FlatTableModel, duration_text, now_like

COLUMNS = (QT_TRANSLATE_NOOP("Columns", "User"), QT_TRANSLATE_NOOP("Columns", "Channel"), QT_TRANSLATE_NOOP("Columns", "Last activity"), QT_TRANSLATE_NOOP("Columns", "Deleted in"))
COL_USER, COL_CHANNEL, COL_ACTIVITY, COL_DELETES = range(4)


@dataclass(frozen=True)
class SessionRow:
    user_id: int
    guild_id: int
    user: str
    channel_id: int | None
    channel: str
    last_activity: datetime
    deletes_at: datetime

    @classmethod
    def from_session(cls, session: SessionInfo) -> "SessionRow":
        channel = f"#{session.channel_id}" if session.channel_id else ""
        return cls(session.user_id, session.guild_id, session.user_name, session.channel_id, channel,
                   session.last_activity, session.delete_at)


def ago_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return QCoreApplication.translate("SessionModel", "{duration} ago").format(
        duration=duration_text((now_like(moment) - moment).total_seconds()))


class SessionModel(FlatTableModel):
    COLUMNS = COLUMNS

    def __init__(self, parent=None, *, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self._rows: list[SessionRow] = []
        self._ticker = QTimer(self)
        self._ticker.setInterval(tick_ms)
        self._ticker.timeout.connect(self.refresh_times)
        if tick_ms > 0:
            self._ticker.start()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == COL_USER:
            return row.user
        if column == COL_CHANNEL:
            return row.channel
        if column == COL_ACTIVITY:
            return ago_text(row.last_activity)
        if column == COL_DELETES:
            left = (row.deletes_at - now_like(row.deletes_at)).total_seconds()
            return duration_text(left) if left > 0 else QCoreApplication.translate("SessionModel", "now")
        return None

    def set_sessions(self, sessions) -> None:
        self.beginResetModel()
        self._rows = [SessionRow.from_session(s) for s in sessions]
        self.endResetModel()

    def row_at(self, row: int) -> SessionRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def refresh_times(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_ACTIVITY), self.index(len(self._rows) - 1, COL_DELETES),
                                  [Qt.ItemDataRole.DisplayRole])
