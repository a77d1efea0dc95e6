"""The tray icon must tell the state at the size a tray really shows it (16-22 px)."""
from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from gui.icons import LEVEL_COLOURS, TRAY_SIZE, tray_pixmap

TILE_COLOURS = (QColor("#7B5CFF"), QColor("#3D2BB8"))     # the app glyph's gradient ends


def distance(a: QColor, b: QColor) -> float:
    return math.dist((a.red(), a.green(), a.blue()), (b.red(), b.green(), b.blue()))


def test_every_state_colour_stands_out_from_the_tile_and_the_others():
    for level, colour in LEVEL_COLOURS.items():
        assert min(distance(colour, tile) for tile in TILE_COLOURS) > 100, level
    levels = list(LEVEL_COLOURS)
    for n, a in enumerate(levels):
        for b in levels[n + 1:]:
            assert distance(LEVEL_COLOURS[a], LEVEL_COLOURS[b]) > 100, (a, b)


@pytest.mark.parametrize("size", [16, 22])
@pytest.mark.parametrize("level", list(LEVEL_COLOURS))
def test_the_status_dot_keeps_its_colour_when_the_tray_shrinks_the_icon(qapp, level, size):
    image = tray_pixmap(level, jobs=7).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation).toImage()
    assert TRAY_SIZE > size
    # the dot's middle, and one pixel towards the tile: at 16 px a small dot is all anti-aliased edge
    samples = [image.pixelColor(round(size * 0.78), round(size * 0.78)),
               image.pixelColor(round(size * 0.78) - 1, round(size * 0.78) - 1)]
    assert all(distance(sample, LEVEL_COLOURS[level]) < 45 for sample in samples), [s.name() for s in samples]
