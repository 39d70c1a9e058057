"""Media of the sandbox: signed URLs, HLS playlists and segments, thumbnails, transcripts.

Media live outside the API prefix, like the platform's media host, and never need
``x-api-key``: each URL carries its own authorisation in its path,
``/media/<asset_id>/<expires>/<signature>/<resource>``, where ``expires`` is a Unix time and
``signature`` an HMAC of the asset id and ``expires`` under a secret made at server start (so
URLs from an earlier run stop working, as signed URLs do). Past ``expires`` the server answers
403, which lets clients exercise re-resolution through ``GET /assets/{asset_id}``. Putting the
signature in the path (not the query) keeps each URL ending in its real extension, which
FFmpeg's HLS demuxer checks.

Playlists: every video's ``index.m3u8`` lists ``seg/<n>.ts`` up to its duration; each segment
is a copy of one committed 60-second segment (``resources/sandbox/media/<asset_id>.ts``, or
``uploaded.ts`` for uploads) with its timestamps moved on (:class:`SegmentTemplate`; see
``build_scripts/make_sample_media.py`` for what the picture shows and why). Thumbnails are
small PNGs drawn here in pure Python; an image asset is its own thumbnail.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.resources import resource_path
from jockey_desktop.sandbox.data import Moment
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


# --------------------------------------------------------------------- MPEG-TS segments
TS_PACKET = 188
TS_CLOCK = 90_000  # PTS/DTS/PCR-base ticks per second
_PTS_MASK = (1 << 33) - 1
_PSI_PIDS = frozenset({0x0000, 0x0011})  # PAT and SDT (the PMT PID is read from the PAT)


def _read_pts(data: bytes | bytearray, at: int) -> int:
    return (((data[at] >> 1) & 0x07) << 30 | data[at + 1] << 22 | (data[at + 2] >> 1) << 15
            | data[at + 3] << 7 | data[at + 4] >> 1)


def _write_pts(data: bytearray, at: int, value: int) -> None:
    value &= _PTS_MASK
    data[at] = (data[at] & 0xF0) | ((value >> 29) & 0x0E) | 0x01
    data[at + 1] = (value >> 22) & 0xFF
    data[at + 2] = ((value >> 14) & 0xFE) | 0x01
    data[at + 3] = (value >> 7) & 0xFF
    data[at + 4] = ((value << 1) & 0xFE) | 0x01


def _read_pcr_base(data: bytes | bytearray, at: int) -> int:
    return (data[at] << 25 | data[at + 1] << 17 | data[at + 2] << 9 | data[at + 3] << 1
            | data[at + 4] >> 7)


def _write_pcr_base(data: bytearray, at: int, value: int) -> None:
    value &= _PTS_MASK
    data[at] = (value >> 25) & 0xFF
    data[at + 1] = (value >> 17) & 0xFF
    data[at + 2] = (value >> 9) & 0xFF
    data[at + 3] = (value >> 1) & 0xFF
    data[at + 4] = ((value & 1) << 7) | (data[at + 4] & 0x7F)


@dataclass(frozen=True)
class _Packet:
    """Where the fields that change between repeats sit in one TS packet."""

    offset: int
    pid: int
    payload: int
    has_payload: bool
    pcr_at: int | None
    pts_at: int | None
    dts_at: int | None


def _packets(data: bytes) -> list[_Packet]:
    """Index a TS file (raises ValueError when it is not one)."""
    if not data or len(data) % TS_PACKET:
        raise ValueError("not a whole number of TS packets")
    packets = []
    for offset in range(0, len(data), TS_PACKET):
        if data[offset] != 0x47:
            raise ValueError(f"lost TS sync at byte {offset}")
        pid = ((data[offset + 1] & 0x1F) << 8) | data[offset + 2]
        start = bool(data[offset + 1] & 0x40)
        control = (data[offset + 3] >> 4) & 0x03
        end = offset + TS_PACKET
        payload = offset + 4
        pcr_at = None
        if control & 0x02:
            length = data[offset + 4]
            if length > TS_PACKET - 5:
                raise ValueError(f"an adaptation field overruns the packet at byte {offset}")
            if length >= 7 and data[offset + 5] & 0x10:
                pcr_at = offset + 6
            payload = offset + 5 + length
        pts_at = dts_at = None
        # A PES header: start code, stream id, length, two flag bytes, header length, PTS, DTS.
        if control & 0x01 and start and payload + 9 <= end \
                and data[payload:payload + 3] == b"\x00\x00\x01":
            flags = data[payload + 7]
            if flags & 0x80 and payload + 14 <= end:
                pts_at = payload + 9
            if flags & 0x40 and payload + 19 <= end:
                dts_at = payload + 14
        packets.append(_Packet(offset, pid, payload, bool(control & 0x01), pcr_at, pts_at,
                               dts_at))
    return packets


def strip_repeated_tables(data: bytes) -> bytes:
    """Keep only the first PAT, PMT and SDT packets of a segment.

    FFmpeg's muxer repeats them before every key frame; a segment is always read from its
    start, so one copy is enough and the repeats were a fifth of each sample segment.
    """
    packets = _packets(data)
    pmt_pids = set()
    first = next((p for p in packets if p.pid == 0 and p.has_payload), None)
    if first is not None:
        # PAT: pointer field, then 8 header bytes, then (program, PID) pairs up to the CRC.
        end = first.offset + TS_PACKET
        at = first.payload + 1 + data[first.payload] if first.payload < end else end
        if at + 3 <= end:
            length = ((data[at + 1] & 0x0F) << 8) | data[at + 2]
            for entry in range(at + 8, min(at + 3 + length - 4, end - 3), 4):
                if (data[entry] << 8) | data[entry + 1]:
                    pmt_pids.add(((data[entry + 2] & 0x1F) << 8) | data[entry + 3])
    tables = _PSI_PIDS | pmt_pids
    seen: set[int] = set()
    kept = bytearray()
    for packet in packets:
        if packet.pid in tables:
            if packet.pid in seen:
                continue
            seen.add(packet.pid)
        kept += data[packet.offset:packet.offset + TS_PACKET]
    return bytes(kept)


class SegmentTemplate:
    """One pre-encoded TS segment that a playlist repeats back to back.

    Served copy ``n`` has every PTS, DTS and PCR moved ``n × duration`` later and every
    continuity counter moved on, so the playlist is one continuous stream: players (FFmpeg's
    HLS demuxer included) seek and report positions by these timestamps, which restarting at
    each segment would break. The last copy can be cut short at a frame boundary (the
    segments have no B-frames, so every frame only refers back).
    """

    def __init__(self, data: bytes) -> None:
        packets = _packets(data)
        self.data = data
        self._packets = packets
        frames = [(p, _read_pts(data, p.pts_at)) for p in packets if p.pts_at is not None]
        if len(frames) < 2:
            raise ValueError("a segment needs at least two frames")
        pts = sorted(value for _packet, value in frames)
        self.first_pts = pts[0]
        step = min(b - a for a, b in itertools.pairwise(pts) if b > a)
        #: Whole seconds of video in the segment (frames × frame duration).
        self.duration = round((pts[-1] - pts[0] + step) / TS_CLOCK)
        self._frame_starts = [(p.offset, value - self.first_pts) for p, value in frames]
        counts: dict[int, int] = {}
        for packet in packets:
            if packet.has_payload:
                counts[packet.pid] = counts.get(packet.pid, 0) + 1
        self._counts = counts

    def copy(self, index: int, keep_seconds: float | None = None) -> bytes:
        """Repeat ``index`` (from 0), cut after ``keep_seconds`` of video when given."""
        end = len(self.data)
        if keep_seconds is not None:
            limit = keep_seconds * TS_CLOCK
            # Keep at least the first frame, then every frame that starts before the limit.
            for offset, relative in self._frame_starts[1:]:
                if relative >= limit:
                    end = offset
                    break
        out = bytearray(self.data[:end])
        shift = index * self.duration * TS_CLOCK
        for packet in self._packets:
            if packet.offset >= end:
                break
            if packet.has_payload and index:
                cc_at = packet.offset + 3
                counter = (out[cc_at] & 0x0F) + index * self._counts[packet.pid]
                out[cc_at] = (out[cc_at] & 0xF0) | (counter % 16)
            if not shift:
                continue
            if packet.pcr_at is not None:
                _write_pcr_base(out, packet.pcr_at, _read_pcr_base(out, packet.pcr_at) + shift)
            for field_at in (packet.pts_at, packet.dts_at):
                if field_at is not None:
                    _write_pts(out, field_at, _read_pts(out, field_at) + shift)
        return bytes(out)


def playlist(duration: float, segment: float, name: str = "seg/{}.ts") -> str:
    """A VOD playlist that repeats a ``segment``-second piece up to ``duration`` seconds."""
    count = max(1, math.ceil(duration / segment - 1e-9))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(segment)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD",
             "#EXT-X-INDEPENDENT-SEGMENTS"]
    for index in range(count):
        length = segment if index < count - 1 else duration - segment * (count - 1)
        lines += [f"#EXTINF:{length:.3f},", name.format(index)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- the media library
#: The pre-encoded segment that stands in for every uploaded video (and any sample video
#: without one of its own); see build_scripts/make_sample_media.py.
UPLOADED_SEGMENT = "uploaded"


class MediaLibrary:
    """The bundled sample segments, loaded on first use (thread-safe)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or resource_path("sandbox", "media")
        self._lock = threading.Lock()
        self._templates: dict[str, SegmentTemplate | None] = {}

    def _load(self, name: str) -> SegmentTemplate | None:
        with self._lock:
            if name not in self._templates:
                path = self.folder / f"{name}.ts"
                try:
                    self._templates[name] = SegmentTemplate(path.read_bytes())
                except (OSError, ValueError):
                    self._templates[name] = None
            return self._templates[name]

    def template(self, asset_id: str, sample: bool) -> SegmentTemplate | None:
        """A sample video's own segment, else the stand-in (None when neither exists)."""
        own = self._load(asset_id) if sample else None
        return own or self._load(UPLOADED_SEGMENT)


# --------------------------------------------------------------------- transcripts
TRANSCRIPT_PARTS = ("words", "sentences", "utterances")


def transcription(moments: Sequence[Moment], include: tuple[str, ...]) -> dict[str, Any]:
    """``GET /assets/{id}/transcription`` for a sample video, from its moments' transcript
    lines: each moment's lines share its time range evenly (sentences and utterances), and
    each line's words share the line's range (words)."""
    sentences: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    for moment in moments:
        lines = [line for line in moment.transcript if line.strip()]
        if not lines:
            continue
        span = (moment.end - moment.start) / len(lines)
        for number, line in enumerate(lines):
            start = moment.start + number * span
            sentences.append({"start": round(start, 2), "end": round(start + span, 2),
                              "value": line})
            tokens = line.split()
            step = span / len(tokens)
            words.extend({"start": round(start + i * step, 2),
                          "end": round(start + (i + 1) * step, 2), "value": token}
                         for i, token in enumerate(tokens))
    body: dict[str, Any] = {"status": "ready"}
    if "words" in include:
        body["words"] = words
    if "sentences" in include:
        body["sentences"] = sentences
    if "utterances" in include:
        body["utterances"] = [{**s, "speaker": "Speaker 1"} for s in sentences]
    return body
