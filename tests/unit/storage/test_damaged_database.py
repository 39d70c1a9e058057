"""A database that cannot be read: moved aside with its side files, restore offered; damage
met after opening raises DatabaseCorruptError."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jockey_desktop.core.storage import DatabaseCorruptError, StorageError, open_repository
from jockey_desktop.core.storage import database as db
from tests.helpers.storage_fixtures import answered_turn


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


PAGE = 4096


def _overwrite_page(path: Path, page_number: int) -> None:
    """Scribble over one page (1-based, as SQLite counts) of a closed database file."""
    with open(path, "r+b") as handle:
        handle.seek((page_number - 1) * PAGE)
        handle.write(b"\xab" * PAGE)


def test_a_damaged_page_met_while_opening_is_moved_aside(db_path: Path,
                                                         backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S", title="precious")
    repo.start_turn(conv.id, "a question")
    repo.backup_now()
    repo.close()  # a clean shutdown: no quick check at the next start
    _overwrite_page(db_path, 2)  # the reproduction
    before = db_path.read_bytes()
    repo = open_repository(db_path, backup_dir)
    try:
        report = repo.open_report
        assert report.unclean_shutdown is False  # found by reading, not by the crash check
        assert report.moved_aside is not None and report.moved_aside.read_bytes() == before
        assert "malformed" in (report.moved_aside_reason or "")
        assert "restore the newest backup" in (report.user_message() or "")
        assert repo.list_conversations() == []  # the app runs on a fresh database
        repo.restore_backup()
        assert [s.conversation.title for s in repo.list_conversations()] == ["precious"]
    finally:
        repo.close()


def test_an_empty_file_with_backups_is_damage_not_a_first_start(db_path: Path,
                                                              backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    repo.create_conversation("s", "S", title="precious")
    repo.backup_now()
    repo.close()
    db_path.write_bytes(b"")
    repo = open_repository(db_path, backup_dir)
    try:
        report = repo.open_report
        assert report.moved_aside is not None and report.moved_aside.stat().st_size == 0
        assert "empty" in (report.moved_aside_reason or "")
        repo.restore_backup()
        assert repo.count_conversations() == 1
    finally:
        repo.close()


def test_an_empty_file_without_backups_is_a_first_start(db_path: Path,
                                                        backup_dir: Path) -> None:
    db_path.write_bytes(b"")
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.created and repo.open_report.moved_aside is None
        assert repo.create_conversation("s", "S").id == 1
    finally:
        repo.close()


def test_a_damaged_page_met_later_raises_database_corrupt(db_path: Path,
                                                          backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    old = repo.create_conversation("s", "S", title="old")
    needle = "needle-" + "n" * 300
    answered_turn(repo, old.id, needle, "answer")
    busy = repo.create_conversation("s", "S", title="busy")
    for i in range(150):  # newer rows: what the open-time probe reads, away from the needle
        answered_turn(repo, busy.id, f"question {i} " + "q" * 300, "answer")
    repo.backup_now()
    repo.close()
    data = db_path.read_bytes()
    needle_page = data.index(needle.encode()) // PAGE + 1
    _overwrite_page(db_path, needle_page)
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.moved_aside is None  # the probe did not meet that page
        with pytest.raises(DatabaseCorruptError) as info:
            repo.list_messages(old.id)
        assert isinstance(info.value, StorageError)
        assert str(db_path) in str(info.value) and "Restore the newest backup" in str(info.value)
        repo.restore_backup()  # the recovery the app offers
        assert repo.list_messages(old.id)[0].text == needle
        assert repo.integrity_check()
    finally:
        repo.close()


def test_damage_met_later_is_moved_aside_and_a_new_file_started(db_path: Path,
                                                                backup_dir: Path) -> None:
    """``replace_damaged``: the run-time twin of what open does with a damaged file."""
    from tests.helpers.damaged_db import database_with_deep_damage

    built = database_with_deep_damage(db_path, backup_dir)
    damaged_bytes = db_path.read_bytes()
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.moved_aside is None
        with pytest.raises(DatabaseCorruptError):
            repo.list_messages(built.damaged_id)
        moved = repo.replace_damaged()
        assert moved.name.startswith(db_path.name + ".corrupt-")
        assert moved.read_bytes() == damaged_bytes  # kept as it was, for support
        assert repo.open_report.moved_aside == moved
        assert "a damaged page was met while running" in (repo.open_report.user_message()
                                                          or "")
        assert repo.count_conversations() == 0
        repo.create_conversation("s", "S")  # the new file works
        repo.restore_backup(built.backup)  # and the backup is offered and restores
        assert repo.get_conversation(built.damaged_id) is not None
        assert len(repo.list_messages(built.damaged_id)) == 2
    finally:
        repo.close()
