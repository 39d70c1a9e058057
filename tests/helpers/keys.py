"""Typing as a person does: every key goes to whichever widget has the focus at that moment
(``qtbot.keyClicks(widget, …)`` would send them all to one widget), and clicking a link in
a label where it is drawn."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel


def type_text(qtbot: Any, text: str) -> None:
    """Type ``text`` key by key into the focused widget (the focus may move meanwhile)."""
    for char in text:
        focused = QApplication.focusWidget()
        assert focused is not None, "no widget has the keyboard focus"
        qtbot.keyClicks(focused, char)


def press(qtbot: Any, key: Qt.Key,
          modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press one key in the focused widget."""
    focused = QApplication.focusWidget()
    assert focused is not None, "no widget has the keyboard focus"
    qtbot.keyClick(focused, key, modifier)


def click_link(qtbot: Any, label: QLabel) -> str:
    """Click the first link drawn in ``label`` (found by clicking across it, as a mouse
    would); returns the link's address, or "" when no click hit one."""
    hit: list[str] = []

    def record(href: str) -> None:
        hit.append(href)

    label.linkActivated.connect(record)
    try:
        for y in range(4, label.height(), 6):
            for x in range(2, label.width(), 4):
                qtbot.mouseClick(label, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
                if hit:
                    return hit[0]
    finally:
        label.linkActivated.disconnect(record)
    return ""
