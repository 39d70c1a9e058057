"""Typed records of the Jockey API: responses, usage, stores, items and stream events.

Everything is built leniently from JSON: unknown keys are ignored, missing optional keys
become None, and the raw JSON is kept (``raw``) so nothing the server sent is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.api.citations import Citation, citations_for_part

PHASE_FINAL = "final_answer"
PHASE_COMMENTARY = "commentary"

#: ``response.status`` values after which no more events come.
TERMINAL_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled"})


def normalize_phase(phase: Any) -> str:
    """Missing phase = the answer; any unknown phase = narration (jockey-api.md §3.2)."""
    if phase is None:
        return PHASE_FINAL
    if phase == PHASE_FINAL:
        return PHASE_FINAL
    return PHASE_COMMENTARY


@dataclass(frozen=True)
class Usage:
    """Token counts of one response (the API has no total)."""

    input_tokens: int | None = None
    output_tokens: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> Usage:
        """Lenient: anything that is not an int count becomes None."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(_opt_int(data.get("input_tokens")), _opt_int(data.get("output_tokens")))


@dataclass
class Response:
    """One Jockey response: the final answer text with its citations and metadata.

    ``text`` is the concatenated ``output_text`` of every ``final_answer`` message (for
    structured output it is the JSON string; see :meth:`parsed_json`). ``commentary`` holds
    the narration messages, ``steps`` the other output items (function calls...) as raw JSON.
    """

    id: str
    session_id: str | None
    knowledge_store_id: str | None
    status: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    created_at: str | None = None
    incomplete_reason: str | None = None
    commentary: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_truncated(self) -> bool:
        """True when the server stopped early (``incomplete``): the text is a prefix."""
        return self.status == "incomplete"

    def parsed_json(self) -> Any | None:
        """The text parsed as JSON (structured output), or None when it does not parse."""
        try:
            return json.loads(self.text)
        except (ValueError, TypeError):
            return None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Response:
        """Build from a response object; the answer is chosen by ``phase``, not position."""
        text_parts: list[str] = []
        citations: list[Citation] = []
        commentary: list[str] = []
        steps: list[dict[str, Any]] = []
        offset = 0
        output = data.get("output")
        for item in output if isinstance(output, list) else []:
            if not isinstance(item, Mapping):
                continue
            if item.get("type") != "message":
                steps.append(dict(item))  # function calls, outputs, unknown types
                continue
            item_text = ""
            phase = normalize_phase(item.get("phase"))
            for part in _output_text_parts(item):
                part_text = part["text"]
                if phase == PHASE_FINAL:
                    citations.extend(citations_for_part(part, offset))
                    offset += len(part_text)
                    text_parts.append(part_text)
                else:
                    item_text += part_text
            if phase != PHASE_FINAL:
                commentary.append(item_text)
        details = data.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return cls(
            id=str(data.get("id") or ""),
            session_id=_opt_str(data.get("session_id")),
            knowledge_store_id=_opt_str(data.get("knowledge_store_id")),
            status=str(data.get("status") or "completed"),
            text="".join(text_parts),
            citations=citations,
            usage=Usage.from_json(data.get("usage")),
            created_at=_opt_str(data.get("created_at")),
            incomplete_reason=reason if isinstance(reason, str) else None,
            commentary=commentary,
            steps=steps,
            raw=dict(data),
        )


def _output_text_parts(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = item.get("content")
    parts = []
    for part in content if isinstance(content, list) else []:
        if (
            isinstance(part, Mapping)
            and part.get("type", "output_text") == "output_text"
            and isinstance(part.get("text"), str)
        ):
            parts.append(dict(part))
    return parts


@dataclass(frozen=True)
class KnowledgeStore:
    """A knowledge store (read-only view)."""

    id: str
    name: str
    description: str | None = None
    item_count: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ingestion_config: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnowledgeStore:
        """Build from the API object (``_id``; ``id`` is accepted too)."""
        metadata = data.get("metadata")
        config = data.get("ingestion_config")
        return cls(
            id=str(data.get("_id") or data.get("id") or ""),
            name=str(data.get("name") or ""),
            description=_opt_str(data.get("description")),
            item_count=_opt_int(data.get("item_count")),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            ingestion_config=dict(config) if isinstance(config, Mapping) else None,
            created_at=_opt_str(data.get("created_at")),
            updated_at=_opt_str(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class KnowledgeStoreItem:
    """One item (video or image) of a knowledge store."""

    id: str
    asset_id: str | None = None
    asset_type: str | None = None
    status: str = "ready"
    metadata: dict[str, Any] = field(default_factory=dict)
    system_metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration(self) -> float | None:
        """Video length in seconds, when the server says."""
        value = self.system_metadata.get("duration")
        return float(value) if isinstance(value, (int, float)) and value is not True else None

    @property
    def filename(self) -> str | None:
        """The uploaded file's name, when the server says."""
        return _opt_str(self.system_metadata.get("filename"))

    @property
    def is_ready(self) -> bool:
        """True when the item can be queried."""
        return self.status == "ready"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnowledgeStoreItem:
        """Build from the API object; ``system_metadata`` may be absent (older servers)."""
        metadata = data.get("metadata")
        system = data.get("system_metadata")
        asset_type = _opt_str(data.get("asset_type"))
        if asset_type is None and isinstance(system, Mapping):
            asset_type = _opt_str(system.get("asset_type"))
        return cls(
            id=str(data.get("_id") or data.get("id") or ""),
            asset_id=_opt_str(data.get("asset_id")),
            asset_type=asset_type,
            status=str(data.get("status") or "ready"),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            system_metadata=dict(system) if isinstance(system, Mapping) else {},
            created_at=_opt_str(data.get("created_at")),
            updated_at=_opt_str(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class StreamEvent:
    """Base of the typed events yielded by ``JockeyClient.stream_response``."""

    type: str
    sequence_number: int


@dataclass(frozen=True)
class ResponseCreated(StreamEvent):
    """Always first: the session id is known from here on (save it at once)."""

    response_id: str
    session_id: str | None
    knowledge_store_id: str | None


@dataclass(frozen=True)
class TextDelta(StreamEvent):
    """A piece of text; ``phase`` is ``"final_answer"`` or ``"commentary"``."""

    delta: str
    item_id: str | None
    output_index: int | None
    phase: str

    @property
    def is_answer(self) -> bool:
        """True when this text belongs to the final answer."""
        return self.phase == PHASE_FINAL


@dataclass(frozen=True)
class KeepAlive(StreamEvent):
    """The server is still working (heartbeat); nothing to show but a live indicator."""


@dataclass(frozen=True)
class ResponseDone(StreamEvent):
    """Always last on success: status ``completed`` or ``incomplete`` with the full Response."""

    response: Response


#: ``RetryWait.reason`` values: why the client waits before sending the question again.
WAIT_RATE_LIMITED = "rate_limited"
WAIT_UNAVAILABLE = "unavailable"
WAIT_CONNECTION = "connection"


@dataclass(frozen=True)
class RetryWait(StreamEvent):
    """The client waits ``seconds`` before an allowed resend of the question (may come before
    ``ResponseCreated``): 429/503 with a Retry-After, or a connection that was never made.

    ``reason`` is one of ``WAIT_RATE_LIMITED``, ``WAIT_UNAVAILABLE``, ``WAIT_CONNECTION``.
    The wait itself ends at once when the request's ``CancelToken`` is cancelled.
    """

    seconds: float
    reason: str


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
