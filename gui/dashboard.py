"""The dashboard window: Home, Queue, Sessions, Workflows, Logs and History tabs, the app menu, a
status line and a notice bar for failures (below the tabs, so it never moves what is under the
mouse). Closing it hides it (the tray stays); without a tray, closing it quits the app the orderly
way (the shutdown event)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from gui.icons import app_icon
from gui.theme import fit_to_screen
from gui.status import StatusSnapshot
from gui.tabs.history_tab import HistoryTab
from gui.tabs.home_tab import HomeTab
from gui.tabs.logs_tab import LogsTab
from gui.tabs.queue_tab import QueueTab
from gui.tabs.sessions_tab import SessionsTab
from gui.tabs.workflows_tab import WorkflowsTab
from gui.widgets import NoticeBar, Unsaved


class Dashboard(QMainWindow):
    def __init__(self, services, bridge, actions, status, *, has_tray: bool, tick_ms: int = 1000) -> None:
        super().__init__()
        self.actions = actions
        self.has_tray = has_tray
        self.setWindowTitle("FuLLetLabs Image Bot")
        self.setWindowIcon(app_icon())
        fit_to_screen(self, 1180, 720)

        menu = self.menuBar().addMenu(self.tr("&App"))
        for action in actions.all():
            if action is None:
                menu.addSeparator()
            elif action is not actions.open_dashboard:
                menu.addAction(action)

        self.notice = NoticeBar()
        self.tabs = QTabWidget()
        self.home_tab = HomeTab(services, bridge, actions, status, stats_reader=services.comfy_stats)
        self.queue_tab = QueueTab(services.job_service, bridge, actions, tick_ms=tick_ms)
        self.sessions_tab = SessionsTab(services.session_service, bridge, tick_ms=tick_ms)
        self.workflows_tab = WorkflowsTab(services, bridge)
        self.logs_tab = LogsTab(bridge, services.log_ring, services.paths.logs_dir)
        self.history_tab = HistoryTab(services.job_service, bridge)
        for widget, title in ((self.home_tab, self.tr("Home")), (self.queue_tab, self.tr("Queue")),
                              (self.sessions_tab, self.tr("Sessions")), (self.workflows_tab, self.tr("Workflows")),
                              (self.logs_tab, self.tr("Logs")), (self.history_tab, self.tr("History"))):
            self.tabs.addTab(widget, title)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notice)
        self.setCentralWidget(central)
        self.status_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        status.changed.connect(self.show_status)
        status.changed.connect(self.queue_tab.show_summary)
        self.queue_tab.show_summary(status.snapshot)
        self.show_status(status.snapshot)

    def show_status(self, snapshot: StatusSnapshot) -> None:
        self.status_label.setText(snapshot.line())
        self.status_label.setToolTip("\n".join(m for m in (snapshot.bot_message, snapshot.comfy_message) if m))

    def show_notice(self, title: str, text: str, is_error: bool, key: str | None = None) -> None:
        self.notice.show_message(f"<b>{title}</b>: {text}", error=is_error, timeout_ms=0 if is_error else 8000,
                                 key=key)

    def open(self, *, home: bool = False) -> None:
        if home:
            self.tabs.setCurrentWidget(self.home_tab)
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def may_quit(self) -> bool:
        """False when the admin chose to go back to unsaved edits (Cancel)."""
        return self.workflows_tab.settle_unsaved() is not Unsaved.CANCEL

    def closeEvent(self, event) -> None:
        if not self.may_quit():
            event.ignore()
            return
        if self.has_tray:
            event.ignore()
            self.hide()
        else:                      # no tray to come back from: closing the window is quitting
            event.accept()
            self.actions.quit.trigger()
