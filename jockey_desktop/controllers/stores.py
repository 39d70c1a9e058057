"""StoresController: load the knowledge stores and how ready each one is, off the GUI thread.

A refresh lists the stores on a worker, shows them at once (counts unknown yet), then counts
each store's items by status on workers (``summarize_store``) and publishes the list again as
the counts arrive. A newer refresh supersedes an older one: results tagged with an old
generation are dropped. The last chosen store is remembered in ``AppSettings``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.core.errors import NO_CLIENT_TEXT, describe_error
from jockey_desktop.core.ports import FullApiClient, Handle, Runner
from jockey_desktop.core.store_summary import StoreSummary, summarize_store
from jockey_desktop.settings import AppSettings

if TYPE_CHECKING:
    from jockey_desktop.core.api import KnowledgeStore

log = logging.getLogger(__name__)


def _initial_summary(store: KnowledgeStore) -> StoreSummary:
    return StoreSummary(
        id=str(store.id),
        name=str(store.name or store.id),
        description=str(store.description or ""),
        item_count=int(store.item_count or 0),
    )


class StoresController(QObject):
    """Lists stores with item readiness; results by ``sig_stores_loaded`` (first the list,
    then again with counts) or ``sig_stores_failed(reason)``."""

    sig_stores_loaded = Signal(object)  # list[StoreSummary]
    sig_stores_failed = Signal(str)
    sig_loading = Signal()

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
        self._handles: list[Handle] = []

    @Slot(object)
    def set_client(self, client: FullApiClient | None) -> None:
        """Use another client (key or server changed) and reload the list with it."""
        self._client = client
        if client is not None:
            self.refresh()

    def stores(self) -> list[StoreSummary]:
        """The stores of the last refresh."""
        return list(self._stores)

    def store(self, store_id: str) -> StoreSummary | None:
        """One store of the last refresh, by id."""
        return next((s for s in self._stores if s.id == store_id), None)

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
        info = describe_error(error)
        log.warning("listing knowledge stores failed: %s", info.code)
        # Only the reason: the store picker puts its own "Could not load knowledge stores"
        # in front, and two leads read as a stutter.
        self.sig_stores_failed.emit(info.message)

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
