"""The "moment" popup shown when a citation chip or ``[N]`` marker is clicked.

Shows the video title, the cited time range and a thumbnail when the API gave one. The
thumbnail is fetched by an injected ``load_thumbnail(url, callback)`` so no network call ever
runs on the GUI thread here; ``callback`` must be invoked on the GUI thread with a ``QImage``,
``QPixmap``, encoded image ``bytes`` or None. Only http(s) video URLs can be opened, and only in
the system browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import shiboken6
from PySide6.QtCore import QSize, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.presentation.formatting import citation_title, format_time_range
from jockey_desktop.ui.theme import plain_tooltip

#: Signature of the injected thumbnail loader.
ThumbnailLoader = Callable[[str, Callable[[Any], None]], None]

THUMBNAIL_SIZE = QSize(320, 180)


def is_web_url(url: object) -> bool:
    """True for an absolute http(s) URL with a host (the only kind we hand to a browser)."""
    if not isinstance(url, str) or not url:
        return False
    parsed = QUrl(url)
    return parsed.scheme().lower() in ("http", "https") and bool(parsed.host())


def moment_timestamp_text(citation: Mapping[str, Any]) -> str:
    """What "Copy timestamp" copies: ``"Title 01:23–01:45"`` (title alone for a whole video)."""
    title = citation_title(citation)
    span = format_time_range(citation.get("start_sec"), citation.get("end_sec"))
    return f"{title} {span}" if span else title


class MomentPopup(QDialog):
    """A small non-modal dialog describing one cited moment."""

    def __init__(
        self,
        citation: Mapping[str, Any],
        parent: QWidget | None = None,
        *,
        load_thumbnail: ThumbnailLoader | None = None,
        open_url: Callable[[QUrl], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.citation = dict(citation)
        self._open_url = open_url or QDesktopServices.openUrl
        self.setWindowTitle("Cited moment")
        self.setAccessibleName("Cited moment")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        title = citation_title(citation)
        span = format_time_range(citation.get("start_sec"), citation.get("end_sec"))

        self.title_label = QLabel(title)
        self.title_label.setWordWrap(True)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)  # server text: never rich
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF() * 1.1, 9.0))
        self.title_label.setFont(font)
        self.title_label.setAccessibleName("Video title")

        self.range_label = QLabel(span or "Whole video")
        self.range_label.setTextFormat(Qt.TextFormat.PlainText)
        self.range_label.setAccessibleName("Time range")
        self.range_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.thumbnail_label = QLabel()
        self.thumbnail_label.setFixedSize(THUMBNAIL_SIZE)
        self.thumbnail_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail_label.setAccessibleName("Thumbnail")
        self.thumbnail_label.setFrameShape(QLabel.Shape.StyledPanel)
        self.thumbnail_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        self.copy_button = QPushButton("Copy timestamp")
        self.copy_button.setAccessibleName("Copy timestamp")
        self.copy_button.setToolTip(plain_tooltip(f"Copy “{moment_timestamp_text(citation)}”"))
        self.copy_button.clicked.connect(self.copy_timestamp)

        self.open_button = QPushButton("Open video")
        self.open_button.setAccessibleName("Open video in browser")
        hls = citation.get("hls_url")
        self.open_button.setEnabled(is_web_url(hls))
        self.open_button.setToolTip(
            "Open the video's stream in your web browser"
            if is_web_url(hls)
            else "No web address was given for this video"
        )
        self.open_button.clicked.connect(self.open_video)

        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close")
        self.close_button.clicked.connect(self.close)

        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        buttons.setSpacing(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        self.setMinimumWidth(THUMBNAIL_SIZE.width() + 32)
        layout.addWidget(self.title_label)
        layout.addWidget(self.range_label)
        layout.addWidget(self.thumbnail_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)

        thumb = citation.get("thumbnail_url")
        if is_web_url(thumb) and load_thumbnail is not None:
            self.thumbnail_label.setText("Loading preview…")
            load_thumbnail(str(thumb), self._on_thumbnail)
        else:
            self.thumbnail_label.setText("No preview available")

    def timestamp_text(self) -> str:
        """The text "Copy timestamp" puts on the clipboard."""
        return moment_timestamp_text(self.citation)

    @Slot()
    def copy_timestamp(self) -> None:
        """Copy e.g. "Title 01:23–01:45" to the clipboard."""
        QGuiApplication.clipboard().setText(self.timestamp_text())
        self.copy_button.setText("Copied")

    @Slot()
    def open_video(self) -> None:
        """Open the stream URL in the system browser (http/https only)."""
        hls = self.citation.get("hls_url")
        if is_web_url(hls):
            self._open_url(QUrl(str(hls)))

    def _on_thumbnail(self, data: Any) -> None:
        # The loader may answer after the popup was closed and deleted.
        if not shiboken6.isValid(self) or not shiboken6.isValid(self.thumbnail_label):
            return
        pixmap = QPixmap()
        if isinstance(data, QPixmap):
            pixmap = data
        elif isinstance(data, QImage):
            pixmap = QPixmap.fromImage(data)
        elif isinstance(data, (bytes, bytearray)):
            image = QImage()
            if image.loadFromData(bytes(data)):
                pixmap = QPixmap.fromImage(image)
        if pixmap.isNull():
            self.thumbnail_label.setText("No preview available")
            return
        self.thumbnail_label.setPixmap(
            pixmap.scaled(
                THUMBNAIL_SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
