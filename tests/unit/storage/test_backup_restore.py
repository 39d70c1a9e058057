"""Daily and manual backups, rotation, and restoring a backup in place of the database."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    SCHEMA_VERSION,
    MessageStatus,
    Repository,
    StorageError,
    open_repository,
)
from jockey_desktop.core.storage import database as db
from tests.helpers.storage_fixtures import user_version


def test_daily_backup_and_rotation(db_path: Path, backup_dir: Path) -> None:
    open_repository(db_path, backup_dir).close()  # created: nothing to back up yet
    assert db.list_backups(backup_dir, db_path) == []
    repo = open_repository(db_path, backup_dir)
    first = repo.open_report.backup
    assert first is not None and "daily" in first.name
    repo.close()
    repo = open_repository(db_path, backup_dir)
    assert repo.open_report.backup is None  # the newest is fresh
    day_old = time.time() - 25 * 3600
    os.utime(first, (day_old, day_old))
    repo.close()
    repo = open_repository(db_path, backup_dir)
    assert repo.open_report.backup is not None
    for _ in range(10):
        repo.backup_now()
    backups = repo.list_backups()
    assert len(backups) == db.BACKUP_KEEP
    assert repo.latest_backup() == backups[-1]
    assert not list(backup_dir.glob("*.partial"))
    repo.close()


def test_restore_latest_backup(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S", title="kept")
    repo.set_session_id(conv.id, "sess-kept")
    backup = repo.backup_now()
    repo.create_conversation("s", "S", title="after the backup")
    assert repo.restore_backup() == backup
    titles = [s.conversation.title for s in repo.list_conversations()]
    assert titles == ["kept"]
    assert repo.get_conversation(conv.id).session_id == "sess-kept"  # type: ignore[union-attr]
    # The state before the restore was itself backed up.
    assert any("before-restore" in p.name for p in repo.list_backups())
    assert repo.search("kept") and repo.integrity_check()
    repo.close()


def test_restore_after_moving_aside(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    repo.create_conversation("s", "S", title="precious")
    repo.backup_now()
    repo.close()
    db_path.write_bytes(b"garbage" * 1000)
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.moved_aside is not None and repo.count_conversations() == 0
        repo.restore_backup(repo.latest_backup())
        assert [s.conversation.title for s in repo.list_conversations()] == ["precious"]
    finally:
        repo.close()


def test_restore_v1_backup_is_migrated(v1_copy: Path, backup_dir: Path) -> None:
    repo = open_repository(v1_copy, backup_dir)
    try:
        v1_backup = repo.open_report.backup
        assert v1_backup is not None
        repo.create_conversation("s", "S", title="newer")
        repo.restore_backup(v1_backup)
        assert repo.count_conversations() == 3
        assert user_version(v1_copy) == SCHEMA_VERSION
        repo.set_pinned(1, True)  # a v2 column works
    finally:
        repo.close()


def test_a_restored_turn_caught_in_flight_is_settled(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "asked while the backup ran")
    repo.flush_partial_text(answer.id, "half")
    backup = repo.backup_now()
    repo.complete_turn(question.id, answer.id, text="whole")
    repo.restore_backup(backup)
    restored = {m.id: m for m in repo.list_messages(conv.id)}
    assert restored[answer.id].status is MessageStatus.INTERRUPTED
    assert restored[answer.id].text == "half"
    assert restored[question.id].status is MessageStatus.INTERRUPTED


def test_a_restore_that_cannot_replace_the_file_leaves_the_database_usable(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.create_conversation("s", "S", title="before")
    backup = repo.backup_now()
    repo.create_conversation("s", "S", title="current")
    real_replace = os.replace

    def refuse_restore(src: object, dst: object) -> None:
        if ".restore-" in str(src):
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", refuse_restore)
    with pytest.raises(StorageError, match="restore the backup"):
        repo.restore_backup(backup)
    monkeypatch.undo()
    assert {s.conversation.title for s in repo.list_conversations()} == {"before", "current"}
    assert repo.create_conversation("s", "S", title="after").title == "after"
    assert not list(repo.db_path.parent.glob(".*restore-*"))  # no staged copy left behind
