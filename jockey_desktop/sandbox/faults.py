"""Fault injection for tests: make the sandbox misbehave in controlled, countable ways.

Faults are off unless a test adds them::

    server.faults.add(Fault.rate_limit(retry_after=7, times=1, path="/responses"))
    server.faults.add(Fault.stall(seconds=30, path="/responses"))

Every fault can be limited to ``times`` uses (``None`` = until removed), to a ``path`` prefix
relative to the base URL (``"/responses"``, ``"/knowledge-stores"``; ``None`` = every path) and
to a ``method``; ``stream`` restricts it to streamed (True) or non-streamed (False) replies.
A fault is used up only when it actually fires. ``server.faults.clear()`` removes all.

Kinds and where they act:

- ``latency``: sleeps ``seconds`` before the request is handled at all (any request).
- ``error``: replies ``status`` with the error body ``{"code", "message", "docs_url"}`` and
  optional ``Retry-After`` before validation, so no session is created (e.g. 500, 503, 403).
- ``rate_limit``: shorthand for an ``error`` with 429 ``too_many_requests``, ``Retry-After``
  and the platform's "Please try again later after N seconds." message.
- ``stall``: in a stream, after ``response.created``/``response.in_progress`` nothing at all
  is sent (not even keep-alives) for ``seconds``, then the stream continues normally. For a
  non-streamed reply the server is silent for ``seconds`` before answering.
- ``fail_midway``: streams only; after ``after_deltas`` text deltas a ``response.failed`` event
  (``error: {code, message}``) and ``data: [DONE]`` end the stream.
- ``cut_stream``: in a stream, after ``after_deltas`` deltas the socket is closed with no
  terminal event and no ``[DONE]``; for a non-streamed reply the socket is closed before any
  byte of the response.
- ``malformed_json``: a non-streamed 200 reply gets a truncated JSON body; in a stream, after
  ``after_deltas`` deltas one ``data:`` line carries broken JSON, then the stream continues.

Faults of the upload and store endpoints (matched like the others; ``path`` relative to the
base URL, or ``/upload-chunks`` for presigned chunk URLs):

- ``fail_indexing``: the next item added (``POST /knowledge-stores/{id}/items``) goes through
  its lifecycle but ends ``failed``.
- ``fail_asset``: the next asset created (``POST /assets`` or a completed multipart upload)
  ends ``failed`` with ``error.message`` set to ``message``.
- ``fail_chunk``: the next chunk PUT answers ``status`` (default 500) and the chunk is marked
  ``failed`` in the upload's status; its URL stays unused, so a retry with it works.
- ``expire_upload_url``: the next chunk PUT finds its URL expired (403), as if its hour had
  passed; the client must ask for new URLs.

A 429 on ``POST /assets`` is an ordinary ``Fault.rate_limit(path="/assets", method="POST")``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum


class FaultKind(str, Enum):
    """The kinds of misbehaviour the sandbox can inject (see the module docstring)."""

    LATENCY = "latency"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    STALL = "stall"
    FAIL_MIDWAY = "fail_midway"
    CUT_STREAM = "cut_stream"
    MALFORMED_JSON = "malformed_json"
    FAIL_INDEXING = "fail_indexing"
    FAIL_ASSET = "fail_asset"
    FAIL_CHUNK = "fail_chunk"
    EXPIRE_UPLOAD_URL = "expire_upload_url"


#: Faults that act before the request is validated.
PRE_FAULTS = frozenset({FaultKind.LATENCY, FaultKind.ERROR, FaultKind.RATE_LIMIT})
#: Faults that act while the reply is sent.
REPLY_FAULTS = frozenset(
    {FaultKind.STALL, FaultKind.FAIL_MIDWAY, FaultKind.CUT_STREAM, FaultKind.MALFORMED_JSON}
)


@dataclass(eq=False)
class Fault:
    """One injected fault. Prefer the class-method constructors."""

    kind: FaultKind
    path: str | None = None
    method: str | None = None
    stream: bool | None = None
    times: int | None = 1
    seconds: float = 0.0
    status: int = 500
    code: str = "internal_server_error"
    message: str = "The server encountered an unexpected error. Please try again later."
    retry_after: int | None = None
    after_deltas: int = 2
    #: How many times this fault has fired.
    fired: int = 0

    @classmethod
    def latency(cls, seconds: float, **kw: object) -> Fault:
        """Delay the handling of matching requests by ``seconds``."""
        return cls(FaultKind.LATENCY, seconds=seconds, **kw)  # type: ignore[arg-type]

    @classmethod
    def error(cls, status: int = 500, code: str = "internal_server_error",
              message: str | None = None, *, retry_after: int | None = None,
              **kw: object) -> Fault:
        """Answer matching requests with ``status`` and a proper error body."""
        fault = cls(FaultKind.ERROR, status=status, code=code, retry_after=retry_after,
                    **kw)  # type: ignore[arg-type]
        if message is not None:
            fault.message = message
        return fault

    @classmethod
    def rate_limit(cls, retry_after: int = 7, **kw: object) -> Fault:
        """Answer 429 ``too_many_requests`` with ``Retry-After: retry_after``."""
        return cls(FaultKind.RATE_LIMIT, status=429, code="too_many_requests",
                   retry_after=retry_after,
                   message=("You have exceeded the rate limit. Please try again later after "
                            f"{retry_after} seconds."), **kw)  # type: ignore[arg-type]

    @classmethod
    def stall(cls, seconds: float, **kw: object) -> Fault:
        """Go completely silent for ``seconds`` after the stream has started."""
        return cls(FaultKind.STALL, seconds=seconds, **kw)  # type: ignore[arg-type]

    @classmethod
    def fail_midway(cls, after_deltas: int = 2, code: str = "internal_server_error",
                    message: str = "The agent failed while generating the answer.",
                    **kw: object) -> Fault:
        """End a stream with ``response.failed`` + ``[DONE]`` after ``after_deltas`` deltas."""
        kw.setdefault("stream", True)
        return cls(FaultKind.FAIL_MIDWAY, after_deltas=after_deltas, code=code,
                   message=message, **kw)  # type: ignore[arg-type]

    @classmethod
    def cut_stream(cls, after_deltas: int = 2, **kw: object) -> Fault:
        """Close the socket after ``after_deltas`` deltas, without a terminal event."""
        return cls(FaultKind.CUT_STREAM, after_deltas=after_deltas,
                   **kw)  # type: ignore[arg-type]

    @classmethod
    def malformed_json(cls, after_deltas: int = 1, **kw: object) -> Fault:
        """Send broken JSON (the whole body, or one SSE ``data:`` line)."""
        return cls(FaultKind.MALFORMED_JSON, after_deltas=after_deltas,
                   **kw)  # type: ignore[arg-type]

    @classmethod
    def fail_indexing(cls, **kw: object) -> Fault:
        """The next added store item ends ``failed``."""
        return cls(FaultKind.FAIL_INDEXING, **kw)  # type: ignore[arg-type]

    @classmethod
    def fail_asset(cls, message: str = "The file could not be processed: the video failed "
                                       "the playability check.", **kw: object) -> Fault:
        """The next created asset ends ``failed`` with ``error.message`` = ``message``."""
        return cls(FaultKind.FAIL_ASSET, message=message, **kw)  # type: ignore[arg-type]

    @classmethod
    def fail_chunk(cls, status: int = 500, **kw: object) -> Fault:
        """The next chunk PUT fails with ``status``; the chunk is marked ``failed``."""
        kw.setdefault("message", "The chunk could not be stored. Upload it again.")
        return cls(FaultKind.FAIL_CHUNK, status=status, **kw)  # type: ignore[arg-type]

    @classmethod
    def expire_upload_url(cls, **kw: object) -> Fault:
        """The next chunk PUT finds its presigned URL expired (403)."""
        return cls(FaultKind.EXPIRE_UPLOAD_URL, **kw)  # type: ignore[arg-type]

    def matches(self, method: str, path: str, stream: bool | None) -> bool:
        """Return True when this fault applies to the request (ignores the use count)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and not path.startswith(self.path):
            return False
        if self.kind is FaultKind.FAIL_MIDWAY and stream is not True:
            return False
        return not (self.stream is not None and stream is not None and self.stream != stream)


class FaultSet:
    """The server's thread-safe list of active faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Activate ``fault`` and return it (its ``fired`` count can be checked later)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Deactivate one fault (no error if it is already gone)."""
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, kinds: frozenset[FaultKind], method: str, path: str,
             stream: bool | None) -> list[Fault]:
        """Use up and return the matching faults of ``kinds``, at most one per kind."""
        taken: list[Fault] = []
        with self._lock:
            seen: set[FaultKind] = set()
            for fault in list(self._faults):
                if fault.kind not in kinds or fault.kind in seen:
                    continue
                if not fault.matches(method, path, stream):
                    continue
                seen.add(fault.kind)
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                taken.append(fault)
        return taken
