"""Non-streamed POST /responses: the response object, usage, truncation, intermediate steps."""

from __future__ import annotations

import json
import re

from jockey_desktop.sandbox.ids import is_uuid7
from tests.helpers.sandbox_http import GUIDE, Api, answer_part

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_response_object_shape(api: Api, nature_id: str) -> None:
    response = api.ask(nature_id, "How do lionesses hunt?")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == body["object"] == "response"
    assert body["status"] == "completed" and body["incomplete_details"] is None
    # Neither a removed field nor an error on success (jockey-api.md §7a).
    assert "model" not in body and "error" not in body
    assert body["id"].startswith("resp_") and is_uuid7(body["id"][5:])
    assert body["session_id"].startswith("sess_") and is_uuid7(body["session_id"][5:])
    assert body["knowledge_store_id"] == nature_id
    assert RFC3339.match(body["created_at"])
    assert set(body["usage"]) == {"input_tokens", "output_tokens"}
    assert all(isinstance(v, int) and v > 0 for v in body["usage"].values())
    assert len(body["output"]) == 1
    message = body["output"][0]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["phase"] == "final_answer" and message["status"] == "completed"
    assert message["id"] == f"msg_{body['session_id']}_0"
    part = message["content"][0]
    assert part["type"] == "output_text" and "lioness" in part["text"].lower()
    assert part["annotations"]


def test_usage_grows_with_text(api: Api, nature_id: str) -> None:
    short = api.ask(nature_id, "cheetah").json()
    long = api.ask(nature_id, "What are the main themes across these videos?").json()
    assert len(answer_part(long)["text"]) > len(answer_part(short)["text"])
    assert long["usage"]["output_tokens"] > short["usage"]["output_tokens"]
    # Input tokens include the session history on a follow-up.
    follow = api.ask(nature_id, "cheetah", session_id=long["session_id"]).json()
    assert follow["usage"]["input_tokens"] > short["usage"]["input_tokens"]


def test_max_output_tokens_gives_incomplete_prefix(api: Api, nature_id: str) -> None:
    full = answer_part(api.ask(nature_id, "What are the main themes?").json())
    body = api.ask(nature_id, "What are the main themes?", max_output_tokens=20).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    part = answer_part(body)
    assert full["text"].startswith(part["text"]) and len(part["text"]) < len(full["text"])
    assert body["usage"]["output_tokens"] <= 20
    assert all(a["end_index"] < len(part["text"]) for a in part["annotations"])
    assert body["output"][-1]["status"] == "incomplete"


def test_intermediate_outputs(api: Api, nature_id: str) -> None:
    body = api.ask(nature_id, "octopus at night", include=["intermediate_outputs"]).json()
    kinds = [(o["type"], o.get("phase")) for o in body["output"]]
    assert kinds == [("message", "commentary"), ("function_call", None),
                     ("function_call_output", None), ("message", "final_answer")]
    call, result = body["output"][1], body["output"][2]
    assert call["call_id"] == result["call_id"] and call["name"]
    arguments = json.loads(call["arguments"])
    assert arguments["knowledge_store_id"] == nature_id
    assert arguments["query"] == "octopus at night"
    # The tool's output is what the answer then cites.
    results = json.loads(result["output"])["results"]
    cited = {(a["item_id"], a["start_sec"]) for a in answer_part(body)["annotations"]}
    assert results and {(r["item_id"], r["start_sec"]) for r in results} == cited
    assert all(o["status"] == "completed" and o["id"] for o in body["output"])
    session = body["session_id"]
    assert [body["output"][0]["id"], body["output"][3]["id"]] == [f"msg_{session}_0",
                                                                   f"msg_{session}_1"]


def test_follow_up_steps_name_the_search_they_make(api: Api, nature_id: str) -> None:
    steps = {"include": ["intermediate_outputs"]}
    themes = api.ask(nature_id, GUIDE[0], **steps).json()
    session = themes["session_id"]
    first = api.ask(nature_id, GUIDE[1], session_id=session, **steps).json()
    theme = re.search(r"1\. \*\*(.+?)\*\*", answer_part(themes)["text"]).group(1)
    call = next(o for o in first["output"] if o["type"] == "function_call")
    assert json.loads(call["arguments"])["query"] == theme
    commentary = first["output"][0]
    assert commentary["phase"] == "commentary" and theme in commentary["content"][0]["text"]
    moments = api.ask(nature_id, GUIDE[2], session_id=session, **steps).json()
    call = next(o for o in moments["output"] if o["type"] == "function_call")
    videos = list(dict.fromkeys(a["item_id"] for a in answer_part(first)["annotations"]))
    assert sorted(json.loads(call["arguments"])["item_ids"]) == sorted(videos)


def test_structured_output_is_a_json_string(api: Api, nature_id: str) -> None:
    schema = {"type": "object", "additionalProperties": False,
              "required": ["summary", "clips"],
              "properties": {"summary": {"type": "string"},
                             "clips": {"type": "array", "items": {
                                 "type": "object",
                                 "properties": {"video_title": {"type": "string"},
                                                "start_sec": {"type": "number"},
                                                "end_sec": {"type": "number"}}}}}}
    fmt = {"type": "json_schema", "name": "clips", "schema": schema, "strict": True}
    body = api.ask(nature_id, "cheetah sprint", text={"format": fmt}).json()
    part = answer_part(body)
    value = json.loads(part["text"])
    assert isinstance(value["summary"], str) and value["summary"]
    assert value["clips"] and all(c["end_sec"] > c["start_sec"] for c in value["clips"])
    assert part["annotations"] == []


def test_no_match_is_polite_and_uncited(api: Api, nature_id: str) -> None:
    body = api.ask(nature_id, "quarterly revenue of the semiconductor division").json()
    part = answer_part(body)
    assert body["status"] == "completed"
    assert "couldn't find anything" in part["text"] and part["annotations"] == []


def test_thumbnail_url_is_served(api: Api, nature_id: str) -> None:
    part = answer_part(api.ask(nature_id, "cheetah").json())
    annotation = part["annotations"][0]
    # Media live outside the API prefix, like the platform's media host (see test_media.py).
    media_root = api.base.rsplit("/v1.3", 1)[0] + "/media/"
    assert annotation["hls_url"].startswith(media_root)
    assert annotation["thumbnail_url"].startswith(media_root)
    image = api.http.get(annotation["thumbnail_url"], timeout=10)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG\r\n\x1a\n")
