"""Turn parsed SSE events of ``POST /responses`` into typed stream events (§3.6, §7a rules).

Pure logic, no I/O, so every consumer rule is unit-testable: text only from deltas;
annotations only from ``content_part.done`` / ``output_item.done`` / the terminal response;
the answer chosen by ``phase``; the outcome from the terminal event's ``response.status``;
every output item that is not the answer (commentary, tool calls and outputs, web searches,
unknown types) reported as ``StepStarted`` / ``StepFinished``; web-search progress events as
``WebSearchProgress``; unknown events, phases and annotation types skipped, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jockey_desktop.core.api.errors import (
    JockeyError,
    ProtocolError,
    ServerError,
    StreamCutError,
    error_from_failed_event,
)
from jockey_desktop.core.api.models import (
    PHASE_FINAL,
    TERMINAL_STATUSES,
    WEB_SEARCH_ITEM_TYPE,
    KeepAlive,
    Response,
    ResponseCreated,
    ResponseDone,
    Step,
    StepFinished,
    StepStarted,
    StreamEvent,
    TextDelta,
    WebSearchProgress,
    is_answer_item,
    normalize_phase,
)
from jockey_desktop.core.api.sse import SSEEvent

#: The sentence of a ``response.failed`` that carries no error (the API defines none).
FAILED_WITHOUT_REASON = (
    "Jockey stopped working on this answer without saying why; send the question again."
)
#: Prefix of the hosted web search's progress events (``jockey:web_search.searching``...).
_WEB_SEARCH_PREFIX = WEB_SEARCH_ITEM_TYPE + "."

_TERMINAL_TYPES = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}


class StreamDecoder:
    """Feed :class:`SSEEvent` objects; get typed events back, or a raised ``JockeyError``.

    ``session_id`` is known once ``response.created`` (or any event carrying a response)
    arrives; errors raised afterwards carry it. ``finished`` turns True on the terminal event.
    """

    def __init__(self, redact: Callable[[str], str] = lambda text: text) -> None:
        self._redact = redact
        self.session_id: str | None = None
        self.response_id: str | None = None
        self.knowledge_store_id: str | None = None
        self.finished = False
        self._phases: dict[str, str] = {}
        self._answer_deltas: list[str] = []
        self._done_items: dict[int, dict[str, Any]] = {}
        self._done_parts: dict[tuple[int, str, int], dict[str, Any]] = {}
        self._steps: dict[int, Step] = {}  # finished steps by output index

    @property
    def answer_so_far(self) -> str:
        """The final-answer text received so far (concatenated deltas)."""
        return "".join(self._answer_deltas)

    def feed(self, sse: SSEEvent) -> list[StreamEvent]:
        """Decode one SSE event. Raises a ``JockeyError`` for a failed turn or bad data."""
        if sse.is_done:
            if not self.finished:
                raise StreamCutError(
                    "The reply stream ended before the answer was complete.",
                    session_id=self.session_id,
                )
            return []
        try:
            payload = json.loads(sse.data)
        except ValueError:
            raise ProtocolError(
                "The server sent malformed data in the reply stream.", session_id=self.session_id
            ) from None
        if not isinstance(payload, dict):
            raise ProtocolError(
                "The server sent malformed data in the reply stream.", session_id=self.session_id
            )
        etype = payload.get("type")
        if not isinstance(etype, str) or not etype:
            etype = sse.event
        seq = payload.get("sequence_number")
        seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else -1

        response = payload.get("response")
        if isinstance(response, Mapping):
            self._note_ids(response)

        if etype == "keepalive":
            return [KeepAlive(etype, seq)]
        if etype == "response.created":
            return [
                ResponseCreated(
                    etype, seq, self.response_id or "", self.session_id, self.knowledge_store_id
                )
            ]
        if etype == "response.output_item.added":
            return self._item_event(payload, etype, seq, StepStarted)
        if etype == "response.output_text.delta":
            return self._delta(payload, etype, seq)
        if etype == "response.content_part.done":
            self._note_part(payload)
            return []
        if etype == "response.output_item.done":
            item = payload.get("item")
            index = payload.get("output_index")
            if isinstance(item, Mapping) and isinstance(index, int):
                self._done_items[index] = dict(item)
            return self._item_event(payload, etype, seq, StepFinished)
        if etype.startswith(_WEB_SEARCH_PREFIX):
            return [self._web_search_progress(payload, etype, seq)]
        status = self._terminal_status(etype, response)
        if status is not None:
            return [self._terminal(etype, seq, status, response)]
        return []  # unknown or purely informative event

    def finish(self) -> None:
        """The connection ended: without a terminal event, that is a failed turn."""
        if not self.finished:
            raise StreamCutError(
                "The reply stream ended before the answer was complete.",
                session_id=self.session_id,
            )

    # -- internals ---------------------------------------------------------------------

    def _note_ids(self, response: Mapping[str, Any]) -> None:
        for attr, key in (
            ("session_id", "session_id"),
            ("response_id", "id"),
            ("knowledge_store_id", "knowledge_store_id"),
        ):
            value = response.get(key)
            if isinstance(value, str) and value and getattr(self, attr) is None:
                setattr(self, attr, value)

    def _note_item(self, item: Any) -> None:
        if isinstance(item, Mapping) and item.get("type") == "message":
            item_id = item.get("id")
            if isinstance(item_id, str):
                self._phases[item_id] = normalize_phase(item.get("phase"))

    def _item_event(
        self, payload: Mapping[str, Any], etype: str, seq: int,
        event_class: type[StepStarted] | type[StepFinished],
    ) -> list[StreamEvent]:
        """A step event for an added/done output item that is not the answer."""
        item = payload.get("item")
        if not isinstance(item, Mapping):
            return []
        self._note_item(item)
        if is_answer_item(item):
            return []
        index = payload.get("output_index")
        step = Step.from_item(item, index if isinstance(index, int) else None)
        if event_class is StepFinished:
            key = step.output_index if step.output_index is not None else len(self._steps)
            self._steps[key] = step
        return [event_class(etype, seq, step)]

    @staticmethod
    def _web_search_progress(
        payload: Mapping[str, Any], etype: str, seq: int
    ) -> WebSearchProgress:
        item_id = payload.get("item_id")
        index = payload.get("output_index")
        return WebSearchProgress(
            etype, seq, item_id if isinstance(item_id, str) else None,
            index if isinstance(index, int) and not isinstance(index, bool) else None,
            etype[len(_WEB_SEARCH_PREFIX):],
        )

    def _note_part(self, payload: Mapping[str, Any]) -> None:
        part = payload.get("part")
        item_id = payload.get("item_id")
        if isinstance(part, Mapping) and isinstance(item_id, str):
            index = payload.get("output_index")
            content_index = payload.get("content_index")
            key = (
                index if isinstance(index, int) else -1,
                item_id,
                content_index if isinstance(content_index, int) else 0,
            )
            self._done_parts[key] = dict(part)

    def _delta(self, payload: Mapping[str, Any], etype: str, seq: int) -> list[StreamEvent]:
        delta = payload.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        item_id = payload.get("item_id")
        item_id = item_id if isinstance(item_id, str) else None
        # A delta for an item we never saw announced is most likely the answer (missing
        # phase means final_answer).
        phase = self._phases.get(item_id, PHASE_FINAL) if item_id else PHASE_FINAL
        if phase == PHASE_FINAL:
            self._answer_deltas.append(delta)
        index = payload.get("output_index")
        return [TextDelta(etype, seq, delta, item_id, index if isinstance(index, int) else None,
                          phase)]

    @staticmethod
    def _terminal_status(etype: str, response: Any) -> str | None:
        status = response.get("status") if isinstance(response, Mapping) else None
        if etype in _TERMINAL_TYPES:
            return status if status in TERMINAL_STATUSES else _TERMINAL_TYPES[etype]
        if etype.startswith("response.") and status in TERMINAL_STATUSES:
            return str(status)
        return None

    def _terminal(
        self, etype: str, seq: int, status: str, response: Any
    ) -> ResponseDone:
        self.finished = True
        data: dict[str, Any] = dict(response) if isinstance(response, Mapping) else {}
        if status in ("failed", "cancelled"):
            raise failure_error(data, session_id=self.session_id, redact=self._redact)
        data["status"] = status
        if not _has_answer(data.get("output")):
            data["output"] = self._rebuilt_output()
        result = Response.from_json(data)
        if not result.steps and self._steps:
            # A terminal response that leaves out the intermediate items it streamed.
            result.steps = tuple(self._steps[i] for i in sorted(self._steps))
        if result.session_id is None:
            result.session_id = self.session_id
        if result.knowledge_store_id is None:
            result.knowledge_store_id = self.knowledge_store_id
        if not result.id and self.response_id:
            result.id = self.response_id
        return ResponseDone(etype, seq, result)

    def _rebuilt_output(self) -> list[dict[str, Any]]:
        """The terminal response had no answer item: use the done events, else the deltas."""
        items = [self._done_items[i] for i in sorted(self._done_items)]
        seen = {item.get("id") for item in items}
        grouped: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = {}
        for (index, item_id, content_index), part in self._done_parts.items():
            if item_id not in seen:
                grouped.setdefault((index, item_id), []).append((content_index, part))
        for (_index, item_id), parts in sorted(grouped.items()):
            items.append(
                {
                    "type": "message",
                    "id": item_id,
                    "phase": self._phases.get(item_id, PHASE_FINAL),
                    "content": [part for _, part in sorted(parts, key=lambda p: p[0])],
                }
            )
        if _has_answer(items):
            return items
        return [
            {
                "type": "message",
                "phase": PHASE_FINAL,
                "content": [
                    {"type": "output_text", "text": self.answer_so_far, "annotations": []}
                ],
            }
        ]


def failure_error(
    response: Mapping[str, Any],
    *,
    session_id: str | None,
    redact: Callable[[str], str] = lambda text: text,
) -> JockeyError:
    """The error for a ``failed`` response object, mapped by its ``error.code``."""
    error = response.get("error")
    code = message = None
    if isinstance(error, Mapping):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
    if code is None and message is None:
        # The response object has no error field (jockey-api.md §7a): say what we know.
        return ServerError(FAILED_WITHOUT_REASON, session_id=session_id)
    return error_from_failed_event(code, redact(message or ""), session_id=session_id)


def _has_answer(output: Any) -> bool:
    if not isinstance(output, list):
        return False
    return any(
        isinstance(item, Mapping)
        and item.get("type") == "message"
        and normalize_phase(item.get("phase")) == PHASE_FINAL
        and isinstance(item.get("content"), list)
        and item["content"]
        for item in output
    )
