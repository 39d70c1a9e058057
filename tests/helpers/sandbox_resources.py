"""Helpers for testing the sandbox's resource endpoints over loopback with plain ``requests``.

Deliberately independent of ``jockey_desktop.core.api``: the client is tested against the
sandbox elsewhere; here the sandbox is checked on its own.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import requests

from jockey_desktop.sandbox import SANDBOX_API_KEY, Pace, SandboxServer


class FakeClock:
    """A settable clock for servers whose timing a test controls."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class Sleeps:
    """A client's ``sleep``, recorded instead of waited (retries never really wait)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@contextlib.contextmanager
def running(**options: Any) -> Iterator[tuple[SandboxServer, ResourceApi]]:
    """A sandbox started with ``options`` (instant pace unless given) and a client for it."""
    options.setdefault("pace", Pace.instant())
    server = SandboxServer(**options)
    server.start()
    api = ResourceApi(server)
    try:
        yield server, api
    finally:
        api.close()
        server.stop()


def box(kind: bytes, payload: bytes) -> bytes:
    """One ISO-BMFF box."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def tiny_mp4(duration: float = 12.5, width: int = 320, height: int = 180,
             padding: int = 2048) -> bytes:
    """A minimal MP4 header (``ftyp`` + ``moov/mvhd`` + ``trak/tkhd``) and some ``mdat``:
    enough for a duration and picture-size probe, not a playable video."""
    timescale = 1000
    mvhd = (b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, timescale,
                                              round(duration * timescale))
            + b"\x00" * 80)
    tkhd = (b"\x00\x00\x00\x07" + b"\x00" * 72
            + struct.pack(">II", width << 16, height << 16))
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(
        b"mdat", bytes(range(256)) * (padding // 256 + 1))


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG of the given size."""
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class ResourceApi:
    """``requests`` against one running sandbox, with the sandbox key unless told otherwise."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base = server.base_url
        self.root = self.base.rsplit("/v1.3", 1)[0]
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never a proxy

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, *,
             key: str | None = SANDBOX_API_KEY, **kw: Any) -> requests.Response:
        """One request to ``base + path`` (``body`` is sent as JSON unless None)."""
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["x-api-key"] = key
        if body is not None:
            kw["json"] = body
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200,
           **kw: Any) -> Any:
        """The JSON of a request that must answer ``status``."""
        response = self.call(method, path, body, **kw)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    def error(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, str]:
        """(status, code) of a request that must fail with a proper error body."""
        response = self.call(method, path, body, **kw)
        assert response.status_code >= 400, response.text
        data = response.json()
        assert set(data) >= {"code", "message"} and data["message"], data
        return response.status_code, data["code"]

    # ----------------------------------------------------------------- shortcuts
    def create_store(self, name: str = "Test store", **fields: Any) -> dict[str, Any]:
        """A new store (201)."""
        result: dict[str, Any] = self.ok("POST", "/knowledge-stores", {"name": name, **fields},
                                         status=201)
        return result

    def store_by_name(self, name: str) -> dict[str, Any]:
        """A store of the list by its name."""
        data = self.ok("GET", "/knowledge-stores", params={"page_limit": 50})["data"]
        found: dict[str, Any] = next(s for s in data if s["name"] == name)
        return found

    def items(self, store_id: str) -> list[dict[str, Any]]:
        """Every item of a store."""
        result: list[dict[str, Any]] = self.ok(
            "GET", f"/knowledge-stores/{store_id}/items", params={"page_limit": 50})["data"]
        return result

    def sample_asset_id(self, store_name: str = "Nature documentaries") -> str:
        """The asset id of a ready sample video."""
        items = self.items(self.store_by_name(store_name)["_id"])
        return str(next(i for i in items if i["status"] == "ready")["asset_id"])

    def upload(self, data: bytes, file_name: str = "clip.mp4",
               content_type: str = "video/mp4", *, key: str | None = SANDBOX_API_KEY,
               **form: Any) -> requests.Response:
        """``POST /assets`` with ``method=direct`` and the file as multipart form data."""
        fields = {"method": "direct", **{k: _form_value(v) for k, v in form.items()}}
        return self.call("POST", "/assets", data=fields, key=key,
                         files={"file": (file_name, data, content_type)})

    def form(self, **fields: Any) -> requests.Response:
        """``POST /assets`` with only text fields, as multipart form data."""
        return self.call("POST", "/assets",
                         files={k: (None, _form_value(v)) for k, v in fields.items()})

    def upload_ready(self, data: bytes, file_name: str = "clip.mp4", **form: Any
                     ) -> dict[str, Any]:
        """Upload and wait until processing ends; returns the AssetDetail."""
        response = self.upload(data, file_name, **form)
        assert response.status_code == 201, response.text
        return self.wait_asset(response.json()["_id"])

    def wait_asset(self, asset_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll ``GET /assets/{id}`` until it is no longer processing."""
        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = self.ok("GET", f"/assets/{asset_id}")
            if detail["status"] != "processing" or time.monotonic() > deadline:
                return detail
            time.sleep(0.02)

    def add_item(self, store_id: str, asset_id: str, **fields: Any) -> dict[str, Any]:
        """``POST …/items`` (202)."""
        result: dict[str, Any] = self.ok("POST", f"/knowledge-stores/{store_id}/items",
                                         {"asset_id": asset_id, **fields}, status=202)
        return result

    def ask(self, store_id: str, question: str, **fields: Any) -> dict[str, Any]:
        """A non-streamed ``POST /responses``; returns the response object."""
        body = {"knowledge_store_id": store_id,
                "input": [{"type": "message", "role": "user", "content": question}], **fields}
        result: dict[str, Any] = self.ok("POST", "/responses", body)
        return result


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def citations(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``video_citation`` annotations of a response's final answer."""
    message = next(o for o in response["output"]
                   if o["type"] == "message" and o.get("phase", "final_answer") == "final_answer")
    return [a for a in message["content"][0]["annotations"] if a["type"] == "video_citation"]


@contextlib.contextmanager
def file_server(files: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[str]:
    """A loopback HTTP server answering ``GET <path>`` with (status, headers, body);
    yields its root URL. Paths not in ``files`` get a 404."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = files.get(self.path.split("?")[0], (404, {}, b"missing"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def chunk_of(data: bytes, index: int, chunk_size: int) -> bytes:
    """Chunk ``index`` (from 1) of ``data``."""
    return data[(index - 1) * chunk_size:index * chunk_size]


def put_chunk(api: ResourceApi, url: str, data: bytes, upload_headers: dict[str, str],
              **kw: Any) -> requests.Response:
    """PUT one chunk to its presigned URL with only its session's ``upload_headers`` (never
    the key); ``headers`` adds or overrides some."""
    headers = {**upload_headers, **kw.pop("headers", {})}
    return api.http.put(url, data=data, headers=headers, timeout=30, **kw)


def multipart_upload(api: ResourceApi, data: bytes, filename: str = "long.mp4",
                     kind: str = "video", **fields: Any) -> dict[str, Any]:
    """The whole multipart flow (create, renew URLs, PUT every chunk, report); returns the
    last report's answer."""
    created = api.ok("POST", "/assets/multipart-uploads",
                     {"filename": filename, "type": kind, "total_size": len(data), **fields},
                     status=201)
    upload_id, size = created["upload_id"], created["chunk_size"]
    urls = {u["chunk_index"]: u["url"] for u in created["upload_urls"]}
    for start in range(len(urls) + 1, created["total_chunks"] + 1, 50):
        count = min(50, created["total_chunks"] - start + 1)
        more = api.ok("POST", f"/assets/multipart-uploads/{upload_id}/presigned-urls",
                      {"start": start, "count": count})
        urls.update({u["chunk_index"]: u["url"] for u in more["upload_urls"]})
    reported = []
    for index, url in sorted(urls.items()):
        piece = chunk_of(data, index, size)
        response = put_chunk(api, url, piece, created["upload_headers"])
        assert response.status_code == 200, response.text
        reported.append({"chunk_index": index, "proof": response.headers["ETag"],
                         "proof_type": "etag", "chunk_size": len(piece)})
    result: dict[str, Any] = api.ok("POST", f"/assets/multipart-uploads/{upload_id}",
                                    {"completed_chunks": reported})
    return {**result, "upload_id": upload_id}
