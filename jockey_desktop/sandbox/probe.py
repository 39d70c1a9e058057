"""What the sandbox can tell about an uploaded file without FFmpeg: kind, MIME type, duration.

The packaged app carries no ``ffprobe`` (Qt's FFmpeg libraries are not a command-line tool),
so the sandbox reads what it can in pure Python and guesses the rest:

- the kind (video, audio, image) from the file's magic bytes, else from its extension;
- the duration of MP4/MOV/M4A files from the ``mvhd`` box, and the picture size from the
  first video track's ``tkhd`` box; PNG, GIF, BMP and JPEG picture sizes from their headers;
- for every other video or audio container the duration is a guess from the size (8 Mbit/s
  for video, 192 kbit/s for audio) and :attr:`Probe.estimated` says so.

Nothing here raises for odd input: a file that is not understood is ``kind="unknown"``.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

VIDEO_EXTENSIONS = frozenset({
    "mp4", "m4v", "mov", "qt", "mkv", "webm", "avi", "wmv", "flv", "mpg", "mpeg", "ts", "mts",
    "m2ts", "3gp", "3g2", "ogv", "mxf"})
AUDIO_EXTENSIONS = frozenset({
    "mp3", "wav", "m4a", "aac", "flac", "ogg", "oga", "opus", "wma", "aiff", "aif"})
IMAGE_EXTENSIONS = frozenset({
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif"})

#: Bitrates for the size-based duration guess when a container can't be read in Python.
GUESS_VIDEO_BITS_PER_SECOND = 8_000_000
GUESS_AUDIO_BITS_PER_SECOND = 192_000

_MIME_BY_EXTENSION = {
    "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime", "qt": "video/quicktime",
    "mkv": "video/x-matroska", "webm": "video/webm", "avi": "video/x-msvideo",
    "wmv": "video/x-ms-wmv", "flv": "video/x-flv", "mpg": "video/mpeg", "mpeg": "video/mpeg",
    "ts": "video/mp2t", "mts": "video/mp2t", "m2ts": "video/mp2t", "3gp": "video/3gpp",
    "3g2": "video/3gpp2", "ogv": "video/ogg", "mxf": "application/mxf",
    "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4", "aac": "audio/aac",
    "flac": "audio/flac", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/opus",
    "wma": "audio/x-ms-wma", "aiff": "audio/aiff", "aif": "audio/aiff",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
    "heic": "image/heic", "heif": "image/heif", "avif": "image/avif",
}


@dataclass(frozen=True)
class Probe:
    """What is known about one file."""

    kind: str  # "video" | "audio" | "image" | "unknown"
    mime: str
    container: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    #: True when ``duration`` is a guess from the file size, not read from the file.
    estimated: bool = False


def extension(filename: str) -> str:
    """The lower-case extension without the dot ("" when there is none)."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def kind_from_name(filename: str, content_type: str | None = None) -> str:
    """The kind a file claims by extension (or by MIME type): video, audio, image, unknown."""
    ext = extension(filename)
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    major = (content_type or "").split("/", 1)[0].strip().lower()
    return major if major in ("video", "audio", "image") else "unknown"


def mime_for(filename: str, kind: str) -> str:
    """A MIME type from the extension, else a generic one for the kind."""
    return _MIME_BY_EXTENSION.get(extension(filename), {
        "video": "video/mp4", "audio": "audio/mpeg", "image": "image/jpeg",
    }.get(kind, "application/octet-stream"))


def _sniff(head: bytes) -> tuple[str, str, str] | None:
    """(kind, mime, container) from the first bytes, or None."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "audio", "audio/mp4", "mov,mp4,m4a,3gp,3g2,mj2"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return "image", "image/heic" if brand != b"avif" else "image/avif", "heif"
        mime = "video/quicktime" if brand == b"qt  " else "video/mp4"
        return "video", mime, "mov,mp4,m4a,3gp,3g2,mj2"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video", "video/quicktime", "mov,mp4,m4a,3gp,3g2,mj2"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        webm = b"webm" in head[:64]
        return ("video", "video/webm" if webm else "video/x-matroska",
                "matroska,webm")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video", "video/x-msvideo", "avi"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio", "audio/wav", "wav"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "image/webp", "webp_pipe"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "video", "video/mp2t", "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video", "video/mpeg", "mpeg"
    if head.startswith(b"FLV"):
        return "video", "video/x-flv", "flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video", "video/x-ms-asf", "asf"
    if head.startswith(b"OggS"):
        return ("video", "video/ogg", "ogg") if b"theora" in head[:128] else (
            "audio", "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return "audio", "audio/flac", "flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF
                                   and head[1] & 0xE0 == 0xE0):
        return "audio", "audio/mpeg", "mp3"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png", "png_pipe"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg", "jpeg_pipe"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image", "image/gif", "gif"
    if head.startswith(b"BM"):
        return "image", "image/bmp", "bmp_pipe"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image", "image/tiff", "tiff_pipe"
    return None


def _boxes(fh: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes between ``start`` and ``end``: (type, payload start, box end)."""
    boxes: list[tuple[bytes, int, int]] = []
    position = start
    while position + 8 <= end and len(boxes) < 4096:
        fh.seek(position)
        header = fh.read(16)
        if len(header) < 8:
            break
        size, kind = struct.unpack(">I4s", header[:8])
        payload = position + 8
        if size == 1 and len(header) == 16:
            size = struct.unpack(">Q", header[8:16])[0]
            payload = position + 16
        elif size == 0:
            size = end - position
        if size < 8 or position + size > end:
            break
        boxes.append((kind, payload, position + size))
        position += size
    return boxes


def _mp4_facts(fh: BinaryIO, size: int) -> tuple[float | None, int | None, int | None]:
    """Duration from ``moov/mvhd``, picture size from the first video ``trak/tkhd``."""
    moov = next((b for b in _boxes(fh, 0, size) if b[0] == b"moov"), None)
    if moov is None:
        return None, None, None
    duration = None
    width = height = None
    for kind, payload, end in _boxes(fh, moov[1], moov[2]):
        if kind == b"mvhd":
            fh.seek(payload)
            data = fh.read(32)
            if data[:1] == b"\x01" and len(data) >= 32:
                timescale, length = struct.unpack(">IQ", data[20:32])
            elif len(data) >= 20:
                timescale, length = struct.unpack(">II", data[12:20])
            else:
                continue
            if timescale and length not in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
                duration = length / timescale
        elif kind == b"trak" and width is None:
            for sub, sub_payload, sub_end in _boxes(fh, payload, end):
                if sub != b"tkhd":
                    continue
                fh.seek(sub_payload)
                data = fh.read(sub_end - sub_payload)
                # width and height are the last 8 bytes, 16.16 fixed point.
                if len(data) >= 84:
                    w, h = struct.unpack(">II", data[-8:])
                    if w >> 16 and h >> 16:
                        width, height = w >> 16, h >> 16
    return duration, width, height


def _image_size(head: bytes, fh: BinaryIO) -> tuple[int | None, int | None]:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    if head.startswith((b"GIF87a", b"GIF89a")) and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return w, h
    if head.startswith(b"BM") and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return abs(w), abs(h)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(fh)
    return None, None


def _jpeg_size(fh: BinaryIO) -> tuple[int | None, int | None]:
    fh.seek(2)
    for _ in range(1000):
        marker = fh.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None, None
        code = marker[1]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            return None, None
        length = struct.unpack(">H", length_bytes)[0]
        if code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                    0xCF):
            data = fh.read(5)
            if len(data) < 5:
                return None, None
            h, w = struct.unpack(">HH", data[1:5])
            return w, h
        fh.seek(length - 2, 1)
    return None, None


def probe_file(path: Path, filename: str, content_type: str | None = None) -> Probe:
    """Everything the sandbox can learn about ``path`` (named ``filename`` by the user)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(512)
            sniffed = _sniff(head)
            if sniffed is None:
                claimed = kind_from_name(filename, content_type)
                return Probe(kind="unknown", mime=mime_for(filename, claimed))
            kind, mime, container = sniffed
            duration: float | None = None
            width = height = None
            if container.startswith("mov,mp4"):
                with contextlib.suppress(OSError, struct.error):
                    duration, width, height = _mp4_facts(fh, size)
            elif kind == "image":
                with contextlib.suppress(OSError, struct.error):
                    width, height = _image_size(head, fh)
    except OSError:
        return Probe(kind="unknown", mime="application/octet-stream")
    estimated = False
    if kind in ("video", "audio") and not duration:
        rate = GUESS_VIDEO_BITS_PER_SECOND if kind == "video" else GUESS_AUDIO_BITS_PER_SECOND
        # Size-based guess: no container parser for this format without FFmpeg.
        duration = max(1.0, round(size * 8 / rate, 1))
        estimated = True
    if kind == "image":
        duration = None
    return Probe(kind=kind, mime=mime, container=container, duration=duration, width=width,
                 height=height, estimated=estimated)
