"""The sandbox's knowledge stores, their items and item collections, as the API changes them.

:class:`ResourceRegistry` owns the server's ``stores`` and ``engines`` dicts (the ``/responses``
code reads them as before). ``Store``/``Video``/``Collection`` stay immutable: every change
builds a new ``Store``, puts it into ``stores`` and rebuilds that store's ``AnswerEngine``, so a
reader always sees one consistent version.

Sample stores come from ``resources/sandbox/stores``. With a ``state_dir``, every created or
changed store is written to ``state_dir/resources/stores/<id>.json`` (atomically, in the sample
file format plus the indexing state of its unsettled items) and read back at start-up, where it
replaces the sample of the same id; deleted sample stores are listed in
``removed_samples.json``. Without a ``state_dir`` changes live in memory.

Item lifecycle (jockey-api.md §7): a new item is ``queued``; over ``Pace.indexing_time``
seconds it becomes ``pending`` (from 15 %), ``processing`` (from 30 %) and finally ``ready`` or
``failed``. Time is read lazily: every lookup first settles what is due, so with
``Pace.instant()`` the next read already sees the outcome, and after a restart overdue items
settle at once. Items of sample stores never change status on their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jockey_desktop.core.storage.export import write_file_atomically
from jockey_desktop.sandbox.assets import Asset, AssetStore
from jockey_desktop.sandbox.data import (
    Collection,
    Store,
    Video,
    dump_store,
    load_stores,
    parse_store,
)
from jockey_desktop.sandbox.engine import AnswerEngine
from jockey_desktop.sandbox.guarded import Guarded
from jockey_desktop.sandbox.ids import new_id, rfc3339
from jockey_desktop.sandbox.pace import Pace
from jockey_desktop.sandbox.synthetic import build_item
from jockey_desktop.sandbox.validation import ApiError

log = logging.getLogger(__name__)

#: Fractions of ``Pace.indexing_time`` at which an item leaves ``queued`` and ``pending``.
_PENDING_AT = 0.15
_PROCESSING_AT = 0.30


@dataclass
class _Indexing:
    """An item still on its way to ``ready`` or ``failed``."""

    store_id: str
    queued_at: float
    outcome: str  # "ready" | "failed"


def _not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, "resource_not_exist", f"The {kind} `{ident[:80]}` does not exist.")


def _status_at(elapsed: float, total: float, outcome: str) -> str:
    if elapsed >= total:
        return outcome
    fraction = elapsed / total
    if fraction < _PENDING_AT:
        return "queued"
    return "pending" if fraction < _PROCESSING_AT else "processing"


class ResourceRegistry(Guarded):
    """Thread-safe stores, items and collections (see the module docstring)."""

    def __init__(self, stores: dict[str, Store], engines: dict[str, AnswerEngine],
                 assets: AssetStore, *, stores_dir: Path | None, state_dir: Path | None,
                 pace: Pace, clock: Callable[[], float] = time.time) -> None:
        self._stores = stores
        self._engines = engines
        self.assets = assets
        self.pace = pace
        super().__init__(clock)
        self._indexing: dict[str, _Indexing] = {}
        self._dir = Path(state_dir) / "resources" / "stores" if state_dir else None
        self._removed: set[str] = set()
        samples = load_stores(stores_dir)
        self._sample_ids = set(samples)
        assets.add_samples(samples)
        stores.clear()
        stores.update(samples)
        self._load()
        for store in stores.values():
            engines[store.id] = AnswerEngine(store)

    # ----------------------------------------------------------------- persistence
    def _load(self) -> None:
        if self._dir is None:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError, ValueError):
            self._removed = set(json.loads(
                (self._dir / "removed_samples.json").read_text(encoding="utf-8")))
        for store_id in self._removed:
            self._stores.pop(store_id, None)
        for path in sorted(self._dir.glob("ks_*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                store = parse_store(raw)
                lifecycle = {item_id: _Indexing(store.id, float(entry["queued_at"]),
                                                str(entry["outcome"]))
                             for item_id, entry in raw.get("indexing", {}).items()}
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("ignoring unreadable store file %s: %s", path.name, exc)
                continue
            self._stores[store.id] = store
            self._indexing.update(lifecycle)

    def _save(self, store_id: str) -> None:
        if self._dir is None:
            return
        path = self._dir / f"{store_id}.json"
        store = self._stores.get(store_id)
        if store is None:
            with contextlib.suppress(OSError):
                path.unlink()
            if store_id in self._sample_ids:
                self._removed.add(store_id)
                write_file_atomically(self._dir / "removed_samples.json",
                                      json.dumps(sorted(self._removed)))
            return
        raw = dump_store(store)
        raw["indexing"] = {item_id: {"queued_at": entry.queued_at, "outcome": entry.outcome}
                           for item_id, entry in self._indexing.items()
                           if entry.store_id == store_id}
        write_file_atomically(path, raw)

    def _put(self, store: Store) -> Store:
        """Publish a new version of ``store``: the dict, its engine and the file."""
        self._stores[store.id] = store
        self._engines[store.id] = AnswerEngine(store)
        self._save(store.id)
        return store

    # ----------------------------------------------------------------- lifecycle
    def refresh(self) -> None:
        """Settle every status change that is due by now."""
        with self._lock:
            if not self._indexing:
                return
            now = self._clock()
            total = self.pace.indexing_time
            changed: dict[str, dict[str, str]] = {}
            for item_id, entry in list(self._indexing.items()):
                status = _status_at(now - entry.queued_at, total, entry.outcome)
                store = self._stores.get(entry.store_id)
                item = store.item(item_id) if store is not None else None
                if item is None:
                    del self._indexing[item_id]
                    continue
                if status != item.status:
                    changed.setdefault(entry.store_id, {})[item_id] = status
                if status in ("ready", "failed"):
                    del self._indexing[item_id]
            stamp = rfc3339(now)
            for store_id, statuses in changed.items():
                store = self._stores[store_id]
                items = tuple(self._with_status(item, statuses[item.id], stamp)
                              if item.id in statuses else item for item in store.items)
                self._put(dataclasses.replace(store, items=items))

    @staticmethod
    def _with_status(item: Video, status: str, stamp: str) -> Video:
        api = dict(item.api, status=status, updated_at=stamp)
        return dataclasses.replace(item, status=status, api=api)

    # ----------------------------------------------------------------- stores
    def store(self, store_id: str) -> Store:
        """The store (after settling due changes), or 400 for a malformed id, 404 unknown."""
        if not store_id.startswith("ks_"):
            raise ApiError(400, "parameter_invalid",
                           "The `knowledge_store_id` parameter is invalid.")
        self.refresh()
        store = self._stores.get(store_id)
        if store is None:
            raise ApiError(404, "resource_not_exist",
                           f"The knowledge store `{store_id}` does not exist.")
        return store

    def all_stores(self) -> list[Store]:
        """Every store, after settling due changes."""
        self.refresh()
        return list(self._stores.values())

    def create_store(self, name: str, description: str | None, metadata: dict[str, Any],
                     ingestion_config: dict[str, Any] | None) -> Store:
        """A new, empty store."""
        stamp = rfc3339(self._clock())
        store_id = new_id("ks_")
        api = {"_id": store_id, "name": name, "description": description,
               "ingestion_config": ingestion_config, "metadata": metadata,
               "created_at": stamp, "updated_at": stamp}
        with self._lock:
            return self._put(Store(id=store_id, name=name, api=api))

    def update_store(self, store_id: str, changes: dict[str, Any]) -> Store:
        """Replace ``name``, ``description`` and/or ``metadata`` (whole map)."""
        with self._lock:
            store = self.store(store_id)
            api = dict(store.api, **changes, updated_at=rfc3339(self._clock()))
            return self._put(dataclasses.replace(store, name=str(api["name"]), api=api))

    def delete_store(self, store_id: str) -> None:
        """Remove the store with all its items and collections (assets stay)."""
        with self._lock:
            self.store(store_id)
            del self._stores[store_id]
            self._engines.pop(store_id, None)
            for item_id in [i for i, e in self._indexing.items() if e.store_id == store_id]:
                del self._indexing[item_id]
            self._save(store_id)

    # ----------------------------------------------------------------- items
    def item(self, store_id: str, item_id: str) -> Video:
        """The item, or 400 for a malformed id and 404 for an unknown one."""
        store = self.store(store_id)
        if not item_id.startswith("ksi_"):
            raise ApiError(400, "parameter_invalid", "The `item_id` parameter is invalid.")
        item = store.item(item_id)
        if item is None:
            raise _not_found("knowledge store item", item_id)
        return item

    def add_item(self, store_id: str, asset: Asset, asset_type: str,
                 metadata: dict[str, Any], fail: bool = False) -> Video:
        """A new ``queued`` item; it ends ``failed`` when ``fail`` or when the asset's kind
        does not match ``asset_type`` (as indexing an image as a video fails on the platform).
        """
        with self._lock:
            store = self.store(store_id)
            now = self._clock()
            item = build_item(new_id("ksi_"), asset, asset_type, metadata, now)
            outcome = "failed" if fail or asset.kind != asset_type else "ready"
            if outcome == "failed":
                item = dataclasses.replace(item, moments=())
            self._indexing[item.id] = _Indexing(store.id, now, outcome)
            self._put(dataclasses.replace(store, items=(*store.items, item)))
            return item

    def delete_item(self, store_id: str, item_id: str) -> None:
        """Remove the item (and its membership in every collection)."""
        with self._lock:
            store = self.store(store_id)
            self.item(store_id, item_id)
            self._indexing.pop(item_id, None)
            collections = tuple(
                dataclasses.replace(c, item_ids=tuple(i for i in c.item_ids if i != item_id))
                for c in store.collections)
            self._put(dataclasses.replace(
                store, items=tuple(i for i in store.items if i.id != item_id),
                collections=collections))

    def find_item(self, item_id: str) -> tuple[Store, Video] | None:
        """The store and item with ``item_id`` in any store, or None."""
        for store in list(self._stores.values()):
            item = store.item(item_id)
            if item is not None:
                return store, item
        return None

    def items_using(self, asset_id: str) -> list[tuple[str, str]]:
        """(store id, item id) of every item made from ``asset_id``."""
        self.refresh()
        return [(store.id, item.id) for store in list(self._stores.values())
                for item in store.items if item.api.get("asset_id") == asset_id]

    # ----------------------------------------------------------------- collections
    def collection(self, store_id: str, collection_id: str) -> tuple[Store, Collection]:
        """The store and collection, or 400 for a malformed id and 404 for an unknown one."""
        store = self.store(store_id)
        if not collection_id.startswith("ksic_"):
            raise ApiError(400, "parameter_invalid",
                           "The `collection_id` parameter is invalid.")
        collection = store.collection(collection_id)
        if collection is None:
            raise _not_found("item collection", collection_id)
        return store, collection

    def _check_name(self, store: Store, name: str, exclude: str | None = None) -> None:
        if any(c.name == name and c.id != exclude for c in store.collections):
            raise ApiError(409, "collection_name_already_exists",
                           f"An item collection named `{name[:80]}` already exists in this "
                           "knowledge store.")

    def _replace_collection(self, store: Store, collection: Collection) -> Collection:
        collections = tuple(collection if c.id == collection.id else c
                            for c in store.collections)
        self._put(dataclasses.replace(store, collections=collections))
        return collection

    def create_collection(self, store_id: str, name: str, description: str | None,
                          metadata: dict[str, Any]) -> Collection:
        """A new, empty collection whose name is unique in the store."""
        with self._lock:
            store = self.store(store_id)
            self._check_name(store, name)
            stamp = rfc3339(self._clock())
            collection_id = new_id("ksic_")
            api = {"_id": collection_id, "name": name, "description": description,
                   "metadata": metadata, "created_at": stamp, "updated_at": stamp}
            collection = Collection(id=collection_id, name=name, api=api)
            self._put(dataclasses.replace(store, collections=(*store.collections, collection)))
            return collection

    def update_collection(self, store_id: str, collection_id: str,
                          changes: dict[str, Any]) -> Collection:
        """Replace ``name``, ``description`` and/or ``metadata`` of a collection."""
        with self._lock:
            store, collection = self.collection(store_id, collection_id)
            if "name" in changes:
                self._check_name(store, changes["name"], exclude=collection.id)
            api = dict(collection.api, **changes, updated_at=rfc3339(self._clock()))
            return self._replace_collection(store, dataclasses.replace(
                collection, name=str(api["name"]), api=api))

    def delete_collection(self, store_id: str, collection_id: str) -> None:
        """Remove the collection; its items stay in the store."""
        with self._lock:
            store, collection = self.collection(store_id, collection_id)
            self._put(dataclasses.replace(store, collections=tuple(
                c for c in store.collections if c.id != collection.id)))

    def add_to_collection(self, store_id: str, collection_id: str,
                          item_ids: list[str]) -> Collection:
        """Add items of the store (idempotent); every id must name an item of the store."""
        with self._lock:
            store, collection = self.collection(store_id, collection_id)
            unknown = [i for i in item_ids if store.item(i) is None]
            if unknown:
                shown = ", ".join(f"`{i[:80]}`" for i in unknown[:3])
                more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
                raise ApiError(400, "parameter_invalid",
                               f"The `item_ids` parameter is invalid. These items are not in "
                               f"the knowledge store: {shown}{more}.")
            new = [i for i in item_ids if i not in collection.item_ids]
            if not new:
                return collection
            api = dict(collection.api, updated_at=rfc3339(self._clock()))
            return self._replace_collection(store, dataclasses.replace(
                collection, api=api, item_ids=(*collection.item_ids, *new)))

    def remove_from_collection(self, store_id: str, collection_id: str,
                               item_ids: list[str]) -> Collection:
        """Remove items from the collection (ids that are not members are ignored)."""
        with self._lock:
            store, collection = self.collection(store_id, collection_id)
            gone = set(item_ids)
            if not gone & set(collection.item_ids):
                return collection
            api = dict(collection.api, updated_at=rfc3339(self._clock()))
            return self._replace_collection(store, dataclasses.replace(
                collection, api=api,
                item_ids=tuple(i for i in collection.item_ids if i not in gone)))
