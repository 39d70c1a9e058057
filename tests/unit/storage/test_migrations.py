"""Schema migrations, too-new databases, damaged files, backups and restore."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    SCHEMA_VERSION,
    DatabaseTooNewError,
    MessageStatus,
    MigrationError,
    Role,
    open_repository,
    schema,
)
from jockey_desktop.core.storage import database as db

from .conftest import V1_FIXTURE


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        convs = conn.execute(
            "SELECT id, uid, title, store_id, store_name, session_id, created_at "
            "FROM conversations ORDER BY id").fetchall()
        msgs = conn.execute(
            "SELECT id, uid, conversation_id, role, text, reply_to, session_id, citations, "
            "input_tokens FROM messages ORDER BY id").fetchall()
    finally:
        conn.close()
    return convs, msgs


def test_fixture_is_v1() -> None:
    conn = sqlite3.connect(f"file:{V1_FIXTURE}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        conn.close()


def test_migrates_v1_fixture_keeping_every_row(v1_copy: Path, backup_dir: Path) -> None:
    before_convs, before_msgs = _raw_rows(v1_copy)
    assert len(before_convs) == 3 and len(before_msgs) == 12
    repo = open_repository(v1_copy, backup_dir)
    try:
        report = repo.open_report
        assert report.migrated and report.migrated_from == 1
        assert report.schema_version == SCHEMA_VERSION == 2
        # A pre-migration backup exists and is still at v1.
        assert report.backup is not None and "pre-migration-v1" in report.backup.name
        assert db.read_backup_version(report.backup) == 1
        after_convs, after_msgs = _raw_rows(v1_copy)
        assert after_convs == before_convs and after_msgs == before_msgs
        # New columns have their defaults; the crash-cut answer is now interrupted.
        summaries = repo.list_conversations()
        assert {s.conversation.title for s in summaries} == {r[2] for r in before_convs}
        assert all(not s.conversation.pinned and s.conversation.draft == "" for s in summaries)
        assert report.interrupted_messages == 1
        statuses = [m.status for c in summaries for m in repo.list_messages(c.conversation.id)]
        assert statuses.count(MessageStatus.INTERRUPTED) == 1
        assert statuses.count(MessageStatus.COMPLETE) == 11
        cited = repo.list_messages(summaries[0].conversation.id)[1]
        assert cited.role is Role.ASSISTANT and cited.citations[0]["start_sec"] == 83.0
        # The FTS index was built from the old rows.
        assert repo.search("penguin") and repo.search("Käse")
        assert repo.integrity_check()
    finally:
        repo.close()


def _failing_step(conn: sqlite3.Connection) -> None:
    raise RuntimeError("boom")


def test_failing_migration_leaves_file_as_it_was(
    v1_copy: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _digest(v1_copy)
    broken = schema.Migration(
        2, "broken", schema.V2_STATEMENTS, function=_failing_step,  # fails after real work
    )
    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATIONS[0], broken])
    with pytest.raises(MigrationError, match="boom"):
        open_repository(v1_copy, backup_dir)
    assert _digest(v1_copy) == before
    for suffix in ("-wal", "-journal"):
        side = Path(f"{v1_copy}{suffix}")
        assert not side.exists() or side.stat().st_size == 0
    monkeypatch.undo()
    repo = open_repository(v1_copy, backup_dir)  # the real migration still works afterwards
    try:
        assert repo.open_report.migrated_from == 1
    finally:
        repo.close()


def test_failing_later_step_keeps_earlier_steps(
    db_path: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_repository(db_path, backup_dir).close()
    steps = [*schema.MIGRATIONS,
             schema.Migration(3, "ok", ("CREATE TABLE extra (x)",)),
             schema.Migration(4, "broken", ("CREATE TABLE extra2 (x)", "NOT SQL"))]
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    with pytest.raises(MigrationError):
        open_repository(db_path, backup_dir)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" in names and "extra2" not in names
    finally:
        conn.close()


def test_too_new_database_is_refused_and_untouched(db_path: Path, backup_dir: Path) -> None:
    open_repository(db_path, backup_dir).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = _digest(db_path)
    with pytest.raises(DatabaseTooNewError) as info:
        open_repository(db_path, backup_dir)
    assert "newer version" in str(info.value) and str(SCHEMA_VERSION + 5) in str(info.value)
    assert info.value.found_version == SCHEMA_VERSION + 5
    assert _digest(db_path) == before
    assert not db.marker_path(db_path).exists()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 200, b"\x00" * 4096])
def test_not_a_database_is_moved_aside(db_path: Path, backup_dir: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    Path(f"{db_path}-wal").write_bytes(b"junk wal")
    repo = open_repository(db_path, backup_dir)
    try:
        moved = repo.open_report.moved_aside
        assert moved is not None and moved.name.startswith(db_path.name + ".corrupt-")
        assert moved.read_bytes() == content  # never deleted
        assert Path(f"{moved}-wal").read_bytes() == b"junk wal"
        assert "damaged" in (repo.open_report.user_message() or "")
        assert repo.count_conversations() == 0
        repo.create_conversation("s", "S")  # the fresh database works
    finally:
        repo.close()


def test_corrupt_database_found_after_unclean_shutdown(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S")
    for i in range(300):
        repo.add_user_message(conv.id, f"message {i} " + "x" * 200)
    repo.close()
    # Scribble over the middle of the file (not the header) and pretend we crashed.
    size = db_path.stat().st_size
    with open(db_path, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(8192))
    db.marker_path(db_path).touch()
    repo = open_repository(db_path, backup_dir)
    try:
        report = repo.open_report
        assert report.unclean_shutdown and report.quick_check_ok is False
        assert report.moved_aside is not None and report.moved_aside.exists()
        assert repo.count_conversations() == 0
    finally:
        repo.close()


def test_clean_shutdown_skips_quick_check(db_path: Path, backup_dir: Path) -> None:
    open_repository(db_path, backup_dir).close()
    repo = open_repository(db_path, backup_dir)
    assert db.marker_path(db_path).exists()
    assert repo.open_report.unclean_shutdown is False and repo.open_report.quick_check_ok is None
    repo.close()
    assert not db.marker_path(db_path).exists()
    db.marker_path(db_path).touch()  # as after a crash
    repo = open_repository(db_path, backup_dir)
    assert repo.open_report.unclean_shutdown and repo.open_report.quick_check_ok is True
    repo.close()


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
        assert repo._connection().execute("PRAGMA user_version").fetchone()[0] == 2
        repo.set_pinned(1, True)  # a v2 column works
    finally:
        repo.close()


def test_backup_does_not_hold_the_repository_lock(
    db_path: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write from another thread can proceed while a backup is being copied."""
    import threading

    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S")
    wrote = threading.Event()
    original_backup = db.backup

    def slow_backup(conn: sqlite3.Connection, *args: object, **kwargs: object) -> Path:
        writer = threading.Thread(target=lambda: (repo.set_draft(conv.id, "x"), wrote.set()))
        writer.start()
        assert wrote.wait(5), "the write was blocked by the backup"
        writer.join()
        return original_backup(conn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "backup", slow_backup)
    try:
        assert repo.backup_now().exists()
    finally:
        repo.close()
