"""Talking to a sandbox in tests: a small requests client, an SSE splitter and raw sockets.

Deliberately independent of ``jockey_desktop.core.api`` so the sandbox is tested on its own.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from jockey_desktop.sandbox import SANDBOX_API_KEY, SandboxServer

NATURE = "Nature documentaries"
KEYNOTES = "Product keynotes"
EMPTY = "Drone survey uploads"
#: The guide's three turns (create-a-response, multi-turn sessions).
GUIDE = ["What are the main themes across these videos?",
         "Which videos best represent the first theme?",
         "Give me timestamps for the key moments in those videos"]


@dataclass
class SSE:
    """One parsed server-sent event (``event`` is None for a bare ``data:`` block)."""

    event: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(raw: str) -> tuple[list[SSE], list[str]]:
    """Split a whole SSE body into events and comment lines."""
    events: list[SSE] = []
    comments: list[str] = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append(SSE(name, "\n".join(data)))
    return events, comments


class Api:
    """requests against one sandbox with the sandbox key (override per call)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never a proxy

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def headers(self, key: str | None = SANDBOX_API_KEY) -> dict[str, str]:
        return {"x-api-key": key} if key is not None else {}

    def get(self, path: str, key: str | None = SANDBOX_API_KEY, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, headers=self.headers(key), timeout=10, **kw)

    def post(self, body: Any, key: str | None = SANDBOX_API_KEY, **kw: Any) -> requests.Response:
        return self.http.post(self.base + "/responses", json=body, headers=self.headers(key),
                              timeout=10, **kw)

    def store_id(self, name: str) -> str:
        data = self.get("/knowledge-stores", params={"page_limit": 50}).json()["data"]
        return str(next(s["_id"] for s in data if s["name"] == name))

    def ready_items(self, store_id: str) -> list[dict[str, Any]]:
        """The store's ready items (API objects), in the list's order."""
        response = self.get(f"/knowledge-stores/{store_id}/items",
                            params={"status": "ready", "page_limit": 50})
        return list(response.json()["data"])

    def ask(self, store_id: str, question: str, **fields: Any) -> requests.Response:
        body = {"knowledge_store_id": store_id,
                "input": [{"type": "message", "role": "user", "content": question}], **fields}
        return self.post(body)

    def stream(self, store_id: str, question: str, **fields: Any) -> list[SSE]:
        response = self.ask(store_id, question, stream=True, **fields)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events, _ = parse_sse(response.content.decode("utf-8"))
        return events


def body_for(store_id: str, text: str = "What are the main themes?",
             **fields: Any) -> dict[str, Any]:
    """A minimal valid request body."""
    return {"knowledge_store_id": store_id,
            "input": [{"type": "message", "role": "user", "content": text}], **fields}


def answer_part(response: dict[str, Any]) -> dict[str, Any]:
    """The final answer's output_text part of a response object."""
    message = next(o for o in response["output"]
                   if o["type"] == "message" and o.get("phase", "final_answer") == "final_answer")
    return dict(message["content"][0])


def cited_items(response: dict[str, Any]) -> list[str]:
    """Item ids of the final answer's video citations, in order of first citation."""
    return list(dict.fromkeys(a["item_id"] for a in answer_part(response)["annotations"]
                              if a["type"] == "video_citation"))


def raw_exchange(server: SandboxServer, request: bytes, timeout: float = 5,
                 end_request: bool = False) -> bytes:
    """Send raw bytes to the sandbox and read until it closes the connection.

    ``end_request`` half-closes the socket after sending, so a body shorter than its
    ``Content-Length`` ends there instead of waiting for the server's deadline.
    """
    parts = urlsplit(server.base_url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        if end_request:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def split_reply(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-cased names) and body of the first raw HTTP reply in ``reply``."""
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return status, headers, body
