"""The Repository: every read and write of conversations and messages.

Connections and locks (why a read never waits for a write):

- The **writer** connection, behind its own lock, does every write, and restore. Writes are
  short ``BEGIN IMMEDIATE … COMMIT`` transactions.
- The **reader** connection, behind another lock, serves every short read (the sidebar, a
  page of messages, one row). WAL lets it read the last committed state while the writer is
  inside a transaction, so a read on the GUI thread never waits behind a write (or a backup,
  which copies through a connection of its own).
- The **scanner** connection, behind a third lock, runs the long reads: ``search`` and
  ``integrity_check``. A search typed on the storage thread therefore never holds up a GUI
  read either.

Lock order is writer, then reader/scanner; a read never takes the writer lock, so two of them
can never wait on each other.

Restore replaces the database file (see ``restore_backup``): it closes and reopens all three
connections. Callers do not read during a restore; a read made then raises
``StorageBusyError`` at once (it never waits or deadlocks), and a write waits for the restore
and then applies to the restored database.

Write discipline (what the controllers rely on): every write method commits before it
returns, in WAL with ``synchronous=FULL`` (see ``database``), so "returned" means "on disk",
and returns what it changed (read back inside its own transaction), so callers never re-read.
A turn is written by ``start_turn`` (question and answer row), ``flush_partial_text`` (~1/s)
and ``complete_turn`` or ``end_turn`` (both rows and the conversation at once). A full disk
raises ``DiskFullError`` naming the database folder, with the transaction rolled back whole.

Crash recovery at open: replies left STREAMING become INTERRUPTED (text kept), and so does
every question left PENDING: with no reply at all its request may or may not have reached the
server, so it is shown as "not answered — retry" instead of silently re-sent (a blind resend
could duplicate the turn server-side); beside an interrupted reply it is settled with it.

Read methods return ``None`` for unknown ids; write methods raise ``NotFoundError``. A
damaged page met by any method raises ``DatabaseCorruptError``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from . import database, schema, uploads
from .database import OpenReport
from .errors import (
    DatabaseCorruptError,
    MigrationError,
    NotFoundError,
    StorageBusyError,
    StorageError,
)
from .models import (
    CITATION_KEYS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    SELECTION_KEYS,
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    SearchHit,
    TurnWrite,
    Upload,
    UploadState,
)
from .plaintext import message_plain_text
from .sanitize import sanitize_json_value, sanitize_optional, sanitize_text
from .search import build_match_query, make_snippet, one_hit_per_conversation

log = logging.getLogger(__name__)

#: Longest time spent bm25-ranking message matches before falling back to newest-first. The
#: search holds the scanner connection only, so this bounds how stale a keystroke's results
#: can get, not how long any other read or write waits.
SEARCH_RANK_BUDGET_S = 0.05
#: Matches mapped to their conversations per query while looking for distinct conversations.
_SEARCH_BATCH = 200
#: Matches read newest-first, at most, when ranking ran over budget.
_FALLBACK_MAX_ROWS = 20_000
#: SQLite VM steps between two looks at the clock during a ranked search.
_PROGRESS_STEPS = 20_000

#: Auto titles are cut to this many characters (the sidebar elides further).
AUTO_TITLE_LENGTH = 80
#: Sidebar rows and newest messages read at open to find a damaged page before the app does
#: (the window's first paint reads the same).
_PROBE_ROWS = 200

_CONVERSATION_FIELDS = (
    "id", "uid", "title", "store_id", "store_name", "session_id", "instructions",
    "created_at", "updated_at", "pinned", "draft", "title_is_auto", "origin_conversation_id",
    "origin_message_id", "web_search",
)
_CONVERSATION_COLUMNS = ", ".join(_CONVERSATION_FIELDS)
_MESSAGE_COLUMNS = (
    "id, uid, conversation_id, role, text, status, created_at, updated_at, reply_to, "
    "session_id, response_id, error_code, error_message, citations, input_tokens, "
    "output_tokens, revision, retry_at, plain_text, selections, steps"
)
#: Sidebar rows: the conversation, its message count (seams excluded) and the status of its
#: newest answer; two indexed sub-queries per row.
_SUMMARY_SELECT = (
    "SELECT " + ", ".join(f"c.{name}" for name in _CONVERSATION_FIELDS) + ", "
    "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.role != 'seam'), "
    "(SELECT m.status FROM messages m WHERE m.conversation_id = c.id "
    " AND m.role = 'assistant' ORDER BY m.id DESC LIMIT 1) "
    "FROM conversations c "
)
_SIDEBAR_ORDER = "ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?"
#: Statuses a turn that did not complete may end in (``end_turn``).
_ENDED_STATUSES = (MessageStatus.FAILED, MessageStatus.CANCELLED, MessageStatus.INTERRUPTED)


def new_uid() -> str:
    """A fresh UUID4 string for the ``uid`` columns."""
    import uuid  # here: uuid imports platform, ~4 ms the first paint does not need

    return str(uuid.uuid4())


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    """A record as a mapping: a Mapping itself, or the ``to_dict()`` of an API object."""
    if isinstance(value, Mapping):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return result
    return None


def normalize_citations(citations: Iterable[Any]) -> list[dict[str, Any]]:
    """Citations as plain dicts with exactly ``CITATION_KEYS`` (missing keys None, unknown
    keys dropped), strings sanitised, non-finite numbers dropped."""
    result: list[dict[str, Any]] = []
    for citation in citations:
        mapping = _as_mapping(citation)
        if mapping is None:
            continue
        clean = sanitize_json_value(dict(mapping))
        result.append({key: clean.get(key) for key in CITATION_KEYS})
    return result


def normalize_selections(selections: Iterable[Any]) -> list[dict[str, Any]]:
    """Selections as ``{"kind", "id", "name"}`` dicts of sanitised strings ("" when missing),
    in the order given (the order of the ``{{sel:N}}`` placeholders)."""
    result: list[dict[str, Any]] = []
    for selection in selections:
        mapping = _as_mapping(selection)
        if mapping is None:
            continue
        result.append({key: sanitize_text(mapping.get(key) or "") for key in SELECTION_KEYS})
    return result


def normalize_steps(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """Agent steps as plain JSON-safe dicts (opaque to storage: every key kept, strings
    sanitised, non-finite numbers and absurd nesting cut); entries that are not records are
    dropped."""
    result: list[dict[str, Any]] = []
    for step in steps:
        mapping = _as_mapping(step)
        if mapping is not None:
            result.append(sanitize_json_value(dict(mapping)))
    return result


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _auto_title(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= AUTO_TITLE_LENGTH:
        return line
    return line[: AUTO_TITLE_LENGTH - 1].rstrip() + "…"


def _json_list(raw: Any) -> list[dict[str, Any]]:
    """A stored JSON list of records; [] for anything else (a hand-edited file must not make
    the conversation unreadable)."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _row_to_conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        id=row[0], uid=row[1], title=row[2], store_id=row[3], store_name=row[4],
        session_id=row[5], instructions=row[6], created_at=row[7], updated_at=row[8],
        pinned=bool(row[9]), draft=row[10], title_is_auto=bool(row[11]),
        origin_conversation_id=row[12], origin_message_id=row[13], web_search=bool(row[14]),
    )


def _row_to_message(row: Sequence[Any]) -> Message:
    return Message(
        id=row[0], uid=row[1], conversation_id=row[2], role=Role(row[3]), text=row[4],
        status=MessageStatus(row[5]), created_at=row[6], updated_at=row[7], reply_to=row[8],
        session_id=row[9], response_id=row[10], error_code=row[11], error_message=row[12],
        citations=_json_list(row[13]), input_tokens=row[14], output_tokens=row[15],
        revision=row[16], retry_at=row[17], plain_text=row[18],
        selections=_json_list(row[19]), steps=_json_list(row[20]),
    )


def _summaries_from(rows: Iterable[Sequence[Any]]) -> list[ConversationSummary]:
    width = len(_CONVERSATION_FIELDS)
    return [
        ConversationSummary(
            conversation=_row_to_conversation(row[:width]),
            message_count=int(row[width]),
            last_status=MessageStatus(row[width + 1]) if row[width + 1] else None,
        )
        for row in rows
    ]


def _message_in(conn: sqlite3.Connection, message_id: int) -> Message:
    """A row read back on the connection that just wrote it (same transaction)."""
    row = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"Message {message_id} does not exist.")
    return _row_to_message(row)


def _conversation_in(conn: sqlite3.Connection, conversation_id: int) -> Conversation:
    """A conversation read back on the connection that just wrote it (same transaction)."""
    row = conn.execute(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?",
                       (conversation_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"Conversation {conversation_id} does not exist.")
    return _row_to_conversation(row)


class _ReadChannel:
    """One read-only connection and the lock that serialises its use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.RLock()
        self.conn: sqlite3.Connection | None = None

    def close(self) -> None:
        """Close the connection (the caller holds ``lock``)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


class Repository:
    """Conversation history on one SQLite file. Create it with ``open_repository``."""

    def __init__(
        self, conn: sqlite3.Connection, db_path: Path, backup_dir: Path, report: OpenReport
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        #: The writer lock: held by every write transaction, by restore and close.
        self._lock = threading.RLock()
        self._reader = _ReadChannel("reader")
        self._scanner = _ReadChannel("scanner")
        self._restoring = False
        self.db_path = db_path
        self.backup_dir = backup_dir
        self.open_report = report
        try:
            self._open_readers()
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc, "open the conversation database") from exc

    def __repr__(self) -> str:
        return f"Repository({str(self.db_path)!r})"

    # --- plumbing ------------------------------------------------------------------------

    def _translate(self, exc: sqlite3.Error | OSError, action: str) -> StorageError:
        return database.translate(exc, action, self.db_path)

    def _open_readers(self) -> None:
        for channel in (self._reader, self._scanner):
            with channel.lock:
                channel.close()
                channel.conn = database.connect_reader(self.db_path)

    def _close_readers(self) -> None:
        # A search may be ranking a big index: interrupt it instead of waiting it out (it
        # returns no hits, which is what a search during a restore or close should give).
        scanner = self._scanner.conn
        if scanner is not None:
            scanner.interrupt()
        for channel in (self._reader, self._scanner):
            with channel.lock:
                channel.close()

    def _connection(self) -> sqlite3.Connection:
        """The writer connection (raises once closed)."""
        if self._conn is None:
            raise StorageError("The conversation database is closed.")
        return self._conn

    @contextmanager
    def _read(self, action: str, channel: _ReadChannel | None = None
              ) -> Iterator[sqlite3.Connection]:
        channel = channel or self._reader
        with channel.lock:
            conn = channel.conn
            if conn is None:
                if self._restoring:
                    raise StorageBusyError()
                raise StorageError("The conversation database is closed.")
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from exc

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (takes the write lock up front, so two processes never
        deadlock upgrading a read lock), committed before the caller's method returns; any
        failure rolls the whole transaction back."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    # SQLite may already have rolled back (a full disk can do that); a failed
                    # ROLLBACK must not hide the error that caused it.
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc, action) from exc
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
        self, store_id: str, store_name: str, title: str = "", instructions: str | None = None,
        *, origin_conversation_id: int | None = None, origin_message_id: int | None = None,
        web_search: bool = False,
    ) -> Conversation:
        """A new conversation bound to a knowledge store. An empty ``title`` is automatic:
        it is filled from the first user message (until the user renames it).

        A fork links back with ``origin_conversation_id`` / ``origin_message_id`` (the
        message it continues from; its conversation is the origin when only the message is
        given). Both become None when the origin is deleted.
        """
        now = time.time()
        title = sanitize_text(title).strip()
        with self._write("create a conversation") as conn:
            if origin_message_id is not None:
                row = conn.execute("SELECT conversation_id FROM messages WHERE id = ?",
                                   (origin_message_id,)).fetchone()
                if row is None:
                    raise NotFoundError(f"Message {origin_message_id} does not exist.")
                if origin_conversation_id is None:
                    origin_conversation_id = int(row[0])
                elif int(row[0]) != origin_conversation_id:
                    raise StorageError(
                        f"Message {origin_message_id} is not part of conversation "
                        f"{origin_conversation_id}.")
            if origin_conversation_id is not None and conn.execute(
                    "SELECT 1 FROM conversations WHERE id = ?",
                    (origin_conversation_id,)).fetchone() is None:
                raise NotFoundError(f"Conversation {origin_conversation_id} does not exist.")
            cur = conn.execute(
                "INSERT INTO conversations (uid, title, store_id, store_name, session_id, "
                "instructions, created_at, updated_at, pinned, draft, title_is_auto, "
                "origin_conversation_id, origin_message_id, web_search) "
                "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 0, '', ?, ?, ?, ?)",
                (new_uid(), title, sanitize_text(store_id), sanitize_text(store_name),
                 sanitize_optional(instructions), now, now, 0 if title else 1,
                 origin_conversation_id, origin_message_id, 1 if web_search else 0),
            )
            return _conversation_in(conn, int(cur.lastrowid or 0))

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
        with self._read("list conversations") as conn:
            rows = conn.execute(_SUMMARY_SELECT + _SIDEBAR_ORDER,
                                (-1 if limit is None else int(limit), int(offset))).fetchall()
        return _summaries_from(rows)

    def get_summary(self, conversation_id: int) -> ConversationSummary | None:
        """One sidebar row (the same counts as ``list_conversations``), or None if gone.

        Two indexed sub-queries: cheap even for a conversation with thousands of messages,
        so the GUI thread can refresh a row after every turn.
        """
        with self._read("list conversations") as conn:
            rows = conn.execute(_SUMMARY_SELECT + "WHERE c.id = ?",
                                (conversation_id,)).fetchall()
        found = _summaries_from(rows)
        return found[0] if found else None

    def count_conversations(self) -> int:
        """How many conversations exist."""
        with self._read("count conversations") as conn:
            return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])

    def _update_conversation(self, action: str, conversation_id: int, assignments: str,
                             params: tuple[Any, ...]) -> Conversation:
        with self._write(action) as conn:
            cur = conn.execute(f"UPDATE conversations SET {assignments} WHERE id = ?",
                               (*params, conversation_id))
            self._require(cur, "Conversation", conversation_id)
            return _conversation_in(conn, conversation_id)

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        """Set a user-chosen title (automatic titling stops); returns the conversation."""
        return self._update_conversation("rename a conversation", conversation_id,
                                         "title = ?, title_is_auto = 0",
                                         (sanitize_text(title).strip(),))

    def set_pinned(self, conversation_id: int, pinned: bool) -> Conversation:
        """Pin or unpin (pinned conversations sort first); returns the conversation."""
        return self._update_conversation("pin a conversation", conversation_id, "pinned = ?",
                                         (1 if pinned else 0,))

    def set_draft(self, conversation_id: int, text: str) -> Conversation:
        """Save the unsent composer text of this conversation (does not reorder the
        sidebar); returns the conversation."""
        return self._update_conversation("save a draft", conversation_id, "draft = ?",
                                         (sanitize_text(text),))

    def set_web_search(self, conversation_id: int, on: bool) -> Conversation:
        """Turn "Also search the web" on or off for this conversation; returns it."""
        return self._update_conversation("save the web-search setting", conversation_id,
                                         "web_search = ?", (1 if on else 0,))

    def set_session_id(self, conversation_id: int, session_id: str | None) -> Conversation:
        """Record the server session of this conversation; durable when this returns.

        If the conversation has a session seam still waiting for its new session, the seam
        gets this id too. Returns the conversation.
        """
        session_id = sanitize_optional(session_id)
        with self._write("save the session id") as conn:
            self._set_session(conn, conversation_id, session_id)
            return _conversation_in(conn, conversation_id)

    def _set_session(self, conn: sqlite3.Connection, conversation_id: int,
                     session_id: str | None) -> None:
        cur = conn.execute("UPDATE conversations SET session_id = ? WHERE id = ?",
                           (session_id, conversation_id))
        self._require(cur, "Conversation", conversation_id)
        if session_id is not None:
            conn.execute(
                "UPDATE messages SET session_id = ?, revision = revision + 1 WHERE id = ("
                " SELECT id FROM messages WHERE conversation_id = ? AND role = 'seam' "
                " ORDER BY id DESC LIMIT 1) AND session_id IS NULL",
                (session_id, conversation_id),
            )

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation and its messages (no error if it is already gone); forks
        of it keep their messages and lose only their link back."""
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
        status: MessageStatus, now: float, *, selections: Sequence[Mapping[str, Any]] = (),
        **extra: Any,
    ) -> int:
        exists = conn.execute(
            "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if exists is None:
            raise NotFoundError(f"Conversation {conversation_id} does not exist.")
        columns = ["uid", "conversation_id", "role", "text", "plain_text", "selections",
                   "status", "created_at", "updated_at", *extra]
        values = [new_uid(), conversation_id, role.value, text,
                  message_plain_text(role.value, text, selections), _dumps(list(selections)),
                  status.value, now, now, *extra.values()]
        cur = conn.execute(
            f"INSERT INTO messages ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        return int(cur.lastrowid or 0)

    def _insert_question(self, conn: sqlite3.Connection, conversation_id: int, text: str,
                         selections: Sequence[Mapping[str, Any]], now: float) -> int:
        """A PENDING question; an untitled conversation takes its (plain) text as title."""
        message_id = self._insert_message(conn, conversation_id, Role.USER, text,
                                          MessageStatus.PENDING, now, selections=selections)
        self._touch(conn, conversation_id, now)
        title = _auto_title(message_plain_text(Role.USER.value, text, selections))
        if title:
            conn.execute(
                "UPDATE conversations SET title = ? "
                "WHERE id = ? AND title_is_auto = 1 AND title = ''",
                (title, conversation_id),
            )
        return message_id

    def add_user_message(self, conversation_id: int, text: str, *,
                         selections: Iterable[Any] = ()) -> Message:
        """Save the user's question as PENDING; committed (durable) before it returns, so
        call it before sending the request. Also fills an automatic title.

        Prefer ``start_turn``, which also creates the answer row in the same transaction.
        """
        now = time.time()
        text = sanitize_text(text)
        chosen = normalize_selections(selections)
        with self._write("save your message") as conn:
            message_id = self._insert_question(conn, conversation_id, text, chosen, now)
            return _message_in(conn, message_id)

    def start_assistant_message(self, conversation_id: int, reply_to: int | None) -> Message:
        """An empty STREAMING assistant row answering user message ``reply_to``."""
        now = time.time()
        with self._write("start a reply") as conn:
            message_id = self._insert_message(
                conn, conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING, now,
                reply_to=reply_to,
            )
            self._touch(conn, conversation_id, now)
            return _message_in(conn, message_id)

    # --- turns ---------------------------------------------------------------------------

    def start_turn(self, conversation_id: int, text: str, *,
                   selections: Iterable[Any] = ()) -> tuple[Message, Message]:
        """Save a question (PENDING, with what it asks about) and its empty answer row
        (STREAMING) in one transaction, durable when this returns: call it before sending
        the request. An untitled conversation takes the question as its title.

        Returns ``(question, answer)``.
        """
        now = time.time()
        text = sanitize_text(text)
        chosen = normalize_selections(selections)
        with self._write("save your question") as conn:
            question_id = self._insert_question(conn, conversation_id, text, chosen, now)
            answer_id = self._insert_message(
                conn, conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING, now,
                reply_to=question_id)
            return _message_in(conn, question_id), _message_in(conn, answer_id)

    def restart_turn(self, question_id: int) -> tuple[Message, Message]:
        """Ask a question again (a retry of the latest turn): the question back to PENDING
        and a new STREAMING answer row replying to it, in one transaction. Earlier answers
        stay as they are (they are earlier versions of the answer).

        Returns ``(question, answer)``.
        """
        now = time.time()
        with self._write("retry the question") as conn:
            question = _message_in(conn, question_id)
            if question.role is not Role.USER:
                raise StorageError(f"Message {question_id} is not a question.")
            conn.execute(
                "UPDATE messages SET status = 'pending', error_code = NULL, "
                "error_message = NULL, retry_at = NULL, updated_at = ?, "
                "revision = revision + 1 WHERE id = ?", (now, question_id))
            answer_id = self._insert_message(
                conn, question.conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING,
                now, reply_to=question_id)
            self._touch(conn, question.conversation_id, now)
            return _message_in(conn, question_id), _message_in(conn, answer_id)

    @staticmethod
    def _turn_rows(conn: sqlite3.Connection, question_id: int,
                   answer_id: int) -> tuple[Message, Message]:
        """The two rows of a turn, checked to belong together."""
        question = _message_in(conn, question_id)
        answer = _message_in(conn, answer_id)
        if (question.role is not Role.USER or answer.role is not Role.ASSISTANT
                or answer.reply_to != question_id):
            raise StorageError(
                f"Message {answer_id} is not the answer to question {question_id}.")
        return question, answer

    def complete_turn(
        self, question_id: int, answer_id: int, *, text: str,
        citations: Iterable[Any] = (), steps: Iterable[Any] = (),
        input_tokens: int | None = None, output_tokens: int | None = None,
        response_id: str | None = None, session_id: str | None = None,
        status: MessageStatus = MessageStatus.COMPLETE,
    ) -> TurnWrite:
        """A turn that was answered, in one transaction: the answer's text, citations,
        steps, usage and ids saved with ``status``; the question COMPLETE (it was
        delivered); the conversation's ``session_id`` set when given and different (a
        seam waiting for its session gets it too); the conversation's ``updated_at``
        touched. Returns all three as written."""
        now = time.time()
        status = MessageStatus(status)
        text = sanitize_text(text)
        session_id = sanitize_optional(session_id)
        with self._write("save the answer") as conn:
            question, _answer = self._turn_rows(conn, question_id, answer_id)
            conn.execute(
                "UPDATE messages SET text = ?, plain_text = ?, status = ?, citations = ?, "
                "steps = ?, input_tokens = ?, output_tokens = ?, "
                "response_id = coalesce(?, response_id), session_id = coalesce(?, session_id), "
                "error_code = NULL, error_message = NULL, retry_at = NULL, updated_at = ?, "
                "revision = revision + 1 WHERE id = ?",
                (text, message_plain_text(Role.ASSISTANT.value, text), status.value,
                 _dumps(normalize_citations(citations)), _dumps(normalize_steps(steps)),
                 input_tokens, output_tokens, sanitize_optional(response_id), session_id,
                 now, answer_id))
            conn.execute(
                "UPDATE messages SET status = 'complete', session_id = coalesce(?, session_id), "
                "updated_at = ?, revision = revision + 1 WHERE id = ?",
                (session_id, now, question_id))
            conversation = _conversation_in(conn, question.conversation_id)
            if session_id is not None and session_id != conversation.session_id:
                self._set_session(conn, question.conversation_id, session_id)
            self._touch(conn, question.conversation_id, now)
            return TurnWrite(question=_message_in(conn, question_id),
                             answer=_message_in(conn, answer_id),
                             conversation=_conversation_in(conn, question.conversation_id))

    def end_turn(
        self, question_id: int, answer_id: int, *, status: MessageStatus,
        error_code: str | None, error_message: str | None, text: str | None = None,
        steps: Iterable[Any] = (), retry_at: float | None = None,
    ) -> TurnWrite:
        """A turn that did not complete (FAILED, CANCELLED or INTERRUPTED), in one
        transaction: both rows take ``status``; the answer keeps the error shown to the user,
        ``retry_at`` (when a rate-limited turn may be retried, epoch seconds), the ``text``
        that arrived (None keeps the flushed partial text) and ``steps`` (when any are
        given); the conversation's ``updated_at`` is touched. Returns all three."""
        now = time.time()
        status = MessageStatus(status)
        if status not in _ENDED_STATUSES:
            raise StorageError(f"A turn cannot end as {status.value!r}.")
        step_list = normalize_steps(steps)
        with self._write("save the error") as conn:
            question, _answer = self._turn_rows(conn, question_id, answer_id)
            assignments = ["status = ?", "error_code = ?", "error_message = ?", "retry_at = ?",
                           "updated_at = ?", "revision = revision + 1"]
            params: list[Any] = [status.value, sanitize_optional(error_code),
                                 sanitize_optional(error_message), retry_at, now]
            if text is not None:
                clean = sanitize_text(text)
                assignments += ["text = ?", "plain_text = ?"]
                params += [clean, message_plain_text(Role.ASSISTANT.value, clean)]
            if step_list:
                assignments.append("steps = ?")
                params.append(_dumps(step_list))
            conn.execute(f"UPDATE messages SET {', '.join(assignments)} WHERE id = ?",
                         (*params, answer_id))
            conn.execute("UPDATE messages SET status = ?, updated_at = ?, "
                         "revision = revision + 1 WHERE id = ?",
                         (status.value, now, question_id))
            self._touch(conn, question.conversation_id, now)
            return TurnWrite(question=_message_in(conn, question_id),
                             answer=_message_in(conn, answer_id),
                             conversation=_conversation_in(conn, question.conversation_id))

    def flush_partial_text(self, message_id: int, text: str) -> bool:
        """Save the text streamed so far (one UPDATE; fine at ~1/s). Only a STREAMING
        message is changed, so a late flush cannot overwrite a finished answer; returns
        whether it was applied. A full disk raises ``DiskFullError`` (nothing changed)."""
        text = sanitize_text(text)
        with self._write("save the partial answer") as conn:
            cur = conn.execute(
                "UPDATE messages SET text = ?, plain_text = ?, updated_at = ?, "
                "revision = revision + 1 WHERE id = ? AND status = 'streaming'",
                (text, message_plain_text(Role.ASSISTANT.value, text), time.time(),
                 message_id),
            )
            return cur.rowcount > 0

    def finish_message(
        self, message_id: int, *, text: str, status: MessageStatus,
        citations: Iterable[Any] = (), input_tokens: int | None = None,
        output_tokens: int | None = None, response_id: str | None = None,
        session_id: str | None = None, steps: Iterable[Any] = (),
    ) -> Message:
        """Store the final answer. When ``status`` is COMPLETE, the user message it answers
        (if still PENDING) becomes COMPLETE too: the question was evidently delivered.

        Prefer ``complete_turn``, which writes the question and conversation as well.
        """
        now = time.time()
        status = MessageStatus(status)
        text = sanitize_text(text)
        with self._write("save the answer") as conn:
            message = _message_in(conn, message_id)
            cur = conn.execute(
                "UPDATE messages SET text = ?, plain_text = ?, status = ?, citations = ?, "
                "steps = ?, input_tokens = ?, output_tokens = ?, "
                "response_id = coalesce(?, response_id), session_id = coalesce(?, session_id), "
                "updated_at = ?, revision = revision + 1 WHERE id = ?",
                (text, message_plain_text(message.role.value, text, message.selections),
                 status.value, _dumps(normalize_citations(citations)),
                 _dumps(normalize_steps(steps)), input_tokens, output_tokens,
                 sanitize_optional(response_id), sanitize_optional(session_id), now,
                 message_id),
            )
            self._require(cur, "Message", message_id)
            self._after_reply_change(conn, message_id, status, now)
            return _message_in(conn, message_id)

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
        error_message: str | None, text: str | None = None, retry_at: float | None = None,
    ) -> Message:
        """Mark a message FAILED / CANCELLED / INTERRUPTED with the error shown to the user
        (and, for a rate-limited one, ``retry_at``); ``text`` (if given) replaces the
        partial text, otherwise it is kept.

        Prefer ``end_turn``, which writes the question in the same transaction.
        """
        now = time.time()
        status = MessageStatus(status)
        with self._write("save the error") as conn:
            message = _message_in(conn, message_id)
            assignments = "status = ?, error_code = ?, error_message = ?, retry_at = ?"
            params: list[Any] = [status.value, sanitize_optional(error_code),
                                 sanitize_optional(error_message), retry_at]
            if text is not None:
                clean = sanitize_text(text)
                assignments += ", text = ?, plain_text = ?"
                params += [clean, message_plain_text(message.role.value, clean,
                                                     message.selections)]
            conn.execute(
                f"UPDATE messages SET {assignments}, updated_at = ?, revision = revision + 1 "
                "WHERE id = ?", (*params, now, message_id))
            self._after_reply_change(conn, message_id, status, now)
            return _message_in(conn, message_id)

    def set_message_status(self, message_id: int, status: MessageStatus) -> Message:
        """Change only the status (e.g. a user message to COMPLETE or FAILED); returns the
        message."""
        status = MessageStatus(status)
        with self._write("update a message") as conn:
            cur = conn.execute(
                "UPDATE messages SET status = ?, updated_at = ?, revision = revision + 1 "
                "WHERE id = ?",
                (status.value, time.time(), message_id),
            )
            self._require(cur, "Message", message_id)
            return _message_in(conn, message_id)

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
            return _message_in(conn, message_id)

    def get_old_session_id(self, message_id: int) -> str | None:
        """For a seam row: the session that ended there."""
        with self._read("read a message") as conn:
            row = conn.execute(
                "SELECT old_session_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        return row[0] if row else None

    def import_conversation(
        self, conversation: Conversation, messages: Sequence[Message],
        old_session_ids: Mapping[int, str | None] | None = None, *,
        origin_conversation_uid: str | None = None, origin_message_uid: str | None = None,
    ) -> int | None:
        """Insert a conversation read from an export, in one transaction. Returns the new id,
        or None when a conversation with the same ``uid`` exists (nothing is written).

        ``Message.id`` / ``reply_to`` in ``messages`` are ids local to the import; they are
        remapped. A message ``uid`` already used elsewhere gets a fresh one.
        ``old_session_ids`` maps local message ids of seams to the session that ended. A
        fork's link back is given by the origin's uids and kept when that origin is here.
        ``plain_text`` is always recomputed from the text, never taken from the file.
        """
        old_session_ids = old_session_ids or {}
        with self._write("import a conversation") as conn:
            if conn.execute(
                "SELECT 1 FROM conversations WHERE uid = ?", (conversation.uid,)
            ).fetchone():
                return None
            origin_conversation = origin_message = None
            if origin_conversation_uid:
                row = conn.execute("SELECT id FROM conversations WHERE uid = ?",
                                   (origin_conversation_uid,)).fetchone()
                origin_conversation = row[0] if row else None
            if origin_conversation is not None and origin_message_uid:
                row = conn.execute(
                    "SELECT id FROM messages WHERE uid = ? AND conversation_id = ?",
                    (origin_message_uid, origin_conversation)).fetchone()
                origin_message = row[0] if row else None
            cur = conn.execute(
                "INSERT INTO conversations (uid, title, store_id, store_name, session_id, "
                "instructions, created_at, updated_at, pinned, draft, title_is_auto, "
                "origin_conversation_id, origin_message_id, web_search) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation.uid, sanitize_text(conversation.title),
                 sanitize_text(conversation.store_id), sanitize_text(conversation.store_name),
                 sanitize_optional(conversation.session_id),
                 sanitize_optional(conversation.instructions), conversation.created_at,
                 conversation.updated_at, int(conversation.pinned),
                 sanitize_text(conversation.draft), int(conversation.title_is_auto),
                 origin_conversation, origin_message, int(conversation.web_search)),
            )
            conversation_id = int(cur.lastrowid or 0)
            new_ids: dict[int, int] = {}
            for message in messages:
                uid = message.uid
                if conn.execute("SELECT 1 FROM messages WHERE uid = ?", (uid,)).fetchone():
                    uid = new_uid()
                role = Role(message.role)
                text = sanitize_text(message.text)
                selections = normalize_selections(message.selections)
                cur = conn.execute(
                    "INSERT INTO messages (uid, conversation_id, role, text, plain_text, "
                    "status, created_at, updated_at, reply_to, session_id, old_session_id, "
                    "response_id, error_code, error_message, citations, input_tokens, "
                    "output_tokens, revision, retry_at, selections, steps) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (uid, conversation_id, role.value, text,
                     message_plain_text(role.value, text, selections),
                     MessageStatus(message.status).value,
                     message.created_at, message.updated_at,
                     new_ids.get(message.reply_to) if message.reply_to else None,
                     sanitize_optional(message.session_id),
                     sanitize_optional(old_session_ids.get(message.id)),
                     sanitize_optional(message.response_id),
                     sanitize_optional(message.error_code),
                     sanitize_optional(message.error_message),
                     _dumps(normalize_citations(message.citations)),
                     message.input_tokens, message.output_tokens, message.revision,
                     message.retry_at, _dumps(selections),
                     _dumps(normalize_steps(message.steps))),
                )
                new_ids[message.id] = int(cur.lastrowid or 0)
        return conversation_id

    # --- the upload queue ----------------------------------------------------------------

    def add_uploads(self, rows: Iterable[Mapping[str, Any]]) -> list[Upload]:
        """Queue files (or URLs) in one transaction, durable on return; returns them in order.

        Each row needs ``store_id``, ``method`` ("direct", "multipart" or "url") and a
        ``path`` (or, for "url", a ``url``); it may give any other ``Upload`` field but
        ``id``, ``uid`` and the timestamps. ``filename`` defaults to the last part of the
        path or URL, ``state`` to "queued"; rows without a ``batch_id`` share a new one.
        A bad row raises ``StorageError`` and nothing is queued.
        """
        prepared = [uploads.new_row(row) for row in rows]  # all checked before writing
        batch_id = new_uid()
        now = time.time()
        with self._write("queue the uploads") as conn:
            ids = []
            for fields in prepared:
                fields.setdefault("batch_id", batch_id)
                columns = ["uid", *fields, "created_at", "updated_at"]
                cur = conn.execute(
                    f"INSERT INTO uploads ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    (new_uid(), *fields.values(), now, now))
                ids.append(int(cur.lastrowid or 0))
            return [self._upload_in(conn, upload_id) for upload_id in ids]

    @staticmethod
    def _upload_in(conn: sqlite3.Connection, upload_id: int) -> Upload:
        row = conn.execute(f"SELECT {uploads.UPLOAD_COLUMNS} FROM uploads WHERE id = ?",
                           (upload_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"Upload {upload_id} does not exist.")
        return uploads.row_to_upload(row)

    def get_upload(self, upload_id: int) -> Upload | None:
        """The queued upload, or None."""
        with self._read("read the upload queue") as conn:
            row = conn.execute(f"SELECT {uploads.UPLOAD_COLUMNS} FROM uploads WHERE id = ?",
                               (upload_id,)).fetchone()
        return uploads.row_to_upload(row) if row else None

    def list_uploads(self, *, active_only: bool = False) -> list[Upload]:
        """The queue in the order it was filled; ``active_only`` leaves out the ready,
        failed and cancelled ones."""
        done = [state.value for state in (UploadState.READY, UploadState.FAILED,
                                          UploadState.CANCELLED)]
        where = f"WHERE state NOT IN ({', '.join('?' * len(done))}) " if active_only else ""
        with self._read("read the upload queue") as conn:
            rows = conn.execute(
                f"SELECT {uploads.UPLOAD_COLUMNS} FROM uploads {where}ORDER BY id",
                done if active_only else ()).fetchall()
        return [uploads.row_to_upload(row) for row in rows]

    def update_upload(self, upload_id: int, /, **fields: Any) -> Upload:
        """Change an upload's fields (state, ids, progress, error, …); ``chunks`` replaces
        the chunk list (and sets ``bytes_done`` to its total unless given). ``upload_id`` is
        positional-only, so the multipart session id can be set as ``upload_id=…``. Durable
        on return; returns the upload. An unknown field or value raises ``StorageError``."""
        clean = uploads.clean_fields(fields, allowed=uploads.UPDATABLE_FIELDS)
        with self._write("update the upload queue") as conn:
            assignments = [f"{name} = ?" for name in clean]
            cur = conn.execute(
                f"UPDATE uploads SET {', '.join([*assignments, 'updated_at = ?'])} "
                "WHERE id = ?", (*clean.values(), time.time(), upload_id))
            self._require(cur, "Upload", upload_id)
            return self._upload_in(conn, upload_id)

    def record_chunk(self, upload_id: int, index: int, etag: str, size: int) -> Upload:
        """Record one multipart chunk the server acknowledged (replacing an earlier record of
        the same index); ``bytes_done`` becomes the total of the recorded chunks. Durable on
        return, so a restart resumes after it; returns the upload."""
        with self._write("record an uploaded chunk") as conn:
            current = self._upload_in(conn, upload_id)
            clean = uploads.clean_fields(
                {"chunks": [*current.chunks, (index, etag, size)]},
                allowed=uploads.UPDATABLE_FIELDS)
            conn.execute(
                "UPDATE uploads SET chunks = ?, bytes_done = ?, updated_at = ? WHERE id = ?",
                (clean["chunks"], clean["bytes_done"], time.time(), upload_id))
            return self._upload_in(conn, upload_id)

    def delete_upload(self, upload_id: int) -> None:
        """Remove an upload from the queue (no error if it is already gone)."""
        with self._write("remove an upload") as conn:
            conn.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))

    # --- search --------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over titles and message text, best first (``rank`` is FTS5's
        bm25: lower is better), **at most one hit per conversation**. Any user input is safe:
        it is quoted term by term, the last term matches as a prefix so results come while
        typing. Never raises on odd input (returns [] instead); a damaged page raises
        ``DatabaseCorruptError`` like any other read.

        Messages are searched by their ``plain_text``. A conversation's hit is its
        best-ranked message, with a one-line snippet cut from the plain text so that it
        starts a few words before the first match and never cuts a matched word (see
        :func:`search.make_snippet`); the title is on every hit anyway, so a message excerpt
        says more. A conversation matching only by title gets a title hit (``message_id``
        None). When the title matches too, the hit ranks by the better of the two, so a
        title match still lifts the conversation.

        Runs on the scanner connection, so no other read waits for it. A word found in
        nearly every message (think "the" over 200,000 messages) would make bm25-ranking
        every match take most of a second; after ``SEARCH_RANK_BUDGET_S`` the ranking is
        abandoned and the newest matching messages are returned instead, ranked among
        themselves.
        """
        match = build_match_query(query)
        if match is None or limit <= 0:
            return []
        hl = (HIGHLIGHT_START, HIGHLIGHT_END)
        try:
            with self._read("search", self._scanner) as conn:
                title_rows = conn.execute(
                    "SELECT f.rowid, highlight(conversations_fts, 0, ?, ?), f.rank, c.title "
                    "FROM conversations_fts f JOIN conversations c ON c.id = f.rowid "
                    "WHERE conversations_fts MATCH ? ORDER BY f.rank LIMIT ?",
                    (*hl, match, limit),
                ).fetchall()
                message_rows = self._message_hits(conn, match, limit)
        except DatabaseCorruptError:
            raise
        except StorageError as exc:
            log.warning("search failed: %s", exc)
            return []
        return one_hit_per_conversation(title_rows, message_rows, limit)

    @staticmethod
    def _message_hits(conn: sqlite3.Connection, match: str, limit: int) -> list[Any]:
        """The best matching non-seam message of up to ``limit`` conversations, as
        (id, conversation id, title, snippet, rank) rows, best first (newest first when
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
            if "interrupt" not in str(exc).lower() or time.monotonic() <= deadline:
                raise  # an interrupt before the deadline is a restore or close: give up
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
        # ~30 ms for a short prefix term); the text is highlighted for the chosen rows only.
        highlighted = dict(conn.execute(
            "SELECT f.rowid, highlight(messages_fts, 0, ?, ?) FROM messages_fts f "
            "WHERE messages_fts MATCH ? AND f.rowid BETWEEN ? AND ? "
            f"AND +f.rowid IN ({marks})",
            (HIGHLIGHT_START, HIGHLIGHT_END, match, min(ids), max(ids), *ids)).fetchall())
        titles = dict(conn.execute(
            f"SELECT id, title FROM conversations WHERE id IN ({marks})",
            [row[1] for row in best]).fetchall())
        rows = [(mid, cid, titles.get(cid, ""), make_snippet(highlighted.get(mid) or ""), rank)
                for mid, cid, rank in best]
        rows.sort(key=lambda r: r[4])
        return rows

    # --- backups -------------------------------------------------------------------------

    def backup_now(self, reason: str = "manual") -> Path:
        """Write a consistent copy into ``backup_dir`` (rotating, 7 kept); returns its path.

        Uses its own connection: WAL lets it read a snapshot while the writer and readers
        keep serving (a big file takes a while to copy; nobody must wait for it). A full disk
        raises ``DiskFullError``; a damaged page ``DatabaseCorruptError``."""
        with self._lock:
            self._connection()  # refuse after close()
        try:
            conn = database.connect(self.db_path)
            try:
                return database.backup(conn, self.backup_dir, self.db_path, reason)
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise self._translate(exc, "back up the database") from exc

    def latest_backup(self) -> Path | None:
        """The newest backup file, or None."""
        return database.latest_backup(self.backup_dir, self.db_path)

    def list_backups(self) -> list[Path]:
        """All backups, oldest first."""
        return database.list_backups(self.backup_dir, self.db_path)

    def restore_backup(self, path: Path | None = None) -> Path:
        """Replace the whole database file with a backup (default: the newest); returns the
        backup that was restored.

        The backup is copied to a temporary file beside the database and upgraded there
        first (an older backup is migrated; a failure leaves the live database untouched).
        The current state is backed up ("before-restore"), so a restore can itself be undone;
        if the current file is damaged it is moved aside instead, like a damaged file found
        at open. Then every connection is closed, the file replaced and the connections
        reopened; rows the backup caught mid-answer are marked INTERRUPTED.

        Run it off the GUI thread. Reads made meanwhile raise ``StorageBusyError``; writes
        wait and then apply to the restored database.
        """
        path = path or self.latest_backup()
        if path is None:
            raise StorageError("There is no backup to restore.")
        try:
            version = database.read_backup_version(path)
        except sqlite3.Error as exc:
            raise StorageError(f"{path} is not a usable backup: {exc}") from exc
        database.check_not_too_new(path, version)
        with self._lock:
            self._connection()  # refuse after close()
            staged = self._stage_restore(path)
            try:
                damaged = False
                try:
                    self.backup_now("before-restore")
                except DatabaseCorruptError:
                    damaged = True
                self._replace_file(staged, damaged)
            finally:
                with suppress(OSError):
                    staged.unlink()
        return path

    def _stage_restore(self, backup: Path) -> Path:
        """A private, migrated copy of ``backup`` next to the database, ready to replace it."""
        fd, name = tempfile.mkstemp(prefix=f".{self.db_path.name}.restore-",
                                    dir=self.db_path.parent)
        os.close(fd)  # mkstemp made it 0600 before SQLite writes a byte
        staged = Path(name)
        try:
            source = sqlite3.connect(backup.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                target = sqlite3.connect(staged, isolation_level=None)
                try:
                    source.backup(target)
                    target.execute("PRAGMA foreign_keys = ON")
                    database.migrate(target, staged)
                    target.execute("PRAGMA journal_mode = DELETE")
                finally:
                    target.close()
            finally:
                source.close()
            with open(staged, "rb+") as handle:
                os.fsync(handle.fileno())
        except BaseException as exc:
            with suppress(OSError):
                staged.unlink()
            if isinstance(exc, (sqlite3.Error, OSError)) and database.is_full(exc):
                raise self._translate(exc, "restore the backup") from exc
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"{backup} is not a usable backup: {exc}") from exc
            if isinstance(exc, OSError):
                raise self._translate(exc, "restore the backup") from exc
            raise
        return staged

    def _replace_file(self, staged: Path, damaged: bool) -> None:
        """Close every connection, put ``staged`` in place of the database, reopen. The
        caller holds the writer lock. If the file cannot be replaced, the connections are
        reopened on the file that is there, so the repository stays usable."""
        self._restoring = True
        failure: sqlite3.Error | OSError | None = None
        try:
            try:
                self._close_readers()
                writer, self._conn = self._conn, None
                if writer is not None:
                    writer.close()  # the last connection: checkpoints, removes -wal/-shm
                if damaged:
                    database.move_aside(self.db_path)
                else:
                    # Left-over side files belong to the old file and would be replayed into
                    # the new one; the "before-restore" backup holds everything they held.
                    for suffix in ("-wal", "-shm", "-journal"):
                        with suppress(FileNotFoundError):
                            Path(f"{self.db_path}{suffix}").unlink()
                os.replace(staged, self.db_path)
                database.fsync_directory(self.db_path.parent)
            except (sqlite3.Error, OSError) as exc:
                failure = exc
            try:
                self._reopen()
            except (sqlite3.Error, OSError) as exc:
                failure = failure or exc
        finally:
            self._restoring = False
        if failure is not None:
            raise self._translate(failure, "restore the backup") from failure

    def replace_damaged(self, reason: str = "a damaged page was met while running") -> Path:
        """Move a file found damaged after open aside (with its -wal/-shm) and start a new,
        empty database in its place, as ``open_repository`` does at start-up; returns where
        the damaged file went (the app then offers ``restore_backup``).

        Run it off the GUI thread. Reads made meanwhile raise ``StorageBusyError``; writes
        wait and then apply to the new file. ``open_report`` describes the new file.
        """
        with self._lock:
            self._connection()  # refuse after close()
            self._restoring = True
            try:
                self._close_readers()
                writer, self._conn = self._conn, None
                if writer is not None:
                    with suppress(sqlite3.Error):  # closing checkpoints a file that is damaged
                        writer.close()
                report = OpenReport(path=self.db_path, moved_aside_reason=reason)
                report.moved_aside = database.move_aside(self.db_path)
                self._conn = _open_once(self.db_path, self.backup_dir, report)
                self._open_readers()
                self.open_report = report
            except (sqlite3.Error, OSError) as exc:
                raise self._translate(exc, "start a new conversation database") from exc
            finally:
                self._restoring = False
        return report.moved_aside

    def _reopen(self) -> None:
        """Open the writer (settling turns the restored file caught in flight) and readers."""
        conn = database.connect(self.db_path)
        try:
            database.configure(conn)
            _recover(conn, OpenReport(path=self.db_path))
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._open_readers()

    # --- lifecycle -----------------------------------------------------------------------

    def integrity_check(self) -> bool:
        """``PRAGMA integrity_check`` (slow on big files; for diagnostics and tests). Runs on
        the scanner connection."""
        with self._read("check the database", self._scanner) as conn:
            return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    def close(self) -> None:
        """Checkpoint, close, and record a clean shutdown. Safe to call twice."""
        with self._lock:
            self._close_readers()
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
    """Settle the turns a crash left in flight (nothing is in flight at open): STREAMING
    replies become INTERRUPTED (text kept), and so do PENDING questions: unanswered ones are
    counted (retryable), the ones beside an interrupted reply are settled with it."""
    now = time.time()
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "UPDATE messages SET status = 'interrupted', updated_at = ?, revision = revision + 1 "
            "WHERE status = 'streaming'",
            (now,),
        )
        report.interrupted_messages = max(cur.rowcount, 0)
        # INDEXED BY: left alone, SQLite scans by role and takes ~15 ms on every start with
        # 200,000 messages; the status index makes it a few rows.
        cur = conn.execute(
            "UPDATE messages INDEXED BY messages_by_status "
            "SET status = 'interrupted', updated_at = ?, revision = revision + 1 "
            "WHERE status = 'pending' AND role = 'user' AND NOT EXISTS ("
            " SELECT 1 FROM messages r WHERE r.reply_to = messages.id)",
            (now,),
        )
        report.interrupted_user_messages = max(cur.rowcount, 0)
        conn.execute(
            "UPDATE messages INDEXED BY messages_by_status "
            "SET status = 'interrupted', updated_at = ?, revision = revision + 1 "
            "WHERE status = 'pending' AND role = 'user'",
            (now,),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _probe(conn: sqlite3.Connection) -> None:
    """Read what the window's first paint reads (the first sidebar rows and the newest
    messages), so a damaged page there is found while opening, where it is moved aside and a
    restore offered, instead of by the first query after it."""
    conn.execute(_SUMMARY_SELECT + _SIDEBAR_ORDER, (_PROBE_ROWS, 0)).fetchall()
    conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages ORDER BY id DESC LIMIT ?",
                 (_PROBE_ROWS,)).fetchall()


def _open_once(db_path: Path, backup_dir: Path, report: OpenReport) -> sqlite3.Connection:
    marker = database.marker_path(db_path)
    if database.is_empty_file(db_path) and database.list_backups(backup_dir, db_path):
        # A database emptied behind our back (a failed copy, a crash of some tool) is not
        # a first start: it is moved aside and the backups offered, like a damaged file.
        raise sqlite3.DatabaseError("file is not a database (it is empty, but backups exist)")
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
        _probe(conn)  # before the first write, so a damaged file is moved aside untouched
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
    - A file that cannot be read (not a database, a damaged page met while opening, or an
      empty file while backups exist) is moved aside with its -wal/-shm and a fresh
      database is started; ``repo.open_report.moved_aside`` says where the old one went and
      the app offers to restore the newest backup.
    - After an unclean shutdown (the ``.running`` marker is still there) a quick check runs.
    - A full disk raises ``DiskFullError``.
    """
    db_path = Path(db_path)
    backup_dir = Path(backup_dir)
    report = OpenReport(path=db_path)
    action = "open the conversation database"
    try:
        conn = _open_once(db_path, backup_dir, report)
    except sqlite3.DatabaseError as exc:
        if not database.is_damage(exc):
            raise database.translate(exc, action, db_path) from exc
        reason = str(exc)
        report = OpenReport(
            path=db_path, unclean_shutdown=report.unclean_shutdown,
            quick_check_ok=report.quick_check_ok,
        )
        try:
            report.moved_aside = database.move_aside(db_path)
            report.moved_aside_reason = reason
            conn = _open_once(db_path, backup_dir, report)
        except (sqlite3.Error, OSError) as exc2:
            raise database.translate(exc2, "create a new conversation database",
                                     db_path) from exc2
    except MigrationError:
        raise
    except sqlite3.Error as exc:
        raise database.translate(exc, action, db_path) from exc
    except OSError as exc:  # unwritable folder, a directory in the way, disk full…
        if database.is_full(exc):
            raise database.translate(exc, action, db_path) from exc
        raise StorageError(
            f"Could not open the conversation database at {db_path}: {exc.strerror or exc}"
        ) from exc
    marker = database.marker_path(db_path)
    try:
        fd = os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        return Repository(conn, db_path, backup_dir, report)
    except OSError as exc:
        conn.close()
        raise database.translate(exc, action, db_path) from exc
