"""Light and dark: colours come from the palette only, every text/background pair of both palettes
reads at >= 4.5:1, "system" follows the desktop, and windows fit a 1080p screen at 200 %."""
from __future__ import annotations

import asyncio
import ctypes
import re
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QPalette

from gui.theme import (JSON_COLOURS, JSON_MARKS, JSON_TEXT, TEXT_PAIRS, apply_theme, contrast, dark_palette,
                       light_palette, text_contrast)

ROOT = Path(__file__).resolve().parents[2]
COLOUR = re.compile(r"#[0-9A-Fa-f]{6}\b|QColor\(\"|color\s*:\s*#")
# the palette itself, and the tray icon (a picture whose dot colour is the state, not text)
ALLOWED = {"gui/theme.py", "gui/icons.py"}
UNDER_WINE = sys.platform == "win32" and hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


def gui_files():
    for path in sorted((ROOT / "gui").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        yield pytest.param(path, id=name)


@pytest.mark.parametrize("path", list(gui_files()))
def test_no_window_picks_its_own_colours(path):
    assert not COLOUR.findall(path.read_text(encoding="utf-8")), "use palette roles (gui/theme.py)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_pair_of_the_palette_reads_at_4_5_to_1(qapp, scheme):
    palette = light_palette() if scheme == "light" else dark_palette()
    for text, background in TEXT_PAIRS:
        ratio = contrast(palette.color(text), palette.color(background))
        assert ratio >= 4.5, (text.name, background.name, round(ratio, 2))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_json_syntax_colours_read_at_4_5_to_1_on_the_base_and_on_marked_lines(qapp, scheme):
    palette = light_palette() if scheme == "light" else dark_palette()
    colours = JSON_COLOURS[scheme]
    backgrounds = [palette.color(QPalette.ColorRole.Base)] + [QColor(colours[mark]) for mark in JSON_MARKS]
    texts = [QColor(colours[name]) for name in JSON_TEXT] + [palette.color(QPalette.ColorRole.Text)]
    for text in texts:
        for background in backgrounds:
            assert contrast(text, background) >= 4.5, (scheme, text.name(), background.name())


async def test_the_json_editor_follows_the_theme(qtbot, qapp):
    from gui.json_editor import JsonEditor

    editor = JsonEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setPlainText('{"3": {"class_type": "KSampler", "inputs": {"seed": 5}}}')
    editor.mark_lines(error_lines=[1])

    def key_colour() -> str:
        block = editor.document().firstBlock()
        key = next(r for r in block.layout().formats() if r.start == 1)      # the "3" key
        return key.format.foreground().color().name().upper()

    try:
        for scheme in ("light", "dark"):
            apply_theme(qapp, scheme)
            qapp.processEvents()
            assert key_colour() == JSON_COLOURS[scheme]["key"]
            assert editor.extraSelections()[0].format.background().color().name().upper() == \
                JSON_COLOURS[scheme]["error_line"]
    finally:
        apply_theme(qapp, "light")


def test_contrast_is_the_wcag_ratio():
    assert round(contrast(QColor("#000000"), QColor("#FFFFFF")), 1) == 21.0
    assert round(contrast(QColor("#777777"), QColor("#FFFFFF")), 2) == 4.48


def test_the_theme_setting_and_the_system_scheme(qapp):
    try:
        assert apply_theme(qapp, "dark") == "dark"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 60
        assert apply_theme(qapp, "light") == "light"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200
        assert apply_theme(qapp, "system") == "light"       # the offscreen platform reports no dark scheme
    finally:
        apply_theme(qapp, "light")


@pytest.mark.skipif(UNDER_WINE, reason="wine has no Segoe UI: Qt falls back to a wide font, so sizes say nothing "
                                       "about Windows")
async def test_windows_fit_a_1080p_screen_at_200_percent(qtbot, gui_services):
    """At 200 % a 1920x1080 screen offers 960x540 logical pixels, less a taskbar."""
    from gui.app import TrayApp
    from gui.wizard import SetupWizard

    room = QSize(960, 500)
    app = TrayApp(gui_services, asyncio.Event(), tick_ms=0)
    qtbot.addWidget(app.dashboard)
    wizard = SetupWizard(gui_services)
    qtbot.addWidget(wizard)
    for window in (app.dashboard, wizard):
        need = window.minimumSizeHint()
        assert need.width() <= room.width() and need.height() <= room.height(), (type(window).__name__, need)
    await app.close()


@pytest.mark.parametrize("text, background, low", [("#000000", "#FFFFFF", False), ("#999999", "#AAAAAA", True),
                                                    ("#FFFFFF", "#FDECEA", True), ("#E8E9EB", "#202225", False)])
def test_the_measure_finds_faint_text(qtbot, text, background, low):
    from PySide6.QtWidgets import QLabel

    label = QLabel("Discord cannot be reached")
    label.setStyleSheet(f"QLabel {{ color: {text}; background: {background}; }}")
    qtbot.addWidget(label)
    label.resize(240, 30)
    measured = text_contrast(label.grab().toImage())
    expected = contrast(QColor(text), QColor(background))
    assert (measured < 4.5) is low and abs(measured - expected) < 0.5 * expected
