"""``python -m jockey_desktop --startup-probe [--sandbox] [--data-dir DIR]``: time start-up.

Builds the real application (the same composition root as a normal start), shows the main
window, waits for the first paint of the populated window — the sidebar's list painted with its
rows, or the window itself when there is no conversation (the welcome page, when there is no
key, comes only after the key lookup that follows the first paint) — prints::

    startup-probe: 412.3 ms to first paint
    startup-probe-clock: monotonic=12345.678901

and exits 0 (1 when the app cannot start, 3 when nothing was painted within the time limit).

How "process start" is known, without psutil:

- Linux: field 22 of ``/proc/self/stat`` is the process start in clock ticks since boot
  (``os.sysconf("SC_CLK_TCK")``, usually 100/s, so 10 ms resolution), compared with
  ``time.clock_gettime(CLOCK_BOOTTIME)``, the same clock the kernel uses for it.
- Windows: ``GetProcessTimes`` (creation time, 100 ns units) against ``time.time()``.
- Elsewhere: the time this module was imported, which misses the interpreter's start and the
  imports before it; the printed line says so.

The second line gives the ``CLOCK_MONOTONIC`` time of the first paint, so a parent process that
noted ``time.monotonic()`` just before spawning the probe gets an exact, tick-free figure (the
benchmark harness does that).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

_IMPORTED_AT = time.time()

#: Give up when nothing was painted after this long (a hung start must not hang scripts).
TIME_LIMIT_MS = 60_000


def process_start_age_s() -> tuple[float, str]:
    """Seconds since this process started, and how that was measured."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/stat", encoding="ascii") as stat:
                # The command name (field 2) may hold spaces: split after its closing paren.
                fields = stat.read().rsplit(")", 1)[1].split()
            start_ticks = int(fields[19])  # field 22 overall; fields[0] is field 3
            started = start_ticks / os.sysconf("SC_CLK_TCK")
            return time.clock_gettime(time.CLOCK_BOOTTIME) - started, "process start"
        except (OSError, ValueError, IndexError, AttributeError):
            pass
    elif sys.platform == "win32":
        age = _windows_process_age_s()
        if age is not None:
            return age, "process start"
    return time.time() - _IMPORTED_AT, "probe import (process start unknown here)"


def _windows_process_age_s() -> float | None:
    try:
        import ctypes
        from ctypes import wintypes

        creation, exit_, kernel, user = (wintypes.FILETIME() for _ in range(4))
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.GetCurrentProcess()
        if not kernel32.GetProcessTimes(handle, ctypes.byref(creation), ctypes.byref(exit_),
                                        ctypes.byref(kernel), ctypes.byref(user)):
            return None
        ticks = (creation.dwHighDateTime << 32) | creation.dwLowDateTime
        # FILETIME counts 100 ns steps since 1601-01-01; Unix time starts 11644473600 s later.
        return time.time() - (ticks / 10_000_000 - 11_644_473_600)
    except Exception:  # any ctypes trouble: fall back to the import time
        return None


def _options_from(target: Any) -> tuple[str | None, bool, str | None]:
    """(data_dir, sandbox, api_base) from an argparse namespace, a path or None."""
    if isinstance(target, argparse.Namespace):
        return (getattr(target, "data_dir", None), bool(getattr(target, "sandbox", False)),
                getattr(target, "api_base", None))
    if target is None:
        return None, False, None
    return str(Path(target)), False, None


def run_startup_probe(target: argparse.Namespace | str | os.PathLike[str] | None = None) -> int:
    """Start the real app on ``target`` (the parsed command line, or a data directory), print
    the milliseconds from process start to the first paint of the populated window, exit.

    Returns the process exit code (0 on success).
    """
    data_dir, sandbox, api_base = _options_from(target)

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.ui.viewport import viewport_of

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qapp, QApplication)
    # No single-instance guard: a probe must not bring a running window forward, and its
    # cost (one lock file) is negligible. No modal dialogs: scripts run this.
    options = AppOptions(sandbox=sandbox, api_base=api_base, data_dir=data_dir,
                         single_instance=False, interactive=False)
    desktop = JockeyDesktop.create(options, qapp)
    if desktop is None:
        print("startup-probe: the app could not start (see the message above).",
              file=sys.stderr)
        return 1

    window = desktop.window
    sidebar_view = window.sidebar.list_view

    class FirstPaint(QObject):
        """Notes the end of the first paint that shows the populated window."""

        def __init__(self) -> None:
            super().__init__()
            self.painted_at: float | None = None
            self.age_s = 0.0
            self.how = ""
            self._seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if self._seen or event.type() != QEvent.Type.Paint:
                return False
            # The first paint shows the main page (the welcome page, if any, comes after
            # the key lookup): the sidebar with its rows, or the window when there are none.
            populated = sidebar_view.model().rowCount() > 0 or watched is window
            if populated:
                self._seen = True
                # A zero timer fires once the whole window pass (every widget, then the
                # flush to the screen) is over: that is "painted", not "started painting".
                QTimer.singleShot(0, self.finish)
            return False

        def finish(self) -> None:
            self.painted_at = time.monotonic()
            self.age_s, self.how = process_start_age_s()
            qapp.quit()

    watcher = FirstPaint()
    viewport_of(sidebar_view).installEventFilter(watcher)
    if desktop.repo.count_conversations() == 0:
        # No conversation at all: the sidebar shows its empty page; any window paint counts.
        window.installEventFilter(watcher)
    QTimer.singleShot(TIME_LIMIT_MS, qapp.quit)
    desktop.start()
    try:
        qapp.exec()
    finally:
        desktop.shutdown()
    if watcher.painted_at is None:
        print(f"startup-probe: nothing was painted within {TIME_LIMIT_MS} ms.",
              file=sys.stderr)
        return 3
    note = "" if watcher.how == "process start" else f" (measured from {watcher.how})"
    print(f"startup-probe: {watcher.age_s * 1000:.1f} ms to first paint{note}", flush=True)
    print(f"startup-probe-clock: monotonic={watcher.painted_at:.6f}", flush=True)
    return 0
