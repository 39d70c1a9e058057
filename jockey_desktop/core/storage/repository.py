"""The Repository: every read and write of conversations and messages.

Thread safety: one ``sqlite3`` connection (``check_same_thread=False``) guarded by a lock;
every method holds the lock for one short statement or transaction. ``search``,
``backup_now``, ``restore_backup`` and the export/import helpers can take longer and should
be called off the GUI thread.

Write discipline (what the controllers rely on): every write method commits before it
returns, in WAL with ``synchronous=FULL`` (see ``database``), so "returned" means "on disk".
``add_user_message`` is therefore durable before the request is sent, ``set_session_id`` the
moment it is called, and ``flush_partial_text`` is a single-row UPDATE cheap enough for ~1/s.

Crash recovery at open: replies left STREAMING become INTERRUPTED (text kept). A user
message left PENDING with no reply row at all also becomes INTERRUPTED: its request may or may
not have reached the server, so it is shown as "not answered — retry" instead of silently
re-sent (a blind resend could duplicate the turn server-side). Both counts are in
``OpenReport``.

Read methods return ``None`` for unknown ids; write methods raise ``NotFoundError``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from . import database, schema
from .database import OpenReport
from .errors import MigrationError, NotFoundError, StorageError
from .models import (
    CITATION_KEYS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    SearchHit,
)
from .sanitize import sanitize_json_value, sanitize_optional, sanitize_text
from .search import build_match_query, one_hit_per_conversation

log = logging.getLogger(__name__)

#: Longest time spent bm25-ranking message matches before falling back to newest-first. The
#: search holds the repository lock, so this also bounds how long a keystroke's search can
#: delay a GUI-thread write (a saved question, a session id): keep it short.
SEARCH_RANK_BUDGET_S = 0.05
#: Matches mapped to their conversations per query while looking for distinct conversations.
_SEARCH_BATCH = 200
#: Matches read newest-first, at most, when ranking ran over budget.
_FALLBACK_MAX_ROWS = 20_000
#: SQLite VM steps between two looks at the clock during a ranked search.
_PROGRESS_STEPS = 20_000

#: Auto titles are cut to this many characters (the sidebar elides further).
AUTO_TITLE_LENGTH = 80

_CONVERSATION_COLUMNS = (
    "id, uid, title, store_id, store_name, session_id, instructions, created_at, updated_at, "
    "pinned, draft, title_is_auto"
)
_MESSAGE_COLUMNS = (
    "id, uid, conversation_id, role, text, status, created_at, updated_at, reply_to, "
    "session_id, response_id, error_code, error_message, citations, input_tokens, "
    "output_tokens, revision"
)


def new_uid() -> str:
    """A fresh UUID4 string for the ``uid`` columns."""
    return str(uuid.uuid4())


def normalize_citations(citations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Citations as plain dicts with exactly ``CITATION_KEYS`` (missing keys None, unknown
    keys dropped), strings sanitised, non-finite numbers dropped."""
    result: list[dict[str, Any]] = []
    for citation in citations:
        if hasattr(citation, "to_dict") and not isinstance(citation, Mapping):
            citation = citation.to_dict()
        clean = sanitize_json_value(dict(citation))
        result.append({key: clean.get(key) for key in CITATION_KEYS})
    return result


def _auto_title(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= AUTO_TITLE_LENGTH:
        return line
    return line[: AUTO_TITLE_LENGTH - 1].rstrip() + "…"


def _row_to_conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        id=row[0], uid=row[1], title=row[2], store_id=row[3], store_name=row[4],
        session_id=row[5], instructions=row[6], created_at=row[7], updated_at=row[8],
        pinned=bool(row[9]), draft=row[10], title_is_auto=bool(row[11]),
    )


def _row_to_message(row: Sequence[Any]) -> Message:
    try:
        citations = json.loads(row[13]) if row[13] else []
    except ValueError:  # a hand-edited file must not make the conversation unreadable
        citations = []
    return Message(
        id=row[0], uid=row[1], conversation_id=row[2], role=Role(row[3]), text=row[4],
        status=MessageStatus(row[5]), created_at=row[6], updated_at=row[7], reply_to=row[8],
        session_id=row[9], response_id=row[10], error_code=row[11], error_message=row[12],
        citations=citations if isinstance(citations, list) else [], input_tokens=row[14],
        output_tokens=row[15], revision=row[16],
    )


class Repository:
    """Conversation history on one SQLite file. Create it with ``open_repository``."""

    def __init__(
        self, conn: sqlite3.Connection, db_path: Path, backup_dir: Path, report: OpenReport
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self.db_path = db_path
        self.backup_dir = backup_dir
        self.open_report = report

    def __repr__(self) -> str:
        return f"Repository({str(self.db_path)!r})"

    # --- plumbing ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError("The conversation database is closed.")
        return self._conn

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise database.translate(exc, action) from exc

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (takes the write lock up front, so two processes never
        deadlock upgrading a read lock), committed before the caller's method returns."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise database.translate(exc, action) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise database.translate(exc, action) from exc
                raise

    @staticmethod
    def _require(cursor: sqlite3.Cursor, what: str, ident: int) -> None:
        if cursor.rowcount == 0:
            raise NotFoundError(f"{what} {ident} does not exist.")

    @staticmethod
    def _touch(conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    # --- conversations -------------------------------------------------------------------

    def create_conversation(
        self, store_id: str, store_name: str, title: str = "", instructions: str | None = None
    ) -> Conversation:
        """A new conversation bound to a knowledge store. An empty ``title`` is automatic:
        it is filled from the first user message (until the user renames it)."""
        now = time.time()
        title = sanitize_text(title).strip()
        with self._write("create a conversation") as conn:
            cur = conn.execute(
                "INSERT INTO conversations (uid, title, store_id, store_name, session_id, "
                "instructions, created_at, updated_at, pinned, draft, title_is_auto) "
                "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 0, '', ?)",
                (new_uid(), title, sanitize_text(store_id), sanitize_text(store_name),
                 sanitize_optional(instructions), now, now, 0 if title else 1),
            )
            conversation_id = int(cur.lastrowid or 0)
        result = self.get_conversation(conversation_id)
        assert result is not None
        return result

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        """The conversation, or None if it does not exist."""
        with self._read("read a conversation") as conn:
            row = conn.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        return _row_to_conversation(row) if row else None

    def get_conversation_by_uid(self, uid: str) -> Conversation | None:
        """The conversation with this ``uid``, or None."""
        with self._read("read a conversation") as conn:
            row = conn.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE uid = ?", (uid,)
            ).fetchone()
        return _row_to_conversation(row) if row else None

    def list_conversations(
        self, limit: int | None = None, offset: int = 0
    ) -> list[ConversationSummary]:
        """Sidebar rows: pinned first, then most recent activity first."""
        return self._summaries(
            "ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else int(limit), int(offset)),
        )

    def get_summary(self, conversation_id: int) -> ConversationSummary | None:
        """One sidebar row (the same counts as ``list_conversations``), or None if gone.

        Two indexed sub-queries: cheap even for a conversation with thousands of messages,
        so the GUI thread can refresh a row after every turn.
        """
        found = self._summaries("WHERE c.id = ?", (conversation_id,))
        return found[0] if found else None

    def _summaries(self, tail: str, params: tuple[Any, ...]) -> list[ConversationSummary]:
        cols = ", ".join(f"c.{c.strip()}" for c in _CONVERSATION_COLUMNS.split(","))
        with self._read("list conversations") as conn:
            rows = conn.execute(
                f"SELECT {cols}, "
                "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id "
                " AND m.role != 'seam'), "
                "(SELECT m.status FROM messages m WHERE m.conversation_id = c.id "
                " AND m.role = 'assistant' ORDER BY m.id DESC LIMIT 1) "
                f"FROM conversations c {tail}",
                params,
            ).fetchall()
        return [
            ConversationSummary(
                conversation=_row_to_conversation(row[:12]),
                message_count=int(row[12]),
                last_status=MessageStatus(row[13]) if row[13] else None,
            )
            for row in rows
        ]

    def count_conversations(self) -> int:
        """How many conversations exist."""
        with self._read("count conversations") as conn:
            return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        """Set a user-chosen title (automatic titling stops)."""
        with self._write("rename a conversation") as conn:
            cur = conn.execute(
                "UPDATE conversations SET title = ?, title_is_auto = 0 WHERE id = ?",
                (sanitize_text(title).strip(), conversation_id),
            )
            self._require(cur, "Conversation", conversation_id)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin or unpin (pinned conversations sort first)."""
        with self._write("pin a conversation") as conn:
            cur = conn.execute(
                "UPDATE conversations SET pinned = ? WHERE id = ?",
                (1 if pinned else 0, conversation_id),
            )
            self._require(cur, "Conversation", conversation_id)

    def set_draft(self, conversation_id: int, text: str) -> None:
        """Save the unsent composer text of this conversation (does not reorder the sidebar)."""
        with self._write("save a draft") as conn:
            cur = conn.execute(
                "UPDATE conversations SET draft = ? WHERE id = ?",
                (sanitize_text(text), conversation_id),
            )
            self._require(cur, "Conversation", conversation_id)

    def set_session_id(self, conversation_id: int, session_id: str | None) -> None:
        """Record the server session of this conversation; durable when this returns.

        If the conversation has a session seam still waiting for its new session, the seam
        gets this id too.
        """
        session_id = sanitize_optional(session_id)
        with self._write("save the session id") as conn:
            cur = conn.execute(
                "UPDATE conversations SET session_id = ? WHERE id = ?",
                (session_id, conversation_id),
            )
            self._require(cur, "Conversation", conversation_id)
            if session_id is not None:
                conn.execute(
                    "UPDATE messages SET session_id = ?, revision = revision + 1 WHERE id = ("
                    " SELECT id FROM messages WHERE conversation_id = ? AND role = 'seam' "
                    " ORDER BY id DESC LIMIT 1) AND session_id IS NULL",
                    (session_id, conversation_id),
                )

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation and its messages (no error if it is already gone)."""
        with self._write("delete a conversation") as conn:
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # --- messages ------------------------------------------------------------------------

    def list_messages(self, conversation_id: int) -> list[Message]:
        """The transcript in order (user, assistant and seam rows)."""
        with self._read("read messages") as conn:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [_row_to_message(row) for row in rows]

    def list_messages_page(
        self, conversation_id: int, *, limit: int, before_id: int | None = None
    ) -> list[Message]:
        """Up to ``limit`` messages older than ``before_id`` (the newest ones when None),
        oldest first within the page.

        The transcript shows a window of the newest messages and asks for older pages as the
        user scrolls up, so opening a long conversation costs the same as a short one.
        """
        if limit <= 0:
            return []
        with self._read("read messages") as conn:
            if before_id is None:
                rows = conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "
                    "ORDER BY id DESC LIMIT ?",
                    (conversation_id, limit),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "
                    "AND id < ? ORDER BY id DESC LIMIT ?",
                    (conversation_id, before_id, limit),
                ).fetchall()
        # Read newest-first (so LIMIT keeps the right end), returned oldest-first.
        return [_row_to_message(row) for row in reversed(rows)]

    def count_messages(self, conversation_id: int) -> int:
        """Number of messages of a conversation (0 for an unknown id)."""
        with self._read("count messages") as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    def get_message(self, message_id: int) -> Message | None:
        """The message, or None if it does not exist."""
        with self._read("read a message") as conn:
            row = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        return _row_to_message(row) if row else None

    def _insert_message(
        self, conn: sqlite3.Connection, conversation_id: int, role: Role, text: str,
        status: MessageStatus, now: float, **extra: Any,
    ) -> int:
        exists = conn.execute(
            "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if exists is None:
            raise NotFoundError(f"Conversation {conversation_id} does not exist.")
        columns = ["uid", "conversation_id", "role", "text", "status", "created_at",
                   "updated_at", *extra]
        values = [new_uid(), conversation_id, role.value, text, status.value, now, now,
                  *extra.values()]
        cur = conn.execute(
            f"INSERT INTO messages ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        return int(cur.lastrowid or 0)

    def _get_message_required(self, message_id: int) -> Message:
        message = self.get_message(message_id)
        if message is None:
            raise NotFoundError(f"Message {message_id} does not exist.")
        return message

    def add_user_message(self, conversation_id: int, text: str) -> Message:
        """Save the user's question as PENDING; committed (durable) before it returns, so
        call it before sending the request. Also fills an automatic title."""
        now = time.time()
        text = sanitize_text(text)
        with self._write("save your message") as conn:
            message_id = self._insert_message(
                conn, conversation_id, Role.USER, text, MessageStatus.PENDING, now
            )
            self._touch(conn, conversation_id, now)
            title = _auto_title(text)
            if title:
                conn.execute(
                    "UPDATE conversations SET title = ? "
                    "WHERE id = ? AND title_is_auto = 1 AND title = ''",
                    (title, conversation_id),
                )
        return self._get_message_required(message_id)

    def start_assistant_message(self, conversation_id: int, reply_to: int | None) -> Message:
        """An empty STREAMING assistant row answering user message ``reply_to``."""
        now = time.time()
        with self._write("start a reply") as conn:
            message_id = self._insert_message(
                conn, conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING, now,
                reply_to=reply_to,
            )
            self._touch(conn, conversation_id, now)
        return self._get_message_required(message_id)

    def flush_partial_text(self, message_id: int, text: str) -> bool:
        """Save the text streamed so far (one UPDATE; fine at ~1/s). Only a STREAMING
        message is changed, so a late flush cannot overwrite a finished answer; returns
        whether it was applied."""
        with self._write("save the partial answer") as conn:
            cur = conn.execute(
                "UPDATE messages SET text = ?, updated_at = ?, revision = revision + 1 "
                "WHERE id = ? AND status = 'streaming'",
                (sanitize_text(text), time.time(), message_id),
            )
            return cur.rowcount > 0

    def finish_message(
        self, message_id: int, *, text: str, status: MessageStatus,
        citations: Iterable[Mapping[str, Any]] = (), input_tokens: int | None = None,
        output_tokens: int | None = None, response_id: str | None = None,
        session_id: str | None = None,
    ) -> Message:
        """Store the final answer. When ``status`` is COMPLETE, the user message it answers
        (if still PENDING) becomes COMPLETE too: the question was evidently delivered."""
        now = time.time()
        status = MessageStatus(status)
        with self._write("save the answer") as conn:
            cur = conn.execute(
                "UPDATE messages SET text = ?, status = ?, citations = ?, input_tokens = ?, "
                "output_tokens = ?, response_id = coalesce(?, response_id), "
                "session_id = coalesce(?, session_id), updated_at = ?, "
                "revision = revision + 1 WHERE id = ?",
                (sanitize_text(text), status.value,
                 json.dumps(normalize_citations(citations), ensure_ascii=False),
                 input_tokens, output_tokens, sanitize_optional(response_id),
                 sanitize_optional(session_id), now, message_id),
            )
            self._require(cur, "Message", message_id)
            self._after_reply_change(conn, message_id, status, now)
        return self._get_message_required(message_id)

    def _after_reply_change(
        self, conn: sqlite3.Connection, message_id: int, status: MessageStatus, now: float
    ) -> None:
        row = conn.execute(
            "SELECT conversation_id, reply_to FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        self._touch(conn, row[0], now)
        if status is MessageStatus.COMPLETE and row[1] is not None:
            conn.execute(
                "UPDATE messages SET status = 'complete', updated_at = ?, "
                "revision = revision + 1 WHERE id = ? AND status = 'pending'",
                (now, row[1]),
            )

    def fail_message(
        self, message_id: int, *, status: MessageStatus, error_code: str | None,
        error_message: str | None, text: str | None = None,
    ) -> Message:
        """Mark a message FAILED / CANCELLED / INTERRUPTED with the error shown to the user;
        ``text`` (if given) replaces the partial text, otherwise it is kept."""
        now = time.time()
        status = MessageStatus(status)
        with self._write("save the error") as conn:
            if text is None:
                cur = conn.execute(
                    "UPDATE messages SET status = ?, error_code = ?, error_message = ?, "
                    "updated_at = ?, revision = revision + 1 WHERE id = ?",
                    (status.value, sanitize_optional(error_code),
                     sanitize_optional(error_message), now, message_id),
                )
            else:
                cur = conn.execute(
                    "UPDATE messages SET status = ?, error_code = ?, error_message = ?, "
                    "text = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                    (status.value, sanitize_optional(error_code),
                     sanitize_optional(error_message), sanitize_text(text), now, message_id),
                )
            self._require(cur, "Message", message_id)
            self._after_reply_change(conn, message_id, status, now)
        return self._get_message_required(message_id)

    def set_message_status(self, message_id: int, status: MessageStatus) -> None:
        """Change only the status (e.g. a user message to COMPLETE or FAILED)."""
        status = MessageStatus(status)
        with self._write("update a message") as conn:
            cur = conn.execute(
                "UPDATE messages SET status = ?, updated_at = ?, revision = revision + 1 "
                "WHERE id = ?",
                (status.value, time.time(), message_id),
            )
            self._require(cur, "Message", message_id)

    def add_session_seam(
        self, conversation_id: int, old_session_id: str | None, reason: str
    ) -> Message:
        """Mark that the conversation continues in a new server session (``reason`` is the
        row's text). The conversation's ``session_id`` is cleared if it still is the old one,
        so the next request starts a new session; ``set_session_id`` later fills the seam's
        ``session_id`` with the new one."""
        now = time.time()
        old_session_id = sanitize_optional(old_session_id)
        with self._write("mark a new session") as conn:
            message_id = self._insert_message(
                conn, conversation_id, Role.SEAM, sanitize_text(reason), MessageStatus.COMPLETE,
                now, old_session_id=old_session_id,
            )
            conn.execute(
                "UPDATE conversations SET session_id = NULL, updated_at = ? "
                "WHERE id = ? AND session_id IS ?",
                (now, conversation_id, old_session_id),
            )
        return self._get_message_required(message_id)

    def get_old_session_id(self, message_id: int) -> str | None:
        """For a seam row: the session that ended there."""
        with self._read("read a message") as conn:
            row = conn.execute(
                "SELECT old_session_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        return row[0] if row else None

    def import_conversation(
        self, conversation: Conversation, messages: Sequence[Message],
        old_session_ids: Mapping[int, str | None] | None = None,
    ) -> int | None:
        """Insert a conversation read from an export, in one transaction. Returns the new id,
        or None when a conversation with the same ``uid`` exists (nothing is written).

        ``Message.id`` / ``reply_to`` in ``messages`` are ids local to the import; they are
        remapped. A message ``uid`` already used elsewhere gets a fresh one.
        ``old_session_ids`` maps local message ids of seams to the session that ended.
        """
        old_session_ids = old_session_ids or {}
        with self._write("import a conversation") as conn:
            if conn.execute(
                "SELECT 1 FROM conversations WHERE uid = ?", (conversation.uid,)
            ).fetchone():
                return None
            cur = conn.execute(
                "INSERT INTO conversations (uid, title, store_id, store_name, session_id, "
                "instructions, created_at, updated_at, pinned, draft, title_is_auto) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation.uid, sanitize_text(conversation.title),
                 sanitize_text(conversation.store_id), sanitize_text(conversation.store_name),
                 sanitize_optional(conversation.session_id),
                 sanitize_optional(conversation.instructions), conversation.created_at,
                 conversation.updated_at, int(conversation.pinned),
                 sanitize_text(conversation.draft), int(conversation.title_is_auto)),
            )
            conversation_id = int(cur.lastrowid or 0)
            new_ids: dict[int, int] = {}
            for message in messages:
                uid = message.uid
                if conn.execute("SELECT 1 FROM messages WHERE uid = ?", (uid,)).fetchone():
                    uid = new_uid()
                cur = conn.execute(
                    "INSERT INTO messages (uid, conversation_id, role, text, status, "
                    "created_at, updated_at, reply_to, session_id, old_session_id, "
                    "response_id, error_code, error_message, citations, input_tokens, "
                    "output_tokens, revision) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (uid, conversation_id, Role(message.role).value,
                     sanitize_text(message.text), MessageStatus(message.status).value,
                     message.created_at, message.updated_at,
                     new_ids.get(message.reply_to) if message.reply_to else None,
                     sanitize_optional(message.session_id),
                     sanitize_optional(old_session_ids.get(message.id)),
                     sanitize_optional(message.response_id),
                     sanitize_optional(message.error_code),
                     sanitize_optional(message.error_message),
                     json.dumps(normalize_citations(message.citations), ensure_ascii=False),
                     message.input_tokens, message.output_tokens, message.revision),
                )
                new_ids[message.id] = int(cur.lastrowid or 0)
        return conversation_id

    # --- search --------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over titles and message text, best first (``rank`` is FTS5's
        bm25: lower is better), **at most one hit per conversation**. Any user input is safe:
        it is quoted term by term, the last term matches as a prefix so results come while
        typing. Never raises on odd input (returns [] instead).

        A conversation's hit is its best-ranked message, with a snippet stripped of Markdown
        (see :func:`search.plain_snippet`); the title is on every hit anyway, so a message
        excerpt says more. A conversation matching only by title gets a title hit
        (``message_id`` None). When the title matches too, the hit ranks by the better of the
        two, so a title match still lifts the conversation.

        A word found in nearly every message (think "the" over 200,000 messages) would make
        bm25-ranking every match take most of a second; after ``SEARCH_RANK_BUDGET_S`` the
        ranking is abandoned and the newest matching messages are returned instead, ranked
        among themselves.
        """
        match = build_match_query(query)
        if match is None or limit <= 0:
            return []
        hl = (HIGHLIGHT_START, HIGHLIGHT_END)
        try:
            with self._read("search") as conn:
                title_rows = conn.execute(
                    "SELECT f.rowid, highlight(conversations_fts, 0, ?, ?), f.rank, c.title "
                    "FROM conversations_fts f JOIN conversations c ON c.id = f.rowid "
                    "WHERE conversations_fts MATCH ? ORDER BY f.rank LIMIT ?",
                    (*hl, match, limit),
                ).fetchall()
                message_rows = self._message_hits(conn, match, limit)
        except StorageError as exc:
            log.warning("search failed: %s", exc)
            return []
        return one_hit_per_conversation(title_rows, message_rows, limit)

    @staticmethod
    def _message_hits(conn: sqlite3.Connection, match: str, limit: int) -> list[Any]:
        """The best matching non-seam message of up to ``limit`` conversations, as
        (id, conversation id, title, raw snippet, rank) rows, best first (newest first when
        ranking runs over budget).

        Matches are streamed in FTS5's own rank order (it sorts internally and produces no
        snippet yet) and read only until ``limit`` distinct conversations are found, so a
        conversation with hundreds of matching messages cannot crowd out the others; the
        snippets are then made for the chosen messages only.
        """
        sql = ("SELECT f.rowid, f.rank FROM messages_fts f WHERE messages_fts MATCH ? "
               "ORDER BY {order}")
        deadline = time.monotonic() + SEARCH_RANK_BUDGET_S
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        best: list[tuple[int, int, float]] | None
        try:
            best = _first_per_conversation(conn, conn.execute(sql.format(order="f.rank"),
                                                              (match,)), limit, max_rows=None)
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc).lower():
                raise
            # Too many matches to rank in time: FTS5 walks its index newest-first and stops
            # early; a word in nearly every message of a few conversations is cut off by
            # ``_FALLBACK_MAX_ROWS``.
            log.debug("search ranking over budget; returning newest matches")
            best = None
        finally:
            conn.set_progress_handler(None, 0)
        if best is None:
            best = _first_per_conversation(
                conn, conn.execute(sql.format(order="f.rowid DESC"), (match,)), limit,
                max_rows=_FALLBACK_MAX_ROWS)
        if not best:
            return []
        ids = [row[0] for row in best]
        marks = ",".join("?" * len(ids))
        # One pass over the matches in the chosen rowid range ("+" keeps the IN list out of
        # FTS5's index use: as a constraint FTS5 would re-run the whole MATCH once per id,
        # ~30 ms for a short prefix term); the snippet is made for the chosen rows only.
        snippets = dict(conn.execute(
            "SELECT f.rowid, snippet(messages_fts, 0, ?, ?, '…', 16) FROM messages_fts f "
            "WHERE messages_fts MATCH ? AND f.rowid BETWEEN ? AND ? "
            f"AND +f.rowid IN ({marks})",
            (HIGHLIGHT_START, HIGHLIGHT_END, match, min(ids), max(ids), *ids)).fetchall())
        titles = dict(conn.execute(
            f"SELECT id, title FROM conversations WHERE id IN ({marks})",
            [row[1] for row in best]).fetchall())
        rows = [(mid, cid, titles.get(cid, ""), snippets.get(mid, ""), rank)
                for mid, cid, rank in best]
        rows.sort(key=lambda r: r[4])
        return rows

    # --- backups -------------------------------------------------------------------------

    def backup_now(self, reason: str = "manual") -> Path:
        """Write a consistent copy into ``backup_dir`` (rotating, 7 kept); returns its path.

        Uses its own connection: WAL lets it read a snapshot while the shared connection keeps
        serving (a big file takes a while to copy; the GUI thread must not wait for it)."""
        with self._lock:
            self._connection()  # refuse after close()
        try:
            conn = database.connect(self.db_path)
            try:
                return database.backup(conn, self.backup_dir, self.db_path, reason)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise database.translate(exc, "back up the database") from exc

    def latest_backup(self) -> Path | None:
        """The newest backup file, or None."""
        return database.latest_backup(self.backup_dir, self.db_path)

    def list_backups(self) -> list[Path]:
        """All backups, oldest first."""
        return database.list_backups(self.backup_dir, self.db_path)

    def restore_backup(self, path: Path | None = None) -> Path:
        """Replace the whole database with a backup (default: the newest). The current state
        is backed up first, so a restore can itself be undone. Older backups are migrated.
        Returns the backup that was restored."""
        path = path or self.latest_backup()
        if path is None:
            raise StorageError("There is no backup to restore.")
        try:
            version = database.read_backup_version(path)
        except sqlite3.Error as exc:
            raise StorageError(f"{path} is not a usable backup: {exc}") from exc
        database.check_not_too_new(path, version)
        with self._lock:
            conn = self._connection()
            self.backup_now("before-restore")
            source = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                source.backup(conn)
            except sqlite3.Error as exc:
                raise database.translate(exc, "restore the backup") from exc
            finally:
                source.close()
            try:
                database.configure(conn)
                database.migrate(conn, self.db_path)
            except sqlite3.Error as exc:
                raise database.translate(exc, "upgrade the restored backup") from exc
        return path

    # --- lifecycle -----------------------------------------------------------------------

    def integrity_check(self) -> bool:
        """``PRAGMA integrity_check`` (slow on big files; for diagnostics and tests)."""
        with self._read("check the database") as conn:
            return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    def close(self) -> None:
        """Checkpoint, close, and record a clean shutdown. Safe to call twice."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            with suppress(sqlite3.Error):  # an optimisation only
                conn.execute("PRAGMA optimize")
            conn.close()
            with suppress(FileNotFoundError):
                database.marker_path(self.db_path).unlink()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_per_conversation(conn: sqlite3.Connection, cursor: sqlite3.Cursor, limit: int,
                            max_rows: int | None) -> list[tuple[int, int, float]]:
    """The first (message id, conversation id, rank) of each conversation from a cursor of
    ordered (message id, rank) FTS rows, until ``limit`` conversations (or ``max_rows`` rows
    read). Seam rows are skipped. Rows are read in batches, each mapped to its conversation
    with one query, so reading stops soon after enough conversations are found."""
    chosen: dict[int, tuple[int, int, float]] = {}
    read = 0
    try:
        while len(chosen) < limit and (max_rows is None or read < max_rows):
            batch = cursor.fetchmany(_SEARCH_BATCH)
            if not batch:
                break
            read += len(batch)
            ids = [row[0] for row in batch]
            conversation_of = dict(conn.execute(
                "SELECT id, conversation_id FROM messages WHERE role != 'seam' AND id IN "
                f"({','.join('?' * len(ids))})", ids).fetchall())
            for message_id, rank in batch:
                conversation_id = conversation_of.get(message_id)
                if conversation_id is not None and conversation_id not in chosen:
                    chosen[conversation_id] = (message_id, conversation_id, float(rank))
                    if len(chosen) >= limit:
                        break
    finally:
        cursor.close()  # stop SQLite from producing rows nobody reads
    return list(chosen.values())


def _recover(conn: sqlite3.Connection, report: OpenReport) -> None:
    """Messages a crash left in flight: STREAMING replies and unanswered PENDING questions
    become INTERRUPTED (kept, marked, retryable)."""
    now = time.time()
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "UPDATE messages SET status = 'interrupted', updated_at = ?, revision = revision + 1 "
            "WHERE status = 'streaming'",
            (now,),
        )
        report.interrupted_messages = max(cur.rowcount, 0)
        cur = conn.execute(
            # INDEXED BY: left alone, SQLite scans by role and takes ~15 ms on every start
            # with 200,000 messages; the status index makes it a few rows.
            "UPDATE messages INDEXED BY messages_by_status "
            "SET status = 'interrupted', updated_at = ?, revision = revision + 1 "
            "WHERE status = 'pending' AND role = 'user' AND NOT EXISTS ("
            " SELECT 1 FROM messages r WHERE r.reply_to = messages.id)",
            (now,),
        )
        report.interrupted_user_messages = max(cur.rowcount, 0)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _open_once(db_path: Path, backup_dir: Path, report: OpenReport) -> sqlite3.Connection:
    marker = database.marker_path(db_path)
    report.created = database.create_private_file(db_path)
    # Recognise garbage before SQLite opens it: SQLite may discard or rewrite a -wal that
    # belongs to a file it cannot read, and we promise to move everything aside intact.
    if not report.created and not database.has_sqlite_header(db_path):
        raise sqlite3.DatabaseError("file is not a database (no SQLite header)")
    conn = database.connect(db_path)
    try:
        version = database.user_version(conn)  # raises for a not-a-database file
        database.check_not_too_new(db_path, version)
        if marker.exists() and not report.created:
            report.unclean_shutdown = True
            report.quick_check_ok = database.quick_check(conn)
            if not report.quick_check_ok:
                raise sqlite3.DatabaseError("database disk image is malformed (quick_check)")
        conn.execute("PRAGMA foreign_keys = ON")
        needs_migration = version < schema.schema_version()
        if not report.created and (
            needs_migration or database.backup_is_due(backup_dir, db_path)
        ):
            reason = f"pre-migration-v{version}" if needs_migration else "daily"
            report.backup = database.backup(conn, backup_dir, db_path, reason)
        report.migrated_from = database.migrate(conn, db_path)
        if report.created:
            report.migrated_from = None  # building a new file is not an upgrade
        database.configure(conn)
        report.schema_version = database.user_version(conn)
        _recover(conn, report)
    except BaseException:
        conn.close()
        raise
    return conn


def open_repository(db_path: Path | str, backup_dir: Path | str) -> Repository:
    """Open (creating, migrating, checking and repairing as needed) the database.

    - A file newer than this app raises ``DatabaseTooNewError`` and is not modified.
    - A failing migration raises ``MigrationError``; the file stays at its old version (a
      backup was taken first).
    - A damaged or not-a-database file is moved aside with its -wal/-shm and a fresh
      database is started; ``repo.open_report.moved_aside`` says where the old one went.
    - After an unclean shutdown (the ``.running`` marker is still there) a quick check runs.
    """
    db_path = Path(db_path)
    backup_dir = Path(backup_dir)
    report = OpenReport(path=db_path)
    try:
        conn = _open_once(db_path, backup_dir, report)
    except sqlite3.DatabaseError as exc:
        if not database.is_damage(exc):
            raise database.translate(exc, "open the conversation database") from exc
        reason = str(exc)
        report = OpenReport(
            path=db_path, unclean_shutdown=report.unclean_shutdown,
            quick_check_ok=report.quick_check_ok,
        )
        report.moved_aside = database.move_aside(db_path)
        report.moved_aside_reason = reason
        try:
            conn = _open_once(db_path, backup_dir, report)
        except sqlite3.Error as exc2:
            raise database.translate(exc2, "create a new conversation database") from exc2
    except MigrationError:
        raise
    except sqlite3.Error as exc:
        raise database.translate(exc, "open the conversation database") from exc
    except OSError as exc:  # unwritable folder, a directory in the way, disk full…
        raise StorageError(
            f"Could not open the conversation database at {db_path}: {exc.strerror or exc}"
        ) from exc
    marker = database.marker_path(db_path)
    fd = os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    return Repository(conn, db_path, backup_dir, report)
