"""Ctrl+F's rules: which messages match, how often, in reading order, and the count label."""

from __future__ import annotations

from jockey_desktop.core.storage.models import Role
from jockey_desktop.presentation.find import (
    FindMatch,
    count_occurrences,
    find_matches,
    match_label,
)
from tests.helpers.records import make_message


def test_every_occurrence_in_reading_order_ignoring_case() -> None:
    messages = [
        make_message(1, Role.USER, "Where is the Lion?"),
        make_message(2, Role.ASSISTANT, "**lion** at 0:10, then a LION again", plain_text=None),
        make_message(3, Role.SEAM, "lion seam is not searched"),
        make_message(4, Role.ASSISTANT, "no cats here"),
    ]
    assert find_matches(messages, "  lion ") == [
        FindMatch(1, 0), FindMatch(2, 0), FindMatch(2, 1),
    ]


def test_plain_text_is_searched_rather_than_markdown() -> None:
    message = make_message(1, Role.ASSISTANT, "see [1](x) **bold**", plain_text="see bold")
    assert find_matches([message], "bold") == [FindMatch(1, 0)]
    assert find_matches([message], "](x)") == []


def test_empty_queries_and_non_overlapping_counts() -> None:
    assert find_matches([make_message(1)], "   ") == []
    assert count_occurrences("aaaa", "aa") == 2
    assert count_occurrences("anything", "") == 0
    assert count_occurrences("Straße", "STRASSE") == 1  # casefold, not lower()


def test_the_count_label() -> None:
    assert match_label(None, 0) == "No matches"
    assert match_label(None, 1) == "1 match"
    assert match_label(None, 5) == "5 matches"
    assert match_label(2, 5) == "3 of 5"
