"""Video positions as text: the one formatter every layer uses (no Qt).

``83`` → ``"01:23"``, ``3723`` → ``"1:02:03"``; a range is joined with an en dash. Fractions are
dropped (a moment at 83.9 s is shown where it starts), and negative or non-finite input counts
as 0 so a bad server value never raises — these run inside paint handlers and exports.
"""

from __future__ import annotations

import math

#: Separator of a time range ("01:23–01:45").
RANGE_DASH = "\u2013"


def format_timestamp(seconds: float) -> str:
    """Format a position in a video: ``MM:SS``, or ``H:MM:SS`` from one hour on."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        seconds = 0
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def format_time_range(start: float | None, end: float | None) -> str:
    """Format a moment: ``(83, 105)`` → ``"01:23–01:45"``.

    A missing end (or an end not after the start) gives just the start; a missing start gives
    an empty string (the citation covers the whole video).
    """
    if start is None:
        return ""
    if end is None or int(end) <= int(start):
        return format_timestamp(start)
    return f"{format_timestamp(start)}{RANGE_DASH}{format_timestamp(end)}"
