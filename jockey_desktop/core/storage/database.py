"""The SQLite file itself: creation with safe permissions, pragmas, migrations, damage
handling and backups. ``repository.open_repository`` drives these in order.

Durability choice: WAL with ``synchronous=FULL``. A ``session_id`` exists only in this file
(Jockey has no API to list sessions), so a commit acknowledged to the controller must survive
a power cut, not merely a crash. In WAL mode FULL costs one fsync of the WAL per commit; our
writes are small and rare (a user message, a session id, about one partial-text flush per
second while streaming), so the cost is invisible while NORMAL could lose the last commits.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import schema
from .errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseTooNewError,
    DiskFullError,
    MigrationError,
    StorageError,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
BACKUP_KEEP = 7
BACKUP_MAX_AGE_S = 24 * 3600
BACKUP_SUFFIX = ".sqlite3"
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class OpenReport:
    """What ``open_repository`` found and did; the app tells the user about the notable parts.

    ``interrupted_messages`` counts assistant replies left STREAMING by a crash (now
    INTERRUPTED); ``interrupted_user_messages`` counts user questions left PENDING with no
    reply ever started (now INTERRUPTED too: the request may or may not have reached the
    server, so the UI offers "retry" rather than silently re-sending).
    """

    path: Path
    schema_version: int = 0
    created: bool = False
    migrated_from: int | None = None
    unclean_shutdown: bool = False
    quick_check_ok: bool | None = None  # None: not run (the last shutdown was clean)
    moved_aside: Path | None = None  # where a damaged file was moved; None if nothing was
    moved_aside_reason: str | None = None
    backup: Path | None = None  # a backup taken while opening (daily or pre-migration)
    interrupted_messages: int = 0
    interrupted_user_messages: int = 0

    @property
    def migrated(self) -> bool:
        """True when a schema upgrade ran."""
        return self.migrated_from is not None

    @property
    def recovered(self) -> bool:
        """True when anything was repaired: a file moved aside or messages marked."""
        return (
            self.moved_aside is not None
            or self.interrupted_messages > 0
            or self.interrupted_user_messages > 0
        )

    def user_message(self) -> str | None:
        """A sentence for the user when something notable happened, else None."""
        parts: list[str] = []
        if self.moved_aside is not None:
            parts.append(
                # A colon, not brackets: the reasons carry brackets of their own ("file is
                # not a database (no SQLite header)").
                f"The conversation database was damaged: {self.moved_aside_reason}. It was "
                f"moved to {self.moved_aside} and a new, empty one was started; you can "
                "restore the newest backup."
            )
        count = self.interrupted_messages + self.interrupted_user_messages
        if count:
            parts.append(
                f"{count} message{'s' if count != 1 else ''} interrupted when the app last "
                "stopped can be retried."
            )
        return " ".join(parts) or None


def create_private_file(path: Path) -> bool:
    """Create ``path`` with mode 0600 if missing (before SQLite opens it, so -wal/-shm inherit
    the mode); tighten the mode of an existing file. Returns True if the file was created or
    is empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    for candidate in (path, *(Path(str(path) + s) for s in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            if candidate.stat().st_mode & 0o077:
                os.chmod(candidate, 0o600)
    return not existed or size == 0


SQLITE_MAGIC = b"SQLite format 3\x00"


def is_empty_file(path: Path) -> bool:
    """True if ``path`` exists with 0 bytes and no WAL holding its content (a new database in
    WAL mode can keep everything in ``-wal`` until the first checkpoint)."""
    try:
        if path.stat().st_size != 0:
            return False
    except FileNotFoundError:
        return False
    wal = Path(str(path) + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


def has_sqlite_header(path: Path) -> bool:
    """True if the file starts with the SQLite magic string (or is empty)."""
    with open(path, "rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    return head in (b"", SQLITE_MAGIC)


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` (which must exist) for the repository: autocommit mode so every
    transaction is explicit, shareable across threads (the repository serialises use with a
    lock), and a busy timeout so a second process waits instead of failing at once."""
    # mode=rw: SQLite must never create the main file itself (it would use the umask mode).
    uri = path.resolve().as_uri() + "?mode=rw"
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection for reads only (``query_only``): WAL lets it read the last committed
    state while the writer connection is inside a transaction, so a reader never waits for a
    write, and it can never write by mistake."""
    conn = connect(path)
    conn.execute("PRAGMA query_only = ON")
    return conn


def configure(conn: sqlite3.Connection) -> None:
    """Pragmas for normal operation (see the module docstring for synchronous=FULL)."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the file."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def is_damage(exc: BaseException) -> bool:
    """True for "file is not a database" / "database disk image is malformed"."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def is_full(exc: BaseException) -> bool:
    """True for SQLITE_FULL ("database or disk is full") and for ENOSPC/EDQUOT from the OS."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return bool((code & 0xFF) == _SQLITE_FULL)
    return "disk is full" in str(exc).lower()


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked" / busy errors."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc).lower() or "busy" in str(exc).lower()
    )


def translate(exc: sqlite3.Error | OSError, action: str, db_path: Path | None = None
              ) -> StorageError:
    """A StorageError (never containing row data) for a sqlite3 or OS error: a full disk
    becomes ``DiskFullError`` naming the database folder and damage ``DatabaseCorruptError``
    (both need ``db_path``); busy becomes ``DatabaseLockedError``."""
    if db_path is not None and is_full(exc):
        return DiskFullError(db_path.parent, action)
    if db_path is not None and is_damage(exc):
        return DatabaseCorruptError(db_path, action)
    if isinstance(exc, OSError):
        return StorageError(f"Could not {action}: {exc.strerror or exc}")
    if is_busy(exc):
        return DatabaseLockedError(
            f"Could not {action}: the database is in use by another process."
        )
    return StorageError(f"Could not {action}: {type(exc).__name__}: {exc}")


def quick_check(conn: sqlite3.Connection) -> bool:
    """``PRAGMA quick_check``; False on any problem (damage errors included)."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return False
        raise
    return rows == [("ok",)]


def check_not_too_new(path: Path, version: int) -> None:
    """Raise DatabaseTooNewError if ``version`` is newer than this build."""
    supported = schema.schema_version()
    if version > supported:
        raise DatabaseTooNewError(path, version, supported)


def migrate(conn: sqlite3.Connection, path: Path) -> int | None:
    """Bring the schema up to date; returns the version migrated from, or None if current.

    Each step runs in ``BEGIN IMMEDIATE … COMMIT`` with its ``user_version`` bump, so a
    failure rolls back to exactly the previous version. The version is re-read inside the
    write lock because another process may have migrated meanwhile.
    """
    start = user_version(conn)
    check_not_too_new(path, start)
    migrated = False
    for step in list(schema.MIGRATIONS):
        if step.version <= start:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = user_version(conn)
            if current >= step.version:
                conn.execute("COMMIT")
                continue
            if current != step.version - 1:
                raise MigrationError(f"schema version {current} cannot take step {step.version}")
            step.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            conn.execute("COMMIT")
            migrated = True
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError) and is_damage(exc):
                raise
            if isinstance(exc, MigrationError):
                raise
            raise MigrationError(
                f"Upgrading the conversation database to version {step.version} "
                f"({step.description}) failed: {type(exc).__name__}: {exc}. The database was "
                "left at its previous version."
            ) from exc
        log.info("database migrated to schema version %d", step.version)
    return start if migrated else None


def move_aside(path: Path, when: float | None = None) -> Path:
    """Rename a damaged database and its -wal/-shm/-journal to ``<name>.corrupt-<stamp>``
    (never deleted: the user or support may recover it). Returns the new main path."""
    stamp = datetime.fromtimestamp(when or time.time(), UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    # Side files first: if we stopped half way, the main file still sits next to its WAL.
    for suffix in _SIDE_FILES:
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(target) + suffix))
    os.replace(path, target)
    log.warning("damaged database moved aside to %s", target)
    return target


# --- backups -------------------------------------------------------------------------------


def _backup_prefix(db_path: Path) -> str:
    return db_path.stem + "-"


def list_backups(backup_dir: Path, db_path: Path) -> list[Path]:
    """Backups of ``db_path`` in ``backup_dir``, oldest first (names sort by UTC time)."""
    if not backup_dir.is_dir():
        return []
    prefix = _backup_prefix(db_path)
    return sorted(
        p for p in backup_dir.iterdir()
        if p.name.startswith(prefix) and p.name.endswith(BACKUP_SUFFIX) and p.is_file()
    )


_BACKUP_STAMP = re.compile(r"-(\d{8}-\d{6})(?:-\d+)?-")


def backup_taken_at(path: Path) -> float:
    """When a backup was taken: the UTC time :func:`backup` puts in its name (a copied file
    keeps it), else the file's modification time (0.0 when the file cannot be read)."""
    found = _BACKUP_STAMP.search(path.name)
    if found is not None:
        with contextlib.suppress(ValueError):
            return datetime.strptime(found.group(1), "%Y%m%d-%H%M%S").replace(
                tzinfo=UTC).timestamp()
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def latest_backup(backup_dir: Path, db_path: Path) -> Path | None:
    """The newest backup of ``db_path``, or None."""
    backups = list_backups(backup_dir, db_path)
    return backups[-1] if backups else None


#: Set by :func:`deferring_daily_backup`: the caller takes the daily backup itself, later.
_daily_backup_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "daily_backup_deferred", default=False)


@contextlib.contextmanager
def deferring_daily_backup() -> Iterator[None]:
    """Within this block, :func:`backup_is_due` says False, so opening the repository skips
    the daily backup; the caller runs ``Repository.backup_now("daily")`` afterwards, off the
    GUI thread, when :func:`backup_is_due` (outside the block) says so.

    Why: the daily copy of a big database takes about half a second, and the app opens the
    repository before its window appears. The backup taken before a migration does not use
    this check and stays synchronous: a schema upgrade never runs without a fresh copy.
    A context variable, not a global, so only the opening code in this thread/context is
    affected.
    """
    token = _daily_backup_deferred.set(True)
    try:
        yield
    finally:
        _daily_backup_deferred.reset(token)


def backup_is_due(backup_dir: Path, db_path: Path, now: float | None = None) -> bool:
    """True when there is no backup or the newest is older than 24 h (always False inside
    :func:`deferring_daily_backup`)."""
    if _daily_backup_deferred.get():
        return False
    newest = latest_backup(backup_dir, db_path)
    if newest is None:
        return True
    return (now or time.time()) - newest.stat().st_mtime > BACKUP_MAX_AGE_S


def backup(
    conn: sqlite3.Connection, backup_dir: Path, db_path: Path, reason: str = "manual",
    keep: int = BACKUP_KEEP,
) -> Path:
    """Copy the live database with the SQLite backup API (consistent even while other
    connections write) into a 0600 file, atomically renamed into place; keep ``keep``."""
    backup_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    final = backup_dir / f"{_backup_prefix(db_path)}{stamp}-{reason}{BACKUP_SUFFIX}"
    partial = final.with_name(final.name + ".partial")
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        dest = sqlite3.connect(str(partial))
        try:
            conn.backup(dest)
            # A backup is a standalone file: no -wal to lose when it is copied around.
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
        os.replace(partial, final)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    for old in list_backups(backup_dir, db_path)[:-keep] if keep > 0 else []:
        with contextlib.suppress(OSError):
            old.unlink()
    log.info("database backed up to %s", final)
    return final


def read_backup_version(path: Path) -> int:
    """Schema version of a backup file (raises sqlite3.DatabaseError if it is not one)."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return user_version(conn)
    finally:
        conn.close()


def fsync_directory(path: Path) -> None:
    """Make a rename inside directory ``path`` durable (a no-op where that is unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def marker_path(db_path: Path) -> Path:
    """The "app is running" marker: present at open means the last run did not close cleanly."""
    return db_path.with_name(db_path.name + ".running")
