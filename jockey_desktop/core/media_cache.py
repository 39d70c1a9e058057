"""Thumbnails of cited moments, cached on disk in the data folder (no Qt; blocking I/O).

The key is the store item and the time — never the signed URL, which changes every time it
is re-issued and would make every cached image a miss (and would write a credential-bearing
address into file names). Files live under ``<data dir>/thumbnails/<hash of item id>/``, are
written atomically and privately (0600, folders 0700), and the oldest are dropped once the
folder passes its budget. Every call blocks on the disk or network: run it on a worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import tempfile
import threading
from pathlib import Path

from jockey_desktop.core.media_source import MediaClient, is_web_url, resolve_video

log = logging.getLogger(__name__)

#: A thumbnail is small; anything bigger is not one.
MAX_THUMBNAIL_BYTES = 5_000_000
#: Default budget of the cache folder (bytes).
DEFAULT_BUDGET = 64 * 1024 * 1024
#: Image signatures accepted as thumbnails (PNG, JPEG, GIF, WebP).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def looks_like_image(data: bytes) -> bool:
    """True when ``data`` starts like a PNG, JPEG, GIF or WebP file."""
    if data.startswith(_IMAGE_MAGIC):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


class ThumbnailCache:
    """Images by (item id, seconds) in a folder; ``seconds=None`` is the video's poster."""

    def __init__(self, folder: Path, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.folder = Path(folder)
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()

    def path_for(self, item_id: str, seconds: float | None) -> Path:
        """Where the image of ``item_id`` at ``seconds`` (tenths of a second) is kept."""
        digest = hashlib.sha256(item_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        if seconds is None or not math.isfinite(seconds) or seconds < 0:
            name = "poster"
        else:
            name = f"t{round(seconds * 10):08d}"
        return self.folder / digest / f"{name}.img"

    def get(self, item_id: str, seconds: float | None) -> bytes | None:
        """The cached image, or None (a damaged or foreign file counts as missing)."""
        path = self.path_for(item_id, seconds)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not looks_like_image(data):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return data

    def put(self, item_id: str, seconds: float | None, data: bytes) -> Path | None:
        """Keep an image (atomically, 0600); None when the disk refused (not an error for
        the caller: the image is still shown, just not remembered)."""
        path = self.path_for(item_id, seconds)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as error:
            log.info("thumbnail not cached: %s", type(error).__name__)
            return None
        self.prune()
        return path

    def size(self) -> int:
        """Bytes the cached images take."""
        return sum(size for _mtime, size, _path in self._files())

    def prune(self) -> None:
        """Drop the least recently used images until the folder is within its budget."""
        with self._lock:
            files = sorted(self._files())
            total = sum(size for _mtime, size, _path in files)
            for _mtime, size, path in files:
                if total <= self.budget_bytes:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    total -= size

    def _files(self) -> list[tuple[float, int, Path]]:
        found: list[tuple[float, int, Path]] = []
        if not self.folder.is_dir():
            return found
        for path in self.folder.glob("*/*.img"):
            with contextlib.suppress(OSError):
                info = path.stat()
                found.append((info.st_mtime, info.st_size, path))
        return found


def load_thumbnail(client: MediaClient | None, cache: ThumbnailCache, *, store_id: str | None,
                   item_id: str, seconds: float | None, url: str | None) -> bytes | None:
    """The image of a moment: from the cache, else fetched (no key) and cached (blocking).

    A refused URL (expired, or its host unreachable) is resolved again through the item and
    its asset; the asset's representative thumbnail is then used as the video's poster. None
    when there is no image to be had (no URL, not an image, the host failed): a missing
    thumbnail is never an error the user must read.
    """
    from jockey_desktop.core.api.errors import JockeyError, MediaUrlExpiredError, NetworkError

    cached = cache.get(item_id, seconds)
    if cached is not None:
        return cached
    if client is None:
        return None
    key = seconds
    try:
        if not is_web_url(url):
            raise MediaUrlExpiredError()  # no usable address: ask the asset for one
        assert url is not None
        data = client.fetch_media(url, max_bytes=MAX_THUMBNAIL_BYTES)
    except (MediaUrlExpiredError, NetworkError):
        # Refused (expired) or a host that is gone (a sandbox on another port since): the
        # asset has the current address of the video's picture.
        poster = cache.get(item_id, None)
        if poster is not None or store_id is None:
            return poster
        try:
            fresh = resolve_video(client, store_id, item_id).thumbnail_url
            if fresh is None:
                return None
            data = client.fetch_media(fresh, max_bytes=MAX_THUMBNAIL_BYTES)
        except Exception as error:  # JockeyError, NoVideoError: no image, no alarm
            log.info("thumbnail not resolved: %s", type(error).__name__)
            return None
        key = None
    except JockeyError as error:
        log.info("thumbnail not loaded: %s", type(error).__name__)
        return None
    if not looks_like_image(data):
        return None
    cache.put(item_id, key, data)
    return data
