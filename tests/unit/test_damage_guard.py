"""DamageGuard: a damaged page met by any read or write reports the damage; a read answers as
for an empty database, a write still raises; file management passes through untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from jockey_desktop.controllers.damage import DamageGuard
from jockey_desktop.core.storage import DatabaseCorruptError, open_repository
from tests.helpers.damaged_db import database_with_deep_damage


def test_reads_answer_empty_writes_raise_and_every_meeting_is_reported(tmp_path: Path) -> None:
    built = database_with_deep_damage(tmp_path / "c.sqlite3", tmp_path / "backups")
    met: list[DatabaseCorruptError] = []
    guard = DamageGuard(open_repository(tmp_path / "c.sqlite3", tmp_path / "backups"),
                        met.append)
    try:
        assert guard.list_messages(built.damaged_id) == []
        assert guard.list_messages_page(built.damaged_id, limit=10) == []
        assert len(met) == 2 and "is damaged" in str(met[0])
        # What is not damaged reads as usual.
        assert len(guard.list_messages_page(built.healthy_id, limit=100)) == 100
        with pytest.raises(DatabaseCorruptError):  # the caller must say what was not saved
            guard.delete_conversation(built.damaged_id)
        assert len(met) == 3
        moved = guard.replace_damaged()  # passes through: the recovery itself
        assert moved.exists() and guard.count_conversations() == 0 and len(met) == 3
    finally:
        guard.close()


def test_while_the_file_is_being_replaced_reads_answer_empty_and_writes_raise() -> None:
    from jockey_desktop.core.storage import StorageBusyError

    class Replacing:
        """A repository in the middle of a restore: every call is refused as busy."""

        def list_uploads(self) -> list[object]:
            raise StorageBusyError()

        def get_conversation(self, conversation_id: int) -> object:
            raise StorageBusyError()

        def set_draft(self, conversation_id: int, text: str) -> None:
            raise StorageBusyError()

    met: list[DatabaseCorruptError] = []
    guard = DamageGuard(Replacing(), met.append)
    assert guard.list_uploads() == []
    assert guard.get_conversation(1) is None
    with pytest.raises(StorageBusyError):  # a write is never silently dropped
        guard.set_draft(1, "typed")
    assert met == []  # busy is not damage
