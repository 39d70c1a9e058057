"""``POST /knowledge-stores/{id}/search`` (jockey-api.md §7; SDK ``knowledge_stores.search``).

Results come from the store's answer engine: its BM25 ranking over the moments of ready items.
A moment's *modalities* are the fields the query's words hit: ``visual`` for the description,
tags and title, ``audio`` for the transcript (a hit only through a synonym counts as visual);
``search_options.video.modalities`` (default ``["visual"]``) keeps the moments that matched in
one of the requested ones, and a match lists only requested modalities. ``group_by: "none"``
gives one result per moment, ``"item"`` one per item with its moments in rank order; image
items are results without ``matches``.

Pages: ``page_size`` (1–50, default 10) results per page; the rest stays on the server behind
``next_page_token``, which expires ``search_token_ttl`` seconds after it was issued (410
``page_token_expired``); an unknown token is a 400. Hits carry no media URLs.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jockey_desktop.sandbox.bodies import bool_field, int_field, json_object
from jockey_desktop.sandbox.data import Moment, Store, Video
from jockey_desktop.sandbox.engine import AnswerEngine, tokenize
from jockey_desktop.sandbox.validation import ApiError, invalid, missing

MAX_QUERY_CHARS = 2_000
MAX_PAGE_SIZE = 50
_MAX_RESULTS = 1_000
_MAX_FILTER_IDS = 500
MODALITIES = ("visual", "audio")


@dataclass
class _Pages:
    """The results of one search that are still to be fetched."""

    store_id: str
    results: list[dict[str, Any]]
    position: int
    page_size: int
    options: dict[str, Any]
    expires_at: float


class SearchPages:
    """Page tokens of recent searches (thread-safe, in memory)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._pages: dict[str, _Pages] = {}

    def put(self, pages: _Pages) -> str:
        """Store the remaining results; returns their token."""
        token = "pt_" + secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            for old in [t for t, p in self._pages.items() if p.expires_at + self.ttl < now]:
                del self._pages[old]  # long expired: forget (recently expired still → 410)
            self._pages[token] = pages
        return token

    def take(self, token: str, store_id: str) -> _Pages:
        """The pages behind ``token``: 400 unknown, 410 expired."""
        with self._lock:
            pages = self._pages.get(token)
        if pages is None or pages.store_id != store_id:
            raise invalid("page_token", "It is not a page token of this search.")
        if self._clock() > pages.expires_at:
            raise ApiError(410, "page_token_expired",
                           "The page token has expired. Run the search again.")
        return pages


def _operator(value: Any, name: str, allowed: tuple[str, ...] | None) -> set[str]:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("eq", "in"):
        raise invalid(name, "Give exactly one operator, `eq` or `in`.")
    op, operand = next(iter(value.items()))
    values = [operand] if op == "eq" else operand
    if not isinstance(values, list) or not values or len(values) > _MAX_FILTER_IDS \
            or not all(isinstance(v, str) and v for v in values):
        raise invalid(name, "`eq` takes one string, `in` a non-empty list of strings.")
    if allowed is not None and any(v not in allowed for v in values):
        raise invalid(name, "Use " + " or ".join(f"`{a}`" for a in allowed) + ".")
    return set(values)


@dataclass
class SearchRequest:
    """A validated search body."""

    text: str
    asset_types: set[str] | None
    item_ids: set[str] | None
    modalities: list[str]
    group_by: str
    page_size: int
    page_token: str | None
    include_metadata: bool


def validate_search(body: bytes) -> SearchRequest:
    """Validate a search body (400s with the contract's codes)."""
    data = json_object(body, ("query", "filter", "search_options", "group_by", "page_size",
                              "page_token", "include_metadata"))
    token = data.get("page_token")
    if token is not None and (not isinstance(token, str) or not token or len(token) > 200):
        raise invalid("page_token")
    query = data.get("query")
    if query is None and token is None:
        raise missing("query")
    text = ""
    if query is not None:
        if not isinstance(query, dict) or set(query) != {"text"}:
            raise invalid("query", 'It must be {"text": "…"}.')
        text = query["text"]
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_QUERY_CHARS:
            raise invalid("query.text", f"It must be 1–{MAX_QUERY_CHARS:,} characters.")
    asset_types = item_ids = None
    if "filter" in data:
        flt = data["filter"]
        if not isinstance(flt, dict) or set(flt) - {"asset_type", "item_id"}:
            raise invalid("filter", "It may filter on `asset_type` and `item_id`.")
        if "asset_type" in flt:
            asset_types = _operator(flt["asset_type"], "filter.asset_type", ("video", "image"))
        if "item_id" in flt:
            item_ids = _operator(flt["item_id"], "filter.item_id", None)
    modalities = ["visual"]
    if "search_options" in data:
        options = data["search_options"]
        video = options.get("video") if isinstance(options, dict) else None
        chosen = video.get("modalities") if isinstance(video, dict) else None
        if not isinstance(options, dict) or set(options) != {"video"} \
                or not isinstance(video, dict) or set(video) != {"modalities"} \
                or not isinstance(chosen, list) or not chosen \
                or not all(m in MODALITIES for m in chosen):
            raise invalid("search_options",
                          'Use {"video": {"modalities": ["visual", "audio"]}}.')
        modalities = [m for m in MODALITIES if m in chosen]
    group_by = data.get("group_by", "none")
    if group_by not in ("none", "item"):
        raise invalid("group_by", "Use `none` or `item`.")
    page_size = int_field(data, "page_size", default=10, minimum=1, maximum=MAX_PAGE_SIZE)
    return SearchRequest(text=text, asset_types=asset_types, item_ids=item_ids,
                         modalities=modalities, group_by=group_by, page_size=page_size,
                         page_token=token, include_metadata=bool_field(data,
                                                                       "include_metadata",
                                                                       False))


def _modalities(moment: Moment, video: Video, terms: set[str]) -> list[str]:
    visual_text = " ".join([moment.description, *moment.tags, video.title])
    found = []
    if terms & set(tokenize(visual_text)):
        found.append("visual")
    if moment.transcript and terms & set(tokenize(" ".join(moment.transcript))):
        found.append("audio")
    return found or ["visual"]  # matched through a synonym of a tag or description word


def _metadata(video: Video) -> dict[str, Any]:
    system = video.api.get("system_metadata") or {}
    keys = ("width", "height", "size") if video.api.get("asset_type") == "image" else (
        "duration", "width", "height", "size")
    return {"system": {k: system[k] for k in keys if system.get(k) is not None},
            "user": dict(video.api.get("metadata") or {})}


def run_search(store: Store, engine: AnswerEngine, request: SearchRequest
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All results in rank order (not yet paged) and the effective search options."""
    videos = {v.id: v for v in store.ready_items}
    restrict = {v.id for v in videos.values()
                if (request.item_ids is None or v.id in request.item_ids)
                and (request.asset_types is None
                     or v.api.get("asset_type", "video") in request.asset_types)}
    terms = set(tokenize(request.text))
    hits = engine.search(request.text, limit=_MAX_RESULTS, restrict_to=restrict)
    matched: list[tuple[Moment, list[str]]] = []
    for moment, _score in hits:
        video = videos.get(moment.item_id)
        if video is None:
            continue
        # Only the requested modalities are reported (and a moment needs one of them).
        found = [m for m in _modalities(moment, video, terms) if m in request.modalities]
        if found:
            matched.append((moment, found))

    def match(moment: Moment, found: list[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"start_sec": moment.start, "end_sec": moment.end,
                                 "modalities": found}
        if moment.transcript:
            entry["transcription"] = " ".join(moment.transcript)
        return entry

    def result(video: Video, matches: list[dict[str, Any]]) -> dict[str, Any]:
        kind = video.api.get("asset_type", "video")
        hit: dict[str, Any] = {"asset_type": kind, "rank": 0, "item_id": video.id}
        if request.include_metadata:
            hit["metadata"] = _metadata(video)
        if kind != "image":
            hit["matches"] = matches
        return hit

    results: list[dict[str, Any]] = []
    if request.group_by == "item":
        grouped: dict[str, list[dict[str, Any]]] = {}
        for moment, found in matched:
            grouped.setdefault(moment.item_id, []).append(match(moment, found))
        results = [result(videos[item_id], matches) for item_id, matches in grouped.items()]
    else:
        results = [result(videos[m.item_id], [match(m, found)]) for m, found in matched]
    for rank, hit in enumerate(results, start=1):
        hit["rank"] = rank
    return results, {"video": {"modalities": list(request.modalities)}}


def search_page(pages: SearchPages, store: Store, engine: AnswerEngine,
                request: SearchRequest, now: float) -> dict[str, Any]:
    """One page of a new search, or the next page behind ``request.page_token``."""
    if request.page_token is not None:
        current = pages.take(request.page_token, store.id)
        results, options = current.results, current.options
        start, size = current.position, current.page_size
    else:
        results, options = run_search(store, engine, request)
        start, size = 0, request.page_size
    body: dict[str, Any] = {"data": results[start:start + size],
                            "effective_search_options": options}
    if start + size < len(results):
        body["next_page_token"] = pages.put(_Pages(store.id, results, start + size, size,
                                                   options, now + pages.ttl))
    return body
