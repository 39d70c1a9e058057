"""Hostile input to the resource endpoints' parsers: any JSON, form body, time parameter or
segment bytes gives the documented 4xx error (or a clean ValueError for segment files), never
an unexpected exception — i.e. never a 500."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jockey_desktop.sandbox.bodies import (
    ITEM_METADATA,
    STORE_METADATA,
    json_object,
    validate_ingestion_config,
    validate_metadata,
)
from jockey_desktop.sandbox.formdata import BodyReader, Part, parse_form
from jockey_desktop.sandbox.media import SegmentTemplate, strip_repeated_tables
from jockey_desktop.sandbox.media_routes import seconds_param
from jockey_desktop.sandbox.search import validate_search
from jockey_desktop.sandbox.validation import ApiError

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)
_numbers = st.one_of(
    st.integers(), st.floats(), st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 10**400]))


def _only_api_errors(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except ApiError as err:
        assert 400 <= err.status < 500 and err.message


@settings(max_examples=150, deadline=None)
@given(_json)
def test_metadata_and_schemas(value: Any) -> None:
    _only_api_errors(validate_metadata, value, STORE_METADATA)
    _only_api_errors(validate_metadata, {"k": value}, ITEM_METADATA)
    _only_api_errors(validate_ingestion_config, value)
    _only_api_errors(validate_ingestion_config, {"enrichment_config": {
        "type": "json_schema", "json_schema": {"type": "object", "properties": value}}})


@settings(max_examples=100, deadline=None)
@given(_numbers)
def test_metadata_numbers_at_and_past_the_limits(number: Any) -> None:
    _only_api_errors(validate_metadata, {"n": number}, ITEM_METADATA)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_search_bodies(value: Any) -> None:
    for body in (value, {"query": {"text": "x"}, "filter": value},
                 {"query": {"text": "x"}, "search_options": value},
                 {"query": {"text": "x"}, "page_size": value}):
        try:
            raw = json.dumps(body).encode()
        except ValueError:
            continue  # NaN and infinity are not JSON
        _only_api_errors(validate_search, raw)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_raw_json_bodies(raw: bytes) -> None:
    _only_api_errors(json_object, raw, ("name",))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=500))
def test_time_parameters(text: str) -> None:
    try:
        value = seconds_param({"t": [text]}, "t", 0.0, 3600.0)
    except ApiError as err:
        assert err.status == 400
    else:
        assert 0.0 <= value <= 3600.0


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([b"B", b"xyz"]))
def test_form_bodies(raw: bytes, boundary: bytes) -> None:
    headers = {"Content-Length": str(len(raw))}
    received: list[bytes] = []

    class Sink:
        def write(self, data: bytes) -> None:
            received.append(data)

    def open_file(part: Part) -> Sink:
        return Sink()

    _only_api_errors(parse_form, BodyReader(io.BytesIO(raw), headers), boundary, open_file)


# Packets with a sync byte, PAT or PES PIDs with the start flag, all adaptation-field kinds.
_headers = st.tuples(st.sampled_from([0x40, 0x41, 0x50, 0x00]), st.sampled_from([0x00, 0x00]),
                     st.integers(0, 255)).map(lambda t: bytes([0x47, *t]))
_bodies = st.binary(min_size=184, max_size=184) | st.sampled_from([
    b"\x00\x00\x01\xe0\x00\x00\x80\xc0\x0a" + b"\xff" * 175, b"\xb7" + b"\x10" * 183,
    b"\x00" * 184, b"\xff" * 184])
_packets = st.lists(st.tuples(_headers, _bodies).map(lambda t: t[0] + t[1]),
                    min_size=1, max_size=6).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=188 * 4) | _packets)
def test_segment_bytes(raw: bytes) -> None:
    # Anything but a clean ValueError (an IndexError, say) fails the test.
    for call in (SegmentTemplate, strip_repeated_tables):
        with contextlib.suppress(ValueError):
            call(raw)
