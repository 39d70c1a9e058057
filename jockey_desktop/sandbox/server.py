"""The sandbox HTTP server: a loopback, Jockey-compatible API (jockey-api.md) in pure stdlib.

``SandboxServer`` runs a ``ThreadingHTTPServer`` (daemon threads) on a background thread.
Routes, all under ``/v1.3``: ``POST /responses`` (JSON or SSE), ``GET /knowledge-stores``,
``GET /knowledge-stores/{id}``, ``GET /knowledge-stores/{id}/items``,
``GET /knowledge-stores/{id}/items/{item_id}``, and ``GET /media/{item_id}/thumbnail.png``
(no key needed, like a signed URL: the citations' ``thumbnail_url`` points there).
Citations carry ``hls_url: null`` because the sandbox has no video media to stream.

Decisions beyond the contract, so clients can rely on them:

- Optional request fields may be JSON ``null``, which means "not sent".
- A reply cut short by ``max_output_tokens`` ends its stream with ``response.completed`` whose
  ``response.status`` is ``incomplete`` (clients read the outcome from ``response.status``).
- Error bodies are always JSON, also for unknown paths (404 ``endpoint_not_exist``), wrong
  methods (405 ``method_not_allowed`` with ``Allow``) and bodies over 1 MiB (413
  ``payload_too_large``, also for a ``Content-Length`` too long to be a size at all). An
  unexpected bug answers 500 ``internal_server_error`` without a traceback.
- Slow clients can't hold a thread (:class:`ConnectionLimits`): a request's headers must
  arrive within ``header_timeout`` of its first byte and its body within ``body_timeout``,
  else 408 ``request_timeout`` and the connection closes; an idle keep-alive connection closes
  after ``idle_timeout``. Past ``max_connections`` open connections a new one is answered 503
  ``server_busy`` with ``Retry-After`` and closed; the listen queue holds
  :data:`LISTEN_BACKLOG` connections, so a burst is queued rather than refused.
- Web search (``tools: [{"type": "jockey:web_search"}]``) adds ``url_citation`` annotations
  (``url``, ``title``, inclusive ``start_index``/``end_index``, null media URLs) to
  example.org/example.com pages; with intermediate outputs also a ``jockey:web_search`` item
  (``ws_…``, ``status``, ``action: {"type": "search", "queries": [...]}``) and, in a stream,
  its ``jockey:web_search.in_progress``/``.searching``/``.completed`` events.
- ``stop()`` returns within about a second, even with streams in flight or stalled.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import logging
import math
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from jockey_desktop.sandbox import routes
from jockey_desktop.sandbox.assets import AssetStore, UploadLimits
from jockey_desktop.sandbox.data import Store
from jockey_desktop.sandbox.engine import (
    Answer,
    AnswerEngine,
    ToolStep,
    WebSearchStep,
    count_tokens,
    truncate_to_tokens,
)
from jockey_desktop.sandbox.faults import PRE_FAULTS, REPLY_FAULTS, Fault, FaultKind, FaultSet
from jockey_desktop.sandbox.formdata import BodyReader
from jockey_desktop.sandbox.ids import new_id, rfc3339, uuid7
from jockey_desktop.sandbox.media import DEFAULT_MEDIA_URL_TTL, MediaLibrary, MediaSigner
from jockey_desktop.sandbox.pace import Pace
from jockey_desktop.sandbox.registry import ResourceRegistry
from jockey_desktop.sandbox.search import SearchPages
from jockey_desktop.sandbox.sessions import DEFAULT_SESSION_TTL, Session, SessionStore
from jockey_desktop.sandbox.uploads import UploadStore
from jockey_desktop.sandbox.validation import (
    DOCS_URL,
    ApiError,
    ResponseRequest,
    parse_json_body,
    validate_response_request,
)

log = logging.getLogger(__name__)

SANDBOX_API_KEY = "sandbox"
API_PREFIX = "/v1.3"
MAX_BODY_BYTES = 1024 * 1024
#: Bodies up to this size are read and discarded before a 413, so the client sees the reply.
_MAX_DRAIN_BYTES = 16 * 1024 * 1024
_MAX_TURNS_KEPT = 20
#: Connections the kernel queues before the server accepts them (Python's default is 5).
LISTEN_BACKLOG = 256
#: Open connections served at once; past it a new connection gets 503 and ``Retry-After``.
MAX_CONNECTIONS = 128
#: Seconds a rejected connection is told to wait, and how long its request is drained.
_BUSY_RETRY_AFTER = 1
_REJECT_DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many may be served at once (all in seconds).

    ``idle_timeout``: a kept-alive connection waiting for its next request is closed after
    this. ``header_timeout``: from a request's first byte to the end of its headers.
    ``body_timeout``: for the whole body once the headers are in. ``write_timeout``: one
    blocked write (a client that stopped reading). ``max_connections``: see
    :data:`MAX_CONNECTIONS`.
    """

    max_connections: int = MAX_CONNECTIONS
    idle_timeout: float = 60.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    write_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        for name in ("idle_timeout", "header_timeout", "body_timeout", "write_timeout"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")


class _ClientGoneError(Exception):
    """The socket is closed (client left, fault cut it, or the server is stopping)."""


class _RequestTimeoutError(Exception):
    """A request's headers or body did not arrive in time (deliberately not an OSError)."""

    def __init__(self, partial: bool) -> None:
        super().__init__("request timed out")
        #: Whether any byte of the request had arrived (then it deserves a 408).
        self.partial = partial


class _DeadlineReader(io.RawIOBase):
    """Socket reads that fail once a deadline passes, however slowly the bytes trickle in.

    A socket timeout bounds each ``recv`` only; a client sending a byte a second would hold
    the thread for ever. Here each phase of a request (waiting for it, its headers, its body)
    gets one deadline for all its reads. Between reads the socket keeps the write timeout.
    """

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._write_timeout = write_timeout
        self._deadline: float | None = None
        self._after_first_byte: float | None = None
        self.received = False

    def readable(self) -> bool:
        return True

    def expect_request(self, idle: float, headers: float) -> None:
        """Wait ``idle`` seconds for a request, then ``headers`` from its first byte."""
        self._deadline = time.monotonic() + idle
        self._after_first_byte = headers
        self.received = False

    def expect_body(self, seconds: float) -> None:
        """The rest of this request must arrive within ``seconds``."""
        self._deadline = time.monotonic() + seconds
        self._after_first_byte = None

    def readinto(self, buffer: Any) -> int:
        remaining = None if self._deadline is None else self._deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise _RequestTimeoutError(self.received)
        try:
            self._sock.settimeout(remaining)
            count = self._sock.recv_into(buffer)
        except TimeoutError:
            raise _RequestTimeoutError(self.received) from None
        finally:
            with contextlib.suppress(OSError):
                self._sock.settimeout(self._write_timeout)
        if count:
            self.received = True
            if self._after_first_byte is not None:
                self._deadline = time.monotonic() + self._after_first_byte
                self._after_first_byte = None
        return count


def _busy_reply() -> bytes:
    body = json.dumps({"code": "server_busy",
                       "message": "The sandbox is serving too many connections. Please try "
                                  f"again later after {_BUSY_RETRY_AFTER} seconds.",
                       "docs_url": DOCS_URL}).encode("utf-8")
    head = ("HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: {_BUSY_RETRY_AFTER}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("ascii") + body


class _Rejecter:
    """Answers connections past the cap with a 503, all on one thread.

    The reply goes out at once (it fits an empty send buffer). The socket is then drained
    until the client closes or a short time passes: closing with the client's request still
    unread would make the kernel send a reset, which can destroy the reply in flight.
    """

    def __init__(self) -> None:
        self._incoming: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reply = _busy_reply()

    def reject(self, sock: socket.socket) -> None:
        """Send the 503 and hand ``sock`` to the draining thread."""
        try:
            sock.setblocking(False)
            sock.send(self._reply)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            with contextlib.suppress(OSError):
                sock.close()
            return
        self._incoming.put(sock)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="jockey-sandbox-busy",
                                                daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        deadlines: dict[socket.socket, float] = {}
        with selectors.DefaultSelector() as selector:
            while True:
                while True:
                    try:
                        sock = self._incoming.get_nowait()
                    except queue.Empty:
                        break
                    deadlines[sock] = time.monotonic() + _REJECT_DRAIN_SECONDS
                    selector.register(sock, selectors.EVENT_READ)
                if not deadlines:
                    with self._lock:
                        if self._incoming.empty():
                            self._thread = None
                            return
                    continue
                for key, _events in selector.select(timeout=0.05):
                    sock = key.fileobj  # type: ignore[assignment]
                    try:
                        done = not sock.recv(65536)
                    except BlockingIOError:
                        done = False
                    except OSError:
                        done = True
                    if done:
                        deadlines[sock] = 0.0
                now = time.monotonic()
                for sock in [s for s, at in deadlines.items() if at <= now]:
                    del deadlines[sock]
                    selector.unregister(sock)
                    with contextlib.suppress(OSError):
                        sock.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], app: SandboxServer) -> None:
        self.app = app
        self._active = 0
        self._active_lock = threading.Lock()
        self._rejecter = _Rejecter()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            busy = self._active >= self.app.limits.max_connections
            if not busy:
                self._active += 1
        if busy:
            self._rejecter.reject(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            # No thread started (e.g. the system ran out of them): give the slot back.
            self._release()
            self.shutdown_request(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._active_lock:
            self._active -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Never print tracebacks to stderr; broken connections are normal here.
        log.debug("connection error from %s", client_address, exc_info=True)


class SandboxServer:
    """A Jockey-compatible API on loopback with sample stores and a local answer engine."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 api_key: str = SANDBOX_API_KEY, state_dir: Path | str | None = None,
                 stores_dir: Path | str | None = None, pace: Pace | None = None,
                 session_ttl: float = DEFAULT_SESSION_TTL,
                 clock: Callable[[], float] = time.time,
                 media_url_ttl: float = DEFAULT_MEDIA_URL_TTL,
                 upload_limits: UploadLimits | None = None,
                 search_token_ttl: float = 600.0,
                 limits: ConnectionLimits | None = None) -> None:
        self.host = host
        self._requested_port = port
        self._api_key = api_key
        self.pace = pace if pace is not None else Pace.realistic()
        self.upload_limits = upload_limits or UploadLimits()
        #: Page tokens of store searches; they expire ``search_token_ttl`` after issue.
        self.searches = SearchPages(search_token_ttl, clock)
        #: Signs media URLs; they expire ``media_url_ttl`` seconds after they are made.
        self.media = MediaSigner(media_url_ttl, clock)
        #: The pre-encoded sample segments that HLS playlists repeat.
        self.media_library = MediaLibrary()
        #: Requests to media or presigned upload URLs that carried ``x-api-key`` (a client
        #: bug: keys must never go to those hosts); tests assert these stay 0.
        self.media_requests_with_key = 0
        self.chunk_puts_with_key = 0
        self._counter_lock = threading.Lock()
        state = Path(state_dir) if state_dir else None
        #: Uploaded files and the sample videos' stand-in assets.
        self.assets = AssetStore(state, self.pace, clock)
        #: Multipart upload sessions and their presigned chunk URLs.
        self.uploads = UploadStore(state, self.assets.files_dir, self.upload_limits, clock)
        #: ``stores`` and ``engines`` are owned by ``resources``, which replaces a store (and
        #: rebuilds its engine) whenever the store changes.
        self.stores: dict[str, Store] = {}
        self.engines: dict[str, AnswerEngine] = {}
        self.resources = ResourceRegistry(
            self.stores, self.engines, self.assets,
            stores_dir=Path(stores_dir) if stores_dir else None, state_dir=state,
            pace=self.pace, clock=clock)
        self.sessions = SessionStore(Path(state_dir) if state_dir else None, session_ttl, clock)
        self.faults = FaultSet()
        self.limits = limits if limits is not None else ConnectionLimits()
        self._clock = clock
        self._stop_event = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def __repr__(self) -> str:
        # Deliberately without the API key.
        where = self.base_url if self._httpd else "not started"
        return f"<SandboxServer {where}>"

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> str:
        """Bind and serve on a background thread; returns the base URL (ends in ``/v1.3``)."""
        if self._httpd is not None:
            return self.base_url
        self._stop_event.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.5},
                                        name="jockey-sandbox", daemon=True)
        self._thread.start()
        log.info("sandbox serving at %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop_event.set()
        closer = threading.Thread(target=httpd.shutdown, name="jockey-sandbox-stop",
                                  daemon=True)
        closer.start()
        # serve_forever() only checks for shutdown between select() calls; poke it with
        # throw-away connections instead of waiting for its poll interval.
        host, port = httpd.server_address[:2]
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(str(host), str(host))
        deadline = time.monotonic() + 2.0
        while closer.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection((host, port), timeout=0.2).close()
            closer.join(0.01)
        httpd.server_close()
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/v1.3`` (only while running)."""
        return self.root_url + API_PREFIX

    @property
    def root_url(self) -> str:
        """``http://<host>:<port>``: media and presigned upload URLs live here, outside the
        API prefix (only while running)."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def count_key_leak(self, media: bool) -> None:
        """Record a media (or chunk upload) request that carried ``x-api-key``."""
        with self._counter_lock:
            if media:
                self.media_requests_with_key += 1
            else:
                self.chunk_puts_with_key += 1

    @property
    def connection_count(self) -> int:
        """Connections being served right now (those turned away with a 503 not included)."""
        with self._conn_lock:
            return len(self._connections)

    @property
    def stopping(self) -> threading.Event:
        """Set once ``stop()`` begins; long waits watch it."""
        return self._stop_event

    def expire_session(self, session_id: str) -> bool:
        """Forget a session now, as if its TTL had passed; returns True if it existed."""
        return self.sessions.expire(session_id)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ----------------------------------------------------------------- helpers
    def check_key(self, headers: Any) -> None:
        """401 ``unauthorized`` without a key, 401 ``api_key_invalid`` with a wrong one."""
        key = headers.get("x-api-key")
        if not key:
            raise ApiError(401, "unauthorized",
                           "The `x-api-key` header is missing. Provide your API key.")
        if not hmac.compare_digest(key.encode("utf-8", "replace"),
                                   self._api_key.encode("utf-8")):
            raise ApiError(401, "api_key_invalid",
                           "The API key you provided is not valid or has expired.")

    def store_or_404(self, store_id: str) -> Store:
        """The store (its due status changes settled), or 400 for a malformed id and 404 for
        an unknown one."""
        return self.resources.store(store_id)

    def _item_asset(self, item_id: str) -> str | None:
        found = self.resources.find_item(item_id)
        if found is None:
            return None
        asset_id = found[1].api.get("asset_id")
        return str(asset_id) if asset_id and self.assets.get(str(asset_id)) else None

    def manifest_url(self, asset_id: str) -> str:
        """The signed HLS playlist URL of an asset (valid ``media_url_ttl`` from now)."""
        return f"{self.root_url}{self.media.prefix(asset_id)}/index.m3u8"

    def asset_thumbnail_url(self, asset_id: str, at: float) -> str:
        """The signed thumbnail URL of an asset at ``at`` seconds."""
        return f"{self.root_url}{self.media.prefix(asset_id)}/thumbnail.png?t={at:.1f}"

    def thumbnail_url(self, item_id: str, start: float) -> str | None:
        """The signed thumbnail of a store item at ``start`` (None without a usable asset)."""
        asset_id = self._item_asset(item_id)
        asset = self.assets.get(asset_id) if asset_id else None
        if asset is None or not asset.enable_thumbnail:
            return None
        return self.asset_thumbnail_url(asset.id, start)

    def hls_url(self, item_id: str) -> str | None:
        """The signed HLS playlist of a store item (None when its asset has no HLS)."""
        asset_id = self._item_asset(item_id)
        asset = self.assets.get(asset_id) if asset_id else None
        if asset is None or not asset.enable_hls or asset.kind not in ("video", "audio"):
            return None
        return self.manifest_url(asset.id)

    def wait(self, seconds: float) -> None:
        """Sleep unless the server stops first (then raise ``_ClientGoneError``)."""
        if seconds > 0 and self._stop_event.wait(seconds):
            raise _ClientGoneError


# --------------------------------------------------------------------- response building
@dataclass
class _Turn:
    """Everything needed to send one ``/responses`` reply, JSON or SSE."""

    request: ResponseRequest
    store: Store
    session: Session
    response_id: str
    created_at: float
    answer: Answer
    items: list[dict[str, Any]]
    final_text: str
    incomplete: bool
    usage: dict[str, int]

    def snapshot(self, status: str, output: list[dict[str, Any]],
                 error: dict[str, str] | None = None,
                 usage: dict[str, int] | None = None) -> dict[str, Any]:
        """The response object (jockey-api.md §3.2, §7a, §8.5).

        No ``model`` (removed from the API) and no ``error`` unless the response failed
        (§8.10); ``metadata`` echoes the request's, as the sandbox's own extension.
        """
        response = {
            "id": self.response_id, "type": "response", "object": "response",
            "status": status,
            "incomplete_details": ({"reason": "max_output_tokens"}
                                   if status == "incomplete" else None),
            "session_id": self.session.id, "knowledge_store_id": self.store.id,
            "output": output, "usage": usage,
            "metadata": dict(self.request.metadata),
            "created_at": rfc3339(self.created_at),
        }
        if error is not None:
            response["error"] = error
        return response

    @property
    def status(self) -> str:
        return "incomplete" if self.incomplete else "completed"


def _message_item(message_id: str, phase: str, text: str, annotations: list[dict[str, Any]],
                  status: str) -> dict[str, Any]:
    return {"type": "message", "id": message_id, "status": status, "role": "assistant",
            "phase": phase,
            "content": [{"type": "output_text", "text": text, "annotations": annotations}]}


def _step_items(answer: Answer, session: Session) -> list[dict[str, Any]]:
    """The intermediate output items narrating ``answer.steps``, in the order they happen.

    A tool step is a commentary message, a ``function_call`` and its ``function_call_output``;
    a web search is a commentary message and a ``jockey:web_search`` item (§3.2, §7a).
    """
    items: list[dict[str, Any]] = []
    for step in answer.steps:
        items.append(_message_item(session.next_message_id(), "commentary", step.commentary,
                                   [], "completed"))
        if isinstance(step, ToolStep):
            call_id = "call_" + uuid7().replace("-", "")
            items.append({"type": "function_call", "id": new_id("fc_"), "status": "completed",
                          "name": step.name, "call_id": call_id,
                          "arguments": json.dumps(step.arguments, ensure_ascii=False)})
            items.append({"type": "function_call_output", "id": new_id("fco_"),
                          "status": "completed", "call_id": call_id,
                          "output": json.dumps({"results": step.results},
                                               ensure_ascii=False)})
        elif isinstance(step, WebSearchStep):
            items.append({"type": "jockey:web_search", "id": new_id("ws_"),
                          "status": "completed",
                          "action": {"type": "search", "queries": list(step.queries)}})
    return items


def _item_text(item: dict[str, Any]) -> str:
    """The text an intermediate item adds to the output, for token counting."""
    if item["type"] == "message":
        return str(item["content"][0]["text"])
    if item["type"] == "function_call":
        return str(item["arguments"])
    if item["type"] == "jockey:web_search":
        return " ".join(item["action"]["queries"])
    return ""


def _chunks(text: str, words: int) -> list[str]:
    """Split ``text`` into deltas of ``words`` words; the deltas concatenate to ``text``."""
    pieces: list[str] = []
    current = ""
    count = 0
    for index, char in enumerate(text):
        current += char
        nxt = text[index + 1] if index + 1 < len(text) else ""
        if not char.isspace() and (nxt.isspace() or not nxt):
            count += 1
            if count == words:
                pieces.append(current)
                current, count = "", 0
    if current:
        pieces.append(current)
    return pieces


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "JockeySandbox/1.0"
    default_request_version = "HTTP/1.0"  # so even a garbled request gets a status line
    server: _HTTPServer
    _reader: _DeadlineReader
    #: True once SSE headers went out (an error can then only close the socket).
    stream_started = False
    #: Whether the connection may stay open after a streamed upload body (see ``_route``).
    keep_alive = True
    #: The body of an upload request, read by its route (see ``_route``).
    upload_body: BodyReader | None = None

    # Route every method (even unknown ones) through one dispatcher so they get JSON replies.
    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return lambda: self._dispatch(name[3:])
        raise AttributeError(name)

    def setup(self) -> None:
        limits = self.server.app.limits
        super().setup()
        self.connection.settimeout(limits.write_timeout)
        # Reads go through one deadline per request phase (see _DeadlineReader).
        self._reader = _DeadlineReader(self.connection, limits.write_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)
        # Headers and body go out in separate writes; without NODELAY, Nagle plus delayed
        # ACKs would add ~40 ms to every reply.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app._track(self.connection, True)

    def handle_one_request(self) -> None:
        limits = self.app.limits
        self._reader.expect_request(limits.idle_timeout, limits.header_timeout)
        # A timeout before the request line is parsed still needs these for a reply.
        self.command, self.request_version, self.requestline = "", "HTTP/1.1", ""
        try:
            super().handle_one_request()
        except _RequestTimeoutError as exc:
            self.close_connection = True
            if exc.partial:
                self._reply_timeout()

    def finish(self) -> None:
        self.server.app._track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Malformed request lines and headers also get a JSON error body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._send_json(code, {"code": "invalid_request",
                                   "message": message or "The request is malformed.",
                                   "docs_url": "https://docs.twelvelabs.io"})

    # ----------------------------------------------------------------- plumbing
    @property
    def app(self) -> SandboxServer:
        return self.server.app

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, body, "application/json; charset=utf-8", headers)

    def _send_bytes(self, status: int, body: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reply_timeout(self) -> None:
        with contextlib.suppress(OSError):
            self._send_json(408, {"code": "request_timeout",
                                  "message": "The request did not arrive in time. Send it "
                                             "again in one go.",
                                  "docs_url": DOCS_URL})

    def _read_body(self) -> bytes:
        self._reader.expect_body(self.app.limits.body_timeout)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        length_text = length_text.strip()
        if not length_text.isascii() or not length_text.isdigit():
            self.close_connection = True
            raise ApiError(400, "invalid_request", "The Content-Length header is invalid.")
        digits = length_text.lstrip("0")
        if len(digits) > len(str(_MAX_DRAIN_BYTES)):
            # More digits than any size we would read: too large, and int() of thousands
            # of digits is slow (and an error past 4,300, leading zeros included).
            self.close_connection = True
            raise _too_large()
        length = int(digits or "0")
        if length > MAX_BODY_BYTES:
            if length <= _MAX_DRAIN_BYTES:
                self._drain(length)
            else:
                self.close_connection = True
            raise _too_large()
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                size = -1
            if size < 0:
                self.close_connection = True
                raise ApiError(400, "invalid_request", "The chunked body is malformed.")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return bytes(data)
            if len(data) + size > MAX_BODY_BYTES:
                self.close_connection = True
                raise _too_large()
            data += self.rfile.read(size)
            self.rfile.readline(8)

    # ----------------------------------------------------------------- dispatch
    def _dispatch(self, method: str) -> None:
        self.stream_started = False
        try:
            self._route(method)
        except ApiError as err:
            self._reply_error(err)
        except _RequestTimeoutError:
            self.close_connection = True
            if not self.stream_started:
                self._reply_timeout()
        except _ClientGoneError:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except Exception:  # the last line of defence: no traceback ever reaches the client
            log.exception("sandbox bug while handling %s %s", method, self.path)
            self.close_connection = True
            self._reply_error(ApiError(500, "internal_server_error",
                                       "The sandbox hit an unexpected error."))

    def _reply_error(self, err: ApiError) -> None:
        if self.stream_started:
            # A second status line inside an event stream would be garbage: just hang up.
            self.close_connection = True
            return
        with contextlib.suppress(OSError):
            self._send_json(err.status, err.body(), err.headers)

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        if not routes.streams_body(method, split.path, API_PREFIX):
            # Read any body first so a keep-alive connection stays in sync whatever we answer.
            self._route_request(method, split, self._read_body())
            return
        # An upload's route streams its body to disk. Until it has read all of it the
        # connection is marked for closing, so an early error cannot desynchronise it; what the
        # client still sends is read and dropped (within bounds) so it sees the error reply
        # (a 429, say) instead of a reset connection.
        self.keep_alive = not self.close_connection
        self.close_connection = True
        try:
            self.upload_body = BodyReader(self.rfile, self.headers)
            self._route_request(method, split, b"")
        except ApiError:
            routes.drain_upload(self)
            raise

    def _route_request(self, method: str, split: SplitResult, body: bytes) -> None:
        path = split.path
        located = routes.split_path(path, API_PREFIX)
        if located is None:
            raise _no_endpoint(method, path)
        rel, parts = located
        handler, allowed, needs_key = self._match(parts)
        if handler is None:
            raise _no_endpoint(method, path)
        if method not in allowed:
            raise ApiError(405, "method_not_allowed",
                           f"The method {method[:16]} is not allowed on this endpoint.",
                           {"Allow": ", ".join(sorted(allowed))})
        app = self.app
        for fault in app.faults.take(PRE_FAULTS, method, rel, None):
            if fault.kind is FaultKind.LATENCY:
                app.wait(fault.seconds)
            else:
                headers = ({"Retry-After": str(fault.retry_after)}
                           if fault.retry_after is not None else {})
                raise ApiError(fault.status, fault.code, fault.message, headers)
        if needs_key:
            app.check_key(self.headers)
        params = parse_qs(split.query, keep_blank_values=True)
        handler(parts, params, body, method, rel)

    def _match(self, parts: list[str]) -> tuple[Any, set[str], bool]:
        if parts == ["responses"]:
            return self._post_responses, {"POST"}, True
        route = routes.match(parts)
        if route is not None:
            return partial(route.call, self), set(route.methods), route.needs_key
        return None, set(), False

    # ----------------------------------------------------------------- GET endpoints
    def _reply_json(self, obj: Any, method: str, rel: str) -> None:
        """A 200 JSON reply, with the reply-time faults applied."""
        faults = self.app.faults.take(REPLY_FAULTS, method, rel, False)
        kinds = {f.kind: f for f in faults}
        if FaultKind.STALL in kinds:
            self.app.wait(kinds[FaultKind.STALL].seconds)
        if FaultKind.CUT_STREAM in kinds:
            self._cut()
        if FaultKind.MALFORMED_JSON in kinds:
            text = json.dumps(obj, ensure_ascii=False)
            self._send_bytes(200, text[: max(1, len(text) // 2)].encode("utf-8"),
                             "application/json; charset=utf-8")
            return
        self._send_json(200, obj)

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _ClientGoneError

    # ----------------------------------------------------------------- POST /responses
    def _post_responses(self, parts: list[str], params: dict[str, list[str]], body: bytes,
                        method: str, rel: str) -> None:
        data = parse_json_body(body)
        if data is None:
            raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
        request = validate_response_request(data)
        app = self.app
        store = app.store_or_404(request.knowledge_store_id)
        with app.sessions.lock:
            session = None
            if request.session_id is not None:
                session = app.sessions.get(request.session_id)
                if session is None:
                    raise ApiError(404, "resource_not_exist",
                                   f"The session `{request.session_id[:80]}` does not exist or "
                                   "has expired.")
                if session.store_id != store.id:
                    raise ApiError(400, "parameter_invalid",
                                   f"Session {session.id} belongs to knowledge store "
                                   f"{session.store_id}")
            if not store.ready_items:
                raise ApiError(400, "parameter_invalid",
                               f"No items in the knowledge store `{store.id}` are ready yet. "
                               "Wait until at least one item is ready.")
            # Validation is over: from here on the turn exists.
            if session is None:
                session = app.sessions.create(store.id)
            # Selections add up in the session (§4); one already in force is not repeated.
            for selection in request.selections:
                if selection not in session.selections:
                    session.selections.append(selection)
            app.sessions.touch(session)
            turn = self._plan_turn(request, store, session)
            app.sessions.save(session)
        if request.stream:
            _StreamSender(self, turn).run()
        else:
            self._send_final_json(turn, method, rel)

    def _plan_turn(self, request: ResponseRequest, store: Store, session: Session) -> _Turn:
        app = self.app
        engine = app.engines.get(store.id)
        if engine is None or engine.store is not store:
            # The store changed (items, collections) since its engine was built.
            engine = app.engines[store.id] = AnswerEngine(store)
        structured = request.text_format.get("type") == "json_schema"
        answer = engine.answer(request.content, session.turns, session.selections,
                               request.instructions, request_selections=request.selections,
                               web_search=request.web_search and not structured)
        text = engine.structured(request.text_format["schema"], answer) if structured \
            else answer.text
        annotations = [] if structured else [
            a.to_api(app.thumbnail_url(a.item_id, a.start_sec), app.hls_url(a.item_id))
            for a in answer.annotations]
        if not structured and answer.web_citations:
            annotations = sorted(annotations + [w.to_api() for w in answer.web_citations],
                                 key=lambda a: int(a["start_index"]))
        incomplete = False
        if request.max_output_tokens is not None and \
                count_tokens(text) > request.max_output_tokens:
            text = truncate_to_tokens(text, request.max_output_tokens)
            annotations = [a for a in annotations if a["end_index"] < len(text)]
            incomplete = True
        items: list[dict[str, Any]] = []
        output_tokens = count_tokens(text)
        if request.include_intermediate:
            items = _step_items(answer, session)
            output_tokens += sum(count_tokens(_item_text(item)) for item in items)
        items.append(_message_item(session.next_message_id(), "final_answer", text, annotations,
                                   "incomplete" if incomplete else "completed"))
        history_tokens = sum(count_tokens(t.get("question", "")) +
                             count_tokens(t.get("answer", "")) for t in session.turns)
        input_tokens = (180 + count_tokens(request.content)
                        + count_tokens(request.instructions or "") + history_tokens)
        return _Turn(request=request, store=store, session=session,
                     response_id=new_id("resp_"), created_at=app._clock(), answer=answer,
                     items=items, final_text=text, incomplete=incomplete,
                     usage={"input_tokens": input_tokens, "output_tokens": output_tokens})

    def _finish_turn(self, turn: _Turn) -> None:
        """Remember the completed turn in the session, for follow-up questions."""
        app = self.app
        with app.sessions.lock:
            turn.session.turns.append({"question": turn.request.content,
                                       "answer": turn.final_text, **turn.answer.memory})
            del turn.session.turns[:-_MAX_TURNS_KEPT]
            app.sessions.touch(turn.session)
            app.sessions.save(turn.session)

    def _send_final_json(self, turn: _Turn, method: str, rel: str) -> None:
        pace = self.app.pace
        # A non-streamed reply takes as long as the stream would have.
        n_deltas = len(_chunks(turn.final_text, pace.words_per_delta))
        self.app.wait(pace.first_token_delay + n_deltas * pace.delta_interval)
        final = turn.snapshot(turn.status, turn.items, usage=turn.usage)
        self._finish_turn(turn)
        self._reply_json(final, method, rel)


class _StreamSender:
    """Writes one SSE reply (jockey-api.md §3.6) with pacing, keep-alives and faults."""

    def __init__(self, handler: _Handler, turn: _Turn) -> None:
        self.h = handler
        self.turn = turn
        self.app = handler.app
        self.pace = self.app.pace
        self.seq = 0
        self.last_write = time.monotonic()
        self.deltas_sent = 0
        faults = self.app.faults.take(REPLY_FAULTS, "POST", "/responses", True)
        self.faults: dict[FaultKind, Fault] = {f.kind: f for f in faults}
        #: Items streamed in full so far (what a ``response.failed`` reports).
        self.done_items: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- low level
    def _write(self, data: str) -> None:
        if self.app.stopping.is_set():
            raise _ClientGoneError
        try:
            self.h.wfile.write(data.encode("utf-8"))
            self.h.wfile.flush()
        except OSError:
            raise _ClientGoneError from None
        self.last_write = time.monotonic()

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        data = {"type": kind, "sequence_number": self.seq, **payload}
        self.seq += 1
        self._write(f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n")

    def keepalive(self) -> None:
        if self.pace.keepalive_style == "comment":
            self._write(": keep-alive\n\n")
        else:
            self.event("keepalive", {})

    def wait(self, seconds: float, keepalive: bool = True) -> None:
        """Pause ``seconds``; send keep-alives when idle; abort if the server stops."""
        end = time.monotonic() + seconds
        interval = self.pace.keepalive_interval
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if keepalive and now - self.last_write >= interval:
                self.keepalive()
                continue
            step = end - now
            if keepalive:
                step = min(step, self.last_write + interval - now)
            if self.app.stopping.wait(max(0.0, min(step, 0.1))):
                raise _ClientGoneError

    # ----------------------------------------------------------------- the stream
    def run(self) -> None:
        h = self.h
        h.close_connection = True
        h.stream_started = True
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.send_header("X-Accel-Buffering", "no")
        h.end_headers()
        turn = self.turn
        self.event("response.created", {"response": turn.snapshot("in_progress", [])})
        self.event("response.in_progress", {"response": turn.snapshot("in_progress", [])})
        stall = self.faults.get(FaultKind.STALL)
        if stall is not None:
            self.wait(stall.seconds, keepalive=False)
        thinking = self.pace.first_token_delay
        for index, item in enumerate(turn.items):
            if item["type"] == "message" and item.get("phase") == "final_answer":
                self.wait(thinking)
                thinking = 0.0
            elif item["type"] == "message":
                self.wait(thinking * 0.3)
                thinking *= 0.7
            if self._send_item(index, item):
                return
        # Recorded before the client can see the completion: a follow-up sent the moment
        # ``response.completed`` arrives must already find this turn in the session (and a
        # restart right after it must find it on disk).
        self.h._finish_turn(turn)
        self.event("response.completed", {"response": turn.snapshot(
            turn.status, turn.items, usage=turn.usage)})
        self._write("data: [DONE]\n\n")

    def _send_item(self, index: int, item: dict[str, Any]) -> bool:
        """Stream one output item; True when a fault ended the stream."""
        kind = item["type"]
        if kind == "message":
            return self._send_message(index, item)
        if kind == "jockey:web_search":
            self.event("response.output_item.added", {
                "output_index": index, "item": {**item, "status": "in_progress"}})
            ids = {"item_id": item["id"], "output_index": index}
            self.event("jockey:web_search.in_progress", ids)
            self.event("jockey:web_search.searching", ids)
            self.wait(self.pace.first_token_delay * 0.3)
            self.event("jockey:web_search.completed", ids)
        elif kind == "function_call":
            self.event("response.output_item.added", {
                "output_index": index, "item": {**item, "status": "in_progress",
                                                "arguments": ""}})
            self.event("response.function_call_arguments.done", {
                "item_id": item["id"], "output_index": index, "arguments": item["arguments"]})
        else:
            self.event("response.output_item.added", {
                "output_index": index, "item": {**item, "status": "in_progress", "output": ""}})
            # The "tool" runs for a while: the rest of the thinking time.
            self.wait(self.pace.first_token_delay * 0.4)
        self.event("response.output_item.done", {"output_index": index, "item": item})
        self.done_items.append(item)
        return False

    def _send_message(self, index: int, item: dict[str, Any]) -> bool:
        part = item["content"][0]
        text = part["text"]
        item_id = item["id"]
        empty_part = {"type": "output_text", "text": "", "annotations": []}
        self.event("response.output_item.added", {"output_index": index, "item": {
            **item, "status": "in_progress", "content": [empty_part]}})
        ids = {"item_id": item_id, "output_index": index, "content_index": 0}
        self.event("response.content_part.added", {**ids, "part": empty_part})
        chunks = _chunks(text, self.pace.words_per_delta)
        for number, chunk in enumerate(chunks):
            if number:
                self.wait(self.pace.delta_interval)
            self.event("response.output_text.delta", {**ids, "delta": chunk})
            self.deltas_sent += 1
            last = number == len(chunks) - 1 and item.get("phase") == "final_answer"
            if self._midway_faults(last):
                return True
        self.event("response.output_text.done", {**ids, "text": text})
        self.event("response.content_part.done", {**ids, "part": part})
        self.event("response.output_item.done", {"output_index": index, "item": item})
        self.done_items.append(item)
        return False

    def _midway_faults(self, last: bool) -> bool:
        """Fire due mid-stream faults; True when the stream must end now."""
        for kind in (FaultKind.MALFORMED_JSON, FaultKind.FAIL_MIDWAY, FaultKind.CUT_STREAM):
            fault = self.faults.get(kind)
            if fault is None or (self.deltas_sent < fault.after_deltas and not last):
                continue
            del self.faults[kind]
            if kind is FaultKind.MALFORMED_JSON:
                self.seq += 1
                self._write('event: response.output_text.delta\ndata: {"type": '
                            '"response.output_text.delta", "delta": "oops\n\n')
            elif kind is FaultKind.FAIL_MIDWAY:
                error = {"code": fault.code, "message": fault.message}
                self.event("response.failed", {"response": self.turn.snapshot(
                    "failed", self.done_items, error=error, usage=self.turn.usage)})
                self._write("data: [DONE]\n\n")
                return True
            else:
                self.h._cut()
        return False


# --------------------------------------------------------------------- small helpers
def _no_endpoint(method: str, path: str) -> ApiError:
    return ApiError(404, "endpoint_not_exist",
                    f"There is no endpoint {method[:16]} {path[:200]}.")


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large",
                    f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
