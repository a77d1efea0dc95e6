"""Queue tab: the live table, the admin's actions on a job, and the running job's preview."""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QItemSelectionModel, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableView, QVBoxLayout, QWidget)

from core.jobs import JobState, Priority
from gui.models.queue_model import COL_PROGRESS, COL_PROMPT, QueueModel
from gui.tasks import error_details, error_text, spawn
from gui import widgets
from gui.widgets import NoticeBar, ProgressDelegate

PRIORITIES = ((QT_TRANSLATE_NOOP("QueueTab", "Admin (first)"), int(Priority.ADMIN)),
              (QT_TRANSLATE_NOOP("QueueTab", "Role"), int(Priority.ROLE)),
              (QT_TRANSLATE_NOOP("QueueTab", "User"), int(Priority.USER)))
PREVIEW_SIDE = 320
COLUMN_WIDTHS = {0: 40, 1: 110, 2: 120, 4: 70, 5: 90, 6: 100, 7: 70, 8: 86}


class QueueTab(QWidget):
    def __init__(self, job_service, bridge, actions, parent: QWidget | None = None, *, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.job_service = job_service
        self.model = QueueModel(self, tick_ms=tick_ms,
                                display_names={w.name: w.display_name for w in job_service.workflows()})
        self.model.connect_bridge(bridge)
        self._preview_job: int | None = None

        self.notice = NoticeBar()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.table))
        # Fixed widths: ResizeToContents would re-measure every cell on every progress update.
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(36)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(COL_PROMPT, QHeaderView.ResizeMode.Stretch)

        self.cancel_button = QPushButton(self.tr("Cancel job"))
        self.up_button = QPushButton(self.tr("Move up"))
        self.down_button = QPushButton(self.tr("Move down"))
        self.priority_box = QComboBox()
        for label, value in PRIORITIES:
            self.priority_box.addItem(self.tr(label), value)
        self.priority_button = QPushButton(self.tr("Set priority"))
        self.pause_button = QPushButton()
        self.pause_button.clicked.connect(actions.pause_queue.trigger)
        actions.pause_queue.changed.connect(lambda: self.pause_button.setText(actions.pause_queue.text()))
        self.pause_button.setText(actions.pause_queue.text())
        self.pause_button.setToolTip(self.tr("Pauses or resumes the whole queue, for everyone"))
        self.summary = QLabel()

        self.cancel_button.clicked.connect(self.cancel_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(+1))
        self.priority_button.clicked.connect(self.prioritise_selected)

        buttons = QHBoxLayout()
        for widget in (self.cancel_button, self.up_button, self.down_button, self.priority_box, self.priority_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        buttons.addWidget(self.pause_button)

        self.preview = QLabel(self.tr("No job is running."))
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIDE // 2, PREVIEW_SIDE // 2)
        self.preview.setStyleSheet("QLabel { background: palette(base); color: palette(text); "
                                   "border: 1px solid palette(mid); border-radius: 6px; }")
        self.preview_caption = QLabel("")
        self.preview_caption.setWordWrap(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("<b>" + self.tr("Now generating") + "</b>"))
        side_layout.addWidget(self.preview, 1)
        side_layout.addWidget(self.preview_caption)

        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.notice)          # below: a notice never moves the rows under the mouse

        bridge.job_progress.connect(self.on_progress)
        bridge.job_started.connect(self.on_started)
        for signal in (bridge.job_finished, bridge.job_failed, bridge.job_cancelled):
            signal.connect(self.on_job_left)
        bridge.queue_snapshot.connect(self._on_snapshot)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.reload()

    # ---- state ----
    def reload(self) -> None:
        """Snapshot from the service (window open, after a reorder)."""
        selected = self.selected_job_id()
        jobs = self.job_service.queued()
        self.model.reset_jobs(jobs, {job.id: self.job_service.position(job.id) for job in jobs})
        running = next((job for job in jobs if job.state is JobState.RUNNING), None)
        if running is not None and self._preview_job is None:     # opened mid-job: say which one runs
            self._preview_job = running.id
            self.preview.setText(self.tr("Generating…"))
            self.preview_caption.setText(f"#{running.id} · {running.request.user_name}: {running.request.prompt[:160]}")
        if selected is not None:
            self.select_job(selected)
        self._update_buttons()

    def _on_snapshot(self, snapshot) -> None:
        """The service's queue is the truth: jobs it took over on start (no JobQueued for them) appear."""
        if set(self.model.job_ids()) != set(snapshot.waiting + snapshot.running + snapshot.pending):
            self.reload()

    def selected_job_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        job = self.model.job_at(rows[0].row())
        return job.id if job else None

    def select_job(self, job_id: int) -> None:
        row = self.model.row_of(job_id)
        if row is not None:
            self.table.selectionModel().select(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _update_buttons(self, *args) -> None:
        has = self.selected_job_id() is not None
        for widget in (self.cancel_button, self.up_button, self.down_button, self.priority_button):
            widget.setEnabled(has)

    def show_summary(self, snapshot) -> None:
        """The queue in words, from the app status (the core's QueueSnapshot), as the tray says it."""
        self.summary.setText(snapshot.queue_text())

    # ---- actions ----
    def _act(self, coro, what: str, reload: bool = False) -> None:
        def failed(exc: BaseException) -> None:
            self.notice.show_message(self.tr("{what} failed: {reason}").format(what=what, reason=error_text(exc)), error=True,
                                     details=error_details(exc))
        spawn(coro, on_error=failed, on_done=(lambda _: self.reload()) if reload else None, name=what)

    def cancel_selected(self) -> None:
        job_id = self.selected_job_id()
        job = self.model.job_at(self.model.row_of(job_id)) if job_id is not None else None
        if job is not None and widgets.confirm(
                self, self.tr("Cancel job #{id}?").format(id=job_id),
                self.tr("The job of {user} is cancelled and they are told so. This cannot be undone.")
                .format(user=job.request.user_name)):
            self._act(self.job_service.cancel(job_id, is_admin=True), self.tr("Cancelling job {id}").format(id=job_id))

    def move_selected(self, steps: int) -> None:
        job_id = self.selected_job_id()
        if job_id is not None:
            self._act(self.job_service.move(job_id, steps), self.tr("Moving job {id}").format(id=job_id), reload=True)

    def prioritise_selected(self) -> None:
        job_id = self.selected_job_id()
        if job_id is not None:
            priority = self.priority_box.currentData()
            self._act(self.job_service.set_priority(job_id, priority), self.tr("Changing the priority of job {id}").format(id=job_id),
                      reload=True)

    # ---- preview ----
    def on_started(self, event) -> None:
        self._preview_job = event.job_id
        self.preview.setPixmap(QPixmap())
        self.preview.setText(self.tr("Starting…"))
        request = event.job.request
        self.preview_caption.setText(f"#{event.job_id} · {request.user_name}: {request.prompt[:160]}")

    def on_progress(self, event) -> None:
        if event.preview:
            pixmap = QPixmap()
            if pixmap.loadFromData(event.preview):
                self._preview_job = event.job_id
                self.preview.setPixmap(pixmap.scaled(PREVIEW_SIDE, PREVIEW_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))
        elif self.preview.pixmap().isNull():
            self.preview.setText(self.tr("Step {value} of {max}").format(value=event.value, max=event.max))

    def on_job_left(self, event) -> None:
        if event.job_id == self._preview_job:
            self._preview_job = None
            self.preview.setPixmap(QPixmap())
            self.preview.setText(self.tr("No job is running."))
            self.preview_caption.setText("")
