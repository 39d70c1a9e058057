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


#: Upload rows of :func:`v3_database` as v3 wrote them (columns of the v3 ``uploads`` table).
V3_UPLOAD_ROWS: tuple[dict[str, Any], ...] = (
    {"id": 1, "uid": "up-1", "batch_id": "b1", "store_id": "ks_nature",
     "path": "/videos/lion hunt.mp4", "filename": "lion hunt.mp4", "size": 300_000_000,
     "mtime_ns": 1_700_000_000_123_456_789, "asset_type": "video", "method": "multipart",
     "url": None, "state": "uploading", "upload_id": "6650f0c1a3b2c4d5e6f70819",
     "asset_id": "6650f0c1a3b2c4d5e6f7081a", "item_id": None, "chunk_size": 8_388_608,
     "total_chunks": 36, "chunks": '[[1, "\\"e1\\"", 8388608], [2, "\\"e2\\"", 8388608]]',
     "bytes_done": 16_777_216, "error_message": None, "created_at": 1_767_225_600.0,
     "updated_at": 1_767_225_660.0},
    {"id": 2, "uid": "up-2", "batch_id": "b1", "store_id": "ks_nature",
     "path": b"/videos/caf\xe9.mp4", "filename": "caf\ufffd.mp4", "size": 5_000,
     "mtime_ns": 1_700_000_000_000_000_000, "asset_type": "video", "method": "direct",
     "url": None, "state": "indexing", "upload_id": None, "asset_id": "6650f0c1a3b2c4d5e6f7081b",
     "item_id": "item_7", "chunk_size": None, "total_chunks": None, "chunks": "[]",
     "bytes_done": 5_000, "error_message": None, "created_at": 1_767_225_601.0,
     "updated_at": 1_767_225_700.0},
    {"id": 3, "uid": "up-3", "batch_id": "b2", "store_id": "ks_other", "path": "",
     "filename": "zebra.mp4", "size": None, "mtime_ns": None, "asset_type": "video",
     "method": "url", "url": "https://cdn.example/zebra.mp4", "state": "failed",
     "upload_id": None, "asset_id": None, "item_id": None, "chunk_size": None,
     "total_chunks": None, "chunks": "[]", "bytes_done": 0,
     "error_message": "The server refused “zebra.mp4”.", "created_at": 1_767_225_602.0,
     "updated_at": 1_767_225_800.0},
)


def v3_database(db_path: Path) -> Path:
    """A schema-v3 database at ``db_path`` holding :data:`V3_UPLOAD_ROWS`: the v2 fixture
    taken through the shipped v3 step (shipped steps are never edited), then the queue rows
    written as v3 wrote them."""
    from jockey_desktop.core.storage import schema

    copy_fixture(V2_FIXTURE, db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        schema.MIGRATIONS[2].apply(conn)
        conn.execute("PRAGMA user_version = 3")
        for row in V3_UPLOAD_ROWS:
            conn.execute(f"INSERT INTO uploads ({', '.join(row)}) "
                         f"VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return db_path
