"""The routing table of the sandbox's resource endpoints (jockey-api.md §5, §7).

``server._Handler._match`` asks :func:`match` for the route of a path; each route maps HTTP
methods to functions ``fn(handler, request)``. ``/responses`` stays in ``server.py``.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from jockey_desktop.sandbox.asset_routes import (
    create_asset,
    delete_asset,
    get_asset,
    get_transcription,
    list_assets,
)
from jockey_desktop.sandbox.formdata import BLOCK
from jockey_desktop.sandbox.handlers import Handler, Route
from jockey_desktop.sandbox.media_routes import serve_media
from jockey_desktop.sandbox.store_routes import (
    add_collection_items,
    create_collection,
    create_item,
    create_store,
    delete_collection,
    delete_item,
    delete_store,
    get_collection,
    get_item,
    get_store,
    list_collection_items,
    list_collections,
    list_items,
    list_stores,
    remove_collection_items,
    search_store,
    update_collection,
    update_store,
)
from jockey_desktop.sandbox.upload_routes import (
    create_upload,
    list_uploads,
    presigned_urls,
    put_chunk,
    report_chunks,
    upload_status,
)
from jockey_desktop.sandbox.validation import ApiError

_STORES = Route({"GET": list_stores, "POST": create_store})
_STORE = Route({"GET": get_store, "PATCH": update_store, "DELETE": delete_store})
_ITEMS = Route({"GET": list_items, "POST": create_item})
_ITEM = Route({"GET": get_item, "DELETE": delete_item})
_COLLECTIONS = Route({"GET": list_collections, "POST": create_collection})
_COLLECTION = Route({"GET": get_collection, "PATCH": update_collection,
                     "DELETE": delete_collection})
_COLLECTION_ITEMS = Route({"GET": list_collection_items})
_COLLECTION_ADD = Route({"POST": add_collection_items})
_COLLECTION_REMOVE = Route({"POST": remove_collection_items})
_SEARCH = Route({"POST": search_store})


def _store_route(parts: list[str]) -> Route | None:
    n = len(parts)
    if n == 1:
        return _STORES
    if n == 2:
        return _STORE
    if parts[2] == "search":
        return _SEARCH if n == 3 else None
    if parts[2] == "items":
        return _ITEMS if n == 3 else _ITEM if n == 4 else None
    if parts[2] == "item-collections":
        if n == 3:
            return _COLLECTIONS
        if n == 4:
            return _COLLECTION
        if parts[4] == "items":
            if n == 5:
                return _COLLECTION_ITEMS
            if n == 6:
                return {"add": _COLLECTION_ADD, "remove": _COLLECTION_REMOVE}.get(parts[5])
    return None


_ASSETS = Route({"GET": list_assets, "POST": create_asset})
_ASSET = Route({"GET": get_asset, "DELETE": delete_asset})
_TRANSCRIPTION = Route({"GET": get_transcription})
_MEDIA = Route({"GET": serve_media, "HEAD": serve_media}, needs_key=False)
_UPLOADS = Route({"GET": list_uploads, "POST": create_upload})
_UPLOAD = Route({"GET": upload_status, "POST": report_chunks})
_UPLOAD_URLS = Route({"POST": presigned_urls})
_CHUNK = Route({"PUT": put_chunk}, needs_key=False)

#: First path segments served outside the API prefix (the media and upload "hosts").
OUTSIDE_API = frozenset({"media", "upload-chunks"})


def _asset_route(parts: list[str]) -> Route | None:
    n = len(parts)
    if n == 1:
        return _ASSETS
    if parts[1] == "multipart-uploads":
        if n == 2:
            return _UPLOADS
        if n == 3:
            return _UPLOAD
        return _UPLOAD_URLS if n == 4 and parts[3] == "presigned-urls" else None
    if n == 2:
        return _ASSET
    return _TRANSCRIPTION if n == 3 and parts[2] == "transcription" else None


def match(parts: list[str]) -> Route | None:
    """The route for a path: ``parts`` relative to ``/v1.3``, or starting with ``""`` for a
    path outside the API (media and upload URLs)."""
    if not parts:
        return None
    if parts[0] == "knowledge-stores":
        return _store_route(parts)
    if parts[0] == "assets":
        return _asset_route(parts)
    if parts[0] == "" and len(parts) >= 2:
        return {"media": _MEDIA, "upload-chunks": _CHUNK}.get(parts[1])
    return None


def split_path(path: str, api_prefix: str) -> tuple[str, list[str]] | None:
    """(``rel``, ``parts``) of a request path, or None when nothing is served there.

    Inside the API ``rel`` is relative to ``api_prefix`` (what faults match on) and ``parts``
    are its unquoted segments; outside it (media and upload URLs) ``rel`` is the path itself
    and ``parts`` start with an empty segment, which no API path can produce.
    """
    if path == api_prefix or path.startswith(api_prefix + "/"):
        rel = path[len(api_prefix):].rstrip("/") or "/"
        return rel, ([unquote(p) for p in rel.strip("/").split("/")] if rel != "/" else [])
    segments = path.strip("/").split("/")
    if segments[0] in OUTSIDE_API:
        return path.rstrip("/"), ["", *(unquote(p) for p in segments)]
    return None


#: How much of an upload's body is read and dropped before an error reply (see ``_route``).
DRAIN_LIMIT = 256 * 1024 * 1024
DRAIN_SECONDS = 30.0


def drain_upload(h: Handler) -> None:
    """Read and drop the rest of an upload body before an error reply, within
    :data:`DRAIN_LIMIT` bytes and :data:`DRAIN_SECONDS`; past them the connection just closes
    after the reply. Never raises."""
    reader = h.upload_body
    if reader is None or (reader.length is not None
                          and reader.length - reader.received > DRAIN_LIMIT):
        return
    deadline = time.monotonic() + DRAIN_SECONDS
    dropped = 0
    try:
        while not reader.finished and dropped <= DRAIN_LIMIT and time.monotonic() < deadline:
            dropped += len(reader.read(BLOCK))
    except (ApiError, OSError):
        return
    if reader.finished:
        h.close_connection = not h.keep_alive  # in sync again: the connection may stay


def streams_body(method: str, path: str, api_prefix: str) -> bool:
    """Whether a request's body is read by its route (uploads) instead of up front."""
    if method == "POST":
        return path.rstrip("/") == api_prefix + "/assets"
    return method == "PUT" and path.startswith("/upload-chunks/")

