"""SelectionCandidates: what ``@`` in the composer offers — a store's ready videos and its
collections — fetched off the GUI thread through the client and cached per store.

A request answers at once from the cache (and refreshes it in the background when it is
older than :attr:`SelectionCandidates.MAX_AGE_S`: videos finish indexing while the app runs);
otherwise the items and collections are listed on the network runner and announced by
``sig_candidates(store_id, candidates)``. A new client (key or server changed) empties the
cache, and results fetched with the old one are dropped by generation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.core.errors import describe_error
from jockey_desktop.core.ports import Runner
from jockey_desktop.presentation.selections import candidates as candidates_of

log = logging.getLogger(__name__)


def fetch_candidates(client: Any, store_id: str) -> list[dict[str, Any]]:
    """The store's ready items and its collections as selection dicts (runs on a worker)."""
    items = client.list_items(store_id, status="ready")
    collections = client.list_collections(store_id)
    return candidates_of(items, collections)


class SelectionCandidates(QObject):
    """Per-store cache of ``@`` candidates, filled on the network runner."""

    #: (store id, list of ``{"kind", "id", "name"}``) — candidates for a store.
    sig_candidates = Signal(str, object)
    #: (store id, sentence) — listing them failed.
    sig_failed = Signal(str, str)

    #: Cached candidates are refreshed in the background after this long.
    MAX_AGE_S = 60.0
    #: After a failure, the same store is not asked again sooner than this (``@`` asks on
    #: every key while it has nothing).
    RETRY_AFTER_S = 5.0

    def __init__(self, runner: Runner, client: Any = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._client = client
        self._clock = clock
        self._generation = 0
        #: store id -> (when fetched, candidates)
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._in_flight: set[str] = set()
        self._failed_at: dict[str, float] = {}

    @Slot(object)
    def set_client(self, client: Any) -> None:
        """Use another client: what the old one listed may not be this account's."""
        self._client = client
        self._generation += 1
        self._cache.clear()
        self._in_flight.clear()
        self._failed_at.clear()

    def cached(self, store_id: str) -> list[dict[str, Any]] | None:
        """The cached candidates of a store (None: never fetched)."""
        entry = self._cache.get(store_id)
        return list(entry[1]) if entry is not None else None

    @Slot(str)
    def request(self, store_id: str) -> None:
        """Announce the store's candidates: from the cache now, or once fetched."""
        entry = self._cache.get(store_id)
        now = self._clock()
        if entry is not None:
            self.sig_candidates.emit(store_id, list(entry[1]))
            if now - entry[0] < self.MAX_AGE_S:
                return
        if store_id in self._in_flight or self._client is None:
            return
        failed = self._failed_at.get(store_id)
        if failed is not None and now - failed < self.RETRY_AFTER_S:
            return
        self._in_flight.add(store_id)
        self._runner.submit(fetch_candidates, self._client, store_id,
                            on_success=partial(self._fetched, self._generation, store_id),
                            on_error=partial(self._not_fetched, self._generation, store_id))

    def _fetched(self, generation: int, store_id: str, found: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(store_id)
        self._failed_at.pop(store_id, None)
        self._cache[store_id] = (self._clock(), list(found))
        self.sig_candidates.emit(store_id, list(found))

    def _not_fetched(self, generation: int, store_id: str, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(store_id)
        self._failed_at[store_id] = self._clock()
        info = describe_error(error)
        log.warning("listing the videos of %s for @ failed: %s", store_id, info.code)
        self.sig_failed.emit(store_id, f"The videos of this store could not be listed: "
                                       f"{info.message}")
