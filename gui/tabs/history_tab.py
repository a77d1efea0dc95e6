"""History tab: recent results as thumbnails with prompt, user and time; open the file."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QListView, QPushButton, QVBoxLayout, QWidget

from gui.models.history_model import THUMB, HistoryModel, PathRole
from gui.tasks import error_text, spawn
from gui.widgets import NoticeBar


class HistoryTab(QWidget):
    def __init__(self, job_service, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_service = job_service
        self.model = HistoryModel(self)
        self.notice = NoticeBar()
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 40, THUMB + 60))
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setWordWrap(True)
        self.view.setSpacing(6)
        self.view.setModel(self.model)
        self.view.doubleClicked.connect(self.open_index)
        self.open_button = QPushButton(self.tr("Open file"))
        self.folder_button = QPushButton(self.tr("Open folder"))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.open_button.clicked.connect(lambda: self.open_index(self.view.currentIndex()))
        self.folder_button.clicked.connect(self.open_folder)
        self.refresh_button.clicked.connect(self.reload)
        bar = QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(self.folder_button)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.notice)          # below: a notice never moves the rows under the mouse
        bridge.job_finished.connect(self.model.on_job_finished)
        self.reload()

    def reload(self) -> None:
        spawn(self.job_service.recent(60), on_done=self.model.set_jobs,
              on_error=lambda exc: self.notice.show_message(self.tr("Could not read the history: {reason}").format(reason=error_text(exc)), error=True),
              name="history")

    def open_index(self, index) -> None:
        path = index.data(PathRole) if index.isValid() else None
        if not path or not Path(path).exists():
            self.notice.show_message(self.tr("That result has no file on this computer (any more)."), timeout_ms=5000)
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def open_folder(self) -> None:
        index = self.view.currentIndex()
        path = index.data(PathRole) if index.isValid() else None
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))
