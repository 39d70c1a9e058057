"""Signed media URLs of the sandbox: HLS playlists, segments, thumbnails and original files.

Media live outside the API prefix, like the platform's media host, and never need
``x-api-key``: each URL carries its own authorisation in its path,
``/media/<asset_id>/<expires>/<signature>/<resource>``, where ``expires`` is a Unix time and
``signature`` an HMAC of the asset id and ``expires`` under a secret made at server start (so
URLs from an earlier run stop working, as signed URLs do). Past ``expires`` the server answers
403, which lets clients exercise re-resolution through ``GET /assets/{asset_id}``. Putting the
signature in the path (not the query) keeps each URL ending in its real extension, which
FFmpeg's HLS demuxer checks.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from urllib.parse import quote

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.sandbox.validation import ApiError

MEDIA_PREFIX = "/media/"
DEFAULT_MEDIA_URL_TTL = 3600.0


class MediaSigner:
    """Makes and checks the signed part of media URLs."""

    def __init__(self, ttl: float = DEFAULT_MEDIA_URL_TTL,
                 clock: Callable[[], float] = time.time, secret: bytes | None = None) -> None:
        if not ttl > 0:
            raise ValueError("media_url_ttl must be positive")
        self.ttl = ttl
        self._clock = clock
        self._secret = secret or secrets.token_bytes(32)

    def _signature(self, asset_id: str, expires: int) -> str:
        message = f"{asset_id}/{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def prefix(self, asset_id: str) -> str:
        """``/media/<asset_id>/<expires>/<signature>`` for a URL valid ``ttl`` from now."""
        expires = math.ceil(self._clock() + self.ttl)
        return (f"{MEDIA_PREFIX}{quote(asset_id)}/{expires}/"
                f"{self._signature(asset_id, expires)}")

    def verify(self, asset_id: str, expires_text: str, signature: str) -> None:
        """Raise 403 when the signature is wrong or the URL has expired."""
        if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 12:
            raise ApiError(403, "media_url_invalid", "This media URL is not valid.")
        expires = int(expires_text)
        if not hmac.compare_digest(signature.encode("utf-8", "replace"),
                                   self._signature(asset_id, expires).encode()):
            raise ApiError(403, "media_url_invalid", "This media URL is not valid.")
        if self._clock() > expires:
            raise ApiError(403, "media_url_expired",
                           "This media URL has expired. Get a fresh one from "
                           f"GET /assets/{asset_id}.")


# --------------------------------------------------------------------- thumbnails
# A 3×5 pixel font for the time drawn on thumbnails: enough to read "12:34" at a glance.
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    ":": ("0", "1", "0", "1", "0"),
}


def _png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def thumbnail_png(seed: str, at: float, duration: float, width: int = 160,
                  height: int = 90) -> bytes:
    """A small PNG made in pure Python: a colour from ``seed`` (the asset id), a bar at the
    position ``at`` / ``duration`` and the time ``at`` written large, so each moment of each
    video gets its own picture."""
    crc = zlib.crc32(seed.encode())
    base = tuple(((crc >> shift) & 0x7F) + 40 for shift in (0, 8, 16))
    fraction = at / duration if duration > 0 else 0.0
    bar = max(0, min(width - 1, int(fraction * width)))
    pixels = [bytearray(bytes(int(c * (1.0 - 0.4 * y / height)) for c in base) * width)
              for y in range(height)]
    for row in pixels[height - 12:]:
        for x in range(max(0, bar - 1), min(width, bar + 2)):
            row[x * 3:x * 3 + 3] = b"\xf0\xf0\xf0"
    text = format_timestamp(at)
    scale = 4
    text_width = sum((len(_GLYPHS[c][0]) + 1) * scale for c in text if c in _GLYPHS)
    x0 = max(0, (width - text_width) // 2)
    y0 = max(0, (height - 5 * scale) // 2 - 6)
    for char in text:
        glyph = _GLYPHS.get(char)
        if glyph is None:
            continue
        for gy, line in enumerate(glyph):
            for gx, bit in enumerate(line):
                if bit != "1":
                    continue
                for dy in range(scale):
                    row = pixels[y0 + gy * scale + dy]
                    for dx in range(scale):
                        x = x0 + gx * scale + dx
                        if x < width:
                            row[x * 3:x * 3 + 3] = b"\xff\xff\xff"
        x0 += (len(glyph[0]) + 1) * scale
    return _png(width, height, b"".join(b"\x00" + bytes(row) for row in pixels))
