"""The number each cited source shows, the same everywhere (no Qt).

An answer's text marks a cited moment (or web page) with ``[N]``; the chips under the answer,
the marker's tooltip and the exported "Sources" list use that same N, so ``[5]`` in the text is
the chip and the source numbered 5 — nobody counts. A citation whose marker span does not read
as ``[N]`` (or has none) takes the number of an earlier citation of the same moment, else the
next number after the highest one in the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_MARKER = re.compile(r"^\s*\[\s*(\d{1,4})\s*\]\s*$")


def marker_number(text: str, citation: Mapping[str, Any]) -> int | None:
    """N of the citation's ``[N]`` marker in ``text`` (Python string offsets, end
    exclusive), or None when its span is missing, out of range or not ``[N]``."""
    start, end = citation.get("marker_start"), citation.get("marker_end")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) \
            or not 0 <= start < end <= len(text):
        return None
    match = _MARKER.match(text[start:end])
    return int(match.group(1)) if match else None


def _moment(citation: Mapping[str, Any]) -> tuple[Any, ...]:
    return (citation.get("item_id") or citation.get("url"), citation.get("start_sec"),
            citation.get("end_sec"))


def source_numbers(text: str, citations: Sequence[Mapping[str, Any]]) -> list[int]:
    """The number of each citation, in ``citations`` order (see the module doc)."""
    found = [marker_number(text, c) for c in citations]
    by_moment: dict[tuple[Any, ...], int] = {}
    for citation, number in zip(citations, found, strict=True):
        if number is not None:
            by_moment.setdefault(_moment(citation), number)
    next_free = max((n for n in found if n is not None), default=0) + 1
    numbers: list[int] = []
    for citation, number in zip(citations, found, strict=True):
        if number is None:
            number = by_moment.get(_moment(citation))
            if number is None:
                number = next_free
                next_free += 1
                by_moment[_moment(citation)] = number
        numbers.append(number)
    return numbers


def numbered_sources(text: str, citations: Sequence[Mapping[str, Any]]
                     ) -> list[tuple[int, Mapping[str, Any]]]:
    """(number, citation) once per number, by number: an answer's list of sources."""
    first: dict[int, Mapping[str, Any]] = {}
    for number, citation in zip(source_numbers(text, citations), citations, strict=True):
        first.setdefault(number, citation)
    return sorted(first.items(), key=lambda pair: pair[0])
