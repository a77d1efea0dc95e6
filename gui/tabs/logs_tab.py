"""Logs tab: the bot's, the queue's and ComfyUI's output as it happens, with a level and source
filter, a search box, copy, and a button that opens the log folder."""
from __future__ import annotations

import logging

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLineEdit, QListView, QPushButton,
                               QVBoxLayout, QWidget)

from gui.models.log_model import SOURCE_GROUPS, LogFilter, LogModel

LEVELS = ((QT_TRANSLATE_NOOP("LogsTab", "Debug"), logging.DEBUG), (QT_TRANSLATE_NOOP("LogsTab", "Info"), logging.INFO),
          (QT_TRANSLATE_NOOP("LogsTab", "Warning"), logging.WARNING), (QT_TRANSLATE_NOOP("LogsTab", "Error"), logging.ERROR))


class LogsTab(QWidget):
    def __init__(self, bridge, log_ring, logs_dir, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.logs_dir = logs_dir
        self.model = LogModel(self)
        self.proxy = LogFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(9)
        self.view.setFont(font)

        self.level_box = QComboBox()
        for label, level in LEVELS:
            self.level_box.addItem(self.tr(label), level)
        self.level_box.setCurrentIndex(1)
        self.source_box = QComboBox()
        for group in SOURCE_GROUPS:
            self.source_box.addItem(QCoreApplication.translate("LogModel", group), group)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search…"))
        self.search.setClearButtonEnabled(True)
        self.copy_button = QPushButton(self.tr("Copy"))
        self.folder_button = QPushButton(self.tr("Open log folder"))
        self.follow = True

        self.level_box.currentIndexChanged.connect(lambda _: self.proxy.set_filter(min_level=self.level_box.currentData()))
        self.source_box.currentIndexChanged.connect(lambda _: self.proxy.set_filter(group=self.source_box.currentData()))
        self.search.textChanged.connect(lambda text: self.proxy.set_filter(search=text))
        self.copy_button.clicked.connect(self.copy_selection)
        self.folder_button.clicked.connect(self.open_folder)
        self.proxy.set_filter(min_level=logging.INFO)

        bar = QHBoxLayout()
        bar.addWidget(self.level_box)
        bar.addWidget(self.source_box)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        if log_ring is not None:
            self.model.extend(list(log_ring.lines))
        bridge.log_line.connect(self.model.append)
        self.model.rowsInserted.connect(self._scroll_to_end)
        self.view.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def _on_scrolled(self, value: int) -> None:
        bar = self.view.verticalScrollBar()
        self.follow = value >= bar.maximum() - 2

    def _scroll_to_end(self, *args) -> None:
        if self.follow:
            self.view.scrollToBottom()

    def visible_text(self) -> list[str]:
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    def copy_selection(self) -> None:
        rows = sorted(self.view.selectionModel().selectedRows(), key=lambda i: i.row())
        if rows:
            text = "\n".join(index.data() for index in rows)
        else:
            text = "\n".join(self.visible_text())
        QGuiApplication.clipboard().setText(text)

    def open_folder(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.logs_dir)))
