"""Item collections: create, list, read, rename, delete; adding and removing items
(idempotent); paging members; what the answer engine's store sees; persistence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jockey_desktop.sandbox.ids import is_uuid7
from tests.helpers.sandbox_resources import ResourceApi, running

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def nature(api: ResourceApi) -> tuple[str, list[str]]:
    store = api.store_by_name("Nature documentaries")
    return store["_id"], [i["_id"] for i in api.items(store["_id"])]


def make(api: ResourceApi, store_id: str, name: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.ok("POST", f"/knowledge-stores/{store_id}/item-collections",
                                    {"name": name, **fields}, status=201)
    return result


def test_create_read_list(res: ResourceApi) -> None:
    store_id, _ = nature(res)
    made = make(res, store_id, "Predators", description="Hunts", metadata={"n": 1})
    assert made["_id"].startswith("ksic_") and is_uuid7(made["_id"][5:])
    assert {k: made[k] for k in ("knowledge_store_id", "name", "description", "metadata",
                                 "member_count")} == {
        "knowledge_store_id": store_id, "name": "Predators", "description": "Hunts",
        "metadata": {"n": 1}, "member_count": 0}
    assert RFC3339.match(made["created_at"]) and made["updated_at"] == made["created_at"]
    path = f"/knowledge-stores/{store_id}/item-collections"
    assert res.ok("GET", f"{path}/{made['_id']}") == made
    second = make(res, store_id, "Birds")
    listed = res.ok("GET", path)
    assert listed["page_info"]["total_results"] == 2
    by_name = res.ok("GET", path, params={"sort_by": "name", "sort_option": "asc"})["data"]
    assert [c["name"] for c in by_name] == ["Birds", "Predators"]
    assert {c["_id"] for c in listed["data"]} == {made["_id"], second["_id"]}


def test_names_are_unique_and_bodies_checked(res: ResourceApi) -> None:
    store_id, _ = nature(res)
    path = f"/knowledge-stores/{store_id}/item-collections"
    make(res, store_id, "Once")
    assert res.error("POST", path, {"name": "Once"}) == (409, "collection_name_already_exists")
    assert res.error("POST", path, {}) == (400, "parameter_not_provided")
    assert res.error("POST", path, {"name": "x", "colour": 1}) == (400, "parameter_unknown")
    assert res.error("POST", path, {"name": "x", "metadata": {f"k{i}": 1 for i in range(11)}}
                     ) == (400, "parameter_invalid")
    # The same name may be used in another store.
    other = res.store_by_name("Product keynotes")["_id"]
    make(res, other, "Once")


def test_update_and_delete(res: ResourceApi) -> None:
    store_id, items = nature(res)
    first = make(res, store_id, "First")
    make(res, store_id, "Taken")
    path = f"/knowledge-stores/{store_id}/item-collections/{first['_id']}"
    patched = res.ok("PATCH", path, {"name": "Renamed", "metadata": {"a": ["b"]}})
    assert (patched["name"], patched["metadata"]) == ("Renamed", {"a": ["b"]})
    assert patched["updated_at"] >= first["updated_at"]
    assert res.ok("PATCH", path, {"metadata": {}})["metadata"] == {}
    assert res.ok("PATCH", path, {"name": "Renamed"})["name"] == "Renamed"  # its own name
    assert res.error("PATCH", path, {"name": "Taken"}) == (409, "collection_name_already_exists")
    res.ok("POST", f"{path}/items/add", {"item_ids": items[:2]})
    response = res.call("DELETE", path)
    assert response.status_code == 204 and response.content == b""
    assert res.error("GET", path) == (404, "resource_not_exist")
    assert len(res.items(store_id)) == len(items)  # the items stay


def test_add_and_remove_items(res: ResourceApi) -> None:
    store_id, items = nature(res)
    made = make(res, store_id, "Picks")
    path = f"/knowledge-stores/{store_id}/item-collections/{made['_id']}"
    added = res.ok("POST", f"{path}/items/add", {"item_ids": [items[2], items[0]]})
    assert added["member_count"] == 2 and added["_id"] == made["_id"]
    again = res.ok("POST", f"{path}/items/add", {"item_ids": [items[0], items[1], items[1]]})
    assert again["member_count"] == 3  # idempotent, duplicates skipped
    members = res.ok("GET", f"{path}/items")
    assert [i["_id"] for i in members["data"]] == [items[2], items[0], items[1]]
    assert members["data"][0] == res.ok("GET", f"/knowledge-stores/{store_id}/items/{items[2]}")
    paged = res.ok("GET", f"{path}/items", params={"page_limit": 2, "page": 2})
    assert [i["_id"] for i in paged["data"]] == [items[1]]
    assert paged["page_info"] == {"limit_per_page": 2, "page": 2, "total_page": 2,
                                  "total_results": 3}
    removed = res.call("POST", f"{path}/items/remove", {"item_ids": [items[0], items[5]]})
    assert removed.status_code == 204
    assert res.call("POST", f"{path}/items/remove", {"item_ids": [items[0]]}).status_code == 204
    assert res.ok("GET", path)["member_count"] == 2
    keynote = res.items(res.store_by_name("Product keynotes")["_id"])[0]["_id"]
    for body in ({"item_ids": [keynote]}, {"item_ids": ["ks_nope"]}, {"item_ids": []},
                 {"item_ids": ["ksi_x"] * 501}, {"item_ids": "ksi_x"}):
        assert res.error("POST", f"{path}/items/add", body) == (400, "parameter_invalid"), body
    assert res.error("POST", f"{path}/items/add", {}) == (400, "parameter_not_provided")
    assert res.ok("GET", path)["member_count"] == 2


def test_deleting_an_item_leaves_its_collections(res: ResourceApi) -> None:
    store = res.create_store("Own")
    item = res.add_item(store["_id"], res.sample_asset_id())
    made = make(res, store["_id"], "All")
    path = f"/knowledge-stores/{store['_id']}/item-collections/{made['_id']}"
    res.ok("POST", f"{path}/items/add", {"item_ids": [item["_id"]]})
    res.call("DELETE", f"/knowledge-stores/{store['_id']}/items/{item['_id']}")
    assert res.ok("GET", path)["member_count"] == 0
    assert res.ok("GET", f"{path}/items")["data"] == []


def test_the_engine_sees_the_collections(res: ResourceApi) -> None:
    store_id, items = nature(res)
    made = make(res, store_id, "Engine")
    path = f"/knowledge-stores/{store_id}/item-collections/{made['_id']}"
    res.ok("POST", f"{path}/items/add", {"item_ids": items[:3]})
    store = res.server.stores[store_id]
    collection = store.collection(made["_id"])
    assert collection is not None and collection.item_ids == tuple(items[:3])
    engine_store = res.server.engines[store_id].store
    engine_collection = engine_store.collection(made["_id"])
    assert engine_collection is not None and engine_collection.item_ids == tuple(items[:3])


def test_unknown_ids(res: ResourceApi) -> None:
    store_id, _ = nature(res)
    base = f"/knowledge-stores/{store_id}/item-collections"
    assert res.error("GET", f"{base}/ksic_019e879d-6620-7569-abca-7a318e6871ff") == (
        404, "resource_not_exist")
    assert res.error("GET", f"{base}/bad") == (400, "parameter_invalid")
    other = res.store_by_name("Product keynotes")["_id"]
    foreign = make(res, other, "Elsewhere")
    assert res.error("GET", f"{base}/{foreign['_id']}") == (404, "resource_not_exist")
    assert res.error("PUT", f"{base}/{foreign['_id']}") == (405, "method_not_allowed")


def test_collections_persist(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running(state_dir=state) as (_server, api):
        store_id, items = nature(api)
        made = make(api, store_id, "Kept")
        api.ok("POST", f"/knowledge-stores/{store_id}/item-collections/{made['_id']}/items/add",
               {"item_ids": items[:2]})
    with running(state_dir=state) as (_server, api):
        kept = api.ok("GET", f"/knowledge-stores/{store_id}/item-collections/{made['_id']}")
        assert (kept["name"], kept["member_count"]) == ("Kept", 2)
