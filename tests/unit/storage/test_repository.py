"""Repository CRUD, write discipline, recovery at open, file modes."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    CITATION_KEYS,
    MessageStatus,
    NotFoundError,
    Repository,
    Role,
    StorageError,
    open_repository,
)
from jockey_desktop.core.storage.export import export_markdown


def test_create_and_get_conversation(repo: Repository) -> None:
    conv = repo.create_conversation("store-1", "Store One", instructions="be brief")
    assert conv.id > 0 and len(conv.uid) == 36
    assert (conv.store_id, conv.store_name, conv.instructions) == ("store-1", "Store One",
                                                                  "be brief")
    assert conv.session_id is None and conv.title == "" and conv.title_is_auto
    assert repo.get_conversation(conv.id) == conv
    assert repo.get_conversation_by_uid(conv.uid) == conv
    assert repo.get_conversation(9999) is None
    assert repo.count_conversations() == 1


def test_explicit_title_is_not_auto(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S", title="Mine")
    repo.add_user_message(conv.id, "a question")
    got = repo.get_conversation(conv.id)
    assert got is not None and got.title == "Mine" and not got.title_is_auto


def test_first_user_message_sets_auto_title_once(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    repo.add_user_message(conv.id, "  What is   in\nthe video?  ")
    repo.add_user_message(conv.id, "Second question")
    got = repo.get_conversation(conv.id)
    assert got is not None and got.title == "What is in the video?"
    repo.add_user_message(repo.create_conversation("s", "S").id, "word " * 100)
    long_title = repo.list_conversations()[0].conversation.title
    assert len(long_title) <= 80 and long_title.endswith("…")


def test_rename_pin_draft_session(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    repo.rename_conversation(conv.id, "Renamed")
    repo.set_pinned(conv.id, True)
    repo.set_draft(conv.id, "half typed")
    repo.set_session_id(conv.id, "sess-1")
    got = repo.get_conversation(conv.id)
    assert got is not None
    assert (got.title, got.title_is_auto, got.pinned, got.draft, got.session_id) == (
        "Renamed", False, True, "half typed", "sess-1")
    # A renamed conversation keeps its title when the first message arrives.
    repo.add_user_message(conv.id, "hello")
    assert repo.get_conversation(conv.id).title == "Renamed"  # type: ignore[union-attr]


def test_writes_to_missing_ids_raise_not_found(repo: Repository) -> None:
    with pytest.raises(NotFoundError):
        repo.rename_conversation(42, "x")
    with pytest.raises(NotFoundError):
        repo.set_session_id(42, "s")
    with pytest.raises(NotFoundError):
        repo.add_user_message(42, "x")
    with pytest.raises(NotFoundError):
        repo.set_message_status(42, MessageStatus.COMPLETE)
    with pytest.raises(NotFoundError):
        repo.finish_message(42, text="x", status=MessageStatus.COMPLETE)
    assert repo.get_message(42) is None


def test_list_order_pinned_then_recent(repo: Repository) -> None:
    a = repo.create_conversation("s", "S", title="a")
    b = repo.create_conversation("s", "S", title="b")
    c = repo.create_conversation("s", "S", title="c")
    repo.add_user_message(a.id, "makes a the most recent")
    repo.set_pinned(b.id, True)
    order = [s.conversation.title for s in repo.list_conversations()]
    assert order == ["b", "a", "c"]
    assert [s.conversation.title for s in repo.list_conversations(limit=1, offset=1)] == ["a"]
    repo.delete_conversation(c.id)
    assert repo.count_conversations() == 2


def test_full_turn(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    user = repo.add_user_message(conv.id, "Where is the goal?")
    assert user.status is MessageStatus.PENDING and user.role is Role.USER
    reply = repo.start_assistant_message(conv.id, user.id)
    assert reply.status is MessageStatus.STREAMING and reply.reply_to == user.id
    repo.set_session_id(conv.id, "sess-9")
    assert repo.flush_partial_text(reply.id, "The goal")
    partial = repo.get_message(reply.id)
    assert partial is not None and partial.text == "The goal"
    assert partial.revision > reply.revision
    done = repo.finish_message(
        reply.id, text="The goal is at 01:23.", status=MessageStatus.COMPLETE,
        citations=[{"title": "Final", "start_sec": 83.0, "end_sec": 105.0, "extra": 1}],
        input_tokens=10, output_tokens=5, response_id="resp-1", session_id="sess-9",
    )
    assert done.status is MessageStatus.COMPLETE and done.text == "The goal is at 01:23."
    assert done.citations == [{**dict.fromkeys(CITATION_KEYS), "title": "Final",
                               "start_sec": 83.0, "end_sec": 105.0}]
    assert (done.input_tokens, done.output_tokens, done.response_id, done.session_id) == (
        10, 5, "resp-1", "sess-9")
    # The answered question is no longer pending.
    assert repo.get_message(user.id).status is MessageStatus.COMPLETE  # type: ignore[union-attr]
    # A late flush cannot overwrite the final answer.
    assert not repo.flush_partial_text(reply.id, "stale")
    assert repo.get_message(reply.id).text == "The goal is at 01:23."  # type: ignore[union-attr]
    summary = repo.list_conversations()[0]
    assert summary.message_count == 2 and summary.last_status is MessageStatus.COMPLETE


def test_fail_message_keeps_partial_text(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    user = repo.add_user_message(conv.id, "q")
    reply = repo.start_assistant_message(conv.id, user.id)
    repo.flush_partial_text(reply.id, "half an answer")
    failed = repo.fail_message(reply.id, status=MessageStatus.CANCELLED, error_code=None,
                               error_message="Stopped")
    assert failed.text == "half an answer" and failed.status is MessageStatus.CANCELLED
    failed = repo.fail_message(reply.id, status=MessageStatus.FAILED,
                               error_code="rate_limited", error_message="Slow down", text="")
    assert (failed.text, failed.error_code, failed.error_message) == ("", "rate_limited",
                                                                     "Slow down")


def test_session_seam(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    repo.set_session_id(conv.id, "old")
    seam = repo.add_session_seam(conv.id, "old", "session expired")
    assert seam.role is Role.SEAM and seam.text == "session expired" and seam.session_id is None
    assert repo.get_conversation(conv.id).session_id is None  # type: ignore[union-attr]
    assert repo.get_old_session_id(seam.id) == "old"
    repo.set_session_id(conv.id, "new")
    assert repo.get_message(seam.id).session_id == "new"  # type: ignore[union-attr]
    assert repo.list_conversations()[0].message_count == 0  # seams are not messages


def test_delete_cascades_messages(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    msg = repo.add_user_message(conv.id, "bye")
    repo.delete_conversation(conv.id)
    assert repo.get_message(msg.id) is None and repo.list_messages(conv.id) == []
    assert repo.integrity_check()


def test_recovery_at_open_marks_interrupted(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S")
    answered = repo.add_user_message(conv.id, "answered?")
    streaming = repo.start_assistant_message(conv.id, answered.id)
    repo.flush_partial_text(streaming.id, "partial")
    lonely = repo.add_user_message(conv.id, "never sent")
    repo.close()
    repo = open_repository(db_path, backup_dir)
    try:
        report = repo.open_report
        assert (report.interrupted_messages, report.interrupted_user_messages) == (1, 1)
        assert report.recovered and report.user_message() is not None
        got = repo.get_message(streaming.id)
        assert got is not None and got.status is MessageStatus.INTERRUPTED
        assert got.text == "partial"
        assert repo.get_message(lonely.id).status is MessageStatus.INTERRUPTED  # type: ignore
        # The question beside the cut answer is settled with it (nothing is in flight at
        # open), though only the unanswered one is counted as retryable.
        assert repo.get_message(answered.id).status is MessageStatus.INTERRUPTED  # type: ignore
        markdown = export_markdown(repo, [conv.id])
        assert "answered?" in markdown and "(not answered)" not in markdown.split("partial")[0]
    finally:
        repo.close()


def test_file_modes_are_private(db_path: Path, backup_dir: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        repo = open_repository(db_path, backup_dir)
        repo.create_conversation("s", "S")
        backup = repo.backup_now()
        for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), backup):
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        repo.close()
    finally:
        os.umask(old_umask)


def test_existing_loose_mode_is_tightened(db_path: Path, backup_dir: Path) -> None:
    open_repository(db_path, backup_dir).close()
    db_path.chmod(0o644)
    open_repository(db_path, backup_dir).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_pragmas(repo: Repository) -> None:
    conn = sqlite3.connect(repo.db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    internal = repo._connection()
    assert internal.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert internal.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert internal.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_closed_repository_raises_storage_error(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    repo.close()
    repo.close()  # twice is fine
    with pytest.raises(StorageError):
        repo.count_conversations()


def test_threads_share_one_repository(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                repo.add_user_message(conv.id, f"t{n} m{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(repo.list_messages(conv.id)) == 100


def test_unusable_location_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StorageError, match="Could not open"):
        open_repository(blocker / "conversations.sqlite3", tmp_path / "backups")


def test_get_summary_matches_the_sidebar_list(repo: Repository) -> None:
    conv = repo.create_conversation("ks_1", "Store")
    other = repo.create_conversation("ks_1", "Store")
    user = repo.add_user_message(conv.id, "question")
    reply = repo.start_assistant_message(conv.id, user.id)
    repo.fail_message(reply.id, status=MessageStatus.FAILED, error_code="network",
                      error_message="down")
    repo.add_session_seam(conv.id, None, "session expired")

    summary = repo.get_summary(conv.id)
    assert summary is not None
    # The seam is a marker, not a message; the newest answer's state is what the row shows.
    assert summary.message_count == 2
    assert summary.last_status == MessageStatus.FAILED
    listed = {s.conversation.id: s for s in repo.list_conversations()}
    assert summary == listed[conv.id]
    assert repo.get_summary(other.id) == listed[other.id]
    assert repo.get_summary(999_999) is None


def test_writes_return_what_they_changed(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    renamed = repo.rename_conversation(conv.id, "Renamed")
    assert renamed.title == "Renamed" and not renamed.title_is_auto
    assert repo.set_pinned(conv.id, True).pinned
    assert repo.set_draft(conv.id, "half").draft == "half"
    assert repo.set_session_id(conv.id, "sess-1").session_id == "sess-1"
    question = repo.add_user_message(conv.id, "q")
    marked = repo.set_message_status(question.id, MessageStatus.FAILED)
    assert marked.status is MessageStatus.FAILED and marked.revision > question.revision
    assert repo.get_conversation(conv.id) == repo.set_web_search(conv.id, False)


def test_web_search_setting(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    assert conv.web_search is False
    assert repo.set_web_search(conv.id, True).web_search is True
    assert repo.get_conversation(conv.id).web_search is True  # type: ignore[union-attr]
    assert repo.create_conversation("s", "S", web_search=True).web_search is True
    with pytest.raises(NotFoundError):
        repo.set_web_search(999, True)


def test_a_fork_links_back_until_its_origin_is_deleted(repo: Repository) -> None:
    origin = repo.create_conversation("s", "S", title="origin")
    _question, answer = repo.start_turn(origin.id, "first")
    fork = repo.create_conversation("s", "S", origin_message_id=answer.id)
    assert (fork.origin_conversation_id, fork.origin_message_id) == (origin.id, answer.id)
    whole = repo.create_conversation("s", "S", origin_conversation_id=origin.id)
    assert (whole.origin_conversation_id, whole.origin_message_id) == (origin.id, None)
    with pytest.raises(NotFoundError):
        repo.create_conversation("s", "S", origin_message_id=99_999)
    with pytest.raises(NotFoundError):
        repo.create_conversation("s", "S", origin_conversation_id=99_999)
    with pytest.raises(StorageError, match="not part of"):
        repo.create_conversation("s", "S", origin_conversation_id=whole.id,
                                 origin_message_id=answer.id)
    repo.start_turn(fork.id, "continued")
    repo.delete_conversation(origin.id)
    after = repo.get_conversation(fork.id)
    assert after is not None
    assert (after.origin_conversation_id, after.origin_message_id) == (None, None)
    assert len(repo.list_messages(fork.id)) == 2  # the fork itself is untouched
