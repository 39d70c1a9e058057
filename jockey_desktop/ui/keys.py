"""Keyboard rules shared by the views: which key presses are text being typed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

#: Modifiers that make a key press a command rather than text (Shift only changes the case).
_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


def is_typed_text(event: QKeyEvent) -> bool:
    """True when ``event`` types visible text (a letter, digit or punctuation) with no command
    modifier: what a view that cannot take text should hand to the question box.

    Enter, Tab, Backspace, Esc, arrows and a lone space (it scrolls or activates in views)
    are not; neither is Ctrl+C or Alt+F.
    """
    text = event.text()
    if not text or event.modifiers() & _COMMAND_MODIFIERS:
        return False
    return text.isprintable() and not text.isspace()
