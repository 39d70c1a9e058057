"""User metadata of stores, collections and items: value types and limits (jockey-api.md §7).

A value is a string, a number, a boolean or a list of strings — no null, no nesting, and
integers within 53 bits (wider ones must travel as strings, since JSON numbers are doubles
on the server side). Stores and collections hold at most 10 pairs, items 50; keys are at most
128 characters; string values at most 2,048 characters (8,192 on items).

:func:`validate_metadata` checks a map before it is sent and says in one sentence what is
wrong; :func:`metadata_from_json` reads a server's map leniently. Pure Python, never Qt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeAlias

from jockey_desktop.core.api.errors import InvalidInputError

#: One metadata value as the API accepts it.
MetadataValue: TypeAlias = str | int | float | bool | list[str]
#: Which object the metadata belongs to; the limits depend on it.
MetadataScope = Literal["store", "collection", "item"]

MAX_KEY_LENGTH = 128
#: The largest integer a JSON number carries exactly (2**53 - 1).
MAX_SAFE_INTEGER = 2**53 - 1


@dataclass(frozen=True)
class MetadataLimits:
    """The limits of one scope."""

    max_pairs: int
    max_string: int
    #: How a sentence names the owner ("A knowledge store").
    owner: str


LIMITS: dict[str, MetadataLimits] = {
    "store": MetadataLimits(10, 2048, "A knowledge store"),
    "collection": MetadataLimits(10, 2048, "A collection"),
    "item": MetadataLimits(50, 8192, "An item"),
}


def validate_metadata(values: Mapping[str, Any], scope: MetadataScope) -> dict[str, MetadataValue]:
    """Check ``values`` against the API's rules for ``scope``; return a clean copy.

    Raises ``InvalidInputError`` (an ``InvalidRequestError``, code ``parameter_invalid``)
    whose sentence names the
    first problem: too many pairs, a key that is empty, not text or too long, or a value of
    the wrong type, too long, not finite, or an integer beyond 53 bits.
    """
    limits = LIMITS.get(scope)
    if limits is None:
        raise ValueError(f"unknown metadata scope {scope!r}")
    if not isinstance(values, Mapping):
        _refuse("Metadata must be a set of names and values.")
    if len(values) > limits.max_pairs:
        _refuse(f"{limits.owner} can have at most {limits.max_pairs} metadata entries; "
                f"this one has {len(values)}.")
    clean: dict[str, MetadataValue] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key.strip():
            _refuse("A metadata name must be non-empty text.")
        if len(key) > MAX_KEY_LENGTH:
            _refuse(f"The metadata name {_shown(key)} is longer than {MAX_KEY_LENGTH} "
                    "characters.")
        clean[key] = _checked_value(key, value, limits)
    return clean


def metadata_from_json(data: Any) -> dict[str, MetadataValue]:
    """A server's metadata map, keeping every value of a documented type (lenient: other
    values — null, nested objects — are left out; the raw JSON keeps them)."""
    if not isinstance(data, Mapping):
        return {}
    result: dict[str, MetadataValue] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        finite = isinstance(value, float) and math.isfinite(value)
        if isinstance(value, (str, bool, int)) or finite:
            result[key] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            result[key] = list(value)
    return result


def _checked_value(key: str, value: Any, limits: MetadataLimits) -> MetadataValue:
    name = _shown(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            _refuse(f"The metadata value of {name} is a whole number too large to send "
                    "exactly (beyond 2^53); store it as text instead.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _refuse(f"The metadata value of {name} must be a finite number.")
        return value
    if isinstance(value, str):
        if len(value) > limits.max_string:
            _refuse(f"The metadata value of {name} is longer than {limits.max_string:,} "
                    "characters.")
        return value
    if isinstance(value, (list, tuple)):
        items: list[str] = []
        for element in value:
            if not isinstance(element, str):
                _refuse(f"The metadata list {name} may hold only text.")
            if len(element) > limits.max_string:
                _refuse(f"A text in the metadata list {name} is longer than "
                        f"{limits.max_string:,} characters.")
            items.append(element)
        return items
    if value is None:
        _refuse(f"The metadata value of {name} is empty (null); remove the entry instead.")
    _refuse(f"The metadata value of {name} must be text, a number, true or false, or a list "
            "of texts.")


def _shown(key: str) -> str:
    """A key as quoted in a sentence, shortened so a huge key cannot flood the message."""
    return repr(key if len(key) <= 40 else key[:39] + "…")


def _refuse(sentence: str) -> NoReturn:
    raise InvalidInputError(sentence, code="parameter_invalid")


__all__ = [
    "LIMITS",
    "MAX_KEY_LENGTH",
    "MAX_SAFE_INTEGER",
    "MetadataLimits",
    "MetadataScope",
    "MetadataValue",
    "metadata_from_json",
    "validate_metadata",
]
