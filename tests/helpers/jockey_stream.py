"""Builders of Jockey response objects and ``/responses`` stream events, as the API sends them.

Used by the client's unit tests; shapes follow jockey-api.md §3 and §7a.
"""

from __future__ import annotations

import json
from typing import Any

from jockey_desktop.core.api.sse import SSEEvent
from jockey_desktop.core.api.stream import StreamDecoder

SESS = "sess_019f4f2a-b69b-7a01-9018-cc51681121ea"
STORE = "ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56"
ITEM = "ksi_069e9870-3c4d-7abc-9012-3456789abcde"
MSG = f"msg_{SESS}_0"
ANSWER = "The keeper is restrained by a teammate [1]."
ANNOTATION = {"type": "video_citation", "start_index": 39, "end_index": 41, "item_id": ITEM,
              "start_sec": 0.0, "end_sec": 9.0, "title": "Match", "thumbnail_url": None,
              "hls_url": None}


def base_response(status: str = "in_progress", output: list[Any] | None = None) -> dict[str, Any]:
    """A response object with the ids above."""
    return {"id": "resp_1", "object": "response", "type": "response", "status": status,
            "session_id": SESS, "knowledge_store_id": STORE, "output": output or [],
            "incomplete_details": None, "usage": {"input_tokens": 3, "output_tokens": 9},
            "created_at": "2026-07-11T03:13:57Z"}


def message(text: str, phase: str | None = "final_answer", annotations: list[Any] | None = None,
            item_id: str = MSG) -> dict[str, Any]:
    """An assistant ``message`` output item with one ``output_text`` part."""
    item: dict[str, Any] = {"type": "message", "id": item_id, "status": "completed",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": text,
                                         "annotations": annotations or []}]}
    if phase is not None:
        item["phase"] = phase
    return item


def message_events(deltas: list[str], *, index: int = 0, phase: str | None = "final_answer",
                   item_id: str = MSG,
                   annotations: list[Any] | None = None) -> list[dict[str, Any]]:
    """The events of one message item: added, part added, deltas, text/part/item done."""
    text = "".join(deltas)
    done_item = message(text, phase, annotations, item_id)
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index,
         "item": message("", phase, item_id=item_id) | {"status": "in_progress"}},
        {"type": "response.content_part.added", "item_id": item_id, "output_index": index,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    events += [{"type": "response.output_text.delta", "item_id": item_id, "output_index": index,
                "content_index": 0, "delta": d} for d in deltas]
    events += [
        {"type": "response.output_text.done", "item_id": item_id, "output_index": index,
         "content_index": 0, "text": text},
        {"type": "response.content_part.done", "item_id": item_id, "output_index": index,
         "content_index": 0, "part": done_item["content"][0]},
        {"type": "response.output_item.done", "output_index": index, "item": done_item},
    ]
    return events


def numbered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every event its ``sequence_number`` in order (returns the same list)."""
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


def standard_events(deltas: list[str], *, phase: str | None = "final_answer",
                    final_output: list[Any] | None = None,
                    status: str = "completed") -> list[dict[str, Any]]:
    """The default stream of one answer (jockey-api.md §3.6), ``[DONE]`` not included."""
    text = "".join(deltas)
    annotations = [ANNOTATION] if text == ANSWER else []
    done_item = message(text, phase, annotations)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": base_response()},
        {"type": "response.in_progress", "response": base_response()},
        *message_events(deltas, phase=phase, annotations=annotations),
        {"type": f"response.{status}",
         "response": base_response(status, [done_item] if final_output is None
                                   else final_output)},
    ]
    return numbered(events)


def decode(events: list[dict[str, Any]], done: bool = True) -> list[Any]:
    """Feed JSON events through a ``StreamDecoder``; returns the typed events."""
    decoder = StreamDecoder()
    out: list[Any] = []
    for event in events:
        out += decoder.feed(SSEEvent(event["type"], json.dumps(event)))
    if done:
        out += decoder.feed(SSEEvent("message", "[DONE]"))
    decoder.finish()
    return out
