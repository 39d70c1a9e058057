"""What a knowledge store's counts say in the picker, the stores window and their tooltips
(Qt-free).

Videos being indexed and videos still waiting their turn are told apart ("1 indexing ·
2 queued"): "3 indexing" for one at work and two waiting made a user wait for three.
"""

from __future__ import annotations

from jockey_desktop.core.store_summary import StoreSummary

#: The tag a store's readiness shows (``StoreSummary.readiness``).
READINESS_LABELS = {
    "ready": "Ready",
    "indexing": "Indexing",
    "none ready": "None ready",
    "empty": "Empty",
    "unknown": "Not checked",
}


def readiness_label(store: StoreSummary) -> str:
    """"Ready", "Indexing", "None ready", "Empty", "Not checked", or "Queued" for a store
    whose unready videos all wait their turn (none is being indexed yet)."""
    if store.readiness == "indexing" and not store.processing:
        return "Queued"
    return READINESS_LABELS[store.readiness]


def store_counts_text(store: StoreSummary, *, short: bool = False) -> str:
    """"12 videos · 9 ready · 1 indexing · 2 queued · 1 failed" (zero counts other than
    ready left out).

    ``short`` drops the total ("9 ready · 1 indexing · 2 queued · 1 failed") for a row too
    narrow for the whole line: the counts that say what to wait for stay, the total is in
    the row's tooltip and the store's header.
    """
    parts = [f"{store.ready} ready"]
    if store.processing:
        parts.append(f"{store.processing} indexing")
    if store.queued:
        parts.append(f"{store.queued} queued")
    if store.failed:
        parts.append(f"{store.failed} failed")
    if not short:
        noun = "video" if store.item_count == 1 else "videos"
        parts.insert(0, f"{store.item_count} {noun}")
    return " · ".join(parts)
