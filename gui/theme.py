"""How the windows mark a message as good news or a problem without a colour of their own.

Colours come from the palette only (light and dark themes, high contrast): a problem is said with a
warning sign and bold text, success with a check mark, so the text keeps the palette's contrast and
still reads to someone who does not see red and green apart.
"""
from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QStyleFactory, QWidget


class Tone(Enum):
    PLAIN = ("", "")
    OK = ("✓ ", "")
    PROBLEM = ("⚠ ", "font-weight: bold;")


def say(label: QLabel, text: str, tone: Tone = Tone.PLAIN) -> None:
    """Put `text` in `label`, marked as `tone`; an empty text clears it."""
    prefix, style = tone.value
    label.setStyleSheet(style)
    label.setText(prefix + text if text else "")


# ---- light and dark ----
# The one place colours are chosen: a dark palette for platforms that have none of their own (Linux
# without a desktop portal, older Windows). Every pair a widget draws text with keeps >= 4.5:1
# contrast (tests/gui/test_theme.py); widgets themselves use palette roles only.
DARK = {
    QPalette.ColorRole.Window: "#202225", QPalette.ColorRole.WindowText: "#E8E9EB",
    QPalette.ColorRole.Base: "#16171A", QPalette.ColorRole.AlternateBase: "#2A2C30",
    QPalette.ColorRole.Text: "#E8E9EB", QPalette.ColorRole.PlaceholderText: "#A3A6AC",
    QPalette.ColorRole.Button: "#2E3035", QPalette.ColorRole.ButtonText: "#E8E9EB",
    QPalette.ColorRole.BrightText: "#FFFFFF", QPalette.ColorRole.ToolTipBase: "#2E3035",
    QPalette.ColorRole.ToolTipText: "#E8E9EB", QPalette.ColorRole.Highlight: "#2F5FB3",
    QPalette.ColorRole.HighlightedText: "#FFFFFF", QPalette.ColorRole.Link: "#8AB4F8",
    QPalette.ColorRole.LinkVisited: "#C58AF9", QPalette.ColorRole.Light: "#45484E",
    QPalette.ColorRole.Midlight: "#3A3D42", QPalette.ColorRole.Mid: "#4E5157",
    QPalette.ColorRole.Dark: "#121315", QPalette.ColorRole.Shadow: "#000000",
}
DARK_DISABLED = {QPalette.ColorRole.WindowText: "#8A8D93", QPalette.ColorRole.Text: "#8A8D93",
                 QPalette.ColorRole.ButtonText: "#8A8D93"}
# the (text, background) role pairs widgets draw with
TEXT_PAIRS = (
    (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window), (QPalette.ColorRole.Text, QPalette.ColorRole.Base),
    (QPalette.ColorRole.Text, QPalette.ColorRole.AlternateBase),
    (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Button),
    (QPalette.ColorRole.HighlightedText, QPalette.ColorRole.Highlight),
    (QPalette.ColorRole.ToolTipText, QPalette.ColorRole.ToolTipBase),
    (QPalette.ColorRole.PlaceholderText, QPalette.ColorRole.Base),
    (QPalette.ColorRole.WindowText, QPalette.ColorRole.AlternateBase),   # the notice bar
)


# The JSON editor's syntax colours and its marked-line backgrounds (an error, a problem node), one set
# per scheme: each text colour reads at >= 4.5:1 on the base and on both marks (tests/gui/test_theme.py).
JSON_COLOURS = {
    "light": {"number": "#A14A07", "literal": "#6D28D9", "string": "#065F46", "key": "#1D4ED8",
              "punctuation": "#5F6368", "error_line": "#FDE2E1", "problem_line": "#FEF3C7"},
    "dark": {"number": "#F2B36B", "literal": "#C4A7FF", "string": "#6EE7B7", "key": "#93C5FD",
             "punctuation": "#A3A6AC", "error_line": "#4A1E22", "problem_line": "#3D3413"},
}
JSON_TEXT = ("number", "literal", "string", "key", "punctuation")
JSON_MARKS = ("error_line", "problem_line")


def json_colours(palette: QPalette) -> dict[str, QColor]:
    """The JSON editor's colours for the scheme `palette` belongs to (told by its base's lightness)."""
    scheme = "dark" if palette.color(QPalette.ColorRole.Base).lightness() < 128 else "light"
    return {name: QColor(colour) for name, colour in JSON_COLOURS[scheme].items()}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    for role, colour in DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return palette


def light_palette() -> QPalette:
    """The Fusion style's own light palette, with a placeholder text and a selection dark enough to read."""
    palette = QStyleFactory.create("Fusion").standardPalette()
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#5F6368"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#1F5FA8"))
    return palette


def system_scheme(app: QApplication) -> str:
    """"dark" when the desktop says so (Qt's colour scheme hint, or a dark palette it already applied)."""
    if app.styleHints().colorScheme() == Qt.ColorScheme.Dark:
        return "dark"
    return "dark" if app.palette().color(QPalette.ColorRole.Window).lightness() < 128 else "light"


def apply_theme(app: QApplication, setting: str = "system") -> str:
    """Light or dark for the whole app ("system" follows the desktop, also when it changes later)."""
    scheme = setting if setting in ("light", "dark") else system_scheme(app)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")          # the same palettes and contrast on every platform
    app.setPalette(dark_palette() if scheme == "dark" else light_palette())
    app.setProperty("imagebot_theme", setting)
    if not app.property("imagebot_theme_watched"):      # once: the handler reads the setting in force
        app.setProperty("imagebot_theme_watched", True)
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _follow_system(app))
    return scheme


def _follow_system(app: QApplication) -> None:
    if app.property("imagebot_theme") not in ("light", "dark"):
        apply_theme(app, "system")


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# ---- fitting the screen ----
def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Give `window` its preferred size, but never more than the screen it is on has room for
    (at 150 % or 200 % scaling a 1080p screen has only 1280x720 or 960x540 logical pixels)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    room = screen.availableGeometry()
    size = QSize(min(width, int(room.width() * 0.95)), min(height, int(room.height() * 0.92)))
    window.resize(size)
    frame = window.frameGeometry()
    if not room.contains(frame):
        window.move(room.left() + max(0, (room.width() - size.width()) // 2),
                    room.top() + max(0, (room.height() - size.height()) // 2))


def text_contrast(image: QImage) -> float | None:
    """The contrast of the text in `image` (a screenshot of one label or button) with what is behind it.

    Pixels are grouped into near-equal colours (glyph edges over a gradient button are never exactly
    equal); the background is the biggest group, the text the group most apart from it among those of
    a few pixels (glyph strokes, not a stray anti-aliased one). The frame (3 px) is left out: a button's
    border is no text. None when nothing stands out."""
    if image.width() > 12 and image.height() > 12:
        image = image.copy(3, 3, image.width() - 6, image.height() - 6)
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    groups: dict[tuple[int, int, int], list[int]] = {}      # coarse colour -> [count, r sum, g sum, b sum]
    for y in range(image.height()):
        for x in range(image.width()):
            colour = QColor.fromRgb(image.pixel(x, y))
            r, g, b = colour.red(), colour.green(), colour.blue()
            group = groups.setdefault((r >> 4, g >> 4, b >> 4), [0, 0, 0, 0])
            group[0] += 1
            group[1] += r
            group[2] += g
            group[3] += b
    if len(groups) < 2:
        return None
    means = {key: QColor(r // n, g // n, b // n) for key, (n, r, g, b) in groups.items()}
    background = max(groups, key=lambda key: groups[key][0])
    strokes = [key for key, (n, *_rest) in groups.items() if key != background and n >= 4]
    if not strokes:
        return None
    return max(contrast(means[key], means[background]) for key in strokes)


def window_text_contrasts(window: QWidget) -> list[tuple[float, str]]:
    """(contrast, "Class: text") for every visible, enabled label, button and tab of `window`, measured
    on the pixels the window shows of it (disabled controls are exempt, as in WCAG)."""
    shot = window.grab().toImage()
    ratio = shot.devicePixelRatio()
    found: list[tuple[float, str]] = []
    for widget in window.findChildren(QLabel) + window.findChildren(QAbstractButton):
        text = widget.text()
        if not text.strip() or not widget.isVisibleTo(window) or not widget.isEnabled() or widget.width() < 4:
            continue
        shown = widget.visibleRegion().boundingRect()       # a label scrolled out of view shows nothing
        if shown.width() < 4 or shown.height() < 4:
            continue
        top_left = widget.mapTo(window, shown.topLeft())
        crop = shot.copy(int(top_left.x() * ratio), int(top_left.y() * ratio), int(shown.width() * ratio),
                         int(shown.height() * ratio))
        measured = text_contrast(crop)
        if measured is not None:
            found.append((measured, f"{type(widget).__name__}: {text[:60]}"))
    return found
