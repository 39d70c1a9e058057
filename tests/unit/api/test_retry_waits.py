"""Announced waits before an allowed resend: a stream says ``RetryWait`` before it sleeps
through a 429 or 503 with Retry-After, a stop ends the wait at once, and non-streamed calls
wait silently."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from jockey_desktop.core.api import (
    CancelToken,
    JockeyClient,
    RequestCancelledError,
    ResponseCreated,
    ResponseDone,
    RetryWait,
)
from tests.helpers.jockey_stream import STORE, standard_events

from .fakeserver import FakeServer, Request, Sleeps, error_body, make_client


def _rate_limited_once(retry_after: str, status: int = 429) -> Any:
    def handle(req: Request) -> None:
        if req.index == 0:
            req.json(status, error_body("too_many_requests", "Slow down."),
                     {"Retry-After": retry_after})
        else:
            req.sse(standard_events(["Hi ", "there"]))
    return handle


def test_stream_announces_the_rate_limit_wait_before_sleeping(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = _rate_limited_once("18")
    seen_sleeps_at_wait: list[int] = []
    out: list[Any] = []
    for event in make_client(server, sleeps).stream_response(STORE, "Q"):
        if isinstance(event, RetryWait):
            seen_sleeps_at_wait.append(len(sleeps.calls))
        out.append(event)
    waits = [e for e in out if isinstance(e, RetryWait)]
    assert [(w.seconds, w.reason) for w in waits] == [(18.0, "rate_limited")]
    assert seen_sleeps_at_wait == [0], "the wait is announced before the client sleeps"
    assert sleeps.calls == [18.0]
    assert isinstance(out[1], ResponseCreated) and isinstance(out[-1], ResponseDone)
    assert out[-1].response.text == "Hi there"
    assert len(server.requests) == 2


def test_stream_announces_a_503_wait_as_unavailable(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = _rate_limited_once("3", status=503)
    waits = [e for e in make_client(server, sleeps).stream_response(STORE, "Q")
             if isinstance(e, RetryWait)]
    assert [(w.seconds, w.reason) for w in waits] == [(3.0, "unavailable")]


def test_a_stop_during_the_retry_wait_ends_it_within_a_second(server: FakeServer) -> None:
    server.handle = _rate_limited_once("30")
    token = CancelToken()
    # The real (cancellable) pause: no injected sleep.
    client = JockeyClient("k", server.url)
    events = client.stream_response(STORE, "Q", cancel=token)
    first = next(events)
    assert isinstance(first, RetryWait) and first.seconds == 30.0
    threading.Timer(0.2, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(RequestCancelledError):
        next(events)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    assert len(server.requests) == 1, "nothing was resent after the stop"
    client.close()


def test_non_streamed_requests_still_retry_without_events(
    server: FakeServer, sleeps: Sleeps
) -> None:
    def handle(req: Request) -> None:
        if req.index == 0:
            req.json(429, error_body("too_many_requests", "Slow down."), {"Retry-After": "2"})
        else:
            req.json(200, {"id": "ks_1", "name": "S", "status": "ready"})
    server.handle = handle
    store = make_client(server, sleeps).get_knowledge_store("ks_1")
    assert store.id == "ks_1" and sleeps.calls == [2.0]
