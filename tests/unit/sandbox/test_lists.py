"""GET knowledge stores and items: shapes, pagination, sorting, status filter, 404s."""

from __future__ import annotations

import re

import pytest

from jockey_desktop.sandbox.ids import is_uuid7
from tests.helpers.sandbox_http import EMPTY, KEYNOTES, NATURE, Api

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_store_list_shape(api: Api) -> None:
    body = api.get("/knowledge-stores").json()
    assert body["page_info"] == {"limit_per_page": 10, "page": 1, "total_page": 1,
                                 "total_results": 3}
    names = {s["name"] for s in body["data"]}
    assert {NATURE, KEYNOTES, EMPTY} <= names
    for store in body["data"]:
        assert store["_id"].startswith("ks_") and is_uuid7(store["_id"][3:])
        assert RFC3339.match(store["created_at"]) and RFC3339.match(store["updated_at"])
        assert isinstance(store["item_count"], int)
        assert "items" not in store and "theme_names" not in store
    # Default order: created_at descending.
    created = [s["created_at"] for s in body["data"]]
    assert created == sorted(created, reverse=True)


def test_store_pagination_and_sorting(api: Api) -> None:
    page1 = api.get("/knowledge-stores", params={"page_limit": 2, "sort_option": "asc"}).json()
    page2 = api.get("/knowledge-stores",
                    params={"page_limit": 2, "page": 2, "sort_option": "asc"}).json()
    assert page1["page_info"] == {"limit_per_page": 2, "page": 1, "total_page": 2,
                                  "total_results": 3}
    assert len(page1["data"]) == 2 and len(page2["data"]) == 1
    ordered = [s["created_at"] for s in page1["data"] + page2["data"]]
    assert ordered == sorted(ordered)
    by_update = api.get("/knowledge-stores", params={"sort_by": "updated_at"}).json()["data"]
    updated = [s["updated_at"] for s in by_update]
    assert updated == sorted(updated, reverse=True)


def test_page_past_the_end_is_empty(api: Api) -> None:
    body = api.get("/knowledge-stores", params={"page": 9, "page_limit": 50}).json()
    assert body["data"] == []
    assert body["page_info"] == {"limit_per_page": 50, "page": 9, "total_page": 1,
                                 "total_results": 3}


@pytest.mark.parametrize("params", [{"page_limit": 51}, {"page_limit": 0}, {"page": 0},
                                    {"page": "x"}, {"page": "-1"}, {"sort_by": "name"},
                                    {"sort_option": "up"}])
def test_bad_list_params(api: Api, params: dict[str, object]) -> None:
    response = api.get("/knowledge-stores", params=params)
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")


def test_get_store_and_404(api: Api, nature_id: str) -> None:
    store = api.get(f"/knowledge-stores/{nature_id}").json()
    assert store["_id"] == nature_id and store["name"] == NATURE
    assert store["item_count"] == 8
    missing = "ks_019e879d-6620-7569-abca-7a318e6871ff"
    response = api.get(f"/knowledge-stores/{missing}")
    assert response.status_code == 404
    assert response.json()["message"] == f"The knowledge store `{missing}` does not exist."
    response = api.get("/knowledge-stores/nonsense")
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")


def test_items_shape_and_status_filter(api: Api, nature_id: str) -> None:
    body = api.get(f"/knowledge-stores/{nature_id}/items", params={"page_limit": 50}).json()
    items = body["data"]
    assert body["page_info"]["total_results"] == 8 == len(items)
    statuses = sorted(i["status"] for i in items)
    assert statuses.count("ready") == 6 and "processing" in statuses and "failed" in statuses
    for item in items:
        assert item["_id"].startswith("ksi_") and is_uuid7(item["_id"][4:])
        assert re.fullmatch(r"[0-9a-f]{24}", item["asset_id"])
        meta = item["system_metadata"]
        assert meta["duration"] > 0 and meta["fps"] > 0 and meta["width"] > 0
        assert meta["filename"] and item["metadata"]["title"]
        assert "moments" not in item
    ready = api.get(f"/knowledge-stores/{nature_id}/items", params={"status": "ready"}).json()
    assert {i["status"] for i in ready["data"]} == {"ready"}
    assert ready["page_info"]["total_results"] == 6
    url = f"/knowledge-stores/{nature_id}/items?status=processing&status=failed"
    both = api.get(url).json()
    assert sorted(i["status"] for i in both["data"]) == ["failed", "processing"]
    response = api.get(f"/knowledge-stores/{nature_id}/items", params={"status": "done"})
    assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid")


def test_items_pagination(api: Api, keynotes_id: str) -> None:
    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/knowledge-stores/{keynotes_id}/items",
                       params={"page": page, "page_limit": 2}).json()
        assert body["page_info"]["total_page"] == 3
        seen += [i["_id"] for i in body["data"]]
    assert len(seen) == len(set(seen)) == 5


def test_get_item_and_404(api: Api, nature_id: str) -> None:
    items = api.get(f"/knowledge-stores/{nature_id}/items").json()["data"]
    item = api.get(f"/knowledge-stores/{nature_id}/items/{items[0]['_id']}").json()
    assert item == items[0]
    response = api.get(f"/knowledge-stores/{nature_id}/items/ksi_nope")
    assert (response.status_code, response.json()["code"]) == (404, "resource_not_exist")
    response = api.get(f"/knowledge-stores/{nature_id}/items/whatever")
    assert response.status_code == 400
    missing = "ks_019e879d-6620-7569-abca-7a318e6871ff"
    response = api.get(f"/knowledge-stores/{missing}/items")
    assert (response.status_code, response.json()["code"]) == (404, "resource_not_exist")


def test_empty_store_has_no_ready_items(api: Api, empty_id: str) -> None:
    items = api.get(f"/knowledge-stores/{empty_id}/items").json()["data"]
    assert items and all(i["status"] != "ready" for i in items)
