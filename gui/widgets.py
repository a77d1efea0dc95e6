"""Small widgets shared by the windows."""
from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QMessageBox, QStyle, QStyledItemDelegate,
                               QStyleOptionProgressBar, QToolButton, QWidget)

from gui.models.queue_model import ProgressRole


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask before an action that affects everyone (cancel someone's job, close their channel); No is
    the default, so Enter never does it by accident."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class Unsaved(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


def ask_unsaved(parent: QWidget, title: str, text: str) -> Unsaved:
    """Save, Discard or Cancel unsaved edits before they would be lost; Escape (or closing the box) cancels."""
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, buttons.Save | buttons.Discard | buttons.Cancel, parent)
    box.setDefaultButton(buttons.Save)
    box.setEscapeButton(buttons.Cancel)
    return {buttons.Save: Unsaved.SAVE, buttons.Discard: Unsaved.DISCARD}.get(box.exec(), Unsaved.CANCEL)


class NoticeBar(QWidget):
    """A message across a window: a problem (⚠, bold) or information, in the palette's own colours.

    Windows put it below their content, so showing or hiding it never moves what is under the mouse.
    `key` names what a message is about: `clear(key)` takes it away when that problem is over (ComfyUI
    back up) without hiding a newer message about something else."""

    STYLE = ("NoticeBar { background: palette(alternate-base); border: 1px solid palette(mid); "
             "border-radius: 4px; }")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip(self.tr("Dismiss"))
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(self.STYLE)
        self.key: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str, *, error: bool = False, timeout_ms: int = 0, key: str | None = None,
                     details: str = "") -> None:
        """`details` (the error's own words) stay folded in the tooltip."""
        self.key = key
        self.label.setText(("⚠ " if error else "") + text)
        self.label.setToolTip(details)
        font = self.label.font()
        font.setBold(error)
        self.label.setFont(font)
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def clear(self, key: str) -> None:
        """Hide the message about `key`, if that is the one shown."""
        if self.key == key:
            self.hide()

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
