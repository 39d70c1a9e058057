"""Helpers for the sandbox tests: a tiny raw HTTP client (requests) and an SSE splitter.

Deliberately independent of ``jockey_desktop.core.api`` so the sandbox is tested on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from jockey_desktop.sandbox import SANDBOX_API_KEY
from tests.helpers.sandbox_resources import ResourceApi

NATURE = "Nature documentaries"
KEYNOTES = "Product keynotes"
EMPTY = "Drone survey uploads"


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
        return next(s["_id"] for s in data if s["name"] == name)

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


def body_for(store_id: str, text: str = "What are the main themes?", **fields: Any) -> dict:
    """A minimal valid request body."""
    return {"knowledge_store_id": store_id,
            "input": [{"type": "message", "role": "user", "content": text}], **fields}


def answer_part(response: dict[str, Any]) -> dict[str, Any]:
    """The final answer's output_text part of a response object."""
    message = next(o for o in response["output"]
                   if o["type"] == "message" and o.get("phase", "final_answer") == "final_answer")
    return message["content"][0]


@pytest.fixture
def api(sandbox: Any) -> Iterator[Api]:
    client = Api(sandbox.base_url)
    yield client
    client.http.close()


@pytest.fixture
def nature_id(api: Api) -> str:
    return api.store_id(NATURE)


@pytest.fixture
def keynotes_id(api: Api) -> str:
    return api.store_id(KEYNOTES)


@pytest.fixture
def empty_id(api: Api) -> str:
    return api.store_id(EMPTY)


@pytest.fixture
def res(sandbox: Any) -> Iterator[ResourceApi]:
    """The resource endpoints of the ``sandbox`` fixture's server, over ``requests``."""
    client = ResourceApi(sandbox)
    yield client
    client.close()
