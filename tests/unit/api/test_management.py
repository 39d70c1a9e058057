"""Managing stores, items and item collections, and searching a store (jockey-api.md §7):
the request each method sends, what it returns, how errors map, and when it is retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jockey_desktop.core.api import (
    CollectionNotFoundError,
    ConflictError,
    InvalidInputError,
    InvalidRequestError,
    ItemCollection,
    ItemNotFoundError,
    JockeyClient,
    KnowledgeStore,
    KnowledgeStoreItem,
    ServerError,
    StoreNotFoundError,
)
from tests.helpers.jockey_stream import ITEM, STORE

from .fakeserver import KEY, FakeServer, Request, Sleeps, error_body, make_client

COLLECTION = "ksic_019ebcf4-7e08-7201-b69c-69e0c1e6aaaa"
ASSET = "6a074cc69bcc9263a999d3a8"
STORE_JSON = {"_id": STORE, "name": "Match footage", "description": "Season 2026",
              "ingestion_config": None, "item_count": 0, "metadata": {"season": 2026},
              "created_at": "2026-07-01T10:00:00Z", "updated_at": "2026-07-01T10:00:00Z"}
ITEM_JSON = {"_id": ITEM, "asset_id": ASSET, "asset_type": "image", "status": "queued",
             "metadata": {"tags": ["goal"]}, "created_at": "2026-07-01T10:00:00Z"}
COLLECTION_JSON = {"_id": COLLECTION, "knowledge_store_id": STORE, "name": "Goals",
                   "description": None, "metadata": {"public": True}, "member_count": 2,
                   "created_at": "2026-07-01T10:00:00Z", "updated_at": "2026-07-02T10:00:00Z"}


def _reply(status: int, body: Any = None) -> Callable[[Request], None]:
    def handle(req: Request) -> None:
        if body is None:
            req.raw(status, b"")
        else:
            req.json(status, body)
    return handle


def _sent(server: FakeServer, index: int = 0) -> tuple[str, str, Any]:
    request = server.requests[index]
    assert request.headers["x-api-key"] == KEY
    return request.method, request.path, request.json() if request.body else None


# --- stores -------------------------------------------------------------------------------


def test_create_knowledge_store_sends_name_description_and_typed_metadata(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = _reply(201, STORE_JSON)
    store = make_client(server, sleeps).create_knowledge_store(
        "Match footage", description="Season 2026",
        metadata={"season": 2026, "public": False, "tags": ["a"]})
    assert _sent(server) == ("POST", "/v1.3/knowledge-stores", {
        "name": "Match footage", "description": "Season 2026",
        "metadata": {"season": 2026, "public": False, "tags": ["a"]}})
    assert store == KnowledgeStore.from_json(STORE_JSON)
    assert store.metadata == {"season": 2026}


def test_create_knowledge_store_refuses_bad_input_before_sending(
    server: FakeServer, sleeps: Sleeps
) -> None:
    client = make_client(server, sleeps)
    with pytest.raises(InvalidInputError, match="A knowledge store needs a name"):
        client.create_knowledge_store("  ")
    with pytest.raises(InvalidInputError, match="at most 10 metadata entries"):
        client.create_knowledge_store("S", metadata={f"k{i}": i for i in range(11)})
    assert server.requests == []


def test_creating_is_not_retried_after_a_500_but_after_a_429_with_retry_after(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = _reply(500, error_body("internal_error", "Boom"))
    with pytest.raises(ServerError):
        make_client(server, sleeps).create_knowledge_store("S")
    assert len(server.requests) == 1 and sleeps.calls == []

    def limited_once(req: Request) -> None:
        if req.index == 1:
            req.json(429, error_body("too_many_requests", "Slow down."), {"Retry-After": "4"})
        else:
            req.json(201, STORE_JSON)
    server.handle = limited_once
    assert make_client(server, sleeps).create_knowledge_store("S").id == STORE
    assert sleeps.calls == [4.0] and len(server.requests) == 3


def test_update_knowledge_store_sends_only_what_changes(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = _reply(200, STORE_JSON | {"name": "Renamed", "metadata": {}})
    client = make_client(server, sleeps)
    store = client.update_knowledge_store(STORE, name="Renamed", metadata={})
    assert _sent(server) == ("PATCH", f"/v1.3/knowledge-stores/{STORE}",
                             {"name": "Renamed", "metadata": {}})
    assert store.name == "Renamed" and store.metadata == {}
    with pytest.raises(InvalidInputError, match="Nothing to change"):
        client.update_knowledge_store(STORE)
    assert len(server.requests) == 1


def test_delete_knowledge_store_is_retried_on_503_and_maps_404(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: (req.json(503, error_body("unavailable", "Busy"))
                                 if req.index == 0 else req.raw(204, b""))
    make_client(server, sleeps).delete_knowledge_store(STORE)
    assert [(r.method, r.path) for r in server.requests] == [
        ("DELETE", f"/v1.3/knowledge-stores/{STORE}")] * 2
    assert sleeps.calls == [1.0]
    server.handle = _reply(404, error_body("resource_not_exist", "No such store."))
    with pytest.raises(StoreNotFoundError):
        make_client(server, sleeps).delete_knowledge_store(STORE)


# --- items --------------------------------------------------------------------------------


def test_add_item_always_sends_the_asset_type(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = _reply(202, ITEM_JSON)
    item = make_client(server, sleeps).add_item(STORE, ASSET, asset_type="image",
                                                metadata={"tags": ["goal"]})
    assert _sent(server) == ("POST", f"/v1.3/knowledge-stores/{STORE}/items",
                             {"asset_id": ASSET, "asset_type": "image",
                              "metadata": {"tags": ["goal"]}})
    assert item == KnowledgeStoreItem.from_json(ITEM_JSON)
    assert item.status == "queued" and item.asset_type == "image"


def test_add_item_refuses_an_unknown_type_and_is_not_retried(
    server: FakeServer, sleeps: Sleeps
) -> None:
    client = make_client(server, sleeps)
    with pytest.raises(InvalidInputError, match="An item must be a video or an image"):
        client.add_item(STORE, ASSET, asset_type="audio")  # type: ignore[arg-type]
    assert server.requests == []
    server.handle = _reply(502, error_body("bad_gateway", "Upstream"))
    with pytest.raises(ServerError):
        client.add_item(STORE, ASSET, asset_type="video")
    assert len(server.requests) == 1


def test_delete_item_and_its_not_found(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = _reply(200, None)
    client = make_client(server, sleeps)
    client.delete_item(STORE, ITEM)
    assert _sent(server)[:2] == ("DELETE", f"/v1.3/knowledge-stores/{STORE}/items/{ITEM}")
    server.handle = _reply(404, error_body("resource_not_exist", "No such item."))
    with pytest.raises(ItemNotFoundError):
        client.delete_item(STORE, ITEM)


# --- collections --------------------------------------------------------------------------


def test_collection_methods_send_the_documented_requests(
    server: FakeServer, sleeps: Sleeps
) -> None:
    def handle(req: Request) -> None:
        if req.recorded.method == "GET" and req.recorded.path.endswith("/item-collections"):
            req.json(200, {"data": [COLLECTION_JSON],
                           "page_info": {"page": 1, "total_page": 1}})
        elif req.recorded.path.endswith(f"{COLLECTION}/items"):
            req.json(200, {"data": [ITEM_JSON], "page_info": {"page": 1, "total_page": 1}})
        elif req.recorded.path.endswith("/items/remove") or req.recorded.method == "DELETE":
            req.raw(200, b"")
        else:
            req.json(200, COLLECTION_JSON)

    server.handle = handle
    client = make_client(server, sleeps)
    base = f"/v1.3/knowledge-stores/{STORE}/item-collections"
    expected = ItemCollection.from_json(COLLECTION_JSON)
    assert client.list_collections(STORE) == [expected]
    assert client.create_collection(STORE, "Goals", description="Best",
                                    metadata={"public": True}) == expected
    assert client.get_collection(STORE, COLLECTION) == expected
    assert client.update_collection(STORE, COLLECTION, name="Top goals") == expected
    client.delete_collection(STORE, COLLECTION)
    assert client.list_collection_items(STORE, COLLECTION) == [
        KnowledgeStoreItem.from_json(ITEM_JSON)]
    assert client.add_collection_items(STORE, COLLECTION, [ITEM]) == expected
    assert client.remove_collection_items(STORE, COLLECTION, [ITEM]) is None
    sent = [(r.method, r.path, r.json() if r.body else None) for r in server.requests]
    assert sent == [
        ("GET", base, None),
        ("POST", base, {"name": "Goals", "description": "Best", "metadata": {"public": True}}),
        ("GET", f"{base}/{COLLECTION}", None),
        ("PATCH", f"{base}/{COLLECTION}", {"name": "Top goals"}),
        ("DELETE", f"{base}/{COLLECTION}", None),
        ("GET", f"{base}/{COLLECTION}/items", None),
        ("POST", f"{base}/{COLLECTION}/items/add", {"item_ids": [ITEM]}),
        ("POST", f"{base}/{COLLECTION}/items/remove", {"item_ids": [ITEM]}),
    ]
    assert expected.member_count == 2 and expected.metadata == {"public": True}


def test_adding_members_is_retried_but_creating_a_collection_is_not(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: (req.json(500, error_body("internal_error", "Boom"))
                                 if req.index == 0 else req.json(200, COLLECTION_JSON))
    client = make_client(server, sleeps)
    client.add_collection_items(STORE, COLLECTION, [ITEM])
    assert len(server.requests) == 2
    server.requests.clear()
    server.handle = _reply(500, error_body("internal_error", "Boom"))
    with pytest.raises(ServerError):
        client.create_collection(STORE, "Goals")
    assert len(server.requests) == 1


def test_collection_errors_map_to_their_classes(server: FakeServer, sleeps: Sleeps) -> None:
    client = make_client(server, sleeps)
    server.handle = _reply(404, error_body("resource_not_exist", "No such collection."))
    with pytest.raises(CollectionNotFoundError) as info:
        client.get_collection(STORE, COLLECTION)
    assert str(info.value) == "The item collection was not found. No such collection."
    server.handle = _reply(409, error_body("resource_conflict", "The name Goals is taken."))
    with pytest.raises(ConflictError) as conflict:
        client.create_collection(STORE, "Goals")
    assert isinstance(conflict.value, InvalidRequestError)
    assert "The name Goals is taken." in str(conflict.value)
    with pytest.raises(InvalidInputError, match="At most 500 items"):
        client.add_collection_items(STORE, COLLECTION, [ITEM] * 501)
    with pytest.raises(InvalidInputError, match="No items were given"):
        client.remove_collection_items(STORE, COLLECTION, [])
    assert len(server.requests) == 2


# --- search -------------------------------------------------------------------------------

SEARCH_JSON = {
    "data": [
        {"asset_type": "video", "rank": 1, "item_id": ITEM,
         "metadata": {"system": {"duration": 93.4}, "user": {"team": "ops"}},
         "matches": [{"start_sec": 12.0, "end_sec": 19.5, "modalities": ["visual", "audio"],
                      "transcription": "What a goal"}]},
        {"asset_type": "image", "rank": 2, "item_id": "ksi_2"},
        "junk",
    ],
    "next_page_token": "tok_2",
    "effective_search_options": {"video": {"modalities": ["visual"]}},
}


def test_search_store_sends_the_query_and_reads_hits(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = _reply(200, SEARCH_JSON)
    page = make_client(server, sleeps).search_store(STORE, "a goal", item_ids=[ITEM],
                                                    page_size=20, page_token="tok_1")
    assert _sent(server) == ("POST", f"/v1.3/knowledge-stores/{STORE}/search", {
        "query": {"text": "a goal"}, "page_size": 20, "include_metadata": True,
        "filter": {"item_id": {"in": [ITEM]}}, "page_token": "tok_1"})
    video, image = page.hits
    assert (video.item_id, video.asset_type, video.rank) == (ITEM, "video", 1)
    assert video.user_metadata == {"team": "ops"}
    assert video.system_metadata == {"duration": 93.4}
    (match,) = video.matches
    assert (match.start_sec, match.end_sec, match.modalities, match.transcription) == (
        12.0, 19.5, ("visual", "audio"), "What a goal")
    assert image.matches == () and image.asset_type == "image"
    assert page.next_page_token == "tok_2"


def test_search_is_retried_on_429_and_an_expired_token_says_search_again(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: (
        req.json(429, error_body("too_many_requests", "Slow."), {"Retry-After": "2"})
        if req.index == 0 else req.json(200, {"data": [], "effective_search_options": {}}))
    client = make_client(server, sleeps)
    assert client.search_store(STORE, "x").hits == ()
    assert sleeps.calls == [2.0]
    server.handle = _reply(410, error_body("page_token_expired", "Expired."))
    with pytest.raises(InvalidRequestError) as info:
        client.search_store(STORE, "x", page_token="old")
    assert info.value.status == 410
    assert str(info.value).endswith("These search results expired; run the search again.")


@pytest.mark.parametrize(("text", "size", "match"),
                         [("  ", 10, "Type something"), ("x", 0, "1 to 50 results"),
                          ("x", 51, "1 to 50 results")])
def test_search_refuses_bad_input_before_sending(
    server: FakeServer, sleeps: Sleeps, text: str, size: int, match: str
) -> None:
    client: JockeyClient = make_client(server, sleeps)
    with pytest.raises(InvalidInputError, match=match):
        client.search_store(STORE, text, page_size=size)
    assert server.requests == []
