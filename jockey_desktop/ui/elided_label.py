"""A one-line label that ends in "…" when its text is wider than the label (a plain QLabel
cuts the text off mid-letter), keeping the whole text as its ``text()`` and tooltip-able."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QStyle, QWidget


class ElidedLabel(QLabel):
    """Plain text on one line, elided at the right edge when it does not fit.

    ``text()`` stays the whole text (what screen readers and tests read); only the painting
    is shortened. The text lines up with the window's layout direction (left in a
    left-to-right window) even when it is right-to-left text, like the lines around it.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def minimumSizeHint(self) -> QSize:
        """As tall as the text, and only a few letters wide: the label elides rather than
        holding its layout (and the window) as wide as the whole text."""
        hint = super().minimumSizeHint()
        few = self.fontMetrics().horizontalAdvance("Mmm…") + self.contentsMargins().left() \
            + self.contentsMargins().right()
        return QSize(min(hint.width(), few), hint.height())

    def shown_text(self) -> str:
        """What is painted: the text, or as much of it as fits followed by "…"."""
        # On one line: an imported title may hold line breaks.
        line = " ".join(self.text().split())
        return self.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint :meth:`shown_text` where QLabel would paint the text."""
        painter = QPainter(self)
        alignment = QStyle.visualAlignment(self.layoutDirection(), self.alignment())
        self.style().drawItemText(painter, self.contentsRect(), int(alignment), self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())
        painter.end()
