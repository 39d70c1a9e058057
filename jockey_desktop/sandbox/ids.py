"""Id and timestamp helpers for the sandbox: UUIDv7-based ids and RFC 3339 UTC timestamps."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime

_UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

_lock = threading.Lock()
_last_ms = 0
_last_seq = 0


def uuid7() -> str:
    """Return a new lowercase, hyphenated UUIDv7 (RFC 9562).

    48 bits of Unix milliseconds, then 74 random bits. Within one millisecond the 12-bit
    ``rand_a`` field is a counter so ids made by one process sort in creation order.
    """
    global _last_ms, _last_seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or a backwards-stepped) millisecond: keep ordering with the counter.
            ms = _last_ms
            _last_seq += 1
            if _last_seq > 0xFFF:
                ms += 1
                _last_seq = 0
        else:
            _last_seq = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        seq = _last_seq
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def is_uuid7(text: str) -> bool:
    """Return True when ``text`` is a lowercase, hyphenated UUIDv7."""
    return bool(_UUID7_RE.match(text))


def new_id(prefix: str) -> str:
    """Return ``prefix`` + a fresh UUIDv7, e.g. ``new_id("resp_")``."""
    return prefix + uuid7()


def rfc3339(timestamp: float) -> str:
    """Format a Unix timestamp as RFC 3339 UTC with a ``Z`` suffix, whole seconds."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
