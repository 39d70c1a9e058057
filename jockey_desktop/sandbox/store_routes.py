"""Routes of knowledge stores, their items and item collections (jockey-api.md §5, §7).

Statuses beyond the contract, so clients can rely on them: creating a store or a collection
answers 201, adding an item 202 (its status is ``queued``); every delete and
``…/items/remove`` answer 204 without a body. Store and collection names are 1–256
characters, descriptions up to 2,048.
"""

from __future__ import annotations

from typing import Any

from jockey_desktop.sandbox.bodies import (
    ITEM_METADATA,
    STORE_METADATA,
    id_list,
    json_object,
    metadata_field,
    text_field,
    validate_ingestion_config,
)
from jockey_desktop.sandbox.data import ITEM_STATUSES, Store
from jockey_desktop.sandbox.faults import FaultKind
from jockey_desktop.sandbox.handlers import Handler, Request, no_content, page, plain_page
from jockey_desktop.sandbox.search import search_page, validate_search
from jockey_desktop.sandbox.validation import ApiError, invalid, missing, validate_list_query

MAX_NAME_CHARS = 256
MAX_DESCRIPTION_CHARS = 2_048
#: ``items/add`` and ``items/remove`` take at most this many ids per request.
MAX_COLLECTION_IDS = 500


def _store_fields(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """``name``, ``description`` and ``metadata`` of a store or collection body."""
    changes: dict[str, Any] = {}
    name = text_field(data, "name", required=creating, max_chars=MAX_NAME_CHARS)
    if name is not None:
        changes["name"] = name
    if "description" in data:
        changes["description"] = text_field(data, "description", allow_empty=True,
                                            max_chars=MAX_DESCRIPTION_CHARS)
    metadata = metadata_field(data, STORE_METADATA)
    if metadata is not None:
        changes["metadata"] = metadata
    return changes


def list_stores(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores``."""
    query = validate_list_query(r.params, with_status=False)
    stores = [s.to_api() for s in h.app.resources.all_stores()]
    h._reply_json(page(stores, query), r.method, r.rel)


def create_store(h: Handler, r: Request) -> None:
    """``POST /knowledge-stores`` → 201 KnowledgeStore."""
    data = json_object(r.body, ("name", "description", "metadata", "ingestion_config"))
    fields = _store_fields(data, creating=True)
    config = (validate_ingestion_config(data["ingestion_config"])
              if "ingestion_config" in data else None)
    store = h.app.resources.create_store(fields["name"], fields.get("description"),
                                         fields.get("metadata", {}), config)
    h._send_json(201, store.to_api())


def get_store(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores/{id}``."""
    h._reply_json(h.app.resources.store(r.parts[1]).to_api(), r.method, r.rel)


def update_store(h: Handler, r: Request) -> None:
    """``PATCH /knowledge-stores/{id}``: ``name``, ``description``, ``metadata`` only."""
    h.app.resources.store(r.parts[1])
    data = json_object(r.body, ("name", "description", "metadata", "ingestion_config"))
    if "ingestion_config" in data:
        raise invalid("ingestion_config", "It is fixed when the knowledge store is created.")
    store = h.app.resources.update_store(r.parts[1], _store_fields(data, creating=False))
    h._reply_json(store.to_api(), r.method, r.rel)


def delete_store(h: Handler, r: Request) -> None:
    """``DELETE /knowledge-stores/{id}``: the store, its items and collections."""
    h.app.resources.delete_store(r.parts[1])
    no_content(h)


# --------------------------------------------------------------------- items
def list_items(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores/{id}/items`` (``status`` filter, repeated or comma list)."""
    store = h.app.resources.store(r.parts[1])
    query = validate_list_query(r.params, with_status=True, statuses=ITEM_STATUSES)
    items = [i.to_api() for i in store.items
             if not query.statuses or i.status in query.statuses]
    h._reply_json(page(items, query), r.method, r.rel)


def create_item(h: Handler, r: Request) -> None:
    """``POST /knowledge-stores/{id}/items`` → 202 item in ``queued``."""
    app = h.app
    app.resources.store(r.parts[1])
    data = json_object(r.body, ("asset_id", "asset_type", "metadata"))
    asset_id = data.get("asset_id")
    if asset_id is None:
        raise missing("asset_id")
    if not isinstance(asset_id, str):
        raise invalid("asset_id")
    asset_type = data.get("asset_type", "video")
    if asset_type not in ("video", "image"):
        raise invalid("asset_type", "Use `video` or `image`.")
    metadata = metadata_field(data, ITEM_METADATA) or {}
    asset = app.assets.require(asset_id)
    status = asset.status(app.assets.now())
    if status != "ready":
        raise ApiError(400, "parameter_invalid",
                       f"The asset `{asset_id}` is {status}, not ready. Wait until its status "
                       "is `ready` before adding it to a knowledge store.")
    fail = bool(app.faults.take(frozenset({FaultKind.FAIL_INDEXING}), r.method, r.rel, None))
    item = app.resources.add_item(r.parts[1], asset, asset_type, metadata, fail=fail)
    h._send_json(202, item.to_api())


def get_item(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores/{id}/items/{item_id}``."""
    h._reply_json(h.app.resources.item(r.parts[1], r.parts[3]).to_api(), r.method, r.rel)


def delete_item(h: Handler, r: Request) -> None:
    """``DELETE /knowledge-stores/{id}/items/{item_id}`` (the asset stays)."""
    h.app.resources.delete_item(r.parts[1], r.parts[3])
    no_content(h)


# --------------------------------------------------------------------- collections
def list_collections(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores/{id}/item-collections`` (sortable by name too)."""
    store: Store = h.app.resources.store(r.parts[1])
    params = dict(r.params)
    by_name = params.get("sort_by", [""])[-1] == "name"
    if by_name:
        params.pop("sort_by")
    query = validate_list_query(params, with_status=False)
    rows = [c.to_api(store.id) for c in store.collections]
    key = (lambda row: (row["name"], row["_id"])) if by_name else None
    h._reply_json(page(rows, query, key), r.method, r.rel)


def create_collection(h: Handler, r: Request) -> None:
    """``POST /knowledge-stores/{id}/item-collections`` → 201 collection."""
    h.app.resources.store(r.parts[1])
    data = json_object(r.body, ("name", "description", "metadata"))
    fields = _store_fields(data, creating=True)
    collection = h.app.resources.create_collection(
        r.parts[1], fields["name"], fields.get("description"), fields.get("metadata", {}))
    h._send_json(201, collection.to_api(r.parts[1]))


def get_collection(h: Handler, r: Request) -> None:
    """``GET /knowledge-stores/{id}/item-collections/{cid}``."""
    store, collection = h.app.resources.collection(r.parts[1], r.parts[3])
    h._reply_json(collection.to_api(store.id), r.method, r.rel)


def update_collection(h: Handler, r: Request) -> None:
    """``PATCH …/item-collections/{cid}``: ``name``, ``description``, ``metadata``."""
    h.app.resources.collection(r.parts[1], r.parts[3])
    data = json_object(r.body, ("name", "description", "metadata"))
    collection = h.app.resources.update_collection(
        r.parts[1], r.parts[3], _store_fields(data, creating=False))
    h._reply_json(collection.to_api(r.parts[1]), r.method, r.rel)


def delete_collection(h: Handler, r: Request) -> None:
    """``DELETE …/item-collections/{cid}`` (the items stay)."""
    h.app.resources.delete_collection(r.parts[1], r.parts[3])
    no_content(h)


def list_collection_items(h: Handler, r: Request) -> None:
    """``GET …/item-collections/{cid}/items``: members in the order they were added."""
    store, collection = h.app.resources.collection(r.parts[1], r.parts[3])
    rows = [item.to_api() for item in (store.item(i) for i in collection.item_ids) if item]
    h._reply_json(plain_page(rows, r.params), r.method, r.rel)


def add_collection_items(h: Handler, r: Request) -> None:
    """``POST …/item-collections/{cid}/items/add`` → the collection (idempotent)."""
    h.app.resources.collection(r.parts[1], r.parts[3])
    ids = id_list(json_object(r.body, ("item_ids",)), "item_ids", "ksi_", MAX_COLLECTION_IDS)
    collection = h.app.resources.add_to_collection(r.parts[1], r.parts[3], ids)
    h._reply_json(collection.to_api(r.parts[1]), r.method, r.rel)


def remove_collection_items(h: Handler, r: Request) -> None:
    """``POST …/item-collections/{cid}/items/remove`` → 204 (idempotent)."""
    h.app.resources.collection(r.parts[1], r.parts[3])
    ids = id_list(json_object(r.body, ("item_ids",)), "item_ids", "ksi_", MAX_COLLECTION_IDS)
    h.app.resources.remove_from_collection(r.parts[1], r.parts[3], ids)
    no_content(h)




def search_store(h: Handler, r: Request) -> None:
    """``POST /knowledge-stores/{id}/search`` (see :mod:`jockey_desktop.sandbox.search`)."""
    app = h.app
    store = app.resources.store(r.parts[1])
    request = validate_search(r.body)
    body = search_page(app.searches, store, app.engines[store.id], request,
                       app.resources.now())
    h._reply_json(body, r.method, r.rel)
