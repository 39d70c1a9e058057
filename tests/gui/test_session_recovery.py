"""Session loss is never a dead end: seam, new session seeded with a recap, same question."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.limits import MAX_INSTRUCTIONS_CHARS
from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.chat import ChatHarness, make_client

TURNS = (
    "What are the main themes in these videos?",
    "Which videos best represent the first theme?",
    "Give me timestamps for the key moments in those videos",
)


class RecordingClient:
    """The real client, recording the keyword arguments of every stream request."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[dict[str, Any]] = []

    def stream_response(self, store_id: str, text: str, **kwargs: Any) -> Any:
        self.calls.append({"store_id": store_id, "text": text, **kwargs})
        return self._inner.stream_response(store_id, text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def recording(qtbot: Any, repo: Any, sandbox: Any) -> Iterator[tuple[ChatHarness, Any]]:
    client = RecordingClient(make_client(sandbox))
    h = ChatHarness(qtbot, repo, client)
    try:
        yield h, client
    finally:
        h.close()
        client.close()


def test_expired_session_continues_in_a_new_session_with_a_recap(
    recording: tuple[ChatHarness, RecordingClient], sandbox: Any
) -> None:
    h, client = recording
    conversation = h.new_conversation()
    h.ask(conversation.id, TURNS[0])
    h.ask(conversation.id, TURNS[1])
    old_session = h.repo.get_conversation(conversation.id).session_id
    assert sandbox.expire_session(old_session)

    answer = h.ask(conversation.id, TURNS[2])

    # The user sees an answer, in a new session, saved on the conversation.
    # (The sandbox does not read instructions, so "those videos" may find nothing to cite.)
    assert answer.status == MessageStatus.COMPLETE and answer.text.strip()
    new_session = h.repo.get_conversation(conversation.id).session_id
    assert new_session and new_session != old_session
    assert answer.session_id == new_session
    # The transcript is kept, with the seam between the failed attempt and the answer.
    rows = h.repo.list_messages(conversation.id)
    roles = [m.role for m in rows]
    assert roles == [Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT, Role.USER,
                     Role.ASSISTANT, Role.SEAM, Role.ASSISTANT]
    assert [m.text for m in rows if m.role == Role.USER] == list(TURNS)
    lost, seam = rows[5], rows[6]
    assert lost.status == MessageStatus.FAILED and lost.error_code == ErrorCode.SESSION_LOST
    assert "new session" in lost.error_message
    assert seam.session_id == new_session
    assert h.repo.get_old_session_id(seam.id) == old_session
    assert rows[4].status == MessageStatus.COMPLETE  # the question itself was answered
    assert any(m.role == Role.SEAM for m in h.shown(conversation.id))  # the views were told

    # The re-send carried no session and a recap of the earlier turns within the API limit.
    resend = client.calls[-1]
    assert resend["text"] == TURNS[2] and resend["session_id"] is None
    recap = resend["instructions"]
    assert TURNS[0] in recap and TURNS[1] in recap and len(recap) <= MAX_INSTRUCTIONS_CHARS
    assert client.calls[-2]["session_id"] == old_session  # the attempt that found it gone

    # Exactly one turn ended (the recovered one), busy throughout the recovery, and the
    # conversation goes on normally.
    assert h.finished_count(conversation.id) == 3
    assert [busy for cid, busy in h.busy if cid == conversation.id] == [True, False] * 3
    follow_up = h.ask(conversation.id, "Tell me more about the first one.")
    assert follow_up.status == MessageStatus.COMPLETE
    assert follow_up.session_id == new_session
    assert "instructions" not in client.calls[-1]
    # Retrying the superseded attempt is refused: its question has an answer.
    assert "already been answered" in h.chat.retry(lost.id)


def test_a_session_bound_to_another_store_is_not_retried_and_offers_a_new_conversation(
    recording: tuple[ChatHarness, RecordingClient],
) -> None:
    h, client = recording
    first = h.new_conversation()
    h.ask(first.id, TURNS[0])
    session = h.repo.get_conversation(first.id).session_id
    other_store = next(s for s in client.list_knowledge_stores() if s.id != h.store.id)
    moved = h.repo.create_conversation(other_store.id, other_store.name)
    h.repo.set_session_id(moved.id, session)

    answer = h.ask(moved.id, TURNS[0])
    assert answer.status == MessageStatus.FAILED
    assert answer.error_code == ErrorCode.SESSION_STORE_MISMATCH
    assert len(client.calls) == 2  # sent once, never re-sent unchanged
    assert any(cid == moved.id and "new conversation" in text for cid, text in h.notices)
    assert h.repo.get_conversation(moved.id).session_id == session  # nothing was lost
    # Retry would resend it unchanged: refused with the way out.
    assert "start a new conversation" in h.chat.retry(answer.id)
    assert len(client.calls) == 2


def test_a_conversation_with_history_but_no_session_starts_one_with_a_recap(
    recording: tuple[ChatHarness, RecordingClient],
) -> None:
    # E.g. imported from another computer, or the re-send after a session loss failed
    # before the server assigned a new session.
    h, client = recording
    conversation = h.new_conversation()
    question = h.repo.add_user_message(conversation.id, "Which scenes show the product?")
    answer = h.repo.start_assistant_message(conversation.id, question.id)
    h.repo.finish_message(answer.id, text="The unboxing at 01:10 and the demo at 04:00.",
                          status=MessageStatus.COMPLETE)
    assert h.repo.get_conversation(conversation.id).session_id is None

    h.ask(conversation.id, TURNS[0])
    sent = client.calls[-1]
    assert sent["session_id"] is None
    assert "Which scenes show the product?" in sent["instructions"]
    assert "The unboxing at 01:10" in sent["instructions"]
    # Once the server has the context, later turns don't repeat it.
    h.ask(conversation.id, TURNS[1])
    assert client.calls[-1]["session_id"] and "instructions" not in client.calls[-1]
