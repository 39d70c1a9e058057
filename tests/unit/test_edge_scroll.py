"""How fast a text drag held past the transcript's top or bottom edge scrolls (Qt-free)."""

from __future__ import annotations

from jockey_desktop.presentation.transcript import (
    EDGE_SCROLL_MAX,
    EDGE_SCROLL_MIN,
    edge_scroll_step,
)


def test_inside_the_transcript_a_drag_does_not_scroll() -> None:
    assert [edge_scroll_step(y, 400) for y in (0, 1, 200, 399)] == [0, 0, 0, 0]


def test_past_an_edge_it_scrolls_that_way_faster_the_farther_out() -> None:
    below = [edge_scroll_step(400 + d, 400) for d in (0, 10, 40, 120)]
    above = [edge_scroll_step(-d, 400) for d in (1, 10, 40, 120)]
    assert below[0] == EDGE_SCROLL_MIN and above[0] == -EDGE_SCROLL_MIN
    assert below == sorted(set(below))  # strictly growing
    assert above == sorted(set(above), reverse=True)


def test_the_speed_has_a_ceiling() -> None:
    assert edge_scroll_step(10_000, 400) == EDGE_SCROLL_MAX
    assert edge_scroll_step(-10_000, 400) == -EDGE_SCROLL_MAX
