"""ChatController with selections, agent steps and web search, through the real client,
the real sandbox and real storage: what is sent, what streams to the view, what is saved."""

from __future__ import annotations

import itertools
import json
from typing import Any

from jockey_desktop.core.api import Selection
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.core.web_sources import split_web_sources
from jockey_desktop.presentation.selections import compose_question, item_name
from jockey_desktop.sandbox.faults import Fault
from tests.helpers.chat import ChatHarness
from tests.helpers.recording_client import RecordingClient

QUESTION = "How do the predators hunt in these videos?"


def two_videos(h: ChatHarness) -> list[dict[str, str]]:
    items = h.client.list_items(h.store.id, status="ready")[:2]
    return [{"kind": "item", "id": i.id, "name": item_name(i.metadata, i.system_metadata, i.id)}
            for i in items]


def recorded(h: ChatHarness) -> RecordingClient:
    client = RecordingClient(h.client)
    h.chat.set_client(client)
    return client


def test_a_question_about_two_videos_is_scoped_stepped_and_saved(harness: ChatHarness) -> None:
    h = harness
    client = recorded(h)
    chosen = two_videos(h)
    conversation = h.new_conversation()
    h.repo.set_web_search(conversation.id, True)
    text = compose_question(QUESTION, chosen)
    assert h.chat.send(conversation.id, text, selections=chosen) is None
    h.wait_finished(conversation.id, 1)

    (_args, kwargs), = client.calls
    assert kwargs["selections"] == [Selection("item", chosen[0]["id"]),
                                    Selection("item", chosen[1]["id"])]
    assert kwargs["include_steps"] is True and kwargs["web_search"] is True
    question, answer = h.repo.list_messages(conversation.id)
    assert question.text == text and "{{sel:0}}" in text and "{{sel:1}}" in text
    assert question.selections == chosen
    assert chosen[0]["name"] in question.plain_text and "{{sel:" not in question.plain_text
    assert answer.status == MessageStatus.COMPLETE
    # Scoped: only the selected videos are cited, and the search step was told so.
    assert answer.citations
    assert {c["item_id"] for c in answer.citations} <= {s["id"] for s in chosen}
    steps, sources = split_web_sources(answer.steps)
    kinds = [s["kind"] for s in steps]
    assert kinds[:3] == ["commentary", "function_call", "function_call_output"]
    assert "web_search" in kinds
    call = steps[1]
    assert sorted(json.loads(call["arguments"])["item_ids"]) == sorted(s["id"] for s in chosen)
    assert steps[0]["text"] and steps[0]["status"] == "completed"
    # Only the final answer is the answer: no narration in its text.
    assert steps[0]["text"] not in answer.text
    assert sources and all(s["url"].startswith("https://") for s in sources)


def test_without_the_steps_setting_or_web_search_nothing_extra_is_asked(
    harness: ChatHarness,
) -> None:
    h = harness
    client = recorded(h)
    h.chat.set_include_steps(False)
    conversation = h.new_conversation()
    answer = h.ask(conversation.id, QUESTION)
    (_args, kwargs), = client.calls
    assert "include_steps" not in kwargs and "web_search" not in kwargs
    assert "selections" not in kwargs
    assert answer.status == MessageStatus.COMPLETE and answer.steps == []
    # web_search=True for one send overrides the conversation's own (off) setting.
    h.chat.set_include_steps(True)
    before = h.finished_count(conversation.id)
    assert h.chat.send(conversation.id, "And the hunting in the cold?", web_search=True) is None
    h.wait_finished(conversation.id, before + 1)
    assert client.calls[-1][1]["web_search"] is True


def test_steps_stream_to_the_view_before_the_answer_and_open_mid_stream(
    slow_harness: ChatHarness,
) -> None:
    h = slow_harness
    order: list[str] = []
    emitted: list[list[dict[str, Any]]] = []

    def on_steps(_cid: int, _mid: int, steps: object) -> None:
        order.append("steps")
        assert isinstance(steps, list)
        emitted.append(steps)

    h.chat.sig_stream_steps.connect(on_steps)
    h.chat.sig_stream_text.connect(lambda *_: order.append("text"))
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: any(s and s[0].get("text") for s in emitted), timeout=10_000)
    # A pane opening the conversation now gets the steps so far (nothing is saved yet).
    (answer_id, live), = h.chat.live_steps(conversation.id)
    assert live and live[0]["kind"] == "commentary"
    assert h.repo.get_message(answer_id).steps == []
    h.wait_finished(conversation.id, 1, 20_000)
    assert order[0] == "steps" and "text" in order
    assert order.index("steps") < order.index("text")
    # Narration arrives word by word: the commentary grew across emissions.
    lengths = [len(s[0].get("text") or "") for s in emitted if s]
    assert len(set(lengths)) > 1
    assert h.chat.live_steps(conversation.id) == []
    saved = h.repo.get_message(answer_id)
    assert [s["kind"] for s in saved.steps][:2] == ["commentary", "function_call"]


def test_a_step_that_did_not_change_is_not_converted_again(
    slow_harness: ChatHarness,
) -> None:
    """Each emission carries every step so far; only the ones that changed are converted
    again, the others are the very dicts emitted before (a long agent run has hundreds)."""
    h = slow_harness
    emitted: list[list[dict[str, Any]]] = []
    h.chat.sig_stream_steps.connect(lambda _cid, _mid, steps: emitted.append(steps))
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, QUESTION, web_search=True) is None
    h.wait_finished(conversation.id, 1, 20_000)
    kept = [new is old for before, after in itertools.pairwise(emitted)
            for old, new in zip(before, after, strict=False) if old == new]
    assert kept and all(kept)
    changed = [new is old for before, after in itertools.pairwise(emitted)
               for old, new in zip(before, after, strict=False) if old != new]
    assert changed and not any(changed)


def test_a_failed_turn_keeps_its_steps_and_retry_asks_about_the_same_videos(
    harness: ChatHarness, sandbox: Any,
) -> None:
    h = harness
    client = recorded(h)
    chosen = two_videos(h)
    conversation = h.new_conversation()
    sandbox.faults.add(Fault.fail_midway(after_deltas=3, times=1, path="/responses"))
    assert h.chat.send(conversation.id, compose_question(QUESTION, chosen[:1]),
                       selections=chosen[:1]) is None
    h.wait_finished(conversation.id, 1)
    question, failed = h.repo.list_messages(conversation.id)
    assert failed.status == MessageStatus.FAILED
    assert [s["kind"] for s in failed.steps][:1] == ["commentary"]  # how far it got
    assert h.chat.retry(failed.id) is None
    h.wait_finished(conversation.id, 2)
    assert client.calls[-1][1]["selections"] == [Selection("item", chosen[0]["id"])]
    assert client.calls[-1][0][1] == question.text
    answers = [m for m in h.repo.list_messages(conversation.id) if m.role == Role.ASSISTANT]
    assert answers[-1].status == MessageStatus.COMPLETE
    assert {c["item_id"] for c in answers[-1].citations} == {chosen[0]["id"]}


def test_a_selection_the_api_would_refuse_is_refused_before_anything_is_saved(
    harness: ChatHarness,
) -> None:
    h = harness
    conversation = h.new_conversation()
    refusal = h.chat.send(conversation.id, "About {{sel:0}}?",
                          selections=[{"kind": "item", "id": "ksic_1", "name": "Nights"}])
    assert refusal and "Nights" in refusal
    h.storage.drain(5000)
    assert h.repo.list_messages(conversation.id) == []
