"""What a knowledge store's counts say: videos being indexed and videos queued for it apart."""

from __future__ import annotations

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.store_counts import readiness_label, store_counts_text

MIXED = StoreSummary("ks", "Lectures", "", 13, ready=9, processing=1, queued=2, failed=1,
                     counted=True)


def test_counts_tell_indexing_and_queued_apart() -> None:
    assert store_counts_text(MIXED) == "13 videos · 9 ready · 1 indexing · 2 queued · 1 failed"


def test_counts_leave_out_the_states_no_video_is_in() -> None:
    only_queued = StoreSummary("ks", "Lectures", "", 3, ready=1, queued=2)
    assert store_counts_text(only_queued) == "3 videos · 1 ready · 2 queued"
    one = StoreSummary("ks", "Lectures", "", 1, ready=1)
    assert store_counts_text(one) == "1 video · 1 ready"


def test_the_short_counts_keep_what_to_wait_for_and_drop_the_total() -> None:
    assert store_counts_text(MIXED, short=True) == "9 ready · 1 indexing · 2 queued · 1 failed"


def test_a_store_whose_unready_videos_all_wait_is_tagged_queued_not_indexing() -> None:
    assert readiness_label(StoreSummary("ks", "New", "", 3, queued=3)) == "Queued"
    assert readiness_label(StoreSummary("ks", "New", "", 3, ready=1, queued=2)) == "Queued"
    assert readiness_label(MIXED) == "Indexing"
    assert readiness_label(StoreSummary("ks", "New", "", 3, ready=3)) == "Ready"
    assert readiness_label(StoreSummary("ks", "New", counted=True)) == "Empty"
