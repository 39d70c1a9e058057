"""Metadata values and limits (jockey-api.md §7): what is refused before sending, in which
words, and how a server's metadata is read."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.api import (
    InvalidInputError,
    InvalidRequestError,
    KnowledgeStore,
    KnowledgeStoreItem,
    validate_metadata,
)
from jockey_desktop.core.api.metadata import MAX_SAFE_INTEGER, metadata_from_json

GOOD = {"team": "ops", "season": 2026, "ratio": 0.5, "public": False,
        "tags": ["goal", "replay"], "big": MAX_SAFE_INTEGER, "small": -MAX_SAFE_INTEGER}


@pytest.mark.parametrize("scope", ["store", "collection", "item"])
def test_every_documented_value_type_passes_and_is_copied(scope: Any) -> None:
    clean = validate_metadata(GOOD, scope)
    assert clean == GOOD
    assert clean["tags"] is not GOOD["tags"]


@pytest.mark.parametrize(("scope", "pairs", "owner"),
                         [("store", 10, "A knowledge store"), ("collection", 10, "A collection"),
                          ("item", 50, "An item")])
def test_pair_count_limit_per_scope(scope: Any, pairs: int, owner: str) -> None:
    validate_metadata({f"k{i}": i for i in range(pairs)}, scope)
    with pytest.raises(InvalidInputError) as info:
        validate_metadata({f"k{i}": i for i in range(pairs + 1)}, scope)
    assert info.value.message == (
        f"{owner} can have at most {pairs} metadata entries; this one has {pairs + 1}.")
    assert isinstance(info.value, InvalidRequestError)
    assert info.value.code == "parameter_invalid"


@pytest.mark.parametrize(("scope", "limit"), [("store", 2048), ("collection", 2048),
                                              ("item", 8192)])
def test_string_length_limit_per_scope(scope: Any, limit: int) -> None:
    validate_metadata({"note": "x" * limit, "list": ["y" * limit]}, scope)
    with pytest.raises(InvalidInputError) as info:
        validate_metadata({"note": "x" * (limit + 1)}, scope)
    assert info.value.message == (
        f"The metadata value of 'note' is longer than {limit:,} characters.")
    with pytest.raises(InvalidInputError, match="A text in the metadata list 'list'"):
        validate_metadata({"list": ["y" * (limit + 1)]}, scope)


def test_key_rules() -> None:
    validate_metadata({"k" * 128: 1}, "store")
    with pytest.raises(InvalidInputError) as info:
        validate_metadata({"k" * 129: 1}, "store")
    assert info.value.message == (
        f"The metadata name '{'k' * 39}…' is longer than 128 characters.")
    for bad in ("", "   "):
        with pytest.raises(InvalidInputError, match=r"A metadata name must be non-empty text\."):
            validate_metadata({bad: 1}, "item")
    with pytest.raises(InvalidInputError, match="non-empty text"):
        validate_metadata({3: 1}, "item")  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        (None, "The metadata value of 'v' is empty (null); remove the entry instead."),
        ({"nested": 1}, "The metadata value of 'v' must be text, a number, true or false, "
                        "or a list of texts."),
        ([1, 2], "The metadata list 'v' may hold only text."),
        (["a", None], "The metadata list 'v' may hold only text."),
        ([["a"]], "The metadata list 'v' may hold only text."),
        (MAX_SAFE_INTEGER + 1, "The metadata value of 'v' is a whole number too large to send "
                               "exactly (beyond 2^53); store it as text instead."),
        (-(MAX_SAFE_INTEGER + 1), "The metadata value of 'v' is a whole number too large to "
                                  "send exactly (beyond 2^53); store it as text instead."),
        (float("nan"), "The metadata value of 'v' must be a finite number."),
        (float("inf"), "The metadata value of 'v' must be a finite number."),
    ],
)
def test_values_of_the_wrong_kind_are_refused_with_a_sentence(value: Any, sentence: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_metadata({"v": value}, "item")
    assert info.value.message == sentence
    assert str(info.value) == f"The request was not sent. {sentence}"


def test_a_server_map_is_read_leniently_with_types_kept() -> None:
    raw = {"team": "ops", "n": 3, "x": 1.5, "ok": True, "tags": ["a", "b"], "null": None,
           "nested": {"a": 1}, "mixed": ["a", 1], "inf": float("inf")}
    assert metadata_from_json(raw) == {"team": "ops", "n": 3, "x": 1.5, "ok": True,
                                       "tags": ["a", "b"]}
    assert metadata_from_json(["not", "a", "map"]) == {}


def test_stores_and_items_carry_typed_metadata() -> None:
    store = KnowledgeStore.from_json({"_id": "ks_1", "name": "S",
                                      "metadata": {"season": 2026, "public": True}})
    item = KnowledgeStoreItem.from_json({"_id": "ksi_1", "metadata": {"tags": ["goal"],
                                                                      "rating": 4.5}})
    assert store.metadata == {"season": 2026, "public": True}
    assert item.metadata == {"tags": ["goal"], "rating": 4.5}
