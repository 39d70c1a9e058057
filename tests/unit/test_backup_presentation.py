"""What the restore flow says about a backup (``presentation.backups``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from jockey_desktop.core.storage.database import backup_taken_at
from jockey_desktop.presentation.backups import restore_question, restored_text


def test_a_backups_time_is_read_from_its_name_not_its_copy_time(tmp_path: Path) -> None:
    path = tmp_path / "conversations-20261203-180215-123456-daily.sqlite3"
    path.write_bytes(b"")  # modified now: the name says when it was taken
    assert backup_taken_at(path) == datetime(2026, 12, 3, 18, 2, 15, tzinfo=UTC).timestamp()
    other = tmp_path / "copied by hand.sqlite3"
    other.write_bytes(b"")
    assert backup_taken_at(other) == other.stat().st_mtime


def test_the_restore_question_says_when_the_backup_was_taken_in_words() -> None:
    taken = time.mktime((2026, 6, 11, 18, 2, 0, 0, 0, -1))
    path = Path("/data/backups/conversations-20260611-160200-000001-daily.sqlite3")
    text = restore_question(path, taken, now=taken + 2 * 3600)
    assert text.startswith("Replace all your conversations with the backup taken on "
                           "11 Jun 2026 at 18:02 (2 h ago)?")
    assert "answers in progress are stopped" in text
    assert "The conversation on screen opens again as it is in the backup" in text
    assert text.endswith(f"Backup file: {path}")  # the path is a detail, last
    undo = Path("/data/backups/conversations-20260611-160200-000001-before-restore.sqlite3")
    assert restore_question(undo, taken, now=taken + 60).startswith(
        "Put your conversations back as they were just before the last restore, on "
        "11 Jun 2026 at 18:02 (1 min ago)?")
    assert restored_text(path, taken).startswith(
        "Your conversations are back as they were on 11 Jun 2026 at 18:02 (conversations-")


def test_the_restored_note_names_the_conversation_the_backup_does_not_have() -> None:
    taken = time.mktime((2026, 6, 11, 18, 2, 0, 0, 0, -1))
    path = Path("/data/backups/conversations-20260611-160200-000001-daily.sqlite3")
    assert "“Hyenas”, which was on screen, is not in this backup." in restored_text(
        path, taken, lost_title="Hyenas")
    assert "on screen" not in restored_text(path, taken)
