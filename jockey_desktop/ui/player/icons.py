"""The player's control icons, drawn in the palette's text colour (the style's stock media
icons are fixed dark pixmaps that vanish on a dark palette)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

#: The names :func:`player_icon` draws.
NAMES = ("play", "pause", "previous", "next", "volume", "muted", "full_screen", "open")


def _triangle(left: float, top: float, right: float, bottom: float) -> QPolygonF:
    return QPolygonF([QPointF(left, top), QPointF(right, (top + bottom) / 2),
                      QPointF(left, bottom)])


def _draw(painter: QPainter, name: str, s: float, colour: QColor) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    if name == "play":
        painter.drawPolygon(_triangle(s * 0.28, s * 0.18, s * 0.82, s * 0.82))
    elif name == "pause":
        painter.drawRect(QRectF(s * 0.25, s * 0.2, s * 0.17, s * 0.6))
        painter.drawRect(QRectF(s * 0.58, s * 0.2, s * 0.17, s * 0.6))
    elif name == "next":
        painter.drawPolygon(_triangle(s * 0.2, s * 0.22, s * 0.66, s * 0.78))
        painter.drawRect(QRectF(s * 0.68, s * 0.22, s * 0.12, s * 0.56))
    elif name == "previous":
        painter.drawRect(QRectF(s * 0.2, s * 0.22, s * 0.12, s * 0.56))
        triangle = _triangle(s * 0.8, s * 0.22, s * 0.34, s * 0.78)
        painter.drawPolygon(triangle)
    elif name in ("volume", "muted"):
        speaker = QPainterPath()
        speaker.moveTo(s * 0.15, s * 0.38)
        speaker.lineTo(s * 0.32, s * 0.38)
        speaker.lineTo(s * 0.52, s * 0.18)
        speaker.lineTo(s * 0.52, s * 0.82)
        speaker.lineTo(s * 0.32, s * 0.62)
        speaker.lineTo(s * 0.15, s * 0.62)
        speaker.closeSubpath()
        painter.drawPath(speaker)
        pen = QPen(colour, max(1.5, s * 0.08))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if name == "muted":
            painter.drawLine(QPointF(s * 0.62, s * 0.36), QPointF(s * 0.86, s * 0.64))
            painter.drawLine(QPointF(s * 0.86, s * 0.36), QPointF(s * 0.62, s * 0.64))
        else:
            painter.drawArc(QRectF(s * 0.42, s * 0.3, s * 0.3, s * 0.4), -50 * 16, 100 * 16)
            painter.drawArc(QRectF(s * 0.4, s * 0.16, s * 0.46, s * 0.68), -50 * 16, 100 * 16)
    elif name == "full_screen":
        pen = QPen(colour, max(1.5, s * 0.09))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        a, b, c = s * 0.16, s * 0.84, s * 0.22
        for x, y, dx, dy in ((a, a, 1, 1), (b, a, -1, 1), (a, b, 1, -1), (b, b, -1, -1)):
            painter.drawLine(QPointF(x, y), QPointF(x + dx * c, y))
            painter.drawLine(QPointF(x, y), QPointF(x, y + dy * c))
    elif name == "open":
        pen = QPen(colour, max(1.5, s * 0.08))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(s * 0.16, s * 0.3, s * 0.54, s * 0.54))
        painter.drawLine(QPointF(s * 0.45, s * 0.55), QPointF(s * 0.84, s * 0.16))
        painter.drawLine(QPointF(s * 0.58, s * 0.16), QPointF(s * 0.84, s * 0.16))
        painter.drawLine(QPointF(s * 0.84, s * 0.16), QPointF(s * 0.84, s * 0.42))


#: The side of a control icon with the 9 pt font the player was drawn for.
ICON_SIDE = 18


def icon_side(text_height: float) -> int:
    """The side of the control icons beside text ``text_height`` pixels high: 18 px with
    the 9 pt font, growing with a bigger one (fixed 18 px icons were specks beside 16 pt
    text, and small targets for the users who choose such a font)."""
    return max(ICON_SIDE, round(text_height * 1.3))


def player_icon(name: str, colour: QColor, disabled: QColor, size: int = 36) -> QIcon:
    """An icon (``NAMES``) in ``colour``, greyed to ``disabled`` when its button is off."""
    icon = QIcon()
    for mode, tint in ((QIcon.Mode.Normal, colour), (QIcon.Mode.Disabled, disabled)):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        _draw(painter, name, float(size), tint)
        painter.end()
        icon.addPixmap(pixmap, mode)
    return icon
