"""Start the app on a real X server (Xvfb, Qt's ``xcb`` platform), screenshot it, quit it.

    python build_scripts/x11_smoke.py [--screenshot PATH] [--timeout S] [-- COMMAND ...]

The default command is the README's first command's last part, ``.venv/bin/jockey-desktop
--sandbox`` (with a temporary data folder), so this proves that what the README lists is
enough for a real X session: Qt's xcb platform plugin loads only when every xcb library it
links is installed, which ``offscreen`` never tests. Steps, each failing loudly:

1. start ``Xvfb`` on a free display (``-displayfd``) with a 24-bit 1280x800 screen;
2. start the app with ``QT_QPA_PLATFORM=xcb`` and an isolated HOME/XDG folders;
3. wait until a top-level window named "Jockey Desktop" is mapped (``xwininfo``);
4. take screenshots of the root window (``xwd``) until one shows the window drawn (enough
   distinct colours; an empty Xvfb screen is one colour), and save it as PNG;
5. send SIGTERM and require exit status 0 and no Python traceback on stderr.

Needs Debian's ``xvfb``, ``x11-apps`` (xwd) and ``x11-utils`` (xwininfo). The XWD parsing
and PNG writing are the pure functions below (``tests/unit/test_build_helpers.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Title of the main window (jockey_desktop.APP_NAME); xwininfo lists it in quotes.
WINDOW_NAME = "Jockey Desktop"

#: A drawn window has far more colours than this (text is anti-aliased); an empty or
#: unpainted screen has one or two.
MIN_COLOURS = 32


class SmokeError(RuntimeError):
    """A step of the smoke run failed; the message says which and why."""


@dataclass(frozen=True)
class Screenshot:
    """An RGB picture: width, height and ``width * height * 3`` bytes, rows top to bottom."""

    width: int
    height: int
    rgb: bytes

    def distinct_colours(self) -> int:
        """How many different colours the picture has."""
        return len({self.rgb[i : i + 3] for i in range(0, len(self.rgb), 3)})


def parse_xwd(data: bytes) -> Screenshot:
    """Decode an ``xwd`` dump of a true/direct-colour screen with 24 or 32 bits per pixel (what
    Xvfb at depth 24 gives). Raises ValueError for anything else."""
    if len(data) < 100:
        raise ValueError("not an XWD file: too short")
    fields = struct.unpack(">25I", data[:100])
    (header_size, version, _fmt, depth, width, height, _xoff, byte_order, _unit, _bit_order,
     _pad, bits_per_pixel, bytes_per_line, visual_class, red_mask, green_mask, blue_mask,
     _bits_rgb, _entries, ncolors, *_rest) = fields
    if version != 7:
        raise ValueError(f"not an XWD version 7 file (version {version})")
    if bits_per_pixel not in (24, 32) or depth < 24 or visual_class not in (4, 5):
        raise ValueError(f"unsupported XWD: {bits_per_pixel} bpp, depth {depth}, "
                         f"visual class {visual_class}")
    start = header_size + 12 * ncolors
    needed = start + bytes_per_line * (height - 1) + bits_per_pixel // 8 * width
    if len(data) < needed:
        raise ValueError(f"XWD pixel data truncated: {len(data)} of {needed} bytes")
    # Each channel is one whole byte of the pixel (Xvfb: 0xff0000/0xff00/0xff); its offset in
    # memory depends on the byte order. Copying by strided slices keeps a 1280x800 screen to
    # milliseconds.
    size = bits_per_pixel // 8
    offsets = []
    for mask in (red_mask, green_mask, blue_mask):
        if mask not in (0xFF, 0xFF00, 0xFF0000):
            raise ValueError(f"unsupported XWD colour mask {mask:#x}")
        shift = (mask.bit_length() - 1) // 8
        offsets.append(shift if byte_order == 0 else size - 1 - shift)
    out = bytearray(width * height * 3)
    for row in range(height):
        line = data[start + row * bytes_per_line : start + row * bytes_per_line + size * width]
        base = row * width * 3
        for channel, offset in enumerate(offsets):
            out[base + channel : base + width * 3 : 3] = line[offset::size]
    return Screenshot(width, height, bytes(out))


def png_bytes(shot: Screenshot) -> bytes:
    """Encode a screenshot as an 8-bit RGB PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    stride = shot.width * 3
    raw = b"".join(b"\0" + shot.rgb[y * stride : (y + 1) * stride] for y in range(shot.height))
    header = struct.pack(">IIBBBBB", shot.width, shot.height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def window_mapped(xwininfo_tree: str, name: str = WINDOW_NAME) -> bool:
    """True when ``xwininfo -root -tree`` lists a window titled ``name`` (or "… — name")."""
    pattern = re.compile(r'^\s*0x[0-9a-f]+ "(?:[^"]* — )?' + re.escape(name) + r'"', re.M)
    return pattern.search(xwininfo_tree) is not None


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SmokeError(f"{name} is missing (Debian: apt-get install {package})")
    return path


def start_xvfb(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display; return (process, ":N")."""
    xvfb = _tool("Xvfb", "xvfb")
    read_fd, write_fd = os.pipe()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten",
             "tcp", "-noreset"], pass_fds=(write_fd,), stdout=out, stderr=out)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as reader:
        number = reader.readline().strip().decode()  # Xvfb writes it once it accepts clients
    if not number.isdigit():
        process.kill()
        raise SmokeError(f"Xvfb did not start: {log.read_text(errors='replace')}")
    return process, f":{number}"


def app_environment(display: str, home: Path) -> dict[str, str]:
    """The environment of the app: the real xcb platform on ``display``, private folders."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("QT_", "WAYLAND_", "DBUS_SESSION")) and key != "XAUTHORITY"}
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update({
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "TWELVELABS_API_KEY": "",
    })
    return env


def wait_for_window(display: str, deadline: float, app: subprocess.Popen[bytes]) -> None:
    """Poll ``xwininfo`` until the main window is mapped; SmokeError at the deadline or when
    the app exits first."""
    xwininfo = _tool("xwininfo", "x11-utils")
    tree = ""
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SmokeError(f"the app exited with status {app.returncode} before showing "
                             "its window")
        tree = subprocess.run([xwininfo, "-root", "-tree", "-display", display],
                              capture_output=True, text=True, check=False).stdout
        if window_mapped(tree):
            return
        time.sleep(0.5)
    raise SmokeError(f"no window named {WINDOW_NAME!r} appeared; windows:\n{tree}")


def grab(display: str) -> Screenshot:
    """Screenshot of the whole screen through ``xwd``."""
    xwd = _tool("xwd", "x11-apps")
    data = subprocess.run([xwd, "-root", "-silent", "-display", display], capture_output=True,
                          check=True).stdout
    return parse_xwd(data)


def run_smoke(command: Sequence[str], screenshot: Path, timeout: float) -> str:
    """Run the whole smoke test; return its one-line summary or raise SmokeError."""
    with tempfile.TemporaryDirectory(prefix="jockey-x11-") as tmp_name:
        tmp = Path(tmp_name)
        xvfb, display = start_xvfb(tmp / "xvfb.log")
        app: subprocess.Popen[bytes] | None = None
        try:
            started = time.monotonic()
            deadline = started + timeout
            with (tmp / "app.err").open("wb") as err:
                app = subprocess.Popen(list(command), env=app_environment(display, tmp / "home"),
                                       stdout=subprocess.DEVNULL, stderr=err, cwd=tmp)
            wait_for_window(display, deadline, app)
            mapped = time.monotonic() - started
            shot = grab(display)
            while shot.distinct_colours() < MIN_COLOURS and time.monotonic() < deadline:
                time.sleep(0.5)
                shot = grab(display)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(png_bytes(shot))
            colours = shot.distinct_colours()
            if colours < MIN_COLOURS:
                raise SmokeError(f"the screen stayed blank ({colours} colours); see {screenshot}")
            if app.poll() is not None:
                raise SmokeError(f"the app exited by itself with status {app.returncode}")
            app.send_signal(signal.SIGTERM)
            try:
                status = app.wait(timeout=30)
            except subprocess.TimeoutExpired as exc:
                raise SmokeError("the app did not quit within 30 s of SIGTERM") from exc
            stderr = (tmp / "app.err").read_text(errors="replace")
            if stderr.strip():
                print("app stderr:\n" + stderr.rstrip())
            if status != 0:
                raise SmokeError(f"SIGTERM ended the app with status {status}, not 0")
            if "Traceback (most recent call last)" in stderr:
                raise SmokeError("the app printed a Python traceback")
            return (f"x11 smoke: window mapped after {mapped:.1f} s on Xvfb {display} (xcb); "
                    f"screenshot {screenshot} ({shot.width}x{shot.height}, {colours} colours); "
                    "SIGTERM -> exit 0")
        except SmokeError as exc:
            stderr = (tmp / "app.err").read_text(errors="replace").strip()
            raise SmokeError(f"{exc}\napp stderr:\n{stderr or '(empty)'}") from None
        finally:
            if app is not None and app.poll() is None:
                app.kill()
                app.wait()
            xvfb.terminate()
            try:
                xvfb.wait(timeout=10)
            except subprocess.TimeoutExpired:
                xvfb.kill()
                xvfb.wait()


def default_command(data_dir: Path) -> list[str]:
    """The README's ``.venv/bin/jockey-desktop --sandbox`` with a temporary data folder."""
    script = REPO_ROOT / ".venv" / "bin" / "jockey-desktop"
    return [str(script), "--sandbox", "--data-dir", str(data_dir)]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshot", type=Path, default=REPO_ROOT / "build" / "x11-smoke.png")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds for the window to appear and be drawn")
    parser.add_argument("command", nargs="*", help="the app command (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jockey-x11-data-") as data_dir:
        command = args.command or default_command(Path(data_dir) / "data")
        try:
            print(run_smoke(command, args.screenshot, args.timeout), flush=True)
        except (SmokeError, subprocess.CalledProcessError, ValueError) as exc:
            print(f"X11 SMOKE FAILED: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
