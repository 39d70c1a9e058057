"""Wiring of the stores feature: the upload queue, store management, the stores view (built
on first use), drops on the main window, the Stores menu, the status-bar indicator and the
notification when a batch has finished indexing.

``install_stores_feature(desktop)`` is the one call ``app.py`` makes, just after the first
paint (or at the feature's first use); it builds and connects, and decides nothing beyond
where a message goes. The Stores menu is the window's (shown from the start; its actions are
connected here); the controllers, the indicator (hidden until uploads run) and the drop filter
are built here, and the queue left by the last run resumes once the client is known; the view
and its dialogs wait until the user opens them. ``StoresFeature.sig_play_item(store_id,
item_id, title)`` goes to the player (``PlayerFeature.play_item``); the batch notification goes
through the app's one notifier (``NotificationsController.tell``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Signal, Slot

from jockey_desktop.controllers.stores import StoreManager
from jockey_desktop.controllers.uploads import BatchOutcome, UploadsController
from jockey_desktop.presentation.uploads import batch_message
from jockey_desktop.startup import follow_client
from jockey_desktop.ui.stores.drops import FileDropFilter
from jockey_desktop.ui.stores.indicator import UploadsIndicator

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.ui.stores.stores_view import StoresView


class StoresFeature(QObject):
    """The stores feature's parts and the few decisions of where things are shown."""

    #: Play a store item in the player: (store id, item id, title).
    sig_play_item = Signal(str, str, str)

    def __init__(self, desktop: JockeyDesktop) -> None:
        super().__init__(desktop)
        self._desktop = desktop
        self.window = desktop.window
        self.stores = desktop.stores
        self.uploads = UploadsController(desktop.repo, desktop.storage_runner, desktop.runner,
                                         store_name=self._store_name, parent=self)
        if desktop.options.interactive:
            from jockey_desktop.ui.stores.prompts import DialogPrompts

            self.uploads.prompts = DialogPrompts(self.window)
        self.manager = StoreManager(desktop.runner, parent=self)
        self.indicator = UploadsIndicator(self.window)
        self.drops = FileDropFilter(self)
        self._view: StoresView | None = None

    # -- parts built on first use ------------------------------------------------------------

    @property
    def view(self) -> StoresView:
        """The stores window, built (and wired) the first time it is needed."""
        if self._view is None:
            from jockey_desktop.ui.stores.stores_view import StoresView

            view = StoresView(self.window)
            self._wire_view(view)
            self._view = view
            view.set_stores(self.stores.stores())
            view.uploads.set_rows(self.uploads.uploads())
            view.uploads.set_progress(self.uploads.progress())
            self._update_store_names()
        return self._view

    # -- user actions --------------------------------------------------------------------------

    @Slot()
    def open(self, store_id: str | None = None) -> StoresView:
        """Show the stores window (on ``store_id``, or the store picked in the main window)."""
        view = self.view
        wanted = store_id or self._picked_store_id()
        if wanted:
            view.select_store(wanted)
        view.show()
        view.raise_()
        view.activateWindow()
        return view

    @Slot()
    def add_videos(self) -> None:
        """"Add videos…" for the store picked in the main window."""
        view = self.open()
        view.choose_files()

    @Slot()
    def add_url(self) -> None:
        """"Add from URL…" for the store picked in the main window."""
        self.open().open_url_dialog()

    def shutdown(self) -> None:
        """Stop the uploads (the queue resumes at the next start)."""
        self.uploads.shutdown()

    # -- wiring --------------------------------------------------------------------------------

    def install(self) -> None:
        """Connect the controllers, the main window and the menu."""
        desktop, window, uploads, manager = self._desktop, self.window, self.uploads, \
            self.manager
        conn = desktop.connection
        # The last run's queue resumes with the client, on the rows of its server only.
        follow_client(conn, lambda client: uploads.set_client(client, conn.server_identity()))
        follow_client(conn, manager.set_client)
        # A restore or a damaged file moved aside replaced the database: read the queue again.
        desktop.feed.sig_changed.connect(uploads.on_changes)
        uploads.sig_store_changed.connect(self.stores.refresh_store)
        uploads.sig_notice.connect(window.show_transient)
        uploads.sig_refused.connect(self._refused)
        uploads.sig_error.connect(self._upload_error)
        uploads.sig_batch_finished.connect(self._batch_finished)
        uploads.sig_progress.connect(self.indicator.set_progress)
        manager.sig_store_saved.connect(self._store_saved)
        manager.sig_store_deleted.connect(self._store_deleted)
        manager.sig_items_changed.connect(self.stores.refresh_store)
        manager.sig_notice.connect(window.show_transient)
        self.stores.sig_stores_loaded.connect(self._stores_loaded)
        window.statusBar().addPermanentWidget(self.indicator)
        self.indicator.sig_clicked.connect(self.open)
        self.drops.watch(window)
        # The question box takes text drops itself: a dropped file is an upload there too.
        self.drops.watch(window.chat_pane.composer.edit.viewport())
        self.drops.sig_dropped.connect(self._dropped_on_window)
        window.store_picker.sig_manage_requested.connect(self.open)
        self._add_menu()

    def _add_menu(self) -> None:
        window = self.window
        self.menu = window.stores_menu
        self.action_manage = window.action_manage_stores
        self.action_add = window.action_add_videos
        self.action_url = window.action_add_url
        self.action_manage.triggered.connect(self._open_from_menu)
        self.action_add.triggered.connect(self.add_videos)
        self.action_url.triggered.connect(self.add_url)

    def _wire_view(self, view: StoresView) -> None:
        uploads, manager = self.uploads, self.manager
        view.sig_refresh_requested.connect(self.stores.refresh)
        view.sig_store_shown.connect(manager.load_items)
        view.sig_store_shown.connect(manager.load_collections)
        view.sig_refresh_items.connect(manager.load_items)
        view.sig_create_store.connect(manager.create_store)
        view.sig_update_store.connect(self._update_store)
        view.sig_edit_requested.connect(manager.load_store)
        view.sig_delete_store.connect(manager.delete_store)
        view.sig_add_paths.connect(uploads.add_paths)
        view.sig_add_url.connect(self._add_url)
        view.sig_remove_items.connect(manager.remove_items)
        view.sig_play_item.connect(self.sig_play_item)
        view.sig_ask_about.connect(self._ask_about)
        view.sig_create_collection.connect(manager.create_collection)
        view.sig_rename_collection.connect(manager.rename_collection)
        view.sig_delete_collection.connect(manager.delete_collection)
        view.sig_collection_shown.connect(manager.load_collection_items)
        view.sig_add_to_collection.connect(manager.add_to_collection)
        view.sig_remove_from_collection.connect(manager.remove_from_collection)
        manager.sig_store_loaded.connect(view.open_edit_dialog)
        manager.sig_store_saved.connect(view.store_saved)
        manager.sig_store_not_saved.connect(view.store_not_saved)
        manager.sig_items_loaded.connect(view.show_items)
        manager.sig_collections_loaded.connect(view.show_collections)
        manager.sig_collection_items_loaded.connect(view.show_collection_items)
        manager.sig_failed.connect(view.show_failure)
        manager.sig_notice.connect(view.show_notice)
        panel = view.uploads
        uploads.sig_rows_reset.connect(panel.set_rows)
        uploads.sig_rows_changed.connect(panel.upsert)
        uploads.sig_rows_removed.connect(panel.remove)
        uploads.sig_progress.connect(panel.set_progress)
        uploads.sig_refused.connect(view.show_failure)
        uploads.sig_error.connect(view.show_failure)
        uploads.sig_notice.connect(view.show_notice)
        panel.sig_pause.connect(uploads.pause)
        panel.sig_resume.connect(uploads.resume)
        panel.sig_cancel.connect(uploads.cancel)
        panel.sig_retry.connect(uploads.retry)
        panel.sig_remove.connect(uploads.remove)
        panel.sig_clear_finished.connect(uploads.clear_finished)

    # -- where things go -----------------------------------------------------------------------

    def _store_name(self, store_id: str) -> str:
        store = self.stores.store(store_id)
        return store.name if store is not None else "the store"

    def _picked_store_id(self) -> str | None:
        store = self.window.store_picker.current_store()
        return store.id if store is not None else None

    def _update_store_names(self) -> None:
        if self._view is not None:
            self._view.uploads.set_store_names({s.id: s.name for s in self.stores.stores()})

    @Slot(object)
    def _stores_loaded(self, stores: object) -> None:
        if self._view is not None:
            self._view.set_stores(list(stores) if isinstance(stores, list) else [])
            self._update_store_names()

    @Slot()
    def _open_from_menu(self) -> None:
        self.open()

    @Slot(object)
    def _store_saved(self, store: Any) -> None:
        if self._view is not None:
            self._view.select_store(store.id)
        self.stores.refresh()

    @Slot(str)
    def _store_deleted(self, store_id: str) -> None:
        self.window.show_transient("Knowledge store deleted.")
        self.stores.refresh()

    @Slot(str, str, str, object)
    def _update_store(self, store_id: str, name: str, description: str,
                      metadata: object) -> None:
        self.manager.update_store(store_id, name=name, description=description,
                                  metadata=metadata if isinstance(metadata, dict) else None)

    @Slot(str, object)
    def _ask_about(self, store_id: str, chosen: object) -> None:
        """"Ask about": chips in the main window's question box (the next question is on
        that store), and the window comes forward to type it."""
        for kind, selection_id, name in chosen if isinstance(chosen, list) else []:
            self._desktop.workspace.add_selection(kind, selection_id, name, store_id=store_id)
        self.window.raise_()
        self.window.activateWindow()

    @Slot(str, str)
    def _add_url(self, store_id: str, url: str) -> None:
        refused = self.uploads.add_url(store_id, url)
        if refused and self._view is not None:
            self._view.show_failure(refused)
            # Asked again with the address as typed: a wrong scheme is fixed, not retyped.
            self._view.open_url_dialog(url, refused)

    @Slot(object, object, QPoint)
    def _dropped_on_window(self, paths: object, _widget: object, _position: QPoint) -> None:
        store_id = self._picked_store_id()
        if store_id is None:
            self.window.show_transient("Choose or create a knowledge store first, then drop "
                                       "the videos again.")
            self.open()
            return
        self.uploads.add_paths(store_id, list(paths) if isinstance(paths, list) else [])

    @Slot(str)
    def _refused(self, text: str) -> None:
        self.window.show_transient(text)

    @Slot(str)
    def _upload_error(self, text: str) -> None:
        self.window.show_notice(text, important=True)

    @Slot(object)
    def _batch_finished(self, outcome: BatchOutcome) -> None:
        text = batch_message(outcome.ready, outcome.failed, self._store_name(outcome.store_id))
        self.window.show_transient(text)
        if self._view is not None:
            self._view.show_notice(text)
        view_active = self._view is not None and self._view.isActiveWindow()
        if not self.window.isActiveWindow() and not view_active:
            self._desktop.notifications.tell(
                "Videos ready" if outcome.ready else "Upload finished", text)


def install_stores_feature(desktop: JockeyDesktop) -> StoresFeature:
    """Build and wire the stores feature for a desktop (``app.py`` calls this once)."""
    feature = StoresFeature(desktop)
    feature.install()
    return feature
