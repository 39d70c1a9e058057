"""The seek bar: position, the cited range highlighted, and a marker per moment of the answer
in this video (hover: its sentence; click: play that moment)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.ui.theme import blend, is_dark_palette, plain_tooltip

#: Horizontal room at each end (the handle must fit), groove height, marker half width (px).
_PAD = 8
_GROOVE = 4
_MARKER = 5


@dataclass(frozen=True)
class SeekMarker:
    """A moment of the answer in this video: where it starts (ms), which moment, and the
    sentence shown when it is hovered."""

    at_ms: int
    index: int
    tooltip: str


class SeekBar(QWidget):
    """Click or drag to seek; markers above the groove, the cited range drawn over it."""

    #: The user asked for a position (ms).
    sig_seek_requested = Signal(int)
    #: A marker was clicked: play that moment of the answer.
    sig_marker_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Seek bar")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # ←/→ belong to the player panel
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._duration = 0
        self._position = 0
        self._range: tuple[int, int | None] | None = None
        self._markers: list[SeekMarker] = []
        self._current: int | None = None
        self._dragging = False

    def sizeHint(self) -> QSize:
        """Room for the markers above the groove."""
        return QSize(300, 26)

    # -- state --------------------------------------------------------------------------------

    def set_duration(self, duration_ms: int) -> None:
        """The video's length (ms; 0 while unknown)."""
        self._duration = max(0, duration_ms)
        self.update()

    def duration(self) -> int:
        """The video's length (ms)."""
        return self._duration

    def set_position(self, position_ms: int) -> None:
        """Where playback is (ignored while the user drags)."""
        if not self._dragging and position_ms != self._position:
            self._position = max(0, position_ms)
            self.setAccessibleDescription(f"At {format_timestamp(self._position / 1000)} of "
                                          f"{format_timestamp(self._duration / 1000)}")
            self.update()

    def position(self) -> int:
        """The position shown (ms)."""
        return self._position

    def set_range(self, start_ms: int, end_ms: int | None) -> None:
        """The cited range to highlight (end None: none to highlight)."""
        self._range = (start_ms, end_ms)
        self.update()

    def cited_range(self) -> tuple[int, int | None] | None:
        """The highlighted range."""
        return self._range

    def set_markers(self, markers: list[SeekMarker], current: int | None) -> None:
        """The answer's moments in this video; ``current`` is the one playing."""
        self._markers = sorted(markers, key=lambda m: m.at_ms)
        self._current = current
        self.update()

    def markers(self) -> list[SeekMarker]:
        """The markers shown."""
        return list(self._markers)

    # -- geometry -----------------------------------------------------------------------------

    def x_for(self, ms: int) -> float:
        """The x coordinate of a position."""
        width = max(1, self.width() - 2 * _PAD)
        if self._duration <= 0:
            return float(_PAD)
        return _PAD + width * min(max(ms, 0), self._duration) / self._duration

    def ms_at(self, x: float) -> int:
        """The position under an x coordinate."""
        width = max(1, self.width() - 2 * _PAD)
        fraction = min(max((x - _PAD) / width, 0.0), 1.0)
        return round(fraction * self._duration)

    def marker_at(self, point: QPoint | QPointF) -> SeekMarker | None:
        """The marker under a point (the upper half of the bar, within a few pixels)."""
        if point.y() > self.height() / 2 + 2:
            return None
        best: tuple[float, SeekMarker] | None = None
        for marker in self._markers:
            distance = abs(self.x_for(marker.at_ms) - point.x())
            if distance <= _MARKER + 2 and (best is None or distance < best[0]):
                best = (distance, marker)
        return best[1] if best else None

    # -- painting -----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """Groove, played part, cited range, markers and the handle."""
        palette = self.palette()
        dark = is_dark_palette(palette)
        accent = palette.highlight().color()
        groove = palette.mid().color()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        mid_y = self.height() * 0.68
        left, right = float(_PAD), float(self.width() - _PAD)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(groove)
        painter.drawRoundedRect(QRectF(left, mid_y - _GROOVE / 2, right - left, _GROOVE), 2, 2)
        if self._range is not None and self._range[1] is not None and self._duration > 0:
            x0, x1 = self.x_for(self._range[0]), self.x_for(self._range[1])
            band = QColor(accent)
            band.setAlpha(150 if dark else 110)
            painter.setBrush(band)
            painter.drawRoundedRect(QRectF(x0, mid_y - 5, max(x1 - x0, 3.0), 10), 3, 3)
        if self._duration > 0:
            painter.setBrush(accent)
            x = self.x_for(self._position)
            painter.drawRoundedRect(QRectF(left, mid_y - _GROOVE / 2, max(x - left, 0), _GROOVE),
                                    2, 2)
        for marker in self._markers:
            x = self.x_for(marker.at_ms)
            current = marker.index == self._current
            colour = accent if current else palette.windowText().color()
            if not current:
                colour = blend(colour, palette.window().color(), 0.35)
            path = QPainterPath()
            top = 1.0
            path.moveTo(x - _MARKER, top)
            path.lineTo(x + _MARKER, top)
            path.lineTo(x, top + _MARKER * 1.4)
            path.closeSubpath()
            painter.setBrush(colour)
            painter.drawPath(path)
        if self._duration > 0:
            x = self.x_for(self._position)
            painter.setBrush(palette.base().color())
            painter.setPen(accent)
            painter.drawEllipse(QPointF(x, mid_y), 6, 6)
        painter.end()

    # -- input --------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A marker plays its moment; elsewhere the press seeks (and starts a drag)."""
        if event.button() != Qt.MouseButton.LeftButton or self._duration <= 0:
            super().mousePressEvent(event)
            return
        marker = self.marker_at(event.position())
        if marker is not None:
            self.sig_marker_activated.emit(marker.index)
            return
        self._dragging = True
        self._drag_to(event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Dragging seeks as it goes."""
        if self._dragging:
            self._drag_to(event.position().x())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """The end of a drag."""
        if self._dragging:
            self._drag_to(event.position().x())
            self._dragging = False
        super().mouseReleaseEvent(event)

    def _drag_to(self, x: float) -> None:
        self._position = self.ms_at(x)
        self.update()
        self.sig_seek_requested.emit(self._position)

    def tooltip_at(self, point: QPoint | QPointF) -> str:
        """A marker's sentence, else the time under the pointer."""
        marker = self.marker_at(point)
        if marker is not None:
            return marker.tooltip
        if self._duration <= 0:
            return ""
        return format_timestamp(self.ms_at(point.x()) / 1000)

    def event(self, event: QEvent) -> bool:
        """Tooltips: the hovered marker's sentence (plain text), else the time."""
        if event.type() == QEvent.Type.ToolTip:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            text = self.tooltip_at(help_event.pos())
            if text:
                QToolTip.showText(help_event.globalPos(), plain_tooltip(text), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
