"""Intermediate outputs (jockey-api.md §3.6, §7a): every output item that is not the answer
becomes a ``Step``, announced by ``StepStarted`` / ``StepFinished``; web-search progress
events become ``WebSearchProgress``; unknown items and events are never fatal."""

from __future__ import annotations

import json
from typing import Any

from jockey_desktop.core.api import (
    ResponseCreated,
    ResponseDone,
    Step,
    StepFinished,
    StepStarted,
    TextDelta,
    WebSearchProgress,
)
from tests.helpers.jockey_stream import (
    SESS,
    base_response,
    decode,
    message,
    message_events,
    numbered,
)

COMMENTARY_ID = f"msg_{SESS}_0"
ANSWER_ID = f"msg_{SESS}_1"
CALL = {"type": "function_call", "id": "fc_1", "status": "completed", "name": "search_clips",
        "call_id": "call_1", "arguments": '{"query": "goal"}'}
CALL_OUTPUT = {"type": "function_call_output", "id": "fco_1", "status": "completed",
               "call_id": "call_1", "output": "3 clips found"}
WEB = {"type": "jockey:web_search", "id": "ws_1", "status": None,
       "action": {"queries": ["offside rule 2026", 7]}}
UNKNOWN = {"type": "reasoning_trace", "id": "rt_1", "status": "completed", "summary": "…"}


def _item(index: int, item: dict[str, Any], *, started: dict[str, Any] | None = None,
          between: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [{"type": "response.output_item.added", "output_index": index,
             "item": started if started is not None else item | {"status": "in_progress"}},
            *(between or []),
            {"type": "response.output_item.done", "output_index": index, "item": item}]


def _steps_stream(final_output: list[Any] | None = None) -> list[dict[str, Any]]:
    answer = message("The goal came at 12:00.", item_id=ANSWER_ID)
    full_output = [message("Looking for the goal.", "commentary", item_id=COMMENTARY_ID),
                   CALL, CALL_OUTPUT, WEB, UNKNOWN, answer]
    web_events = [{"type": f"jockey:web_search.{state}", "item_id": "ws_1", "output_index": 3}
                  for state in ("in_progress", "searching", "completed")]
    return numbered([
        {"type": "response.created", "response": base_response()},
        {"type": "response.in_progress", "response": base_response()},
        *message_events(["Looking for ", "the goal."], index=0, phase="commentary",
                        item_id=COMMENTARY_ID),
        *_item(1, CALL, started=CALL | {"status": "in_progress", "arguments": ""},
               between=[{"type": "response.function_call_arguments.done", "item_id": "fc_1",
                         "output_index": 1, "arguments": CALL["arguments"]}]),
        *_item(2, CALL_OUTPUT),
        *_item(3, WEB, started=WEB | {"action": {"queries": []}}, between=web_events),
        {"type": "response.reasoning_trace.delta", "item_id": "rt_1", "delta": "…"},
        *_item(4, UNKNOWN),
        {"type": "jockey:future_event", "whatever": True},
        *message_events(["The goal ", "came at 12:00."], index=5, item_id=ANSWER_ID),
        {"type": "response.completed",
         "response": base_response("completed",
                                   full_output if final_output is None else final_output)},
    ])


def test_every_intermediate_item_is_a_step_started_then_finished() -> None:
    out = decode(_steps_stream())
    assert isinstance(out[0], ResponseCreated) and isinstance(out[-1], ResponseDone)
    started = [e.step for e in out if isinstance(e, StepStarted)]
    finished = [e.step for e in out if isinstance(e, StepFinished)]
    kinds = ["commentary", "function_call", "function_call_output", "web_search", "other"]
    assert [s.kind for s in started] == kinds
    assert [s.kind for s in finished] == kinds
    assert [s.output_index for s in finished] == [0, 1, 2, 3, 4]
    commentary, call, call_output, web, unknown = finished
    assert commentary.text == "Looking for the goal." and started[0].text == ""
    assert (call.name, call.call_id, call.arguments) == ("search_clips", "call_1",
                                                         '{"query": "goal"}')
    assert started[1].arguments == ""
    assert call_output.output == "3 clips found" and call_output.call_id == "call_1"
    assert web.queries == ("offside rule 2026",) and web.status is None
    assert web.item_id == "ws_1" and started[3].queries == ()
    assert (unknown.kind, unknown.item_type, unknown.item_id) == ("other", "reasoning_trace",
                                                                  "rt_1")


def test_commentary_text_streams_as_narration_and_only_the_answer_is_the_text() -> None:
    out = decode(_steps_stream())
    deltas = [(e.delta, e.phase) for e in out if isinstance(e, TextDelta)]
    assert deltas == [("Looking for ", "commentary"), ("the goal.", "commentary"),
                      ("The goal ", "final_answer"), ("came at 12:00.", "final_answer")]
    response = out[-1].response
    assert response.text == "The goal came at 12:00."
    assert response.commentary == ("Looking for the goal.",)
    assert [s.kind for s in response.steps] == ["commentary", "function_call",
                                                "function_call_output", "web_search", "other"]
    assert response.steps[1].arguments == '{"query": "goal"}'


def test_web_search_progress_events_carry_their_state() -> None:
    progress = [e for e in decode(_steps_stream()) if isinstance(e, WebSearchProgress)]
    assert [(p.item_id, p.output_index, p.state) for p in progress] == [
        ("ws_1", 3, "in_progress"), ("ws_1", 3, "searching"), ("ws_1", 3, "completed")]
    assert all(p.type.startswith("jockey:web_search.") and p.sequence_number > 0
               for p in progress)


def test_steps_come_from_the_stream_when_the_final_response_leaves_them_out() -> None:
    answer_only = [message("The goal came at 12:00.", item_id=ANSWER_ID)]
    response = decode(_steps_stream(final_output=answer_only))[-1].response
    assert response.text == "The goal came at 12:00."
    assert [s.kind for s in response.steps] == ["commentary", "function_call",
                                                "function_call_output", "web_search", "other"]


def test_an_answer_only_stream_has_no_step_events() -> None:
    events = numbered([
        {"type": "response.created", "response": base_response()},
        *message_events(["Hi."], index=0),
        {"type": "response.completed", "response": base_response("completed", [message("Hi.")])},
    ])
    out = decode(events)
    assert not [e for e in out if isinstance(e, (StepStarted, StepFinished))]
    assert out[-1].response.steps == ()


def test_a_structured_argument_or_output_is_kept_as_json_text() -> None:
    step = Step.from_item({"type": "function_call", "id": "fc_2",
                           "arguments": {"query": "é", "n": 2}}, 7)
    assert json.loads(step.arguments or "") == {"query": "é", "n": 2}
    assert step.output_index == 7


def test_step_dict_round_trips_through_json() -> None:
    for item in (CALL, CALL_OUTPUT, WEB, UNKNOWN,
                 message("Narration", "commentary", item_id=COMMENTARY_ID)):
        step = Step.from_item(item, 4)
        data = json.loads(json.dumps(step.to_dict()))
        assert Step.from_dict(data) == step


def test_step_from_a_damaged_dict_is_lenient() -> None:
    step = Step.from_dict({"kind": 3, "output_index": True, "queries": "nope", "text": 5,
                           "arguments": ["x"], "extra": "ignored"})
    assert step == Step(kind="other")
