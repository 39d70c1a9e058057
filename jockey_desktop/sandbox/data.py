"""Sample knowledge stores of the sandbox, loaded from ``resources/sandbox/stores/*.json``.

Each file holds one store: the API fields of a KnowledgeStore, ``theme_names`` (tag → display
name used by the answer engine) and ``items``. Each item holds the API fields of a
KnowledgeStoreItem plus sandbox-only ``title`` and ``moments`` (timed descriptions, transcript
lines and tags) that the answer engine searches. Only API fields are ever served.
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
        return json.loads(json.dumps(self.api))


@dataclass(frozen=True)
class Collection:
    """An item collection of a store (``ksic_…``): a named set of the store's item ids."""

    id: str
    name: str
    api: dict[str, Any] = field(repr=False)
    item_ids: tuple[str, ...] = ()


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
        data = json.loads(json.dumps(self.api))
        data["item_count"] = len(self.items)
        return data


_STORE_KEYS = ("_id", "name", "description", "ingestion_config", "metadata", "created_at",
               "updated_at")
_ITEM_KEYS = ("_id", "asset_id", "asset_type", "status", "metadata", "system_metadata",
              "created_at", "updated_at")


def _parse_item(raw: dict[str, Any]) -> Video:
    item_id = str(raw["_id"])
    title = str(raw["title"])
    api = {key: raw.get(key) for key in _ITEM_KEYS}
    # The title also goes into the item's user metadata so clients can show it.
    api["metadata"] = {"title": title, **(raw.get("metadata") or {})}
    duration = float(raw["system_metadata"]["duration"])
    moments = []
    for index, m in enumerate(raw.get("moments", [])):
        start, end = float(m["start"]), float(m["end"])
        if not 0 <= start < end <= duration:
            raise ValueError(f"moment {index} of {item_id} is outside the video")
        moments.append(Moment(
            id=f"{item_id}#{index}", item_id=item_id, start=start, end=end,
            description=str(m["description"]), transcript=tuple(m.get("transcript", [])),
            tags=tuple(m.get("tags", [])),
        ))
    return Video(id=item_id, title=title, status=str(raw["status"]), duration=duration,
                 api=api, moments=tuple(moments))


def load_store(path: Path) -> Store:
    """Load one store file."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    api = {key: raw.get(key) for key in _STORE_KEYS}
    items = tuple(_parse_item(item) for item in raw.get("items", []))
    return Store(id=str(raw["_id"]), name=str(raw["name"]), api=api, items=items,
                 theme_names=dict(raw.get("theme_names", {})))


def load_stores(folder: Path | None = None) -> dict[str, Store]:
    """Load every ``*.json`` store in ``folder`` (default: the bundled samples), keyed by id."""
    folder = folder or default_stores_dir()
    stores: dict[str, Store] = {}
    for path in sorted(folder.glob("*.json")):
        store = load_store(path)
        stores[store.id] = store
    return stores
