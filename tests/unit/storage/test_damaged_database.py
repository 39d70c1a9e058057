"""A database that cannot be read: moved aside with its side files, restore offered; damage
met after opening raises DatabaseCorruptError."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jockey_desktop.core.storage import database as db
from jockey_desktop.core.storage import open_repository


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


