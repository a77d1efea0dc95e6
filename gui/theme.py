"""How the windows mark a message as good news or a problem without a colour of their own.

Colours come from the palette only (light and dark themes, high contrast): a problem is said with a
warning sign and bold text, success with a check mark, so the text keeps the palette's contrast and
still reads to someone who does not see red and green apart.
"""
from __future__ import annotations

from enum import Enum

from PySide6.QtWidgets import QLabel


class Tone(Enum):
    PLAIN = ("", "")
    OK = ("✓ ", "")
    PROBLEM = ("⚠ ", "font-weight: bold;")


def say(label: QLabel, text: str, tone: Tone = Tone.PLAIN) -> None:
    """Put `text` in `label`, marked as `tone`; an empty text clears it."""
    prefix, style = tone.value
    label.setStyleSheet(style)
    label.setText(prefix + text if text else "")
