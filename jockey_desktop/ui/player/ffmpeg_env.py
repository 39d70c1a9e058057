"""What FFmpeg (inside Qt's multimedia backend) reads from the process: its log level and the
proxy variables.

**Loopback is never proxied.** The player reads the media relay on ``127.0.0.1``. FFmpeg
honours a lowercase ``http_proxy`` (and only that one) and exempts nothing but what
``no_proxy`` names, so with a proxy configured it would send the relay's loopback requests to
the proxy, which cannot reach them. :func:`exempt_loopback` adds ``127.0.0.1`` to ``no_proxy``
(merged with whatever ``no_proxy``/``NO_PROXY`` held, so ``requests`` keeps every exemption
the user set; loopback never goes through a proxy in this app anyway).

**Quiet on stderr.** Qt's FFmpeg backend leaves FFmpeg's own log at its default level, where
FFmpeg writes every address it opens and a dump of every stream straight to the process's
stderr (not through Qt's message handler, so no filter sees it). The player reports its
problems itself, in words; the packaged self-test fails on unexpected stderr; and an address,
even the relay's loopback one, does not belong in a terminal. So once the backend has loaded
FFmpeg, its log level is set to "quiet" through ``av_log_set_level`` of the ``libavutil`` the
backend loaded. Setting ``QT_FFMPEG_DEBUG`` (Qt's own switch for FFmpeg logs) leaves it be.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: FFmpeg's ``AV_LOG_QUIET``.
AV_LOG_QUIET = -8


def _linux_avutil() -> str | None:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if "/libavutil.so" in path:
                    return path
    except OSError:
        return None
    return None


def _mac_avutil() -> str | None:
    libc = ctypes.CDLL(None)
    count = libc._dyld_image_count()
    libc._dyld_get_image_name.restype = ctypes.c_char_p
    for index in range(count):
        name = libc._dyld_get_image_name(index)
        if name and b"libavutil" in name:
            return str(name.decode("utf-8", "replace"))
    return None


def _windows_avutil() -> str | None:
    import PySide6

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    for candidate in sorted(Path(PySide6.__file__).parent.glob("avutil-*.dll")):
        if kernel32.GetModuleHandleW(candidate.name):
            return candidate.name
    return None


def loaded_avutil() -> ctypes.CDLL | None:
    """The ``libavutil`` Qt's FFmpeg backend has loaded into this process, or None."""
    try:
        if sys.platform.startswith("linux"):
            path = _linux_avutil()
        elif sys.platform == "darwin":
            path = _mac_avutil()
        elif sys.platform == "win32":
            path = _windows_avutil()
        else:
            path = None
        return ctypes.CDLL(path) if path else None
    except (OSError, AttributeError, ImportError):
        return None


def exempt_loopback() -> None:
    """Make sure ``127.0.0.1`` is in ``no_proxy`` (see the module docstring)."""
    current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    names = [name.strip() for name in current.split(",") if name.strip()]
    if "*" in names or "127.0.0.1" in names:
        return
    os.environ["no_proxy"] = ",".join([*names, "127.0.0.1"])


def quiet_ffmpeg_log() -> bool:
    """Silence FFmpeg's stderr log (after the backend loaded FFmpeg); True when done."""
    if os.environ.get("QT_FFMPEG_DEBUG"):
        return False
    library = loaded_avutil()
    if library is None:
        return False
    try:
        library.av_log_set_level(ctypes.c_int(AV_LOG_QUIET))
    except AttributeError:  # not FFmpeg's libavutil after all
        return False
    log.debug("FFmpeg's own log silenced")
    return True
