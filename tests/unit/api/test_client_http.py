"""JockeyClient over real loopback HTTP against a scripted fake server.

Covers headers, error mapping, the retry policy, redirects, timeouts, cancel and paging.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

import pytest
import requests
import urllib3

from jockey_desktop import __version__
from jockey_desktop.core.api import (
    AuthenticationError,
    CancelToken,
    ForbiddenError,
    InvalidRequestError,
    JockeyClient,
    KeepAlive,
    NetworkError,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    RequestTimedOutError,
    ResponseCreated,
    ResponseDone,
    Selection,
    ServerError,
    SessionLostError,
    SessionStoreMismatchError,
    StoreNotFoundError,
    TextDelta,
)
from jockey_desktop.core.api.transport import map_transport_error
from tests.helpers.jockey_stream import SESS, STORE, base_response, message, standard_events

from .fakeserver import KEY, FakeServer, Request, Sleeps, error_body, make_client


def completed(text: str = "Hello [00:01-00:02]") -> dict[str, Any]:
    return base_response("completed", [message(text)])


# --- requests as sent -----------------------------------------------------------------


def test_create_response_sends_documented_request(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(200, completed())
    with make_client(server, sleeps) as client:
        resp = client.create_response(STORE, "What happens?", session_id=SESS,
                                      instructions="Be brief")
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1.3/responses")
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["user-agent"] == f"JockeyDesktop/{__version__} (+python-requests)"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "knowledge_store_id": STORE, "session_id": SESS,
        "instructions": "Be brief", "stream": False,
        "input": [{"type": "message", "role": "user", "content": "What happens?"}],
    }
    assert resp.text == "Hello [00:01-00:02]" and resp.session_id == SESS
    assert resp.citations[0].kind == "inline_time"
    assert resp.usage.input_tokens == 3


def test_structured_output_text_is_json_string(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(200, completed('{"themes": ["a", "b"]}'))
    client = make_client(server, sleeps)
    resp = client.create_response(
        STORE, "Q", text_format={"type": "json_schema", "name": "t", "schema": {}},
        selections=[Selection("item", "ksi_1")], include_steps=True)
    assert resp.parsed_json() == {"themes": ["a", "b"]}
    sent = server.requests[0].json()
    assert sent["text"]["format"]["name"] == "t"
    assert sent["selections"] == [{"kind": "item", "id": "ksi_1"}]
    assert sent["include"] == ["intermediate_outputs"]
    server.handle = lambda req: req.json(200, completed("not json"))
    assert client.create_response(STORE, "Q").parsed_json() is None


def test_failed_status_on_http_200_raises(server: FakeServer, sleeps: Sleeps) -> None:
    failed = base_response("failed")
    failed["error"] = {"code": "internal_server_error", "message": "Agent failed"}
    server.handle = lambda req: req.json(200, failed)
    with pytest.raises(ServerError) as info:
        make_client(server, sleeps).create_response(STORE, "Q")
    assert info.value.session_id == SESS


@pytest.mark.parametrize(
    ("body", "headers"),
    [(b"<html>hi</html>", {"Content-Type": "text/html"}),
     (b'{"id": "resp_1", "sta', {"Content-Type": "application/json"})],
)
def test_wrong_content_type_or_bad_json_is_protocol_error(
        server: FakeServer, sleeps: Sleeps, body: bytes, headers: dict[str, str]) -> None:
    server.handle = lambda req: req.raw(200, body, headers)
    with pytest.raises(ProtocolError):
        make_client(server, sleeps).create_response(STORE, "Q")


# --- error mapping over HTTP ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "session", "cls"),
    [
        (401, error_body("api_key_invalid", "The API key is invalid."), None,
         AuthenticationError),
        (403, error_body("api_allowed_for_paid_plan", "Paid plans only."), None,
         ForbiddenError),
        (404, error_body("resource_not_exist",
                         f"The session `{SESS}` does not exist or has expired."), SESS,
         SessionLostError),
        (404, error_body("resource_not_exist", "The knowledge store `ks_x` does not exist."),
         None, StoreNotFoundError),
        (400, error_body("parameter_invalid",
                         f"Session {SESS} belongs to knowledge store ks_other."), SESS,
         SessionStoreMismatchError),
        (400, error_body("weird_new_code", "Nope."), None, InvalidRequestError),
        (500, error_body("internal_server_error", "Boom."), None, ServerError),
    ],
)
def test_http_errors_map_to_classes(server: FakeServer, sleeps: Sleeps, status: int,
                                    body: dict[str, str], session: str | None,
                                    cls: type[Exception]) -> None:
    server.handle = lambda req: req.json(status, body)
    client = make_client(server, sleeps)
    with pytest.raises(cls) as info:
        client.create_response(STORE, "Q", session_id=session)
    assert type(info.value) is cls
    assert body["message"].rstrip(".") in str(info.value)
    # streamed requests fail the same way, before any event
    with pytest.raises(cls):
        list(client.stream_response(STORE, "Q", session_id=session))


def test_key_is_redacted_from_errors_repr_and_logs(
        server: FakeServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.handle = lambda req: req.json(401, error_body("api_key_invalid",
                                                         f"Key {KEY} is invalid."))
    client = make_client(server, sleeps)
    with pytest.raises(AuthenticationError) as info:
        client.get_knowledge_store("ks_1")
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert "[redacted]" in str(info.value)
    assert KEY not in repr(client)
    assert KEY not in caplog.text
    assert "/knowledge-stores/ks_1" in caplog.text  # logging did happen


def test_empty_key_rejected_without_request() -> None:
    with pytest.raises(AuthenticationError):
        JockeyClient("   ", "http://127.0.0.1:9/v1.3")


# --- retries --------------------------------------------------------------------------


def test_post_not_retried_after_500(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(500, error_body("internal_server_error", "x"))
    with pytest.raises(ServerError):
        make_client(server, sleeps).create_response(STORE, "Q")
    assert len(server.requests) == 1 and sleeps.calls == []


def test_post_not_retried_on_503_without_retry_after(server: FakeServer,
                                                      sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(503, error_body("unavailable", "x"))
    with pytest.raises(ServerError):
        make_client(server, sleeps).create_response(STORE, "Q")
    assert len(server.requests) == 1


def test_post_retried_on_429_with_retry_after(server: FakeServer, sleeps: Sleeps) -> None:
    def handle(req: Request) -> None:
        if req.index == 0:
            req.json(429, error_body("too_many_requests", "Slow down."), {"Retry-After": "7"})
        elif req.index == 1:
            req.json(503, error_body("unavailable", "Busy."), {"Retry-After": "2"})
        else:
            req.json(200, completed("ok"))

    server.handle = handle
    resp = make_client(server, sleeps).create_response(STORE, "Q")
    assert resp.text == "ok"
    assert sleeps.calls == [7, 2] and len(server.requests) == 3


def test_post_not_retried_when_retry_after_too_long(server: FakeServer,
                                                     sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(
        429, error_body("too_many_requests", "Please try again later after 120 seconds."),
        {"Retry-After": "120"})
    with pytest.raises(RateLimitedError) as info:
        make_client(server, sleeps).create_response(STORE, "Q")
    assert info.value.retry_after == 120 and len(server.requests) == 1
    assert str(info.value).startswith("Rate limited by the server; try again in 120 s.")


def test_get_retried_on_503_with_backoff(server: FakeServer, sleeps: Sleeps) -> None:
    def handle(req: Request) -> None:
        if req.index < 2:
            req.json(503, error_body("unavailable", "Busy."))
        else:
            req.json(200, {"_id": "ks_1", "name": "Store"})

    server.handle = handle
    store = make_client(server, sleeps).get_knowledge_store("ks_1")
    assert store.name == "Store" and sleeps.calls == [1.0, 2.0]


def test_get_gives_up_after_retries(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(502, {})
    with pytest.raises(ServerError):
        make_client(server, sleeps).get_knowledge_store("ks_1")
    assert sleeps.calls == [1.0, 2.0, 4.0] and len(server.requests) == 4


def test_get_429_honours_retry_after(server: FakeServer, sleeps: Sleeps) -> None:
    def handle(req: Request) -> None:
        if req.index == 0:
            req.json(429, error_body("too_many_requests", "x"), {"Retry-After": "5"})
        else:
            req.json(200, {"_id": "ks_1", "name": "S"})

    server.handle = handle
    make_client(server, sleeps).get_knowledge_store("ks_1")
    assert sleeps.calls == [5.0]


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connection_refused_is_network_error_and_post_retried(sleeps: Sleeps) -> None:
    client = JockeyClient(KEY, f"http://127.0.0.1:{closed_port()}/v1.3", sleep=sleeps)
    with pytest.raises(NetworkError) as info:
        client.create_response(STORE, "Q")
    # refused = provably not sent, so even POST /responses is retried
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert "refused" in str(info.value)
    assert KEY not in str(info.value)


def test_read_timeout_is_timeout_not_network_and_post_not_retried(
        server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.stall()
    client = make_client(server, sleeps, response_timeout=0.3, read_timeout=0.3)
    with pytest.raises(RequestTimedOutError):
        client.create_response(STORE, "Q")
    assert len(server.requests) == 1 and sleeps.calls == []
    with pytest.raises(RequestTimedOutError):
        client.get_knowledge_store("ks_1")


def test_read_timeout_wrapped_in_connection_error_is_mapped_by_cause() -> None:
    # What requests raises when urllib3's retries run out on a read timeout.
    inner = urllib3.exceptions.ReadTimeoutError(None, "/v1.3/responses", "Read timed out.")
    outer = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/v1.3/responses", reason=inner))
    failure = map_transport_error(outer, in_body=False)
    assert isinstance(failure.error, RequestTimedOutError)
    assert not failure.before_send
    refused = requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/", reason=urllib3.exceptions.NewConnectionError(None, "refused")))
    mapped = map_transport_error(refused, in_body=False)
    assert isinstance(mapped.error, NetworkError) and mapped.before_send


def test_connect_timeout_and_dns_failures_map_to_network_and_are_safe_to_resend() -> None:
    timeout = map_transport_error(requests.exceptions.ConnectTimeout(
        urllib3.exceptions.MaxRetryError(None, "/", reason=urllib3.exceptions.ConnectTimeoutError(
            None, "timed out"))), in_body=False)
    assert isinstance(timeout.error, NetworkError) and timeout.before_send
    dns = map_transport_error(requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", reason=urllib3.exceptions.NameResolutionError(
            "api.example", None, socket.gaierror(-2, "Name or service not known")))),
        in_body=False)
    assert isinstance(dns.error, NetworkError) and "DNS" in str(dns.error)
    reset = map_transport_error(requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))),
        in_body=False)
    assert isinstance(reset.error, NetworkError) and not reset.before_send


@pytest.mark.parametrize(("proxy", "said"), [
    ("http://user:secret@[bad", "not an address the app can use"),
    ("socks5://127.0.0.1:1", "a SOCKS proxy, which the app does not support"),
])
def test_an_unusable_proxy_setting_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps, proxy: str, said: str
) -> None:
    # It said "The connection was interrupted." (and was retried): nothing was ever sent.
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = JockeyClient(KEY, "https://api.example.invalid/v1.3", sleep=sleeps)
    with pytest.raises(NetworkError) as info:
        client.get_knowledge_store("ks_1")
    assert str(info.value).endswith(f"(HTTPS_PROXY, ALL_PROXY or the system settings) is "
                                    f"{said}.")
    assert "secret" not in str(info.value) and sleeps.calls == []


def test_an_unverified_certificate_is_named_with_its_reason() -> None:
    # A self-signed server or a company proxy inspecting HTTPS: the one TLS failure a user
    # can act on, once said only as "The secure (TLS) connection failed."
    import ssl

    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    cause.verify_message = "self-signed certificate"
    failure = map_transport_error(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/", reason=urllib3.exceptions.SSLError(cause))), in_body=False)
    assert isinstance(failure.error, NetworkError)
    assert str(failure.error).endswith("The server's security certificate could not be verified "
                                       "(self-signed certificate).")
    assert not failure.retryable


def test_tls_failure_is_network_error_not_retried(server: FakeServer, sleeps: Sleeps) -> None:
    # https:// against a plain-HTTP server: the handshake fails.
    client = JockeyClient(KEY, f"https://127.0.0.1:{server.port}/v1.3", sleep=sleeps)
    with pytest.raises(NetworkError) as info:
        client.get_knowledge_store("ks_1")
    assert "TLS" in str(info.value) and sleeps.calls == []


@pytest.mark.parametrize("cls", [
    AuthenticationError, ForbiddenError, InvalidRequestError, NetworkError, ProtocolError,
    RateLimitedError, RequestCancelledError, RequestTimedOutError, ServerError,
    SessionLostError, SessionStoreMismatchError, StoreNotFoundError])
def test_every_error_reads_as_a_sentence(cls: type[Exception]) -> None:
    text = str(cls())
    assert text[0].isupper() and text.endswith(".") and len(text) > 15


def test_turns_never_reuse_a_kept_alive_connection(server: FakeServer, sleeps: Sleeps) -> None:
    # A stale kept-alive socket could fail a POST ambiguously; a cancel token could shut a
    # socket another request reuses. So every turn gets its own connection; GETs still pool.
    def handle(req: Request) -> None:
        if req.recorded.method == "GET":
            req.json(200, {"_id": "ks_1", "name": "S"})
        else:
            req.json(200, completed())

    server.handle = handle
    client = make_client(server, sleeps)
    client.get_knowledge_store("ks_1")
    client.get_knowledge_store("ks_1")
    client.create_response(STORE, "Q")
    client.create_response(STORE, "Q")
    ports = [r.client_port for r in server.requests]
    assert ports[0] == ports[1]  # GETs share a pooled connection
    assert len({ports[0], ports[2], ports[3]}) == 3
    assert server.requests[2].headers["connection"] == "close"


# --- redirects ------------------------------------------------------------------------


def test_cross_origin_redirect_never_sends_key(server: FakeServer, sleeps: Sleeps) -> None:
    with FakeServer() as other:  # another port = another origin
        other.handle = lambda req: req.json(200, completed())
        server.handle = lambda req: req.raw(
            307, b"", {"Location": f"{other.url}/responses"})
        with pytest.raises(ProtocolError) as info:
            make_client(server, sleeps).create_response(STORE, "Q")
        assert "another host" in str(info.value)
        assert all("x-api-key" not in r.headers for r in other.requests)
        assert other.requests == []


def test_same_origin_redirect_followed_with_key(server: FakeServer, sleeps: Sleeps) -> None:
    def handle(req: Request) -> None:
        if req.recorded.path.endswith("/old"):
            req.raw(308, b"", {"Location": "/v1.3/knowledge-stores/ks_1"})
        else:
            req.json(200, {"_id": "ks_1", "name": "Moved"})

    server.handle = handle
    store = make_client(server, sleeps).get_knowledge_store("old")
    assert store.name == "Moved"
    assert [r.headers.get("x-api-key") for r in server.requests] == [KEY, KEY]


# --- lists ----------------------------------------------------------------------------


def test_list_knowledge_stores_walks_every_page(server: FakeServer, sleeps: Sleeps) -> None:
    def handle(req: Request) -> None:
        page = int(req.recorded.query["page"][0])
        rows = [{"_id": f"ks_{page}_{i}", "name": f"S{page}.{i}"} for i in range(2)]
        req.json(200, {"data": rows, "page_info": {"limit_per_page": 50, "page": page,
                                                   "total_page": 3, "total_results": 6}})

    server.handle = handle
    stores = make_client(server, sleeps).list_knowledge_stores()
    assert len(stores) == 6 and stores[-1].id == "ks_3_1"
    assert [r.query["page"] for r in server.requests] == [["1"], ["2"], ["3"]]
    assert all(r.query["page_limit"] == ["50"] for r in server.requests)


def test_empty_list_with_zero_total_pages(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(200, {"data": [], "page_info": {
        "limit_per_page": 50, "page": 1, "total_page": 0, "total_results": 0}})
    assert make_client(server, sleeps).list_knowledge_stores() == []
    assert len(server.requests) == 1


def test_list_items_repeats_status_params(server: FakeServer, sleeps: Sleeps) -> None:
    item = {"_id": "ksi_1", "asset_id": "6a074cc69bcc9263a999d3a8", "status": "queued",
            "system_metadata": {"asset_type": "video", "duration": 93.4}}
    server.handle = lambda req: req.json(200, {"data": [item], "page_info": {
        "limit_per_page": 50, "page": 1, "total_page": 1, "total_results": 1}})
    client = make_client(server, sleeps)
    [got] = client.list_items("ks_1", status=["queued", "pending"])
    assert server.requests[0].query["status"] == ["queued", "pending"]
    assert server.requests[0].path == "/v1.3/knowledge-stores/ks_1/items"
    assert got.duration == 93.4 and got.asset_type == "video" and not got.is_ready
    client.list_items("ks_1", status="ready")
    assert server.requests[1].query["status"] == ["ready"]
    client.list_items("ks_1")
    assert "status" not in server.requests[2].query


def test_get_item_not_found(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(404, error_body("resource_not_exist", "No item."))
    with pytest.raises(StoreNotFoundError):
        make_client(server, sleeps).get_item("ks_1", "ksi_2")


# --- proxies --------------------------------------------------------------------------


def test_proxy_for_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pw@proxy.example:3128")
    client = JockeyClient(KEY, "https://api.twelvelabs.io/v1.3")
    assert client.proxy_for_base_url() == "http://user:***@proxy.example:3128"
    local = JockeyClient(KEY, "http://127.0.0.1:8000/v1.3")  # NO_PROXY covers loopback
    assert local.proxy_for_base_url() is None
    monkeypatch.delenv("HTTPS_PROXY")
    assert client.proxy_for_base_url() is None


# --- streaming ------------------------------------------------------------------------


def test_stream_over_http_yields_typed_events(server: FakeServer, sleeps: Sleeps) -> None:
    deltas = ["The keeper is ", "restrained by a ", "teammate [1]."]
    events = standard_events(deltas)
    events.insert(3, {"type": "keepalive", "sequence_number": 99})
    server.handle = lambda req: req.sse(events)
    out = list(make_client(server, sleeps).stream_response(STORE, "Q"))
    assert isinstance(out[0], ResponseCreated) and out[0].session_id == SESS
    assert any(isinstance(e, KeepAlive) for e in out)
    assert "".join(e.delta for e in out if isinstance(e, TextDelta)) == out[-1].response.text
    assert isinstance(out[-1], ResponseDone) and len(out[-1].response.citations) == 1
    sent = server.requests[0]
    assert sent.json()["stream"] is True
    assert sent.headers["accept"] == "text/event-stream"


def test_stream_with_chunked_encoding_and_tiny_writes(server: FakeServer,
                                                       sleeps: Sleeps) -> None:
    events = standard_events(["Hi ", "there"])
    payload = "".join(f"event: {e['type']}\r\ndata: {json.dumps(e)}\r\n\r\n" for e in events)
    payload += ": trailing comment\r\ndata: [DONE]\r\n\r\n"

    def handle(req: Request) -> None:
        h = req.handler
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        data = payload.encode()
        for i in range(0, len(data), 7):
            piece = data[i : i + 7]
            req.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        req.write(b"0\r\n\r\n")

    server.handle = handle
    out = list(make_client(server, sleeps).stream_response(STORE, "Q"))
    assert out[-1].response.text == "Hi there"


def test_stream_wrong_content_type_is_protocol_error(server: FakeServer,
                                                      sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(200, completed())
    with pytest.raises(ProtocolError):
        list(make_client(server, sleeps).stream_response(STORE, "Q"))


def test_cut_stream_is_protocol_error_with_session(server: FakeServer,
                                                   sleeps: Sleeps) -> None:
    events = standard_events(["a", "b"])[:6]
    server.handle = lambda req: req.sse(events, done=False)
    got: list[Any] = []
    with pytest.raises(ProtocolError) as info:
        for event in make_client(server, sleeps).stream_response(STORE, "Q"):
            got.append(event)
    assert info.value.session_id == SESS
    assert [e.delta for e in got if isinstance(e, TextDelta)] == ["a", "b"]
    assert len(server.requests) == 1  # never retried


def test_idle_stream_times_out_with_session(server: FakeServer, sleeps: Sleeps) -> None:
    events = standard_events(["a"])

    def handle(req: Request) -> None:
        req.start_sse()
        req.write(f"event: x\ndata: {json.dumps(events[0])}\n\n")
        req.stall()

    server.handle = handle
    client = make_client(server, sleeps, stream_idle_timeout=0.3)
    with pytest.raises(RequestTimedOutError) as info:
        list(client.stream_response(STORE, "Q"))
    assert info.value.session_id == SESS
    assert len(server.requests) == 1


def test_keepalive_comments_reset_the_idle_timer(server: FakeServer, sleeps: Sleeps) -> None:
    events = standard_events(["slow answer"])

    def handle(req: Request) -> None:
        req.start_sse()
        req.write(f"data: {json.dumps(events[0])}\n\n")
        for _ in range(9):  # 0.9 s of silence broken only by comments, idle limit 0.45 s
            time.sleep(0.1)
            req.write(": keep-alive\n\n")
        for event in events[1:]:
            req.write(f"data: {json.dumps(event)}\n\n")
        req.write("data: [DONE]\n\n")

    server.handle = handle
    client = make_client(server, sleeps, stream_idle_timeout=0.45)
    out = list(client.stream_response(STORE, "Q"))
    assert out[-1].response.text == "slow answer"


def cancel_after(token: CancelToken, delay: float) -> threading.Timer:
    timer = threading.Timer(delay, token.cancel)
    timer.start()
    return timer


@pytest.mark.parametrize("stage", ["before_headers", "after_created"])
def test_cancel_silent_stall_within_one_second(server: FakeServer, sleeps: Sleeps,
                                               stage: str) -> None:
    events = standard_events(["a"])

    def handle(req: Request) -> None:
        if stage == "after_created":
            req.start_sse()
            req.write(f"data: {json.dumps(events[0])}\n\n")
        req.stall()

    server.handle = handle
    client = make_client(server, sleeps, stream_idle_timeout=30, response_timeout=30)
    token = CancelToken()
    got: list[Any] = []
    timer = cancel_after(token, 0.3)
    started = time.monotonic()
    with pytest.raises(RequestCancelledError) as info:
        for event in client.stream_response(STORE, "Q", cancel=token):
            got.append(event)
    elapsed = time.monotonic() - started - 0.3
    timer.join()
    assert elapsed < 1.0, f"cancel took {elapsed:.2f}s"
    if stage == "after_created":
        assert isinstance(got[0], ResponseCreated)
        assert info.value.session_id == SESS
    assert str(info.value) == "The request was stopped."


def test_cancel_non_streamed_stall(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.stall()
    client = make_client(server, sleeps, response_timeout=30)
    token = CancelToken()
    timer = cancel_after(token, 0.2)
    started = time.monotonic()
    with pytest.raises(RequestCancelledError):
        client.create_response(STORE, "Q", cancel=token)
    timer.join()
    assert time.monotonic() - started < 1.2


def test_cancelled_token_sends_nothing(server: FakeServer, sleeps: Sleeps) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(RequestCancelledError):
        list(make_client(server, sleeps).stream_response(STORE, "Q", cancel=token))
    assert server.requests == []


def test_close_cancels_running_stream(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.stall()
    client = make_client(server, sleeps, stream_idle_timeout=30)
    timer = threading.Timer(0.2, client.close)
    timer.start()
    started = time.monotonic()
    with pytest.raises(RequestCancelledError):
        list(client.stream_response(STORE, "Q"))
    timer.join()
    assert time.monotonic() - started < 1.2


def test_client_reusable_after_cancel(server: FakeServer, sleeps: Sleeps) -> None:
    calls = {"n": 0}

    def handle(req: Request) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            req.stall()
        else:
            req.json(200, {"_id": "ks_1", "name": "S"})

    server.handle = handle
    client = make_client(server, sleeps, stream_idle_timeout=30)
    token = CancelToken()
    timer = cancel_after(token, 0.2)
    with pytest.raises(RequestCancelledError):
        list(client.stream_response(STORE, "Q", cancel=token))
    timer.join()
    assert client.get_knowledge_store("ks_1").name == "S"
