"""Managing knowledge stores, their items and item collections, and searching a store
(jockey-api.md §7). A mixin of :class:`~jockey_desktop.core.api.JockeyClient`.

Retries follow the transport's rule: reads, deletes, PATCHes and the idempotent POSTs
(adding or removing collection members, searching) are retried on connection errors, 429
and 5xx; creating a store, an item or a collection is not (except when the server provably
did not process it), since a second attempt would create a second one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from jockey_desktop.core.api.errors import InvalidInputError, InvalidRequestError, JockeyError
from jockey_desktop.core.api.metadata import validate_metadata
from jockey_desktop.core.api.models import KnowledgeStore, KnowledgeStoreItem
from jockey_desktop.core.api.resources import ItemCollection, SearchHit, SearchPage
from jockey_desktop.core.api.transport import Transport, require_dict, seg

#: ``add_item``'s ``asset_type`` values.
ITEM_ASSET_TYPES = ("video", "image")
#: Most item ids one call may add to or remove from a collection.
MAX_COLLECTION_BATCH = 500
#: Largest search page the API serves.
MAX_SEARCH_PAGE = 50


class ManagementMixin(Transport):
    """Stores, items, collections and search over the shared transport."""

    # -- stores ----------------------------------------------------------------------------

    def create_knowledge_store(
        self, name: str, *, description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> KnowledgeStore:
        """Create a store. ``metadata`` is checked against the store limits before sending
        (``InvalidInputError``); not retried after it may have reached the server."""
        body = _fields(name, description, metadata, scope="store", creating=True)
        data = self._call_json("POST", "/knowledge-stores", json_body=body)
        return KnowledgeStore.from_json(require_dict(data))

    def update_knowledge_store(
        self, store_id: str, *, name: str | None = None, description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> KnowledgeStore:
        """Change a store's name, description or metadata (only the fields given are sent;
        ``metadata`` replaces the whole map, ``{}`` clears it)."""
        body = _fields(name, description, metadata, scope="store", creating=False)
        data = self._call_json("PATCH", f"/knowledge-stores/{seg(store_id)}", json_body=body)
        return KnowledgeStore.from_json(require_dict(data))

    def delete_knowledge_store(self, store_id: str) -> None:
        """Delete a store and every item in it."""
        self._call_json("DELETE", f"/knowledge-stores/{seg(store_id)}", allow_empty=True)

    # -- items -----------------------------------------------------------------------------

    def add_item(
        self, store_id: str, asset_id: str, *, asset_type: Literal["video", "image"],
        metadata: Mapping[str, Any] | None = None,
    ) -> KnowledgeStoreItem:
        """Add an uploaded asset to a store; the item starts ``queued``. ``asset_type`` is
        always sent (the API would otherwise take an image for a video)."""
        if asset_type not in ITEM_ASSET_TYPES:
            raise InvalidInputError(f"An item must be a video or an image, not {asset_type!r}.",
                                    code="parameter_invalid")
        body: dict[str, Any] = {"asset_id": asset_id, "asset_type": asset_type}
        if metadata is not None:
            body["metadata"] = validate_metadata(metadata, "item")
        data = self._call_json("POST", f"/knowledge-stores/{seg(store_id)}/items",
                               json_body=body)
        return KnowledgeStoreItem.from_json(require_dict(data))

    def delete_item(self, store_id: str, item_id: str) -> None:
        """Remove an item from its store."""
        self._call_json("DELETE", f"/knowledge-stores/{seg(store_id)}/items/{seg(item_id)}",
                        allow_empty=True)

    # -- item collections ------------------------------------------------------------------

    def list_collections(self, store_id: str) -> list[ItemCollection]:
        """Every item collection of a store (walks all pages)."""
        path = f"/knowledge-stores/{seg(store_id)}/item-collections"
        return [ItemCollection.from_json(d) for d in self._paged(path, {})]

    def create_collection(
        self, store_id: str, name: str, *, description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> ItemCollection:
        """Create a collection; ``name`` must be unique in the store (else ``ConflictError``
        or ``InvalidRequestError``, as the server says)."""
        body = _fields(name, description, metadata, scope="collection", creating=True)
        data = self._call_json("POST", f"/knowledge-stores/{seg(store_id)}/item-collections",
                               json_body=body)
        return ItemCollection.from_json(require_dict(data))

    def get_collection(self, store_id: str, collection_id: str) -> ItemCollection:
        """One collection; ``CollectionNotFoundError`` if it does not exist."""
        return ItemCollection.from_json(require_dict(
            self._get_json(_collection_path(store_id, collection_id))))

    def update_collection(
        self, store_id: str, collection_id: str, *, name: str | None = None,
        description: str | None = None, metadata: Mapping[str, Any] | None = None,
    ) -> ItemCollection:
        """Rename a collection or change its description or metadata (only what is given)."""
        body = _fields(name, description, metadata, scope="collection", creating=False)
        data = self._call_json("PATCH", _collection_path(store_id, collection_id),
                               json_body=body)
        return ItemCollection.from_json(require_dict(data))

    def delete_collection(self, store_id: str, collection_id: str) -> None:
        """Delete a collection; its items stay in the store."""
        self._call_json("DELETE", _collection_path(store_id, collection_id), allow_empty=True)

    def list_collection_items(
        self, store_id: str, collection_id: str
    ) -> list[KnowledgeStoreItem]:
        """Every item in a collection (walks all pages)."""
        path = _collection_path(store_id, collection_id) + "/items"
        return [KnowledgeStoreItem.from_json(d) for d in self._paged(path, {})]

    def add_collection_items(
        self, store_id: str, collection_id: str, item_ids: Sequence[str]
    ) -> ItemCollection:
        """Add items (at most 500 per call) to a collection; adding one twice is harmless."""
        data = self._call_json(
            "POST", _collection_path(store_id, collection_id) + "/items/add",
            json_body={"item_ids": _item_batch(item_ids)}, idempotent=True)
        return ItemCollection.from_json(require_dict(data))

    def remove_collection_items(
        self, store_id: str, collection_id: str, item_ids: Sequence[str]
    ) -> None:
        """Remove items (at most 500 per call) from a collection; they stay in the store."""
        self._call_json(
            "POST", _collection_path(store_id, collection_id) + "/items/remove",
            json_body={"item_ids": _item_batch(item_ids)}, idempotent=True, allow_empty=True)

    # -- search ----------------------------------------------------------------------------

    def search_store(
        self, store_id: str, text: str, *, item_ids: Sequence[str] | None = None,
        page_size: int = 10, page_token: str | None = None,
    ) -> SearchPage:
        """Search a store's videos and images in natural language, best match first.

        ``item_ids`` limits the search to those items; ``page_token`` (from the previous
        page's ``next_page_token``) fetches the next page. Hits carry the item's metadata;
        resolve media through the item's asset. An expired page token raises
        ``InvalidRequestError`` saying to search again.
        """
        if not text.strip():
            raise InvalidInputError("Type something to search for.", code="parameter_invalid")
        if not 1 <= page_size <= MAX_SEARCH_PAGE:
            raise InvalidInputError(
                f"A search page holds 1 to {MAX_SEARCH_PAGE} results, not {page_size}.",
                code="parameter_invalid")
        body: dict[str, Any] = {"query": {"text": text}, "page_size": page_size,
                                "include_metadata": True}
        if item_ids is not None:
            body["filter"] = {"item_id": {"in": list(item_ids)}}
        if page_token:
            body["page_token"] = page_token
        try:
            # A search changes nothing on the server: safe to send again.
            data = require_dict(self._call_json(
                "POST", f"/knowledge-stores/{seg(store_id)}/search", json_body=body,
                idempotent=True))
        except JockeyError as error:
            if error.status == 410:
                raise InvalidRequestError(
                    "These search results expired; run the search again.",
                    status=410, code=error.code) from None
            raise
        rows = data.get("data")
        hits = tuple(SearchHit.from_json(r) for r in rows if isinstance(r, Mapping)) \
            if isinstance(rows, list) else ()
        token = data.get("next_page_token")
        return SearchPage(hits, token if isinstance(token, str) and token else None)


def _collection_path(store_id: str, collection_id: str) -> str:
    return f"/knowledge-stores/{seg(store_id)}/item-collections/{seg(collection_id)}"


def _fields(
    name: str | None, description: str | None, metadata: Mapping[str, Any] | None, *,
    scope: Literal["store", "collection"], creating: bool,
) -> dict[str, Any]:
    """The body of a create (``name`` required) or an update (only what is given) of a
    store or collection, checked before sending."""
    body: dict[str, Any] = {}
    if name is not None or creating:
        if not isinstance(name, str) or not name.strip():
            what = "knowledge store" if scope == "store" else "collection"
            raise InvalidInputError(f"A {what} needs a name.", code="parameter_invalid")
        body["name"] = name
    if description is not None:
        body["description"] = description
    if metadata is not None:
        body["metadata"] = validate_metadata(metadata, scope)
    if not body:
        raise InvalidInputError("Nothing to change was given.", code="parameter_invalid")
    return body


def _item_batch(item_ids: Sequence[str]) -> list[str]:
    ids = [item_ids] if isinstance(item_ids, str) else list(item_ids)
    if not ids:
        raise InvalidInputError("No items were given.", code="parameter_invalid")
    if len(ids) > MAX_COLLECTION_BATCH:
        raise InvalidInputError(
            f"At most {MAX_COLLECTION_BATCH} items can be added or removed at once, "
            f"not {len(ids)}.", code="parameter_invalid")
    return ids


__all__ = ["ITEM_ASSET_TYPES", "MAX_COLLECTION_BATCH", "MAX_SEARCH_PAGE", "ManagementMixin"]
