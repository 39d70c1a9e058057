"""A tiny scripted HTTP server on 127.0.0.1 for client unit tests (stdlib only).

Each test sets ``server.handle = fn``; ``fn(req)`` gets a :class:`Request` helper that records
what the client sent and offers ``json()``, ``sse()`` and raw writing. Every request is kept
in ``server.requests``. ``server.release`` is an Event that stalled handlers wait on, so the
server always shuts down promptly. :func:`make_client` builds a client for it with an injected
sleep (:class:`Sleeps`) so retries never wait.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jockey_desktop.core.api import JockeyClient


@dataclass
class Recorded:
    """What the client sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    #: The client's source port: equal ports = the same (kept-alive) connection.
    client_port: int = 0
    #: Bytes of body that actually arrived and their SHA-256 (also for bodies not kept, see
    #: ``FakeServer.keep_body_limit``).
    body_size: int = 0
    body_sha256: str = ""
    #: The request target as sent: an absolute URL when the client talks to a proxy.
    target: str = ""

    def json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, FormPart]:
        """A ``multipart/form-data`` body by field name."""
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + self.headers["content-type"].encode() + b"\r\n\r\n"
            + self.body)
        parts: dict[str, FormPart] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            parts[str(name)] = FormPart(part.get_filename(), part.get_content_type()
                                        if part.get("content-type") else None,
                                        payload if isinstance(payload, bytes) else b"")
        return parts


@dataclass(frozen=True)
class FormPart:
    """One field of a multipart form: its file name and type (file parts) and bytes."""

    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        """The field's value as text."""
        return self.data.decode("utf-8")


@dataclass
class Request:
    """Helper passed to a test's handler."""

    handler: BaseHTTPRequestHandler
    recorded: Recorded
    server: FakeServer
    index: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Send a JSON reply."""
        data = json.dumps(body).encode()
        self.raw(status, data, {"Content-Type": "application/json", **(headers or {})})

    def raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a reply with a Content-Length."""
        h = self.handler
        h.send_response(status)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def start_sse(self, headers: dict[str, str] | None = None) -> None:
        """Send SSE headers; the body is close-delimited (HTTP/1.0 style, like many proxies)."""
        h = self.handler
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.flush()

    def write(self, data: bytes | str) -> None:
        """Write raw body bytes and flush."""
        if isinstance(data, str):
            data = data.encode()
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def sse(self, events: Iterable[dict[str, Any]], done: bool = True) -> None:
        """A whole SSE reply of JSON events (``event:`` from ``type``), then ``[DONE]``."""
        self.start_sse()
        for event in events:
            self.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
        if done:
            self.write("data: [DONE]\n\n")

    def trickle(self, data: bytes, interval: float) -> None:
        """Write ``data`` one byte every ``interval`` seconds (until the test ends or the
        client hangs up); the status line and headers may be part of ``data``."""
        for i in range(len(data)):
            if self.server.release.wait(interval):
                return
            try:
                self.write(data[i : i + 1])
            except OSError:
                return

    def stall(self, timeout: float = 30.0) -> None:
        """Say nothing until the test ends (or ``timeout``)."""
        self.server.release.wait(timeout)


class FakeServer:
    """Threaded stdlib HTTP server; use as a context manager."""

    def __init__(self, url_host: str = "127.0.0.1") -> None:
        self.handle: Callable[[Request], None] = lambda req: req.json(200, {})
        self.requests: list[Recorded] = []
        #: Bodies larger than this are only measured and hashed, not kept.
        self.keep_body_limit = 16 * 1024 * 1024
        self.release = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                digest = hashlib.sha256()
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    body = self._read_chunked()
                    digest.update(body)
                    size = len(body)
                else:
                    size = self._read_body(int(self.headers.get("Content-Length") or 0),
                                           digest, kept := bytearray())
                    body = bytes(kept)
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qs(parts.query),
                                    {k.lower(): v for k, v in self.headers.items()}, body,
                                    self.client_address[1], size, digest.hexdigest(),
                                    self.path)
                with outer._lock:
                    outer.requests.append(recorded)
                    index = len(outer.requests) - 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer.handle(Request(self, recorded, outer, index))

            def _read_body(self, length: int, digest: Any, kept: bytearray) -> int:
                """Read up to ``length`` bytes (less if the client hangs up); returns how
                many arrived. Big bodies are hashed and dropped: memory stays flat."""
                keep = length <= outer.keep_body_limit
                received = 0
                while received < length:
                    piece = self.rfile.read(min(length - received, 1024 * 1024))
                    if not piece:
                        break
                    digest.update(piece)
                    if keep:
                        kept += piece
                    received += len(piece)
                return received

            def _read_chunked(self) -> bytes:
                data = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(data)
                    data += self.rfile.read(size)
                    self.rfile.readline()

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def do_PATCH(self) -> None:
                self._serve()

            def do_DELETE(self) -> None:
                self._serve()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        #: The server's origin, spelled with ``url_host`` (``localhost`` makes "another host").
        self.origin = f"http://{url_host}:{self.port}"
        self.url = f"{self.origin}/v1.3"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


KEY = "tlk_SECRET_KEY_1234567890"


class Sleeps:
    """Injected sleep: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(server: FakeServer, sleeps: Sleeps, **kw: Any) -> JockeyClient:
    """A client of ``server`` with the test key and the injected sleep."""
    return JockeyClient(KEY, server.url, sleep=sleeps, **kw)


def error_body(code: str, message: str) -> dict[str, str]:
    """An API error body (jockey-api.md §6)."""
    return {"code": code, "message": message, "docs_url": "https://docs.example/errors"}
