"""How fast the sandbox streams: first-token delay, delta cadence and keep-alives."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

KeepaliveStyle = Literal["event", "comment"]


@dataclass(frozen=True)
class Pace:
    """Timing of a streamed (and non-streamed) reply.

    ``first_token_delay``: seconds of "thinking" before the first text delta.
    ``delta_interval``: seconds between text deltas. ``words_per_delta``: words per delta.
    ``keepalive_interval``: while nothing else has been sent for this long, a keep-alive goes
    out — an ``event: keepalive`` (``keepalive_style="event"``) or a ``: keep-alive`` comment
    line (``"comment"``).

    ``indexing_time``: seconds a new store item takes from ``queued`` to ``ready`` (or
    ``failed``); 0 means the next read already sees the outcome. ``asset_processing_time``:
    seconds a new asset stays ``processing`` before it is ``ready``.
    """

    first_token_delay: float = 0.0
    delta_interval: float = 0.0
    words_per_delta: int = 4
    keepalive_interval: float = 10.0
    keepalive_style: KeepaliveStyle = "event"
    indexing_time: float = 0.0
    asset_processing_time: float = 0.0

    def __post_init__(self) -> None:
        # nan compares false with everything, and inf would make waits endless.
        if not all(math.isfinite(v) for v in (self.first_token_delay, self.delta_interval,
                                               self.keepalive_interval, self.indexing_time,
                                               self.asset_processing_time)):
            raise ValueError("delays must be finite numbers of seconds")
        if min(self.first_token_delay, self.delta_interval, self.indexing_time,
               self.asset_processing_time) < 0:
            raise ValueError("delays must not be negative")
        if self.words_per_delta < 1:
            raise ValueError("words_per_delta must be at least 1")
        if self.keepalive_interval <= 0:
            raise ValueError("keepalive_interval must be positive")
        if self.keepalive_style not in ("event", "comment"):
            raise ValueError("keepalive_style must be 'event' or 'comment'")

    @classmethod
    def realistic(cls) -> Pace:
        """A few seconds of thinking, then three words every 0.12 s (5–15 s per answer).

        Indexing takes 30 s and asset processing 4 s: long enough to watch the statuses
        change (real indexing takes minutes), short enough to try the app.
        """
        return cls(first_token_delay=3.0, delta_interval=0.12, words_per_delta=3,
                   indexing_time=30.0, asset_processing_time=4.0)

    @classmethod
    def instant(cls) -> Pace:
        """No delays at all (tests)."""
        return cls(first_token_delay=0.0, delta_interval=0.0, words_per_delta=6)
