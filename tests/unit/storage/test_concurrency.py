"""Readers never wait: reads run on their own connection while a write transaction, a
search or a backup is in progress, and a read during a restore fails fast."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jockey_desktop.core.storage.repository as repository_module
from jockey_desktop.core.storage import (
    Repository,
    StorageBusyError,
    StorageError,
    open_repository,
)
from jockey_desktop.core.storage import database as db

#: Generous: these wait for another thread, never measure speed.
WAIT_S = 10.0


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Event, list[Any]]:
    """Run ``call`` in a daemon thread; the event is set when it returned or raised."""
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # reported to the test through ``outcome``
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, outcome


def test_a_read_completes_while_a_write_transaction_is_open(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S", title="committed")
    with repo._write("hold the write lock") as conn:  # as a long write on the storage thread
        conn.execute("UPDATE conversations SET title = 'uncommitted' WHERE id = ?", (conv.id,))
        done, outcome = _in_thread(lambda: (repo.list_conversations(),
                                            repo.get_conversation(conv.id)))
        assert done.wait(WAIT_S), "a read waited for the write transaction"
    summaries, conversation = outcome[0]
    # The reader saw the last committed state, not the transaction in progress.
    assert [s.conversation.title for s in summaries] == ["committed"]
    assert conversation.title == "committed"
    assert repo.get_conversation(conv.id).title == "uncommitted"  # type: ignore[union-attr]


def test_a_read_completes_while_a_search_runs(repo: Repository,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    conv = repo.create_conversation("s", "S", title="t")
    repo.start_turn(conv.id, "lions hunting at dusk")
    searching, release = threading.Event(), threading.Event()
    real = repository_module._first_per_conversation

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        searching.set()
        release.wait(WAIT_S)  # a search busy ranking a big index
        return real(*args, **kwargs)

    monkeypatch.setattr(repository_module, "_first_per_conversation", slow_first)
    search_done, hits = _in_thread(lambda: repo.search("lions"))
    try:
        assert searching.wait(WAIT_S)
        read_done, outcome = _in_thread(lambda: repo.list_messages(conv.id))
        assert read_done.wait(WAIT_S), "a read waited for the search"
        assert [m.text for m in outcome[0]] == ["lions hunting at dusk", ""]
        write_done, _ = _in_thread(lambda: repo.set_draft(conv.id, "typing"))
        assert write_done.wait(WAIT_S), "a write waited for the search"
    finally:
        release.set()
    assert search_done.wait(WAIT_S) and len(hits[0]) == 1


def test_a_read_completes_while_a_backup_copies(repo: Repository,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    conv = repo.create_conversation("s", "S", title="kept")
    real = db.backup
    seen: list[Any] = []

    def slow_backup(*args: Any, **kwargs: Any) -> Path:
        done, outcome = _in_thread(lambda: (repo.get_conversation(conv.id),
                                            repo.set_pinned(conv.id, True)))
        assert done.wait(WAIT_S), "a read or write waited for the backup"
        seen.extend(outcome)
        return real(*args, **kwargs)

    monkeypatch.setattr(db, "backup", slow_backup)
    assert repo.backup_now().exists()
    conversation, pinned = seen[0]
    assert conversation.title == "kept" and pinned.pinned


def test_reads_during_a_restore_fail_fast_and_work_after(
    db_path: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = open_repository(db_path, backup_dir)
    try:
        repo.create_conversation("s", "S", title="in the backup")
        backup = repo.backup_now()
        repo.create_conversation("s", "S", title="after the backup")
        during: list[Any] = []
        real = db.fsync_directory

        def read_meanwhile(path: Path) -> None:
            # Called by restore between replacing the file and reopening the connections.
            done, outcome = _in_thread(repo.list_conversations)
            assert done.wait(WAIT_S), "a read during the restore waited"
            during.extend(outcome)
            real(path)

        monkeypatch.setattr(db, "fsync_directory", read_meanwhile)
        done, outcome = _in_thread(lambda: repo.restore_backup(backup))
        assert done.wait(WAIT_S) and outcome == [backup]
        assert isinstance(during[0], StorageBusyError)
        assert "being restored" in str(during[0])
        # Both connections were reopened on the restored file.
        assert [s.conversation.title for s in repo.list_conversations()] == ["in the backup"]
        assert repo.create_conversation("s", "S", title="new").title == "new"
        assert repo.search("backup") and repo.integrity_check()
    finally:
        repo.close()
    with pytest.raises(StorageError, match="closed"):
        repo.list_conversations()
    with pytest.raises(StorageError, match="closed"):
        repo.integrity_check()
    assert repo.search("backup") == []  # search never raises for a closed database
