"""Contract: the request and stream shapes of selections, intermediate outputs and web
search, between JockeyClient and the real sandbox over loopback, and the guide's three turns
in both request forms — the client's (top-level ``knowledge_store_id``, no ``model``) and the
guide's own (``"model": "jockey1.0"`` with ``tools: [{"type": "knowledge_store", …}]``, sent
as raw JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jockey_desktop.core.api import (
    InvalidInputError,
    JockeyClient,
    ResponseCreated,
    ResponseDone,
    Selection,
    StepFinished,
    StepStarted,
    TextDelta,
    WebSearchProgress,
)
from jockey_desktop.core.api.citations import Citation
from jockey_desktop.core.api.models import Response
from jockey_desktop.sandbox import SANDBOX_API_KEY, SandboxServer

THREE_TURNS = (
    "What are the main themes in these videos?",
    "Which videos best represent the first theme?",
    "Give me timestamps for the key moments in those videos",
)
HEADERS = {"x-api-key": SANDBOX_API_KEY, "Content-Type": "application/json"}


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[JockeyClient]:
    with JockeyClient(SANDBOX_API_KEY, sandbox.base_url, sleep=lambda _s: None) as c:
        yield c


def nature(client: JockeyClient) -> tuple[str, list[Any]]:
    """The sample store with six ready videos, and those videos."""
    for store in client.list_knowledge_stores():
        items = client.list_items(store.id, status="ready")
        if len(items) >= 5:
            return store.id, items
    raise AssertionError("no sample store with five ready videos")


def test_a_streamed_question_about_two_videos_with_steps_and_the_web(
    client: JockeyClient,
) -> None:
    store_id, items = nature(client)
    chosen = [Selection("item", items[0].id), Selection("item", items[1].id)]
    events = list(client.stream_response(
        store_id, "How do the predators hunt in {{sel:0}} and {{sel:1}}?", selections=chosen,
        include_steps=True, web_search=True))
    assert isinstance(events[0], ResponseCreated) and isinstance(events[-1], ResponseDone)
    response: Response = events[-1].response

    # Every step is announced when added and again when done, in output order.
    started = [e.step for e in events if isinstance(e, StepStarted)]
    finished = [e.step for e in events if isinstance(e, StepFinished)]
    assert [s.item_id for s in started] == [s.item_id for s in finished]
    assert [s.output_index for s in finished] == list(range(len(finished)))
    assert [s.kind for s in finished] == ["commentary", "function_call",
                                          "function_call_output", "commentary", "web_search"]
    assert all(s.status == "completed" for s in finished)
    # Narration streams as commentary deltas of its own item; only the answer is the text.
    for step in (s for s in finished if s.kind == "commentary"):
        deltas = [e.delta for e in events
                  if isinstance(e, TextDelta) and e.item_id == step.item_id]
        assert deltas and "".join(deltas) == step.text
        assert all(e.phase == "commentary" for e in events
                   if isinstance(e, TextDelta) and e.item_id == step.item_id)
    answer = "".join(e.delta for e in events if isinstance(e, TextDelta) and e.is_answer)
    assert answer == response.text and not any(s.text and s.text in answer for s in finished
                                               if s.kind == "commentary")
    # The web search moves through its states between its item's added and done.
    search = next(s for s in finished if s.kind == "web_search")
    positions = {id(e): n for n, e in enumerate(events)}
    progress = [e for e in events if isinstance(e, WebSearchProgress)]
    assert [p.state for p in progress] == ["in_progress", "searching", "completed"]
    assert all(p.item_id == search.item_id for p in progress)
    added = next(e for e in events if isinstance(e, StepStarted) and e.step.kind == "web_search")
    done = next(e for e in events if isinstance(e, StepFinished) and e.step.kind == "web_search")
    assert positions[id(added)] < positions[id(progress[0])]
    assert positions[id(progress[-1])] < positions[id(done)]
    assert search.queries and search.item_id and search.item_id.startswith("ws_")
    # The tool call was scoped to the selection; the answer cites only what was selected.
    call = finished[1]
    assert call.name and '"item_ids"' in (call.arguments or "")
    assert {c.item_id for c in response.citations} <= {s.id for s in chosen}
    assert response.citations
    # Web sources: http(s) pages on "[N]" markers after the video citations.
    assert response.web_sources
    for source in response.web_sources:
        assert source.url.startswith("https://")
        assert source.marker_start is not None and source.marker_end is not None
        marker = response.text[source.marker_start:source.marker_end]
        assert marker.startswith("[") and marker.endswith("]")
    # The final response object holds the same steps the stream announced.
    assert [s.to_dict() for s in response.steps] == [s.to_dict() for s in finished]

    plain = client.create_response(
        store_id, "How do the predators hunt in {{sel:0}} and {{sel:1}}?", selections=chosen,
        include_steps=True, web_search=True)
    assert plain.text == response.text
    assert [s.kind for s in plain.steps] == [s.kind for s in finished]
    assert [w.url for w in plain.web_sources] == [w.url for w in response.web_sources]


def test_without_the_options_the_answer_is_alone(client: JockeyClient) -> None:
    store_id, _items = nature(client)
    events = list(client.stream_response(store_id, "How do the predators hunt?"))
    assert not any(isinstance(e, (StepStarted, StepFinished, WebSearchProgress))
                   for e in events)
    assert all(e.is_answer for e in events if isinstance(e, TextDelta))
    response = events[-1].response
    assert response.steps == () and response.web_sources == ()


def test_selections_add_up_in_the_session(client: JockeyClient) -> None:
    store_id, items = nature(client)
    first = client.create_response(store_id, "What happens in {{sel:0}}?",
                                   selections=[Selection("item", items[0].id)])
    follow = client.create_response(store_id, "And in {{sel:0}}?", session_id=first.session_id,
                                    selections=[Selection("item", items[1].id)])
    assert {c.item_id for c in first.citations} == {items[0].id}
    # Asked with a placeholder for the second video only: it narrows to that one.
    assert {c.item_id for c in follow.citations} == {items[1].id}
    both = client.create_response(store_id, "How do the predators hunt in these videos?",
                                  session_id=first.session_id)
    assert {c.item_id for c in both.citations} <= {items[0].id, items[1].id}


def test_the_documented_request_body_and_what_the_sandbox_refuses(
    sandbox: SandboxServer, client: JockeyClient
) -> None:
    store_id, items = nature(client)
    url = f"{sandbox.base_url}/responses"
    body = {"knowledge_store_id": store_id,
            "input": [{"type": "message", "role": "user",
                       "content": "What happens in {{sel:0}}?"}],
            "selections": [{"kind": "item", "id": items[0].id}],
            "include": ["intermediate_outputs"], "tools": [{"type": "jockey:web_search"}]}
    reply = requests.post(url, json=body, headers=HEADERS, timeout=10)
    assert reply.status_code == 200, reply.text
    types = [o["type"] for o in reply.json()["output"]]
    assert "function_call" in types and "jockey:web_search" in types
    assert types[-1] == "message" and reply.json()["output"][-1]["phase"] == "final_answer"

    wrong_kind = dict(body, selections=[{"kind": "collection", "id": items[0].id}])
    reply = requests.post(url, json=wrong_kind, headers=HEADERS, timeout=10)
    assert reply.status_code == 400 and reply.json()["code"] == "parameter_invalid"
    past_end = dict(body, input=[{"type": "message", "role": "user",
                                  "content": "Compare {{sel:0}} and {{sel:1}}"}])
    reply = requests.post(url, json=past_end, headers=HEADERS, timeout=10)
    assert reply.status_code == 400 and reply.json()["code"] == "parameter_invalid"
    # The client refuses the first of these before anything is sent.
    with pytest.raises(InvalidInputError):
        client.create_response(store_id, "{{sel:0}}?",
                               selections=[Selection("collection", items[0].id)])


def _guide_turns(url: str, store_id: str) -> list[dict[str, Any]]:
    """The guide's three turns as its own request form, through raw HTTP."""
    session_id: str | None = None
    replies = []
    for question in THREE_TURNS:
        body: dict[str, Any] = {
            "model": "jockey1.0",
            "tools": [{"type": "knowledge_store", "knowledge_store_id": store_id}],
            "input": [{"type": "message", "role": "user", "content": question}]}
        if session_id:
            body["session_id"] = session_id
        reply = requests.post(url, json=body, headers=HEADERS, timeout=10)
        assert reply.status_code == 200, reply.text
        data = reply.json()
        assert data["status"] == "completed"
        session_id = session_id or data["session_id"]
        assert data["session_id"] == session_id
        replies.append(data)
    return replies


def _cited(response: Response) -> list[str]:
    return list(dict.fromkeys(c.item_id for c in response.citations if c.item_id))


def test_the_guides_three_turns_hold_in_both_request_forms(
    sandbox: SandboxServer, client: JockeyClient
) -> None:
    store_id, items = nature(client)
    guide = [Response.from_json(r) for r in _guide_turns(f"{sandbox.base_url}/responses",
                                                         store_id)]
    session_id = None
    ours: list[Response] = []
    for question in THREE_TURNS:
        done = list(client.stream_response(store_id, question, session_id=session_id,
                                           include_steps=True))[-1]
        assert isinstance(done, ResponseDone)
        session_id = session_id or done.response.session_id
        ours.append(done.response)
    assert guide[0].session_id != ours[0].session_id  # two sessions, one per form
    for theirs, mine in zip(guide, ours, strict=True):
        assert theirs.text == mine.text  # the same answers, whatever the form
        assert [c.to_dict() | {"thumbnail_url": None, "hls_url": None}
                for c in theirs.citations] == [
            c.to_dict() | {"thumbnail_url": None, "hls_url": None} for c in mine.citations]
    themes, best, timestamps = ours
    ready = {i.id for i in items}
    # 1: themes cite videos of the store; 2: the first theme's videos; 3: those videos'
    # key moments, with time ranges — a follow-up resolved from the session's own history.
    assert themes.citations and set(_cited(themes)) <= ready
    assert best.citations and set(_cited(best)) <= ready
    assert set(_cited(timestamps)) <= set(_cited(best))
    assert all(isinstance(c, Citation) and c.start_sec is not None
               for c in timestamps.citations)
    assert len({themes.text, best.text, timestamps.text}) == 3
