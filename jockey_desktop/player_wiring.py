"""The player's wiring: one function the composition root calls (``wire_player(desktop)``).

The composition root builds it just after the first paint (or at its first use): the
:class:`PlayerController` (no Qt Multimedia import), the "Video" menu's actions (the menu
itself is the window's, shown from the start) and the chat pane's citation clicks. The
player itself (the ``QMediaPlayer`` and its FFmpeg plugin, the panel, the dock) is built on the
first click, long after the first paint. The dock goes beside the chat, is resizable, can be
floated ("popped out"), and its place and size come back through the window's saved state
(``QMainWindow.restoreDockWidget``: the state names the dock even before it exists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage

from jockey_desktop.controllers.player import PlayerController
from jockey_desktop.core.media_cache import ThumbnailCache
from jockey_desktop.core.storage.models import Message
from jockey_desktop.presentation.moments import (
    PlayerMoment,
    answer_moments,
    is_playable,
    nothing_to_export_text,
)
from jockey_desktop.startup import follow_client

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.core.moments_export import MomentFormat
    from jockey_desktop.settings import AppSettings
    from jockey_desktop.ui.main_window import MainWindow
    from jockey_desktop.ui.player.dock import PlayerDock
    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.panel import PlayerPanel

#: Asks where to export: (parent, suggested title) → (path, format) or None.
AskExportPath = Callable[[Any, str], "tuple[str, MomentFormat] | None"]

DEFAULT_DOCK_WIDTH = 440


class PlayerFeature(QObject):
    """Owns the player's widgets (built on first use) and relays between them, the window and
    the :class:`PlayerController`."""

    def __init__(self, window: MainWindow, controller: PlayerController, *,
                 ask_export_path: AskExportPath | None = None,
                 open_url: Callable[[QUrl], object] | None = None,
                 settings: AppSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self._settings = settings
        self.controller = controller
        self._ask_export_path = ask_export_path
        self._open_url = open_url or QDesktopServices.openUrl
        self.dock: PlayerDock | None = None
        self.panel: PlayerPanel | None = None
        self.engine: PlaybackEngine | None = None
        self._build_menu()
        c = controller
        c.sig_notice.connect(window.show_transient)
        c.sig_exported.connect(self._on_exported)
        c.sig_export_failed.connect(self._on_export_failed)
        c.sig_open_file.connect(self._open_file)

    # -- the menu (the window's placeholders: shown before this feature exists) ---------------

    def _build_menu(self) -> None:
        window = self.window
        self.menu = window.video_menu
        self.action_show = window.action_show_player
        self.action_toggle = window.action_play_pause
        self.action_previous = window.action_previous_moment
        self.action_next = window.action_next_moment
        self.action_export = window.action_export_moments
        self.action_show.triggered.connect(self.show_player)
        self.action_toggle.triggered.connect(self._toggle_playback)
        self.action_previous.triggered.connect(self._previous)
        self.action_next.triggered.connect(self._next)
        self.action_export.triggered.connect(self.export_conversation)

    # -- built on first use -------------------------------------------------------------------

    def ensure_panel(self) -> PlayerPanel:
        """The panel (and the engine and the dock), built the first time it is needed."""
        if self.panel is not None:
            return self.panel
        from jockey_desktop.ui.player.dock import PlayerDock
        from jockey_desktop.ui.player.engine import PlaybackEngine
        from jockey_desktop.ui.player.panel import PlayerPanel

        window = self.window
        engine = PlaybackEngine(self)
        panel = PlayerPanel(engine)
        dock = PlayerDock(window)
        dock.setWidget(panel)
        dock.sig_closed.connect(engine.pause)
        # Where the saved window state put it (docked or popped out, and its size); only a
        # dock the state does not know is added beside the chat (adding it first would make
        # Qt ignore the saved state).
        if not window.restoreDockWidget(dock):
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            window.resizeDocks([dock], [DEFAULT_DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.engine, self.panel, self.dock = engine, panel, dock
        self._connect(engine, panel)
        return panel

    def _connect(self, engine: PlaybackEngine, panel: PlayerPanel) -> None:
        c = self.controller
        c.sig_moments.connect(panel.show_moments)
        c.sig_moment.connect(panel.show_moment)
        c.sig_load.connect(self._load)
        c.sig_play_range.connect(self._play_range)
        c.sig_stop.connect(engine.stop)
        c.sig_poster.connect(self._poster)
        c.sig_thumbnail.connect(self._thumbnail)
        c.sig_transcript.connect(panel.set_transcript)
        c.sig_problem.connect(panel.show_problem)
        engine.sig_failed.connect(c.on_player_failed)
        panel.sig_moment_chosen.connect(c.go_to)
        panel.sig_step_requested.connect(c.step)
        panel.sig_open_external_requested.connect(c.open_external)
        panel.sig_export_requested.connect(self._export_from_panel)

    # -- requests -----------------------------------------------------------------------------

    @Slot(str, object, object)
    def play_citation(self, store_id: str, message: Message,
                      citation: Mapping[str, Any]) -> None:
        """A citation was clicked: show the player and play that moment (an image or a
        collection has nothing to play: the controller says so, no player is built)."""
        if not is_playable(citation):
            self.controller.play(store_id, message, citation)
            return
        self.show_player()
        self.controller.play(store_id, message, citation)
        if self.panel is not None:
            self.panel.setFocus()

    @Slot(str, str, str)
    def play_item(self, store_id: str, item_id: str, title: str) -> None:
        """A store item's "Play" (stores view): show the player and play it from the start."""
        self.show_player()
        self.controller.play_item(store_id, item_id, title)

    @Slot()
    def show_player(self) -> None:
        """Show (and raise) the player's dock."""
        self.ensure_panel()
        assert self.dock is not None
        self.dock.show()
        self.dock.raise_()

    @Slot()
    def _toggle_playback(self) -> None:
        if self.engine is not None:
            self.engine.toggle()

    @Slot()
    def _previous(self) -> None:
        self.controller.step(-1)

    @Slot()
    def _next(self) -> None:
        self.controller.step(1)

    @Slot(str, float, object)
    def _load(self, url: str, start: float, end: float | None) -> None:
        if self.engine is not None:
            self.engine.load(url, start, end)

    @Slot(float, object)
    def _play_range(self, start: float, end: float | None) -> None:
        if self.engine is not None:
            self.engine.play_range(start, end)

    @Slot(object)
    def _poster(self, data: bytes | None) -> None:
        if self.panel is not None:
            self.panel.set_poster(QImage.fromData(data) if data else None)

    @Slot(int, bytes)
    def _thumbnail(self, index: int, data: bytes) -> None:
        if self.panel is not None:
            self.panel.set_thumbnail(index, QImage.fromData(data))

    @Slot(str)
    def _open_file(self, path: str) -> None:
        self._open_url(QUrl.fromLocalFile(path))

    # -- exports ------------------------------------------------------------------------------

    def export_start(self) -> tuple[Path | None, MomentFormat]:
        """Where the export dialog opens and the format it picks: the last export's (kept
        across restarts: an editor exports to one project folder in one format, again and
        again), else Documents and OpenTimelineIO."""
        from jockey_desktop.core.moments_export import MomentFormat

        if self._settings is None:
            return None, MomentFormat.OTIO
        folder_text = self._settings.moments_export_folder
        folder = Path(folder_text) if folder_text else None
        try:
            fmt = MomentFormat(self._settings.moments_export_format)
        except ValueError:
            fmt = MomentFormat.OTIO
        # A folder since removed (or an unplugged disk) opens Documents instead.
        return (folder if folder is not None and folder.is_dir() else None), fmt

    def _ask(self, title: str) -> tuple[str, MomentFormat] | None:
        if self._ask_export_path is not None:
            answer = self._ask_export_path(self.window, title)
        else:
            from jockey_desktop.ui.player.export_dialog import ask_moments_export_path

            answer = ask_moments_export_path(self.window, title, *self.export_start())
        if answer is not None and self._settings is not None:
            self._settings.moments_export_folder = str(Path(answer[0]).parent)
            self._settings.moments_export_format = answer[1].value
        return answer

    def _title(self) -> str:
        title = self.window.chat_pane.title_label.text()
        return f"{title} moments" if title else "Jockey moments"

    @Slot(str, list)
    def _export_from_panel(self, kind: str, indices: list[int]) -> None:
        from jockey_desktop.ui.player.panel import EXPORT_CONVERSATION, EXPORT_SELECTED

        if kind == EXPORT_CONVERSATION:
            self.export_conversation()
            return
        if not indices:
            self.window.show_transient("Select the moments to export first.")
            return
        scope = "The selection" if kind == EXPORT_SELECTED else "This answer"
        refusal = nothing_to_export_text(scope, self.controller.chosen_moments(indices))
        if refusal is not None:
            self.window.show_transient(refusal)
            return
        answer = self._ask(self._title())
        if answer is not None:
            path, fmt = answer
            self.controller.export(indices, fmt.value, path, self._title())

    @Slot(str, object)
    def export_answer(self, store_id: str, message: Message) -> None:
        """Export every moment of one answer (the transcript's context menu)."""
        refusal = nothing_to_export_text("This answer", answer_moments(message))
        if refusal is not None:
            self.window.show_transient(refusal)
            return
        answer = self._ask(self._title())
        if answer is not None:
            path, fmt = answer
            self.controller.export_answer(store_id, message, fmt.value, path, self._title())

    @Slot()
    def export_conversation(self) -> None:
        """Export every moment of the conversation on screen: its moments are read first, so
        a conversation with none says so instead of asking for a file name."""
        pane = self.window.chat_pane
        conversation_id, store_id = pane.current_conversation_id(), pane.current_store_id()
        if conversation_id is None or store_id is None:
            self.window.show_transient("Open a conversation to export its moments.")
            return
        self.controller.read_conversation_moments(
            conversation_id, partial(self._export_conversation_moments, conversation_id,
                                     store_id))

    def _export_conversation_moments(self, conversation_id: int, store_id: str,
                                     moments: list[PlayerMoment]) -> None:
        if self.window.chat_pane.current_conversation_id() != conversation_id:
            return  # another conversation was opened meanwhile: its Export is another click
        refusal = nothing_to_export_text("This conversation", moments)
        if refusal is not None:
            self.window.show_transient(refusal)
            return
        answer = self._ask(self._title())
        if answer is not None:
            path, fmt = answer
            self.controller.export_moments(moments, store_id, fmt.value, path, self._title())

    @Slot(str, bool)
    def _on_exported(self, sentence: str, caution: bool) -> None:
        if caution:
            # Too long for the status bar, which cuts it and clears it in seconds: the part
            # that matters (timecodes may be off) would be lost.
            self.window.show_message("Moments exported", sentence, True)
        else:
            self.window.show_transient(sentence)

    @Slot(str)
    def _on_export_failed(self, text: str) -> None:
        self.window.show_message("Export failed", text, True)

    # -- quit ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop playing and stop the media relay."""
        if self.panel is not None and self.panel.full_screen is not None:
            self.panel.full_screen.close()
        if self.engine is not None:
            self.engine.stop()
        self.controller.shutdown()


def wire_player(desktop: JockeyDesktop) -> PlayerFeature:
    """Build the player's controller and menu, and connect the chat's citation clicks."""
    data_dir = desktop.paths.data_dir
    controller = PlayerController(desktop.runner, ThumbnailCache(data_dir / "thumbnails"),
                                  data_dir / "player", desktop.repo, parent=desktop,
                                  storage_runner=desktop.storage_runner)
    follow_client(desktop.connection, controller.set_client)
    feature = PlayerFeature(desktop.window, controller, settings=desktop.settings,
                            parent=desktop)
    pane = desktop.window.chat_pane
    pane.sig_moment_requested.connect(feature.play_citation)
    pane.sig_export_moments_requested.connect(feature.export_answer)
    return feature
