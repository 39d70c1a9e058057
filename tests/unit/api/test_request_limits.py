"""Bounds on what a server can make the client do: overall deadlines, body and event sizes.

Each of these failed before its fix (issue 10, items 7 and 8): a server sending one byte a
second held a GET far past its read timeout, a gzip body inflated without limit in memory,
and one huge stream event was buffered without end.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib

import pytest

from jockey_desktop.core.api import (
    ProtocolError,
    RequestTimedOutError,
    ResponseCreated,
    ServerError,
)
from tests.helpers.jockey_stream import SESS, STORE, base_response, numbered

from .fakeserver import FakeServer, Request, Sleeps, make_client

STORE_JSON = {"_id": STORE, "name": "Store"}


def _head(length: int, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
            f"{extra}\r\n").encode()


def test_a_body_trickled_byte_by_byte_ends_at_the_deadline(
    server: FakeServer, sleeps: Sleeps
) -> None:
    body = json.dumps(STORE_JSON).encode()

    def handle(req: Request) -> None:
        req.handler.close_connection = True
        req.write(_head(len(body)))
        req.trickle(body, 0.1)  # each gap far below the read timeout

    server.handle = handle
    client = make_client(server, sleeps, read_timeout=5.0, request_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(RequestTimedOutError) as info:
        client.get_knowledge_store(STORE)
    assert time.monotonic() - started < 10
    assert str(info.value) == (
        "The Jockey server took too long to answer. The server did not finish its answer "
        "within 0.5 s."
    )
    assert len(server.requests) == 1, "a trickling server is not asked again"
    assert sleeps.calls == []


def test_headers_trickled_byte_by_byte_end_at_the_deadline(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.trickle(_head(2) + b"{}", 0.1)
    client = make_client(server, sleeps, read_timeout=5.0, request_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(RequestTimedOutError):
        client.list_items(STORE)
    assert time.monotonic() - started < 10


def test_the_deadline_leaves_quick_answers_and_kept_alive_connections_alone(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(200, STORE_JSON)
    client = make_client(server, sleeps, request_deadline=5.0)
    for _ in range(3):
        assert client.get_knowledge_store(STORE).name == "Store"
    ports = {r.client_port for r in server.requests}
    assert len(ports) == 1, "GETs still share one kept-alive connection"
    assert all(r.headers.get("connection") != "close" for r in server.requests)


def _gzip_of_zeros(total: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b"\0" * (1024 * 1024)
    out = [compressor.compress(block) for _ in range(total // len(block))]
    out.append(compressor.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """64 MiB of zeros, about 64 KiB compressed."""
    return _gzip_of_zeros(64 * 1024 * 1024)


def test_a_gzip_bomb_is_refused_without_inflating_it(
    server: FakeServer, sleeps: Sleeps, gzip_bomb: bytes
) -> None:
    server.handle = lambda req: req.raw(200, gzip_bomb, {
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    client = make_client(server, sleeps, max_body_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError) as info:
            client.get_knowledge_store(STORE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        "The server's reply could not be understood. The server's answer was larger than "
        "1 MiB, so it was not read."
    )
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes while refusing a 64 MiB body"
    assert len(server.requests) == 1


def test_a_compressed_answer_within_the_cap_is_decoded(
    server: FakeServer, sleeps: Sleeps
) -> None:
    packed = gzip.compress(json.dumps(STORE_JSON).encode())
    server.handle = lambda req: req.raw(200, packed, {
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert make_client(server, sleeps, max_body_bytes=1024).get_knowledge_store(STORE).id == STORE


def test_an_oversized_error_body_still_maps_by_status(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.raw(500, b"x" * (3 * 1024 * 1024),
                                        {"Content-Type": "text/plain"})
    with pytest.raises(ServerError):
        make_client(server, sleeps, max_retries=0).get_knowledge_store(STORE)


def test_a_huge_stream_event_is_a_protocol_error_with_the_session(
    server: FakeServer, sleeps: Sleeps
) -> None:
    created = numbered([{"type": "response.created", "response": base_response()}])[0]

    def handle(req: Request) -> None:
        req.start_sse()
        req.write(f"event: response.created\ndata: {json.dumps(created)}\n\n")
        req.write(b"event: response.output_text.delta\ndata: ")
        block = b"z" * (256 * 1024)
        for _ in range(40):  # 10 MiB, no line end
            req.write(block)
        req.stall(5)

    server.handle = handle
    events = []
    with pytest.raises(ProtocolError) as info:
        for event in make_client(server, sleeps).stream_response(STORE, "Q"):
            events.append(event)
    assert isinstance(events[0], ResponseCreated)
    assert info.value.session_id == SESS
    assert "larger than 8 MiB" in str(info.value)
