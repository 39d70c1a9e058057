"""Hostile input never gets a 5xx, raw HTTP oddities get JSON errors, stop() is quick."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop.sandbox import Pace, SandboxServer
from tests.helpers.sandbox_http import NATURE, Api, body_for


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    """One server for the whole hypothesis run (function fixtures would restart it)."""
    server = SandboxServer(state_dir=tmp_path_factory.mktemp("fuzz"), pace=Pace.instant())
    server.start()
    api = Api(server.base_url)
    try:
        yield api, api.store_id(NATURE)
    finally:
        api.http.close()
        server.stop()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
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
    response = api.post(body)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        payload = response.json()
        assert set(payload) == {"code", "message", "docs_url"}
    elif body.get("stream") is True:
        assert response.text.endswith("data: [DONE]\n\n")
    else:
        assert response.json()["object"] == "response"


def _raw(server: SandboxServer, request: bytes) -> bytes:
    parts = urlsplit(server.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_malformed_request_line_gets_json(sandbox: SandboxServer) -> None:
    reply = _raw(sandbox, b"THIS IS NOT HTTP\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert json.loads(body)["message"]


def test_bad_content_length(sandbox: SandboxServer) -> None:
    reply = _raw(sandbox, b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
                          b"Content-Length: ten\r\n\r\n")
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
    reply = _raw(sandbox, b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n-5\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0] and json.loads(body)["code"]
