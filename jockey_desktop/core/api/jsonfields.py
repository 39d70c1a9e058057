"""Lenient readers of single JSON fields, shared by every record built from server JSON.

Servers may send a field with the wrong type, or null; a record then gets None for it
instead of failing (the record's ``raw`` keeps what was sent).
"""

from __future__ import annotations

from typing import Any


def opt_str(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value != "" else None


def opt_int(value: Any) -> int | None:
    """An integer (or a float holding one), else None; booleans are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def opt_float(value: Any) -> float | None:
    """A number as float, else None; booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


__all__ = ["opt_float", "opt_int", "opt_str"]
