"""The socket server under load and against slow clients: backlog, deadlines, connection cap."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from jockey_desktop.sandbox import Pace, SandboxServer
from jockey_desktop.sandbox.server import ConnectionLimits
from tests.helpers.sandbox_http import raw_exchange, split_reply

GET_STORES = (b"GET /v1.3/knowledge-stores HTTP/1.1\r\nHost: sandbox\r\nx-api-key: sandbox\r\n"
              b"Connection: close\r\n\r\n")


def _address(server: SandboxServer) -> tuple[str, int]:
    parts = urlsplit(server.base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox with short deadlines and room for only two connections."""
    limits = ConnectionLimits(max_connections=2, idle_timeout=0.3, header_timeout=0.3,
                              body_timeout=0.3)
    server = SandboxServer(state_dir=tmp_path / "state", pace=Pace.instant(), limits=limits)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_two_hundred_simultaneous_connections_are_all_answered(sandbox: SandboxServer) -> None:
    count = 200
    barrier = threading.Barrier(count)
    replies: list[bytes | Exception] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            reply = raw_exchange(sandbox, GET_STORES, timeout=30)
        except Exception as exc:  # recorded: a dropped connection fails the test below
            reply = exc  # type: ignore[assignment]
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(replies) == count
    statuses = []
    for reply in replies:
        assert isinstance(reply, bytes), reply
        status, headers, body = split_reply(reply)
        statuses.append(status)
        if status == 503:
            assert headers["retry-after"] == "1"
            assert json.loads(body)["code"] == "server_busy"
        else:
            assert json.loads(body)["data"]
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 1


def test_past_the_cap_a_connection_gets_503_with_retry_after() -> None:
    limits = ConnectionLimits(max_connections=2, idle_timeout=30)
    with SandboxServer(pace=Pace.instant(), limits=limits) as server:
        held = [socket.create_connection(_address(server), timeout=10) for _ in range(2)]
        try:
            assert _wait_for(lambda: server.connection_count == 2)
            status, headers, body = split_reply(raw_exchange(server, GET_STORES))
            assert status == 503 and headers["retry-after"] == "1"
            assert headers["content-type"].startswith("application/json")
            error = json.loads(body)
            assert error["code"] == "server_busy" and "try again" in error["message"]
        finally:
            held.pop().close()
        # A slot is free again: the next connection is served.
        assert _wait_for(lambda: server.connection_count == 1)
        status, _, _ = split_reply(raw_exchange(server, GET_STORES))
        assert status == 200
        held[0].close()


def test_headers_trickling_in_past_the_deadline_get_408(strict: SandboxServer) -> None:
    with socket.create_connection(_address(strict), timeout=10) as sock:
        sock.sendall(b"GET /v1.3/knowledge-stores HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sock.settimeout(0.05)
        reply = b""
        give_up = time.monotonic() + 10
        # One byte at a time, never finishing: each byte is quick, the request is not.
        while not reply and time.monotonic() < give_up:
            try:
                sock.sendall(b"a")
                reply = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
        sock.settimeout(10)
        reply += _read_all(sock)
    status, headers, body = split_reply(reply)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body)["code"] == "request_timeout"


def test_a_body_that_stops_arriving_gets_408(strict: SandboxServer) -> None:
    with socket.create_connection(_address(strict), timeout=10) as sock:
        sock.sendall(b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"kn")
        reply = _read_all(sock)
    status, _, body = split_reply(reply)
    assert status == 408 and json.loads(body)["code"] == "request_timeout"


def test_an_idle_connection_is_closed_without_a_reply(strict: SandboxServer) -> None:
    with socket.create_connection(_address(strict), timeout=10) as sock:
        assert _read_all(sock) == b""
    # A served keep-alive connection is closed the same way once idle.
    with socket.create_connection(_address(strict), timeout=10) as sock:
        sock.sendall(GET_STORES.replace(b"Connection: close\r\n", b""))
        reply = _read_all(sock)
    assert split_reply(reply)[0] == 200


@pytest.mark.parametrize("length", [b"9" * 20, b"9" * 5000, b"0" * 4000 + b"99999999"])
def test_a_content_length_too_long_to_be_a_size_is_413(sandbox: SandboxServer,
                                                       length: bytes) -> None:
    reply = raw_exchange(sandbox, b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\n"
                                  b"x-api-key: sandbox\r\nContent-Length: " + length
                                  + b"\r\n\r\n{}")
    status, _, body = split_reply(reply)
    assert status == 413 and json.loads(body)["code"] == "payload_too_large"


@pytest.mark.parametrize("bad", [{"max_connections": 0}, {"idle_timeout": 0},
                                 {"header_timeout": float("nan")},
                                 {"body_timeout": float("inf")},
                                 {"write_timeout": -1.0}])
def test_limits_reject_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ConnectionLimits(**bad)  # type: ignore[arg-type]
