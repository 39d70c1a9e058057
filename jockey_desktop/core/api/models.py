"""Typed records of the Jockey API: responses, usage, stores, items and stream events.

Everything is built leniently from JSON: unknown keys are ignored, missing optional keys
become None, and the raw JSON is kept (``raw``) so nothing the server sent is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jockey_desktop.core.api.citations import (
    Citation,
    WebSource,
    citations_for_part,
    web_sources_for_part,
)
from jockey_desktop.core.api.jsonfields import opt_int, opt_str
from jockey_desktop.core.api.metadata import MetadataValue, metadata_from_json

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
        return cls(opt_int(data.get("input_tokens")), opt_int(data.get("output_tokens")))


#: ``Selection.kind`` values and the id prefix each requires (jockey-api.md §7a).
SELECTION_PREFIXES = {"item": "ksi_", "collection": "ksic_"}


@dataclass(frozen=True)
class Selection:
    """One entry of a request's ``selections``: an item or a collection the question is
    about, referred to in the text as ``{{sel:N}}`` (N its position, from zero)."""

    kind: Literal["item", "collection"]
    id: str

    def problem(self) -> str | None:
        """Why the API would refuse this selection (a sentence), or None when it is fine."""
        prefix = SELECTION_PREFIXES.get(self.kind)
        if prefix is None:
            return f"A selection must be an item or a collection, not {self.kind!r}."
        if not isinstance(self.id, str) or not self.id.startswith(prefix):
            noun = "An item" if self.kind == "item" else "A collection"
            return f"{noun} selection needs an id starting with {prefix}, not {self.id!r}."
        return None

    def to_json(self) -> dict[str, str]:
        """The request form: ``{"kind": …, "id": …}``."""
        return {"kind": self.kind, "id": self.id}


#: ``Step.kind`` values.
STEP_COMMENTARY = "commentary"
STEP_FUNCTION_CALL = "function_call"
STEP_FUNCTION_CALL_OUTPUT = "function_call_output"
STEP_WEB_SEARCH = "web_search"
STEP_OTHER = "other"
#: The output item type of a hosted web search (jockey-api.md §7a).
WEB_SEARCH_ITEM_TYPE = "jockey:web_search"
_STEP_KINDS = {
    "message": STEP_COMMENTARY,
    "function_call": STEP_FUNCTION_CALL,
    "function_call_output": STEP_FUNCTION_CALL_OUTPUT,
    WEB_SEARCH_ITEM_TYPE: STEP_WEB_SEARCH,
}
_STEP_KEYS = ("kind", "item_type", "item_id", "output_index", "status", "text", "name",
              "call_id", "arguments", "output", "queries")


@dataclass(frozen=True)
class Step:
    """One step the agent took on the way to an answer (an intermediate output item).

    ``kind`` is ``"commentary"`` (a narration message, ``text``), ``"function_call"``
    (``name``, ``call_id``, ``arguments`` as the raw JSON string), ``"function_call_output"``
    (``output``), ``"web_search"`` (``queries``) or ``"other"`` for an item type the client
    does not know (``item_type`` keeps the raw type). Unknown fields are simply None.
    """

    kind: str
    item_id: str | None = None
    output_index: int | None = None
    status: str | None = None
    text: str | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    queries: tuple[str, ...] = ()
    item_type: str = ""

    @classmethod
    def from_item(cls, item: Mapping[str, Any], output_index: int | None = None) -> Step:
        """Build from an output item (any type but a final-answer message)."""
        item_type = item.get("type")
        item_type = item_type if isinstance(item_type, str) else ""
        kind = _STEP_KINDS.get(item_type, STEP_OTHER)
        text = None
        if kind == STEP_COMMENTARY:
            text = "".join(part["text"] for part in _output_text_parts(item))
        action = item.get("action")
        queries = action.get("queries") if isinstance(action, Mapping) else None
        return cls(
            kind=kind,
            item_id=opt_str(item.get("id")),
            output_index=output_index,
            status=opt_str(item.get("status")),
            text=text,
            name=opt_str(item.get("name")),
            call_id=opt_str(item.get("call_id")),
            arguments=_json_text(item.get("arguments")),
            output=_json_text(item.get("output")),
            queries=tuple(q for q in queries if isinstance(q, str))
            if isinstance(queries, list) else (),
            item_type=item_type,
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-safe dict (what storage persists, opaquely)."""
        data = {key: getattr(self, key) for key in _STEP_KEYS}
        data["queries"] = list(self.queries)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Inverse of :meth:`to_dict`; lenient: wrong types become None, unknown keys go."""
        queries = data.get("queries")
        index = data.get("output_index")
        kind = data.get("kind")
        return cls(
            kind=kind if isinstance(kind, str) and kind else STEP_OTHER,
            item_id=opt_str(data.get("item_id")),
            output_index=index if isinstance(index, int) and not isinstance(index, bool)
            else None,
            status=opt_str(data.get("status")),
            text=data.get("text") if isinstance(data.get("text"), str) else None,
            name=opt_str(data.get("name")),
            call_id=opt_str(data.get("call_id")),
            arguments=data.get("arguments") if isinstance(data.get("arguments"), str) else None,
            output=data.get("output") if isinstance(data.get("output"), str) else None,
            queries=tuple(q for q in queries if isinstance(q, str))
            if isinstance(queries, list) else (),
            item_type=str(data.get("item_type") or ""),
        )


@dataclass
class Response:
    """One Jockey response: the final answer text with its citations and metadata.

    ``text`` is the concatenated ``output_text`` of every ``final_answer`` message (for
    structured output it is the JSON string; see :meth:`parsed_json`); ``citations`` point
    into it, and ``web_sources`` are the web pages it cites (http/https only). ``steps`` are
    the intermediate outputs (commentary, tool calls and their outputs, web searches, unknown
    items) in output order, present when the request asked for them.
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
    steps: tuple[Step, ...] = ()
    web_sources: tuple[WebSource, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_truncated(self) -> bool:
        """True when the server stopped early (``incomplete``): the text is a prefix."""
        return self.status == "incomplete"

    @property
    def commentary(self) -> tuple[str, ...]:
        """The texts of the narration steps, in order."""
        return tuple(s.text or "" for s in self.steps if s.kind == STEP_COMMENTARY)

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
        web_sources: list[WebSource] = []
        steps: list[Step] = []
        offset = 0
        output = data.get("output")
        for index, item in enumerate(output if isinstance(output, list) else []):
            if not isinstance(item, Mapping):
                continue
            if not is_answer_item(item):
                steps.append(Step.from_item(item, index))
                continue
            for part in _output_text_parts(item):
                part_text = part["text"]
                citations.extend(citations_for_part(part, offset))
                web_sources.extend(web_sources_for_part(part, offset))
                offset += len(part_text)
                text_parts.append(part_text)
        details = data.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return cls(
            id=str(data.get("id") or ""),
            session_id=opt_str(data.get("session_id")),
            knowledge_store_id=opt_str(data.get("knowledge_store_id")),
            status=str(data.get("status") or "completed"),
            text="".join(text_parts),
            citations=citations,
            usage=Usage.from_json(data.get("usage")),
            created_at=opt_str(data.get("created_at")),
            incomplete_reason=reason if isinstance(reason, str) else None,
            steps=tuple(steps),
            web_sources=tuple(web_sources),
            raw=dict(data),
        )


def is_answer_item(item: Mapping[str, Any]) -> bool:
    """True for a ``message`` whose phase makes it (part of) the final answer."""
    return item.get("type") == "message" and normalize_phase(item.get("phase")) == PHASE_FINAL


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
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
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
            description=opt_str(data.get("description")),
            item_count=opt_int(data.get("item_count")),
            metadata=metadata_from_json(metadata),
            ingestion_config=dict(config) if isinstance(config, Mapping) else None,
            created_at=opt_str(data.get("created_at")),
            updated_at=opt_str(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class KnowledgeStoreItem:
    """One item (video or image) of a knowledge store."""

    id: str
    asset_id: str | None = None
    asset_type: str | None = None
    status: str = "ready"
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
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
        return opt_str(self.system_metadata.get("filename"))

    @property
    def is_ready(self) -> bool:
        """True when the item can be queried."""
        return self.status == "ready"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnowledgeStoreItem:
        """Build from the API object; ``system_metadata`` may be absent (older servers)."""
        metadata = data.get("metadata")
        system = data.get("system_metadata")
        asset_type = opt_str(data.get("asset_type"))
        if asset_type is None and isinstance(system, Mapping):
            asset_type = opt_str(system.get("asset_type"))
        return cls(
            id=str(data.get("_id") or data.get("id") or ""),
            asset_id=opt_str(data.get("asset_id")),
            asset_type=asset_type,
            status=str(data.get("status") or "ready"),
            metadata=metadata_from_json(metadata),
            system_metadata=dict(system) if isinstance(system, Mapping) else {},
            created_at=opt_str(data.get("created_at")),
            updated_at=opt_str(data.get("updated_at")),
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


@dataclass(frozen=True)
class StepStarted(StreamEvent):
    """An intermediate step began (its output item was added): a narration message, a tool
    call or its output, a web search, or an item type the client does not know."""

    step: Step


@dataclass(frozen=True)
class StepFinished(StreamEvent):
    """An intermediate step is complete (its output item is done), with all its fields."""

    step: Step


#: ``WebSearchProgress.state`` values, from the ``jockey:web_search.*`` event names.
WEB_SEARCH_STATES = ("in_progress", "searching", "completed")


@dataclass(frozen=True)
class WebSearchProgress(StreamEvent):
    """A hosted web search moved on: ``state`` is ``in_progress``, ``searching`` or
    ``completed`` (another suffix is passed on as it came)."""

    item_id: str | None
    output_index: int | None
    state: str


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


def _json_text(value: Any) -> str | None:
    """A string field that should hold JSON text: kept as sent, or encoded if the server
    sent the structure itself."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
