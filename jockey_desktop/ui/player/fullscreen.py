"""Full screen: the same playback on a window of its own (Esc or F leaves it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.ui.player.canvas import BACKGROUND, TEXT, VideoCanvas
from jockey_desktop.ui.player.engine import SKIP_MS, PlaybackEngine
from jockey_desktop.ui.player.seek_bar import SeekBar


class FullScreenVideo(QWidget):
    """A top-level window showing the engine's frames with a seek bar under them."""

    #: The window closed (Esc, F, or the window manager).
    sig_closed = Signal()

    def __init__(self, engine: PlaybackEngine, title: str, seek_bar_from: SeekBar,
                 step: Callable[[int], None]) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.setWindowTitle(title)
        self.setAccessibleName("Full-screen video")
        self.engine = engine
        self._step = step
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, BACKGROUND)
        palette.setColor(QPalette.ColorRole.WindowText, TEXT)
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self.canvas = VideoCanvas(self)
        self.seek_bar = SeekBar(self)
        self.seek_bar.set_duration(seek_bar_from.duration())
        self.seek_bar.set_position(seek_bar_from.position())
        cited = seek_bar_from.cited_range()
        if cited is not None:
            self.seek_bar.set_range(*cited)
        self.time_label = QLabel(self)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # The app's stylesheet polishes every label with the app palette, so the window's
        # palette alone left the time in the light theme's dark text on this black.
        self.time_label.setStyleSheet(f"color: {TEXT.name()};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.seek_bar)
        layout.addWidget(self.time_label)
        engine.sig_frame.connect(self.canvas.set_frame)
        engine.sig_position.connect(self._on_position)
        engine.sig_duration.connect(self.seek_bar.set_duration)
        self.seek_bar.sig_seek_requested.connect(engine.seek)
        self.canvas.sig_clicked.connect(engine.toggle)
        self.canvas.sig_double_clicked.connect(self.close)
        for key, slot in ((Qt.Key.Key_Escape, self.close), (Qt.Key.Key_F, self.close),
                          (Qt.Key.Key_Space, engine.toggle),
                          (Qt.Key.Key_Left, self._back), (Qt.Key.Key_Right, self._forward),
                          (Qt.Key.Key_N, self._next), (Qt.Key.Key_P, self._previous)):
            QShortcut(QKeySequence(key), self).activated.connect(slot)

    @Slot(int)
    def _on_position(self, position: int) -> None:
        self.seek_bar.set_position(position)
        self.time_label.setText(f"{format_timestamp(position / 1000)} / "
                                f"{format_timestamp(self.seek_bar.duration() / 1000)}")

    @Slot()
    def _back(self) -> None:
        self.engine.skip(-SKIP_MS)

    @Slot()
    def _forward(self) -> None:
        self.engine.skip(SKIP_MS)

    @Slot()
    def _next(self) -> None:
        self._step(1)

    @Slot()
    def _previous(self) -> None:
        self._step(-1)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop following the engine, then close."""
        engine = self.engine
        engine.sig_frame.disconnect(self.canvas.set_frame)
        engine.sig_position.disconnect(self._on_position)
        engine.sig_duration.disconnect(self.seek_bar.set_duration)
        self.sig_closed.emit()
        super().closeEvent(event)
