"""The tray icon: its colour and badge say how the bot, ComfyUI and the queue are; its menu holds
the app's commands; failures pop up as notifications. Without a system tray (bare X servers, some
desktops) the app shows the dashboard as a normal window instead, with the same commands in its
menu bar."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from gui.actions import AppActions
from gui.icons import tray_pixmap
from gui.status import AppStatus, StatusSnapshot


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayController(QObject):
    """Owns the QSystemTrayIcon. `available` False: nothing is shown; notices go to `fallback_notice`."""
    fallback_notice = Signal(str, str, bool, object)     # title, text, is_error, key (what it is about) or None

    def __init__(self, actions: AppActions, status: AppStatus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions = actions
        self.status = status
        self.available = tray_available()
        self.menu = QMenu()
        for action in actions.all():
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.icon = QSystemTrayIcon(self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._shown_level: tuple[str, int] | None = None
        status.changed.connect(self.refresh)
        actions.notice.connect(self.notify)
        self.refresh(status.snapshot)

    def show(self) -> None:
        if self.available:
            self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def refresh(self, snapshot: StatusSnapshot) -> None:
        key = (snapshot.level, min(snapshot.jobs, 100))
        if key != self._shown_level:       # redraw only when the picture changes
            self._shown_level = key
            self.icon.setIcon(QIcon(tray_pixmap(snapshot.level, snapshot.jobs)))
        self.icon.setToolTip(snapshot.tooltip())

    def notify(self, title: str, text: str, is_error: bool = False, key: str | None = None) -> None:
        if self.available and self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            kind = QSystemTrayIcon.MessageIcon.Critical if is_error else QSystemTrayIcon.MessageIcon.Information
            self.icon.showMessage(title, text, kind, 10_000)
        self.fallback_notice.emit(title, text, is_error, key)   # the dashboard shows it too

    def _on_activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.actions.open_dashboard_requested.emit()
