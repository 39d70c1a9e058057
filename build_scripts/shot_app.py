"""The real app on the built-in sandbox, offscreen, for the screenshot scripts: started in a
temporary data folder with the chosen theme and window size, and shut down afterwards."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from jockey_desktop.app import JockeyDesktop


def application() -> QApplication:
    """The running QApplication, or a new one (the screenshots need widgets)."""
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication(sys.argv[:1])


@contextmanager
def sandbox_desktop(theme: str, width: int, height: int) -> Iterator[JockeyDesktop]:
    """A started app on the fast sandbox, its window shown at ``width``×``height`` in
    ``theme``; shut down and closed when the block ends (also on an error)."""
    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.ui.theme import apply_theme

    qapp = application()
    options = AppOptions(sandbox=True, data_dir=tempfile.mkdtemp(prefix="jockey-screenshot-"),
                         sandbox_pace="fast", single_instance=False, interactive=False)
    desktop = JockeyDesktop.create(options, qapp)
    if desktop is None:
        raise SystemExit(f"the app did not start: {JockeyDesktop.last_start_failure}")
    try:
        apply_theme(qapp, theme)
        desktop.start(show=True)
        desktop.window.resize(width, height)
        yield desktop
    finally:
        desktop.shutdown()
        desktop.window.close()
