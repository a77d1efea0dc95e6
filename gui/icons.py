"""The app and tray icons, drawn with QPainter so they need no image tools.

`resources/icons/*.png` are these drawings saved once (`python -m gui.icons` rewrites them); the
app loads the PNG when it is there and draws it otherwise. The tray icon adds a status dot whose
colour says how the app is (see gui/status.py) and a badge with the number of jobs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap

from core.paths import resource_root

ICONS_DIR = resource_root() / "resources" / "icons"
LEVEL_COLOURS = {
    "ok": QColor("#3BA55C"),       # bot connected, ComfyUI up, idle
    "busy": QColor("#1E9BF0"),     # generating (sky blue: stands out from the violet tile)
    "warn": QColor("#FAA61A"),     # starting, restarting, paused, bot connecting
    "down": QColor("#ED4245"),     # ComfyUI down or failed, bot rejected or disconnected
    "off": QColor("#8E9297"),      # stopped
}
TRAY_SIZE = 64


def draw_app_glyph(painter: QPainter, rect: QRectF) -> None:
    """A rounded tile with a picture (mountains and a sun): an image generator."""
    side = min(rect.width(), rect.height())
    radius = side * 0.22
    gradient = QLinearGradient(rect.topLeft(), rect.bottomRight())
    gradient.setColorAt(0.0, QColor("#7B5CFF"))
    gradient.setColorAt(1.0, QColor("#3D2BB8"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(gradient))
    painter.drawRoundedRect(rect, radius, radius)
    # the "photo" frame
    inset = side * 0.18
    frame = rect.adjusted(inset, inset * 1.1, -inset, -inset * 1.1)
    painter.setBrush(QColor(255, 255, 255, 235))
    painter.drawRoundedRect(frame, side * 0.06, side * 0.06)
    # sun
    painter.setBrush(QColor("#FFB020"))
    sun_r = side * 0.075
    painter.drawEllipse(QPointF(frame.right() - side * 0.15, frame.top() + side * 0.14), sun_r, sun_r)
    # mountains
    path = QPainterPath()
    base = frame.bottom() - side * 0.04
    path.moveTo(frame.left() + side * 0.04, base)
    path.lineTo(frame.left() + side * 0.22, frame.top() + side * 0.2)
    path.lineTo(frame.left() + side * 0.36, base - side * 0.12)
    path.lineTo(frame.left() + side * 0.46, frame.top() + side * 0.28)
    path.lineTo(frame.right() - side * 0.04, base)
    path.closeSubpath()
    painter.setBrush(QColor("#4C3CCB"))
    painter.drawPath(path)


def app_pixmap(size: int = 256) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw_app_glyph(painter, QRectF(size * 0.03, size * 0.03, size * 0.94, size * 0.94))
    painter.end()
    return pixmap


def app_icon() -> QIcon:
    path = ICONS_DIR / "app.png"
    if path.is_file():
        icon = QIcon(str(path))
        if not icon.isNull():
            return icon
    return QIcon(app_pixmap())


def tray_pixmap(level: str, jobs: int = 0, size: int = TRAY_SIZE) -> QPixmap:
    """The tray icon: the app glyph, a status dot, and the number of queued+running jobs."""
    base_path = ICONS_DIR / f"tray-{level}.png"
    pixmap = QPixmap(str(base_path)) if base_path.is_file() else QPixmap()
    if pixmap.isNull() or pixmap.width() != size:
        pixmap = _draw_tray_base(level, size)
    if jobs > 0:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = str(jobs) if jobs < 100 else "99+"
        font = QFont()
        font.setPixelSize(int(size * 0.38))     # still a readable digit at a 22 px tray size
        font.setBold(True)
        painter.setFont(font)
        width = max(size * 0.48, painter.fontMetrics().horizontalAdvance(text) + size * 0.14)
        badge = QRectF(0, 0, width, size * 0.48)
        painter.setPen(QPen(QColor("white"), size * 0.03))
        painter.setBrush(QColor("#202225"))
        painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return pixmap


def _draw_tray_base(level: str, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw_app_glyph(painter, QRectF(size * 0.02, size * 0.02, size * 0.96, size * 0.96))
    dot = size * 0.44                      # the state colour must read at 16-22 px
    rect = QRectF(size - dot - size * 0.01, size - dot - size * 0.01, dot, dot)
    painter.setPen(QPen(QColor("white"), size * 0.05))
    painter.setBrush(LEVEL_COLOURS.get(level, LEVEL_COLOURS["off"]))
    painter.drawEllipse(rect)
    painter.end()
    return pixmap


def write_icons(folder: Path = ICONS_DIR) -> list[Path]:
    """Save the app icon and the tray bases as PNGs (run once; the files are committed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for size in (256, 64, 32):
        path = folder / ("app.png" if size == 256 else f"app-{size}.png")
        app_pixmap(size).save(str(path))
        written.append(path)
    for level in LEVEL_COLOURS:
        path = folder / f"tray-{level}.png"
        _draw_tray_base(level, TRAY_SIZE).save(str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv)
    for written_path in write_icons():
        print(written_path)
