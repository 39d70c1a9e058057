"""Pure text-formatting helpers shared by the views (no Qt, no I/O).

Time stamps, time ranges, citation labels, ages, durations and token counts are shown in several
places (chat pane, sidebar, exports); keeping them here gives one spelling everywhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from jockey_desktop.core.storage.plaintext import markdown_to_plain
from jockey_desktop.core.timecode import RANGE_DASH, format_time_range, format_timestamp

__all__ = ["RANGE_DASH", "format_time_range", "format_timestamp"]  # re-exported for widgets

#: Shown for a citation whose video has no title (the API may omit it).
UNTITLED_VIDEO = "Untitled video"


def plain_line(markdown: str) -> str:
    """Markdown (an agent's commentary, an answer's start) as plain text on one line: what
    it says without the marks ("**Product keynotes**" reads "Product keynotes"), stripped by
    the one Markdown stripper (``core.storage.plaintext``)."""
    return " ".join(markdown_to_plain(markdown).split())


def citation_title(citation: Mapping[str, Any]) -> str:
    """The video title of a citation dict, or a neutral placeholder."""
    title = citation.get("title")
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())
    return UNTITLED_VIDEO


def citation_label(citation: Mapping[str, Any]) -> str:
    """The chip text of a citation dict: ``"Title · 01:23–01:45"``, or the title alone when
    the citation covers the whole video."""
    title = citation_title(citation)
    span = format_time_range(citation.get("start_sec"), citation.get("end_sec"))
    return f"{title} · {span}" if span else title


def unique_citations(citations: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """(first citation index, label) for each distinct chip, in order of first appearance.

    Two citations of the same video and the same span make one chip, whatever their markers.
    """
    seen: set[tuple[Any, ...]] = set()
    chips: list[tuple[int, str]] = []
    for index, citation in enumerate(citations):
        label = citation_label(citation)
        key = (citation.get("item_id"), label)
        if key in seen:
            continue
        seen.add(key)
        chips.append((index, label))
    return chips


def format_count(number: int) -> str:
    """An integer with thousands separators: ``9512`` → ``"9,512"``."""
    return f"{int(number):,}"


def format_tokens(input_tokens: int | None, output_tokens: int | None) -> str:
    """Token usage of one answer: ``"1,234 tokens in · 210 out"``; ``""`` when unknown."""
    if input_tokens is None and output_tokens is None:
        return ""
    if input_tokens is None:
        return f"{format_count(output_tokens or 0)} tokens out"
    if output_tokens is None:
        return f"{format_count(input_tokens)} tokens in"
    return f"{format_count(input_tokens)} tokens in · {format_count(output_tokens)} out"


def format_duration(seconds: float) -> str:
    """An elapsed time for status lines: ``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_age(epoch: float, now: float | None = None) -> str:
    """How long ago something happened, for list rows: ``"just now"``, ``"5 min ago"``,
    ``"3 h ago"``, ``"yesterday"``, ``"4 days ago"``, then the date (``"12 Mar 2026"``).

    ``now`` defaults to the current time; pass it in tests. A time in the future (clock skew,
    imported data) reads as "just now" rather than a negative age. Days are calendar days in
    local time, as people count them: at 08:00 on Thursday, Tuesday 23:00 (33 h before) is
    "2 days ago" — counted in 24-hour blocks it said "yesterday".
    """
    if now is None:
        now = time.time()
    delta = now - epoch
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    days = (date.fromtimestamp(now) - date.fromtimestamp(epoch)).days
    if days <= 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    when = time.localtime(epoch)
    return time.strftime("%d %b %Y", when).lstrip("0")
