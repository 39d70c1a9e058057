"""ChatController through the real thread pool, real client, real sandbox and real storage."""

from __future__ import annotations

import itertools
import socket
import time
from typing import Any

import pytest

from jockey_desktop.core.errors import STOPPED_EMPTY_TEXT, STOPPED_TEXT, ErrorCode
from jockey_desktop.core.limits import MAX_QUESTION_CHARS
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.sandbox.faults import Fault
from tests.helpers.chat import (
    ChatHarness,
    ChatStack,
    make_client,
    not_ready_store,
    ready_store,
)

QUESTION = "What are the main themes in these videos?"


def test_full_turn_saves_question_first_then_session_text_and_citations(
    harness: ChatHarness,
) -> None:
    conversation = harness.new_conversation()
    on_disk_at_request: list[list[Any]] = []
    real = harness.client

    class Recording:
        """The real client, noting what the database holds when the request goes out."""

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            on_disk_at_request.append(harness.repo.list_messages(conversation.id))
            return real.stream_response(*args, **kwargs)

    harness.chat.set_client(Recording())
    assert harness.chat.send(conversation.id, QUESTION) is None
    assert harness.chat.is_busy(conversation.id)  # at once, while the rows are written
    harness.qtbot.waitUntil(lambda: bool(on_disk_at_request), timeout=5_000)
    # Saved before any network: both rows were durable when the request went out.
    question, answer_row = on_disk_at_request[0]
    assert [question.role, answer_row.role] == [Role.USER, Role.ASSISTANT]
    assert question.text == QUESTION and question.status == MessageStatus.PENDING
    assert answer_row.status == MessageStatus.STREAMING and answer_row.reply_to == question.id
    # The views learn about them from the write's result, not by reading them back.
    harness.qtbot.waitUntil(lambda: len(harness.shown(conversation.id)) >= 2, timeout=5_000)
    assert harness.changes[0].messages[:2] == (question, answer_row)

    harness.qtbot.waitUntil(lambda: harness.finished_count(conversation.id) == 1, timeout=15_000)
    saved = harness.repo.get_conversation(conversation.id)
    assert saved.session_id and saved.session_id.startswith("sess_")
    assert saved.title == QUESTION  # auto-titled from the first question
    user, answer = harness.repo.list_messages(conversation.id)
    assert user.status == MessageStatus.COMPLETE
    assert answer.status == MessageStatus.COMPLETE
    assert answer.text.strip() and answer.citations
    assert answer.session_id == saved.session_id and answer.response_id
    assert answer.output_tokens and answer.output_tokens > 0
    assert harness.stream, "streamed text reached the GUI thread"
    assert all(cid == conversation.id for cid, _mid, _text in harness.stream)
    assert harness.busy == [(conversation.id, True), (conversation.id, False)]
    assert not harness.chat.is_busy(conversation.id)
    # The end of the turn was announced from its one write: both rows, final.
    harness.qtbot.waitUntil(lambda: not harness.feed.is_pending(), timeout=5_000)
    final = {m.id: m for m in harness.shown(conversation.id)}
    assert final[answer.id].status == MessageStatus.COMPLETE
    assert final[answer.id].text == answer.text and final[user.id].status == user.status


def test_three_turns_use_one_session(harness: ChatHarness) -> None:
    conversation = harness.new_conversation()
    for question in (QUESTION, "Which videos best represent the first theme?",
                     "Give me timestamps for the key moments in those videos"):
        answer = harness.ask(conversation.id, question)
        assert answer.status == MessageStatus.COMPLETE and answer.citations
    sessions = {m.session_id for m in harness.assistant_rows(conversation.id)}
    assert len(sessions) == 1
    assert sessions == {harness.repo.get_conversation(conversation.id).session_id}


def test_refusals_are_reasons_not_exceptions(harness: ChatHarness) -> None:
    conversation = harness.new_conversation()
    assert "Type a question" in harness.chat.send(conversation.id, "   \n ")
    too_long = harness.chat.send(conversation.id, "x" * (MAX_QUESTION_CHARS + 1))
    assert too_long and "10,000" in too_long and "10,001" in too_long
    harness.storage.drain(5000)
    assert harness.repo.list_messages(conversation.id) == []  # nothing saved for a refusal
    harness.chat.set_client(None)
    assert "API key" in harness.chat.send(conversation.id, QUESTION)


def test_second_send_while_streaming_is_refused(slow_harness: ChatHarness) -> None:
    conversation = slow_harness.new_conversation()
    assert slow_harness.chat.send(conversation.id, QUESTION) is None
    refusal = slow_harness.chat.send(conversation.id, "another question")
    assert refusal and "still arriving" in refusal
    slow_harness.storage.drain(5000)
    assert len(slow_harness.repo.list_messages(conversation.id)) == 2


def test_stream_text_is_throttled_and_partial_text_flushed(slow_harness: ChatHarness) -> None:
    times: list[float] = []
    slow_harness.chat.sig_stream_text.connect(lambda *_: times.append(time.monotonic()))
    conversation = slow_harness.new_conversation()
    assert slow_harness.chat.send(conversation.id, QUESTION) is None
    answer_id = slow_harness.wait_streaming(conversation.id).id
    # Within ~1 s of text arriving, the partial answer is on disk (crash safety).
    slow_harness.qtbot.waitUntil(
        lambda: len(slow_harness.repo.get_message(answer_id).text) > 0, timeout=5_000)
    assert slow_harness.repo.get_message(answer_id).status == MessageStatus.STREAMING
    slow_harness.qtbot.waitUntil(lambda: slow_harness.finished_count(conversation.id) == 1,
                                 timeout=20_000)
    # One delta every 20 ms, repaints at most every ~50 ms (the final one is immediate).
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]
    assert len(times) >= 3
    assert min(gaps) >= 0.040, gaps


def test_stop_cancels_at_once_keeps_partial_text_and_drops_late_events(
    slow_harness: ChatHarness,
) -> None:
    h = slow_harness
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: any(len(t) > 20 for _c, _m, t in h.stream), timeout=5_000)
    answer_id = h.wait_streaming(conversation.id).id

    h.chat.stop(conversation.id)
    # Immediately, without waiting for the worker: not busy; the rows follow once written.
    assert not h.chat.is_busy(conversation.id)
    assert h.busy[-1] == (conversation.id, False)
    h.wait_finished(conversation.id, 1)
    stopped = h.repo.get_message(answer_id)
    assert stopped.status == MessageStatus.CANCELLED
    assert stopped.error_code == ErrorCode.CANCELLED
    assert len(stopped.text) > 20
    user = h.repo.list_messages(conversation.id)[0]
    assert user.status == MessageStatus.CANCELLED

    # Nothing that the worker still delivers reaches the UI or the repository.
    h.qtbot.waitUntil(lambda: not h.feed.is_pending(), timeout=5_000)
    seen_stream, seen_changes = len(h.stream), len(h.changes)
    h.qtbot.wait(600)
    assert len(h.stream) == seen_stream and len(h.changes) == seen_changes
    assert h.repo.get_message(answer_id).text == stopped.text
    assert h.repo.get_message(answer_id).status == MessageStatus.CANCELLED


def test_retry_reuses_the_question_and_answers_in_the_same_session(
    harness: ChatHarness, sandbox: Any
) -> None:
    conversation = harness.new_conversation()
    first = harness.ask(conversation.id, QUESTION)
    session = harness.repo.get_conversation(conversation.id).session_id
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    failed = harness.ask(conversation.id, "Which videos best represent the first theme?")
    assert failed.status == MessageStatus.FAILED and failed.error_code == ErrorCode.SERVER
    question_id = failed.reply_to

    assert harness.chat.retry(failed.id) is None
    harness.qtbot.waitUntil(lambda: harness.finished_count(conversation.id) == 3, timeout=15_000)
    rows = harness.repo.list_messages(conversation.id)
    assert sum(1 for m in rows if m.role == Role.USER) == 2  # the question row was reused
    answers = [m for m in rows if m.role == Role.ASSISTANT and m.reply_to == question_id]
    assert [a.status for a in answers] == [MessageStatus.FAILED, MessageStatus.COMPLETE]
    assert answers[-1].session_id == session == first.session_id
    assert harness.repo.get_message(question_id).status == MessageStatus.COMPLETE
    # Retrying an answered question is refused with a reason.
    assert "already been answered" in harness.chat.retry(failed.id)


@pytest.mark.parametrize(
    ("fault", "code", "needle"),
    [
        (Fault.error(401, "api_key_invalid", "The API key is invalid."), ErrorCode.AUTH,
         "open Settings"),
        (Fault.error(403, "api_allowed_for_paid_plan", "Paid plans only."), ErrorCode.FORBIDDEN,
         "not allowed"),
        (Fault.rate_limit(retry_after=7), ErrorCode.RATE_LIMITED, "try again after"),
        (Fault.error(500), ErrorCode.SERVER, "server failed"),
        (Fault.fail_midway(after_deltas=2), ErrorCode.SERVER, "server failed"),
        (Fault.cut_stream(after_deltas=2), ErrorCode.PROTOCOL,
         "The connection to the server closed before the answer was complete."),
        (Fault.malformed_json(after_deltas=1), ErrorCode.PROTOCOL, "could not be understood"),
    ],
)
def test_each_server_fault_gives_its_own_saved_message(
    harness: ChatHarness, sandbox: Any, fault: Fault, code: str, needle: str
) -> None:
    if fault.retry_after is not None:
        fault.times = None  # the client may retry a 429 once; keep answering 429
    fault.path = "/responses"
    sandbox.faults.add(fault)
    conversation = harness.new_conversation()
    answer = harness.ask(conversation.id, QUESTION, timeout_ms=20_000)
    assert answer.status == MessageStatus.FAILED
    assert answer.error_code == code, answer.error_message
    assert needle in answer.error_message
    # The turn is retryable: the question is kept and marked.
    user = harness.repo.get_message(answer.reply_to)
    assert user.text == QUESTION and user.status == MessageStatus.FAILED


def test_partial_text_is_kept_when_the_stream_fails_midway(
    harness: ChatHarness, sandbox: Any
) -> None:
    sandbox.faults.add(Fault.fail_midway(after_deltas=3, path="/responses"))
    conversation = harness.new_conversation()
    answer = harness.ask(conversation.id, QUESTION)
    assert answer.status == MessageStatus.FAILED
    assert answer.text.strip(), "the text that arrived before the failure is kept"
    # The server assigned a session before failing: it is saved for the next turn.
    assert harness.repo.get_conversation(conversation.id).session_id


def test_store_not_ready_and_not_found(harness: ChatHarness) -> None:
    store = not_ready_store(harness.client)
    conversation = harness.new_conversation(store)
    answer = harness.ask(conversation.id, QUESTION)
    assert answer.error_code == ErrorCode.STORE_NOT_READY
    assert store.name in answer.error_message

    gone = harness.repo.create_conversation(
        "ks_019ebcf4-7e08-7201-b69c-000000000000", "Deleted store")
    answer = harness.ask(gone.id, QUESTION)
    assert answer.error_code == ErrorCode.STORE_NOT_FOUND
    assert "Deleted store" in answer.error_message


def test_network_down_and_timeout_are_told_apart(qtbot: Any, repo: Any, sandbox: Any) -> None:
    from jockey_desktop.controllers.chat import ChatController

    store = ready_store(make_client(sandbox))
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = make_client(sandbox)
    dead.base_url = f"http://127.0.0.1:{dead_port}/v1.3"
    stack = ChatStack()
    chat = ChatController(repo, stack.storage, stack.feed, dead)
    finished: list[int] = []
    chat.sig_turn_finished.connect(lambda _c, mid, _s: finished.append(mid))
    try:
        conversation = repo.create_conversation(store.id, store.name)
        assert chat.send(conversation.id, QUESTION) is None
        qtbot.waitUntil(lambda: len(finished) == 1, timeout=15_000)
        failed = repo.get_message(finished[0])
        assert failed.error_code == ErrorCode.NETWORK
        assert "Can't reach the server" in failed.error_message

        sandbox.faults.add(Fault.stall(seconds=5, path="/responses"))
        chat.set_client(make_client(sandbox, stream_idle_timeout=0.5))
        conversation = repo.create_conversation(store.id, store.name)
        assert chat.send(conversation.id, QUESTION) is None
        qtbot.waitUntil(lambda: len(finished) == 2, timeout=15_000)
        timed_out = repo.get_message(finished[1])
        assert timed_out.error_code == ErrorCode.TIMEOUT
        assert "took too long" in timed_out.error_message
    finally:
        chat.shutdown(1.5)
        stack.close()


def test_two_conversations_stream_at_once_without_cross_talk(slow_harness: ChatHarness) -> None:
    h = slow_harness
    a = h.new_conversation()
    b = h.new_conversation()
    assert h.chat.send(a.id, QUESTION) is None
    assert h.chat.send(b.id, "Show me the most dramatic moment.") is None
    assert h.chat.is_busy(a.id) and h.chat.is_busy(b.id)
    h.qtbot.waitUntil(lambda: h.finished_count(a.id) == 1 and h.finished_count(b.id) == 1,
                      timeout=30_000)
    answer_a = h.assistant_rows(a.id)[0]
    answer_b = h.assistant_rows(b.id)[0]
    # Every streamed update names the right conversation for its message.
    owner = {answer_a.id: a.id, answer_b.id: b.id}
    assert {mid for _c, mid, _t in h.stream} == set(owner)
    assert all(owner[mid] == cid for cid, mid, _t in h.stream)
    # And each conversation's last streamed text is its own saved answer.
    last = {mid: text for _c, mid, text in h.stream}
    assert last[answer_a.id] == answer_a.text and last[answer_b.id] == answer_b.text
    assert answer_a.text != answer_b.text
    sa = h.repo.get_conversation(a.id).session_id
    sb = h.repo.get_conversation(b.id).session_id
    assert sa and sb and sa != sb


def test_shutdown_mid_stream_is_fast_and_keeps_partial_text(slow_harness: ChatHarness) -> None:
    h = slow_harness
    a, b = h.new_conversation(), h.new_conversation()
    assert h.chat.send(a.id, QUESTION) is None
    assert h.chat.send(b.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: {c for c, _m, t in h.stream if len(t) > 10} == {a.id, b.id},
                      timeout=5_000)
    # Within its bound every stream worker returned (none abandoned), and the partial text
    # of both turns was queued for the disk.
    assert h.chat.shutdown(1.5) is True
    assert h.storage.drain(5_000)
    for conversation in (a, b):
        answer = h.assistant_rows(conversation.id)[0]
        assert answer.status == MessageStatus.INTERRUPTED
        assert len(answer.text) > 10
    assert "closing" in h.chat.send(a.id, "after quit")


def test_a_conversation_deleted_mid_stream_ends_its_turn_quietly(
    slow_harness: ChatHarness,
) -> None:
    h = slow_harness
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: bool(h.stream), timeout=5_000)
    h.repo.delete_conversation(conversation.id)  # behind the controller's back
    h.qtbot.waitUntil(lambda: not h.chat.is_busy(conversation.id), timeout=15_000)
    assert h.busy[-1] == (conversation.id, False)
    assert h.repo.list_messages(conversation.id) == []


class ScriptedClient:
    """Yields a fixed list of real stream events (for outcomes the sandbox can't be asked for
    through the client, such as a reply cut short by the length limit)."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def stream_response(self, *_args: Any, **_kwargs: Any) -> Any:
        yield from self.events


def test_an_incomplete_answer_is_kept_as_complete_with_a_notice(qtbot: Any, repo: Any) -> None:
    from jockey_desktop.controllers.chat import ChatController
    from jockey_desktop.core import api

    response = api.Response.from_json({
        "id": "resp_1", "session_id": "sess_1", "knowledge_store_id": "ks_1",
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "phase": "final_answer", "content": [
            {"type": "output_text", "text": "The first part", "annotations": []}]}],
        "usage": {"input_tokens": 10, "output_tokens": 3},
    })
    client = ScriptedClient([
        api.ResponseCreated("response.created", 0, "resp_1", "sess_1", "ks_1"),
        api.TextDelta("response.output_text.delta", 1, "The first part", "msg_0", 0,
                      "final_answer"),
        api.ResponseDone("response.completed", 2, response),
    ])
    stack = ChatStack()
    chat = ChatController(repo, stack.storage, stack.feed, client)
    notices: list[tuple[int, str]] = []
    chat.sig_notice.connect(lambda cid, text: notices.append((cid, text)))
    try:
        conversation = repo.create_conversation("ks_1", "Store")
        with qtbot.waitSignal(chat.sig_turn_finished, timeout=5_000) as finished:
            assert chat.send(conversation.id, QUESTION) is None
        assert finished.args[2] == MessageStatus.COMPLETE.value
        answer = repo.get_message(finished.args[1])
        assert answer.text == "The first part" and answer.output_tokens == 3
        assert notices and "cut short" in notices[0][1] and "length limit" in notices[0][1]
        assert repo.get_conversation(conversation.id).session_id == "sess_1"
    finally:
        chat.shutdown(1.0)
        stack.close()


def test_stop_saves_a_neutral_reason(harness: ChatHarness) -> None:
    h = harness
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, QUESTION) is None
    h.chat.stop(conversation.id)  # before the rows are even written: ended once they are
    h.wait_finished(conversation.id, 1)
    answer_id = h.finished[-1][1]
    stopped = h.repo.get_message(answer_id)
    assert stopped.status == MessageStatus.CANCELLED
    assert stopped.error_message in (STOPPED_TEXT, STOPPED_EMPTY_TEXT)
    assert stopped.error_message != "Stopped."
