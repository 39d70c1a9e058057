"""POST /knowledge-stores/{id}/search: result shapes, modalities, grouping, filters, metadata,
paging with expiring tokens, errors, and what is searchable."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.sandbox import Fault
from tests.helpers.sandbox_resources import FakeClock, ResourceApi, running, tiny_mp4


def search(api: ResourceApi, store_id: str, text: str | None = None, **fields: Any) -> Any:
    body = ({"query": {"text": text}} if text is not None else {}) | fields
    return api.ok("POST", f"/knowledge-stores/{store_id}/search", body)


def nature(api: ResourceApi) -> tuple[str, dict[str, dict[str, Any]]]:
    store_id = api.store_by_name("Nature documentaries")["_id"]
    return store_id, {i["metadata"]["title"]: i for i in api.items(store_id)}


def test_result_shape(res: ResourceApi) -> None:
    store_id, items = nature(res)
    body = search(res, store_id, "cheetah chasing a gazelle")
    assert body["effective_search_options"] == {"video": {"modalities": ["visual"]}}
    first = body["data"][0]
    assert first["item_id"] == items["Savanna at First Light"]["_id"]
    assert (first["asset_type"], first["rank"]) == ("video", 1)
    assert "metadata" not in first
    assert first["matches"] == [{
        "start_sec": 203.0, "end_sec": 247.5, "modalities": ["visual"],
        "transcription": "Zero to almost a hundred kilometres an hour in three seconds. "
                         "The chase is over in under twenty seconds — win or lose."}]
    assert [hit["rank"] for hit in body["data"]] == list(range(1, len(body["data"]) + 1))
    assert "url" not in str(body).lower()  # hits carry no media URLs


def test_modalities(res: ResourceApi) -> None:
    store_id, items = nature(res)
    # "kilometres" is only ever spoken, never seen.
    assert search(res, store_id, "kilometres")["data"] == []
    heard = search(res, store_id, "kilometres",
                   search_options={"video": {"modalities": ["audio"]}})
    assert heard["effective_search_options"] == {"video": {"modalities": ["audio"]}}
    found = {hit["item_id"] for hit in heard["data"]}
    assert found >= {items["Savanna at First Light"]["_id"],
                     items["The Long Walk North: Caribou Migration"]["_id"]}
    for hit in heard["data"]:
        assert hit["matches"][0]["modalities"] == ["audio"]
        assert "kilometre" in hit["matches"][0]["transcription"]
    both = search(res, store_id, "cheetah kilometres",
                  search_options={"video": {"modalities": ["audio", "visual"]}})
    assert both["effective_search_options"] == {"video": {"modalities": ["visual", "audio"]}}
    assert both["data"][0]["matches"][0]["modalities"] == ["visual", "audio"]


def test_group_by_item_and_filters(res: ResourceApi) -> None:
    store_id, items = nature(res)
    grouped = search(res, store_id, "hunting predators prey", group_by="item", page_size=50)
    ids = [hit["item_id"] for hit in grouped["data"]]
    assert len(ids) == len(set(ids)) >= 2
    assert all(hit["matches"] for hit in grouped["data"])
    flat = search(res, store_id, "hunting predators prey", page_size=50)
    assert sum(len(h["matches"]) for h in grouped["data"]) == len(flat["data"])
    fox = items["Ice and the Arctic Fox"]["_id"]
    only = search(res, store_id, "hunting predators prey", filter={"item_id": {"eq": fox}})
    assert {hit["item_id"] for hit in only["data"]} == {fox}
    two = search(res, store_id, "hunting predators prey", page_size=50,
                 filter={"item_id": {"in": [fox, items["Kelp Forest Nights"]["_id"]]},
                         "asset_type": {"in": ["video"]}})
    assert {hit["item_id"] for hit in two["data"]} <= {fox, items["Kelp Forest Nights"]["_id"]}
    assert search(res, store_id, "hunting", filter={"asset_type": {"eq": "image"}})[
        "data"] == []


def test_only_ready_items_are_searched(res: ResourceApi) -> None:
    store_id, items = nature(res)
    processing = items["Rainforest Canopy at Dawn (raw upload)"]["_id"]
    assert search(res, store_id, "rainforest canopy dawn",
                  filter={"item_id": {"eq": processing}})["data"] == []


def test_metadata(res: ResourceApi) -> None:
    store_id, items = nature(res)
    hit = search(res, store_id, "cheetah", include_metadata=True)["data"][0]
    savanna = items["Savanna at First Light"]
    assert hit["metadata"]["user"] == savanna["metadata"]
    system = savanna["system_metadata"]
    assert hit["metadata"]["system"] == {k: system[k] for k in ("duration", "width", "height",
                                                                "size")}


def test_paging() -> None:
    clock = FakeClock()
    with running(clock=clock, search_token_ttl=60.0) as (_server, api):
        store_id, _ = nature(api)
        everything = search(api, store_id, "the herd and the hunt", page_size=50)["data"]
        assert len(everything) > 4
        seen: list[dict[str, Any]] = []
        body = search(api, store_id, "the herd and the hunt", page_size=2)
        while True:
            seen.extend(body["data"])
            assert len(body["data"]) <= 2
            token = body.get("next_page_token")
            if token is None:
                break
            body = search(api, store_id, "the herd and the hunt", page_token=token)
        assert seen == everything
        token = search(api, store_id, "the herd and the hunt", page_size=1)["next_page_token"]
        clock.advance(61)
        assert api.error("POST", f"/knowledge-stores/{store_id}/search",
                         {"query": {"text": "x"}, "page_token": token}) == (
            410, "page_token_expired")
        other = api.store_by_name("Product keynotes")["_id"]
        fresh = search(api, store_id, "the herd and the hunt", page_size=1)["next_page_token"]
        assert api.error("POST", f"/knowledge-stores/{other}/search",
                         {"query": {"text": "x"}, "page_token": fresh}) == (
            400, "parameter_invalid")
        assert api.error("POST", f"/knowledge-stores/{store_id}/search",
                         {"query": {"text": "x"}, "page_token": "pt_forged"}) == (
            400, "parameter_invalid")


@pytest.mark.parametrize(("body", "expected"), [
    ({}, (400, "parameter_not_provided")),
    ({"query": {"text": ""}}, (400, "parameter_invalid")),
    ({"query": "cheetah"}, (400, "parameter_invalid")),
    ({"query": {"text": "x" * 2001}}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "page_size": 51}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "page_size": 0}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "group_by": "video"}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "filter": {"item_id": {"eq": "a", "in": ["b"]}}},
     (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "filter": {"duration": {"eq": "1"}}}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "filter": {"asset_type": {"eq": "audio"}}},
     (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "search_options": {"video": {"modalities": []}}},
     (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "search_options": {"video": {"modalities": ["smell"]}}},
     (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "include_metadata": "yes"}, (400, "parameter_invalid")),
    ({"query": {"text": "x"}, "limit": 3}, (400, "parameter_unknown")),
])
def test_request_errors(res: ResourceApi, body: dict[str, Any],
                        expected: tuple[int, str]) -> None:
    store_id, _ = nature(res)
    assert res.error("POST", f"/knowledge-stores/{store_id}/search", body) == expected


def test_unknown_store_and_rate_limit(res: ResourceApi) -> None:
    missing = "ks_019e879d-6620-7569-abca-7a318e6871ff"
    assert res.error("POST", f"/knowledge-stores/{missing}/search",
                     {"query": {"text": "x"}}) == (404, "resource_not_exist")
    store_id, _ = nature(res)
    res.server.faults.add(Fault.rate_limit(retry_after=2,
                                           path=f"/knowledge-stores/{store_id}/search"))
    response = res.call("POST", f"/knowledge-stores/{store_id}/search",
                        {"query": {"text": "x"}})
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_uploads_are_searchable(res: ResourceApi) -> None:
    asset = res.upload_ready(tiny_mp4(40.0), "lighthouse_repairs.mp4")
    store = res.create_store("Coast")
    item = res.add_item(store["_id"], asset["_id"])
    body = search(res, store["_id"], "lighthouse", group_by="item")
    assert [hit["item_id"] for hit in body["data"]] == [item["_id"]]
    assert [(m["start_sec"], m["end_sec"]) for m in body["data"][0]["matches"]] == [
        (0.0, 13.3), (13.3, 26.7), (26.7, 40.0)]
