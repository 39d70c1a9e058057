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
  ``payload_too_large``). An unexpected bug answers 500 ``internal_server_error`` without a
  traceback.
- ``stop()`` returns within about a second, even with streams in flight or stalled.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
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
from jockey_desktop.sandbox.engine import Answer, AnswerEngine, count_tokens, truncate_to_tokens
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
    MODEL,
    ApiError,
    ResponseRequest,
    validate_response_request,
)

log = logging.getLogger(__name__)

SANDBOX_API_KEY = "sandbox"
API_PREFIX = "/v1.3"
MAX_BODY_BYTES = 1024 * 1024
#: Bodies up to this size are read and discarded before a 413, so the client sees the reply.
_MAX_DRAIN_BYTES = 16 * 1024 * 1024
_MAX_TURNS_KEPT = 20


class _ClientGoneError(Exception):
    """The socket is closed (client left, fault cut it, or the server is stopping)."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxServer) -> None:
        self.app = app
        super().__init__(address, _Handler)

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
                 search_token_ttl: float = 600.0) -> None:
        self.host = host
        self._requested_port = port
        self._api_key = api_key
        self.pace = pace if pace is not None else Pace.realistic()
        self.limits = upload_limits or UploadLimits()
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
        self.uploads = UploadStore(state, self.assets.files_dir, self.limits, clock)
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
        """The response object (jockey-api.md §3.2, §8.5)."""
        return {
            "id": self.response_id, "type": "response", "object": "response",
            "status": status,
            "incomplete_details": ({"reason": "max_output_tokens"}
                                   if status == "incomplete" else None),
            "session_id": self.session.id, "knowledge_store_id": self.store.id,
            "model": MODEL, "output": output, "usage": usage,
            "metadata": dict(self.request.metadata), "error": error,
            "created_at": rfc3339(self.created_at),
        }

    @property
    def status(self) -> str:
        return "incomplete" if self.incomplete else "completed"


def _message_item(message_id: str, phase: str, text: str, annotations: list[dict[str, Any]],
                  status: str) -> dict[str, Any]:
    return {"type": "message", "id": message_id, "status": status, "role": "assistant",
            "phase": phase,
            "content": [{"type": "output_text", "text": text, "annotations": annotations}]}


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
    timeout = 120  # idle keep-alive connections are closed after this
    server: _HTTPServer
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
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus delayed
        # ACKs would add ~40 ms to every reply.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app._track(self.connection, True)

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

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        length_text = length_text.strip()
        if not length_text.isascii() or not length_text.isdigit():
            self.close_connection = True
            raise ApiError(400, "invalid_request", "The Content-Length header is invalid.")
        length = int(length_text)
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
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(400, "parameter_invalid",
                           "The request body is not valid JSON.") from None
        if data is None:
            raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
        try:
            # JSON may escape lone surrogates ("\ud800"), which no UTF-8 reply or file can hold.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "parameter_invalid",
                           "The request body contains invalid Unicode text.") from None
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
            session.selections.extend(request.selections)
            app.sessions.touch(session)
            turn = self._plan_turn(request, store, session)
            app.sessions.save(session)
        if request.stream:
            _StreamSender(self, turn).run()
        else:
            self._send_final_json(turn, method, rel)

    def _plan_turn(self, request: ResponseRequest, store: Store, session: Session) -> _Turn:
        app = self.app
        engine = app.engines[store.id]
        answer = engine.answer(request.content, session.turns, session.selections,
                               request.instructions)
        structured = request.text_format.get("type") == "json_schema"
        text = engine.structured(request.text_format["schema"], answer) if structured \
            else answer.text
        annotations = [] if structured else [
            a.to_api(app.thumbnail_url(a.item_id, a.start_sec), app.hls_url(a.item_id))
            for a in answer.annotations]
        incomplete = False
        if request.max_output_tokens is not None and \
                count_tokens(text) > request.max_output_tokens:
            text = truncate_to_tokens(text, request.max_output_tokens)
            annotations = [a for a in annotations if a["end_index"] < len(text)]
            incomplete = True
        items: list[dict[str, Any]] = []
        output_tokens = count_tokens(text)
        if request.include_intermediate:
            call_id = "call_" + uuid7().replace("-", "")
            arguments = json.dumps({"knowledge_store_id": store.id,
                                    "query": answer.tool_query or request.content[:200],
                                    "limit": 5}, ensure_ascii=False)
            items.append(_message_item(session.next_message_id(), "commentary",
                                       answer.commentary, [], "completed"))
            items.append({"type": "function_call", "id": new_id("fc_"), "status": "completed",
                          "name": "search_knowledge_store", "call_id": call_id,
                          "arguments": arguments})
            items.append({"type": "function_call_output", "id": new_id("fco_"),
                          "status": "completed", "call_id": call_id,
                          "output": json.dumps({"results": answer.tool_results},
                                               ensure_ascii=False)})
            output_tokens += count_tokens(answer.commentary) + count_tokens(arguments)
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
        if kind == "function_call":
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
