"""Streamed POST /responses: event order, sequence numbers, [DONE], keep-alives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.sandbox import Pace, SandboxServer
from tests.helpers.sandbox_http import Api, parse_sse

DEFAULT_ORDER = [
    "response.created", "response.in_progress", "response.output_item.added",
    "response.content_part.added", "response.output_text.delta",
    "response.output_text.done", "response.content_part.done", "response.output_item.done",
    "response.completed",
]


def _collapse(names: list[str | None]) -> list[str | None]:
    """Event names with runs of deltas collapsed to one."""
    out: list[str | None] = []
    for name in names:
        if not (out and name == out[-1] == "response.output_text.delta"):
            out.append(name)
    return out


def test_default_event_order_and_done(api: Api, nature_id: str) -> None:
    events = api.stream(nature_id, "What are the main themes across these videos?")
    assert events[-1].event is None and events[-1].data == "[DONE]"
    payloads = [e.json for e in events[:-1]]
    assert _collapse([e.event for e in events[:-1]]) == DEFAULT_ORDER
    assert [p["type"] for p in payloads] == [e.event for e in events[:-1]]
    numbers = [p["sequence_number"] for p in payloads]
    assert numbers[0] == 0 and numbers == sorted(set(numbers))
    assert sum(p["type"] == "response.output_text.delta" for p in payloads) > 3


def test_stream_payloads(api: Api, nature_id: str) -> None:
    events = [e.json for e in api.stream(nature_id, "Tell me about the wolves")[:-1]]
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == []
    assert created["session_id"].startswith("sess_") and created["id"].startswith("resp_")
    assert created["knowledge_store_id"] == nature_id
    added = events[2]
    assert added["output_index"] == 0 and added["item"]["status"] == "in_progress"
    assert added["item"]["content"] == [{"type": "output_text", "text": "", "annotations": []}]
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    text = "".join(d["delta"] for d in deltas)
    item_id = added["item"]["id"]
    assert all(d["item_id"] == item_id and d["content_index"] == 0 for d in deltas)
    by_type = {e["type"]: e for e in events}
    assert by_type["response.output_text.done"]["text"] == text
    part = by_type["response.content_part.done"]["part"]
    assert part["text"] == text and part["annotations"]
    assert by_type["response.output_item.done"]["item"]["content"][0] == part
    final = by_type["response.completed"]["response"]
    assert final["status"] == "completed" and final["usage"]["output_tokens"] > 0
    assert final["output"][0]["content"][0] == part
    assert final["id"] == created["id"] and final["session_id"] == created["session_id"]
    # Annotations only arrive on the three "done" events.
    for event in events:
        if event["type"] in ("response.output_item.added", "response.content_part.added"):
            assert not json.dumps(event).count("video_citation")


def test_intermediate_outputs_stream(api: Api, nature_id: str) -> None:
    events = api.stream(nature_id, "octopus", include=["intermediate_outputs"])
    names = _collapse([e.event for e in events[:-1]])
    message = DEFAULT_ORDER[2:8]
    assert names == (DEFAULT_ORDER[:2] + message
                     + ["response.output_item.added", "response.function_call_arguments.done",
                        "response.output_item.done"]
                     + ["response.output_item.added", "response.output_item.done"]
                     + message + ["response.completed"])
    indexes = [e.json["output_index"] for e in events[:-1]
               if e.event == "response.output_item.added"]
    assert indexes == [0, 1, 2, 3]
    phases = [e.json["item"].get("phase") for e in events[:-1]
              if e.event == "response.output_item.added"]
    assert phases == ["commentary", None, None, "final_answer"]


def test_incomplete_stream_ends_with_completed_event(api: Api, nature_id: str) -> None:
    events = api.stream(nature_id, "What are the main themes?", max_output_tokens=12)
    last = events[-2].json
    assert last["type"] == "response.completed"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1].data == "[DONE]"


def _stream_with(tmp_path: Path, pace: Pace) -> tuple[list[Any], list[str]]:
    server = SandboxServer(state_dir=tmp_path / "state", pace=pace)
    server.start()
    try:
        with Api(server.base_url) as api:
            store = api.store_id("Nature documentaries")
            response = api.ask(store, "cheetah", stream=True)
            return parse_sse(response.content.decode("utf-8"))
    finally:
        server.stop()


def test_keepalive_events_while_thinking(tmp_path: Path) -> None:
    pace = Pace(first_token_delay=0.45, delta_interval=0.0, keepalive_interval=0.1)
    events, comments = _stream_with(tmp_path, pace)
    names = [e.event for e in events]
    first_delta = names.index("response.output_text.delta")
    keepalives = [e for e in events[:first_delta] if e.event == "keepalive"]
    assert len(keepalives) >= 2 and not comments
    assert all(set(k.json) == {"type", "sequence_number"} for k in keepalives)
    numbers = [e.json["sequence_number"] for e in events[:-1]]
    assert numbers == sorted(set(numbers))
    assert events[-1].data == "[DONE]"


def test_keepalive_comment_style(tmp_path: Path) -> None:
    pace = Pace(first_token_delay=0.45, keepalive_interval=0.1, keepalive_style="comment")
    events, comments = _stream_with(tmp_path, pace)
    assert len(comments) >= 2 and set(comments) == {": keep-alive"}
    assert "keepalive" not in [e.event for e in events]
    assert events[-1].data == "[DONE]"


@pytest.mark.parametrize("bad", [{"words_per_delta": 0}, {"keepalive_interval": 0},
                                 {"first_token_delay": -1}, {"keepalive_style": "ping"},
                                 {"keepalive_interval": float("nan")},
                                 {"keepalive_interval": float("inf")},
                                 {"first_token_delay": float("inf")},
                                 {"delta_interval": float("nan")}])
def test_pace_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Pace(**bad)


def test_realistic_pace_takes_seconds() -> None:
    pace = Pace.realistic()
    assert 1 <= pace.first_token_delay <= 5 and pace.delta_interval > 0
    assert pace.keepalive_interval == 10
