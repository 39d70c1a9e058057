"""Where a cited video's media lives: resolving a store item to fresh signed URLs (no Qt).

A citation carries signed ``hls_url`` / ``thumbnail_url`` addresses that expire (jockey-api.md
§7.8). When one is refused, the only way to a fresh one is through the item
(``GET /knowledge-stores/{id}/items/{item_id}`` → ``asset_id``) and the asset
(``GET /assets/{asset_id}`` → ``hls.manifest_url``, ``thumbnail.representative_url``).
:func:`resolve_video` does exactly that, on a worker; the item also gives the video's frame
rate and duration, which the player and the editor exports use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jockey_desktop.core.api import AssetDetail, KnowledgeStoreItem, Transcription
    from jockey_desktop.core.moments_export import SourceFacts


class MediaClient(Protocol):
    """What the player needs of ``core.api.JockeyClient`` (every call blocks: run it on a
    worker). ``fetch_media`` never sends the API key and honours the environment's proxies."""

    def get_item(self, store_id: str, item_id: str) -> KnowledgeStoreItem:
        """One item of a store (its asset id, duration and frame rate)."""
        ...

    def get_asset(self, asset_id: str) -> AssetDetail:
        """An asset with fresh signed HLS and thumbnail URLs."""
        ...

    def get_transcription(self, asset_id: str) -> Transcription | None:
        """The asset's transcription by sentences, or None when it has none."""
        ...

    def fetch_media(self, url: str, *, max_bytes: int, accept: str = "image/*") -> bytes:
        """GET a signed media URL without the key; ``MediaUrlExpiredError`` when refused."""
        ...


@dataclass(frozen=True)
class VideoInfo:
    """A store item's media, freshly resolved: signed URLs (None when the server has none
    yet), and the duration (s) and frame rate when the server says."""

    item_id: str
    asset_id: str | None
    hls_url: str | None
    thumbnail_url: str | None
    duration: float | None
    fps: float | None


class NoVideoError(Exception):
    """The item has no playable video (an image, no asset, HLS not ready); ``str()`` is a
    sentence for the user."""


def is_web_url(url: object) -> bool:
    """True for an absolute http(s) URL with a host: the only media addresses ever used."""
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def item_fps(item: KnowledgeStoreItem) -> float | None:
    """The item's frame rate from its system metadata, when it is a positive number."""
    value = item.system_metadata.get("fps")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value < 1000 else None


def source_facts(item: KnowledgeStoreItem) -> SourceFacts:
    """What the moment exports use of an item: frame rate, uploaded file name, length."""
    from jockey_desktop.core.moments_export import SourceFacts  # the exports' module, on use

    duration = item.duration
    return SourceFacts(fps=item_fps(item), file_name=item.filename,
                       duration_sec=duration if duration is not None
                       and math.isfinite(duration) and duration > 0 else None)


def resolve_video(client: MediaClient, store_id: str, item_id: str) -> VideoInfo:
    """Fresh signed URLs of a store item's video: the item, then its asset (blocking).

    Raises the client's ``JockeyError`` subclasses (sentences) when the server refuses, and
    :class:`NoVideoError` when the item has nothing to play.
    """
    item = client.get_item(store_id, item_id)
    if item.asset_type not in (None, "video"):
        raise NoVideoError("This citation points to an image, not a video.")
    if not item.asset_id:
        raise NoVideoError("The server gave no media for this video.")
    asset = client.get_asset(item.asset_id)
    hls = asset.hls_url if is_web_url(asset.hls_url) else None
    thumbnail = asset.thumbnail_url if is_web_url(asset.thumbnail_url) else None
    duration = asset.duration if asset.duration is not None else item.duration
    return VideoInfo(item.id or item_id, item.asset_id, hls, thumbnail, duration, item_fps(item))


def manifest_resolver(client: MediaClient, store_id: str, item_id: str) -> str:
    """A fresh signed HLS manifest URL of an item (what the media relay asks for when the
    one it has expired); :class:`NoVideoError` when the asset has no HLS stream yet."""
    info = resolve_video(client, store_id, item_id)
    if info.hls_url is None:
        raise NoVideoError("The server has no stream of this video yet (it may still be "
                           "processing).")
    return info.hls_url
