"""Contract: JockeyClient against the real sandbox over loopback HTTP.

Every endpoint and error of jockey-api.md, streamed and not; the guide's three turns in one
session; each injected fault gives its own error class; a silent stall is cancelled fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.api import (
    AuthenticationError,
    CancelToken,
    Citation,
    ForbiddenError,
    InvalidRequestError,
    ItemNotFoundError,
    JockeyClient,
    KeepAlive,
    KnowledgeStore,
    KnowledgeStoreItem,
    NetworkError,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    RequestTimedOutError,
    Response,
    ResponseCreated,
    ResponseDone,
    ServerError,
    SessionLostError,
    SessionStoreMismatchError,
    StoreNotFoundError,
    StoreNotReadyError,
    TextDelta,
)
from jockey_desktop.sandbox import SANDBOX_API_KEY, Fault, Pace, SandboxServer
from tests.helpers.sandbox_resources import Sleeps

THREE_TURNS = (
    "What are the main themes in these videos?",
    "Which videos best represent the first theme?",
    "Give me timestamps for the key moments in those videos",
)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sandbox: SandboxServer, sleeps: Sleeps) -> Iterator[JockeyClient]:
    with JockeyClient(SANDBOX_API_KEY, sandbox.base_url, sleep=sleeps) as c:
        yield c


@pytest.fixture
def stores(client: JockeyClient) -> list[KnowledgeStore]:
    return client.list_knowledge_stores()


def ready_store(client: JockeyClient, stores: list[KnowledgeStore],
                exclude: str | None = None) -> tuple[KnowledgeStore, list[KnowledgeStoreItem]]:
    """A store with at least five ready videos (the guide's sample store)."""
    for store in stores:
        items = client.list_items(store.id, status="ready")
        if len(items) >= 5 and store.id != exclude:
            return store, items
    raise AssertionError("the sandbox has no store with 5 ready videos")


def not_ready_store(client: JockeyClient, stores: list[KnowledgeStore]) -> KnowledgeStore:
    for store in stores:
        if not client.list_items(store.id, status="ready"):
            return store
    pytest.skip("every sample store has ready items")


def assert_citations_valid(response: Response, items: list[KnowledgeStoreItem]) -> None:
    """Every citation names an item of the store, with a time range inside its duration."""
    by_id = {item.id: item for item in items}
    assert response.citations, f"no citations in: {response.text[:300]}"
    for citation in response.citations:
        assert citation.kind == "video_citation"
        assert citation.item_id in by_id, citation
        assert citation.span is not None
        marker = response.text[citation.marker_start : citation.marker_end]
        assert marker.startswith("[") and marker.endswith("]"), marker
        duration = by_id[citation.item_id].duration
        assert duration is not None
        if citation.start_sec is not None:
            assert citation.end_sec is not None
            assert 0 <= citation.start_sec <= citation.end_sec <= duration, citation
        assert Citation.from_dict(citation.to_dict()) == citation


def stream(client: JockeyClient, store_id: str, text: str, **kw: Any) -> list[Any]:
    return list(client.stream_response(store_id, text, **kw))


# --- knowledge stores and items -------------------------------------------------------


def test_list_and_get_stores(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    assert len(stores) >= 2
    for store in stores:
        assert store.id.startswith("ks_") and store.name
        again = client.get_knowledge_store(store.id)
        assert again.id == store.id and again.name == store.name
        items = client.list_items(store.id)
        assert store.item_count == len(items)
        assert all(i.id.startswith("ksi_") for i in items)


def test_items_status_filter_and_get_item(client: JockeyClient,
                                          stores: list[KnowledgeStore]) -> None:
    statuses: set[str] = set()
    for store in stores:
        every = client.list_items(store.id)
        statuses |= {i.status for i in every}
        ready = client.list_items(store.id, status="ready")
        assert {i.id for i in ready} == {i.id for i in every if i.status == "ready"}
        waiting = client.list_items(store.id, status=["processing", "failed"])
        assert {i.id for i in waiting} == {
            i.id for i in every if i.status in ("processing", "failed")}
        if every:
            item = client.get_item(store.id, every[0].id)
            assert item == every[0]
    assert {"ready", "processing", "failed"} <= statuses


def test_unknown_store_and_item(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    missing = "ks_019ebcf4-7e08-7201-b69c-000000000000"
    with pytest.raises(StoreNotFoundError):
        client.get_knowledge_store(missing)
    with pytest.raises(StoreNotFoundError):
        client.list_items(missing)
    with pytest.raises(ItemNotFoundError):
        client.get_item(stores[0].id, "ksi_069e9870-3c4d-7abc-9012-000000000000")


def test_wrong_key(sandbox: SandboxServer) -> None:
    client = JockeyClient("not-the-key", sandbox.base_url)
    with pytest.raises(AuthenticationError) as info:
        client.list_knowledge_stores()
    assert info.value.code == "api_key_invalid" and info.value.status == 401
    assert "not-the-key" not in str(info.value)
    with pytest.raises(AuthenticationError):
        list(client.stream_response("ks_x", "Q"))


# --- /responses -----------------------------------------------------------------------


def test_non_streamed_response(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    store, items = ready_store(client, stores)
    response = client.create_response(store.id, THREE_TURNS[0])
    assert response.status == "completed"
    assert response.id.startswith("resp_") and response.session_id.startswith("sess_")
    assert response.knowledge_store_id == store.id
    assert response.usage.input_tokens and response.usage.output_tokens
    assert response.created_at
    assert_citations_valid(response, items)


def test_three_turns_in_one_session(client: JockeyClient,
                                   stores: list[KnowledgeStore]) -> None:
    store, items = ready_store(client, stores)
    session_id: str | None = None
    answers = []
    for question in THREE_TURNS:
        events = stream(client, store.id, question, session_id=session_id)
        created, done = events[0], events[-1]
        assert isinstance(created, ResponseCreated) and isinstance(done, ResponseDone)
        if session_id is None:
            session_id = created.session_id
        assert created.session_id == session_id == done.response.session_id
        deltas = "".join(e.delta for e in events if isinstance(e, TextDelta) and e.is_answer)
        assert done.response.text == deltas
        assert_citations_valid(done.response, items)
        answers.append(done.response)
    # the timestamps turn names moments, so it cites time ranges, not whole videos
    assert any(c.start_sec is not None for c in answers[2].citations)
    assert len({a.text for a in answers}) == 3


def test_a_turn_is_in_its_session_before_the_client_sees_it_complete(
    sandbox: SandboxServer, client: JockeyClient, stores: list[KnowledgeStore],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # A follow-up sent the moment ``response.completed`` arrives must be answered with this
    # turn in its history. A slow server thread (a loaded CI machine) widens the window in
    # which the turn used to be recorded only after the completion was already sent.
    from jockey_desktop.sandbox import server as server_module

    original = server_module._Handler._finish_turn

    def slow_finish(handler: Any, turn: Any) -> None:
        time.sleep(0.3)
        original(handler, turn)

    monkeypatch.setattr(server_module._Handler, "_finish_turn", slow_finish)
    store, _ = ready_store(client, stores)
    done = None
    for event in client.stream_response(store.id, THREE_TURNS[0]):
        if isinstance(event, ResponseDone):
            done = event
            session = sandbox.sessions.get(event.response.session_id)
            assert session is not None
            assert [t["question"] for t in session.turns] == [THREE_TURNS[0]]
    assert done is not None


def test_streamed_and_plain_answers_agree(client: JockeyClient,
                                          stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    plain = client.create_response(store.id, "Tell me about the opening scenes")
    streamed = stream(client, store.id, "Tell me about the opening scenes")[-1].response
    assert plain.text == streamed.text
    # Media URLs are signed with an expiry, so two calls a second apart differ there only.
    def unsigned(citations: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.to_dict().items() if not k.endswith("_url")}
                for c in citations]

    assert unsigned(plain.citations) == unsigned(streamed.citations)
    assert all(c.hls_url and c.thumbnail_url for c in plain.citations + streamed.citations)


def test_structured_output(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    schema = {"type": "object", "additionalProperties": False, "required": ["themes"],
              "properties": {"themes": {"type": "array", "items": {"type": "string"}}}}
    fmt = {"type": "json_schema", "name": "themes", "schema": schema, "strict": True}
    response = client.create_response(store.id, THREE_TURNS[0], text_format=fmt)
    parsed = response.parsed_json()
    assert isinstance(parsed, dict) and isinstance(parsed.get("themes"), list)
    done = stream(client, store.id, THREE_TURNS[0], text_format=fmt)[-1]
    assert isinstance(done.response.parsed_json(), dict)


def test_intermediate_outputs_keep_answer_by_phase(client: JockeyClient,
                                                   stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    events = stream(client, store.id, THREE_TURNS[0], include_steps=True)
    done = events[-1].response
    phases = {e.phase for e in events if isinstance(e, TextDelta)}
    assert "final_answer" in phases
    answer = "".join(e.delta for e in events if isinstance(e, TextDelta) and e.is_answer)
    assert done.text == answer
    plain = client.create_response(store.id, THREE_TURNS[0], include_steps=True)
    assert plain.text and (plain.steps or plain.commentary)


def test_incomplete_answer(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    done = stream(client, store.id, THREE_TURNS[0], max_output_tokens=5)[-1]
    assert done.response.status == "incomplete" and done.response.is_truncated
    assert done.response.incomplete_reason == "max_output_tokens"
    plain = client.create_response(store.id, THREE_TURNS[0], max_output_tokens=5)
    assert plain.is_truncated


# --- /responses errors ----------------------------------------------------------------


def test_session_lost(sandbox: SandboxServer, client: JockeyClient,
                      stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    first = client.create_response(store.id, THREE_TURNS[0])
    assert sandbox.expire_session(first.session_id)
    with pytest.raises(SessionLostError) as info:
        client.create_response(store.id, THREE_TURNS[1], session_id=first.session_id)
    assert info.value.session_id == first.session_id
    with pytest.raises(SessionLostError):
        stream(client, store.id, THREE_TURNS[1],
               session_id="sess_019f4f2a-b69b-7a01-9018-000000000000")


def test_session_store_mismatch(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    other, _ = ready_store(client, stores, exclude=store.id)
    first = client.create_response(store.id, THREE_TURNS[0])
    with pytest.raises(SessionStoreMismatchError):
        client.create_response(other.id, THREE_TURNS[1], session_id=first.session_id)
    with pytest.raises(SessionStoreMismatchError):
        stream(client, other.id, THREE_TURNS[1], session_id=first.session_id)


def test_store_errors(client: JockeyClient, stores: list[KnowledgeStore]) -> None:
    with pytest.raises(StoreNotReadyError):
        client.create_response(not_ready_store(client, stores).id, THREE_TURNS[0])
    with pytest.raises(StoreNotFoundError):
        stream(client, "ks_019ebcf4-7e08-7201-b69c-000000000000", THREE_TURNS[0])


@pytest.mark.parametrize(
    "kwargs",
    [{"instructions": "x" * 2001}, {"unknown_field": 1}, {"max_output_tokens": 0},
     {"metadata": {"k": 1}}],
)
def test_invalid_requests(client: JockeyClient, stores: list[KnowledgeStore],
                          kwargs: dict[str, Any]) -> None:
    store, _ = ready_store(client, stores)
    with pytest.raises(InvalidRequestError) as info:
        client.create_response(store.id, "Q", **kwargs)
    assert info.value.status == 400 and info.value.code.startswith("parameter_")
    with pytest.raises(InvalidRequestError):
        client.create_response(store.id, "")


# --- injected faults ------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    ("fault", "cls"),
    [
        (lambda: Fault.error(500, path="/responses"), ServerError),
        (lambda: Fault.error(403, "api_not_allowed", "Not allowed.", path="/responses"),
         ForbiddenError),
        (lambda: Fault.rate_limit(retry_after=120, path="/responses"), RateLimitedError),
        (lambda: Fault.cut_stream(path="/responses"), None),
        (lambda: Fault.malformed_json(path="/responses"), ProtocolError),
    ],
)
def test_fault_gives_its_error_class(sandbox: SandboxServer, client: JockeyClient,
                                     stores: list[KnowledgeStore], sleeps: Sleeps,
                                     fault: Any, cls: type[Exception] | None,
                                     streamed: bool) -> None:
    store, _ = ready_store(client, stores)
    injected = sandbox.faults.add(fault())
    if cls is None:  # a cut: mid-stream it is a broken reply, before any byte a network error
        cls = ProtocolError if streamed else NetworkError
    with pytest.raises(cls) as info:
        if streamed:
            stream(client, store.id, THREE_TURNS[0])
        else:
            client.create_response(store.id, THREE_TURNS[0])
    assert type(info.value) is cls or issubclass(type(info.value), cls)
    assert injected.fired == 1, "POST /responses must not be retried here"
    assert sleeps.calls == []
    if cls is RateLimitedError:
        assert info.value.retry_after == 120
        assert str(info.value).startswith("Rate limited by the server; try again in 120 s.")


def test_fail_midway_carries_session(sandbox: SandboxServer, client: JockeyClient,
                                     stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    sandbox.faults.add(Fault.fail_midway(after_deltas=1, path="/responses"))
    got: list[Any] = []
    with pytest.raises(ServerError) as info:
        for event in client.stream_response(store.id, THREE_TURNS[0]):
            got.append(event)
    assert isinstance(got[0], ResponseCreated)
    assert info.value.session_id == got[0].session_id
    assert any(isinstance(e, TextDelta) for e in got)


def test_cut_stream_carries_session(sandbox: SandboxServer, client: JockeyClient,
                                    stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    sandbox.faults.add(Fault.cut_stream(after_deltas=1, path="/responses"))
    got: list[Any] = []
    with pytest.raises(ProtocolError) as info:
        for event in client.stream_response(store.id, THREE_TURNS[0]):
            got.append(event)
    assert info.value.session_id == got[0].session_id


def test_rate_limit_then_success_is_retried(sandbox: SandboxServer, client: JockeyClient,
                                            stores: list[KnowledgeStore],
                                            sleeps: Sleeps) -> None:
    store, _ = ready_store(client, stores)
    # one pre-fault per request (the sandbox fires every matching kind at once)
    limit = sandbox.faults.add(Fault.rate_limit(retry_after=7, path="/responses"))
    events = stream(client, store.id, THREE_TURNS[0])
    assert isinstance(events[-1], ResponseDone) and limit.fired == 1
    busy = sandbox.faults.add(
        Fault.error(503, "service_unavailable", retry_after=2, path="/responses"))
    assert client.create_response(store.id, THREE_TURNS[0]).text
    assert busy.fired == 1
    assert sleeps.calls == [7, 2]


def test_get_retried_on_server_errors(sandbox: SandboxServer, client: JockeyClient,
                                      sleeps: Sleeps) -> None:
    fault = sandbox.faults.add(Fault.error(502, times=2, path="/knowledge-stores"))
    assert client.list_knowledge_stores()
    assert fault.fired == 2 and sleeps.calls == [1.0, 2.0]


def test_latency_beyond_read_timeout(sandbox: SandboxServer,
                                     stores: list[KnowledgeStore]) -> None:
    client = JockeyClient(SANDBOX_API_KEY, sandbox.base_url, read_timeout=0.3,
                          response_timeout=0.3, sleep=Sleeps())
    store, _ = ready_store(client, stores)
    fault = sandbox.faults.add(Fault.latency(2.0, path="/responses"))
    with pytest.raises(RequestTimedOutError):
        client.create_response(store.id, THREE_TURNS[0])
    assert fault.fired == 1


def test_stream_stall_idle_timeout(sandbox: SandboxServer,
                                   stores: list[KnowledgeStore]) -> None:
    # 1 s, far below the 5 s stall: with 0.3 s a loaded machine sometimes timed the request
    # out before its first event ("created") arrived, and the test failed on got[0].
    client = JockeyClient(SANDBOX_API_KEY, sandbox.base_url, stream_idle_timeout=1.0,
                          sleep=Sleeps())
    store, _ = ready_store(client, stores)
    sandbox.faults.add(Fault.stall(5.0, path="/responses"))
    got: list[Any] = []
    with pytest.raises(RequestTimedOutError) as info:
        for event in client.stream_response(store.id, THREE_TURNS[0]):
            got.append(event)
    assert info.value.session_id == got[0].session_id


def test_silent_stall_cancelled_within_one_second(sandbox: SandboxServer, client: JockeyClient,
                                                  stores: list[KnowledgeStore]) -> None:
    store, _ = ready_store(client, stores)
    sandbox.faults.add(Fault.stall(30.0, path="/responses"))
    token = CancelToken()
    got: list[Any] = []
    cancelled_at: list[float] = []

    def cancel_when_created() -> None:
        while not got:
            time.sleep(0.01)
        time.sleep(0.2)
        cancelled_at.append(time.monotonic())
        token.cancel()

    helper = threading.Thread(target=cancel_when_created)
    helper.start()
    with pytest.raises(RequestCancelledError) as info:
        for event in client.stream_response(store.id, THREE_TURNS[0], cancel=token):
            got.append(event)
    ended = time.monotonic()
    helper.join()
    assert ended - cancelled_at[0] < 1.0
    assert info.value.session_id == got[0].session_id


# --- keep-alives ----------------------------------------------------------------------


@pytest.mark.parametrize("style", ["event", "comment"])
def test_keepalives_reset_idle_timer(tmp_path: Path, style: str) -> None:
    pace = Pace(first_token_delay=1.0, keepalive_interval=0.1,
                keepalive_style=style)  # type: ignore[arg-type]
    with SandboxServer(state_dir=tmp_path / "state", pace=pace) as server:
        client = JockeyClient(SANDBOX_API_KEY, server.base_url, stream_idle_timeout=0.45)
        store, _ = ready_store(client, client.list_knowledge_stores())
        events = stream(client, store.id, THREE_TURNS[0])
    assert isinstance(events[-1], ResponseDone)
    keepalives = [e for e in events if isinstance(e, KeepAlive)]
    if style == "event":
        assert keepalives
    else:
        assert not keepalives  # comments are invisible, yet they kept the stream alive


# --- errors the client never provokes itself, checked through its mapping ---------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "cls", "code"),
    [
        ("GET", "/knowledge-stores", {"headers": {}}, AuthenticationError, "unauthorized"),
        ("GET", "/knowledge-stores", {"params": {"page_limit": 51}}, InvalidRequestError,
         "parameter_invalid"),
        ("POST", "/responses", {"json": {"input": [{"type": "message", "role": "user",
                                                    "content": "Q"}]}},
         InvalidRequestError, "parameter_not_provided"),
        ("POST", "/responses", {"json": {"knowledge_store_id": "ks_1", "model": "gpt",
                                         "input": []}},
         InvalidRequestError, "parameter_invalid"),
    ],
)
def test_raw_errors_map_through_the_client(sandbox: SandboxServer, method: str, path: str,
                                           kwargs: dict[str, Any], cls: type[Exception],
                                           code: str) -> None:
    import requests

    from jockey_desktop.core.api.errors import error_from_http

    headers = kwargs.pop("headers", {"x-api-key": SANDBOX_API_KEY})
    reply = requests.request(method, sandbox.base_url + path, headers=headers, timeout=10,
                             **kwargs)
    body = reply.json()
    assert body["code"] == code
    error = error_from_http(reply.status_code, body["code"], body["message"], path=path)
    assert type(error) is cls


def test_page_past_the_end_is_empty(sandbox: SandboxServer) -> None:
    import requests

    reply = requests.get(sandbox.base_url + "/knowledge-stores",
                         params={"page": 99, "page_limit": 50},
                         headers={"x-api-key": SANDBOX_API_KEY}, timeout=10)
    body = reply.json()
    assert reply.status_code == 200 and body["data"] == []
    assert body["page_info"]["page"] == 99 and body["page_info"]["total_results"] >= 2
