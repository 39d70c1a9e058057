"""The picture: frames from the player's ``QVideoSink`` painted by a plain widget.

No QtMultimediaWidgets (the package does not ship it) and no GPU surface: a frame is turned
into a ``QImage`` when it is painted — only the newest one, only when the widget is visible —
and drawn letter-boxed. Without a GPU (or offscreen) Qt converts on the CPU; it says so once
per thread ("No RHI backend. Using CPU conversion."), which is expected there. Before the first
frame the poster (the citation's thumbnail) is shown, and a short status line ("Loading…")
sits over the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtMultimedia import QVideoFrame
from PySide6.QtWidgets import QSizePolicy, QWidget

#: The video area is black in both themes, like every player's.
BACKGROUND = QColor("#000000")
TEXT = QColor("#f0f0f0")


class VideoCanvas(QWidget):
    """Paints the newest frame (or the poster) keeping the aspect ratio."""

    #: A click (play/pause) and a double click (full screen).
    sig_clicked = Signal()
    sig_double_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Video")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(160, 90)
        self._frame: QVideoFrame | None = None
        self._image: QImage | None = None
        self._poster: QImage | None = None
        self._text = ""
        #: Frames painted (tests and benchmarks count them).
        self.painted_frames = 0

    def sizeHint(self) -> QSize:
        """16:9 at a dock's width."""
        return QSize(400, 225)

    def hasHeightForWidth(self) -> bool:
        """The picture keeps 16:9."""
        return True

    def heightForWidth(self, width: int) -> int:
        """16:9."""
        return max(90, width * 9 // 16)

    @Slot(QVideoFrame)
    def set_frame(self, frame: QVideoFrame) -> None:
        """Show a new frame (converted when painted)."""
        self._frame = frame
        self._image = None
        if self.isVisible():
            self.update()

    def clear_frame(self) -> None:
        """Back to the poster (a new video)."""
        self._frame = None
        self._image = None
        self.update()

    def set_poster(self, image: QImage | None) -> None:
        """The picture shown before the first frame (None: none)."""
        self._poster = image if image is not None and not image.isNull() else None
        self.update()

    def has_frame(self) -> bool:
        """True once a frame is shown."""
        return self._frame is not None

    def set_text(self, text: str) -> None:
        """A status line over the picture ("" hides it)."""
        if text != self._text:
            self._text = text
            self.update()

    def text(self) -> str:
        """The status line shown."""
        return self._text

    def current_image(self) -> QImage | None:
        """What is painted: the frame as an image, else the poster."""
        if self._frame is not None and self._image is None:
            image = self._frame.toImage()
            self._image = image if not image.isNull() else None
        return self._image or self._poster

    def paintEvent(self, event: QPaintEvent) -> None:
        """Letter-boxed picture and the status line."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        image = self.current_image()
        if image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(_fit(image.size(), self.rect()), image)
            if self._frame is not None:
                self.painted_frames += 1
        if self._text:
            painter.setPen(TEXT)
            band = QRect(self.rect().left(), self.rect().bottom() - 34, self.width(), 30)
            if image is None:
                band = self.rect()
            else:
                painter.fillRect(band, QColor(0, 0, 0, 150))
            painter.drawText(band.adjusted(10, 0, -10, 0),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             self._text)
        painter.end()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A click toggles playback."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.sig_clicked.emit()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """A double click toggles full screen."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.sig_double_clicked.emit()
        super().mouseDoubleClickEvent(event)


def _fit(size: QSize, area: QRect) -> QRectF:
    """``size`` scaled into ``area`` keeping its aspect, centred."""
    if size.isEmpty() or area.isEmpty():
        return QRectF(area)
    scale = min(area.width() / size.width(), area.height() / size.height())
    width, height = size.width() * scale, size.height() * scale
    return QRectF(area.left() + (area.width() - width) / 2,
                  area.top() + (area.height() - height) / 2, width, height)
