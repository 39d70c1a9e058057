"""Tests of the pure formatting helpers (time stamps, ranges, labels, ages, tokens)."""

from __future__ import annotations

import time

import pytest

from jockey_desktop.presentation.formatting import (
    citation_label,
    format_age,
    format_count,
    format_duration,
    format_time_range,
    format_timestamp,
    format_tokens,
)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "00:00"), (83, "01:23"), (83.9, "01:23"), (599, "09:59"), (3600, "1:00:00"),
     (3723, "1:02:03"), (-5, "00:00"), (float("nan"), "00:00")],
)
def test_format_timestamp(seconds: float, expected: str) -> None:
    assert format_timestamp(seconds) == expected


def test_format_time_range() -> None:
    assert format_time_range(83, 105) == "01:23–01:45"
    assert format_time_range(83, None) == "01:23"
    assert format_time_range(83, 83.5) == "01:23"  # an empty span shows the start only
    assert format_time_range(None, None) == ""
    assert format_time_range(3723, 3800) == "1:02:03–1:03:20"


def test_citation_label() -> None:
    assert citation_label({"title": "Intro", "start_sec": 83, "end_sec": 105}) == (
        "Intro · 01:23–01:45"
    )
    assert citation_label({"title": "Whole one", "start_sec": None, "end_sec": None}) == (
        "Whole one"
    )
    assert citation_label({"title": "  spaced\ntitle ", "start_sec": 1, "end_sec": 2}) == (
        "spaced title · 00:01–00:02"
    )
    assert citation_label({"title": None, "start_sec": 5}) == "Untitled video · 00:05"


def test_format_tokens_and_count() -> None:
    assert format_count(9512) == "9,512"
    assert format_tokens(1234, 210) == "1,234 tokens in · 210 out"
    assert format_tokens(None, None) == ""
    assert format_tokens(None, 5) == "5 tokens out"
    assert format_tokens(7, None) == "7 tokens in"


def test_format_duration() -> None:
    assert format_duration(42.7) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3720) == "1 h 02 min"
    assert format_duration(-1) == "0 s"


def test_format_age() -> None:
    now = 1_800_000_000.0
    assert format_age(now - 10, now) == "just now"
    assert format_age(now + 100, now) == "just now"  # clock skew never gives a negative age
    assert format_age(now - 300, now) == "5 min ago"
    assert format_age(now - 3 * 3600, now) == "3 h ago"
    # "yesterday" depends on the time of day in the local zone: see the calendar-day test.
    assert format_age(now - 4 * 86400, now) == "4 days ago"
    old = format_age(now - 40 * 86400, now)
    assert old[-4:].isdigit() and "ago" not in old


def test_format_age_counts_calendar_days() -> None:
    def local(day: int, hour: int) -> float:  # June 2026: no daylight-saving change
        return time.mktime((2026, 6, day, hour, 0, 0, 0, 0, -1))

    thursday_8 = local(11, 8)
    assert format_age(local(10, 20), thursday_8) == "12 h ago"
    assert format_age(local(10, 1), thursday_8) == "yesterday"  # 31 h ago, on Wednesday
    assert format_age(local(9, 23), thursday_8) == "2 days ago"  # 33 h ago, on Tuesday
    assert format_age(local(8, 20), thursday_8) == "3 days ago"  # Monday evening
    assert format_age(local(5, 9), thursday_8) == "6 days ago"


def test_plain_line_drops_markdown_marks_only() -> None:
    from jockey_desktop.presentation.formatting import plain_line

    assert plain_line("# Themes\n> **Bold**, *it*, __also__, `code`, [a link](https://x.y)") == \
        "Themes Bold, it, also, code, a link"
    # Not emphasis: identifiers, arithmetic (the stripper is core.storage.plaintext's).
    assert plain_line("ks_019f_abc snake_case 2 * 3 * 4") == "ks_019f_abc snake_case 2 * 3 * 4"
