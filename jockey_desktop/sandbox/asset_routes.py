"""Routes of assets (jockey-api.md §7): ``POST /assets`` (direct or by URL), ``GET /assets``,
``GET``/``DELETE /assets/{id}``, ``GET /assets/{id}/transcription``.

A direct upload's body is streamed to a file in the asset folder while the form is parsed, so
memory stays flat whatever the size; limits (:class:`~jockey_desktop.sandbox.assets.
UploadLimits`) are enforced as bytes arrive (413, then the connection closes). A URL upload
answers at once with a ``processing`` asset and a background thread fetches the file, over
http(s) only (redirects too), within the size and time limits; a failed fetch makes the asset
``failed`` with the reason in ``error.message``. A ``.m3u8`` URL must be a VOD playlist (a live
one is a 400); only the playlist is kept.

Decisions beyond the contract: ``DELETE /assets/{id}`` answers 204, and 409
``resource_conflict`` while store items use the asset unless ``force=true``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

from jockey_desktop.sandbox.assets import Asset, AssetStore, new_asset_id
from jockey_desktop.sandbox.bodies import ITEM_METADATA, parse_json, validate_metadata
from jockey_desktop.sandbox.faults import FaultKind
from jockey_desktop.sandbox.formdata import (
    BLOCK,
    MAX_TEXT_BYTES,
    Part,
    boundary_of,
    parse_form,
)
from jockey_desktop.sandbox.handlers import Handler, Request, no_content, plain_page
from jockey_desktop.sandbox.media import TRANSCRIPT_PARTS, transcription
from jockey_desktop.sandbox.probe import kind_from_name, mime_for, probe_file
from jockey_desktop.sandbox.validation import ApiError, invalid, missing, unknown

log = logging.getLogger(__name__)

_FORM_FIELDS = frozenset({"method", "url", "filename", "enable_hls", "enable_thumbnail",
                          "user_metadata"})
_MAX_FILENAME_CHARS = 255
_MAX_URL_CHARS = 2_048
_PLAYLIST_BYTES = 1024 * 1024
_PLAYLIST_TIMEOUT = 10.0
_EXTINF = re.compile(r"^#EXTINF:\s*([0-9.]+)", re.MULTILINE)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def too_large(kind: str, limit: int, how: str) -> ApiError:
    """413 for a file over its limit."""
    what = "Images" if kind == "image" else "Video and audio files"
    where = f" {how}" if how else ""
    return ApiError(413, "payload_too_large",
                    f"The file is too large. {what} may be at most {_mb(limit)}{where}.")


def fail_message(h: Handler, r: Request) -> str | None:
    """The error of a ``fail_asset`` fault that fires now, else None."""
    faults = h.app.faults.take(frozenset({FaultKind.FAIL_ASSET}), r.method, r.rel, None)
    return faults[0].message if faults else None


class _FileSink:
    """Writes the one file part of a form to ``path``, counting bytes against its limit."""

    def __init__(self, path: Path, limits: Any) -> None:
        self.path = path
        self.limits = limits
        self.handle: IO[bytes] | None = None
        self.part: Part | None = None
        self.size = 0
        self.limit = 0
        self.kind = "unknown"

    def open(self, part: Part) -> _FileSink:
        if part.name != "file":
            raise unknown(part.name)
        if self.handle is not None:
            raise invalid("file", "Send exactly one file.")
        self.part = part
        self.kind = kind_from_name(part.filename or "", part.content_type)
        self.limit = self.limits.image_bytes if self.kind == "image" else \
            self.limits.direct_bytes
        self.handle = self.path.open("wb")
        return self

    def write(self, data: bytes) -> None:
        assert self.handle is not None
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.kind, self.limit, "when uploaded directly")
        self.handle.write(data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _flag(fields: dict[str, str], name: str, default: bool) -> bool:
    value = fields.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise invalid(name, "Use `true` or `false`.")
    return value == "true"


def user_metadata_field(value: str | None) -> dict[str, Any] | None:
    """``user_metadata``: a JSON-encoded metadata object (empty or absent: none)."""
    if value is None or not value.strip():
        return None
    parsed = parse_json(value.encode("utf-8"), what="The `user_metadata` parameter")
    return validate_metadata(parsed, ITEM_METADATA, "user_metadata") or None


def _filename(fields: dict[str, str], fallback: str) -> str:
    name = fields.get("filename", "").strip() or fallback.strip() or "upload"
    name = name.replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    if len(name) > _MAX_FILENAME_CHARS:
        raise invalid("filename", f"It must be at most {_MAX_FILENAME_CHARS} characters.")
    return name


def create_asset(h: Handler, r: Request) -> None:
    """``POST /assets`` (multipart/form-data) → 201 Asset in ``processing``."""
    app = h.app
    limits = app.upload_limits
    boundary = boundary_of(h.headers.get("Content-Type"))
    reader = h.upload_body
    assert reader is not None  # set by the server for upload routes
    if reader.length is not None and reader.length > limits.direct_bytes + MAX_TEXT_BYTES:
        raise too_large("video", limits.direct_bytes, "when uploaded directly")
    asset_id = new_asset_id()
    partial_path = app.assets.files_dir / f".{asset_id}.part"
    sink = _FileSink(partial_path, limits)
    try:
        try:
            fields = parse_form(reader, boundary, sink.open)
        finally:
            sink.close()
        # The whole body is read: the connection may be reused.
        h.close_connection = not h.keep_alive
        for name in fields:
            if name not in _FORM_FIELDS:
                raise unknown(name)
        method = fields.get("method", "").strip()
        if not method:
            raise missing("method")
        if method not in ("direct", "url"):
            raise invalid("method", "Use `direct` or `url`.")
        enable_hls = _flag(fields, "enable_hls", True)
        enable_thumbnail = _flag(fields, "enable_thumbnail", True)
        metadata = user_metadata_field(fields.get("user_metadata"))
        if method == "direct":
            if "url" in fields:
                raise invalid("url", "It is used only with `method` `url`.")
            if sink.part is None:
                raise missing("file")
            if sink.size == 0:
                raise invalid("file", "The file is empty.")
            filename = _filename(fields, sink.part.filename or "")
            asset = _direct_asset(h, r, asset_id, partial_path, filename, sink, enable_hls,
                                  enable_thumbnail, metadata)
        else:
            if sink.part is not None:
                raise invalid("file", "It is used only with `method` `direct`.")
            asset = _url_asset(h, r, asset_id, fields, enable_hls, enable_thumbnail, metadata)
    finally:
        with contextlib.suppress(OSError):
            partial_path.unlink()
    created = asset.to_api(app.assets.now())
    created["status"] = "processing"  # always, even when processing takes no time at all
    h._send_json(201, created)


def _direct_asset(h: Handler, r: Request, asset_id: str, path: Path, filename: str,
                  sink: _FileSink, enable_hls: bool, enable_thumbnail: bool,
                  metadata: dict[str, Any] | None) -> Asset:
    app = h.app
    content_type = sink.part.content_type if sink.part else None
    probe = probe_file(path, filename, content_type)
    if probe.kind == "image" and sink.size > app.upload_limits.image_bytes:
        raise too_large("image", app.upload_limits.image_bytes, "")
    claimed = kind_from_name(filename, content_type)
    asset = Asset(id=asset_id, method="direct", filename=filename, kind=claimed,
                  file_type=mime_for(filename, claimed), created_at=app.assets.now(),
                  enable_hls=enable_hls, enable_thumbnail=enable_thumbnail,
                  user_metadata=metadata)
    asset.apply_probe(probe, sink.size)
    asset.error = fail_message(h, r) or asset.error
    store: AssetStore = app.assets
    os.replace(path, store.data_path(asset_id))
    store.start_processing(asset)
    return store.add(asset)


# --------------------------------------------------------------------- by URL
class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) URLs (urllib would also follow ftp)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise ValueError("it redirects to a non-http(s) URL")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str, timeout: float) -> Any:
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "JockeySandbox/1.0"})
    return opener.open(request, timeout=timeout)


def _check_url(value: str | None) -> str:
    if value is None or not value.strip():
        raise missing("url")
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > _MAX_URL_CHARS or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url", "It must be an http or https URL.")
    return url


def _fetch_playlist(url: str) -> tuple[str, float]:
    """A VOD playlist's text and total duration (a master playlist's first variant)."""
    for _ in range(2):
        try:
            with _open(url, _PLAYLIST_TIMEOUT) as response:
                text = response.read(_PLAYLIST_BYTES + 1).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise invalid("url", f"The playlist could not be read: {_reason(exc)}.") from None
        if len(text) > _PLAYLIST_BYTES or not text.lstrip("\ufeff").startswith("#EXTM3U"):
            raise invalid("url", "It does not point to an HLS playlist.")
        if "#EXT-X-STREAM-INF" not in text:
            break
        variant = next((line.strip() for line in text.splitlines()
                        if line.strip() and not line.startswith("#")), None)
        if variant is None:
            raise invalid("url", "The master playlist names no variant.")
        url = urljoin(url, variant)
    else:
        raise invalid("url", "The playlist nests master playlists.")
    if "#EXT-X-ENDLIST" not in text or "#EXT-X-PLAYLIST-TYPE:EVENT" in text:
        raise invalid("url", "Live streams are not supported; use a VOD playlist.")
    duration = round(sum(float(v) for v in _EXTINF.findall(text)), 3)
    return text, duration


def _url_asset(h: Handler, r: Request, asset_id: str, fields: dict[str, str],
               enable_hls: bool, enable_thumbnail: bool,
               metadata: dict[str, Any] | None) -> Asset:
    app = h.app
    url = _check_url(fields.get("url"))
    path_name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    filename = _filename(fields, path_name)
    kind = kind_from_name(filename)
    asset = Asset(id=asset_id, method="url", filename=filename,
                  kind=kind if kind != "unknown" else "video",
                  file_type=mime_for(filename, kind), created_at=app.assets.now(),
                  enable_hls=enable_hls, enable_thumbnail=enable_thumbnail,
                  user_metadata=metadata, source_url=url)
    error = fail_message(h, r)
    if path_name.lower().endswith(".m3u8"):
        text, duration = _fetch_playlist(url)
        app.assets.data_path(asset_id).write_text(text, encoding="utf-8")
        asset.kind, asset.file_type, asset.container = "video", "application/vnd.apple.mpegurl", \
            "hls"
        asset.duration, asset.size, asset.error = duration, len(text.encode()), error
        store: AssetStore = app.assets
        store.start_processing(asset)
        return store.add(asset)
    app.assets.add(asset)
    threading.Thread(target=_download, args=(app, asset_id, url, error),
                     name=f"jockey-sandbox-fetch-{asset_id}", daemon=True).start()
    return asset


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _download(app: Any, asset_id: str, url: str, forced_error: str | None) -> None:
    """Fetch ``url`` into the asset's file (background thread), then settle the asset."""
    limits = app.upload_limits
    path = app.assets.data_path(asset_id)
    partial_path = path.with_name(f".{asset_id}.download")
    deadline = time.monotonic() + limits.url_fetch_timeout
    error: str | None = None
    size = 0
    try:
        with _open(url, 30.0) as response, partial_path.open("wb") as out:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.url_bytes:
                raise ValueError(f"the file is larger than the {_mb(limits.url_bytes)} limit "
                                 "for URL uploads")
            while True:
                if app.stopping.is_set():
                    return  # the server stops: the asset stays processing, like a lost job
                if time.monotonic() > deadline:
                    raise ValueError(f"the download took longer than "
                                     f"{limits.url_fetch_timeout:g} seconds")
                block = response.read(BLOCK)
                if not block:
                    break
                size += len(block)
                if size > limits.url_bytes:
                    raise ValueError(f"the file is larger than the {_mb(limits.url_bytes)} "
                                     "limit for URL uploads")
                out.write(block)
        os.replace(partial_path, path)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = f"The file at the URL could not be downloaded: {_reason(exc)}."
        log.info("URL upload %s failed: %s", asset_id, error)
    finally:
        with contextlib.suppress(OSError):
            partial_path.unlink()

    def settle(asset: Asset) -> None:
        if error is None:
            probe = probe_file(path, asset.filename)
            asset.apply_probe(probe, size)
            if asset.kind == "image" and size > limits.image_bytes:
                asset.error = f"The image is larger than the {_mb(limits.image_bytes)} limit."
            asset.error = forced_error or asset.error
        else:
            asset.error = error
        app.assets.start_processing(asset)

    if app.assets.finish(asset_id, settle) is None:
        with contextlib.suppress(OSError):
            path.unlink()  # deleted while it downloaded


# --------------------------------------------------------------------- reading, deleting
def list_assets(h: Handler, r: Request) -> None:
    """``GET /assets`` (``asset_ids``, ``asset_types``, ``filename`` filters), newest first."""
    now = h.app.assets.now()

    def values(name: str) -> set[str]:
        return {v.strip() for raw in r.params.get(name, []) for v in raw.split(",")
                if v.strip()}

    ids, types = values("asset_ids"), values("asset_types")
    if types - {"video", "audio", "image"}:
        raise invalid("asset_types", "Use `video`, `audio` or `image`.")
    name = r.params.get("filename", [""])[-1].casefold()
    rows = [a.to_api(now) for a in h.app.assets.all()
            if (not ids or a.id in ids) and (not types or a.kind in types)
            and name in a.filename.casefold()]
    h._reply_json(plain_page(rows, r.params), r.method, r.rel)


def detail(app: Any, asset: Asset) -> dict[str, Any]:
    """The AssetDetail with fresh signed media URLs."""
    at = round(float(asset.duration or 0.0) * 0.1, 1)
    return asset.detail(app.assets.now(), app.manifest_url(asset.id),
                        app.asset_thumbnail_url(asset.id, at))


def get_asset(h: Handler, r: Request) -> None:
    """``GET /assets/{id}`` → AssetDetail."""
    h.app.uploads.settle_expired(h.app.assets)
    asset = h.app.assets.require(r.parts[1])
    h._reply_json(detail(h.app, asset), r.method, r.rel)


def delete_asset(h: Handler, r: Request) -> None:
    """``DELETE /assets/{id}?force=`` → 204; 409 while items use it unless forced."""
    app = h.app
    asset = app.assets.require(r.parts[1])
    force_text = r.params.get("force", ["false"])[-1].strip().lower()
    if force_text not in ("true", "false"):
        raise invalid("force", "Use `true` or `false`.")
    with app.resources.lock:
        users = app.resources.items_using(asset.id)
        if users and force_text != "true":
            raise ApiError(409, "resource_conflict",
                           f"The asset `{asset.id}` is used by {len(users)} knowledge store "
                           f"item{'s' if len(users) != 1 else ''}. Remove "
                           f"{'them' if len(users) != 1 else 'it'} first, or set `force` to "
                           "`true`.")
        app.assets.delete(asset.id)
    no_content(h)


def get_transcription(h: Handler, r: Request) -> None:
    """``GET /assets/{id}/transcription?include=words|sentences|utterances`` (default
    sentences): sample videos answer from their transcript lines; others have none (404)."""
    asset = h.app.assets.require(r.parts[1])
    include = tuple(dict.fromkeys(v.strip() for raw in r.params.get("include", [])
                                  for v in raw.split(",") if v.strip())) or ("sentences",)
    if any(part not in TRANSCRIPT_PARTS for part in include):
        raise invalid("include", "Use `words`, `sentences` or `utterances`.")
    video = asset.video
    if video is None or not any(m.transcript for m in video.moments):
        raise ApiError(404, "resource_not_exist",
                       f"There is no transcription for the asset `{asset.id}`.")
    h._reply_json(transcription(video.moments, include), r.method, r.rel)
