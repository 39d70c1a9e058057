"""Generate every application icon from the one source image ``resources/icons/app.svg``.

Linux wants PNGs, Windows a multi-size ``.ico`` and macOS an ``.icns``. Both containers are
written here by hand (a few struct calls) instead of through Pillow or ``iconutil``: that keeps
the build free of extra dependencies and lets the Linux CI produce all three. Both formats
accept PNG-compressed entries, so every entry is simply the PNG rendered by Qt's SVG renderer.

Run as a script to regenerate the committed raster fallback ``resources/icons/app-256.png``::

    python build_scripts/icons.py            # writes resources/icons/app-256.png
    python build_scripts/icons.py OUT_DIR    # writes every PNG, app.ico and app.icns
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_SVG = REPO_ROOT / "resources" / "icons" / "app.svg"

#: PNG sizes shipped for Linux (hicolor theme) and used to fill the containers.
PNG_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
#: Windows shows 16..256; a 256 entry is what Explorer uses for large icon views.
ICO_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256)
#: icns OSTypes that hold PNG data, with their pixel size (the @2x types are the retina ones).
ICNS_TYPES: dict[str, int] = {
    "ic07": 128,
    "ic08": 256,
    "ic09": 512,
    "ic10": 1024,  # 512@2x
    "ic11": 32,  # 16@2x
    "ic12": 64,  # 32@2x
    "ic13": 256,  # 128@2x
    "ic14": 512,  # 256@2x
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class IconError(ValueError):
    """Raised for malformed PNG/ICO/ICNS data or an SVG that cannot be rendered."""


@dataclass(frozen=True)
class IcoEntry:
    """One image directory entry of an ``.ico`` file, as parsed back from the bytes."""

    width: int
    height: int
    bit_count: int
    size: int
    offset: int


@dataclass(frozen=True)
class IcnsEntry:
    """One element of an ``.icns`` file: its OSType, data length and the PNG inside."""

    ostype: str
    length: int
    data: bytes


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Return ``(width, height)`` from a PNG's IHDR chunk; raise IconError if not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise IconError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def render_png(svg_path: Path, size: int) -> bytes:
    """Render the SVG to a square transparent PNG of ``size`` pixels and return its bytes.

    No QGuiApplication is created: painting vector shapes onto a QImage works without one,
    and creating one here would clash with a QApplication that a caller (or pytest-qt)
    makes later in the same process.
    """
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if size < 1:
        raise IconError(f"icon size must be positive, got {size}")
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise IconError(f"cannot render SVG {svg_path}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        renderer.render(painter, QRectF(0, 0, size, size))
    finally:
        painter.end()
    buffer = QByteArray()
    device = QBuffer(buffer)
    device.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(device, "PNG"):
        raise IconError("Qt could not encode the PNG")
    device.close()
    return bytes(buffer.data())


def render_pngs(svg_path: Path, sizes: Iterable[int] = PNG_SIZES) -> dict[int, bytes]:
    """Render the SVG once per size; returns ``{size: png_bytes}``."""
    return {size: render_png(svg_path, size) for size in sorted(set(sizes))}


def build_ico(pngs: Mapping[int, bytes]) -> bytes:
    """Return an ``.ico`` container holding each PNG as one PNG-compressed image entry.

    Layout: ICONDIR (reserved=0, type=1, count), then one 16-byte ICONDIRENTRY per image,
    then the image data. A width/height byte of 0 means 256 (the format's largest size).
    """
    if not pngs:
        raise IconError("an .ico needs at least one image")
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    directory = b""
    payload = b""
    for size in sizes:
        data = pngs[size]
        width, height = png_dimensions(data)
        if (width, height) != (size, size):
            raise IconError(f"PNG for size {size} is {width}x{height}")
        if size > 256:
            raise IconError(f".ico entries are at most 256 px, got {size}")
        dim = 0 if size == 256 else size
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        payload += data
        offset += len(data)
    return header + directory + payload


def parse_ico(data: bytes) -> list[IcoEntry]:
    """Parse an ``.ico`` container back into its directory entries (validating bounds)."""
    if len(data) < 6:
        raise IconError("truncated .ico header")
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    if reserved != 0 or kind != 1:
        raise IconError("not an .ico file")
    entries: list[IcoEntry] = []
    for index in range(count):
        start = 6 + 16 * index
        if start + 16 > len(data):
            raise IconError("truncated .ico directory")
        width, height, _colors, _res, _planes, bits, size, offset = struct.unpack(
            "<BBBBHHII", data[start : start + 16]
        )
        if offset + size > len(data):
            raise IconError(f".ico entry {index} points past the end of the file")
        entries.append(IcoEntry(width or 256, height or 256, bits, size, offset))
    return entries


def build_icns(pngs: Mapping[int, bytes]) -> bytes:
    """Return an ``.icns`` container with one PNG element per OSType in ICNS_TYPES.

    Layout: magic ``icns`` + big-endian total length, then elements of OSType + big-endian
    length (which includes its own 8-byte header) + PNG data. Types whose size is missing
    from ``pngs`` are skipped; at least one must be present.
    """
    body = b""
    for ostype, size in ICNS_TYPES.items():
        data = pngs.get(size)
        if data is None:
            continue
        if png_dimensions(data) != (size, size):
            raise IconError(f"PNG for {ostype} must be {size}x{size}")
        body += ostype.encode("ascii") + struct.pack(">I", len(data) + 8) + data
    if not body:
        raise IconError("no PNG of an icns size (32, 64, 128, 256, 512, 1024) given")
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def parse_icns(data: bytes) -> list[IcnsEntry]:
    """Parse an ``.icns`` container back into its elements (validating lengths)."""
    if len(data) < 8 or data[:4] != b"icns":
        raise IconError("not an .icns file")
    (total,) = struct.unpack(">I", data[4:8])
    if total != len(data):
        raise IconError(f".icns says {total} bytes but has {len(data)}")
    entries: list[IcnsEntry] = []
    pos = 8
    while pos < total:
        if pos + 8 > total:
            raise IconError("truncated .icns element header")
        ostype = data[pos : pos + 4].decode("ascii", errors="replace")
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if length < 8 or pos + length > total:
            raise IconError(f".icns element {ostype!r} has a bad length {length}")
        entries.append(IcnsEntry(ostype, length, data[pos + 8 : pos + length]))
        pos += length
    return entries


@dataclass(frozen=True)
class IconSet:
    """Paths of the generated icon files."""

    pngs: dict[int, Path]
    ico: Path
    icns: Path


def generate_icon_set(out_dir: Path, svg_path: Path = SOURCE_SVG) -> IconSet:
    """Write ``app-<size>.png`` for every PNG_SIZES, ``app.ico`` and ``app.icns`` to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(svg_path, PNG_SIZES)
    png_paths: dict[int, Path] = {}
    for size, data in pngs.items():
        path = out_dir / f"app-{size}.png"
        path.write_bytes(data)
        png_paths[size] = path
    ico = out_dir / "app.ico"
    ico.write_bytes(build_ico({s: pngs[s] for s in ICO_SIZES}))
    icns = out_dir / "app.icns"
    icns.write_bytes(build_icns(pngs))
    return IconSet(png_paths, ico, icns)


def write_raster_fallback(svg_path: Path = SOURCE_SVG) -> Path:
    """Regenerate the committed ``resources/icons/app-256.png`` next to the SVG."""
    target = svg_path.with_name("app-256.png")
    target.write_bytes(render_png(svg_path, 256))
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: no argument regenerates the raster fallback; one argument writes a full set."""
    args = sys.argv[1:] if argv is None else argv
    if args:
        icon_set = generate_icon_set(Path(args[0]))
        print(f"wrote {len(icon_set.pngs)} PNGs, {icon_set.ico.name}, {icon_set.icns.name}")
    else:
        print(f"wrote {write_raster_fallback()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
