"""Selecting text in the transcript: inside one message or across several (issue 14.7).

A selection runs from an *anchor* to a *focus*, each a (message id, position) pair; a position
counts characters through a row's text documents (``RowLayout.parts``: the answer's text, or
the question in its bubble), each document counting its ``characterCount()`` (its text plus
one closing separator). Rows between the two ends are selected whole. The view keeps the
selection, the delegate paints it from :meth:`TextSelection.range_in`, and Ctrl+C copies
:func:`selected_text` as plain text ("Copy as Markdown" stays a separate action).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextCursor

from jockey_desktop.ui.message_layout import RowLayout

#: (message id, position) — one end of a selection.
End = tuple[int, int]


@dataclass(frozen=True)
class TextSelection:
    """From ``anchor`` (where the drag started) to ``focus`` (where it is now)."""

    anchor: End
    focus: End

    def ordered(self, row_of: Callable[[int], int | None]) -> tuple[End, End] | None:
        """(first, last) end in transcript order, or None when an end's row is gone."""
        a_row, f_row = row_of(self.anchor[0]), row_of(self.focus[0])
        if a_row is None or f_row is None:
            return None
        if (a_row, self.anchor[1]) <= (f_row, self.focus[1]):
            return self.anchor, self.focus
        return self.focus, self.anchor

    def is_empty(self) -> bool:
        """True when nothing is selected (both ends at one place)."""
        return self.anchor == self.focus

    def range_in(self, message_id: int, row_of: Callable[[int], int | None],
                 length: int) -> tuple[int, int] | None:
        """The selected (start, end) of a row whose text is ``length`` positions long, or
        None when none of it is selected."""
        ends = self.ordered(row_of)
        row = row_of(message_id)
        if ends is None or row is None or self.is_empty():
            return None
        (first_id, first_pos), (last_id, last_pos) = ends
        first_row, last_row = row_of(first_id), row_of(last_id)
        assert first_row is not None and last_row is not None
        if not first_row <= row <= last_row:
            return None
        start = first_pos if row == first_row else 0
        end = last_pos if row == last_row else length
        return (start, end) if end > start else None


def text_length(layout: RowLayout) -> int:
    """How many positions the row's text has (0 for a row without text)."""
    return sum(document.characterCount() for _y, document in layout.parts)


def text_position(layout: RowLayout, pos: QPointF) -> int:
    """The position in the row's text nearest to ``pos`` (row coordinates): before the
    text → 0, after it → its end."""
    offset = 0
    for y, document in layout.parts:
        local = pos - layout.doc_origin - QPointF(0, y)
        height = document.size().height()
        if local.y() < 0:
            return offset
        if local.y() <= height:
            hit = document.documentLayout().hitTest(local, Qt.HitTestAccuracy.FuzzyHit)
            return offset + max(0, hit)
        offset += document.characterCount()
    return max(0, offset - 1) if layout.parts else 0


def selected_text(layout: RowLayout, start: int, end: int) -> str:
    """The plain text between two positions of the row's text (line and paragraph breaks
    as newlines, no Markdown)."""
    pieces: list[str] = []
    offset = 0
    for _y, document in layout.parts:
        count = document.characterCount()
        lo, hi = max(start, offset), min(end, offset + count - 1)
        if hi > lo:
            cursor = QTextCursor(document)
            cursor.setPosition(lo - offset)
            cursor.setPosition(hi - offset, QTextCursor.MoveMode.KeepAnchor)
            pieces.append(_plain(cursor.selectedText()))
        offset += count
    return "\n\n".join(pieces)


def _plain(text: str) -> str:
    # QTextCursor gives paragraph and line separators and no-break spaces as Unicode.
    return text.replace("\u2029", "\n").replace("\u2028", "\n").replace("\u00a0", " ")


def part_ranges(layout: RowLayout, start: int, end: int) -> list[tuple[int, int, int]]:
    """(part index, start, end) of a row's selected range within each of its documents."""
    ranges: list[tuple[int, int, int]] = []
    offset = 0
    for index, (_y, document) in enumerate(layout.parts):
        count = document.characterCount()
        lo, hi = max(start, offset), min(end, offset + count - 1)
        if hi > lo:
            ranges.append((index, lo - offset, hi - offset))
        offset += count
    return ranges


def word_at(layout: RowLayout, position: int) -> tuple[int, int] | None:
    """(start, end) of the word at a position of the row's text, or None (not on a word)."""
    offset = 0
    for _y, document in layout.parts:
        count = document.characterCount()
        if position < offset + count:
            cursor = QTextCursor(document)
            cursor.setPosition(position - offset)
            cursor.select(QTextCursor.SelectionType.WordUnderCursor)
            if not cursor.hasSelection():
                return None
            return (offset + cursor.selectionStart(), offset + cursor.selectionEnd())
        offset += count
    return None


def block_at(layout: RowLayout, position: int) -> tuple[int, int] | None:
    """(start, end) of the paragraph (text block: a paragraph, a list item, a code block)
    at a position of the row's text, or None past its end — what a triple click takes."""
    offset = 0
    for _y, document in layout.parts:
        count = document.characterCount()
        if position < offset + count:
            block = document.findBlock(position - offset)
            if not block.isValid():
                return None
            start = offset + block.position()
            # A block's length counts its closing separator: the paragraph's text only.
            return (start, start + max(0, block.length() - 1))
        offset += count
    return None
