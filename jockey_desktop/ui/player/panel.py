"""The player panel: the cited moment playing, its controls, the answer's other moments and the
video's transcript. Shows what it is given and says what was asked (``sig_*``); the media
work (addresses, the relay, thumbnails, transcripts, exports) is the player controller's.

Keys while the panel has focus: Space play/pause, ←/→ 5 s back/forward, ↑/↓ volume, M mute,
L loop, F full screen, P/N previous/next moment, Shift+,/Shift+. slower/faster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.presentation.moments import PlayerMoment, position_text
from jockey_desktop.ui.elided_label import ElidedLabel
from jockey_desktop.ui.player.canvas import VideoCanvas
from jockey_desktop.ui.player.engine import (
    NO_AUDIO,
    NO_BACKEND,
    RATES,
    SKIP_MS,
    PlaybackEngine,
)
from jockey_desktop.ui.player.fullscreen import FullScreenVideo
from jockey_desktop.ui.player.icons import icon_side, player_icon
from jockey_desktop.ui.player.lists import MomentsList, TranscriptView
from jockey_desktop.ui.player.seek_bar import SeekBar, SeekMarker
from jockey_desktop.ui.theme import error_color, is_dark_palette, plain_tooltip

#: What "Export moments" can cover.
EXPORT_ANSWER = "answer"
EXPORT_SELECTED = "selected"
EXPORT_CONVERSATION = "conversation"


class PlayerPanel(QWidget):
    """The docked player. ``engine`` plays; the panel drives it from its controls."""

    #: Play moment N of the answer (from the list or a seek-bar marker).
    sig_moment_chosen = Signal(int)
    #: Previous (-1) or next (+1) moment.
    sig_step_requested = Signal(int)
    #: Export moments: EXPORT_ANSWER / EXPORT_SELECTED (with the indices) / EXPORT_CONVERSATION.
    sig_export_requested = Signal(str, list)
    #: Open the video in the system's player (at the current position, s).
    sig_open_external_requested = Signal(float)

    def __init__(self, engine: PlaybackEngine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Player")
        self.engine = engine
        self._moments: list[PlayerMoment] = []
        self._current: PlayerMoment | None = None
        self._duration = 0
        #: The full-screen window while it is shown.
        self.full_screen: FullScreenVideo | None = None
        #: The control buttons (their icons follow the font's size).
        self._tool_buttons: list[QToolButton] = []

        # Elided: a long title was cut off mid-letter against the "1 of 3" beside it.
        self.title_label = ElidedLabel("No moment playing")
        self.title_label.setAccessibleDescription("Video title")
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.count_label = QLabel("")
        self.count_label.setAccessibleDescription("Moment number")
        self.range_label = QLabel("")
        self.range_label.setTextFormat(Qt.TextFormat.PlainText)
        self.range_label.setAccessibleDescription("Cited range")
        self.range_label.setWordWrap(True)
        self.range_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.canvas = VideoCanvas(self)
        self.seek_bar = SeekBar(self)
        self.time_label = QLabel("00:00 / 00:00")
        self.time_label.setAccessibleDescription("Time")

        self.prev_button = self._tool("Previous moment (P)")
        self.play_button = self._tool("Play (Space)")
        self.next_button = self._tool("Next moment (N)")
        self.loop_button = self._tool("Loop the cited range (L)", text="Loop")
        self.loop_button.setCheckable(True)
        # An auto-raised tool button pressed in looks almost like one let out (in the dark
        # theme hardly at all): looping is filled with the highlight, plainly on.
        self.loop_button.setStyleSheet(
            "QToolButton:checked { background: palette(highlight); "
            "color: palette(highlighted-text); border-radius: 4px; padding: 2px 6px; }")
        self.rate_box = QComboBox(self)
        self.rate_box.setAccessibleName("Playback speed")
        self.rate_box.setToolTip("Playback speed (Shift+, slower, Shift+. faster)")
        for rate in RATES:
            self.rate_box.addItem(f"{rate:g}×", rate)
        self.rate_box.setCurrentIndex(RATES.index(1.0))
        self.mute_button = self._tool("Mute (M)")
        self.mute_button.setCheckable(True)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setAccessibleName("Volume")
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(round(engine.volume() * 100))
        self.volume_slider.setFixedWidth(70)
        self.volume_slider.setToolTip("Volume (↑/↓)")
        self.copy_button = self._tool("Copy the video title and the time playing", text="Copy time")
        self.open_button = self._tool("Open the video in the system's player")
        self.full_button = self._tool("Full screen (F)")
        self.export_button = self._tool("Export moments for video editors", text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.setAccessibleName("Export moments")
        self.action_export_answer = menu.addAction("This answer's moments…")
        self.action_export_selected = menu.addAction("Selected moments…")
        self.action_export_conversation = menu.addAction("The whole conversation's moments…")
        self.export_button.setMenu(menu)

        self.problem_label = QLabel("")
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setWordWrap(True)
        self.problem_label.setAccessibleDescription("Player problem")
        self.problem_label.hide()

        self.moments_list = MomentsList(self)
        self.transcript_view = TranscriptView(self)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Moments and transcript")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.moments_list, "Moments")
        self._transcript_tab = self.tabs.addTab(self.transcript_view, "Transcript")
        self.tabs.setTabVisible(self._transcript_tab, False)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.count_label)
        transport = QHBoxLayout()
        transport.setContentsMargins(0, 0, 0, 0)
        transport.setSpacing(2)
        for widget in (self.prev_button, self.play_button, self.next_button):
            transport.addWidget(widget)
        transport.addSpacing(6)
        transport.addWidget(self.time_label)
        transport.addStretch(1)
        transport.addWidget(self.mute_button)
        transport.addWidget(self.volume_slider)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.setSpacing(2)
        tools.addWidget(self.loop_button)
        tools.addWidget(self.rate_box)
        tools.addStretch(1)
        for widget in (self.copy_button, self.open_button, self.export_button, self.full_button):
            tools.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.range_label)
        layout.addWidget(self.canvas)
        layout.addWidget(self.seek_bar)
        layout.addLayout(transport)
        layout.addLayout(tools)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.tabs, 1)
        self._playing = False
        self._paint_icons()
        self._apply_problem_colour()

        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(1500)
        self._copied_timer.timeout.connect(self._reset_copy_text)

        self._connect()
        self._shortcuts()
        self._update_buttons()
        if not engine.available:
            self.show_problem(NO_BACKEND)
        elif not engine.has_audio():
            self._set_no_audio()

    def _tool(self, tip: str, text: str = "") -> QToolButton:
        button = QToolButton(self)
        side = icon_side(self.fontMetrics().height())
        button.setIconSize(QSize(side, side))
        if text:
            button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoRaise(True)
        self._tool_buttons.append(button)
        return button

    def _connect(self) -> None:
        engine = self.engine
        engine.sig_frame.connect(self.canvas.set_frame)
        engine.sig_position.connect(self._on_position)
        engine.sig_duration.connect(self._on_duration)
        engine.sig_playing.connect(self._on_playing)
        engine.sig_status.connect(self.canvas.set_text)
        engine.sig_problem.connect(self.show_problem)
        self.seek_bar.sig_seek_requested.connect(engine.seek)
        self.seek_bar.sig_marker_activated.connect(self.sig_moment_chosen)
        self.canvas.sig_clicked.connect(engine.toggle)
        self.canvas.sig_double_clicked.connect(self.toggle_full_screen)
        self.play_button.clicked.connect(engine.toggle)
        self.prev_button.clicked.connect(self.previous_moment)
        self.next_button.clicked.connect(self.next_moment)
        self.loop_button.toggled.connect(engine.set_loop)
        self.rate_box.currentIndexChanged.connect(self._on_rate)
        self.mute_button.toggled.connect(self._on_mute)
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.copy_button.clicked.connect(self.copy_timestamp)
        self.open_button.clicked.connect(self._open_external)
        self.full_button.clicked.connect(self.toggle_full_screen)
        self.action_export_answer.triggered.connect(self._export_answer)
        self.action_export_selected.triggered.connect(self._export_selected)
        self.action_export_conversation.triggered.connect(self._export_conversation)
        self.moments_list.sig_moment_chosen.connect(self.sig_moment_chosen)
        self.moments_list.itemSelectionChanged.connect(self._update_buttons)
        self.transcript_view.sig_seek_requested.connect(engine.seek)
        engine.sig_position.connect(self.transcript_view.follow)

    def _shortcuts(self) -> None:
        keys: list[tuple[Qt.Key | str, Callable[[], object]]] = [
            (Qt.Key.Key_Space, self.engine.toggle),
            (Qt.Key.Key_Left, self.skip_back),
            (Qt.Key.Key_Right, self.skip_forward),
            (Qt.Key.Key_Up, self.volume_up),
            (Qt.Key.Key_Down, self.volume_down),
            (Qt.Key.Key_M, self.mute_button.toggle),
            (Qt.Key.Key_L, self.loop_button.toggle),
            (Qt.Key.Key_F, self.toggle_full_screen),
            (Qt.Key.Key_P, self.previous_moment),
            (Qt.Key.Key_N, self.next_moment),
            ("Shift+,", self.slower),
            ("Shift+.", self.faster),
            ("<", self.slower),
            (">", self.faster),
        ]
        self.shortcuts: list[QShortcut] = []
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

    # -- what to show -------------------------------------------------------------------------

    def moments(self) -> list[PlayerMoment]:
        """The answer's moments shown."""
        return list(self._moments)

    def current_moment(self) -> PlayerMoment | None:
        """The moment playing."""
        return self._current

    def show_moments(self, moments: Sequence[PlayerMoment], current: int | None) -> None:
        """A new answer's moments."""
        self._moments = list(moments)
        self.moments_list.set_moments(self._moments, current)
        self._update_buttons()

    def show_moment(self, moment: PlayerMoment) -> None:
        """The moment about to play: header, range, markers of its video."""
        new_video = self._current is None or self._current.item_id != moment.item_id
        self._current = moment
        self.title_label.setText(moment.title)
        self.title_label.setToolTip(plain_tooltip(moment.title))
        cited = f"Cited {moment.range_text}" if moment.end is not None else moment.range_text
        self.range_label.setText(f"{cited} · {moment.sentence}" if moment.sentence else cited)
        self.count_label.setText(f"{moment.index + 1} of {len(self._moments)}"
                                 if self._moments else "")
        end_ms = round(moment.end * 1000) if moment.end is not None else None
        self.seek_bar.set_range(round(moment.start * 1000), end_ms)
        self.seek_bar.set_markers(
            [SeekMarker(round(m.start * 1000), m.index,
                        f"{m.range_text}: {m.sentence}" if m.sentence else m.range_text)
             for m in self._moments if m.item_id == moment.item_id], moment.index)
        self.moments_list.set_current(moment.index)
        if new_video:
            self.canvas.clear_frame()
            self.set_transcript(None)
            self.seek_bar.set_duration(0)
        self.show_problem("")
        self._update_buttons()

    def set_poster(self, image: QImage | None) -> None:
        """The picture before the first frame."""
        self.canvas.set_poster(image)

    def set_thumbnail(self, index: int, image: QImage) -> None:
        """A moment's thumbnail for the list."""
        self.moments_list.set_thumbnail(index, image)

    def set_transcript(self, sentences: Sequence[tuple[float, float, str]] | None) -> None:
        """The video's transcript, or None: no tab, no error."""
        if not sentences:
            self.transcript_view.set_sentences([])
            self.tabs.setTabVisible(self._transcript_tab, False)
            return
        self.transcript_view.set_sentences(sentences)
        self.tabs.setTabVisible(self._transcript_tab, True)
        self.transcript_view.follow(self.engine.position())

    def has_transcript(self) -> bool:
        """True when the transcript tab is shown."""
        return self.tabs.isTabVisible(self._transcript_tab)

    @Slot(str)
    def show_problem(self, text: str) -> None:
        """A sentence about what went wrong ("" hides it)."""
        if not text and not self.engine.available:
            text = NO_BACKEND  # that one stays
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))

    def problem_text(self) -> str:
        """The problem shown ("" when none)."""
        return "" if self.problem_label.isHidden() else self.problem_label.text()

    # -- controls -----------------------------------------------------------------------------

    @Slot()
    def previous_moment(self) -> None:
        """Step to the previous moment of the answer."""
        self.sig_step_requested.emit(-1)

    @Slot()
    def next_moment(self) -> None:
        """Step to the next moment of the answer."""
        self.sig_step_requested.emit(1)

    @Slot()
    def skip_back(self) -> None:
        """5 s back."""
        self.engine.skip(-SKIP_MS)

    @Slot()
    def skip_forward(self) -> None:
        """5 s forward."""
        self.engine.skip(SKIP_MS)

    @Slot()
    def volume_up(self) -> None:
        """Louder by a tenth."""
        self.volume_slider.setValue(self.volume_slider.value() + 10)

    @Slot()
    def volume_down(self) -> None:
        """Quieter by a tenth."""
        self.volume_slider.setValue(self.volume_slider.value() - 10)

    @Slot()
    def slower(self) -> None:
        """The next lower speed."""
        self.rate_box.setCurrentIndex(max(0, self.rate_box.currentIndex() - 1))

    @Slot()
    def faster(self) -> None:
        """The next higher speed."""
        self.rate_box.setCurrentIndex(min(self.rate_box.count() - 1,
                                          self.rate_box.currentIndex() + 1))

    def timestamp_text(self) -> str:
        """What "Copy time" copies: ``"Title 01:23"`` at the position playing."""
        if self._current is None:
            return ""
        return position_text(self._current.title, self.engine.position() / 1000)

    @Slot()
    def copy_timestamp(self) -> None:
        """Put "Title 01:23" on the clipboard."""
        text = self.timestamp_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copy_button.setText("Copied")
            self._copied_timer.start()

    @Slot()
    def toggle_full_screen(self) -> None:
        """Show the video full screen, or leave full screen."""
        if self.full_screen is not None:
            self.full_screen.close()
            return
        if self._current is None:
            return
        window = FullScreenVideo(self.engine, self._current.title, self.seek_bar,
                                 self.sig_step_requested.emit)
        window.sig_closed.connect(self._full_screen_closed)
        self.full_screen = window
        window.showFullScreen()

    @Slot()
    def _full_screen_closed(self) -> None:
        self.full_screen = None

    # -- internals ----------------------------------------------------------------------------

    @Slot()
    def _reset_copy_text(self) -> None:
        self.copy_button.setText("Copy time")

    @Slot()
    def _open_external(self) -> None:
        self.sig_open_external_requested.emit(self.engine.position() / 1000)

    @Slot()
    def _export_answer(self) -> None:
        self.sig_export_requested.emit(EXPORT_ANSWER, [m.index for m in self._moments])

    @Slot()
    def _export_selected(self) -> None:
        self.sig_export_requested.emit(EXPORT_SELECTED, self.moments_list.selected_indices())

    @Slot()
    def _export_conversation(self) -> None:
        self.sig_export_requested.emit(EXPORT_CONVERSATION, [])

    @Slot(int)
    def _on_position(self, position: int) -> None:
        self.seek_bar.set_position(position)
        self._show_time(position)

    @Slot(int)
    def _on_duration(self, duration: int) -> None:
        self._duration = duration
        self.seek_bar.set_duration(duration)
        self._show_time(self.engine.position())

    def _show_time(self, position: int) -> None:
        self.time_label.setText(f"{format_timestamp(position / 1000)} / "
                                f"{format_timestamp(self._duration / 1000)}")

    @Slot(bool)
    def _on_playing(self, playing: bool) -> None:
        self._playing = playing
        self._paint_icons()
        tip = "Pause (Space)" if playing else "Play (Space)"
        self.play_button.setToolTip(tip)
        self.play_button.setAccessibleName(tip.split(" (")[0])

    @Slot(int)
    def _on_rate(self, row: int) -> None:
        rate = self.rate_box.itemData(row)
        if isinstance(rate, float):
            self.engine.set_rate(rate)

    @Slot(bool)
    def _on_mute(self, muted: bool) -> None:
        self.engine.set_muted(muted)
        self._paint_icons()

    @Slot(int)
    def _on_volume(self, value: int) -> None:
        self.engine.set_volume(value / 100)

    def _set_no_audio(self) -> None:
        for widget in (self.mute_button, self.volume_slider):
            widget.setEnabled(False)
            widget.setToolTip(NO_AUDIO)

    def _update_buttons(self) -> None:
        index = self._current.index if self._current is not None else None
        self.prev_button.setEnabled(index is not None and index > 0)
        self.next_button.setEnabled(index is not None and index + 1 < len(self._moments))
        has = bool(self._moments)
        self.action_export_answer.setEnabled(has)
        self.action_export_selected.setEnabled(bool(self.moments_list.selectedItems()))
        for widget in (self.copy_button, self.open_button, self.full_button, self.play_button):
            widget.setEnabled(self._current is not None and self.engine.available)

    def _paint_icons(self) -> None:
        palette = self.palette()
        colour = palette.buttonText().color()
        disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
        for button, name in ((self.prev_button, "previous"), (self.next_button, "next"),
                             (self.play_button, "pause" if self._playing else "play"),
                             (self.mute_button,
                              "muted" if self.mute_button.isChecked() else "volume"),
                             (self.open_button, "open"), (self.full_button, "full_screen")):
            # Drawn at twice the side shown: sharp on a 2× screen too.
            button.setIcon(player_icon(name, colour, disabled, 2 * button.iconSize().width()))

    def changeEvent(self, event: QEvent) -> None:
        """Icons and the problem colour follow a theme switch."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_icons()
            self._apply_problem_colour()
        elif event.type() == QEvent.Type.FontChange:
            side = icon_side(self.fontMetrics().height())
            for button in self._tool_buttons:
                button.setIconSize(QSize(side, side))
            self._paint_icons()

    def _apply_problem_colour(self) -> None:
        palette = self.problem_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText,
                         error_color(is_dark_palette(self.palette())))
        self.problem_label.setPalette(palette)
