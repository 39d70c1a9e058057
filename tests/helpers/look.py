"""The app's look (style, palette, stylesheet) applied for one test and put back after it:
``apply_theme`` changes application-wide state the other tests must not inherit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def themed(qapp: Any, scheme: str) -> Iterator[None]:
    """``apply_theme(qapp, scheme)`` for the block; the previous look is restored after."""
    from jockey_desktop.ui.theme import apply_theme

    palette, style, sheet = qapp.palette(), qapp.style().name(), qapp.styleSheet()
    apply_theme(qapp, scheme)
    try:
        yield
    finally:
        if style:
            qapp.setStyle(style)
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)
