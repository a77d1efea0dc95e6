"""The live queue table: one row per waiting or active job, in run order.

Fed only by CoreBridge signals (connect with `QueueModel.connect_bridge`), plus `reset_jobs`
with `JobService.queued()` when the window opens or after a reorder the admin asked for.
Finished, failed and cancelled jobs leave the table (they go to History).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QModelIndex, Qt, QTimer, Signal

from core.jobs import Job, JobState, Priority
from gui.models.table import FlatTableModel, duration_text, now_like

ProgressRole = Qt.ItemDataRole.UserRole + 1     # (value, max) or None, for the progress delegate
JobIdRole = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("#", QT_TRANSLATE_NOOP("Columns", "User"), QT_TRANSLATE_NOOP("Columns", "Model"), QT_TRANSLATE_NOOP("Columns", "Prompt"), QT_TRANSLATE_NOOP("Columns", "Priority"), QT_TRANSLATE_NOOP("Columns", "State"),
           QT_TRANSLATE_NOOP("Columns", "Progress"), QT_TRANSLATE_NOOP("Columns", "Waited"), QT_TRANSLATE_NOOP("Columns", "Generating"))
COL_POSITION, COL_USER, COL_MODEL, COL_PROMPT, COL_PRIORITY, COL_STATE, COL_PROGRESS, COL_WAIT, COL_GEN = range(9)
PROMPT_CHARS = 120
ACTIVE = (JobState.SUBMITTED, JobState.RUNNING)
STATE_TEXT = {JobState.QUEUED: QT_TRANSLATE_NOOP("QueueModel", "waiting"),
              JobState.SUBMITTED: QT_TRANSLATE_NOOP("QueueModel", "in ComfyUI"),
              JobState.RUNNING: QT_TRANSLATE_NOOP("QueueModel", "running")}


def priority_text(priority: int) -> str:
    names = {Priority.ADMIN: QT_TRANSLATE_NOOP("QueueModel", "admin"), Priority.ROLE: QT_TRANSLATE_NOOP("QueueModel", "role"),
             Priority.USER: QT_TRANSLATE_NOOP("QueueModel", "user")}
    return QCoreApplication.translate("QueueModel", names[priority]) if priority in names else str(priority)


@dataclass(eq=False)
class QueueRow:
    job: Job
    state: JobState
    position: int | None = None
    progress: tuple[int, int] | None = None

    @property
    def sort_key(self) -> tuple[int, float, int]:
        if self.state in ACTIVE:
            return (0, 0, self.job.id)
        return (1, self.position if self.position is not None else math.inf, self.job.id)

    def wait_s(self) -> float | None:
        created = self.job.created_at
        if self.job.started_at is not None:
            return (self.job.started_at - created).total_seconds()
        return (now_like(created) - created).total_seconds()

    def generation_s(self) -> float | None:
        started = self.job.started_at
        if started is None:
            return None
        return (now_like(started) - started).total_seconds()


class QueueModel(FlatTableModel):
    COLUMNS = COLUMNS
    # (waiting, active), sent when either changes: the tab's summary and the tray follow it without
    # recounting on every progress update or time tick
    counts_changed = Signal(int, int)

    def __init__(self, parent=None, *, display_names: dict[str, str] | None = None,
                 tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self._rows: list[QueueRow] = []
        self._index: dict[int, QueueRow] = {}
        self.display_names = dict(display_names or {})
        self._counts: tuple[int, int] | None = None
        for signal in (self.rowsInserted, self.rowsRemoved, self.modelReset):
            signal.connect(self._announce_counts)
        # waiting/generating times advance on their own; repaint those two columns once a second
        self._ticker = QTimer(self)
        self._ticker.setInterval(tick_ms)
        self._ticker.timeout.connect(self.refresh_times)
        if tick_ms > 0:
            self._ticker.start()

    # ---- wiring ------------------------------------------------------------------------------

    def connect_bridge(self, bridge) -> None:
        bridge.job_queued.connect(self.on_job_queued)
        bridge.job_position.connect(self.on_position_changed)
        bridge.job_started.connect(self.on_job_started)
        bridge.job_progress.connect(self.on_progress)
        bridge.job_finished.connect(self.on_job_left)
        bridge.job_failed.connect(self.on_job_left)
        bridge.job_cancelled.connect(self.on_job_left)

    # ---- Qt model API --------------------------------------------------------------------------

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_PROMPT:
            return row.job.request.prompt
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_POSITION, COL_WAIT, COL_GEN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ProgressRole and column == COL_PROGRESS:
            return row.progress
        if role == JobIdRole:
            return row.job.id
        return None

    def _display(self, row: QueueRow, column: int) -> str | None:
        job = row.job
        if column == COL_POSITION:
            return "▶" if row.state in ACTIVE else (str(row.position) if row.position else "")
        if column == COL_USER:
            return job.request.user_name
        if column == COL_MODEL:
            return self.display_names.get(job.workflow, job.workflow)
        if column == COL_PROMPT:
            prompt = " ".join(job.request.prompt.split())
            return prompt if len(prompt) <= PROMPT_CHARS else prompt[: PROMPT_CHARS - 1] + "…"
        if column == COL_PRIORITY:
            return priority_text(job.priority)
        if column == COL_STATE:
            return QCoreApplication.translate("QueueModel", STATE_TEXT.get(row.state, row.state.value))
        if column == COL_PROGRESS:
            if row.progress is None:
                return ""
            value, maximum = row.progress
            return f"{round(100 * value / maximum) if maximum else 0}%"
        if column == COL_WAIT:
            return duration_text(row.wait_s())
        if column == COL_GEN:
            return duration_text(row.generation_s())
        return None

    # ---- reading ------------------------------------------------------------------------------

    def job_at(self, row: int) -> Job | None:
        return self._rows[row].job if 0 <= row < len(self._rows) else None

    def row_of(self, job_id: int) -> int | None:
        row = self._index.get(job_id)
        return None if row is None else self._rows.index(row)

    def job_ids(self) -> list[int]:
        return [row.job.id for row in self._rows]

    def counts(self) -> tuple[int, int]:
        """(waiting, active) jobs."""
        active = sum(1 for row in self._rows if row.state in ACTIVE)
        return len(self._rows) - active, active

    # ---- updates --------------------------------------------------------------------------------

    def reset_jobs(self, jobs: list[Job], positions: dict[int, int | None] | None = None) -> None:
        """Replace every row with a snapshot in run order (`JobService.queued()`)."""
        positions = positions or {}
        self.beginResetModel()
        self._rows = []
        waiting = 0
        for job in jobs:
            if job.state.is_final:
                continue
            position = None
            if job.state not in ACTIVE:
                waiting += 1
                position = positions.get(job.id) or waiting
            self._rows.append(QueueRow(job, job.state, position))
        self._rows.sort(key=lambda r: r.sort_key)
        self._index = {row.job.id: row for row in self._rows}
        self.endResetModel()

    def on_job_queued(self, event) -> None:
        if event.job_id in self._index:
            self._set_position(event.job_id, event.position)
            return
        # Positions of the others arrive coalesced (once a second at most): shift them now so the
        # table is right in between.
        self._shift_positions(event.position, +1)
        row = QueueRow(event.job, JobState.QUEUED, event.position)
        at = self._insertion_row(row.sort_key)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, row)
        self._index[row.job.id] = row
        self.endInsertRows()

    def on_position_changed(self, event) -> None:
        if event.position == 0:  # handed to ComfyUI: no longer waiting with us
            row = self._index.get(event.job_id)
            if row is not None and row.state not in ACTIVE:
                self._leave_waiting(row, JobState.SUBMITTED)
            return
        self._set_position(event.job_id, event.position)

    def on_job_started(self, event) -> None:
        row = self._index.get(event.job_id)
        if row is None:
            row = QueueRow(event.job, JobState.RUNNING)
            at = self._insertion_row(row.sort_key)
            self.beginInsertRows(QModelIndex(), at, at)
            self._rows.insert(at, row)
            self._index[row.job.id] = row
            self.endInsertRows()
            return
        row.job = event.job
        self._leave_waiting(row, JobState.RUNNING)

    def on_progress(self, event) -> None:
        row = self._index.get(event.job_id)
        if row is None:
            return
        row.progress = (event.value, event.max)
        if row.state is JobState.SUBMITTED or row.state is JobState.QUEUED:
            row.state = JobState.RUNNING
            self._move_into_place(row)
            self._row_changed(row)
            self._announce_counts()
            return
        at = self._rows.index(row)
        index = self.index(at, COL_PROGRESS)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, ProgressRole])

    def on_job_left(self, event) -> None:
        row = self._index.pop(event.job_id, None)
        if row is None:
            return
        at = self._rows.index(row)
        self.beginRemoveRows(QModelIndex(), at, at)
        del self._rows[at]
        self.endRemoveRows()
        if row.position is not None and row.state not in ACTIVE:
            self._shift_positions(row.position + 1, -1)

    def refresh_times(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_WAIT), self.index(len(self._rows) - 1, COL_GEN),
                                  [Qt.ItemDataRole.DisplayRole])

    # ---- helpers ----------------------------------------------------------------------------------

    def _insertion_row(self, key) -> int:
        low, high = 0, len(self._rows)
        while low < high:
            mid = (low + high) // 2
            if self._rows[mid].sort_key < key:
                low = mid + 1
            else:
                high = mid
        return low

    def _shift_positions(self, from_position: int, delta: int) -> None:
        """Waiting rows at `from_position` or later move by `delta` places (order unchanged)."""
        changed = [r for r in self._rows if r.position is not None and r.position >= from_position]
        for r in changed:
            r.position += delta
        if changed:
            first, last = self._rows.index(changed[0]), self._rows.index(changed[-1])
            self.dataChanged.emit(self.index(first, COL_POSITION), self.index(last, COL_POSITION),
                                  [Qt.ItemDataRole.DisplayRole])

    def _leave_waiting(self, row: QueueRow, state: JobState) -> None:
        """The row goes to ComfyUI: the rows behind it move up one place (the core's own position
        events arrive coalesced, later)."""
        if row.position is not None:
            self._shift_positions(row.position + 1, -1)
        row.state, row.position = state, None
        self._move_into_place(row)
        self._row_changed(row)
        self._announce_counts()

    def _set_position(self, job_id: int, position: int) -> None:
        row = self._index.get(job_id)
        if row is None or row.position == position:
            return
        row.position = position
        self._move_into_place(row)
        self._row_changed(row)

    def _move_into_place(self, row: QueueRow) -> None:
        at = self._rows.index(row)
        del self._rows[at]
        target = self._insertion_row(row.sort_key)
        self._rows.insert(at, row)          # back, so the move is announced against the old list
        if target == at:
            return
        destination = target + 1 if target > at else target
        if not self.beginMoveRows(QModelIndex(), at, at, QModelIndex(), destination):
            return
        del self._rows[at]
        self._rows.insert(target, row)
        self.endMoveRows()

    def _announce_counts(self, *_signal_args) -> None:
        counts = self.counts()
        if counts != self._counts:
            self._counts = counts
            self.counts_changed.emit(*counts)

    def _row_changed(self, row: QueueRow) -> None:
        at = self._rows.index(row)
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(COLUMNS) - 1))
