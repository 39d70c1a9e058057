"""Routes of the signed media URLs (see :mod:`jockey_desktop.sandbox.media`).

``/media/<asset_id>/<expires>/<signature>/<resource>`` with ``resource`` one of
``thumbnail.png?t=<seconds>``, ``index.m3u8``, ``seg/<n>.ts`` and ``original``. None of them
needs ``x-api-key``; one that carries it is counted (``SandboxServer.media_requests_with_key``)
because a client must never send its key to a media host.
"""

from __future__ import annotations

import math
import os
import re

from jockey_desktop.sandbox.assets import Asset
from jockey_desktop.sandbox.handlers import Handler, Request
from jockey_desktop.sandbox.media import playlist, thumbnail_png
from jockey_desktop.sandbox.validation import ApiError

#: Seconds as a plain decimal: no exponent, sign, inf or nan, and at most 7 integer digits.
_SECONDS = re.compile(r"^\d{1,7}(?:\.\d{1,6})?$")
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_CACHE = {"Cache-Control": "private, max-age=300"}
_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")


def _not_found() -> ApiError:
    return ApiError(404, "resource_not_exist", "There is no such media file.")


def seconds_param(params: dict[str, list[str]], name: str, default: float,
                  maximum: float) -> float:
    """A time parameter in seconds within [0, maximum]; anything else is a 400."""
    values = params.get(name)
    if not values:
        return default
    text = values[-1].strip()
    if not _SECONDS.match(text):
        raise ApiError(400, "parameter_invalid",
                       f"The `{name}` parameter must be a number of seconds such as 12.5.")
    value = float(text)
    if value > maximum:
        raise ApiError(400, "parameter_invalid",
                       f"The `{name}` parameter is past the end of the media "
                       f"({maximum:.1f} s).")
    return value


def _asset(h: Handler, r: Request) -> Asset:
    app = h.app
    if h.headers.get("x-api-key"):
        app.count_key_leak(media=True)
    asset_id, expires, signature = r.parts[2], r.parts[3], r.parts[4]
    app.media.verify(asset_id, expires, signature)
    asset: Asset | None = app.assets.get(asset_id)
    if asset is None or asset.status(app.assets.now()) != "ready":
        raise _not_found()
    return asset


def _thumbnail(h: Handler, r: Request, asset: Asset) -> None:
    if not asset.enable_thumbnail:
        raise _not_found()
    duration = float(asset.duration or 0.0)
    at = seconds_param(r.params, "t", duration * 0.1, duration + 1.0)
    if asset.kind == "image" and asset.file_type in _IMAGE_TYPES and not asset.sample:
        # An image is its own thumbnail.
        data = h.app.assets.data_path(asset.id).read_bytes()
        h._send_bytes(200, data, asset.file_type, _CACHE)
        return
    h._send_bytes(200, thumbnail_png(asset.id, at, duration), "image/png", _CACHE)


def _hls(h: Handler, asset: Asset, resource: list[str]) -> None:
    if not asset.enable_hls or asset.kind not in ("video", "audio") or not asset.duration:
        raise _not_found()
    template = h.app.media_library.template(asset.id, asset.sample)
    if template is None:
        raise _not_found()
    duration = float(asset.duration)
    if resource == ["index.m3u8"]:
        text = playlist(duration, template.duration)
        h._send_bytes(200, text.encode("ascii"), "application/vnd.apple.mpegurl", _CACHE)
        return
    name = resource[1] if len(resource) == 2 and resource[0] == "seg" else ""
    number = name[:-3] if name.endswith(".ts") else ""
    count = math.ceil(duration / template.duration - 1e-9)
    if not number.isascii() or not number.isdigit() or len(number) > 6 \
            or int(number) >= count:
        raise _not_found()
    index = int(number)
    keep = duration - index * template.duration if index == count - 1 else None
    h._send_bytes(200, template.copy(index, keep), "video/mp2t", _CACHE)


def _original(h: Handler, r: Request, asset: Asset) -> None:
    """The uploaded bytes, with single-range support, streamed from disk."""
    if asset.sample:
        raise _not_found()
    path = h.app.assets.data_path(asset.id)
    try:
        handle = path.open("rb")
    except OSError:
        raise _not_found() from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        start, end = 0, size - 1
        status = 200
        wanted = _RANGE.match(h.headers.get("Range") or "")
        if wanted and size:
            first, last = wanted.group(1), wanted.group(2)
            if first:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            elif last:
                start = max(0, size - int(last))
            if start > end or start >= size:
                h._send_bytes(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
                return
            status = 206
        length = end - start + 1 if size else 0
        h.send_response(status)
        h.send_header("Content-Type", asset.file_type)
        h.send_header("Content-Length", str(length))
        h.send_header("Accept-Ranges", "bytes")
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if h.close_connection:
            h.send_header("Connection", "close")
        h.end_headers()
        if r.method == "HEAD":
            return
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(remaining, 256 * 1024))
            if not block:
                break
            h.wfile.write(block)
            remaining -= len(block)
        h.wfile.flush()


def serve_media(h: Handler, r: Request) -> None:
    """``GET``/``HEAD /media/<asset_id>/<expires>/<signature>/<resource>``."""
    if len(r.parts) < 6:
        raise _not_found()
    asset = _asset(h, r)
    resource = r.parts[5:]
    if resource == ["thumbnail.png"]:
        _thumbnail(h, r, asset)
    elif resource == ["original"]:
        _original(h, r, asset)
    elif resource[0] in ("index.m3u8", "seg"):
        _hls(h, asset, resource)
    else:
        raise _not_found()
