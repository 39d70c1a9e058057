"""Assets of the sandbox (jockey-api.md §7): uploaded files and the sample videos' stand-ins.

An :class:`Asset` is a file the user uploaded (``POST /assets`` direct or by URL, or a
completed multipart upload), or one of the sample stores' videos (``sample=True``, no file: its
media come from ``resources/sandbox/media``). Status is derived, never stored:

- ``processing`` while the bytes are not all there (URL fetch, multipart upload) and for
  ``Pace.asset_processing_time`` seconds after they are;
- then ``failed`` when the file was not a video, audio file or image the sandbox recognises
  (or a fault said so), with ``error.message``; otherwise ``ready``.

:class:`AssetStore` keeps the records (and, with a state dir, persists each one as an atomic
JSON file next to its data file ``<id>.bin``) and is thread-safe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from jockey_desktop.core.storage.export import write_file_atomically
from jockey_desktop.sandbox.data import Store, Video
from jockey_desktop.sandbox.guarded import Guarded
from jockey_desktop.sandbox.ids import rfc3339
from jockey_desktop.sandbox.pace import Pace
from jockey_desktop.sandbox.probe import Probe
from jockey_desktop.sandbox.validation import ApiError

log = logging.getLogger(__name__)

MB = 1024 * 1024
ASSET_ID = re.compile(r"^[0-9a-f]{24}$")


def new_asset_id() -> str:
    """24 lowercase hex characters, time-ordered like the platform's ids."""
    return f"{int(time.time()):08x}" + secrets.token_hex(8)


@dataclass
class Asset:
    """One asset; mutable, guarded by :class:`AssetStore`'s lock."""

    id: str
    method: str  # "direct" | "url" | "multipart"
    filename: str
    kind: str  # "video" | "audio" | "image" | "unknown"
    file_type: str  # MIME type
    created_at: float
    enable_hls: bool
    enable_thumbnail: bool
    user_metadata: dict[str, Any] | None = None
    #: When processing ends; None while the bytes are still arriving.
    ready_at: float | None = None
    #: Why processing failed (shown as ``error.message``); None when it did not.
    error: str | None = None
    size: int | None = None
    duration: float | None = None
    duration_estimated: bool = False
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    codec: str | None = None
    container: str | None = None
    source_url: str | None = None
    #: A sample video: no file, media from the bundled resources.
    sample: bool = False
    #: The sample video (title and moments) a sample asset stands for.
    video: Video | None = field(default=None, repr=False, compare=False)

    def status(self, now: float) -> str:
        """``processing``, ``ready`` or ``failed`` at time ``now``."""
        if self.ready_at is None or now < self.ready_at:
            return "processing"
        return "failed" if self.error else "ready"

    def to_api(self, now: float) -> dict[str, Any]:
        """The Asset JSON object (``user_metadata`` only when set, ``source`` never)."""
        data: dict[str, Any] = {
            "_id": self.id, "method": self.method, "status": self.status(now),
            "filename": self.filename, "file_type": self.file_type,
            "created_at": rfc3339(self.created_at),
        }
        if self.user_metadata:
            data["user_metadata"] = json.loads(json.dumps(self.user_metadata))
        return data

    def detail(self, now: float, manifest_url: str | None,
               thumbnail_url: str | None) -> dict[str, Any]:
        """The AssetDetail JSON object; the media URLs are used only once they are ready."""
        status = self.status(now)
        data = self.to_api(now)
        # Media wait ("pending") for the bytes, are made while the asset processes, and fail
        # with it.
        media_status = {"processing": "processing", "ready": "ready",
                        "failed": "error"}[status]
        if self.ready_at is None:
            media_status = "pending"
        if self.enable_hls and self.kind in ("video", "audio"):
            data["hls"] = {"status": media_status}
            if media_status == "ready" and manifest_url:
                data["hls"]["manifest_url"] = manifest_url
        if self.enable_thumbnail:
            data["thumbnail"] = {"status": media_status}
            if media_status == "ready" and thumbnail_url:
                data["thumbnail"]["representative_url"] = thumbnail_url
        if status != "processing":
            data["technical_metadata"] = self.technical_metadata()
        if self.size is not None:
            data["size"] = self.size
        if self.duration is not None and self.kind in ("video", "audio"):
            data["duration"] = self.duration
        if status == "failed":
            data["error"] = {"message": self.error}
        return data

    def technical_metadata(self) -> dict[str, Any]:
        """What the sandbox read from the file (absent fields: not known)."""
        data: dict[str, Any] = {"file_mime_type": self.file_type}
        if self.size is not None:
            data["file_size_bytes"] = self.size
        if self.container:
            data["file_container_format"] = self.container
        if self.kind == "video":
            data["total_video_streams"] = 1
            for key, value in (("video_codec", self.codec), ("video_width", self.width),
                               ("video_height", self.height), ("video_fps", self.fps),
                               ("video_duration_seconds", self.duration)):
                if value is not None:
                    data[key] = value
            if self.width and self.height:
                data["storage_aspect_ratio"] = round(self.width / self.height, 4)
        elif self.kind == "audio" and self.duration is not None:
            data["audio_duration_seconds"] = self.duration
            data["total_audio_streams"] = 1
        elif self.kind == "image":
            for key, value in (("image_width", self.width), ("image_height", self.height)):
                if value is not None:
                    data[key] = value
        return data

    def apply_probe(self, probe: Probe, size: int) -> None:
        """Take kind, type and facts from a probe of the received bytes."""
        self.size = size
        self.container = probe.container
        if probe.kind == "unknown":
            self.error = ("The file is not a video, audio file or image the platform can "
                          "read: its content was not recognised.")
            return
        self.kind = probe.kind
        self.file_type = probe.mime
        self.duration = probe.duration
        self.duration_estimated = probe.estimated
        self.width, self.height = probe.width, probe.height


_PERSISTED = tuple(f.name for f in fields(Asset) if f.name not in ("video", "sample"))


def _sample_asset(video: Video, created: float) -> Asset:
    # Always ready (ready_at 0): a sample video was "uploaded" long before any clock reads.
    system = video.api.get("system_metadata") or {}
    filename = str(system.get("filename") or f"{video.id}.mp4")
    return Asset(
        id=str(video.api["asset_id"]), method="direct", filename=filename, kind="video",
        file_type="video/mp4", created_at=created, enable_hls=True, enable_thumbnail=True,
        ready_at=0.0, size=system.get("size"), duration=video.duration,
        width=system.get("width"), height=system.get("height"), fps=system.get("fps"),
        codec=system.get("codec_name"), container="mov,mp4,m4a,3gp,3g2,mj2", sample=True,
        video=video)


def _timestamp(text: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class AssetStore(Guarded):
    """Thread-safe asset records and their files (see the module docstring)."""

    def __init__(self, state_dir: Path | None, pace: Pace,
                 clock: Callable[[], float] = time.time) -> None:
        self.pace = pace
        super().__init__(clock)
        self._assets: dict[str, Asset] = {}
        self._removed_samples: set[str] = set()
        if state_dir is not None:
            self._dir: Path | None = Path(state_dir) / "resources" / "assets"
            self.files_dir = self._dir
        else:
            self._dir = None
            # Without a state dir uploads still need a home on disk (never in memory).
            self.files_dir = Path(tempfile.mkdtemp(prefix="jockey-sandbox-assets-"))
            weakref.finalize(self, shutil.rmtree, str(self.files_dir), True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    # ----------------------------------------------------------------- samples and loading
    def add_samples(self, stores: dict[str, Store]) -> None:
        """Stand-in assets for the sample stores' items (skipping ones deleted earlier)."""
        with self._lock:
            for store in stores.values():
                for video in store.items:
                    created = _timestamp(video.api.get("created_at"))
                    asset_id = str(video.api.get("asset_id") or "")
                    if (ASSET_ID.match(asset_id) and asset_id not in self._assets
                            and asset_id not in self._removed_samples):
                        self._assets[asset_id] = _sample_asset(video, created)

    def _load(self) -> None:
        if self._dir is None:
            return
        removed = self._dir / "removed_samples.json"
        with contextlib.suppress(OSError, ValueError):
            self._removed_samples = set(json.loads(removed.read_text(encoding="utf-8")))
        for path in sorted(self._dir.glob("*.json")):
            if path.name == "removed_samples.json":
                continue
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                asset = Asset(**{k: raw[k] for k in _PERSISTED if k in raw})
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring unreadable asset file %s: %s", path.name, exc)
                continue
            if ASSET_ID.match(asset.id):
                self._assets[asset.id] = asset

    def save(self, asset: Asset) -> None:
        """Persist one (non-sample) asset record atomically."""
        if self._dir is None or asset.sample:
            return
        with self._lock:
            data = {k: v for k, v in asdict(asset).items() if k in _PERSISTED}
            write_file_atomically(self._dir / f"{asset.id}.json", data)

    # ----------------------------------------------------------------- access
    def data_path(self, asset_id: str) -> Path:
        """Where the asset's bytes live (only ids of 24 hex characters ever get here)."""
        if not ASSET_ID.match(asset_id):
            raise ValueError("not an asset id")
        return self.files_dir / f"{asset_id}.bin"

    def get(self, asset_id: str) -> Asset | None:
        """The asset, or None."""
        with self._lock:
            return self._assets.get(asset_id)

    def require(self, asset_id: str, name: str = "asset_id") -> Asset:
        """The asset, or 400 for a malformed id and 404 for an unknown one."""
        if not ASSET_ID.match(asset_id):
            raise ApiError(400, "parameter_invalid", f"The `{name}` parameter is invalid.")
        asset = self.get(asset_id)
        if asset is None:
            raise ApiError(404, "resource_not_exist",
                           f"The asset `{asset_id}` does not exist.")
        return asset

    def all(self) -> list[Asset]:
        """Every asset (newest first)."""
        with self._lock:
            return sorted(self._assets.values(), key=lambda a: (a.created_at, a.id),
                          reverse=True)

    def add(self, asset: Asset) -> Asset:
        """Register (and persist) a new asset."""
        with self._lock:
            self._assets[asset.id] = asset
            self.save(asset)
        return asset

    def finish(self, asset_id: str, update: Callable[[Asset], None]) -> Asset | None:
        """Apply ``update`` to the asset (if it still exists) and persist it."""
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is None:
                return None
            update(asset)
            self.save(asset)
            return asset

    def start_processing(self, asset: Asset) -> None:
        """The bytes are all there: processing ends ``asset_processing_time`` from now."""
        asset.ready_at = self._clock() + self.pace.asset_processing_time

    def delete(self, asset_id: str) -> None:
        """Forget the asset and delete its file."""
        with self._lock:
            asset = self._assets.pop(asset_id, None)
            if asset is None:
                return
            if asset.sample:
                self._removed_samples.add(asset_id)
                if self._dir is not None:
                    write_file_atomically(self._dir / "removed_samples.json",
                                          json.dumps(sorted(self._removed_samples)))
            elif self._dir is not None:
                with contextlib.suppress(OSError):
                    (self._dir / f"{asset_id}.json").unlink()
            with contextlib.suppress(OSError, ValueError):
                os.unlink(self.data_path(asset_id))


@dataclass(frozen=True)
class UploadLimits:
    """Upload limits and timings of the sandbox (jockey-api.md §7); tests use small ones."""

    #: Direct uploads (``POST /assets`` with a file) of video and audio.
    direct_bytes: int = 200 * MB
    #: Images, by any method.
    image_bytes: int = 32 * MB
    #: Files fetched by URL.
    url_bytes: int = 4 * 1024 * MB
    #: Multipart uploads (``total_size``).
    multipart_bytes: int = 10 * 1024 * MB
    #: How long a URL download may take in all.
    url_fetch_timeout: float = 600.0
    #: Chunk size of multipart uploads (the last chunk may be smaller).
    chunk_size: int = 8 * MB
    #: How many presigned URLs a new multipart upload comes with (more on request).
    initial_upload_urls: int = 20
    #: Lifetime of a presigned chunk URL.
    upload_url_ttl: float = 3600.0
    #: Lifetime of a multipart upload session.
    upload_session_ttl: float = 24 * 3600.0
