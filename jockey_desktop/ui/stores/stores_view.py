"""The stores view: a window to create, edit and delete knowledge stores, see and remove
their videos, group them in collections, and upload more (drop files or folders on it or on
a store, "Add videos…", "Add folder…", "Add from URL…") with the upload queue below.

Built the first time it is opened. It shows what it is given (``set_stores``,
``show_items``, ``show_collections``, the queue panel) and says what the user asked through
its ``sig_*`` signals; the wiring connects those to the controllers. Every question to the
user is a non-blocking dialog (``open()``), kept in ``active_dialog`` while it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.storage.models import UploadState
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.uploads import ItemRow
from jockey_desktop.ui.models.store_model import StoreIdRole, StoreListModel, StoreRole
from jockey_desktop.ui.store_picker import StoreDelegate
from jockey_desktop.ui.stores.drops import FileDropFilter
from jockey_desktop.ui.stores.models import CollectionsModel, ItemsModel, RecordRole, SortRole
from jockey_desktop.ui.stores.store_dialog import StoreDialog
from jockey_desktop.ui.stores.uploads_panel import UploadsPanel
from jockey_desktop.ui.theme import plain_tooltip, repolish

#: File-dialog filter of what a store takes (the same extensions the queue checks).
VIDEO_FILTER = ("Videos and images (*.mp4 *.m4v *.mov *.qt *.mkv *.webm *.avi *.wmv *.flv "
                "*.mpeg *.mpg *.3gp *.ts *.mts *.m2ts *.ogv *.jpg *.jpeg *.png *.webp *.bmp "
                "*.tif *.tiff);;All files (*)")


_Dialog = TypeVar("_Dialog", bound=QDialog)

#: The videos tab of a store without videos, and of no store at all (nothing takes a drop).
NO_VIDEOS_TEXT = "No videos yet. Drop video files or a folder here, or use Add videos…"
NO_STORE_TEXT = "Videos go into a knowledge store: create one with New store… first."
#: Adding videos (a menu item, a drop) with no store shown.
NO_STORE_FOR_VIDEOS = "Create or choose a knowledge store first."


def delete_store_text(store: StoreSummary) -> str:
    """The delete confirmation's text: every item goes with the store."""
    count = store.item_count
    noun = "video" if count == 1 else "videos"
    items = (f"All {count} {noun} in it are deleted with it" if count
             else "Everything in it is deleted with it")
    return (f"{items}, and conversations about it can no longer be continued. This cannot "
            "be undone.")


class StoresView(QWidget):
    """The stores window (see the module docstring)."""

    sig_refresh_requested = Signal()
    #: The shown store changed: load its items and collections.
    sig_store_shown = Signal(str)
    sig_create_store = Signal(str, str, object)
    #: (store id, name, description, metadata): only what changed is sent by the wiring.
    sig_update_store = Signal(str, str, str, object)
    #: Read a store (its metadata) before its edit dialog opens.
    sig_edit_requested = Signal(str)
    sig_delete_store = Signal(str)
    #: (store id, local paths) — dropped or chosen files and folders.
    sig_add_paths = Signal(str, object)
    #: (store id, url) — a public http(s) address for the server to fetch.
    sig_add_url = Signal(str, str)
    sig_refresh_items = Signal(str)
    sig_remove_items = Signal(str, object)
    #: Play an item in the player: (store id, item id).
    sig_play_item = Signal(str, str, str)
    #: Ask the next question about these: (store id, list of (kind, id, name)).
    sig_ask_about = Signal(str, object)
    sig_create_collection = Signal(str, str)
    sig_rename_collection = Signal(str, str, str)
    sig_delete_collection = Signal(str, str)
    #: A collection was chosen in the list: load its members.
    sig_collection_shown = Signal(str, str)
    sig_add_to_collection = Signal(str, str, object)
    sig_remove_from_collection = Signal(str, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Knowledge stores")
        self.setAccessibleName("Knowledge stores")
        self.active_dialog: QDialog | None = None
        self._store_id: str | None = None
        #: A store asked for before the list holds it (just created).
        self._pending_id: str | None = None
        #: The summary last shown (a new one with other counts reloads the items).
        self._shown_summary: StoreSummary | None = None
        self._editing_id: str | None = None
        #: The message line explains the failed video selected (not a request's outcome).
        self._explaining = False
        self._members: dict[str, list[str]] = {}

        # -- the store list (left) -----------------------------------------------------------
        self.store_model = StoreListModel(self)
        self.store_list = QListView(self)
        self.store_list.setAccessibleName("Knowledge stores")
        self.store_list.setModel(self.store_model)
        self.store_list.setItemDelegate(StoreDelegate(self.store_list))
        self.store_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.store_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.store_list.selectionModel().currentChanged.connect(self._on_store_row)
        self.new_button = QPushButton("New store…", self)
        self.edit_button = QPushButton("Edit…", self)
        self.delete_button = QPushButton("Delete…", self)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip("Reload the stores and their videos")
        self.new_button.clicked.connect(self.open_new_store_dialog)
        self.edit_button.clicked.connect(self._edit_clicked)
        self.delete_button.clicked.connect(self.confirm_delete_store)
        self.refresh_button.clicked.connect(self._refresh_clicked)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        caption = QLabel("Stores", left)
        caption.setProperty("role", "muted")
        left_layout.addWidget(caption)
        left_layout.addWidget(self.store_list, 1)
        store_buttons = QHBoxLayout()
        store_buttons.addWidget(self.new_button)
        store_buttons.addWidget(self.edit_button)
        store_buttons.addWidget(self.delete_button)
        left_layout.addLayout(store_buttons)
        left.setMinimumWidth(240)

        # -- the store shown (right) ---------------------------------------------------------
        self.name_label = QLabel(self)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setAccessibleDescription("Store name")
        self.description_label = QLabel(self)
        self.description_label.setTextFormat(Qt.TextFormat.PlainText)
        self.description_label.setWordWrap(True)
        self.description_label.setProperty("role", "muted")
        self.counts_label = QLabel(self)
        self.counts_label.setTextFormat(Qt.TextFormat.PlainText)
        self.counts_label.setAccessibleDescription("Store readiness")
        self.warning_label = QLabel(self)
        self.warning_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warning_label.setWordWrap(True)
        self.warning_label.setProperty("role", "warning")
        self.warning_label.hide()
        self.add_videos_button = QPushButton("Add videos…", self)
        self.add_videos_button.setProperty("primary", True)
        self.add_folder_button = QPushButton("Add folder…", self)
        self.add_url_button = QPushButton("Add from URL…", self)
        self.add_videos_button.clicked.connect(self.choose_files)
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.add_url_button.clicked.connect(self.open_url_dialog)
        header_row = QHBoxLayout()
        header_row.addWidget(self.name_label, 1)
        header_row.addWidget(self.refresh_button)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_videos_button)
        add_row.addWidget(self.add_folder_button)
        add_row.addWidget(self.add_url_button)
        add_row.addStretch(1)

        # Videos tab
        self.items_model = ItemsModel(self)
        self.items_proxy = QSortFilterProxyModel(self)
        self.items_proxy.setSourceModel(self.items_model)
        self.items_proxy.setSortRole(SortRole)
        self.items_table = QTableView(self)
        self.items_table.setAccessibleName("Videos in the store")
        self.items_table.setModel(self.items_proxy)
        self.items_table.setSortingEnabled(True)
        self.items_table.sortByColumn(ItemsModel.ADDED, Qt.SortOrder.DescendingOrder)
        self.items_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.items_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.items_table.verticalHeader().hide()
        self.items_table.setShowGrid(False)
        self.items_table.setWordWrap(False)
        self.items_table.doubleClicked.connect(self._play_index)
        # Tab leaves the table (to Play and the rest) instead of walking its cells; Enter
        # plays the selected video and Delete asks to remove it, as a double click and the
        # buttons do.
        self.items_table.setTabKeyNavigation(False)
        for keys, slot in (((QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)),
                            self._play_selected),
                           ((QKeySequence(QKeySequence.StandardKey.Delete),),
                            self.confirm_remove_items)):
            action = QAction(self.items_table)
            action.setShortcuts(list(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self.items_table.addAction(action)
        header = self.items_table.horizontalHeader()
        header.setSectionResizeMode(ItemsModel.TITLE, QHeaderView.ResizeMode.Stretch)
        for column in (ItemsModel.DURATION, ItemsModel.SIZE, ItemsModel.STATUS,
                       ItemsModel.ADDED):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.items_empty = QLabel(NO_VIDEOS_TEXT, self)
        self.items_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.items_empty.setWordWrap(True)
        self.items_empty.setProperty("role", "muted")
        self.items_stack = QStackedWidget(self)
        self.items_stack.addWidget(self.items_table)
        self.items_stack.addWidget(self.items_empty)
        self.play_button = QPushButton("Play", self)
        self.play_button.setToolTip("Play the selected video in the player")
        self.remove_items_button = QPushButton("Remove from store…", self)
        self.to_collection_button = QToolButton(self)
        self.to_collection_button.setText("Add to collection")
        self.to_collection_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.to_collection_menu = QMenu(self.to_collection_button)
        self.to_collection_button.setMenu(self.to_collection_menu)
        self.ask_button = QPushButton("Ask about", self)
        self.ask_button.setToolTip("Ask the next question about the selected ready videos")
        self.ask_button.setAccessibleDescription(self.ask_button.toolTip())
        self.ask_button.clicked.connect(self._ask_about_selected)
        self.play_button.clicked.connect(self._play_selected)
        self.remove_items_button.clicked.connect(self.confirm_remove_items)
        item_buttons = QHBoxLayout()
        item_buttons.addWidget(self.play_button)
        item_buttons.addWidget(self.ask_button)
        item_buttons.addWidget(self.to_collection_button)
        item_buttons.addStretch(1)
        item_buttons.addWidget(self.remove_items_button)
        videos = QWidget(self)
        videos_layout = QVBoxLayout(videos)
        videos_layout.setContentsMargins(0, 6, 0, 0)
        videos_layout.addWidget(self.items_stack, 1)
        videos_layout.addLayout(item_buttons)
        self.items_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.items_table.selectionModel().selectionChanged.connect(self._explain_selected)

        # Collections tab
        self.collections_model = CollectionsModel(self)
        self.collections_list = QListView(self)
        self.collections_list.setAccessibleName("Collections")
        self.collections_list.setModel(self.collections_model)
        self.collections_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.collections_list.selectionModel().currentChanged.connect(self._on_collection_row)
        self.members_list = QListWidget(self)
        self.members_list.setAccessibleName("Videos in the collection")
        self.members_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.new_collection_button = QPushButton("New collection…", self)
        self.rename_collection_button = QPushButton("Rename…", self)
        self.delete_collection_button = QPushButton("Delete…", self)
        self.remove_member_button = QPushButton("Remove from collection", self)
        self.ask_collection_button = QPushButton("Ask about", self)
        self.ask_collection_button.setToolTip("Ask the next question about this collection")
        self.ask_collection_button.setAccessibleDescription(
            self.ask_collection_button.toolTip())
        self.ask_collection_button.clicked.connect(self._ask_about_collection)
        self.new_collection_button.clicked.connect(self.open_new_collection_dialog)
        self.rename_collection_button.clicked.connect(self.open_rename_collection_dialog)
        self.delete_collection_button.clicked.connect(self.confirm_delete_collection)
        self.remove_member_button.clicked.connect(self._remove_members)
        self.members_list.itemSelectionChanged.connect(self._update_buttons)
        collections = QWidget(self)
        collection_side = QVBoxLayout()
        collection_side.addWidget(self.collections_list, 1)
        collection_buttons = QHBoxLayout()
        collection_buttons.addWidget(self.new_collection_button)
        collection_buttons.addWidget(self.rename_collection_button)
        collection_buttons.addWidget(self.delete_collection_button)
        collection_side.addLayout(collection_buttons)
        member_side = QVBoxLayout()
        self.members_caption = QLabel("Choose a collection to see its videos.", self)
        self.members_caption.setTextFormat(Qt.TextFormat.PlainText)
        self.members_caption.setProperty("role", "muted")
        member_side.addWidget(self.members_caption)
        member_side.addWidget(self.members_list, 1)
        member_buttons = QHBoxLayout()
        member_buttons.addWidget(self.ask_collection_button)
        member_buttons.addStretch(1)
        member_buttons.addWidget(self.remove_member_button)
        member_side.addLayout(member_buttons)
        collections_layout = QHBoxLayout(collections)
        collections_layout.setContentsMargins(0, 6, 0, 0)
        collections_layout.addLayout(collection_side, 2)
        collections_layout.addLayout(member_side, 3)

        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("The store's videos and collections")
        self.tabs.addTab(videos, "Videos")
        self.tabs.addTab(collections, "Collections")

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(header_row)
        right_layout.addWidget(self.description_label)
        right_layout.addWidget(self.counts_label)
        right_layout.addWidget(self.warning_label)
        right_layout.addLayout(add_row)
        right_layout.addWidget(self.tabs, 1)

        top = QSplitter(Qt.Orientation.Horizontal, self)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(1, 1)
        # Room for a store row's counts ("8 videos · 6 ready · 1 indexing · 1 failed").
        top.setSizes([300, 620])
        top.setChildrenCollapsible(False)

        self.uploads = UploadsPanel(self)
        # A failed file's sentence is cut in its row: selecting it says it whole (also for
        # those who cannot hover for the tooltip).
        self.uploads.table.selectionModel().selectionChanged.connect(self._explain_upload)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.uploads)
        # The videos get most of the height (at 600 pixels the queue, mostly empty, left
        # room for three of them); the queue can be dragged taller while uploads run.
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([480, 180])
        self.splitter.setChildrenCollapsible(False)

        self.message_label = QLabel(self)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)  # server text
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleDescription("Last message")
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.message_label)

        close = QAction("Close", self)
        # Every binding of the platform's Close (Linux: Ctrl+W and Ctrl+F4), not only the first.
        close.setShortcuts(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        self.addAction(close)

        # Files dropped on a store row go to that store; anywhere else, to the store shown.
        self.drops = FileDropFilter(self)
        self.drops.watch(self.store_list.viewport())
        self.drops.watch(self)
        self.drops.sig_dropped.connect(self._on_drop)
        self.resize(980, 720)
        self._show_store(None)

    # -- what the controllers say ------------------------------------------------------------

    @Slot(object)
    def set_stores(self, stores: Sequence[StoreSummary]) -> None:
        """The store list (again, with fresh counts): the shown store stays shown."""
        wanted = self._pending_id or self._store_id
        self.store_model.set_stores(stores)
        row = self.store_model.row_for_store(wanted) if wanted else None
        if row is not None:
            self._pending_id = None
        elif self.store_model.rowCount():
            row = 0
        if row is None:
            self._show_store(None)
            return
        # One announcement for the row shown, not one from the selection and one here.
        selection = self.store_list.selectionModel()
        blocked = selection.blockSignals(True)
        self.store_list.setCurrentIndex(self.store_model.index(row, 0))
        selection.blockSignals(blocked)
        self._show_store(self.store_model.stores()[row])

    def select_store(self, store_id: str) -> bool:
        """Show a store (True when it is in the list)."""
        row = self.store_model.row_for_store(store_id)
        if row is None:
            self._pending_id = store_id  # shown once the list has it
            return False
        self.store_list.setCurrentIndex(self.store_model.index(row, 0))
        return True

    def current_store_id(self) -> str | None:
        """The store shown, or None."""
        return self._store_id

    @Slot(str, object)
    def show_items(self, store_id: str, rows: list[ItemRow]) -> None:
        """A store's items (ignored when another store is shown now)."""
        if store_id != self._store_id:
            return
        selected = set(self.selected_item_ids())
        self.items_model.set_rows(rows)
        self.items_empty.setText(NO_VIDEOS_TEXT)
        self.items_stack.setCurrentWidget(self.items_table if rows else self.items_empty)
        if selected:
            self.select_items(list(selected))
        self._refresh_members()
        self._update_buttons()

    @Slot(str, object)
    def show_collections(self, store_id: str, collections: list[Any]) -> None:
        """A store's collections."""
        if store_id != self._store_id:
            return
        current = self.current_collection()
        self.collections_model.set_rows(collections)
        self.to_collection_menu.clear()
        for collection in collections:
            action = self.to_collection_menu.addAction(collection.name)
            action.setData(collection.id)
            action.triggered.connect(self._add_to_collection_from_menu)
        if collections:
            self.to_collection_menu.addSeparator()
        self.to_collection_menu.addAction("New collection…", self.open_new_collection_dialog)
        if current is not None:
            self.select_collection(current.id)
        self._update_buttons()

    @Slot(str, str, object)
    def show_collection_items(self, store_id: str, collection_id: str,
                              item_ids: list[str]) -> None:
        """The members of a collection."""
        if store_id != self._store_id:
            return
        self._members[collection_id] = list(item_ids)
        self._refresh_members()

    @Slot(object)
    def store_saved(self, _store: object) -> None:
        """The server saved the store the open dialog sent: the dialog closes."""
        dialog = self.active_dialog
        if isinstance(dialog, StoreDialog) and dialog.is_saving():
            dialog.saved()

    @Slot(str)
    def store_not_saved(self, sentence: str) -> None:
        """The server did not save it: the open dialog says why, keeping what was typed."""
        dialog = self.active_dialog
        if isinstance(dialog, StoreDialog) and dialog.is_saving():
            dialog.not_saved(sentence)

    def show_failure(self, text: str) -> None:
        """A request failed: say why (kept until the next message)."""
        self._explaining = False
        self.message_label.setProperty("role", "error")
        self.message_label.setText(text)
        repolish(self.message_label)

    def show_notice(self, text: str) -> None:
        """Something done or worth knowing."""
        self._explaining = False
        self.message_label.setProperty("role", "muted")
        self.message_label.setText(text)
        repolish(self.message_label)

    # -- dialogs -------------------------------------------------------------------------------

    @Slot()
    def open_new_store_dialog(self) -> StoreDialog:
        """The "New knowledge store" dialog."""
        dialog = StoreDialog(self)
        dialog.sig_submitted.connect(self.sig_create_store)
        return self._open(dialog)

    def open_edit_dialog(self, store: Any) -> StoreDialog | None:
        """The edit dialog for a store read from the server (a ``KnowledgeStore``); only
        when it is the one asked for."""
        if store.id != self._editing_id:
            return None
        self._editing_id = None
        dialog = StoreDialog(self, name=store.name, description=store.description or "",
                             metadata=store.metadata, editing=True)
        store_id = store.id
        dialog.sig_submitted.connect(
            lambda name, description, metadata: self.sig_update_store.emit(
                store_id, name, description, metadata))
        return self._open(dialog)

    @Slot()
    def confirm_delete_store(self) -> QMessageBox | None:
        """Ask before deleting the shown store (every item goes with it)."""
        store = self._shown_store()
        if store is None:
            return None
        store_id = store.id
        return self._confirm(QMessageBox.Icon.Warning, "Delete knowledge store?",
                             f"Delete “{store.name}”?", delete_store_text(store),
                             "Delete store and videos",
                             lambda: self.sig_delete_store.emit(store_id))

    @Slot()
    def confirm_remove_items(self) -> QMessageBox | None:
        """Ask before removing the selected videos from the store."""
        ids = self.selected_item_ids()
        if not ids or self._store_id is None:
            return None
        count = len(ids)
        first = self.items_model.row_by_id(ids[0])
        what = f"“{first.title}”" if count == 1 and first else f"{count} videos"
        store_id = self._store_id
        return self._confirm(QMessageBox.Icon.Question, "Remove from store?",
                             f"Remove {what} from the store?",
                             "Answers will no longer use them. The uploaded files stay in "
                             "your account.", "Remove",
                             lambda: self.sig_remove_items.emit(store_id, ids))

    @Slot()
    def open_url_dialog(self, url: str = "", problem: str = "") -> QInputDialog | None:
        """Ask for a public http(s) address the server fetches; asked again with the
        ``url`` typed and the ``problem`` it had when it was refused."""
        store_id = self._store_id
        if store_id is None:
            self.show_failure(NO_STORE_FOR_VIDEOS)
            return None
        label = ("Address of a video or image (http:// or https://). The server downloads "
                 "it; it must be public.")
        return self._ask_text("Add from URL", f"{problem}\n\n{label}" if problem else label,
                              url, lambda typed: self.sig_add_url.emit(store_id, typed))

    @Slot()
    def open_new_collection_dialog(self) -> QInputDialog | None:
        """Ask for a new collection's name."""
        store_id = self._store_id
        if store_id is None:
            return None
        return self._ask_text("New collection", "Name of the collection:", "",
                              lambda name: self.sig_create_collection.emit(store_id, name))

    @Slot()
    def open_rename_collection_dialog(self) -> QInputDialog | None:
        """Ask for the selected collection's new name."""
        collection = self.current_collection()
        store_id = self._store_id
        if collection is None or store_id is None:
            return None
        cid = collection.id
        return self._ask_text("Rename collection", "New name:", collection.name,
                              lambda name: self.sig_rename_collection.emit(store_id, cid, name))

    @Slot()
    def confirm_delete_collection(self) -> QMessageBox | None:
        """Ask before deleting the selected collection (its videos stay in the store)."""
        collection = self.current_collection()
        store_id = self._store_id
        if collection is None or store_id is None:
            return None
        cid = collection.id
        return self._confirm(QMessageBox.Icon.Question, "Delete collection?",
                             f"Delete the collection “{collection.name}”?",
                             "Its videos stay in the store.", "Delete collection",
                             lambda: self.sig_delete_collection.emit(store_id, cid))

    @Slot()
    def choose_files(self) -> None:
        """"Add videos…": pick files for the shown store."""
        if self._store_id is None:
            self.show_failure(NO_STORE_FOR_VIDEOS)  # the Stores menu's item did nothing
            return
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, "Add videos", "", VIDEO_FILTER)
        if paths:
            self.add_paths(paths)

    @Slot()
    def choose_folder(self) -> None:
        """"Add folder…": every video and image of a folder, for the shown store."""
        if self._store_id is None:
            self.show_failure(NO_STORE_FOR_VIDEOS)
            return
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Add a folder of videos")
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: Sequence[str], store_id: str | None = None) -> None:
        """Upload files or folders to a store (the shown one by default)."""
        target = store_id or self._store_id
        if target is None:
            self.show_failure(NO_STORE_FOR_VIDEOS)
            return
        self.sig_add_paths.emit(target, list(paths))

    # -- selection -----------------------------------------------------------------------------

    def selected_item_ids(self) -> list[str]:
        """Ids of the selected videos."""
        rows = self.items_table.selectionModel().selectedRows()
        records = [self.items_proxy.mapToSource(i).data(RecordRole) for i in rows]
        return [r.id for r in records if r is not None]

    def select_items(self, item_ids: Sequence[str]) -> None:
        """Select videos by id."""
        selection = self.items_table.selectionModel()
        selection.clear()
        for row, item in enumerate(self.items_model.rows()):
            if item.id in item_ids:
                index = self.items_proxy.mapFromSource(self.items_model.index(row, 0))
                selection.select(index, selection.SelectionFlag.Select
                                 | selection.SelectionFlag.Rows)

    def current_collection(self) -> Any:
        """The collection chosen in the Collections tab, or None."""
        index = self.collections_list.currentIndex()
        return index.data(RecordRole) if index.isValid() else None

    def select_collection(self, collection_id: str) -> bool:
        """Choose a collection by id."""
        for row, collection in enumerate(self.collections_model.rows()):
            if collection.id == collection_id:
                self.collections_list.setCurrentIndex(self.collections_model.index(row, 0))
                return True
        return False

    # -- internals -----------------------------------------------------------------------------

    def _open(self, dialog: _Dialog) -> _Dialog:
        self.active_dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None
        dialog.deleteLater()

    def _confirm(self, icon: QMessageBox.Icon, title: str, text: str, details: str,
                 action: str, then: Callable[[], None]) -> QMessageBox:
        """A non-blocking question whose ``action`` button (destructive) runs ``then``;
        Cancel is the default. ``text`` may hold server names: shown as plain text."""
        box = QMessageBox(icon, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(details)
        act = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: then() if button is act else None)
        return self._open(box)

    def _ask_text(self, title: str, label: str, text: str,
                  then: Callable[[str], None]) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextValue(text)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.textValueSelected.connect(
            lambda value: then(value.strip()) if value.strip() else None)
        return self._open(dialog)

    def _shown_store(self) -> StoreSummary | None:
        row = self.store_model.row_for_store(self._store_id) if self._store_id else None
        return self.store_model.stores()[row] if row is not None else None

    def _show_store(self, store: StoreSummary | None) -> None:
        changed = (store.id if store else None) != self._store_id
        if changed:
            self._clear_explanation()  # it was about a video of the store shown before
        self._store_id = store.id if store else None
        has_store = store is not None
        for widget in (self.edit_button, self.delete_button, self.add_videos_button,
                       self.add_folder_button, self.add_url_button, self.tabs):
            widget.setEnabled(has_store)
        if store is None:
            self._shown_summary = None
            self.name_label.setText("No knowledge store yet" if not self.store_model.rowCount()
                                    else "Choose a knowledge store")
            self.description_label.setText("Create one with New store…, then drop videos "
                                           "on it.")
            self.description_label.show()  # hidden by a store without a description
            self.counts_label.clear()
            self.warning_label.hide()
            self.items_model.set_rows([])
            self.items_empty.setText(NO_STORE_TEXT)
            self.items_stack.setCurrentWidget(self.items_empty)
            self.collections_model.set_rows([])
            self._update_buttons()
            return
        from jockey_desktop.presentation.store_counts import readiness_label, store_counts_text

        self.name_label.setText(store.name)
        self.description_label.setText(store.description)
        self.description_label.setVisible(bool(store.description))
        self.counts_label.setText(f"{store_counts_text(store)} · "
                                  f"{readiness_label(store)}")
        warning = store.warning
        self.warning_label.setText(warning or "")
        self.warning_label.setVisible(bool(warning))
        if changed:
            self.items_model.set_rows([])
            # Until its list arrives, a store with videos is not said to have none.
            self.items_empty.setText(NO_VIDEOS_TEXT if store.item_count == 0 else "")
            self.items_stack.setCurrentWidget(self.items_empty)
            self.collections_model.set_rows([])
            self._members.clear()
            self.members_list.clear()
            self.sig_store_shown.emit(store.id)
        elif store != self._shown_summary:
            # New counts (an upload, indexing moving on): the item list is read again.
            self.sig_refresh_items.emit(store.id)
        self._shown_summary = store
        self._update_buttons()

    def _refresh_members(self) -> None:
        collection = self.current_collection()
        self.members_list.clear()
        if collection is None:
            self.members_caption.setText("Choose a collection to see its videos.")
            return
        ids = self._members.get(collection.id)
        if ids is None:
            self.members_caption.setText(f"Loading “{collection.name}”…")
            return
        noun = "video" if len(ids) == 1 else "videos"
        self.members_caption.setText(f"“{collection.name}” · {len(ids)} {noun}")
        for item_id in ids:
            row = self.items_model.row_by_id(item_id)
            entry = QListWidgetItem(row.title if row else item_id)
            entry.setData(Qt.ItemDataRole.UserRole, item_id)
            entry.setToolTip(plain_tooltip(row.title if row else item_id))
            self.members_list.addItem(entry)
        self._update_buttons()

    @Slot(QModelIndex, QModelIndex)
    def _on_store_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        store = current.data(StoreRole) if current.isValid() else None
        if store is not None and store.id != self._store_id:
            self._show_store(store)

    @Slot(QModelIndex, QModelIndex)
    def _on_collection_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        collection = current.data(RecordRole) if current.isValid() else None
        self._refresh_members()
        if collection is not None and self._store_id is not None:
            self.sig_collection_shown.emit(self._store_id, collection.id)
        self._update_buttons()

    @Slot()
    def _edit_clicked(self) -> None:
        if self._store_id is not None:
            self._editing_id = self._store_id
            self.sig_edit_requested.emit(self._store_id)

    @Slot()
    def _refresh_clicked(self) -> None:
        self.sig_refresh_requested.emit()
        if self._store_id is not None:
            self.sig_store_shown.emit(self._store_id)

    @Slot(QModelIndex)
    def _play_index(self, index: QModelIndex) -> None:
        record = self.items_proxy.mapToSource(index).data(RecordRole)
        if record is not None and self._store_id is not None:
            self.sig_play_item.emit(self._store_id, record.id, record.title)

    @Slot()
    def _play_selected(self) -> None:
        rows = self.items_table.selectionModel().selectedRows()
        records = [self.items_proxy.mapToSource(i).data(RecordRole) for i in rows]
        record = next((r for r in records if r is not None), None)
        if record is not None and self._store_id is not None:
            self.sig_play_item.emit(self._store_id, record.id, record.title)

    @Slot()
    def _ask_about_selected(self) -> None:
        rows = [self.items_model.row_by_id(i) for i in self.selected_item_ids()]
        chosen = [("item", r.id, r.title) for r in rows if r is not None
                  and r.raw_status == "ready"]
        if chosen and self._store_id is not None:
            self.sig_ask_about.emit(self._store_id, chosen)

    @Slot()
    def _ask_about_collection(self) -> None:
        collection = self.current_collection()
        if collection is not None and self._store_id is not None:
            self.sig_ask_about.emit(self._store_id,
                                    [("collection", collection.id, collection.name)])

    @Slot()
    def _add_to_collection_from_menu(self) -> None:
        action = self.sender()
        ids = self.selected_item_ids()
        if isinstance(action, QAction) and ids and self._store_id is not None:
            self.sig_add_to_collection.emit(self._store_id, str(action.data()), ids)

    @Slot()
    def _remove_members(self) -> None:
        collection = self.current_collection()
        ids = [i.data(Qt.ItemDataRole.UserRole) for i in self.members_list.selectedItems()]
        if collection is not None and ids and self._store_id is not None:
            self.sig_remove_from_collection.emit(self._store_id, collection.id, ids)

    @Slot(object, object, QPoint)
    def _on_drop(self, paths: list[str], widget: object, position: QPoint) -> None:
        target = None
        if widget is self.store_list.viewport():
            index = self.store_list.indexAt(position)
            target = index.data(StoreIdRole) if index.isValid() else None
        if target is not None:
            self.select_store(target)
        self.add_paths(paths, target)

    @Slot()
    def _explain_selected(self) -> None:
        """A failed video, selected, says why (what the API said, when it said anything);
        the sentence goes once that video is no longer the one selected."""
        ids = self.selected_item_ids()
        row = self.items_model.row_by_id(ids[0]) if len(ids) == 1 else None
        if row is not None and row.raw_status == "failed":
            self.show_failure(f"“{row.title}” failed. {row.detail}")
            self._explaining = True
        else:
            self._clear_explanation()

    @Slot()
    def _explain_upload(self) -> None:
        """A failed upload, selected, says why in full."""
        ids = self.uploads.selected_ids()
        row = next((r for r in self.uploads.model.rows() if r.id in ids), None) \
            if len(ids) == 1 else None
        if row is not None and row.state is UploadState.FAILED and row.error_message:
            self.show_failure(row.error_message)
            self._explaining = True
        else:
            self._clear_explanation()

    def _clear_explanation(self) -> None:
        if self._explaining:
            self._explaining = False
            self.message_label.clear()

    @Slot()
    def _update_buttons(self) -> None:
        items = bool(self.selected_item_ids())
        ready = [self.items_model.row_by_id(i) for i in self.selected_item_ids()]
        # Only a ready video can scope an answer (the others are not indexed yet).
        self.ask_button.setEnabled(any(r is not None and r.raw_status == "ready"
                                       for r in ready))
        self.play_button.setEnabled(items)
        self.remove_items_button.setEnabled(items)
        self.to_collection_button.setEnabled(items)
        collection = self.current_collection() is not None
        self.rename_collection_button.setEnabled(collection)
        self.ask_collection_button.setEnabled(collection)
        self.delete_collection_button.setEnabled(collection)
        self.remove_member_button.setEnabled(collection
                                             and bool(self.members_list.selectedItems()))
