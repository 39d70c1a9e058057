"""A repository with injected storage faults, for the app's fault tests.

``FaultyRepository`` wraps the real one: while ``disk_full`` is set every write raises
``DiskFullError`` (nothing written, as SQLite does on SQLITE_FULL); while ``damaged`` is set
every read and write raises ``DatabaseCorruptError`` (until ``replace_damaged`` moves the
damaged file aside). ``inject_faults(monkeypatch)`` makes
the app open its database through one (the app calls ``storage.open_repository``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core import storage
from jockey_desktop.core.storage import DatabaseCorruptError, DiskFullError, Repository

#: Repository methods that only read (everything else public and callable writes).
READS = frozenset({
    "get_conversation", "get_conversation_by_uid", "list_conversations", "get_summary",
    "count_conversations", "list_messages", "list_messages_page", "count_messages",
    "get_message", "get_old_session_id", "get_upload", "list_uploads", "search",
    "latest_backup", "list_backups", "integrity_check",
})
#: Methods that are neither reads nor writes of the file's content.
PLUMBING = frozenset({"close"})


class FaultyRepository:
    """Forwards to ``real``; raises the injected fault instead while it is switched on.

    ``failed`` lists the names of the calls that raised (for assertions).
    """

    def __init__(self, real: Repository) -> None:
        self.real = real
        self.disk_full = False
        self.damaged = False
        #: Damage met by writes only (a page no read of the test touches).
        self.damaged_writes = False
        self.failed: list[str] = []

    def __repr__(self) -> str:
        return f"FaultyRepository({self.real!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        if name.startswith("_") or not callable(value) or name in PLUMBING:
            return value
        return self._guarded(name, value)

    def _guarded(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "replace_damaged":
                # The damaged file is moved aside: a new one is used.
                self.damaged = self.damaged_writes = False
                return method(*args, **kwargs)
            if self.damaged or (self.damaged_writes and name not in READS):
                self.failed.append(name)
                raise DatabaseCorruptError(self.real.db_path, "read the conversations")
            if self.disk_full and name not in READS:
                self.failed.append(name)
                raise DiskFullError(self.real.db_path.parent, "save your changes")
            return method(*args, **kwargs)

        return call


def inject_faults(monkeypatch: pytest.MonkeyPatch) -> list[FaultyRepository]:
    """Make every repository the app opens a ``FaultyRepository``; returns the list they are
    appended to (one per app started)."""
    opened: list[FaultyRepository] = []
    real_open = storage.open_repository

    def open_faulty(db_path: Path | str, backup_dir: Path | str) -> FaultyRepository:
        repo = FaultyRepository(real_open(db_path, backup_dir))
        opened.append(repo)
        return repo

    monkeypatch.setattr(storage, "open_repository", open_faulty)
    return opened
