"""Database schema and the ordered list of migrations.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[i]`` upgrades version
``i`` to ``i + 1``; ``database.migrate`` runs each step in its own ``BEGIN IMMEDIATE …
COMMIT`` together with the ``user_version`` bump, so a failing step leaves the file exactly at
the previous version. (``executescript`` is never used: it commits first and then runs every
statement in autocommit mode.)

Rules for adding a step: append, never edit a shipped step; keep each statement a single SQL
statement; a step may also be a callable taking the connection (for data rewrites).

v1 — conversations and messages with ``uid`` columns (import de-duplication).
v2 — pinned/draft/title_is_auto on conversations, ``revision`` on messages, the sidebar index,
     and the FTS5 indexes over titles and message text (external content, kept in sync by
     triggers, so the repository cannot forget to update them).
v3 — on messages: ``retry_at`` (a rate-limited turn's retry time, was parsed from the error
     text), ``plain_text`` (written with the text; the message index moves to it),
     ``selections`` and ``steps`` (JSON lists); on conversations: ``origin_conversation_id`` /
     ``origin_message_id`` (a fork's origin, NULL once deleted) and ``web_search``; the
     ``uploads`` table (the upload queue, which survives quit, crash and restart).
v4 — on uploads: ``upload_headers`` (the multipart session's own headers for its chunk PUTs,
     a JSON object; ``'{}'`` for rows written before, which fall back to the default) and
     ``server`` (the API the row was queued for: "sandbox" or a normalised base URL, never a
     key; NULL for older rows, which the first server the queue runs with adopts).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .plaintext import message_plain_text


@dataclass(frozen=True)
class Migration:
    """One upgrade step from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: Sequence[str] = ()
    #: Optional extra work run after ``statements`` inside the same transaction.
    function: Callable[[sqlite3.Connection], None] | None = None

    def apply(self, conn: sqlite3.Connection) -> None:
        """Run the step on ``conn`` (the caller owns the transaction)."""
        for statement in self.statements:
            conn.execute(statement)
        if self.function is not None:
            self.function(conn)


V1_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        store_id TEXT NOT NULL,
        store_name TEXT NOT NULL DEFAULT '',
        session_id TEXT,
        instructions TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'seam')),
        text TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        reply_to INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        session_id TEXT,
        old_session_id TEXT,
        response_id TEXT,
        error_code TEXT,
        error_message TEXT,
        citations TEXT NOT NULL DEFAULT '[]',
        input_tokens INTEGER,
        output_tokens INTEGER
    )
    """,
    "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
    "CREATE INDEX messages_by_status ON messages(status)",
    "CREATE INDEX messages_by_reply_to ON messages(reply_to)",
    "CREATE INDEX conversations_by_updated ON conversations(updated_at)",
)

_TOKENIZER = "unicode61 remove_diacritics 2"

V2_STATEMENTS: tuple[str, ...] = (
    "ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE conversations ADD COLUMN draft TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE conversations ADD COLUMN title_is_auto INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE messages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    # The sidebar order: pinned first, newest activity first.
    "CREATE INDEX conversations_sidebar ON conversations(pinned DESC, updated_at DESC, id DESC)",
    # Covers the sidebar's per-row message count and newest-reply status without table reads.
    "CREATE INDEX messages_summary ON messages(conversation_id, role, id, status)",
    f"""
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='id', tokenize='{_TOKENIZER}'
    )
    """,
    f"""
    CREATE VIRTUAL TABLE conversations_fts USING fts5(
        title, content='conversations', content_rowid='id', tokenize='{_TOKENIZER}'
    )
    """,
    # External-content FTS tables must be told the OLD text on update/delete; triggers do that
    # inside the writing transaction, so the index can never drift from the rows. The update
    # triggers fire only when the indexed column is written (not on status/pin changes).
    """
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
    END
    """,
    """
    CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
        INSERT INTO conversations_fts(conversations_fts, rowid, title)
            VALUES ('delete', old.id, old.title);
    END
    """,
    """
    CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
        INSERT INTO conversations_fts(conversations_fts, rowid, title)
            VALUES ('delete', old.id, old.title);
        INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
    END
    """,
    # Index what v1 already holds.
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild')",
)

V3_STATEMENTS: tuple[str, ...] = (
    "ALTER TABLE messages ADD COLUMN retry_at REAL",
    "ALTER TABLE messages ADD COLUMN plain_text TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE messages ADD COLUMN selections TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE messages ADD COLUMN steps TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE conversations ADD COLUMN origin_conversation_id INTEGER "
    "REFERENCES conversations(id) ON DELETE SET NULL",
    "ALTER TABLE conversations ADD COLUMN origin_message_id INTEGER "
    "REFERENCES messages(id) ON DELETE SET NULL",
    "ALTER TABLE conversations ADD COLUMN web_search INTEGER NOT NULL DEFAULT 0",
    # Deleting a message or conversation looks up the forks pointing at it (ON DELETE SET
    # NULL); without these each deleted message would scan the conversations table.
    "CREATE INDEX conversations_by_origin_conversation "
    "ON conversations(origin_conversation_id)",
    "CREATE INDEX conversations_by_origin_message ON conversations(origin_message_id)",
    """
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        batch_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        path TEXT NOT NULL DEFAULT '',
        filename TEXT NOT NULL DEFAULT '',
        size INTEGER,
        mtime_ns INTEGER,
        asset_type TEXT NOT NULL DEFAULT 'video',
        method TEXT NOT NULL CHECK (method IN ('direct', 'multipart', 'url')),
        url TEXT,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'uploading',
            'paused', 'processing', 'adding', 'indexing', 'ready', 'failed', 'cancelled')),
        upload_id TEXT,
        asset_id TEXT,
        item_id TEXT,
        chunk_size INTEGER,
        total_chunks INTEGER,
        chunks TEXT NOT NULL DEFAULT '[]',
        bytes_done INTEGER NOT NULL DEFAULT 0,
        error_message TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    "CREATE INDEX uploads_by_state ON uploads(state, id)",
    # The message index moves from ``text`` (Markdown) to ``plain_text``: dropped here,
    # rebuilt by ``_v3_data`` once the column is filled.
    "DROP TRIGGER messages_fts_insert",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "DROP TABLE messages_fts",
)

V3_FTS_STATEMENTS: tuple[str, ...] = (
    f"""
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        plain_text, content='messages', content_rowid='id', tokenize='{_TOKENIZER}'
    )
    """,
    """
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, plain_text) VALUES (new.id, new.plain_text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, plain_text)
            VALUES ('delete', old.id, old.plain_text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF plain_text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, plain_text)
            VALUES ('delete', old.id, old.plain_text);
        INSERT INTO messages_fts(rowid, plain_text) VALUES (new.id, new.plain_text);
    END
    """,
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)

#: The wait that releases before v3 wrote into a rate-limited answer's error text
#: ("Rate limited — try again after 12:00:30 (in 30 s)."), counted from the row's
#: ``updated_at``. Parsed here only, once, into ``retry_at``.
_LEGACY_RETRY_WAIT = re.compile(r"\(in (\d{1,9}) s\)")


def _v3_plain_rows(conn: sqlite3.Connection) -> Iterator[tuple[str, int]]:
    cursor = conn.execute("SELECT id, role, text FROM messages ORDER BY id")
    while batch := cursor.fetchmany(500):
        for message_id, role, text in batch:
            yield message_plain_text(role, text or ""), message_id


def _v3_data(conn: sqlite3.Connection) -> None:
    """Fill ``plain_text`` and ``retry_at`` of existing rows, then index ``plain_text``."""
    # Materialised first: updating rows while a cursor walks the same table is undefined.
    conn.executemany("UPDATE messages SET plain_text = ? WHERE id = ?",
                     list(_v3_plain_rows(conn)))
    limited = conn.execute(
        "SELECT id, error_message, updated_at FROM messages "
        "WHERE error_code = 'rate_limited' AND error_message IS NOT NULL").fetchall()
    for message_id, error_message, updated_at in limited:
        match = _LEGACY_RETRY_WAIT.search(error_message)
        if match is not None:
            conn.execute("UPDATE messages SET retry_at = ? WHERE id = ?",
                         (float(updated_at) + int(match.group(1)), message_id))
    for statement in V3_FTS_STATEMENTS:
        conn.execute(statement)


V4_STATEMENTS: tuple[str, ...] = (
    "ALTER TABLE uploads ADD COLUMN upload_headers TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE uploads ADD COLUMN server TEXT",
)


MIGRATIONS: list[Migration] = [
    Migration(1, "conversations and messages", V1_STATEMENTS),
    Migration(2, "pinned, drafts, revisions, sidebar index, full-text search", V2_STATEMENTS),
    Migration(3, "retry time, plain text, selections, steps, forks, web search, uploads",
              V3_STATEMENTS, function=_v3_data),
    Migration(4, "upload sessions' headers and the server each upload is queued for",
              V4_STATEMENTS),
]


def schema_version() -> int:
    """The version this app writes: the number of migration steps (read at call time so
    tests can append a step)."""
    return len(MIGRATIONS)


#: The version of this build (tests that monkeypatch ``MIGRATIONS`` use ``schema_version()``).
SCHEMA_VERSION = len(MIGRATIONS)
