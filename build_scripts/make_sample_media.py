"""Make the sandbox's sample media: one short MPEG-TS segment per sample video.

    python build_scripts/make_sample_media.py [--out resources/sandbox/media] [--font FILE]

Run once by a developer (it needs ``ffmpeg`` with libx264 and drawtext); the results are
committed and the packaged app never runs FFmpeg. Each file is ``<asset_id>.ts``, named after
the sample video's asset; ``uploaded.ts`` stands in for every uploaded video.

What a segment is, and the compromise it makes. A real HLS stream of every sample video at its
stated length (up to 69 minutes) would be tens of megabytes; the budget for all sample media
is 2 MB. So each video gets one 60-second segment — 320×180 H.264 at 2 frames a second, a key
frame every second, no B-frames, no audio — showing the video's title on a colour of its own
and a large clock "··:SS" with the seconds within the minute (small text is costly in key
frames, so there is no caption; a line of explanation doubled the size).

The sandbox's playlist repeats the segment for every minute of the video and rewrites the
timestamps of each repeat (``sandbox.media.SegmentTemplate``), so players see one continuous,
seekable stream of the stated duration. (Repeating the bytes unchanged behind
``#EXT-X-DISCONTINUITY`` tags was the other way; but FFmpeg, which QtMultimedia plays with,
seeks and reports positions by timestamps, and those would restart every minute.) Because
every repeat starts on a whole minute, the seconds in the picture are the real seconds of the
playing position, so a person can see a seek land; the minutes are not in the picture (that
would need a distinct segment per minute, far over budget). A key frame every second keeps a
seek within a second of its target: QtMultimedia decodes from the key frame before it (checked:
``setPosition(754300)`` on the savanna video gave a first frame at 754.0 s showing "··:34").

Deterministic: x264 runs on one thread with FFmpeg's bitexact flags, so the same FFmpeg build
makes the same bytes. FFmpeg repeats the PAT/PMT tables before every key frame; the copies
after the first are dropped (a fifth of the size; a segment is always read from its start).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jockey_desktop.sandbox.data import load_stores  # noqa: E402
from jockey_desktop.sandbox.media import SegmentTemplate, strip_repeated_tables  # noqa: E402

SEGMENT_SECONDS = 60
FRAME_RATE = 2
SIZE = "320x180"
BUDGET_BYTES = 2 * 1024 * 1024
UPLOADED = "uploaded"
DEFAULT_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                 "/Library/Fonts/Arial Bold.ttf", "C:/Windows/Fonts/arialbd.ttf")


def colour_for(asset_id: str) -> str:
    """The background colour of a video: the same one its sandbox thumbnails use."""
    crc = zlib.crc32(asset_id.encode())
    red, green, blue = (((crc >> shift) & 0x7F) + 40 for shift in (0, 8, 16))
    return f"0x{red:02x}{green:02x}{blue:02x}"


def printable(title: str) -> str:
    """The title without characters a plain font cannot draw (emoji), spaces collapsed."""
    kept = "".join(c for c in title if ord(c) < 0x2500)
    return " ".join(kept.split())


def encode(out: Path, title: str, colour: str, font: str, work: Path) -> None:
    """One segment with FFmpeg (see the module docstring), tables de-duplicated."""
    texts = {"title": printable(title)[:40], "clock": "··:%{eif:mod(t,60):d:2}"}
    for name, text in texts.items():
        (work / f"{name}.txt").write_text(text, encoding="utf-8")
    drawtext = f"drawtext=fontfile='{font}':fontcolor=white"
    filters = ",".join([
        f"{drawtext}:textfile='{work / 'title.txt'}':x=10:y=10:fontsize=14",
        f"{drawtext}:textfile='{work / 'clock.txt'}':x=(w-tw)/2:y=(h-th)/2-4:fontsize=54",
    ])
    raw = work / "raw.ts"
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi",
        "-i", f"color=c={colour}:size={SIZE}:rate={FRAME_RATE}:duration={SEGMENT_SECONDS}",
        "-vf", filters,
        "-c:v", "libx264", "-preset", "veryslow", "-crf", "40", "-pix_fmt", "yuv420p",
        "-g", str(FRAME_RATE), "-keyint_min", str(FRAME_RATE), "-sc_threshold", "0",
        "-bf", "0", "-threads", "1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
        "-f", "mpegts", str(raw),
    ]
    subprocess.run(command, check=True)
    data = strip_repeated_tables(raw.read_bytes())
    template = SegmentTemplate(data)
    if template.duration != SEGMENT_SECONDS:
        raise SystemExit(f"{out.name}: {template.duration} s of video, not {SEGMENT_SECONDS}")
    out.write_bytes(data)


def videos() -> dict[str, str]:
    """Asset id → title of every sample video, plus the stand-in for uploads."""
    found = {UPLOADED: "Uploaded video (sandbox stand-in)"}
    for store in load_stores().values():
        for item in store.items:
            found[str(item.api["asset_id"])] = item.title
    return found


def main(argv: list[str] | None = None) -> int:
    """Write every segment into ``--out`` and check the size budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "sandbox" / "media")
    parser.add_argument("--font", default=next((f for f in DEFAULT_FONTS if Path(f).exists()),
                                               None))
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("make_sample_media: ffmpeg is not installed", file=sys.stderr)
        return 2
    if not args.font:
        print("make_sample_media: no bold TrueType font found; pass --font", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.ts"):
        stale.unlink()
    total = 0
    with tempfile.TemporaryDirectory() as work:
        for asset_id, title in sorted(videos().items()):
            out = args.out / f"{asset_id}.ts"
            encode(out, title, colour_for(asset_id), args.font, Path(work))
            size = out.stat().st_size
            total += size
            print(f"{out.name}: {size / 1024:.0f} KB  {printable(title)}")
    print(f"total {total / 1024:.0f} KB for {len(videos())} segments")
    if total > BUDGET_BYTES:
        print(f"make_sample_media: over the {BUDGET_BYTES // 1024} KB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
