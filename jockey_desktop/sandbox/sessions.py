"""Sandbox sessions: bound to one store, persisted as one JSON file each, expiring after a TTL.

A session file is written atomically (temporary file + ``os.replace``) so a crash or a
concurrent restart never leaves half a file. Without a ``state_dir`` sessions live in memory.
Expiry counts from the last use; an expired session is deleted and reads as unknown. A file
that does not hold a well-typed session (another id, non-finite times, wrong types) is ignored
with a warning, so the session reads as unknown rather than breaking a request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jockey_desktop.sandbox.ids import new_id

log = logging.getLogger(__name__)

DEFAULT_SESSION_TTL = 7 * 24 * 3600.0
_SAFE_ID = re.compile(r"^sess_[0-9a-f-]{36}$")


@dataclass
class Session:
    """Server-side conversation state."""

    id: str
    store_id: str
    created_at: float
    last_used_at: float
    #: Next ``n`` of ``msg_<session>_<n>``; counts across the whole session.
    message_counter: int = 0
    selections: list[dict[str, Any]] = field(default_factory=list)
    #: One dict per completed turn: question, answer, themes, video_ids, theme.
    turns: list[dict[str, Any]] = field(default_factory=list)

    def next_message_id(self) -> str:
        """Return the next output message id and advance the counter."""
        message_id = f"msg_{self.id}_{self.message_counter}"
        self.message_counter += 1
        return message_id


class SessionStore:
    """Thread-safe session registry, optionally persisted under ``state_dir/sessions``."""

    def __init__(self, state_dir: Path | None, ttl: float = DEFAULT_SESSION_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        if math.isnan(ttl) or ttl <= 0:
            raise ValueError("the session TTL must be a positive number of seconds")
        self._dir = Path(state_dir) / "sessions" if state_dir is not None else None
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.RLock()
        self._memory: dict[str, Session] = {}

    @property
    def lock(self) -> threading.RLock:
        """Held by the server while it reads-modifies-writes one session."""
        return self._lock

    def create(self, store_id: str) -> Session:
        """Create, save and return a new session bound to ``store_id``."""
        now = self._clock()
        session = Session(id=new_id("sess_"), store_id=store_id, created_at=now,
                          last_used_at=now)
        self.save(session)
        return session

    def get(self, session_id: str) -> Session | None:
        """Return the live session, or None when it never existed or has expired."""
        with self._lock:
            session = self._load(session_id)
            if session is None:
                return None
            if self._clock() - session.last_used_at > self.ttl:
                self.expire(session_id)
                return None
            return session

    def save(self, session: Session) -> None:
        """Persist ``session`` (atomically when on disk)."""
        with self._lock:
            self._memory[session.id] = session
            if self._dir is None:
                return
            data = json.dumps(asdict(session), ensure_ascii=False, indent=1)
            try:
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self._dir)
            except OSError as exc:
                self._kept_in_memory(session, exc)
                return
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self._path(session.id))
            except BaseException as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                if not isinstance(exc, OSError):
                    raise
                self._kept_in_memory(session, exc)

    @staticmethod
    def _kept_in_memory(session: Session, exc: OSError) -> None:
        # The state folder lives in the app's data folder: a full (or read-only) disk there
        # is the user's, not the server's, and must not fail the turn. The session goes on
        # from memory; only a sandbox restart would forget it.
        log.warning("sandbox: session %s kept in memory only (%s)", session.id,
                    exc.strerror or exc)

    def touch(self, session: Session) -> None:
        """Mark ``session`` as used now (restarts its TTL)."""
        session.last_used_at = self._clock()

    def expire(self, session_id: str) -> bool:
        """Forget a session now; returns True if it existed."""
        with self._lock:
            existed = self._memory.pop(session_id, None) is not None
            if self._dir is not None and _SAFE_ID.match(session_id):
                path = self._path(session_id)
                if path.exists():
                    existed = True
                    with contextlib.suppress(OSError):
                        path.unlink()
            return existed

    def _path(self, session_id: str) -> Path:
        assert self._dir is not None
        return self._dir / f"{session_id}.json"

    def _load(self, session_id: str) -> Session | None:
        if session_id in self._memory:
            return self._memory[session_id]
        # Only well-formed ids reach the file system (no path tricks from request bodies).
        if self._dir is None or not _SAFE_ID.match(session_id):
            return None
        path = self._path(session_id)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            session = Session(**raw)
            _check(session, session_id)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            log.warning("ignoring unreadable session file %s: %s", path.name, exc)
            return None
        self._memory[session.id] = session
        return session


def _check(session: Session, session_id: str) -> None:
    """Raise ValueError unless ``session`` (read from a file) is well-typed."""

    def is_time(value: object) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))

    if session.id != session_id or not isinstance(session.store_id, str):
        raise ValueError("the file holds another session")
    if not (is_time(session.created_at) and is_time(session.last_used_at)):
        raise ValueError("times must be finite numbers")
    if (not isinstance(session.message_counter, int) or isinstance(session.message_counter, bool)
            or session.message_counter < 0):
        raise ValueError("message_counter must be a non-negative integer")
    if not isinstance(session.selections, list) or not all(
            isinstance(s, dict) and isinstance(s.get("kind"), str) and isinstance(s.get("id"), str)
            for s in session.selections):
        raise ValueError("selections must be a list of {kind, id}")
    if not isinstance(session.turns, list) or not all(isinstance(t, dict)
                                                      for t in session.turns):
        raise ValueError("turns must be a list of objects")
