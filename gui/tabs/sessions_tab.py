"""Sessions tab: private session channels, when each will be deleted; close one now or keep it."""
from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView,
                               QVBoxLayout, QWidget)

from gui.models.session_model import SessionModel
from gui.tasks import error_details, error_text, spawn
from gui import widgets
from gui.widgets import NoticeBar

class SessionsTab(QWidget):
    """Over core.sessions.SessionService. "Close now" expires the session: the bot's reaper deletes
    the channel on its next tick (the GUI never talks to Discord itself)."""

    def __init__(self, session_service, bridge, parent: QWidget | None = None, *, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.service = session_service
        self.model = SessionModel(self, tick_ms=tick_ms)
        self.notice = NoticeBar()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.close_button = QPushButton(self.tr("Close now"))
        self.keep_button = QPushButton(self.tr("Keep"))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.close_button.clicked.connect(self.close_selected)
        self.keep_button.clicked.connect(self.keep_selected)
        self.refresh_button.clicked.connect(self.reload)
        buttons = QHBoxLayout()
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.keep_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notice)          # below: a notice never moves the rows under the mouse
        if session_service is None:
            layout.addWidget(QLabel(self.tr("Sessions are managed by the Discord bot; it is not running in this app.")))
            for button in (self.close_button, self.keep_button, self.refresh_button):
                button.setEnabled(False)
        else:
            bridge.session_changed.connect(lambda _event: self.reload())
            self.reload()

    def reload(self) -> None:
        if self.service is None:
            return
        spawn(self.service.list(), on_done=self.model.set_sessions,
              on_error=lambda exc: self.notice.show_message(self.tr("Could not read the sessions: {reason}").format(reason=error_text(exc)), error=True),
              name="list sessions")

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _act(self, action, what: str) -> None:
        row = self.selected()
        if row is None:
            self.notice.show_message(self.tr("Select a session first."), timeout_ms=4000)
            return
        spawn(action(row.user_id, row.guild_id), on_done=lambda _: self.reload(),
              on_error=lambda exc: self.notice.show_message(self.tr("{what} failed: {reason}").format(what=what, reason=error_text(exc)), error=True,
                                                            details=error_details(exc)),
              name=what)

    def close_selected(self) -> None:
        row = self.selected()
        if row is not None and not widgets.confirm(
                self, self.tr("Close the session of {user}?").format(user=row.user),
                self.tr("The bot deletes their private channel {channel} now, with its images.")
                .format(channel=row.channel or "")):
            return
        self._act(self.service.expire, self.tr("Closing the session"))

    def keep_selected(self) -> None:
        self._act(self.service.keep, self.tr("Keeping the session"))
