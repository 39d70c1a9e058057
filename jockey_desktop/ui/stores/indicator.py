"""The status bar's upload indicator: a small bar and a line while files upload or index
("Uploading 2 files · 40 MB of 90 MB · …"), hidden when the queue is idle; clicking it opens
the uploads. Cheap enough to build before the first paint (it starts hidden)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from jockey_desktop.presentation.uploads import queue_summary
from jockey_desktop.ui.theme import plain_tooltip


class UploadsIndicator(QWidget):
    """Shows the queue's progress in a line; ``sig_clicked`` opens the uploads."""

    sig_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Uploads in progress")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(90, 8)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        self.hide()

    @Slot(object)
    def set_progress(self, progress: Any) -> None:
        """Show a ``QueueProgress`` (hidden when nothing is under way)."""
        if not progress.busy:
            self.hide()
            return
        text = queue_summary(progress.sent, progress.total, progress.speed,
                             progress.seconds_left, progress.transferring, progress.waiting,
                             progress.indexing)
        short = text.split(" · ")[0]
        if progress.total and (progress.transferring or progress.waiting):
            short += f" · {round(100 * progress.sent / progress.total)}%"
        self.label.setText(short)
        self.setToolTip(plain_tooltip(f"{text}\nClick to see the uploads."))
        self.setAccessibleDescription(text)
        self.bar.setValue(round(1000 * progress.sent / progress.total) if progress.total
                          else 0)
        self.bar.setVisible(bool(progress.transferring or progress.waiting))
        self.show()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A click opens the uploads."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.sig_clicked.emit()
        super().mouseReleaseEvent(event)
