"""Sample knowledge stores of the sandbox, loaded from ``resources/sandbox/stores/*.json``.

Each file holds one store: the API fields of a KnowledgeStore, ``theme_names`` (tag → display
name used by the answer engine), ``items`` and optionally ``collections``. Each item holds the
API fields of a KnowledgeStoreItem plus sandbox-only ``title`` and ``moments`` (timed
descriptions, transcript lines and tags) that the answer engine searches; the title is also
served as ``metadata.title`` unless ``title_in_metadata`` is false; each collection holds
the API fields of a KnowledgeStoreItemCollection plus ``item_ids``. Only API fields are ever
served. :func:`dump_store` writes the same format back (the registry persists created and
changed stores with it).

An image item has no duration (``system_metadata`` without ``duration``): its moments, if any,
are instants at 0 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jockey_desktop.resources import resource_path

ITEM_STATUSES = ("queued", "pending", "processing", "ready", "failed")


def default_stores_dir() -> Path:
    """Return the bundled sample-store folder (works from source and from a frozen build)."""
    return resource_path("sandbox", "stores")


@dataclass(frozen=True)
class Moment:
    """A timed moment inside a video, the unit the answer engine retrieves and cites."""

    id: str
    item_id: str
    start: float
    end: float
    description: str
    transcript: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Video:
    """A store item (video) with its sandbox-only title and moments."""

    id: str
    title: str
    status: str
    duration: float
    api: dict[str, Any] = field(repr=False)
    moments: tuple[Moment, ...] = ()

    @property
    def ready(self) -> bool:
        """Only ready items are searchable and citable."""
        return self.status == "ready"

    def to_api(self) -> dict[str, Any]:
        """The KnowledgeStoreItem JSON object."""
        data: dict[str, Any] = json.loads(json.dumps(self.api))
        return data


@dataclass(frozen=True)
class Collection:
    """An item collection of a store (``ksic_…``): a named set of the store's item ids."""

    id: str
    name: str
    api: dict[str, Any] = field(repr=False)
    item_ids: tuple[str, ...] = ()

    def to_api(self, store_id: str) -> dict[str, Any]:
        """The KnowledgeStoreItemCollection JSON object (``member_count`` is computed)."""
        data: dict[str, Any] = json.loads(json.dumps(self.api))
        data["knowledge_store_id"] = store_id
        data["member_count"] = len(self.item_ids)
        return data


@dataclass(frozen=True)
class Store:
    """A knowledge store with its items and item collections."""

    id: str
    name: str
    api: dict[str, Any] = field(repr=False)
    items: tuple[Video, ...] = ()
    theme_names: dict[str, str] = field(default_factory=dict, repr=False)
    collections: tuple[Collection, ...] = ()

    @property
    def ready_items(self) -> tuple[Video, ...]:
        """Items the engine may search and cite."""
        return tuple(item for item in self.items if item.ready)

    def item(self, item_id: str) -> Video | None:
        """Return the item with ``item_id``, or None."""
        for item in self.items:
            if item.id == item_id:
                return item
        return None

    def collection(self, collection_id: str) -> Collection | None:
        """Return the item collection with ``collection_id``, or None."""
        for collection in self.collections:
            if collection.id == collection_id:
                return collection
        return None

    def to_api(self) -> dict[str, Any]:
        """The KnowledgeStore JSON object (``item_count`` counts every item)."""
        data: dict[str, Any] = json.loads(json.dumps(self.api))
        data["item_count"] = len(self.items)
        return data


_STORE_KEYS = ("_id", "name", "description", "ingestion_config", "metadata", "created_at",
               "updated_at")
_ITEM_KEYS = ("_id", "asset_id", "asset_type", "status", "metadata", "system_metadata",
              "created_at", "updated_at")
_COLLECTION_KEYS = ("_id", "name", "description", "metadata", "created_at", "updated_at")


def _parse_item(raw: dict[str, Any]) -> Video:
    item_id = str(raw["_id"])
    title = str(raw["title"])
    api = {key: raw.get(key) for key in _ITEM_KEYS}
    # The title also goes into a sample item's user metadata so clients can show it (items
    # added through the API keep exactly the metadata they were given).
    if raw.get("title_in_metadata", True):
        api["metadata"] = {"title": title, **(raw.get("metadata") or {})}
    else:
        api["metadata"] = dict(raw.get("metadata") or {})
    image = raw.get("asset_type") == "image"
    duration = 0.0 if image else float(raw["system_metadata"]["duration"])
    moments = []
    for index, m in enumerate(raw.get("moments", [])):
        start, end = float(m["start"]), float(m["end"])
        inside = start == end == 0.0 if image else 0 <= start < end <= duration
        if not inside:
            raise ValueError(f"moment {index} of {item_id} is outside the video")
        moments.append(Moment(
            id=f"{item_id}#{index}", item_id=item_id, start=start, end=end,
            description=str(m["description"]), transcript=tuple(m.get("transcript", [])),
            tags=tuple(m.get("tags", [])),
        ))
    return Video(id=item_id, title=title, status=str(raw["status"]), duration=duration,
                 api=api, moments=tuple(moments))


def _parse_collection(raw: dict[str, Any]) -> Collection:
    api = {key: raw.get(key) for key in _COLLECTION_KEYS}
    return Collection(id=str(raw["_id"]), name=str(raw["name"]), api=api,
                      item_ids=tuple(str(i) for i in raw.get("item_ids", [])))


def parse_store(raw: dict[str, Any]) -> Store:
    """Build a :class:`Store` from the file format (see the module docstring)."""
    api = {key: raw.get(key) for key in _STORE_KEYS}
    items = tuple(_parse_item(item) for item in raw.get("items", []))
    collections = tuple(_parse_collection(c) for c in raw.get("collections", []))
    return Store(id=str(raw["_id"]), name=str(raw["name"]), api=api, items=items,
                 theme_names=dict(raw.get("theme_names", {})), collections=collections)


def load_store(path: Path) -> Store:
    """Load one store file."""
    return parse_store(json.loads(path.read_text(encoding="utf-8")))


def dump_item(video: Video) -> dict[str, Any]:
    """One item in the file format: API fields plus ``title`` and ``moments``."""
    raw: dict[str, Any] = json.loads(json.dumps(video.api))
    metadata = dict(raw.get("metadata") or {})
    if metadata.get("title") == video.title:
        del metadata["title"]  # _parse_item puts it back
    else:
        raw["title_in_metadata"] = False
    raw["metadata"] = metadata
    raw["title"] = video.title
    raw["moments"] = [{"start": m.start, "end": m.end, "description": m.description,
                       "transcript": list(m.transcript), "tags": list(m.tags)}
                      for m in video.moments]
    return raw


def dump_store(store: Store) -> dict[str, Any]:
    """The store in the file format that :func:`parse_store` reads back."""
    raw: dict[str, Any] = json.loads(json.dumps(store.api))
    raw["_id"] = store.id
    raw["name"] = store.name
    raw["theme_names"] = dict(store.theme_names)
    raw["items"] = [dump_item(item) for item in store.items]
    raw["collections"] = [{**json.loads(json.dumps(c.api)), "item_ids": list(c.item_ids)}
                          for c in store.collections]
    return raw


def load_stores(folder: Path | None = None) -> dict[str, Store]:
    """Load every ``*.json`` store in ``folder`` (default: the bundled samples), keyed by id."""
    folder = folder or default_stores_dir()
    stores: dict[str, Store] = {}
    for path in sorted(folder.glob("*.json")):
        store = load_store(path)
        stores[store.id] = store
    return stores
