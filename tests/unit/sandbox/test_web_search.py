"""Hosted web search: ``tools: [{"type": "jockey:web_search"}]`` — items, events, citations."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.helpers.sandbox_http import Api, answer_part

WEB = {"tools": [{"type": "jockey:web_search"}]}
STEPS = {"include": ["intermediate_outputs"]}


def _web_citations(part: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in part["annotations"] if a["type"] == "url_citation"]


def test_web_sources_are_cited_on_their_markers(api: Api, nature_id: str) -> None:
    body = api.ask(nature_id, "How do wolves hunt caribou?", **WEB).json()
    part = answer_part(body)
    web = _web_citations(part)
    assert len(web) == 2
    for citation in web:
        assert re.fullmatch(r"https://example\.(org|com)/[a-z]+/[a-z0-9-]+", citation["url"])
        assert citation["title"]
        marker = part["text"][citation["start_index"]:citation["end_index"] + 1]
        assert re.fullmatch(r"\[\d+\]", marker)
    # Video citations stay, numbered before the web ones; all sorted by position.
    videos = [a for a in part["annotations"] if a["type"] == "video_citation"]
    assert videos and max(a["end_index"] for a in videos) < web[0]["start_index"]
    starts = [a["start_index"] for a in part["annotations"]]
    assert starts == sorted(starts)
    # Without intermediate outputs the answer carries no web-search item.
    assert [o["type"] for o in body["output"]] == ["message"]


def test_without_the_tool_there_are_no_web_sources(api: Api, nature_id: str) -> None:
    part = answer_part(api.ask(nature_id, "How do wolves hunt caribou?").json())
    assert not _web_citations(part) and "example.org" not in json.dumps(part)


def test_the_web_search_item_follows_the_store_search(api: Api, nature_id: str) -> None:
    body = api.ask(nature_id, "How do wolves hunt caribou?", **WEB, **STEPS).json()
    kinds = [(o["type"], o.get("phase")) for o in body["output"]]
    assert kinds == [("message", "commentary"), ("function_call", None),
                     ("function_call_output", None), ("message", "commentary"),
                     ("jockey:web_search", None), ("message", "final_answer")]
    search = body["output"][4]
    assert search["id"].startswith("ws_") and search["status"] == "completed"
    assert search["action"]["type"] == "search"
    queries = search["action"]["queries"]
    assert queries and all(isinstance(q, str) and q for q in queries)
    assert "wolves" in queries[0] and "caribou" in queries[0]


def test_web_search_events_in_a_stream(api: Api, nature_id: str) -> None:
    events = api.stream(nature_id, "How do wolves hunt caribou?", **WEB, **STEPS)
    payloads = [e.json for e in events[:-1]]
    added = next(p for p in payloads if p["type"] == "response.output_item.added"
                 and p["item"]["type"] == "jockey:web_search")
    item_id, index = added["item"]["id"], added["output_index"]
    assert added["item"]["status"] == "in_progress" and index == 4
    mine = [p for p in payloads if p.get("item_id") == item_id
            or p.get("item", {}).get("id") == item_id]
    assert [p["type"] for p in mine] == [
        "response.output_item.added", "jockey:web_search.in_progress",
        "jockey:web_search.searching", "jockey:web_search.completed",
        "response.output_item.done"]
    for progress in mine[1:4]:
        assert set(progress) == {"type", "sequence_number", "item_id", "output_index"}
        assert progress["output_index"] == index
    numbers = [p["sequence_number"] for p in payloads]
    assert numbers == sorted(set(numbers))
    final = payloads[-1]["response"]
    assert final["output"][index]["type"] == "jockey:web_search"
    assert _web_citations(answer_part(final))
    # The same events without intermediate outputs: no web-search events, only citations.
    plain = [e.json for e in api.stream(nature_id, "How do wolves hunt caribou?", **WEB)[:-1]]
    assert not [p for p in plain if p["type"].startswith("jockey:web_search")]
    assert _web_citations(answer_part(plain[-1]["response"]))


def test_structured_output_has_no_web_markers(api: Api, nature_id: str) -> None:
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    body = api.ask(nature_id, "wolves", **WEB,
                   text={"format": {"type": "json_schema", "name": "s", "schema": schema}})
    part = answer_part(body.json())
    assert json.loads(part["text"]) and part["annotations"] == []


def test_the_web_is_searched_for_the_subject_not_the_selection(api: Api, nature_id: str) -> None:
    fox = next(i["_id"] for i in api.ready_items(nature_id)
               if i["metadata"]["title"] == "Ice and the Arctic Fox")
    body = api.ask(nature_id, "How do predators hunt in {{sel:0}}?", **WEB, **STEPS,
                   selections=[{"kind": "item", "id": fox}]).json()
    search = next(o for o in body["output"] if o["type"] == "jockey:web_search")
    assert search["action"]["queries"][0] == "predators hunt"
