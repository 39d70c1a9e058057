"""POST /responses validation: exact status and code for every rule of §3.1 and §8."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.sandbox_http import Api, body_for

MSG = [{"type": "message", "role": "user", "content": "hello"}]


def _with(store: str, **changes: Any) -> dict[str, Any]:
    body = body_for(store, "hello")
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_DROP = object()

CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown field", {"temperature": 0.2}, 400, "parameter_unknown"),
    ("no input", {"input": _DROP}, 400, "parameter_not_provided"),
    ("null input", {"input": None}, 400, "parameter_not_provided"),
    ("no store", {"knowledge_store_id": _DROP}, 400, "parameter_not_provided"),
    ("store not a string", {"knowledge_store_id": 5}, 400, "parameter_invalid"),
    ("store wrong prefix", {"knowledge_store_id": "idx_123"}, 400, "parameter_invalid"),
    ("input not a list", {"input": "hello"}, 400, "parameter_invalid"),
    ("input empty", {"input": []}, 400, "parameter_invalid"),
    ("two inputs", {"input": MSG * 2}, 400, "parameter_invalid"),
    ("assistant role", {"input": [{**MSG[0], "role": "assistant"}]}, 400, "parameter_invalid"),
    ("wrong type", {"input": [{**MSG[0], "type": "text"}]}, 400, "parameter_invalid"),
    ("extra key", {"input": [{**MSG[0], "name": "x"}]}, 400, "parameter_invalid"),
    ("empty content", {"input": [{**MSG[0], "content": ""}]}, 400, "parameter_invalid"),
    ("content too long", {"input": [{**MSG[0], "content": "x" * 10_001}]}, 400,
     "parameter_invalid"),
    ("content list", {"input": [{**MSG[0], "content": ["hi"]}]}, 400, "parameter_invalid"),
    ("instructions too long", {"instructions": "x" * 2001}, 400, "parameter_invalid"),
    ("instructions number", {"instructions": 3}, 400, "parameter_invalid"),
    ("bad model", {"model": "gpt-4"}, 400, "parameter_invalid"),
    ("bad include", {"include": ["reasoning"]}, 400, "parameter_invalid"),
    ("include string", {"include": "intermediate_outputs"}, 400, "parameter_invalid"),
    ("stream string", {"stream": "true"}, 400, "parameter_invalid"),
    ("session wrong prefix", {"session_id": "abc"}, 400, "parameter_invalid"),
    ("selection bad kind", {"selections": [{"kind": "video", "id": "ksi_x"}]}, 400,
     "parameter_invalid"),
    ("selection no id", {"selections": [{"kind": "item"}]}, 400, "parameter_invalid"),
    ("selections object", {"selections": {"kind": "item", "id": "x"}}, 400,
     "parameter_invalid"),
    ("metadata too many", {"metadata": {f"k{i}": "v" for i in range(17)}}, 400,
     "parameter_invalid"),
    ("metadata non-string", {"metadata": {"k": 1}}, 400, "parameter_invalid"),
    ("max tokens zero", {"max_output_tokens": 0}, 400, "parameter_invalid"),
    ("max tokens bool", {"max_output_tokens": True}, 400, "parameter_invalid"),
    ("max tokens float", {"max_output_tokens": 1.5}, 400, "parameter_invalid"),
    ("text format unknown", {"text": {"format": {"type": "xml"}}}, 400, "parameter_invalid"),
    ("schema without name", {"text": {"format": {"type": "json_schema", "schema": {}}}}, 400,
     "parameter_not_provided"),
    ("schema without schema", {"text": {"format": {"type": "json_schema", "name": "n"}}}, 400,
     "parameter_not_provided"),
    ("tools not a list", {"tools": "ks"}, 400, "parameter_invalid"),
    ("tools other tool", {"tools": [{"type": "web_search"}]}, 400, "parameter_invalid"),
    ("tools code interpreter", {"tools": [{"type": "code_interpreter"}]}, 400,
     "parameter_invalid"),
    ("web search with options", {"tools": [{"type": "jockey:web_search", "x": 1}]}, 400,
     "parameter_invalid"),
    ("session not a uuid", {"session_id": "sess_abc"}, 400, "parameter_invalid"),
    ("session upper case", {"session_id": "sess_019F4F2A-B69B-7A01-9018-CC51681121EA"}, 400,
     "parameter_invalid"),
    ("session path", {"session_id": "sess_../../etc/passwd"}, 400, "parameter_invalid"),
    ("item with collection id", {"selections": [{"kind": "item", "id": "ksic_019f"}]}, 400,
     "parameter_invalid"),
    ("collection with item id", {"selections": [{"kind": "collection", "id": "ksi_019f"}]},
     400, "parameter_invalid"),
    ("item with bare prefix", {"selections": [{"kind": "item", "id": "ksi_"}]}, 400,
     "parameter_invalid"),
    ("item id too long", {"selections": [{"kind": "item", "id": "ksi_" + "a" * 125}]}, 400,
     "parameter_invalid"),
    ("placeholder without selections",
     {"input": [{**MSG[0], "content": "What is in {{sel:0}}?"}]}, 400, "parameter_invalid"),
    ("placeholder past the end",
     {"input": [{**MSG[0], "content": "Compare {{sel:0}} and {{sel:1}}"}],
      "selections": [{"kind": "item", "id": "ksi_019f"}]}, 400, "parameter_invalid"),
    ("placeholder of 4,400 digits",
     {"input": [{**MSG[0], "content": "In {{sel:" + "9" * 4400 + "}}"}],
      "selections": [{"kind": "item", "id": "ksi_019f"}]}, 400, "parameter_invalid"),
]


@pytest.mark.parametrize(("label", "changes", "status", "code"), CASES,
                         ids=[c[0] for c in CASES])
def test_invalid_bodies(api: Api, nature_id: str, label: str, changes: dict[str, Any],
                        status: int, code: str) -> None:
    response = api.post(_with(nature_id, **changes))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "docs_url"}
    assert body["message"]


def test_accepted_optional_fields(api: Api, nature_id: str) -> None:
    body = _with(nature_id, model="jockey1.0", instructions="x" * 2000, include=[],
                 stream=False, metadata={f"k{i}": "v" for i in range(16)},
                 max_output_tokens=5000, text={"format": {"type": "text"}},
                 selections=[{"kind": "collection", "id": "ksic_whatever"}])
    body["input"][0]["content"] = "y" * 10_000
    response = api.post(body)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == body["metadata"]


def test_model_is_optional_and_only_jockey_one(api: Api, nature_id: str) -> None:
    assert api.post(_with(nature_id, model=_DROP)).status_code == 200
    assert api.post(_with(nature_id, model="jockey1.0")).status_code == 200
    response = api.post(_with(nature_id, model="jockey2.0"))
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")


def test_placeholders_within_the_selections_are_accepted(api: Api, nature_id: str) -> None:
    items = [i["_id"] for i in api.ready_items(nature_id)][:2]
    body = _with(nature_id, selections=[{"kind": "item", "id": i} for i in items])
    body["input"][0]["content"] = "Compare {{sel:0}} with {{sel:1}}; ignore {{sel:x}} {{sel:-1}}"
    assert api.post(body).status_code == 200


def test_null_optional_fields_mean_absent(api: Api, nature_id: str) -> None:
    body = _with(nature_id, session_id=None, instructions=None, model=None, include=None)
    assert api.post(body).status_code == 200


def test_older_tools_form(api: Api, nature_id: str) -> None:
    tools = [{"type": "knowledge_store", "knowledge_store_id": nature_id}]
    response = api.post(_with(nature_id, knowledge_store_id=_DROP, tools=tools))
    assert response.status_code == 200
    assert response.json()["knowledge_store_id"] == nature_id
    # The guide's whole form: model plus the tool, with web search alongside.
    guide = _with(nature_id, knowledge_store_id=_DROP, model="jockey1.0",
                  tools=[*tools, {"type": "jockey:web_search"}])
    response = api.post(guide)
    assert response.status_code == 200 and response.json()["status"] == "completed"
    # Both forms naming the same store are fine; different stores are not.
    assert api.post(_with(nature_id, tools=tools)).status_code == 200
    other = [{"type": "knowledge_store",
              "knowledge_store_id": "ks_019e879d-6620-7569-abca-000000000000"}]
    response = api.post(_with(nature_id, tools=other))
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"null",
                                 b"", b"[" * 100_000, b'{"max_output_tokens": NaN}',
                                 b'{"max_output_tokens": Infinity}', b'{"stream": -Infinity}',
                                 b'{"max_output_tokens": 1e400}',
                                 b'{"max_output_tokens": ' + b"9" * 5000 + b"}"])
def test_not_a_json_object(api: Api, raw: bytes) -> None:
    response = api.http.post(api.base + "/responses", data=raw, timeout=10,
                             headers={"x-api-key": "sandbox",
                                      "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "parameter_invalid"


def test_missing_key_is_unauthorized(api: Api, nature_id: str) -> None:
    response = api.post(body_for(nature_id), key=None)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    response = api.get("/knowledge-stores", key=None)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


def test_wrong_key_is_invalid_and_never_echoed(api: Api, nature_id: str) -> None:
    response = api.post(body_for(nature_id), key="tlk_SECRET123")
    assert (response.status_code, response.json()["code"]) == (401, "api_key_invalid")
    assert "SECRET123" not in response.text


def test_unknown_store_is_404(api: Api) -> None:
    store = "ks_019e879d-6620-7569-abca-7a318e6871ff"
    response = api.post(body_for(store))
    assert response.status_code == 404
    assert response.json() == {"code": "resource_not_exist",
                               "message": f"The knowledge store `{store}` does not exist.",
                               "docs_url": response.json()["docs_url"]}


def test_store_without_ready_items_is_400(api: Api, empty_id: str) -> None:
    response = api.post(body_for(empty_id))
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")
    assert "ready" in response.json()["message"]


def test_oversized_body_is_413_with_json(api: Api, nature_id: str) -> None:
    body = body_for(nature_id, "x" * (1024 * 1024 + 10))
    response = api.post(body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_unknown_path_and_method(api: Api) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"]
    response = api.http.get(api.base.replace("/v1.3", "/v2/responses"), timeout=10)
    assert response.status_code == 404
    response = api.http.delete(api.base + "/responses", headers=api.headers(), timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"
    response = api.http.request("BREW", api.base + "/knowledge-stores", timeout=10)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_lone_surrogates_are_rejected(api: Api, nature_id: str) -> None:
    body = body_for(nature_id, "hi SURROGATE", include=["intermediate_outputs"])
    raw = json.dumps(body).replace("SURROGATE", "\\ud800")
    response = api.http.post(api.base + "/responses", data=raw.encode(), timeout=10,
                             headers={"x-api-key": "sandbox"})
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")
