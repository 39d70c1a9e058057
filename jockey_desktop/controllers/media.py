"""ThumbnailLoader: fetch citation thumbnails on a worker, hand the bytes back on the GUI thread.

The moment popup accepts a ``load_thumbnail(url, callback)`` callable; this is it. Thumbnail
URLs are signed URLs on the API's media hosts, so the request carries no API key at all (it
is a plain ``requests`` call, not the Jockey client). Only http(s) URLs are fetched, bodies
are capped, and recent images are cached so reopening a moment is instant.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QObject

log = logging.getLogger(__name__)

#: Thumbnails are small; anything bigger is not one.
MAX_THUMBNAIL_BYTES = 5_000_000
_TIMEOUT = (5.0, 15.0)  # connect, read (seconds)


def is_web_url(url: object) -> bool:
    """True for an http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def fetch_thumbnail(url: str, max_bytes: int = MAX_THUMBNAIL_BYTES) -> bytes:
    """Download an image (blocking; run it on a worker). Raises on anything but an image."""
    # Imported here, on the worker: requests costs ~50 ms that the first paint must not pay.
    import requests

    with requests.get(url, timeout=_TIMEOUT, stream=True,
                      headers={"Accept": "image/*"}) as response:
        response.raise_for_status()
        kind = response.headers.get("Content-Type", "")
        if not kind.startswith("image/"):
            raise ValueError(f"not an image ({kind or 'no content type'})")
        data = bytearray()
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                raise ValueError("the thumbnail is too large")
        return bytes(data)


class ThumbnailLoader(QObject):
    """``load(url, callback)`` for the moment popup; callbacks run on the GUI thread."""

    def __init__(self, runner: Any, cache_size: int = 64, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    def load(self, url: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(bytes)`` with the image, or ``callback(None)`` when unavailable."""
        if not is_web_url(url):
            callback(None)
            return
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            callback(cached)
            return
        # The runner calls these on the GUI thread, so partial() binding the callback is safe.
        self._runner.submit(fetch_thumbnail, url, on_success=partial(self._loaded, url, callback),
                            on_error=partial(self._failed, callback))

    def _loaded(self, url: str, callback: Callable[[Any], None], data: bytes) -> None:
        self._cache[url] = data
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        callback(data)

    @staticmethod
    def _failed(callback: Callable[[Any], None], error: BaseException) -> None:
        # The URL is a signed link: log the failure kind only, not the link.
        log.info("thumbnail not loaded: %s", type(error).__name__)
        callback(None)
