"""Logs tab: the bot's, the queue's and ComfyUI's output as it happens, with a level and source
filter, a search box, copy, and a button that opens the log folder."""
from __future__ import annotations

import logging

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLineEdit, QListView, QPushButton,
                               QVBoxLayout, QWidget)

from gui.models.log_model import SOURCE_GROUPS, LogFilter, LogModel

LEVELS = (("Debug", logging.DEBUG), ("Info", logging.INFO), ("Warning", logging.WARNING), ("Error", logging.ERROR))


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
            self.level_box.addItem(label, level)
        self.level_box.setCurrentIndex(1)
        self.source_box = QComboBox()
        self.source_box.addItems(list(SOURCE_GROUPS))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search…")
        self.search.setClearButtonEnabled(True)
        self.copy_button = QPushButton("Copy")
        self.folder_button = QPushButton("Open log folder")
        self.follow = True

        self.level_box.currentIndexChanged.connect(lambda _: self.proxy.set_filter(min_level=self.level_box.currentData()))
        self.source_box.currentTextChanged.connect(lambda text: self.proxy.set_filter(group=text))
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
