"""Stream consumer rules of jockey-api.md §3.6, on decoded SSE events (no network)."""

from __future__ import annotations

import json

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
from tests.helpers.jockey_stream import (
    ANSWER,
    ITEM,
    SESS,
    STORE,
    base_response,
    message,
    standard_events,
)
from tests.helpers.jockey_stream import decode as run


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
    assert out[-1].response.commentary == ("I will search.",)


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
    with pytest.raises(ServerError) as info:
        run(events)
    assert str(info.value) == (
        "The Jockey server reported an error. Jockey stopped working on this answer without "
        "saying why; send the question again."
    )
    assert info.value.session_id == SESS


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
