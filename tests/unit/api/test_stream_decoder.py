"""Stream consumer rules of jockey-api.md §3.6, on decoded SSE events (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jockey_desktop.core.api import (
    KeepAlive,
    ProtocolError,
    RateLimitedError,
    ResponseCreated,
    ResponseDone,
    ServerError,
    SessionLostError,
    TextDelta,
)
from jockey_desktop.core.api.sse import SSEEvent
from jockey_desktop.core.api.stream import StreamDecoder

SESS = "sess_019f4f2a-b69b-7a01-9018-cc51681121ea"
STORE = "ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56"
ITEM = "ksi_069e9870-3c4d-7abc-9012-3456789abcde"
MSG = f"msg_{SESS}_0"
ANSWER = "The keeper is restrained by a teammate [1]."
ANNOTATION = {"type": "video_citation", "start_index": 39, "end_index": 41, "item_id": ITEM,
              "start_sec": 0.0, "end_sec": 9.0, "title": "Match", "thumbnail_url": None,
              "hls_url": None}


def base_response(status: str = "in_progress", output: list[Any] | None = None) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "type": "response", "status": status,
            "session_id": SESS, "knowledge_store_id": STORE, "output": output or [],
            "incomplete_details": None, "usage": {"input_tokens": 3, "output_tokens": 9},
            "created_at": "2026-07-11T03:13:57Z"}


def message(text: str, phase: str | None = "final_answer", annotations: list[Any] | None = None,
            item_id: str = MSG) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "id": item_id, "status": "completed",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": text,
                                         "annotations": annotations or []}]}
    if phase is not None:
        item["phase"] = phase
    return item


def standard_events(deltas: list[str], *, phase: str | None = "final_answer",
                    final_output: list[Any] | None = None,
                    status: str = "completed") -> list[dict[str, Any]]:
    text = "".join(deltas)
    done_item = message(text, phase, [ANNOTATION] if text == ANSWER else [])
    added = message("", phase)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": base_response()},
        {"type": "response.in_progress", "response": base_response()},
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        {"type": "response.content_part.added", "item_id": MSG, "output_index": 0,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    events += [{"type": "response.output_text.delta", "item_id": MSG, "output_index": 0,
                "content_index": 0, "delta": d} for d in deltas]
    events += [
        {"type": "response.output_text.done", "item_id": MSG, "output_index": 0,
         "content_index": 0, "text": text},
        {"type": "response.content_part.done", "item_id": MSG, "output_index": 0,
         "content_index": 0, "part": done_item["content"][0]},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": f"response.{status}",
         "response": base_response(status, [done_item] if final_output is None
                                   else final_output)},
    ]
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


def run(events: list[dict[str, Any]], done: bool = True) -> list[Any]:
    decoder = StreamDecoder()
    out: list[Any] = []
    for event in events:
        out += decoder.feed(SSEEvent(event["type"], json.dumps(event)))
    if done:
        out += decoder.feed(SSEEvent("message", "[DONE]"))
    decoder.finish()
    return out


def test_full_stream_text_from_deltas_and_annotations_from_done() -> None:
    deltas = ["The keeper is ", "restrained by a ", "teammate [1]."]
    out = run(standard_events(deltas))
    assert isinstance(out[0], ResponseCreated)
    assert (out[0].session_id, out[0].response_id, out[0].knowledge_store_id) == (
        SESS, "resp_1", STORE)
    texts = [e for e in out if isinstance(e, TextDelta)]
    # lifecycle events repeat the text; only the deltas may produce TextDelta events
    assert [t.delta for t in texts] == deltas and all(t.is_answer for t in texts)
    done = out[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.text == "".join(deltas) == ANSWER
    [c] = done.response.citations
    assert ANSWER[c.marker_start : c.marker_end] == "[1]" and c.item_id == ITEM
    assert done.response.usage.output_tokens == 9
    assert [e.sequence_number for e in out] == sorted(e.sequence_number for e in out)


def test_keepalive_events_and_unknown_events_skipped() -> None:
    events = standard_events(["Hi"])
    events.insert(2, {"type": "keepalive", "sequence_number": 50})
    events.insert(3, {"type": "response.reasoning.delta", "delta": "secret"})
    events.insert(4, {"type": "response.output_item.added", "output_index": 1,
                      "item": {"type": "web_search_call", "id": "ws_1"}})
    out = run(events)
    assert any(isinstance(e, KeepAlive) and e.sequence_number == 50 for e in out)
    assert [e.delta for e in out if isinstance(e, TextDelta)] == ["Hi"]
    assert out[-1].response.text == "Hi"


def test_missing_phase_is_the_answer_and_unknown_phase_is_narration() -> None:
    narr_id = "msg_n"
    events = standard_events(["Answer"], phase=None)
    narration = [
        {"type": "response.output_item.added", "output_index": 1,
         "item": message("", "planning", item_id=narr_id)},
        {"type": "response.output_text.delta", "item_id": narr_id, "output_index": 1,
         "content_index": 0, "delta": "Let me look"},
    ]
    events[3:3] = narration
    out = run(events)
    deltas = [e for e in out if isinstance(e, TextDelta)]
    assert [(d.delta, d.phase) for d in deltas] == [
        ("Let me look", "commentary"), ("Answer", "final_answer")]
    assert out[-1].response.text == "Answer"


def test_commentary_message_first_answer_by_phase_not_position() -> None:
    commentary = message("I will search.", "commentary", item_id="msg_c")
    answer = message("Found it.", "final_answer")
    events = standard_events(["Found it."], final_output=[commentary, answer])
    out = run(events)
    assert out[-1].response.text == "Found it."
    assert out[-1].response.commentary == ["I will search."]


def test_terminal_output_empty_falls_back_to_done_items_then_deltas() -> None:
    events = standard_events(["The keeper is ", "restrained by a teammate [1]."],
                             final_output=[])
    out = run(events)
    assert out[-1].response.text == ANSWER and len(out[-1].response.citations) == 1
    # without any done events the deltas are the answer
    bare = [e for e in events if e["type"] not in (
        "response.output_item.done", "response.content_part.done")]
    assert run(bare)[-1].response.text == ANSWER


def test_incomplete_status_is_done_and_marked_truncated() -> None:
    events = standard_events(["Part"], status="incomplete")
    events[-1]["response"]["incomplete_details"] = {"reason": "something_new"}
    done = run(events)[-1]
    assert done.response.status == "incomplete" and done.response.is_truncated
    assert done.response.incomplete_reason == "something_new"


def test_unknown_terminal_event_with_terminal_status_is_terminal() -> None:
    events = standard_events(["Hi"])
    events[-1]["type"] = "response.finished_v2"
    out = run(events, done=False)
    assert isinstance(out[-1], ResponseDone) and out[-1].response.text == "Hi"


def test_unknown_response_event_without_terminal_status_is_ignored() -> None:
    events = standard_events(["Hi"])
    events.insert(5, {"type": "response.queued", "response": base_response("queued")})
    assert run(events)[-1].response.text == "Hi"


def test_failed_event_raises_by_code_with_session_id() -> None:
    events = standard_events(["Hi"])[:5]
    failed = base_response("failed")
    failed["error"] = {"code": "internal_server_error", "message": "Agent crashed"}
    events.append({"type": "response.failed", "response": failed})
    with pytest.raises(ServerError) as info:
        run(events)
    assert info.value.session_id == SESS
    assert "Agent crashed" in str(info.value)

    failed["error"] = {"code": "too_many_requests",
                       "message": "Please try again later after 12 seconds."}
    with pytest.raises(RateLimitedError) as rate:
        run(events)
    assert rate.value.retry_after == 12 and rate.value.session_id == SESS

    failed["error"] = {"code": "resource_not_exist", "message": "The session expired."}
    with pytest.raises(SessionLostError):
        run(events)


def test_failed_without_error_payload_is_server_error() -> None:
    failed = {"type": "response.failed", "response": base_response("failed")}
    events = [*standard_events(["Hi"])[:3], failed]
    with pytest.raises(ServerError):
        run(events)


def test_stream_without_terminal_event_is_protocol_error() -> None:
    events = standard_events(["Hi"])[:-1]
    with pytest.raises(ProtocolError) as info:
        run(events, done=False)
    assert info.value.session_id == SESS
    with pytest.raises(ProtocolError):
        run(events, done=True)  # [DONE] before a terminal event


def test_malformed_json_is_protocol_error() -> None:
    decoder = StreamDecoder()
    decoder.feed(SSEEvent("response.created", json.dumps(
        {"type": "response.created", "sequence_number": 0, "response": base_response()})))
    with pytest.raises(ProtocolError) as info:
        decoder.feed(SSEEvent("response.output_text.delta", '{"type": "response.out'))
    assert info.value.session_id == SESS
    with pytest.raises(ProtocolError):
        decoder.feed(SSEEvent("x", "[1, 2]"))


def test_answer_so_far_for_partial_saves() -> None:
    decoder = StreamDecoder()
    for event in standard_events(["a", "b", "c"])[:6]:
        decoder.feed(SSEEvent(event["type"], json.dumps(event)))
    assert decoder.answer_so_far == "ab"
