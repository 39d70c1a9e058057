"""The knowledge stores: their list and readiness (``StoresController``) and managing them
(``StoreManager``: stores, items and collections), every call off the GUI thread.

A refresh lists the stores on a worker, shows them at once (counts unknown yet), then counts
each store's items by status on workers (``summarize_store``) and publishes the list again as
the counts arrive. A newer refresh supersedes an older one: results tagged with an old
generation are dropped. While items index, ``refresh_store`` recounts one store and
publishes the list again, so the picker shows readiness live. The last chosen store is
remembered in ``AppSettings``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.core.errors import NO_CLIENT_TEXT, ErrorCode, describe_error
from jockey_desktop.core.ports import FullApiClient, Handle, Runner, StoreApiClient
from jockey_desktop.core.store_summary import StoreSummary, summarize_store
from jockey_desktop.settings import AppSettings

if TYPE_CHECKING:
    from jockey_desktop.core.api import KnowledgeStore
    from jockey_desktop.presentation.uploads import ItemRow

log = logging.getLogger(__name__)


def _initial_summary(store: KnowledgeStore) -> StoreSummary:
    return StoreSummary(
        id=str(store.id),
        name=str(store.name or store.id),
        description=str(store.description or ""),
        item_count=int(store.item_count or 0),
    )


def _recount(client: StoreApiClient, store_id: str) -> StoreSummary:
    """A store's summary, read afresh (worker thread)."""
    return summarize_store(client, client.get_knowledge_store(store_id))


class StoresController(QObject):
    """Lists stores with item readiness; results by ``sig_stores_loaded`` (first the list,
    then again with counts) or ``sig_stores_failed(reason)``."""

    sig_stores_loaded = Signal(object)  # list[StoreSummary]
    sig_stores_failed = Signal(str)
    sig_loading = Signal()
    #: Whether the server refused the key in use for the list (True), or listed the stores
    #: after such a refusal (False): the settings dialog says so next to the key field.
    sig_key_refused = Signal(bool)

    def __init__(
        self,
        runner: Runner,
        client: FullApiClient | None = None,
        settings: AppSettings | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._client = client
        self._settings = settings
        self._generation = 0
        self._stores: list[StoreSummary] = []
        self._outstanding = 0
        # True from refresh() until the list itself arrives (or fails): the stores of the
        # previous refresh are not the answer to this one.
        self._listing = False
        # The last completed listing, with the client in use, succeeded: a store not in it
        # is known to be gone (not merely unlisted because the list is loading or failed).
        self._listed = False
        self._key_refused = False
        self._handles: list[Handle] = []
        # One recount per store at a time; a change meanwhile asks for one more after it.
        self._recounting: set[str] = set()
        self._recount_again: set[str] = set()

    @Slot(object)
    def set_client(self, client: FullApiClient | None) -> None:
        """Use another client (key or server changed) and reload the list with it."""
        self._client = client
        self._listed = False
        self._tell_key_refused(False)  # another key (or none): not refused so far
        if client is not None:
            self.refresh()

    @Slot(str)
    def refresh_store(self, store_id: str) -> None:
        """Recount one store's items (an upload changed them) and publish the list again;
        a store not listed yet (just created) reloads the whole list."""
        if self._client is None:
            return
        if self.store(store_id) is None:
            if not self.is_loading():
                self.refresh()
            return
        if store_id in self._recounting:
            self._recount_again.add(store_id)
            return
        self._recounting.add(store_id)
        generation = self._generation
        self._handles.append(self._runner.submit(
            _recount, cast("StoreApiClient", self._client), store_id,
            on_success=partial(self._recounted, generation, store_id),
            on_error=partial(self._recount_failed, generation, store_id)))

    def _recounted(self, generation: int, store_id: str, summary: StoreSummary) -> None:
        self._recounting.discard(store_id)
        if generation == self._generation and self.store(store_id) is not None:
            self._stores = [summary if s.id == store_id else s for s in self._stores]
            if not self.is_loading():
                self.sig_stores_loaded.emit(list(self._stores))
        self._recount_next(store_id)

    def _recount_failed(self, generation: int, store_id: str, error: BaseException) -> None:
        self._recounting.discard(store_id)
        log.info("recounting the items of %s failed: %s", store_id, type(error).__name__)
        self._recount_next(store_id)

    def _recount_next(self, store_id: str) -> None:
        if store_id in self._recount_again:
            self._recount_again.discard(store_id)
            self.refresh_store(store_id)

    def stores(self) -> list[StoreSummary]:
        """The stores of the last refresh."""
        return list(self._stores)

    def store(self, store_id: str) -> StoreSummary | None:
        """One store of the last refresh, by id."""
        return next((s for s in self._stores if s.id == store_id), None)

    def is_gone(self, store_id: str) -> bool:
        """True when the server's list of stores, read successfully with the client in use,
        does not have this store: it was deleted (or belongs to another server)."""
        return self._listed and self.store(store_id) is None

    def last_store_id(self) -> str | None:
        """The store chosen last time (from AppSettings)."""
        return self._settings.last_store_id if self._settings is not None else None

    def remember_store(self, store_id: str) -> None:
        """Save the chosen store for the next run."""
        if self._settings is not None and store_id:
            self._settings.last_store_id = store_id

    def first_ready_store(self) -> StoreSummary | None:
        """The first store with ready items (self-test and a sensible default)."""
        return next((s for s in self._stores if s.ready > 0), None)

    def is_loading(self) -> bool:
        """True while a refresh is still listing the stores or counting their items."""
        return self._listing or self._outstanding > 0

    def refresh(self) -> None:
        """Reload the list; results by ``sig_stores_loaded`` / ``sig_stores_failed``."""
        for handle in self._handles:
            handle.cancel()
        self._handles = []
        self._generation += 1
        self._outstanding = 0
        self._listing = False
        if self._client is None:
            self._listed = False
            self.sig_stores_failed.emit(NO_CLIENT_TEXT)
            return
        self._listing = True
        self.sig_loading.emit()
        self._handles.append(self._runner.submit(
            self._client.list_knowledge_stores, on_success=self._on_listed,
            on_error=self._on_list_failed))

    def _on_listed(self, listed: list[KnowledgeStore]) -> None:
        stores = list(listed)
        generation = self._generation
        self._stores = [_initial_summary(s) for s in stores]
        self._listing = False
        self._listed = True
        self._tell_key_refused(False)
        # Set before the preliminary list goes out, so its listeners see it is not final.
        self._outstanding = len(stores)
        self.sig_stores_loaded.emit(list(self._stores))
        client = self._client
        for store in stores:
            # Plain callables, not one QObject per store: the runner calls them on the GUI
            # thread. Per-store child QObjects that deleteLater() themselves while holding
            # their parent formed a wrapper cycle; freeing it (GC, or the parent going away
            # with deferred deletes still queued) crashed the event loop now and then.
            store_id = str(store.id)
            self._handles.append(self._runner.submit(
                summarize_store, client, store,
                on_success=partial(self._summary_arrived, generation, store_id),
                on_error=partial(self._summary_failed, generation, store_id)))

    def _on_list_failed(self, error: BaseException) -> None:
        self._listing = False
        self._listed = False
        info = describe_error(error)
        log.warning("listing knowledge stores failed: %s", info.code)
        self._tell_key_refused(info.code is ErrorCode.AUTH)
        # Only the reason: the store picker puts its own "Could not load knowledge stores"
        # in front, and two leads read as a stutter.
        self.sig_stores_failed.emit(info.message)

    def _tell_key_refused(self, refused: bool) -> None:
        if refused != self._key_refused:
            self._key_refused = refused
            self.sig_key_refused.emit(refused)

    def _summary_failed(self, generation: int, store_id: str, error: BaseException) -> None:
        self._summary_arrived(generation, store_id, None, error)

    def _summary_arrived(self, generation: int, store_id: str, summary: StoreSummary | None,
                         error: BaseException | None = None) -> None:
        if generation != self._generation:
            return  # a newer refresh is under way
        self._outstanding = max(0, self._outstanding - 1)
        if summary is not None:
            self._stores = [summary if s.id == store_id else s for s in self._stores]
        elif error is not None:
            log.warning("counting the items of %s failed: %s", store_id, error)
        if self._outstanding == 0:
            self._handles = []
            self.sig_stores_loaded.emit(list(self._stores))


# --------------------------------------------------------------------------- management


def _items_with_details(client: StoreApiClient, store_id: str) -> list[ItemRow]:
    """A store's items as list rows; a failed item carries what the server said about its
    file, when it said anything (worker thread)."""
    from jockey_desktop.presentation.uploads import item_row

    rows = []
    asked = 0
    for item in client.list_items(store_id):
        detail = ""
        # An item has no error field; its asset may (a file the server could not process).
        # Asked for the first few failed items only: a store of failures must not mean a
        # request per item.
        if item.status == "failed" and item.asset_id and asked < 20:
            asked += 1
            try:
                message = client.get_asset(item.asset_id).error_message
            except Exception:  # the list matters more than the detail
                message = None
            if message:
                detail = f"The server said: {message}"
        rows.append(item_row(item, detail))
    return rows


class StoreManager(QObject):
    """Creating, changing and deleting stores, items and collections, off the GUI thread.

    Every request reports back by signal; a failure by ``sig_failed(sentence)``, where the
    sentence says what was being done and why it did not work (the server's words kept).
    """

    #: A store was created or changed: the ``KnowledgeStore``.
    sig_store_saved = Signal(object)
    sig_store_deleted = Signal(str)
    #: A store read for editing: the ``KnowledgeStore``.
    sig_store_loaded = Signal(object)
    #: ``(store_id, list[ItemRow])``.
    sig_items_loaded = Signal(str, object)
    #: Items of the store changed (removed): the store id.
    sig_items_changed = Signal(str)
    #: ``(store_id, list[ItemCollection])``.
    sig_collections_loaded = Signal(str, object)
    #: ``(store_id, collection_id, list[item id])``.
    sig_collection_items_loaded = Signal(str, str, object)
    sig_failed = Signal(str)
    #: Creating or saving a store failed (the sentence also goes out by ``sig_failed``): the
    #: dialog that asked stays open with what was typed.
    sig_store_not_saved = Signal(str)
    sig_notice = Signal(str)

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._client: StoreApiClient | None = None
        self._handles: list[Handle] = []

    @Slot(object)
    def set_client(self, client: StoreApiClient | None) -> None:
        """Use another client (requests under way are dropped)."""
        for handle in self._handles:
            handle.cancel()
        self._handles = []
        self._client = client

    def _run(self, doing: str, call: Callable[[StoreApiClient], Any],
             then: Callable[[Any], object],
             also_failed: Callable[[str], object] | None = None) -> None:
        """``call(client)`` on a worker, then ``then(result)``; a failure (or no client)
        becomes ``sig_failed("Could not <doing>. <why>")`` (and ``also_failed(sentence)``)."""
        if self._client is None:
            self._say_failed(f"Could not {doing}. {NO_CLIENT_TEXT}", also_failed)
            return
        self._handles = [h for h in self._handles if not getattr(h, "done", False)]
        self._handles.append(self._runner.submit(
            call, self._client, on_success=then,
            on_error=partial(self._failed, doing, also_failed)))

    def _failed(self, doing: str, also_failed: Callable[[str], object] | None,
                error: BaseException) -> None:
        log.info("could not %s: %s", doing, type(error).__name__)
        text = str(error).strip()
        self._say_failed(f"Could not {doing}. {text or type(error).__name__}", also_failed)

    def _say_failed(self, sentence: str, also_failed: Callable[[str], object] | None) -> None:
        self.sig_failed.emit(sentence)
        if also_failed is not None:
            also_failed(sentence)

    # -- stores ----------------------------------------------------------------------------

    def load_store(self, store_id: str) -> None:
        """Read a store (its metadata, for editing): ``sig_store_loaded``."""
        self._run("read the store", lambda c: c.get_knowledge_store(store_id),
                  self.sig_store_loaded.emit)

    def create_store(self, name: str, description: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> None:
        """Create a store: ``sig_store_saved``."""
        self._run("create the knowledge store",
                  lambda c: c.create_knowledge_store(name, description=description or None,
                                                     metadata=metadata or None),
                  self._store_created, self.sig_store_not_saved.emit)

    def _store_created(self, store: KnowledgeStore) -> None:
        self.sig_store_saved.emit(store)
        self.sig_notice.emit(f"Knowledge store “{store.name}” created.")

    def update_store(self, store_id: str, *, name: str | None = None,
                     description: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> None:
        """Change a store (only what is given; ``metadata`` replaces the whole map):
        ``sig_store_saved``."""
        self._run("save the knowledge store",
                  lambda c: c.update_knowledge_store(store_id, name=name,
                                                     description=description,
                                                     metadata=metadata),
                  self.sig_store_saved.emit, self.sig_store_not_saved.emit)

    def delete_store(self, store_id: str) -> None:
        """Delete a store and every item in it: ``sig_store_deleted``."""
        self._run("delete the knowledge store", lambda c: c.delete_knowledge_store(store_id),
                  lambda _none: self.sig_store_deleted.emit(store_id))

    # -- items -----------------------------------------------------------------------------

    def load_items(self, store_id: str) -> None:
        """List a store's items: ``sig_items_loaded``."""
        self._run("list the store's videos", lambda c: _items_with_details(c, store_id),
                  lambda rows: self.sig_items_loaded.emit(store_id, rows))

    def remove_items(self, store_id: str, item_ids: Sequence[str]) -> None:
        """Remove items from a store: ``sig_items_changed`` once all are gone."""
        ids = list(item_ids)
        self._run("remove the videos", lambda c: _delete_items(c, store_id, ids),
                  lambda _none: self._items_removed(store_id, len(ids)))

    def _items_removed(self, store_id: str, count: int) -> None:
        noun = "video" if count == 1 else "videos"
        self.sig_notice.emit(f"{count} {noun} removed from the store.")
        self.sig_items_changed.emit(store_id)

    # -- collections -----------------------------------------------------------------------

    def load_collections(self, store_id: str) -> None:
        """List a store's collections: ``sig_collections_loaded``."""
        self._run("list the collections", lambda c: c.list_collections(store_id),
                  lambda rows: self.sig_collections_loaded.emit(store_id, rows))

    def load_collection_items(self, store_id: str, collection_id: str) -> None:
        """The ids of a collection's items: ``sig_collection_items_loaded``."""
        self._run("list the collection",
                  lambda c: [i.id for i in c.list_collection_items(store_id, collection_id)],
                  lambda ids: self.sig_collection_items_loaded.emit(
                      store_id, collection_id, ids))

    def create_collection(self, store_id: str, name: str) -> None:
        """A new collection; the list is loaded again."""
        self._run("create the collection", lambda c: c.create_collection(store_id, name),
                  lambda _c: self.load_collections(store_id))

    def rename_collection(self, store_id: str, collection_id: str, name: str) -> None:
        """Rename a collection; the list is loaded again."""
        self._run("rename the collection",
                  lambda c: c.update_collection(store_id, collection_id, name=name),
                  lambda _c: self.load_collections(store_id))

    def delete_collection(self, store_id: str, collection_id: str) -> None:
        """Delete a collection (its items stay); the list is loaded again."""
        self._run("delete the collection",
                  lambda c: c.delete_collection(store_id, collection_id),
                  lambda _none: self.load_collections(store_id))

    def add_to_collection(self, store_id: str, collection_id: str,
                          item_ids: Sequence[str]) -> None:
        """Add items to a collection; its members and the list are loaded again."""
        ids = list(item_ids)
        self._run("add to the collection",
                  lambda c: c.add_collection_items(store_id, collection_id, ids),
                  lambda _c: self._collection_changed(store_id, collection_id))

    def remove_from_collection(self, store_id: str, collection_id: str,
                               item_ids: Sequence[str]) -> None:
        """Remove items from a collection (they stay in the store)."""
        ids = list(item_ids)
        self._run("remove from the collection",
                  lambda c: c.remove_collection_items(store_id, collection_id, ids),
                  lambda _none: self._collection_changed(store_id, collection_id))

    def _collection_changed(self, store_id: str, collection_id: str) -> None:
        self.load_collections(store_id)
        self.load_collection_items(store_id, collection_id)


def _delete_items(client: StoreApiClient, store_id: str, item_ids: Sequence[str]) -> None:
    for item_id in item_ids:
        client.delete_item(store_id, item_id)
