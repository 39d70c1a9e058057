"""QA fixes in the client: announced retry waits, malformed keys, refused base URLs.

Each test failed before its fix: the stream slept through a 429 silently, a key with a line
break or a typographic character raised NetworkError / UnicodeEncodeError, and any base URL
(plain http to another host included) was accepted.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from jockey_desktop.core.api import (
    AuthenticationError,
    CancelToken,
    JockeyClient,
    MalformedKeyError,
    RequestCancelledError,
    ResponseCreated,
    ResponseDone,
    RetryWait,
)
from jockey_desktop.core.api.urls import PLAIN_HTTP_PROBLEM
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


# --- RetryWait -----------------------------------------------------------------------------


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


# --- malformed keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "tlk_ABC\nDEF123",          # a line break inside a pasted key
        "tlk_ABC\r\nDEF123",
        "tlk_ABC\u2019DEF123",      # a typographic apostrophe (not Latin-1)
        "tlk_ABC\u00a0DEF123",      # a non-breaking space (Latin-1, still not sendable)
        "tlk_ABCDEF\u00e9123",      # Latin-1 letter: http.client would send it, the API can't
        "tlk_\x00ABCDEF",
    ],
)
def test_a_malformed_key_is_an_authentication_error_without_the_key(
    server: FakeServer, sleeps: Sleeps, key: str
) -> None:
    server.handle = lambda req: req.json(200, {"data": [], "page_info": {"total_page": 1}})
    client = JockeyClient(key, server.url, sleep=sleeps)  # building the client never raises
    for call in (
        client.list_knowledge_stores,
        lambda: list(client.stream_response(STORE, "Q")),
        lambda: client.create_response(STORE, "Q"),
    ):
        with pytest.raises(AuthenticationError) as info:
            call()
        assert isinstance(info.value, MalformedKeyError)
        text = str(info.value)
        assert text == (
            "The API key contains characters that can't be sent (a line break or a "
            "non-ASCII character); paste it again."
        )
        assert key not in text and key not in repr(info.value)
        assert "DEF123" not in text and "ABCDEF" not in text
    assert server.requests == [], "nothing is sent with a malformed key"
    assert sleeps.calls == []


def test_surrounding_whitespace_of_a_key_is_not_malformed(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(200, {"data": [], "page_info": {"total_page": 1}})
    client = JockeyClient("  tlk_OK123\n", server.url, sleep=sleeps)
    assert client.list_knowledge_stores() == []
    assert server.requests[0].headers["x-api-key"] == "tlk_OK123"


# --- base URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://api.example.com/v1.3", "http://192.168.1.20:8080/v1.3", "ftp://x/v1.3"]
)
def test_a_base_url_with_a_problem_is_refused(url: str) -> None:
    with pytest.raises(ValueError) as info:
        JockeyClient("k", url)
    assert str(info.value) != "k" and url not in str(info.value)
    if url.startswith("http://"):
        assert str(info.value) == PLAIN_HTTP_PROBLEM


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v1.3", "http://localhost/v1.3",
            "https://api.twelvelabs.io/v1.3"]
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert JockeyClient("k", url).base_url == url
