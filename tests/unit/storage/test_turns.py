"""Turn writes: each is one transaction that returns what it changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    CITATION_KEYS,
    MessageStatus,
    NotFoundError,
    Repository,
    Role,
    StorageError,
    TurnWrite,
    open_repository,
)

_SELECTIONS = [{"kind": "item", "id": "ksi_1", "name": "Lion hunt", "extra": "dropped"},
               {"kind": "collection", "id": "ksic_9"}]


def test_start_turn_saves_question_and_answer_row_at_once(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "How does {{sel:0}} end?",
                                       selections=_SELECTIONS)
    assert (question.role, question.status) == (Role.USER, MessageStatus.PENDING)
    assert (answer.role, answer.status) == (Role.ASSISTANT, MessageStatus.STREAMING)
    assert answer.reply_to == question.id and answer.text == ""
    assert question.selections == [
        {"kind": "item", "id": "ksi_1", "name": "Lion hunt"},
        {"kind": "collection", "id": "ksic_9", "name": ""}]
    assert question.plain_text == "How does Lion hunt end?"
    # The untitled conversation is titled from the question, with names, not placeholders.
    titled = repo.get_conversation(conv.id)
    assert titled is not None and titled.title == "How does Lion hunt end?"
    assert titled.updated_at >= conv.updated_at
    assert repo.list_messages(conv.id) == [question, answer]  # exactly what was returned


def test_start_turn_writes_nothing_for_a_missing_conversation(repo: Repository) -> None:
    with pytest.raises(NotFoundError):
        repo.start_turn(404, "lost")
    assert repo.count_messages(404) == 0


def test_complete_turn_writes_both_rows_and_the_conversation(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "Where is the goal?")
    assert repo.flush_partial_text(answer.id, "The go")
    steps = [{"type": "function_call", "name": "search", "arguments": "{}", "n": float("inf")}]
    written = repo.complete_turn(
        question.id, answer.id, text="The **goal** is at 01:23 [1].",
        citations=[{"title": "Final", "start_sec": 83.0, "end_sec": 105.0, "extra": 1}],
        steps=steps, input_tokens=10, output_tokens=5, response_id="resp-1",
        session_id="sess-9")
    assert isinstance(written, TurnWrite)
    assert written.question.status is MessageStatus.COMPLETE
    assert written.answer.status is MessageStatus.COMPLETE
    assert written.answer.text == "The **goal** is at 01:23 [1]."
    assert written.answer.plain_text == "The goal is at 01:23."
    assert written.answer.citations == [{**dict.fromkeys(CITATION_KEYS), "title": "Final",
                                         "start_sec": 83.0, "end_sec": 105.0}]
    assert written.answer.steps == [{"type": "function_call", "name": "search",
                                     "arguments": "{}", "n": None}]
    assert (written.answer.input_tokens, written.answer.output_tokens,
            written.answer.response_id, written.answer.session_id) == (10, 5, "resp-1",
                                                                       "sess-9")
    assert written.conversation.session_id == "sess-9"
    assert written.conversation.updated_at >= written.answer.updated_at
    # What was returned is what is stored: callers need not re-read.
    assert repo.get_message(question.id) == written.question
    assert repo.get_message(answer.id) == written.answer
    assert repo.get_conversation(conv.id) == written.conversation
    assert not repo.flush_partial_text(answer.id, "stale")  # a late flush changes nothing


def test_complete_turn_fills_a_seam_waiting_for_its_session(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    repo.set_session_id(conv.id, "sess-old")
    seam = repo.add_session_seam(conv.id, "sess-old", "The session expired.")
    question, answer = repo.start_turn(conv.id, "again")
    written = repo.complete_turn(question.id, answer.id, text="ok", session_id="sess-new")
    assert written.conversation.session_id == "sess-new"
    assert repo.get_message(seam.id).session_id == "sess-new"  # type: ignore[union-attr]
    # Without a session id the conversation's stays as it is.
    q2, a2 = repo.start_turn(conv.id, "more")
    assert repo.complete_turn(q2.id, a2.id, text="ok").conversation.session_id == "sess-new"


def test_end_turn_keeps_partial_text_error_and_retry_time(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "q")
    repo.flush_partial_text(answer.id, "half an **answer**")
    ended = repo.end_turn(question.id, answer.id, status=MessageStatus.FAILED,
                          error_code="rate_limited", error_message="Rate limited.",
                          retry_at=1_800_000_000.0,
                          steps=[{"type": "message", "phase": "commentary"}])
    assert ended.question.status is MessageStatus.FAILED
    assert ended.answer.status is MessageStatus.FAILED
    assert (ended.answer.text, ended.answer.plain_text) == ("half an **answer**",
                                                           "half an answer")
    assert (ended.answer.error_code, ended.answer.error_message) == ("rate_limited",
                                                                    "Rate limited.")
    assert ended.answer.retry_at == 1_800_000_000.0
    assert ended.answer.steps == [{"type": "message", "phase": "commentary"}]
    assert repo.get_message(answer.id) == ended.answer
    assert repo.get_conversation(conv.id) == ended.conversation
    # A cancelled turn with the text that arrived in memory replaces the flushed text.
    q2, a2 = repo.start_turn(conv.id, "q2")
    stopped = repo.end_turn(q2.id, a2.id, status=MessageStatus.CANCELLED, error_code=None,
                            error_message=None, text="what arrived")
    assert stopped.answer.text == "what arrived" and stopped.answer.retry_at is None
    assert stopped.question.status is MessageStatus.CANCELLED


def test_turn_rows_must_belong_together(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    q1, a1 = repo.start_turn(conv.id, "one")
    q2, a2 = repo.start_turn(conv.id, "two")
    with pytest.raises(StorageError, match="not the answer"):
        repo.complete_turn(q1.id, a2.id, text="x")
    with pytest.raises(StorageError, match="not the answer"):
        repo.end_turn(a1.id, a1.id, status=MessageStatus.FAILED, error_code=None,
                      error_message=None)
    with pytest.raises(NotFoundError):
        repo.complete_turn(q1.id, 99_999, text="x")
    with pytest.raises(StorageError, match="cannot end"):
        repo.end_turn(q1.id, a1.id, status=MessageStatus.COMPLETE, error_code=None,
                      error_message=None)
    # Nothing was written by the refused calls.
    assert repo.get_message(a1.id) == a1 and repo.get_message(q2.id) == q2


def test_restart_turn_asks_again_under_the_same_question(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "q")
    repo.end_turn(question.id, answer.id, status=MessageStatus.CANCELLED, error_code=None,
                  error_message=None, text="partial")
    again, fresh = repo.restart_turn(question.id)
    assert again.id == question.id and again.status is MessageStatus.PENDING
    assert fresh.reply_to == question.id and fresh.status is MessageStatus.STREAMING
    assert fresh.id > answer.id
    old = repo.get_message(answer.id)
    assert old is not None and old.text == "partial"  # the earlier version stays
    with pytest.raises(StorageError, match="not a question"):
        repo.restart_turn(fresh.id)
    with pytest.raises(NotFoundError):
        repo.restart_turn(99_999)


def test_a_failed_turn_write_leaves_nothing_half_written(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "q")
    # A trigger that fails the second statement of the transaction (the question update).
    conn = repo._connection()
    conn.execute("CREATE TEMP TRIGGER refuse BEFORE UPDATE OF status ON messages "
                 "WHEN new.role = 'user' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(StorageError, match="refused"):
        repo.complete_turn(question.id, answer.id, text="complete answer")
    conn.execute("DROP TRIGGER temp.refuse")
    assert repo.get_message(answer.id) == answer  # the answer update was rolled back too
    assert repo.get_message(question.id) == question


def test_turn_writes_are_durable_on_return(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "q", selections=_SELECTIONS)
    written = repo.complete_turn(question.id, answer.id, text="a", session_id="sess-d")
    # Another connection sees the committed turn before the repository is closed.
    other = sqlite3.connect(db_path)
    try:
        rows = other.execute("SELECT role, status, selections FROM messages ORDER BY id"
                             ).fetchall()
        assert [r[:2] for r in rows] == [("user", "complete"), ("assistant", "complete")]
        assert "Lion hunt" in rows[0][2]
        assert other.execute("SELECT session_id FROM conversations").fetchone() == ("sess-d",)
    finally:
        other.close()
        repo.close()
    assert written.conversation.session_id == "sess-d"
