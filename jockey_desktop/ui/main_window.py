"""The main window: sidebar | (store picker + chat pane) in a splitter, behind a welcome page.

No business logic lives here: menus and shortcuts emit ``sig_*`` signals, and the composition
root (``app.py``) wires those and the child widgets to the controllers. The window switches
pages, asks the user (confirmations, file names), shows status text, notices and the
clipboard, and remembers its geometry. Rarely used parts (the settings dialog) are built the
first time they are needed, not before the first paint.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenuBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop import APP_NAME, __version__
from jockey_desktop.presentation.connection import NOT_CONNECTED, ConnectionStatus
from jockey_desktop.presentation.text_actions import TextAction, action_for
from jockey_desktop.resources import resource_path
from jockey_desktop.ui.chat_pane import ChatPane
from jockey_desktop.ui.notice_banner import NoticeBanner
from jockey_desktop.ui.sidebar import ConversationSidebar
from jockey_desktop.ui.store_picker import StorePicker
from jockey_desktop.ui.theme import plain_tooltip, plain_window_title

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

    from jockey_desktop.ui.settings_dialog import SettingsDialog
    from jockey_desktop.ui.shortcuts_dialog import ShortcutsDialog
    from jockey_desktop.ui.tray_notifier import TrayNotifier
    from jockey_desktop.ui.welcome import WelcomePage

DEFAULT_SIZE = (1180, 760)
DEFAULT_SPLITTER = [300, 880]
#: The damaged-database notice's button (the same as the File menu's action).
RESTORE_ACTION = "Restore newest backup…"
EXPORT_FILTERS = {"markdown": ("Markdown (*.md)", ".md"), "json": ("JSON (*.json)", ".json")}


def documents_dir() -> Path:
    """Where file dialogs start: the user's Documents folder, else their home folder."""
    location = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(location) if location else Path.home()
    return folder if folder.is_dir() else Path.home()


def load_app_icon() -> QIcon:
    """The application icon (SVG, else the PNG), or an empty icon when neither loads."""
    # Here, not at the top: QIcon's type (and the SVG plugin) cost ms the first paint
    # does not need (the window's icon is set just after it, ``MainWindow.apply_app_icon``).
    from PySide6.QtGui import QIcon

    for name in ("app.svg", "app-256.png"):
        path = resource_path("icons", name)
        if path.is_file():
            icon = QIcon(str(path))
            # An SVG needs the svg image plugin; a null pixmap means "try the PNG".
            if not icon.pixmap(32, 32).isNull():
                return icon
    return QIcon()


class _ShortcutGuard(QObject):
    """Lets the window's own shortcuts win over text fields, and Enter press the focused
    button (a main window's buttons otherwise answer Space only).

    On Linux a QLineEdit claims Ctrl+K (delete to end of line) and Ctrl+E (end of line) via
    ShortcutOverride, which would make "Find" and "Export" dead while typing. For these few
    sequences, inside this window only, the override is refused so the action fires.

    ShortcutOverride goes to the focus widget, so the filter sits on the window's focus widget
    only and moves with the focus (``follow_focus``): a filter on the application would run
    Python for every event of every object (hundreds before the first paint alone).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.sequences: set[QKeySequence] = set()

    @Slot(QWidget, QWidget)
    def follow_focus(self, old: QWidget | None, new: QWidget | None) -> None:
        """The focus moved: watch the new focus widget if it is in our window."""
        if old is not None:
            with contextlib.suppress(RuntimeError):  # a widget already being deleted
                old.removeEventFilter(self)
        if new is not None and new.window() is self._window:
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Refuse ShortcutOverride for our sequences when the target is in our window; Enter
        presses the focused button."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(watched, QWidget):
            key_event: QKeyEvent = event  # type: ignore[assignment]
            sequence = QKeySequence(key_event.keyCombination())
            if sequence in self.sequences and watched.window() is self._window:
                event.ignore()
                return True
        elif (event.type() == QEvent.Type.KeyPress
              and isinstance(watched, (QPushButton, QToolButton))
              and watched.window() is self._window and watched.isEnabled()):
            # Outside a dialog a focused button answers Space only: a keyboard user who
            # tabbed to "Try the sandbox", "Send" or a starter question pressed Enter and
            # nothing happened.
            key_event = event  # type: ignore[assignment]
            if (key_event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and key_event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                                  Qt.KeyboardModifier.KeypadModifier)):
                watched.click()
                return True
        return False


class MainWindow(QMainWindow):
    """The application window: menus, pages, prompts, status, notices, clipboard."""

    sig_new_conversation = Signal()
    #: Export a conversation (id, "markdown"/"json", the path the user chose).
    sig_export_chosen = Signal(int, str, str)
    #: Export every conversation to one JSON file (the path the user chose).
    sig_export_all_chosen = Signal(str)
    sig_settings_requested = Signal()
    #: Copy a conversation to the clipboard as Markdown (its id).
    sig_copy_conversation = Signal(int)
    sig_enter_key_requested = Signal()
    sig_try_sandbox_requested = Signal()
    sig_find_requested = Signal()
    #: File → "Restore newest backup…"; the workspace confirms (see
    #: ``confirm_restore_backup``) and restores.
    sig_restore_backup_requested = Signal()
    # The settings dialog's requests, relayed so they can be wired before it is built.
    #: A key to check against the server and save (key, the API base URL typed, or "").
    sig_save_key = Signal(str, str)
    #: The dialog closed while its key was being checked.
    sig_key_check_cancelled = Signal()
    sig_remove_key = Signal()
    sig_test_connection = Signal(str, str)
    sig_apply_settings = Signal(str, bool)
    #: File → Import…: import this JSON export (its path).
    sig_import_chosen = Signal(str)
    #: File → Compare stores…: show the comparison view (built by its feature on first use).
    sig_compare_requested = Signal()
    #: Settings → "Notify me when an answer is ready" was switched (on / off).
    sig_notify_changed = Signal(bool)


    def __init__(
        self,
        settings: Any = None,
        *,
        chat_pane: ChatPane | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``settings`` is an ``AppSettings`` (geometry and splitter are saved there when
        given); ``chat_pane`` lets the composition root inject a configured ChatPane."""
        super().__init__(parent)
        self._settings = settings
        #: Show dialogs for notices and failures; the composition root turns it on when people
        #: (not tests or the self-test) are watching.
        self.interactive = False
        self._settings_dialog: SettingsDialog | None = None
        # What the settings dialog shows, kept until it is built.
        self._key_state: tuple[str, bool] | None = None
        self._settings_values: tuple[str | None, bool, str | None] | None = None
        self._saved_key_refused = False
        self._restored_sizes: list[int] | None = None
        self._shortcuts_dialog: ShortcutsDialog | None = None
        #: The data folder and the log folder (Help → Open …), set by the composition root.
        self.data_dir: Path | None = None
        self.logs_dir: Path | None = None
        #: Opens a folder or file in the system's file manager (tests replace it).
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        #: Asked before the window closes (False = not now); set by the composition root.
        self.close_guard: Callable[[], bool] | None = None
        self.setWindowTitle(APP_NAME)
        self.setAccessibleName(APP_NAME)
        self._app_icon: QIcon | None = None

        # -- widgets ---------------------------------------------------------------------------
        self.sidebar = ConversationSidebar(self)
        self.store_picker = StorePicker(self)
        if chat_pane is None:
            chat_pane = ChatPane(self)
        self.chat_pane = chat_pane
        right = QWidget(self)
        right.setAccessibleName("Conversation area")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 8, 8, 0)
        right_layout.setSpacing(6)
        right_layout.addWidget(self.store_picker)
        right_layout.addWidget(self.chat_pane, 1)
        self.conversation_area = right
        # The conversation, or a comparison of stores (added by its feature when first used).
        self.right_stack = QStackedWidget(self)
        self.right_stack.setAccessibleName("Conversation or comparison")
        self.right_stack.addWidget(right)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setAccessibleName("Sidebar and conversation")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.right_stack)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.sidebar.setMinimumWidth(220)
        self.splitter.setSizes(DEFAULT_SPLITTER)

        # The welcome page is built when first shown: the first paint always shows the main
        # page (the key lookup that may lead to the welcome page runs after it).
        self._welcome: WelcomePage | None = None
        #: Why a stored key could not be read (the welcome page says it), or "".
        self._key_problem = ""

        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.splitter)
        self.notice_banner = NoticeBanner(self)
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.notice_banner)
        self.notice_banner.sig_action.connect(self.sig_restore_backup_requested)
        self.notice_banner.sig_link.connect(self.do_text_action)
        central_layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.chat_pane.sig_title_changed.connect(self.set_conversation_title)
        self.chat_pane.sig_copy_conversation_requested.connect(self._copy_shown)
        self.chat_pane.sig_text_action.connect(self.do_text_action)
        self.store_picker.sig_text_action.connect(self.do_text_action)
        # Typing in the list is a question being started: it goes to the question box.
        self.sidebar.sig_text_typed.connect(self.chat_pane.type_into_composer)
        # Opening a conversation from the list shows it (the comparison steps aside).
        self.sidebar.sig_conversation_selected.connect(self.show_conversation_area)

        self.connection_label = QLabel(self)
        self.connection_label.setAccessibleDescription("Connection")
        self.statusBar().addPermanentWidget(self.connection_label)
        self.statusBar().setAccessibleName("Status bar")
        self.set_connection(NOT_CONNECTED)
        # Status messages are elided to the room they have (full text in the tooltip); the
        # timeout is ours so a re-elide on resize does not restart it.
        self._status_full = ""
        self._status_shown = ""
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.timeout.connect(self._clear_status)
        self.statusBar().messageChanged.connect(self._on_status_message_changed)

        self._guard = _ShortcutGuard(self)
        self._build_menus()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._guard.follow_focus)
            self._guard.follow_focus(None, app.focusWidget())

        self.resize(*DEFAULT_SIZE)
        self.restore_state()
        self.show_main()

    # -- menus -------------------------------------------------------------------------------

    def _action(self, text: str, slot: Any,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            sequence = QKeySequence(shortcut)
            action.setShortcut(sequence)
            self._guard.sequences.add(sequence)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        bar.setAccessibleName("Menu bar")
        self.action_new = self._action("&New conversation", self.sig_new_conversation,
                                       "Ctrl+N", "Start a conversation on the chosen store")
        self.action_compare = self._action(
            "&Compare stores…", self.sig_compare_requested, "Ctrl+Shift+N",
            "Ask one question of several knowledge stores and read the answers side by side")
        self.action_import = self._action("&Import…", self.import_conversations, "Ctrl+O",
                                          "Add conversations from a JSON export")
        self.action_export_md = self._action("&Export as Markdown…", self._export_markdown,
                                             "Ctrl+E", "Save this conversation as Markdown")
        self.action_export_json = self._action("Export as &JSON…", self._export_json,
                                               None, "Save this conversation as JSON")
        self.action_export_all = self._action(
            "Export &all conversations…", self._export_all, None,
            "Save every conversation in one JSON file (File → Import… reads it back, here or "
            "on another computer)")
        self.action_restore_backup = self._action(
            "&Restore newest backup…", self.sig_restore_backup_requested, None,
            "Replace the conversations with the newest automatic backup")
        self.action_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.action_new)
        file_menu.addAction(self.action_compare)
        file_menu.addSeparator()
        file_menu.addAction(self.action_import)
        file_menu.addAction(self.action_export_md)
        file_menu.addAction(self.action_export_json)
        file_menu.addAction(self.action_export_all)
        file_menu.addSeparator()
        file_menu.addAction(self.action_restore_backup)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)

        self.action_copy = self._action("&Copy conversation", self._copy_shown,
                                        "Ctrl+Shift+C", "Copy the whole conversation as text")
        self.action_find_here = self._action("&Find in conversation…", self.find_in_conversation,
                                             QKeySequence.StandardKey.Find,
                                             "Find words in the conversation on screen")
        self.action_find_next = self._action("Find &next", self.chat_pane.find_next,
                                             QKeySequence.StandardKey.FindNext)
        self.action_find_previous = self._action("Find pre&vious", self.chat_pane.find_previous,
                                                 QKeySequence.StandardKey.FindPrevious)
        self.action_find = self._action("Search &all conversations…", self._find, "Ctrl+K",
                                        "Search titles and messages")
        self.action_rename = self._action("&Rename conversation", self._rename_shown, None,
                                          "Edit the title in the list (F2 there)")
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.action_copy)
        edit_menu.addSeparator()
        edit_menu.addAction(self.action_find_here)
        edit_menu.addAction(self.action_find_next)
        edit_menu.addAction(self.action_find_previous)
        edit_menu.addAction(self.action_find)
        edit_menu.addSeparator()
        edit_menu.addAction(self.action_rename)

        self.action_settings = self._action("&Settings…", self.open_settings, "Ctrl+,",
                                            "API key, server and sandbox")
        self.action_settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action_notify = self._action(
            "&Notify me when an answer is ready", self.sig_notify_changed, None,
            "When an answer finishes while the window is in the background, flash the "
            "window and show a desktop notification")
        self.action_notify.setCheckable(True)
        self.action_notify.setChecked(True)
        settings_menu = bar.addMenu("&Settings")
        settings_menu.addAction(self.action_settings)
        settings_menu.addAction(self.action_notify)

        self._build_feature_menus(bar)

        self.action_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts,
                                             "Ctrl+/", "Every keyboard shortcut on one sheet")
        self.action_open_data = self._action("Open &data folder", self.open_data_folder, None,
                                             "Where the conversations, backups and settings "
                                             "are kept")
        self.action_open_logs = self._action("Open &logs", self.open_logs_folder, None,
                                             "The app's log files (useful in a bug report)")
        self.action_about = self._action(f"&About {APP_NAME}", self.show_about)
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.action_about_qt = self._action("About &Qt", self.show_about_qt, None,
                                            "Qt's version and licence")
        self.action_about_qt.setMenuRole(QAction.MenuRole.AboutQtRole)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.action_open_data)
        help_menu.addAction(self.action_open_logs)
        help_menu.addSeparator()
        help_menu.addAction(self.action_about)
        help_menu.addAction(self.action_about_qt)
        self._main_only = [self.action_new, self.action_export_md, self.action_export_json,
                           self.action_export_all,
                           self.action_copy, self.action_find, self.action_compare,
                           self.action_find_here, self.action_find_next,
                           self.action_find_previous, self.action_rename]
        #: Act on the conversation on screen: greyed out while there is none (Ctrl+F opened
        #: a find bar over the empty page; Copy did nothing and said nothing).
        self._on_conversation = {self.action_export_md, self.action_export_json,
                                 self.action_copy, self.action_find_here,
                                 self.action_find_next, self.action_find_previous,
                                 self.action_rename}
        self._update_actions()

    def _placeholder(self, text: str, shortcut: str | None = None, tip: str = "",
                     *, window_wide: bool = True) -> QAction:
        """An action a feature built after the first paint connects (its menu is shown from
        the start; ``window_wide``: its shortcut works with the menu bar hidden)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        if window_wide:
            self.addAction(action)
        return action

    def _build_feature_menus(self, bar: QMenuBar) -> None:
        """Video and Stores: the player and the stores feature (``player_wiring``,
        ``stores_feature``) are built after the first paint and connect these actions."""
        self.action_show_player = self._placeholder("Show &player", None,
                                                    "Show the player beside the chat")
        self.action_play_pause = self._placeholder("&Play / pause")
        self.action_previous_moment = self._placeholder("P&revious moment", "Ctrl+[")
        self.action_next_moment = self._placeholder("&Next moment", "Ctrl+]")
        self.action_export_moments = self._placeholder(
            "&Export this conversation's moments…", None,
            "Save the cited moments for a video editor (OTIO, EDL, FCP XML, CSV, chapters)",
            window_wide=False)
        self.video_menu = bar.addMenu("&Video")
        self.video_menu.setAccessibleName("Video menu")
        for action in (self.action_show_player, self.action_play_pause,
                       self.action_previous_moment, self.action_next_moment):
            self.video_menu.addAction(action)
        self.video_menu.addSeparator()
        self.video_menu.addAction(self.action_export_moments)

        self.action_manage_stores = self._placeholder(
            "&Manage knowledge stores…", "Ctrl+Shift+K",
            "Create stores, upload videos, watch them index")
        self.action_add_videos = self._placeholder("&Add videos to the chosen store…",
                                                   "Ctrl+Shift+U")
        self.action_add_url = self._placeholder("Add from &URL…", window_wide=False)
        self.stores_menu = bar.addMenu("S&tores")
        self.stores_menu.addAction(self.action_manage_stores)
        self.stores_menu.addSeparator()
        self.stores_menu.addAction(self.action_add_videos)
        self.stores_menu.addAction(self.action_add_url)

    @Slot()
    def _export_markdown(self) -> None:
        self._export_shown("markdown")

    @Slot()
    def _export_json(self) -> None:
        self._export_shown("json")

    def _export_shown(self, fmt: str) -> None:
        conversation_id = self.chat_pane.current_conversation_id()
        if conversation_id is not None:
            self.export_conversation(conversation_id, fmt)

    @Slot(int, str)
    def export_conversation(self, conversation_id: int, fmt: str) -> None:
        """Ask where to export one conversation; ``sig_export_chosen`` when a path is given."""
        summary = self.sidebar.model.summary_for(conversation_id)
        title = summary.conversation.title if summary is not None else ""
        path = self.ask_export_path(fmt, title or "conversation")
        if path:
            self.sig_export_chosen.emit(conversation_id, fmt, path)

    @Slot()
    def _export_all(self) -> None:
        """File → Export all conversations…: one JSON file of the whole library (importing
        one file per conversation was the only way to move a library before)."""
        if self.sidebar.model.rowCount() == 0:
            self.show_status("There are no conversations to export.", 8000)
            return
        name = f"Jockey Desktop conversations {time.strftime('%Y-%m-%d')}"
        path = self.ask_export_path("json", name, caption="Export all conversations")
        if path:
            self.sig_export_all_chosen.emit(path)

    @Slot()
    def _copy_shown(self) -> None:
        conversation_id = self.chat_pane.current_conversation_id()
        if conversation_id is not None:
            self.sig_copy_conversation.emit(conversation_id)

    @Slot(int, str)
    def copy_conversation_text(self, _conversation_id: int, text: str) -> None:
        """Put a conversation's Markdown on the clipboard (once) and say so."""
        QGuiApplication.clipboard().setText(text)
        self.show_status("Conversation copied.", 8000)

    @Slot()
    def _find(self) -> None:
        self.show_main()
        self.sidebar.focus_search()
        self.sig_find_requested.emit()

    @Slot()
    def find_in_conversation(self) -> None:
        """Ctrl+F: the find bar over the conversation on screen."""
        self.show_main()
        self.show_conversation_area()
        self.chat_pane.show_find()

    @Slot()
    def _rename_shown(self) -> None:
        conversation_id = self.chat_pane.current_conversation_id()
        if conversation_id is not None:
            self.show_main()
            self.sidebar.rename(conversation_id)

    @Slot()
    def import_conversations(self) -> None:
        """File → Import…: pick a JSON export (from Documents); ``sig_import_chosen``."""
        # Imported when first needed (its enums cost a few ms at start-up).
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import conversations",
                                              str(documents_dir()), "JSON (*.json)")
        if path:
            self.sig_import_chosen.emit(path)

    # -- folders, links named in sentences, the shortcuts sheet --------------------------------

    def set_folders(self, data_dir: Path, logs_dir: Path) -> None:
        """The folders Help → "Open data folder" / "Open logs" show."""
        self.data_dir = data_dir
        self.logs_dir = logs_dir

    @Slot()
    def open_data_folder(self) -> None:
        """Show the data folder in the system's file manager."""
        self._open_folder(self.data_dir, "data folder")

    @Slot()
    def open_logs_folder(self) -> None:
        """Show the log folder in the system's file manager."""
        self._open_folder(self.logs_dir, "log folder")

    def _open_folder(self, folder: Path | None, what: str) -> None:
        if folder is None:
            return
        if not self.open_url(QUrl.fromLocalFile(str(folder))):
            self.show_status(f"The {what} could not be opened; it is {folder}", 15000)

    @Slot(str)
    def do_text_action(self, href: str) -> None:
        """An action named in a sentence was clicked ("open Settings", "try the sandbox")."""
        action = action_for(href)
        if action is TextAction.SETTINGS:
            self.open_settings()
        elif action is TextAction.SANDBOX:
            self.sig_try_sandbox_requested.emit()
        elif action is TextAction.RESTORE_BACKUP:
            self.sig_restore_backup_requested.emit()
        elif action is TextAction.OPEN_LOGS:
            self.open_logs_folder()
        elif action is TextAction.IMPORT:
            self.import_conversations()

    @Slot()
    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Keyboard shortcuts (built when first opened; re-read each time)."""
        if self._shortcuts_dialog is None:
            from jockey_desktop.ui.shortcuts_dialog import ShortcutsDialog

            self._shortcuts_dialog = ShortcutsDialog(self)
        dialog = self._shortcuts_dialog
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    @Slot(bool)
    def set_notify_checked(self, on: bool) -> None:
        """Show whether answer notifications are on (without emitting a change)."""
        self.action_notify.blockSignals(True)
        self.action_notify.setChecked(on)
        self.action_notify.blockSignals(False)
        if self._settings_dialog is not None:
            self._settings_dialog.set_notify(on)

    # -- the conversation or the comparison ------------------------------------------------------

    def add_side_page(self, page: QWidget) -> None:
        """Add a page that can take the conversation's place (the comparison view)."""
        if self.right_stack.indexOf(page) < 0:
            self.right_stack.addWidget(page)

    def show_side_page(self, page: QWidget) -> None:
        """Show ``page`` where the conversation is (the sidebar stays)."""
        self.show_main()
        self.add_side_page(page)
        self.right_stack.setCurrentWidget(page)

    @Slot()
    def show_conversation_area(self, *_args: object) -> None:
        """Show the conversation again (after a comparison)."""
        self.right_stack.setCurrentWidget(self.conversation_area)

    def is_conversation_shown(self) -> bool:
        """True while the conversation (not a comparison) is shown on the right."""
        return self.right_stack.currentWidget() is self.conversation_area

    # -- pages -------------------------------------------------------------------------------

    def show_welcome(self) -> None:
        """Show the first-run page; conversation actions are disabled meanwhile."""
        self.pages.setCurrentWidget(self.welcome)
        self._update_actions()
        self.welcome.key_button.setFocus()

    def show_main(self) -> None:
        """Show the sidebar and chat."""
        self.pages.setCurrentWidget(self.splitter)
        self._update_actions()

    def _update_actions(self) -> None:
        main = not self.is_welcome_shown()
        shown = self.chat_pane.current_conversation_id() is not None
        for action in self._main_only:
            action.setEnabled(main and (shown or action not in self._on_conversation))

    def is_welcome_shown(self) -> bool:
        """True while the welcome page is the visible page."""
        return self._welcome is not None and self.pages.currentWidget() is self._welcome

    @property
    def app_icon(self) -> QIcon:
        """The application icon, loaded at its first use (may be a null icon)."""
        if self._app_icon is None:
            self._app_icon = load_app_icon()
        return self._app_icon

    def apply_app_icon(self) -> None:
        """Give the window its icon (the composition root calls this after the first paint:
        the icon shows in the task bar and title bar, never in the window's own pixels)."""
        if not self.app_icon.isNull():
            self.setWindowIcon(self.app_icon)

    @property
    def welcome(self) -> WelcomePage:
        """The first-run page (no key, no sandbox), built the first time it is needed."""
        if self._welcome is None:
            from jockey_desktop.ui.welcome import WelcomePage

            page = WelcomePage(self, icon=self.app_icon)
            page.sig_enter_key_requested.connect(self.sig_enter_key_requested)
            page.sig_enter_key_requested.connect(self.open_settings)
            page.sig_try_sandbox_requested.connect(self.sig_try_sandbox_requested)
            page.set_problem(self._key_problem)
            self.pages.addWidget(page)
            self._welcome = page
        return self._welcome

    def focus_composer(self) -> None:
        """Put the keyboard focus in the question box, unless the user is working in the
        sidebar: typing a search, or in the list (a click or Up/Down opened a conversation:
        F2 and Del must still reach the list, and typing there goes to the question box
        anyway)."""
        focused = self.focusWidget()
        search = self.sidebar.search_field
        if focused is search and search.text().strip():
            return  # a search is active and being typed: do not steal its keystrokes
        if focused is not None and (focused is self.sidebar.list_view
                                    or focused is self.sidebar.results_view
                                    or focused is self.sidebar.rename_editor):
            return
        if not self.is_conversation_shown():
            return  # a comparison is on screen: its own question box keeps the focus
        self.chat_pane.composer.edit.setFocus()

    @Slot()
    def flush_draft(self) -> None:
        """Deliver the composer's pending draft now (before the conversation changes)."""
        self.chat_pane.flush_draft()

    def is_window_active(self) -> bool:
        """True while the user is looking at this window (it has the focus, not minimised)."""
        return self.isActiveWindow() and not self.isMinimized()

    def alert(self) -> None:
        """Ask for attention: the taskbar entry flashes (GNOME: "… is ready")."""
        QApplication.alert(self, 0)

    def notifier(self) -> TrayNotifier | None:
        """What shows desktop notifications (built on the first one); None without a tray."""
        from jockey_desktop.ui.tray_notifier import TrayNotifier

        if not TrayNotifier.available():
            return None
        return TrayNotifier(self.app_icon, self)

    @Slot()
    def bring_to_front(self, *_args: object) -> None:
        """Another launch asked us to show ourselves."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- dialogs -----------------------------------------------------------------------------

    @property
    def settings_dialog(self) -> SettingsDialog:
        """The settings dialog, built the first time it is needed."""
        if self._settings_dialog is None:
            from jockey_desktop.ui.settings_dialog import SettingsDialog

            dialog = SettingsDialog(self)
            dialog.sig_save_key.connect(self.sig_save_key)
            dialog.sig_key_check_cancelled.connect(self.sig_key_check_cancelled)
            dialog.sig_remove_key.connect(self.sig_remove_key)
            dialog.sig_test_connection.connect(self.sig_test_connection)
            dialog.sig_apply.connect(self.sig_apply_settings)
            dialog.sig_notify_changed.connect(self.sig_notify_changed)
            dialog.set_notify(self.action_notify.isChecked())
            self._settings_dialog = dialog
            if self._key_state is not None:
                self.set_key_state(*self._key_state)
            if self._settings_values is not None:
                self.set_settings_values(*self._settings_values)
            dialog.set_saved_key_refused(self._saved_key_refused)
        return self._settings_dialog

    @Slot()
    def open_settings(self) -> SettingsDialog:
        """Emit ``sig_settings_requested`` (so results get refreshed) and show the dialog."""
        dialog = self.settings_dialog
        self.sig_settings_requested.emit()
        dialog.open()  # window-modal, does not block the event loop
        dialog.raise_()
        return dialog

    @Slot(str, bool)
    def set_key_state(self, where: str, has_key: bool) -> None:
        """Where the key is kept and whether there is one (for the settings dialog)."""
        self._key_state = (where, has_key)
        if self._settings_dialog is not None:
            self._settings_dialog.set_key_location(where)
            self._settings_dialog.set_has_key(has_key)

    @Slot(object, bool, object)
    def set_settings_values(self, base_url: str | None, use_sandbox: bool,
                            proxy: str | None) -> None:
        """The connection settings the dialog shows."""
        self._settings_values = (base_url, use_sandbox, proxy)
        if self._settings_dialog is not None:
            self._settings_dialog.set_values(base_url, use_sandbox)
            self._settings_dialog.set_proxy(proxy)

    @Slot(bool, str)
    def set_test_result(self, ok: bool, text: str) -> None:
        """The outcome of the dialog's "Test connection"."""
        self.settings_dialog.set_test_result(ok, text)

    @Slot(bool)
    def set_saved_key_refused(self, refused: bool) -> None:
        """The server refuses the key in use (True) or took it again (False): the settings
        dialog says so by the key field, where "open Settings to replace it" leads."""
        self._saved_key_refused = refused
        if self._settings_dialog is not None:
            self._settings_dialog.set_saved_key_refused(refused)

    @Slot(object, str)
    def set_key_check_result(self, verdict: object, text: str) -> None:
        """What became of the key the dialog handed over (checked, then saved or not)."""
        if self._settings_dialog is not None:
            self._settings_dialog.set_key_check_result(verdict, text)

    def confirm_new_conversation_on(self, store_name: str) -> bool:
        """Ask whether to start a new conversation on another store (sessions are bound to
        one store). True = start one."""
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        box = QMessageBox(QMessageBox.Icon.Question, "Start a new conversation?",
                          f"Start a new conversation on “{store_name}”?", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # a server-supplied store name
        box.setInformativeText(
            "This conversation is tied to its knowledge store. Your current conversation "
            "stays in the sidebar unchanged.")
        start = box.addButton("Start new conversation", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(start)
        box.exec()
        return box.clickedButton() is start

    def ask_export_path(self, fmt: str, suggested_name: str,
                        caption: str = "Export conversation") -> str | None:
        """A save-file dialog for an export; None when cancelled."""
        # Imported when first needed (QFileDialog's enums cost a few ms at start-up).
        from PySide6.QtWidgets import QFileDialog

        from jockey_desktop.presentation.file_names import export_file_name, with_export_suffix

        file_filter, suffix = EXPORT_FILTERS.get(fmt, EXPORT_FILTERS["markdown"])
        name = export_file_name(suggested_name, suffix)

        start = documents_dir() / name
        path, _ = QFileDialog.getSaveFileName(self, caption, str(start), file_filter)
        if not path:
            return None
        chosen = with_export_suffix(path, suffix)
        # The dialog asked about replacing the name as typed, not the one with its suffix.
        if chosen != path and Path(chosen).exists() and not self.confirm_replace(chosen):
            return None
        return chosen

    def confirm_replace(self, path: str) -> bool:
        """Ask before an export replaces an existing file. True = replace it."""
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        box = QMessageBox(QMessageBox.Icon.Warning, "Replace the file?",
                          f"{Path(path).name} already exists in {Path(path).parent}. "
                          "Replace it?", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # a file name, not markup
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is replace

    def confirm_restore_backup(self, text: str) -> bool:
        """Ask before replacing the conversations with a backup; ``text`` says which backup
        and what happens. True = restore."""
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        box = QMessageBox(QMessageBox.Icon.Warning, "Restore newest backup?", text,
                          parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # contains file paths
        restore = box.addButton("Restore", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is restore

    @Slot(str, str, bool)
    def show_message(self, title: str, text: str, warning: bool = False) -> None:
        """Something the user must read: the status bar always, a dialog when interactive."""
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        self.show_status(text, 8000)
        if self.interactive:
            icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
            box = QMessageBox(icon, plain_window_title(title), text, parent=self)
            box.setTextFormat(Qt.TextFormat.PlainText)  # error text from servers and the OS
            box.addButton(QMessageBox.StandardButton.Ok)
            box.exec()

    @Slot(str)
    def show_export_failure(self, text: str) -> None:
        """An export the user asked for was not written: the status bar, and a dialog when
        interactive (a status line alone was gone in 8 s, and the file was not there)."""
        self.show_message("Export failed", text, True)

    def show_error(self, title: str, text: str) -> None:
        """A warning box for failures the user must see (export failed, …).

        ``text`` often carries server or OS error text: shown as plain text, never as HTML.
        """
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.addButton(QMessageBox.StandardButton.Ok)
        box.exec()

    @Slot()
    def show_about(self) -> None:
        """The About box."""
        import platform

        import PySide6
        from PySide6.QtCore import qVersion
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        from jockey_desktop.presentation.about import about_html

        QMessageBox.about(self, f"About {APP_NAME}", about_html(
            APP_NAME, __version__, python_version=platform.python_version(),
            qt_version=qVersion(), pyside_version=PySide6.__version__))

    @Slot()
    def show_about_qt(self) -> None:
        """Qt's own About box: its version and licence notes (the LGPL asks that users of an
        app shipping Qt can find them)."""
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.aboutQt(self, "About Qt")

    # -- status ------------------------------------------------------------------------------

    def set_connection(self, text: str) -> None:
        """Show the connection in the status bar: "Sandbox", "api.twelvelabs.io", and the
        proxy when one is in use."""
        self.connection_label.setTextFormat(Qt.TextFormat.PlainText)  # a configured URL
        self.connection_label.setText(text)
        # "Server in use", not "Connected to": the label names the server even while it
        # cannot be reached, and "Connected to: Not connected" said nothing.
        self.connection_label.setToolTip(plain_tooltip(
            text if text == NOT_CONNECTED else f"Server in use: {text}"))

    @Slot(object)
    def show_connection(self, status: ConnectionStatus) -> None:
        """The connection changed: its label, and the welcome page when there is nothing to
        connect with."""
        self.set_connection(status.text)
        if status.needs_setup:
            self.show_welcome()
        else:
            self.show_main()

    @Slot(str)
    def set_key_problem(self, text: str) -> None:
        """Why a stored key could not be read ("" once it could): on the welcome page, which
        otherwise reads as if no key had ever been saved."""
        self._key_problem = text
        if self._welcome is not None:
            self._welcome.set_problem(text)

    @Slot(str)
    def show_transient(self, text: str) -> None:
        """A short message in the status bar."""
        self.show_status(text, 8000)

    @Slot(int, str)
    def on_chat_notice(self, conversation_id: int, text: str) -> None:
        """A notice about one conversation: in the pane if it is shown, else the status bar."""
        if conversation_id == self.chat_pane.current_conversation_id():
            self.chat_pane.show_notice(text)
        else:
            self.show_status(text, 8000)

    def show_status(self, text: str, timeout_ms: int = 5000) -> None:
        """A transient message in the status bar (0 = until replaced).

        Too long for the bar, it is elided and the full text goes in the bar's tooltip.
        """
        self._status_full = text
        if timeout_ms > 0:
            self._status_timer.start(timeout_ms)
        else:
            self._status_timer.stop()
        self._show_elided_status()

    def show_notice(self, text: str, important: bool = False,
                    offer_restore: bool = False) -> None:
        """A notice for the user: in the status bar (elided, full text in its tooltip), and,
        when ``important``, also in a banner above the content that stays until dismissed
        (and a dialog once the window is up, when interactive). ``offer_restore`` puts a
        "Restore newest backup…" button on the banner (a damaged database was moved aside)."""
        if important:
            self.notice_banner.show_text(text, RESTORE_ACTION if offer_restore else "")
            self.show_status(text, 15000)
            if self.interactive:
                QTimer.singleShot(0, self, self._show_important_notice)
        else:
            self.show_status(text, 8000)

    @Slot(str, bool)
    def show_damaged_notice(self, text: str, can_restore: bool) -> None:
        """The conversation database was damaged and moved aside: a banner that stays, with
        "Restore newest backup…" when there is a backup to restore."""
        self.show_notice(text, important=True, offer_restore=can_restore)

    @Slot()
    def _show_important_notice(self) -> None:
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, self.notice_banner.text(),
                          parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # paths and server text, verbatim
        box.addButton(QMessageBox.StandardButton.Ok)
        box.exec()

    def status_text(self) -> str:
        """The full text of the status message shown, or ""."""
        return self._status_full

    def _status_room(self) -> int:
        bar = self.statusBar()
        room = bar.width() - 24  # size grip and margins
        if self.connection_label.isVisible():
            room -= self.connection_label.width() + 12
        return max(room, 40)

    def _show_elided_status(self) -> None:
        bar = self.statusBar()
        full = " ".join(self._status_full.split())  # one line: the bar shows one
        shown = bar.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight,
                                             self._status_room())
        self._status_shown = shown
        bar.showMessage(shown)
        bar.setToolTip(plain_tooltip(self._status_full) if shown != full else "")

    @Slot()
    def _clear_status(self) -> None:
        self._status_full = ""
        if self.statusBar().currentMessage() == self._status_shown:
            self.statusBar().clearMessage()

    @Slot(str)
    def _on_status_message_changed(self, message: str) -> None:
        # Something else (a menu's status tip) replaced our message: drop its tooltip.
        if message != self._status_shown or not message:
            self.statusBar().setToolTip("")
            if not message:
                self._status_shown = ""

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-elide the status message for the new width."""
        super().resizeEvent(event)
        if getattr(self, "_status_full", "") and (
                self.statusBar().currentMessage() == self._status_shown):
            self._show_elided_status()

    @Slot(str)
    def set_conversation_title(self, title: str | None) -> None:
        """Put the open conversation's title in the window title (and offer the actions on
        a conversation only while one is open)."""
        self.setWindowTitle(f"{plain_window_title(title)} — {APP_NAME}" if title else APP_NAME)
        self._update_actions()

    # -- geometry ----------------------------------------------------------------------------

    def restore_state(self) -> None:
        """Restore geometry, window state and splitter sizes from the settings, if any."""
        if self._settings is None:
            return
        geometry = self._settings.window_geometry
        if geometry:
            self.restoreGeometry(geometry)
        state = self._settings.window_state
        if state:
            self.restoreState(state)
        sizes = self._settings.splitter_sizes
        if sizes and len(sizes) == self.splitter.count() and sum(sizes) > 0:
            # Apply after layout, else the splitter rescales them to its initial width.
            self._restored_sizes = sizes
            self.splitter.setSizes(sizes)
            QTimer.singleShot(0, self, self._apply_restored_sizes)

    @Slot()
    def _apply_restored_sizes(self) -> None:
        if self._restored_sizes:
            self.splitter.setSizes(self._restored_sizes)

    def save_state(self) -> None:
        """Write geometry, window state and splitter sizes to the settings, if any."""
        if self._settings is None:
            return
        self._settings.window_geometry = self.saveGeometry()
        self._settings.window_state = self.saveState()
        self._settings.splitter_sizes = self.splitter.sizes()
        sync = getattr(self._settings, "sync", None)
        if callable(sync):
            sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask ``close_guard`` (closing may have to wait), remember the layout, close."""
        if self.close_guard is not None and not self.close_guard():
            event.ignore()  # put off: the guard closes the window again when it may
            return
        self.save_state()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._guard)
        super().closeEvent(event)
