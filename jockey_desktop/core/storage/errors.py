"""Errors raised by the storage layer.

Every error the repository lets escape is a ``StorageError`` so callers can catch one type.
Messages are user-presentable sentences; they never contain message text or secrets.
"""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class of every storage failure."""


class DatabaseTooNewError(StorageError):
    """The database was written by a newer app version; it was left untouched."""

    def __init__(self, path: Path, found_version: int, supported_version: int) -> None:
        self.path = path
        self.found_version = found_version
        self.supported_version = supported_version
        super().__init__(
            f"The conversation database {path} was created by a newer version of Jockey "
            f"Desktop (schema version {found_version}; this version understands up to "
            f"{supported_version}). It was left untouched: install the newer version to "
            "open it."
        )


class MigrationError(StorageError):
    """A schema upgrade step failed; the database stays at its previous version."""


class DatabaseLockedError(StorageError):
    """Another process held the database longer than the busy timeout."""


class DiskFullError(StorageError):
    """The disk holding the database is full; the write was rolled back whole."""

    def __init__(self, folder: Path, action: str) -> None:
        self.folder = folder
        #: What happened, without the advice (a write kept in memory needs no "try again").
        self.problem = f"The disk holding {folder} is full, so the app could not {action}."
        super().__init__(
            f"{self.problem} Nothing was half-saved: free some space there, then try again."
        )


class DatabaseCorruptError(StorageError):
    """A damaged page was met after the database was opened. Restoring the newest backup
    (``Repository.restore_backup``) is the recovery, as for damage found at open."""

    def __init__(self, path: Path, action: str) -> None:
        self.path = path
        super().__init__(
            f"The conversation database {path} is damaged, so the app could not {action}. "
            "Restore the newest backup to go on; the damaged file is kept."
        )


class StorageBusyError(StorageError):
    """A read came while a backup was being restored (the connections are being reopened).

    Callers do not read during a restore; one that does gets this at once, never a wait."""

    def __init__(self) -> None:
        super().__init__(
            "The conversation database is being restored from a backup; try again when the "
            "restore has finished."
        )


class NotFoundError(StorageError, LookupError):
    """The conversation or message id does not exist (for example it was deleted)."""


class ImportFormatError(StorageError, ValueError):
    """The data given to ``import_json`` is not a Jockey Desktop export."""
