"""Shared building blocks of the storage tests: the committed fixture databases, raw reads
that bypass the Repository, and a turn written the way the chat controller writes it."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from jockey_desktop.core.storage import MessageStatus, Repository, TurnWrite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
#: A schema-v1 database as the first release wrote it (see ``make_v1_db.py``).
V1_FIXTURE = FIXTURES / "conversations_v1.sqlite3"
#: A schema-v2 database (see ``make_v2_db.py`` for what it holds).
V2_FIXTURE = FIXTURES / "conversations_v2.sqlite3"


def copy_fixture(fixture: Path, db_path: Path) -> Path:
    """A writable 0600 copy of a committed fixture database at ``db_path``."""
    shutil.copyfile(fixture, db_path)
    db_path.chmod(0o600)
    return db_path


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes (to prove a file was left untouched)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read straight from the file with a read-only connection of its own."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def user_version(path: Path) -> int:
    """The schema version stored in the file."""
    return int(raw_query(path, "PRAGMA user_version")[0][0])


def answered_turn(repo: Repository, conversation_id: int, question: str, answer: str,
                  **complete: Any) -> TurnWrite:
    """One whole turn: ``start_turn`` then ``complete_turn`` (COMPLETE unless given)."""
    asked, reply = repo.start_turn(conversation_id, question)
    complete.setdefault("status", MessageStatus.COMPLETE)
    return repo.complete_turn(asked.id, reply.id, text=answer, **complete)
