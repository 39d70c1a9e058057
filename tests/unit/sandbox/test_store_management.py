"""Creating, changing and deleting knowledge stores and their items; metadata rules; the item
lifecycle; persistence across restarts; answering about newly added items."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.sandbox import Fault, Pace
from jockey_desktop.sandbox.ids import is_uuid7
from tests.helpers.sandbox_resources import FakeClock, ResourceApi, citations, running

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SCHEMA = {"enrichment_config": {"type": "json_schema", "json_schema": {
    "type": "object", "properties": {
        "players": {"type": "array", "description": "Players on screen",
                    "items": {"type": "string"}},
        "score": {"type": "integer", "description": "The score", "minimum": 0}},
    "required": ["score"], "additionalProperties": False}}}


def test_create_store_shape_and_listing(res: ResourceApi) -> None:
    store = res.create_store("Match footage", description="Cup games",
                             metadata={"team": "ops", "season": 2026, "public": False,
                                       "tags": ["cup", "final"], "ratio": 0.5})
    assert store["_id"].startswith("ks_") and is_uuid7(store["_id"][3:])
    assert (store["name"], store["description"], store["item_count"]) == (
        "Match footage", "Cup games", 0)
    assert store["metadata"] == {"team": "ops", "season": 2026, "public": False,
                                 "tags": ["cup", "final"], "ratio": 0.5}
    assert store["ingestion_config"] is None
    assert RFC3339.match(store["created_at"]) and store["updated_at"] == store["created_at"]
    assert res.ok("GET", f"/knowledge-stores/{store['_id']}") == store
    assert res.store_by_name("Match footage") == store


def test_ingestion_config_is_kept_and_checked(res: ResourceApi) -> None:
    store = res.create_store("Enriched", ingestion_config=SCHEMA)
    assert store["ingestion_config"] == SCHEMA
    described = {"enrichment_config": {"type": "description", "description": "Who scores"}}
    assert res.create_store("Described", ingestion_config=described)[
        "ingestion_config"] == described
    bad_schemas: list[dict[str, Any]] = [
        {"type": "object", "properties": {"a": {"type": "string"}}},  # no description
        {"type": "object", "properties": {"a": {"type": "string", "description": "x",
                                                "pattern": "^a"}}},
        {"type": "object", "properties": {"a": {"type": ["string", "null"],
                                                "description": "x"}}},
        {"type": "object", "properties": {"a": {"type": "string", "description": "x"}},
         "additionalProperties": {"type": "string"}},
        {"type": "object", "properties": {"a": {"description": "x", "anyOf": []}}},
    ]
    for schema in bad_schemas:
        config = {"enrichment_config": {"type": "json_schema", "json_schema": schema}}
        assert res.error("POST", "/knowledge-stores", {"name": "x", "ingestion_config": config}
                         ) == (422, "parameter_invalid"), schema
    for config in ({"type": "description"}, {"enrichment_config": {"type": "other"}},
                   {"enrichment_config": {"type": "description", "description": ""}}):
        assert res.error("POST", "/knowledge-stores", {"name": "x", "ingestion_config": config}
                         ) == (400, "parameter_invalid"), config


@pytest.mark.parametrize(("metadata", "why"), [
    ({"a": None}, "null"),
    ({"a": {"b": "c"}}, "nested"),
    ({"a": [1, 2]}, "list of numbers"),
    ({"a": 2**53 + 1}, "wider than 53 bits"),
    ({f"k{i}": "v" for i in range(11)}, "eleven pairs"),
    ({"k" * 129: "v"}, "long key"),
    ({"a": "x" * 2049}, "long string"),
    ({"a": ["x" * 2049]}, "long string in a list"),
    ("team=ops", "not an object"),
])
def test_store_metadata_rules(res: ResourceApi, metadata: Any, why: str) -> None:
    assert res.error("POST", "/knowledge-stores", {"name": "x", "metadata": metadata}) == (
        400, "parameter_invalid"), why


def test_store_metadata_at_the_limits_is_accepted(res: ResourceApi) -> None:
    metadata = {("k" * 127) + str(i): "x" * 2048 for i in range(10)}
    metadata["k" * 127 + "0"] = 2**53
    assert res.create_store("Full", metadata=metadata)["metadata"] == metadata


def test_store_body_errors(res: ResourceApi) -> None:
    assert res.error("POST", "/knowledge-stores", {}) == (400, "parameter_not_provided")
    assert res.error("POST", "/knowledge-stores", {"name": "  "}) == (400, "parameter_invalid")
    assert res.error("POST", "/knowledge-stores", {"name": "x" * 257}) == (
        400, "parameter_invalid")
    assert res.error("POST", "/knowledge-stores", {"name": "x", "colour": "red"}) == (
        400, "parameter_unknown")
    for raw in (b"{", b'{"name": "x", "metadata": {"a": NaN}}', b"[]", b""):
        assert res.error("POST", "/knowledge-stores", data=raw) == (400, "parameter_invalid")
    assert res.error("POST", "/knowledge-stores", {"name": "x"}, key=None) == (
        401, "unauthorized")


def test_patch_replaces_fields_and_metadata(res: ResourceApi) -> None:
    store = res.create_store("Before", description="old", metadata={"a": "1", "b": "2"})
    path = f"/knowledge-stores/{store['_id']}"
    patched = res.ok("PATCH", path, {"name": "After", "metadata": {"c": True}})
    assert (patched["name"], patched["description"], patched["metadata"]) == (
        "After", "old", {"c": True})
    assert patched["updated_at"] >= store["updated_at"]
    assert patched["created_at"] == store["created_at"]
    assert res.ok("PATCH", path, {"metadata": {}})["metadata"] == {}
    assert res.ok("PATCH", path, {"description": ""})["description"] == ""
    assert res.error("PATCH", path, {"ingestion_config": SCHEMA}) == (400, "parameter_invalid")
    assert res.error("PATCH", path, {"item_count": 3}) == (400, "parameter_unknown")
    assert res.ok("GET", path)["name"] == "After"


def test_delete_store_removes_it_and_its_items(res: ResourceApi) -> None:
    nature = res.store_by_name("Nature documentaries")
    path = f"/knowledge-stores/{nature['_id']}"
    response = res.call("DELETE", path)
    assert response.status_code == 204 and response.content == b""
    assert res.error("GET", path) == (404, "resource_not_exist")
    assert res.error("GET", path + "/items") == (404, "resource_not_exist")
    assert res.error("DELETE", path) == (404, "resource_not_exist")
    names = {s["name"] for s in res.ok("GET", "/knowledge-stores")["data"]}
    assert "Nature documentaries" not in names and "Product keynotes" in names


def test_add_item_is_queued_then_ready_and_answerable(res: ResourceApi) -> None:
    store = res.create_store("My films")
    asset_id = res.sample_asset_id()
    item = res.add_item(store["_id"], asset_id, metadata={"source": "field trip"})
    assert item["_id"].startswith("ksi_") and is_uuid7(item["_id"][4:])
    assert (item["status"], item["asset_id"], item["asset_type"]) == ("queued", asset_id,
                                                                      "video")
    assert item["metadata"] == {"source": "field trip"}
    assert item["system_metadata"]["asset_type"] == "video"
    assert item["system_metadata"]["duration"] > 0
    # Instant pace: the next read already sees the outcome.
    items = res.items(store["_id"])
    assert [(i["_id"], i["status"]) for i in items] == [(item["_id"], "ready")]
    assert res.ok("GET", f"/knowledge-stores/{store['_id']}")["item_count"] == 1
    answer = res.ask(store["_id"], "What are the main themes?")
    cited = {c["item_id"] for c in citations(answer)}
    assert cited == {item["_id"]}


def test_item_request_errors(res: ResourceApi) -> None:
    store = res.create_store("Errors")
    path = f"/knowledge-stores/{store['_id']}/items"
    asset_id = res.sample_asset_id()
    assert res.error("POST", path, {}) == (400, "parameter_not_provided")
    assert res.error("POST", path, {"asset_id": "nope"}) == (400, "parameter_invalid")
    assert res.error("POST", path, {"asset_id": "a" * 24}) == (404, "resource_not_exist")
    assert res.error("POST", path, {"asset_id": asset_id, "asset_type": "audio"}) == (
        400, "parameter_invalid")
    assert res.error("POST", path, {"asset_id": asset_id, "extra": 1}) == (
        400, "parameter_unknown")
    assert res.error("POST", path, {"asset_id": asset_id,
                                    "metadata": {f"k{i}": "v" for i in range(51)}}) == (
        400, "parameter_invalid")
    assert res.error("POST", path, {"asset_id": asset_id, "metadata": {"a": "x" * 8193}}) == (
        400, "parameter_invalid")
    big = {f"k{i}": "x" * 8192 for i in range(50)}
    assert res.add_item(store["_id"], asset_id, metadata=big)["metadata"] == big
    missing = "ks_019e879d-6620-7569-abca-7a318e6871ff"
    assert res.error("POST", f"/knowledge-stores/{missing}/items", {"asset_id": asset_id}) == (
        404, "resource_not_exist")


def test_lifecycle_follows_the_pace(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(pace=Pace(indexing_time=100.0), clock=clock) as (_server, api):
        store = api.create_store("Slow")
        item = api.add_item(store["_id"], api.sample_asset_id())
        path = f"/knowledge-stores/{store['_id']}/items/{item['_id']}"
        seen = []
        for step in (0, 10, 10, 20, 50, 10):
            clock.advance(step)
            seen.append(api.ok("GET", path)["status"])
        assert seen == ["queued", "queued", "pending", "processing", "processing", "ready"]
        assert api.ok("GET", path)["updated_at"] > item["created_at"]
        # Not answerable before it is ready; answerable after.
        assert api.ask(store["_id"], "main themes")["status"] == "completed"


def test_not_ready_store_is_refused_until_an_item_is_ready() -> None:
    clock = FakeClock()
    with running(pace=Pace(indexing_time=60.0), clock=clock) as (_server, api):
        store = api.create_store("Waiting")
        api.add_item(store["_id"], api.sample_asset_id())
        body = {"knowledge_store_id": store["_id"],
                "input": [{"type": "message", "role": "user", "content": "themes?"}]}
        assert api.error("POST", "/responses", body) == (400, "parameter_invalid")
        clock.advance(61)
        assert citations(api.ask(store["_id"], "What are the main themes?"))


def test_failures_of_indexing(res: ResourceApi) -> None:
    store = res.create_store("Failing")
    fault = res.server.faults.add(Fault.fail_indexing())
    failed = res.add_item(store["_id"], res.sample_asset_id())
    assert fault.fired == 1
    ok = res.add_item(store["_id"], res.sample_asset_id())
    # A video asset indexed as an image fails too (as "images defaulting to video" does).
    wrong_type = res.add_item(store["_id"], res.sample_asset_id(), asset_type="image")
    statuses = {i["_id"]: i["status"] for i in res.items(store["_id"])}
    assert statuses == {failed["_id"]: "failed", ok["_id"]: "ready",
                        wrong_type["_id"]: "failed"}
    assert "error" not in res.items(store["_id"])[0]
    cited = {c["item_id"] for c in citations(res.ask(store["_id"], "main themes"))}
    assert cited == {ok["_id"]}


def test_delete_item(res: ResourceApi) -> None:
    store = res.create_store("Two")
    first = res.add_item(store["_id"], res.sample_asset_id())
    second = res.add_item(store["_id"], res.sample_asset_id("Product keynotes"))
    path = f"/knowledge-stores/{store['_id']}/items/{first['_id']}"
    assert res.call("DELETE", path).status_code == 204
    assert res.error("GET", path) == (404, "resource_not_exist")
    assert res.error("DELETE", path) == (404, "resource_not_exist")
    assert [i["_id"] for i in res.items(store["_id"])] == [second["_id"]]
    cited = {c["item_id"] for c in citations(res.ask(store["_id"], "main themes"))}
    assert cited == {second["_id"]}
    assert res.error("DELETE", f"/knowledge-stores/{store['_id']}/items/bad") == (
        400, "parameter_invalid")


def test_changes_persist_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    clock = FakeClock()
    with running(state_dir=state, pace=Pace(indexing_time=30.0), clock=clock) as (_s, api):
        store = api.create_store("Kept", metadata={"k": ["a", "b"]})
        item = api.add_item(store["_id"], api.sample_asset_id(), metadata={"n": 1})
        keynotes = api.store_by_name("Product keynotes")
        assert api.call("DELETE", f"/knowledge-stores/{keynotes['_id']}").status_code == 204
        nature = api.store_by_name("Nature documentaries")
        api.ok("PATCH", f"/knowledge-stores/{nature['_id']}", {"name": "Renamed"})
        assert api.items(store["_id"])[0]["status"] == "queued"
    clock.advance(31)  # the item's indexing finishes while the server is down
    with running(state_dir=state, pace=Pace(indexing_time=30.0), clock=clock) as (_s, api):
        names = {s["name"] for s in api.ok("GET", "/knowledge-stores")["data"]}
        assert names == {"Kept", "Renamed", "Drone survey uploads"}
        kept = api.ok("GET", f"/knowledge-stores/{store['_id']}")
        assert kept["metadata"] == {"k": ["a", "b"]} and kept["item_count"] == 1
        items = api.items(store["_id"])
        assert [(i["_id"], i["status"], i["metadata"]) for i in items] == [
            (item["_id"], "ready", {"n": 1})]
        assert {c["item_id"] for c in citations(api.ask(store["_id"], "main themes"))} == {
            item["_id"]}
