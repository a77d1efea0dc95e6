"""A plain-text JSON editor: syntax colours (from gui/theme.py, light or dark as the palette is), and
marked lines for errors and problem nodes."""
from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRegularExpression
from PySide6.QtGui import QColor, QFont, QPalette, QSyntaxHighlighter, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from gui.theme import json_colours

NODE_LINE = re.compile(r'^\s*"([^"]+)"\s*:\s*\{')


def _format(colour: QColor, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(colour)
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


class JsonHighlighter(QSyntaxHighlighter):
    RULES = (                               # (pattern, colour name in gui/theme.py JSON_COLOURS, bold)
        (r'-?\b\d+(\.\d+)?([eE][+-]?\d+)?\b', "number", False),
        (r'\b(true|false|null)\b', "literal", True),
        (r'"(\\.|[^"\\])*"', "string", False),
        (r'"(\\.|[^"\\])*"(?=\s*:)', "key", True),        # after strings: wins
        (r'[{}\[\],:]', "punctuation", False),
    )

    def __init__(self, document, palette: QPalette) -> None:
        super().__init__(document)
        self.use_palette(palette)

    def use_palette(self, palette: QPalette) -> None:
        """Colours for the palette's scheme (light or dark), and the text coloured again."""
        colours = json_colours(palette)
        self._rules = [(QRegularExpression(pattern), _format(colours[name], bold))
                       for pattern, name, bold in self.RULES]
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for expression, fmt in self._rules:
            matches = expression.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class JsonEditor(QPlainTextEdit):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(9)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(True)       # Tab leaves the editor (no keyboard trap); indent with spaces
        self.highlighter = JsonHighlighter(self.document(), self.palette())
        self._marks: tuple[list[int], list[int]] = ([], [])

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):     # light <-> dark
            self.highlighter.use_palette(self.palette())
            self.mark_lines(*self._marks)

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
        self._marks = (list(error_lines), list(problem_lines))
        colours = json_colours(self.palette())
        selections = []
        for lines, colour in ((problem_lines, colours["problem_line"]), (error_lines, colours["error_line"])):
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
