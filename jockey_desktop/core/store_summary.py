"""Per-store readiness summary shown by the knowledge-store picker (no Qt).

A knowledge store is only useful for questions once its items are indexed. The picker shows,
for each store, how many items are ready, still being indexed, waiting, or failed, so users
know before they ask whether an answer can cover the whole collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

#: Item statuses the API documents for knowledge-store items. ``pending`` means "waiting for
#: capacity", which for the user is the same as queued.
_QUEUED_STATUSES = frozenset({"queued", "pending"})


class _ItemLister(Protocol):
    def list_items(self, store_id: str, status: Any = None) -> Iterable[Any]: ...


@dataclass(frozen=True)
class StoreSummary:
    """One knowledge store with its item counts by status.

    ``item_count`` is the store's own count when known (the API reports it), otherwise the
    number of listed items.
    """

    id: str
    name: str
    description: str = ""
    item_count: int = 0
    ready: int = 0
    processing: int = 0
    failed: int = 0
    queued: int = 0
    #: True once the items were listed and counted (a store just listed is not yet).
    counted: bool = False

    @property
    def readiness(self) -> str:
        """"ready", "indexing", "none ready", "empty" (counted: no items) or "unknown" (no
        counts at all yet)."""
        counted = self.ready + self.processing + self.failed + self.queued
        if counted == 0 and self.item_count == 0:
            return "empty" if self.counted else "unknown"
        if self.processing or self.queued:
            return "indexing"
        if self.ready == 0:
            return "none ready"
        return "ready"

    @property
    def warning(self) -> str | None:
        """A sentence warning the user about an incomplete store, or None when all is well.

        Videos being indexed and videos queued for it are named apart: "3 still indexing"
        for one at work and two waiting their turn promised too early an end."""
        waiting = self.processing + self.queued
        if self.ready == 0 and (waiting or self.failed or self.item_count):
            if waiting:
                return (f"No videos in “{self.name}” are ready yet ({self._waiting_words()})"
                        ". Answers will be empty until indexing finishes.")
            return f"No videos in “{self.name}” are ready, so Jockey cannot answer from it."
        # Every video left out is named, the failed ones too: "answers only cover the 6
        # ready" must add up for the user counting the store's videos. Only the first part
        # says "video(s)": "1 video is still indexing, 2 are queued for indexing and 1
        # could not be indexed".
        parts: list[str] = []
        for count, one, many in ((self.processing, "is still indexing", "are still indexing"),
                                 (self.queued, "is queued for indexing",
                                  "are queued for indexing"),
                                 (self.failed, "could not be indexed", "could not be indexed")):
            if not count:
                continue
            noun = ("video " if count == 1 else "videos ") if not parts else ""
            parts.append(f"{count} {noun}{one if count == 1 else many}")
        if not parts:
            return None
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        return f"{listed} in “{self.name}”; answers only cover the {self.ready} ready."

    def _waiting_words(self) -> str:
        """"3 still indexing", "2 queued for indexing" or "1 indexing, 2 queued"."""
        if self.processing and self.queued:
            return f"{self.processing} indexing, {self.queued} queued"
        if self.queued:
            return f"{self.queued} queued for indexing"
        return f"{self.processing} still indexing"


def _status_text(item: Any) -> str:
    status = item.get("status") if isinstance(item, dict) else getattr(item, "status", None)
    # Enums (str subclasses or not) and plain strings both end up as their value.
    status = getattr(status, "value", status)
    return str(status or "").lower()


def summarize_items(store: Any, items: Iterable[Any]) -> StoreSummary:
    """Build a StoreSummary from a store record and its items (any objects with ``status``)."""
    counts = {"ready": 0, "processing": 0, "failed": 0, "queued": 0}
    total = 0
    for item in items:
        total += 1
        status = _status_text(item)
        if status in _QUEUED_STATUSES:
            counts["queued"] += 1
        elif status in counts:
            counts[status] += 1
        else:
            # Unknown future statuses are neither usable nor failed: count them as waiting.
            counts["processing"] += 1
    item_count = getattr(store, "item_count", None)
    return StoreSummary(
        id=str(store.id),
        name=str(getattr(store, "name", "") or store.id),
        description=str(getattr(store, "description", "") or ""),
        item_count=max(int(item_count or 0), total),
        counted=True,
        **counts,
    )


def summarize_store(client: _ItemLister, store: Any) -> StoreSummary:
    """Count ``store``'s items by status using ``client.list_items(store.id)``.

    Blocks on the network: call it on a worker thread.
    """
    return summarize_items(store, client.list_items(store.id))
