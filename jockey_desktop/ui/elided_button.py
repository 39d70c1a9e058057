"""Buttons that draw their text elided to the width they are given; ``text()``, the tooltip
and the accessible name keep the whole text.

A button's minimum width is normally its whole text, and a window's minimum width is the
sum of its parts' minimums: a long store name in the picker, or a long video title in a
starter question, made the window wider than a small screen, and opening the player beside
the chat pushed it wider still. These buttons ask for their whole text's width when there
is room and shrink, eliding what they draw, down to ``min_width``.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QWidget,
)

from jockey_desktop.ui.theme import plain_menu_text

#: The narrowest such a button gets unless told otherwise.
MIN_WIDTH = 160


def elided_label(button: QPushButton | QToolButton, width: int, suffix: str = "") -> str:
    """``button``'s text as drawn at ``width``: elided on the right, ``suffix`` (a drop-down's
    arrow, at the end of the text) always whole; ``&&`` stays an escaped ``&``."""
    text = button.text().replace("&&", "&")
    metrics = button.fontMetrics()
    # The style's margins: what the button asks for beyond its text.
    frame = max(0, button.sizeHint().width() - metrics.horizontalAdvance(text))
    if metrics.horizontalAdvance(text) + frame <= width:
        return button.text()
    body = text.removesuffix(suffix) if suffix else text
    room = max(0, width - frame - metrics.horizontalAdvance(suffix))
    return plain_menu_text(metrics.elidedText(body, Qt.TextElideMode.ElideRight, room) + suffix)


def narrowed(hint: QSize, min_width: int) -> QSize:
    """A button's minimum size: ``hint``'s height, its width but at most ``min_width``."""
    return QSize(min(hint.width(), min_width), hint.height())


class ElidedPushButton(QPushButton):
    """A push button drawing its text elided (see the module docstring)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 min_width: int = MIN_WIDTH) -> None:
        super().__init__(plain_menu_text(text), parent)
        self._min_width = min_width
        # A push button's policy is "Minimum" (never narrower than its hint): let it shrink.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def minimumSizeHint(self) -> QSize:
        """As tall as the text needs, at most ``min_width`` wide."""
        return narrowed(self.sizeHint(), self._min_width)

    def shown_text(self) -> str:
        """The text as drawn at the current width."""
        return elided_label(self, self.width())

    def paintEvent(self, event: QPaintEvent) -> None:
        """The style's button with the text elided to the width."""
        shown = self.shown_text()
        if shown == self.text():
            super().paintEvent(event)  # it fits: Qt's own paint, no style option built
            return
        # Imported here: their Python types (and enums) cost ms at start, where names fit.
        from PySide6.QtWidgets import QStyleOptionButton, QStylePainter

        painter = QStylePainter(self)
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = shown
        painter.drawControl(QStyle.ControlElement.CE_PushButton, option)


class ElidedToolButton(QToolButton):
    """A tool button drawing its text elided, its ``suffix`` kept whole (see the module
    docstring)."""

    def __init__(self, parent: QWidget | None = None, *, min_width: int = MIN_WIDTH,
                 suffix: str = "") -> None:
        super().__init__(parent)
        self._min_width = min_width
        self._suffix = suffix
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def minimumSizeHint(self) -> QSize:
        """As tall as the text needs, at most ``min_width`` wide."""
        return narrowed(self.sizeHint(), self._min_width)

    def shown_text(self) -> str:
        """The text as drawn at the current width."""
        return elided_label(self, self.width(), self._suffix)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The style's tool button with the text elided to the width."""
        shown = self.shown_text()
        if shown == self.text():
            super().paintEvent(event)  # it fits: Qt's own paint, no style option built
            return
        from PySide6.QtWidgets import QStyleOptionToolButton, QStylePainter

        painter = QStylePainter(self)
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        option.text = shown
        painter.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, option)
