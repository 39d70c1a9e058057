"""Routes of the signed media URLs (see :mod:`jockey_desktop.sandbox.media`).

``/media/<asset_id>/<expires>/<signature>/<resource>`` with ``resource`` one of
``thumbnail.png?t=<seconds>``, ``index.m3u8``, ``seg/<n>.ts`` and ``original``. None of them
needs ``x-api-key``; one that carries it is counted (``SandboxServer.media_requests_with_key``)
because a client must never send its key to a media host.
"""

from __future__ import annotations

import re

from jockey_desktop.sandbox.assets import Asset
from jockey_desktop.sandbox.handlers import Handler, Request
from jockey_desktop.sandbox.media import thumbnail_png
from jockey_desktop.sandbox.validation import ApiError

#: Seconds as a plain decimal: no exponent, sign, inf or nan, and at most 7 integer digits.
_SECONDS = re.compile(r"^\d{1,7}(?:\.\d{1,6})?$")
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_CACHE = {"Cache-Control": "private, max-age=300"}


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


def serve_media(h: Handler, r: Request) -> None:
    """``GET``/``HEAD /media/<asset_id>/<expires>/<signature>/<resource>``."""
    if len(r.parts) < 6:
        raise _not_found()
    asset = _asset(h, r)
    resource = r.parts[5:]
    if resource == ["thumbnail.png"]:
        _thumbnail(h, r, asset)
        return
    raise _not_found()
