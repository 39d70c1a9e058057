"""The gated early start of a turn: the stream's worker starts with the question's write and
sends only once that write is durable — nothing when it failed or the turn was stopped
first — and events that overtake the write's own result are replayed once it is applied."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jockey_desktop.core.errors import STOPPED_EMPTY_TEXT, ErrorCode
from jockey_desktop.core.storage import StorageError
from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.chat import ChatHarness
from tests.helpers.recording_client import RecordingClient

QUESTION = "What are the main themes in these videos?"


def _hold_storage(h: ChatHarness) -> threading.Event:
    """Block the (single) storage runner until the returned event is set."""
    release = threading.Event()
    h.storage.submit(release.wait, 10.0)
    return release


class _Draining(RecordingClient):
    """Records what was sent and notes when the stream has been read to its end."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.exhausted = threading.Event()

    def stream_response(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from super().stream_response(*args, **kwargs)
        self.exhausted.set()


def test_stop_before_the_question_is_saved_sends_nothing(harness: ChatHarness) -> None:
    h = harness
    client = RecordingClient(h.client)
    h.chat.set_client(client)
    conversation = h.new_conversation()
    release = _hold_storage(h)
    assert h.chat.send(conversation.id, QUESTION) is None
    h.chat.stop(conversation.id)  # the worker is already waiting on the write
    assert not h.chat.is_busy(conversation.id)
    release.set()
    h.wait_finished(conversation.id, 1)
    h.storage.drain(5000)
    assert client.calls == []  # never sent: stopped before the question was durable
    question, answer = h.repo.list_messages(conversation.id)
    assert question.role == Role.USER and question.text == QUESTION
    assert answer.status == MessageStatus.CANCELLED
    assert answer.error_message == STOPPED_EMPTY_TEXT


def test_a_question_that_could_not_be_saved_is_never_sent(
    harness: ChatHarness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    client = RecordingClient(h.client)
    h.chat.set_client(client)
    conversation = h.new_conversation()

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageError("The disk said no.")

    monkeypatch.setattr(h.repo, "start_turn", broken)
    assert h.chat.send(conversation.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: bool(h.refused), timeout=5_000)
    assert "The disk said no." in h.refused[0][1]
    assert h.busy == [(conversation.id, True), (conversation.id, False)]
    # The worker learnt of the failure from the gate and returned without a request.
    h.qtbot.waitUntil(lambda: h.chat._runner.stream_count == 0, timeout=5_000)
    assert client.calls == []
    assert h.repo.list_messages(conversation.id) == []


def test_a_stream_that_ends_before_its_rows_are_applied_is_replayed_whole(
    harness: ChatHarness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    client = _Draining(h.client)
    h.chat.set_client(client)
    conversation = h.new_conversation()
    deferred: list[tuple[int, Any]] = []
    rows_saved = h.chat._rows_saved
    # The write's result reaches the GUI thread only after the whole stream did.
    monkeypatch.setattr(h.chat, "_rows_saved", lambda rid, started: deferred.append(
        (rid, started)))
    assert h.chat.send(conversation.id, QUESTION) is None
    h.qtbot.waitUntil(lambda: bool(deferred) and client.exhausted.is_set(), timeout=10_000)
    h.qtbot.waitUntil(lambda: h.chat._runner.stream_count == 0, timeout=5_000)
    h.qtbot.wait(50)  # the worker's last queued signals reach the controller
    assert h.finished == [] and h.stream == []  # all of it waits for the rows
    assert len(client.calls) == 1
    rows_saved(*deferred[0])
    h.wait_finished(conversation.id, 1)
    question, answer = h.repo.list_messages(conversation.id)
    assert question.status == MessageStatus.COMPLETE
    assert answer.status == MessageStatus.COMPLETE
    assert answer.text.strip() and answer.citations
    saved = h.repo.get_conversation(conversation.id)
    assert saved.session_id and answer.session_id == saved.session_id


def test_a_new_session_is_sent_the_recap_of_the_turns_before_only(
    harness: ChatHarness,
) -> None:
    h = harness
    client = RecordingClient(h.client)
    h.chat.set_client(client)
    conversation = h.new_conversation()
    h.ask(conversation.id, QUESTION)
    h.repo.set_session_id(conversation.id, None)  # the session is gone: a new one starts
    follow_up = "Which video shows it best?"
    h.ask(conversation.id, follow_up)
    instructions = client.calls[-1][1].get("instructions") or ""
    assert QUESTION in instructions  # worked out after the write, on the storage thread
    assert follow_up not in instructions  # the question being asked is not its own recap


def test_a_recovery_with_no_client_left_ends_once_its_rows_are_saved(
    harness: ChatHarness, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    conversation = h.new_conversation()
    h.ask(conversation.id, QUESTION)
    assert sandbox.expire_session(h.repo.get_conversation(conversation.id).session_id)
    recover = h.chat._recover_session

    def key_removed_meanwhile(turn: Any) -> None:
        h.chat.set_client(None)  # e.g. the key was removed while the attempt failed
        recover(turn)

    monkeypatch.setattr(h.chat, "_recover_session", key_removed_meanwhile)
    assert h.chat.send(conversation.id, "Which video shows it best?") is None
    h.wait_finished(conversation.id, 2)
    h.storage.drain(5000)
    last = h.repo.list_messages(conversation.id)[-1]
    assert last.role == Role.ASSISTANT and last.status == MessageStatus.FAILED
    assert last.error_code == ErrorCode.NO_CLIENT
    assert not h.chat.is_busy(conversation.id)
