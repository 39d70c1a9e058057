"""Make arbitrary text safe to store, at the storage boundary.

Text reaches storage from the network (JSON may carry lone surrogates such as ``"\\ud800"``),
from the clipboard and from imported files. SQLite's Python binding encodes ``str`` to UTF-8
and raises ``UnicodeEncodeError`` on a lone surrogate, which would lose a whole answer. So:

- Lone (unpaired) surrogates become U+FFFD REPLACEMENT CHARACTER; a correctly paired
  surrogate sequence (which can appear in strings built from UTF-16 data) is joined into the
  real character.
- NUL (U+0000) is KEPT: the sqlite3 module binds strings with their length, so NUL round-trips
  exactly through TEXT columns. (FTS5 treats it as a separator, which is harmless.)
- Everything else, including right-to-left marks, emoji and other control characters, is
  preserved byte-for-byte.

These functions never raise.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_RUN = re.compile("[\ud800-\udfff]+")
REPLACEMENT = "\ufffd"


def sanitize_text(value: object) -> str:
    """Return ``value`` as a str that UTF-8 can encode; never raises.

    ``None`` becomes ``""``; other non-str values are converted with ``str()``.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:  # a hostile __str__ must not break a save
            return REPLACEMENT
    if _SURROGATE.search(value) is None:  # fast path: almost all text
        return value
    return _SURROGATE_RUN.sub(_fix_run, value)


def _fix_run(match: re.Match[str]) -> str:
    """Join valid high+low pairs in a run of surrogates; replace the unpaired ones."""
    run = match.group()
    out: list[str] = []
    i = 0
    while i < len(run):
        code = ord(run[i])
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(run) and 0xDC00 <= ord(run[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(run[i + 1]) - 0xDC00)))
            i += 2
        else:
            out.append(REPLACEMENT)
            i += 1
    return "".join(out)


def sanitize_optional(value: object) -> str | None:
    """Like ``sanitize_text`` but keeps ``None`` as ``None``."""
    return None if value is None else sanitize_text(value)


#: Containers nested deeper than this are cut (replaced by None) by ``sanitize_json_value``:
#: nothing the app stores nests more than a handful of levels, and a hostile document nested
#: thousands deep must not exhaust the stack while being saved or exported.
MAX_JSON_DEPTH = 64


def sanitize_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Recursively sanitise the strings (keys too) inside a JSON-like value.

    Non-finite floats become None so the result always serialises as strict JSON; so does a
    container nested more than ``max_depth`` levels deep. Never raises.
    """
    if isinstance(value, str):
        return sanitize_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, (dict, list, tuple)) and max_depth <= 0:
        return None
    if isinstance(value, dict):
        return {sanitize_text(k): sanitize_json_value(v, max_depth=max_depth - 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize_json_value(v, max_depth=max_depth - 1) for v in value]
    return sanitize_text(value)
