"""Small widgets shared by the windows."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QStyle, QStyledItemDelegate,
                               QStyleOptionProgressBar, QToolButton, QWidget)

from gui.models.queue_model import ProgressRole


class NoticeBar(QWidget):
    """A one-line message across the top of a window: red for errors, blue for information."""

    STYLES = {True: "background:#FDECEA; color:#8A1C1C; border:1px solid #F5C2C0; border-radius:4px;",
              False: "background:#E8F0FE; color:#1A3E8A; border:1px solid #C3D4F7; border-radius:4px;"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str, *, error: bool = False, timeout_ms: int = 0) -> None:
        self.setStyleSheet(f"NoticeBar {{{self.STYLES[error]}}}")
        self.label.setText(text)
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def text(self) -> str:
        return self.label.text() if self.isVisible() or not self.isHidden() else ""


class ProgressDelegate(QStyledItemDelegate):
    """Draws ProgressRole (value, max) as a progress bar."""

    def paint(self, painter, option, index) -> None:
        progress = index.data(ProgressRole)
        if not progress:
            super().paint(painter, option, index)
            return
        value, maximum = progress
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(3, 4, -3, -4))
        bar.minimum, bar.maximum = 0, max(1, maximum)
        bar.progress = min(value, maximum)
        bar.text = f"{round(100 * value / maximum) if maximum else 0}%"
        bar.textVisible = True
        bar.state = option.state
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)
