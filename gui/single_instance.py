"""One tray app per user: a second launch asks the first to show its window, then exits.

A local socket (named pipe on Windows) carries the request; a stale socket left by a crash is
removed before listening.
"""
from __future__ import annotations

import getpass

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket


class SingleInstance(QObject):
    activated = Signal()          # another launch asked this one to come forward

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = f"{name}-{getpass.getuser()}"
        self._server: QLocalServer | None = None

    def acquire(self, timeout_ms: int = 500) -> bool:
        """True if this is the only instance; False after telling the running one to come forward."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if socket.waitForConnected(timeout_ms):
            socket.write(b"activate\n")
            socket.waitForBytesWritten(timeout_ms)
            socket.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)
        self._server = QLocalServer(self)
        if not self._server.listen(self.name):
            return True  # cannot listen (odd platform): run anyway rather than refuse to start
        self._server.newConnection.connect(self._on_connection)
        return True

    def _on_connection(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.disconnected.connect(connection.deleteLater)
            self.activated.emit()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
