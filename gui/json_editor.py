"""A plain-text JSON editor: syntax colours, and marked lines for errors and problem nodes."""
from __future__ import annotations

import re

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

NODE_LINE = re.compile(r'^\s*"([^"]+)"\s*:\s*\{')


def _format(colour: str, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


class JsonHighlighter(QSyntaxHighlighter):
    RULES = (
        (r'-?\b\d+(\.\d+)?([eE][+-]?\d+)?\b', _format("#B45309")),          # numbers
        (r'\b(true|false|null)\b', _format("#7C3AED", bold=True)),           # literals
        (r'"(\\.|[^"\\])*"', _format("#047857")),                           # strings
        (r'"(\\.|[^"\\])*"(?=\s*:)', _format("#1D4ED8", bold=True)),        # keys (after strings: wins)
        (r'[{}\[\],:]', _format("#6B7280")),                                 # punctuation
    )

    def __init__(self, document) -> None:
        super().__init__(document)
        self._rules = [(QRegularExpression(pattern), fmt) for pattern, fmt in self.RULES]

    def highlightBlock(self, text: str) -> None:
        for expression, fmt in self._rules:
            matches = expression.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class JsonEditor(QPlainTextEdit):
    ERROR_BACKGROUND = QColor("#FDE2E1")
    PROBLEM_BACKGROUND = QColor("#FEF3C7")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(9)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        self.highlighter = JsonHighlighter(self.document())

    def node_lines(self) -> dict[str, int]:
        """Top-level node id -> 1-based line, for `{"12": {...}}` graphs as ComfyUI writes them."""
        lines: dict[str, int] = {}
        for number, line in enumerate(self.toPlainText().splitlines(), 1):
            match = NODE_LINE.match(line)
            if match and line.startswith(('  "', '\t"', '"')) and match.group(1) not in lines:
                if len(line) - len(line.lstrip()) <= 2:
                    lines[match.group(1)] = number
        return lines

    def mark_lines(self, error_lines: list[int] = (), problem_lines: list[int] = ()) -> None:
        selections = []
        for lines, colour in ((problem_lines, self.PROBLEM_BACKGROUND), (error_lines, self.ERROR_BACKGROUND)):
            for line in lines:
                block = self.document().findBlockByLineNumber(max(0, line - 1))
                if not block.isValid():
                    continue
                selection = QTextEdit.ExtraSelection()
                selection.format.setBackground(colour)
                selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                selection.cursor = QTextCursor(block)
                selections.append(selection)
        self.setExtraSelections(selections)

    def marked_lines(self) -> list[int]:
        return [s.cursor.blockNumber() + 1 for s in self.extraSelections()]

    def go_to(self, line: int, column: int = 1) -> None:
        block = self.document().findBlockByLineNumber(max(0, line - 1))
        if block.isValid():
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.MoveOperation.Right, n=max(0, min(column - 1, block.length() - 1)))
            self.setTextCursor(cursor)
            self.centerCursor()
