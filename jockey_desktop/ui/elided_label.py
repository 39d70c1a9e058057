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

    #: The narrowest the label gets, in average characters ("…" included): below its whole
    #: text's width it elides instead of setting the window's minimum width.
    MIN_CHARS = 8

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def minimumSizeHint(self) -> QSize:
        """As tall as a line, at most :attr:`MIN_CHARS` characters wide (a plain QLabel's
        minimum is its whole text: a long store name made the window wider)."""
        hint = super().minimumSizeHint()
        narrow = self.fontMetrics().averageCharWidth() * self.MIN_CHARS
        margins = self.contentsMargins()
        return QSize(min(hint.width(), narrow + margins.left() + margins.right()), hint.height())

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
