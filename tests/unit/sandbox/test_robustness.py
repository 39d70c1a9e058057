"""Hostile input never gets a 5xx: random bodies, numbers at and past every boundary, raw HTTP
oddities (JSON errors); stop() is quick."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop.sandbox import MAX_BODY_BYTES, Pace, SandboxServer
from tests.helpers.sandbox_http import NATURE, Api, body_for, raw_exchange, split_reply


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One server for the whole hypothesis run (function fixtures would restart it)."""
    server = SandboxServer(state_dir=tmp_path_factory.mktemp("fuzz"), pace=Pace.instant())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared(shared_server: SandboxServer) -> Iterator[tuple[Api, str]]:
    """A client of the shared server and the sample nature store's id."""
    with Api(shared_server.base_url) as api:
        yield api, api.store_id(NATURE)


_json = st.recursive(
    # Non-finite floats go out as NaN/Infinity literals, which the server must refuse cleanly.
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats()
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
_field = st.sampled_from(["knowledge_store_id", "tools", "input", "session_id", "instructions",
                          "include", "stream", "selections", "text", "model", "metadata",
                          "max_output_tokens", "other"])


@st.composite
def _bodies(draw: st.DrawFn, store: str) -> Any:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(_json)
    body: dict[str, Any] = body_for(store, draw(st.text(min_size=1, max_size=40)))
    for _ in range(draw(st.integers(1, 4))):
        field = draw(_field)
        if draw(st.booleans()):
            body[field] = draw(_json)
        else:
            body.pop(field, None)
    return body


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_bodies_never_get_5xx(shared: tuple[Api, str], data: st.DataObject) -> None:
    api, store = shared
    body = data.draw(_bodies(store))
    # Serialised here: requests refuses NaN/Infinity, but a client may still send them.
    response = api.http.post(api.base + "/responses", data=json.dumps(body).encode(),
                             headers=api.headers(), timeout=10)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        payload = response.json()
        assert set(payload) == {"code", "message", "docs_url"}
    elif body.get("stream") is True:
        assert response.text.endswith("data: [DONE]\n\n")
    else:
        assert response.json()["object"] == "response"


# ----------------------------------------------------------------- numbers at every boundary
_COUNT = st.integers(-3, 60).map(str)
_NINE_DIGITS = st.integers(10**8 - 2, 10**10 + 2).map(str)
_ODD_TEXT = st.sampled_from(["", " 7", "+5", "0x10", "1e3", "1.0", "inf", "-inf", "nan",
                             "NaN", "Infinity", "\u0663", "9" * 400, "9" * 5000,
                             "0" * 5000 + "1", "0" * 5000])


def _positive(text: str, maximum: int | None = None) -> bool:
    """The documented rule: a decimal integer ≥ 1 of at most 9 significant digits."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > 9:
        return False
    value = int(text.lstrip("0") or "0")
    return value >= 1 and (maximum is None or value <= maximum)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(["page", "page_limit"]),
       value=st.one_of(_COUNT, _NINE_DIGITS, _ODD_TEXT))
def test_list_numbers_at_and_past_the_boundaries(shared: tuple[Api, str], name: str,
                                                 value: str) -> None:
    api, _store = shared
    response = api.get("/knowledge-stores", params={name: value})
    valid = _positive(value, 50 if name == "page_limit" else None)
    assert response.status_code == (200 if valid else 400), (name, value[:40], response.text)
    if not valid:
        assert response.json()["code"] == "parameter_invalid"


_LITERALS = st.one_of(
    st.integers(-2, 3).map(str),
    st.integers(10**29 - 2, 10**30 + 2).map(str),  # 29, 30 and 31 digits
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e308", "1.0", "1e2",
                     "0.5", "9" * 4300, "9" * 4400, "-" + "9" * 5000]),
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(literal=_LITERALS)
def test_body_numbers_at_and_past_the_boundaries(shared: tuple[Api, str], literal: str) -> None:
    api, store = shared
    raw = json.dumps(body_for(store, "cheetah", max_output_tokens=0)).replace(
        '"max_output_tokens": 0', f'"max_output_tokens": {literal}')
    response = api.http.post(api.base + "/responses", data=raw.encode(), timeout=10,
                             headers=api.headers())
    digits = literal.lstrip("-")
    valid = digits.isdigit() and len(digits) <= 30 and int(literal) >= 1
    assert response.status_code == (200 if valid else 400), (literal[:40], response.text)
    if not valid:
        assert response.json()["code"] == "parameter_invalid"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(count=st.integers(0, 3),
       index=st.one_of(st.integers(0, 5).map(str),
                       st.sampled_from(["999999", "1000000", "0000000", "9" * 4400])))
def test_selection_indexes_at_and_past_the_boundaries(shared: tuple[Api, str], count: int,
                                                      index: str) -> None:
    api, store = shared
    items = [i["_id"] for i in api.ready_items(store)][:count]
    response = api.post(body_for(store, f"What happens in {{{{sel:{index}}}}}?",
                                 selections=[{"kind": "item", "id": i} for i in items]))
    valid = len(index) <= 6 and int(index) < count
    assert response.status_code == (200 if valid else 400), (count, index[:40], response.text)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(length=st.one_of(st.sampled_from([MAX_BODY_BYTES - 1, MAX_BODY_BYTES,
                                         MAX_BODY_BYTES + 1]).map(str),
                        st.integers(0, 4 * MAX_BODY_BYTES).map(str),
                        st.sampled_from(["9" * 20, "9" * 5000, "0" * 5000 + "2", "-1", "1.5",
                                         "0x10", "inf", "nan", "1e6"])))
def test_content_lengths_at_and_past_the_boundaries(shared_server: SandboxServer,
                                                    length: str) -> None:
    request = (b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
               b"Content-Length: " + length.encode() + b"\r\n\r\n{}")
    status, _, body = split_reply(raw_exchange(shared_server, request, end_request=True))
    if not length.isdigit():
        assert status == 400
    elif len(length.lstrip("0")) > 9 or int(length.lstrip("0") or "0") > MAX_BODY_BYTES:
        assert status == 413
    else:
        assert status == 400  # a body of "{}" (or a cut of it) is never a valid request
    assert json.loads(body)["code"]


def test_malformed_request_line_gets_json(sandbox: SandboxServer) -> None:
    reply = raw_exchange(sandbox, b"THIS IS NOT HTTP\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert json.loads(body)["message"]


def test_bad_content_length(sandbox: SandboxServer) -> None:
    reply = raw_exchange(sandbox, b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\n"
                                  b"x-api-key: sandbox\r\nContent-Length: ten\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0] and json.loads(body)["code"]


def test_chunked_body_is_accepted(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    payload = json.dumps(body_for(nature_id, "cheetah")).encode()

    def chunks() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = api.http.post(api.base + "/responses", data=chunks(), timeout=10,
                             headers={"x-api-key": "sandbox",
                                      "Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["status"] == "completed"


def test_keep_alive_connection_survives_errors(api: Api, nature_id: str) -> None:
    # The same pooled connection is reused after 4xx replies with bodies.
    assert api.post(body_for(nature_id, temperature=1)).status_code == 400
    assert api.post(body_for(nature_id), key="bad").status_code == 401
    assert api.post(body_for(nature_id)).status_code == 200


def test_concurrent_streams(sandbox: SandboxServer, nature_id: str) -> None:
    results: list[bool] = []

    def run() -> None:
        with Api(sandbox.base_url) as api:
            text = api.ask(nature_id, "wolves and caribou", stream=True).text
        results.append(text.endswith("data: [DONE]\n\n"))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [True] * 6


def test_stop_is_quick_with_streams_in_flight(tmp_path: Path) -> None:
    server = SandboxServer(state_dir=tmp_path / "s",
                           pace=Pace(first_token_delay=30, keepalive_interval=0.05))
    server.start()
    api = Api(server.base_url)
    store = api.store_id(NATURE)
    started = threading.Event()
    outcome: list[str] = []

    def run() -> None:
        try:
            with api.http.post(api.base + "/responses", json=body_for(store, "x", stream=True),
                               headers=api.headers(), stream=True, timeout=10) as response:
                for line in response.iter_lines():
                    if b"keepalive" in line:
                        started.set()
            outcome.append("ended")
        except requests.RequestException:
            outcome.append("error")

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    begin = time.monotonic()
    server.stop()
    assert time.monotonic() - begin < 1.5
    thread.join(5)
    api.http.close()
    assert not thread.is_alive() and outcome
    server.stop()  # idempotent


def test_repr_never_shows_the_key(tmp_path: Path) -> None:
    server = SandboxServer(api_key="very-secret-key", state_dir=tmp_path)
    assert "very-secret-key" not in repr(server)
    server.start()
    try:
        assert "very-secret-key" not in repr(server) and server.base_url in repr(server)
    finally:
        server.stop()


def test_unknown_path_with_body_keeps_connection_usable(api: Api, nature_id: str) -> None:
    response = api.http.post(api.base + "/nowhere", json=body_for(nature_id), timeout=10)
    assert response.status_code == 404
    assert api.post(body_for(nature_id)).status_code == 200


def test_negative_chunk_size_is_rejected(sandbox: SandboxServer) -> None:
    reply = raw_exchange(sandbox, b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\n"
                                  b"x-api-key: sandbox\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"-5\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0] and json.loads(body)["code"]
