"""What the table models share: a flat table with a fixed header, and the time texts they show."""
from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, Qt


class FlatTableModel(QAbstractTableModel):
    """A table without children: `COLUMNS` names the header; subclasses keep their rows in `_rows`."""
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.COLUMNS)):
            return QCoreApplication.translate("Columns", self.COLUMNS[section])
        return None


def now_like(moment: datetime) -> datetime:
    """Now, comparable with `moment`: naive datetimes from the store are UTC."""
    now = datetime.now(timezone.utc)
    return now if moment.tzinfo else now.replace(tzinfo=None)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
