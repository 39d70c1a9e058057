"""Selecting text in the transcript: inside one message or across several (issue 14.7).

A selection runs from an *anchor* to a *focus*, each a (message id, position) pair; a position
counts characters through a row's text documents (:func:`row_documents`: the answer's text or
the question in its bubble, then an answer's web sources and open Steps list), each document
counting its ``characterCount()`` (its text plus one closing separator). Rows between the two
ends are selected whole. The view keeps the selection, the delegate paints it from
:meth:`TextSelection.range_in`, and Ctrl+C copies :func:`selected_text` as plain text ("Copy
as Markdown" stays a separate action). Controls are not text: chips, status and action lines
are not documents here, the Steps toggle is left out, and a step's "Show all" is skipped when
copying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextCursor, QTextDocument

from jockey_desktop.ui.message_layout import RowLayout
from jockey_desktop.ui.steps_view import selectable_extras, skipped_when_copied

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


def row_documents(layout: RowLayout) -> list[tuple[QPointF, QTextDocument, bool]]:
    """The row's selectable documents in reading order: (top-left in row coordinates,
    document, True for a document under the answer — web sources, a step)."""
    documents: list[tuple[QPointF, QTextDocument, bool]] = [
        (layout.doc_origin + QPointF(0, y), document, False) for y, document in layout.parts]
    documents.extend((origin, document, True)
                     for origin, document in selectable_extras(layout.extras))
    return documents


def text_length(layout: RowLayout) -> int:
    """How many positions the row's text has (0 for a row without text)."""
    return sum(document.characterCount() for _o, document, _x in row_documents(layout))


def text_position(layout: RowLayout, pos: QPointF) -> int:
    """The position in the row's text nearest to ``pos`` (row coordinates): before the
    text → 0, after it → its end; between two documents (chips) → the next one's start."""
    offset = 0
    documents = row_documents(layout)
    for origin, document, _extra in documents:
        local = pos - origin
        height = document.size().height()
        if local.y() < 0:
            return offset
        if local.y() <= height:
            hit = document.documentLayout().hitTest(local, Qt.HitTestAccuracy.FuzzyHit)
            return offset + max(0, hit)
        offset += document.characterCount()
    return max(0, offset - 1) if documents else 0


def over_text(layout: RowLayout, pos: QPointF) -> bool:
    """True when ``pos`` (row coordinates) is over one of the row's selectable documents."""
    for origin, document, _extra in row_documents(layout):
        local = pos - origin
        size = document.size()
        if 0 <= local.y() <= size.height() and 0 <= local.x() <= size.width():
            return True
    return False


def selected_text(layout: RowLayout, start: int, end: int) -> str:
    """The plain text between two positions of the row's text (line and paragraph breaks
    as newlines, no Markdown; a step's "Show all" left out)."""
    copied = ""
    offset = 0
    for _origin, document, extra in row_documents(layout):
        count = document.characterCount()
        lo, hi = max(start, offset), min(end, offset + count - 1)
        if hi > lo:
            text = _plain_without_controls(document, lo - offset, hi - offset) if extra \
                else _cursor_text(document, lo - offset, hi - offset)
            if text and copied:
                # A streaming answer's parts are consecutive paragraphs of one text: one
                # line break between them, as once it is whole; a blank line before what is
                # under the answer and between steps.
                copied += "\n\n" if extra else "\n"
            copied += text
        offset += count
    return copied


def _cursor_text(document: QTextDocument, lo: int, hi: int) -> str:
    cursor = QTextCursor(document)
    cursor.setPosition(lo)
    cursor.setPosition(hi, QTextCursor.MoveMode.KeepAnchor)
    return _plain(cursor.selectedText())


def _plain_without_controls(document: QTextDocument, lo: int, hi: int) -> str:
    """The text between two positions of a document under an answer, its controls ("Show
    all") left out along with the lines they leave empty."""
    lines: list[str] = []
    block = document.findBlock(lo)
    while block.isValid() and block.position() < hi:
        kept: list[str] = []
        skipped = False
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid():
                start = max(lo, fragment.position())
                end = min(hi, fragment.position() + fragment.length())
                if end > start:
                    if skipped_when_copied(fragment.charFormat().anchorHref()):
                        skipped = True
                    else:
                        text = fragment.text()
                        kept.append(text[start - fragment.position():end - fragment.position()])
            it += 1
        if kept or not skipped:
            lines.append("".join(kept))
        block = block.next()
    return _plain("\n".join(lines)).strip("\n")


def _plain(text: str) -> str:
    # QTextCursor gives paragraph and line separators and no-break spaces as Unicode.
    return text.replace("\u2029", "\n").replace("\u2028", "\n").replace("\u00a0", " ")


def part_ranges(layout: RowLayout, start: int, end: int) -> list[tuple[int, int, int]]:
    """(document index in :func:`row_documents`, start, end) of a row's selected range
    within each of its documents."""
    ranges: list[tuple[int, int, int]] = []
    offset = 0
    for index, (_o, document, _x) in enumerate(row_documents(layout)):
        count = document.characterCount()
        lo, hi = max(start, offset), min(end, offset + count - 1)
        if hi > lo:
            ranges.append((index, lo - offset, hi - offset))
        offset += count
    return ranges


def word_at(layout: RowLayout, position: int) -> tuple[int, int] | None:
    """(start, end) of the word at a position of the row's text, or None (not on a word)."""
    offset = 0
    for _o, document, _x in row_documents(layout):
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
    """(start, end) of the paragraph (text block: a paragraph, a list item, a code block,
    a step's detail) at a position of the row's text, or None past its end — what a triple
    click takes."""
    offset = 0
    for _o, document, _x in row_documents(layout):
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
