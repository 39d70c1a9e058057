"""Tests for the knowledge-store readiness summary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pytest

from jockey_desktop.core.store_summary import StoreSummary, summarize_items, summarize_store


@dataclass
class _Store:
    id: str
    name: str
    description: str = ""
    item_count: int = 0


@dataclass
class _Item:
    status: object


class _Status(str, Enum):
    READY = "ready"
    PROCESSING = "processing"


class _Client:
    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.calls: list[str] = []

    def list_items(self, store_id: str, status: object = None) -> list[_Item]:
        self.calls.append(store_id)
        return self.items


def test_summarize_store_counts_by_status() -> None:
    items = [_Item(s) for s in ("ready", "ready", "processing", "queued", "pending", "failed")]
    client = _Client(items)
    summary = summarize_store(client, _Store("ks_1", "Games", "desc", 6))
    assert client.calls == ["ks_1"]
    assert summary == StoreSummary("ks_1", "Games", "desc", 6, ready=2, processing=1,
                                   failed=1, queued=2, counted=True)
    assert summary.readiness == "indexing"


def test_enum_and_dict_statuses_and_unknown_status() -> None:
    items = [_Item(_Status.READY), {"status": "READY"}, _Item("exploded")]
    summary = summarize_items(_Store("ks", "S"), items)
    assert (summary.ready, summary.processing, summary.item_count) == (2, 1, 3)


@pytest.mark.parametrize(
    ("summary", "readiness", "warns"),
    [
        (StoreSummary("a", "A", item_count=3, ready=3), "ready", False),
        (StoreSummary("a", "A", item_count=3, ready=2, failed=1), "ready", True),
        (StoreSummary("a", "A", item_count=3, ready=2, processing=1), "indexing", True),
        (StoreSummary("a", "A", item_count=2, failed=2), "none ready", True),
        (StoreSummary("a", "A", item_count=1, queued=1), "indexing", True),
        (StoreSummary("a", "A"), "unknown", False),
        (StoreSummary("a", "A", counted=True), "empty", False),
    ],
)
def test_readiness_and_warning(summary: StoreSummary, readiness: str, warns: bool) -> None:
    assert summary.readiness == readiness
    assert (summary.warning is not None) == warns
    if warns:
        assert "“A”" in (summary.warning or "")


def test_a_store_counted_with_no_items_is_empty_not_unchecked() -> None:
    """A store just created: its items were listed (none), so it is known to be empty."""
    summary = summarize_store(_Client([]), _Store("ks_new", "Holiday clips"))
    assert summary.readiness == "empty" and summary.warning is None


def test_warning_mentions_ready_count() -> None:
    summary = StoreSummary("a", "A", item_count=5, ready=3, processing=2)
    assert summary.warning == "2 videos are still indexing in “A”; answers only cover the 3 ready."


def test_warning_mentions_failed_videos_too() -> None:
    """The sandbox's Nature store: one still indexing, one failed (issue 14.15)."""
    both = StoreSummary("a", "A", item_count=8, ready=6, processing=1, failed=1)
    assert both.warning == ("1 video is still indexing and 1 could not be indexed in “A”; "
                            "answers only cover the 6 ready.")
    failed = StoreSummary("a", "A", item_count=8, ready=6, failed=2)
    assert failed.warning == ("2 videos could not be indexed in “A”; answers only cover "
                              "the 6 ready.")


def test_summarize_every_sandbox_store_over_loopback(sandbox) -> None:
    from jockey_desktop.core.api import JockeyClient
    from jockey_desktop.sandbox import SANDBOX_API_KEY

    client = JockeyClient(SANDBOX_API_KEY, base_url=sandbox.base_url)
    try:
        stores = client.list_knowledge_stores()
        summaries = [summarize_store(client, store) for store in stores]
    finally:
        client.close()
    assert summaries, "the sandbox ships sample stores"
    for store, summary in zip(stores, summaries, strict=True):
        assert summary.id == store.id and summary.name == store.name
        counted = summary.ready + summary.processing + summary.failed + summary.queued
        assert counted == summary.item_count
        assert summary.readiness in ("ready", "indexing", "none ready")
    assert any(s.readiness == "ready" for s in summaries)


def test_warning_tells_videos_indexing_from_videos_queued() -> None:
    """"3 still indexing" for one at work and two waiting their turn promised too early an
    end: the two are named apart, with the failed ones after them."""
    summary = StoreSummary("a", "A", item_count=10, ready=6, processing=1, queued=2, failed=1)
    assert summary.warning == ("1 video is still indexing, 2 are queued for indexing and 1 "
                               "could not be indexed in “A”; answers only cover the 6 ready.")
    queued = StoreSummary("a", "A", item_count=5, ready=3, queued=2)
    assert queued.warning == ("2 videos are queued for indexing in “A”; answers only cover "
                              "the 3 ready.")


def test_a_store_with_none_ready_says_how_many_index_and_how_many_wait() -> None:
    both = StoreSummary("a", "A", item_count=3, processing=1, queued=2)
    assert both.warning == ("No videos in “A” are ready yet (1 indexing, 2 queued). Answers "
                            "will be empty until indexing finishes.")
    waiting = StoreSummary("a", "A", item_count=2, queued=2)
    assert waiting.warning == ("No videos in “A” are ready yet (2 queued for indexing). "
                               "Answers will be empty until indexing finishes.")
    indexing = StoreSummary("a", "A", item_count=2, processing=2)
    assert indexing.warning == ("No videos in “A” are ready yet (2 still indexing). Answers "
                                "will be empty until indexing finishes.")
