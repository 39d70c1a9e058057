"""The parts of an answer row below its text and chips: the web sources and the Steps list.

One job: from an answer's stored ``steps`` (``presentation.steps`` says what each reads), build
the documents drawn under the answer — "From the web" with numbered links to the pages, a
"▸ Steps (N)" toggle and, once opened, the list itself (commentary, tool calls with their
pretty arguments, tool outputs cut to a preview with "Show all", web searches with their
queries) — and place, paint and hit-test them, and say which hold selectable text (all but the
toggle). Every text goes in through ``QTextCursor`` as plain text: nothing a server sent is
ever parsed as HTML or Markdown here.

Links are anchors: a web page's own address (the view opens http/https in the browser), and
``steps:toggle`` / ``steps:output:N`` for the list's own controls (the delegate handles them).
The documents of an answer are cached by what they show, so an answer streaming in does not
rebuild an open Steps list on every word.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain
from typing import Any

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontDatabase,
    QPainter,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)

from jockey_desktop.core.storage.models import Message, Role
from jockey_desktop.core.web_sources import split_web_sources
from jockey_desktop.presentation.steps import (
    COMMENTARY,
    OTHER,
    WEB_SEARCH,
    StepLine,
    WebSourceLine,
    number_web_sources,
    step_line,
    steps_heading,
)
from jockey_desktop.ui.markdown import SafeTextDocument
from jockey_desktop.ui.message_colors import Colors

STEPS_SCHEME = "steps"
TOGGLE_HREF = "steps:toggle"
_OUTPUT_PREFIX = "steps:output:"
#: Space between the sections under an answer (as between text and chips).
GAP = 7.0
#: Space between two steps of an open list.
STEP_GAP = 5.0
#: How far the list's details are indented under their heading.
DETAIL_INDENT = 14.0
#: Answers whose extras documents are kept (a screen shows a handful).
CACHE_SIZE = 48
#: The dynamic property marking a document that is a control (the Steps toggle).
_CONTROL = "jockey_control"


@dataclass(frozen=True)
class ExtrasState:
    """How one answer's extras are shown: the Steps list at all (the setting), opened, and
    which of its details are shown whole."""

    show_steps: bool = True
    expanded: bool = False
    open_details: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ExtrasStack:
    """The documents under one answer, top to bottom, each one's top and bottom relative to
    the top of the stack (gaps included), and the height of the whole stack."""

    documents: list[SafeTextDocument] = field(default_factory=list)
    tops: list[float] = field(default_factory=list)
    bottoms: list[float] = field(default_factory=list)
    height: float = 0.0

    def __len__(self) -> int:
        """How many documents (an empty stack is false)."""
        return len(self.documents)


class PlacedExtras:
    """The extras of one laid-out row: their stack placed at (``left``, ``top``) in row
    coordinates. Painting and hit-testing find the few documents they reach by bisection
    (an open list of 180 steps is drawn a screenful at a time); ``documents`` lists them all
    with their top-left corners, made on first use."""

    def __init__(self, stack: ExtrasStack, left: float, top: float) -> None:
        self.stack = stack
        self.left = left
        self.top = top
        self._documents: list[tuple[QPointF, SafeTextDocument]] | None = None

    @property
    def documents(self) -> list[tuple[QPointF, SafeTextDocument]]:
        """(top-left in row coordinates, document) of every document, top to bottom."""
        if self._documents is None:
            left, top = self.left, self.top
            self._documents = [(QPointF(left, top + y), document) for y, document
                               in zip(self.stack.tops, self.stack.documents, strict=True)]
        return self._documents

    def reaching(self, top: float, bottom: float) -> range:
        """Indexes of the documents that reach into rows ``top``..``bottom`` (inclusive,
        row coordinates)."""
        first = bisect_left(self.stack.bottoms, top - self.top)
        return range(first, max(first, bisect_right(self.stack.tops, bottom - self.top)))

    def placed(self, index: int) -> tuple[QPointF, SafeTextDocument, float]:
        """Document ``index``: its top-left (row coordinates), itself and its height."""
        stack = self.stack
        return (QPointF(self.left, self.top + stack.tops[index]), stack.documents[index],
                stack.bottoms[index] - stack.tops[index])


#: A document under an answer: the gap above it, the document, its height.
Placed = tuple[float, SafeTextDocument, float]


def output_href(index: int) -> str:
    """The anchor of step ``index``'s "Show all" / "Show less"."""
    return f"{_OUTPUT_PREFIX}{index}"


def steps_target(href: str) -> tuple[str, int | None] | None:
    """("toggle", None) or ("detail", N) for the list's own anchors, else None."""
    if href == TOGGLE_HREF:
        return ("toggle", None)
    if href.startswith(_OUTPUT_PREFIX) and href[len(_OUTPUT_PREFIX):].isdigit():
        return ("detail", int(href[len(_OUTPUT_PREFIX):]))
    return None


def web_source_markers(message: Message) -> list[dict[str, Any]]:
    """The answer's web sources as marker dicts (``url``, ``marker_start``, ``marker_end``):
    passed with the citations, their ``[N]`` in the text link to the page."""
    if message.role is not Role.ASSISTANT or not message.steps:
        return []
    return split_web_sources(message.steps)[1]


# message_layout places these documents (it imports this module): its helpers are
# imported when first used, not at import time.
def _small(font: QFont) -> QFont:
    from jockey_desktop.ui.message_layout import small_font

    return small_font(font)


def _fixed(font: QFont) -> QFont:
    fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if font.pointSizeF() > 0:
        fixed.setPointSizeF(font.pointSizeF())
    else:
        fixed.setPixelSize(font.pixelSize())
    return fixed


def _new_document(font: QFont) -> SafeTextDocument:
    from jockey_desktop.ui.message_layout import new_document

    return new_document(font)


def _char(color: Any, *, font: QFont | None = None, bold: bool = False,
          italic: bool = False, href: str | None = None) -> QTextCharFormat:
    fmt = QTextCharFormat()
    if font is not None:
        fmt.setFont(font)
    fmt.setForeground(color)
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    if italic:
        fmt.setFontItalic(True)
    if href is not None:
        fmt.setAnchor(True)
        fmt.setAnchorHref(href)
    return fmt


def _block(*, top: float = 0.0, left: float = 0.0, background: Any = None) -> QTextBlockFormat:
    fmt = QTextBlockFormat()
    fmt.setTopMargin(top)
    fmt.setLeftMargin(left)
    if background is not None:
        fmt.setBackground(background)
    return fmt


def _web_sources_document(lines: Sequence[WebSourceLine], font: QFont,
                          colors: Colors) -> SafeTextDocument:
    small = _small(font)
    document = _new_document(small)
    cursor = QTextCursor(document)
    cursor.setBlockFormat(_block())
    cursor.insertText("From the web", _char(colors.muted, font=small, bold=True))
    for line in lines:
        cursor.insertBlock(_block(top=2.0))
        cursor.insertText(f"[{line.number}] ", _char(colors.muted, font=small))
        cursor.insertText(line.label, _char(colors.link, font=small, href=line.url))
    return document


def _toggle_document(count: int, expanded: bool, font: QFont, colors: Colors) -> SafeTextDocument:
    small = _small(font)
    document = _new_document(small)
    # A control, not text: it opens and closes the list, it is never selected.
    document.setProperty(_CONTROL, True)
    cursor = QTextCursor(document)
    cursor.insertText(steps_heading(count, expanded),
                      _char(colors.link, font=small, bold=True, href=TOGGLE_HREF))
    return document


def _step_document(index: int, line: StepLine, whole: bool, font: QFont,
                   colors: Colors) -> SafeTextDocument:
    """One step of the list: its number and heading, its detail (cut unless ``whole``) and
    "Show all" / "Show less" when the detail is cut."""
    small = _small(font)
    document = _new_document(small)
    cursor = QTextCursor(document)
    cursor.insertText(f"{index + 1}. ", _char(colors.muted, font=small))
    if line.kind == COMMENTARY:
        cursor.insertText(line.title, _char(colors.text, font=small, italic=True))
    else:
        cursor.insertText(line.title, _char(colors.muted if line.kind == OTHER
                                            else colors.text, font=small, bold=True))
    if line.running:
        cursor.insertText(" · running", _char(colors.muted, font=small))
    if not line.body:
        return document
    shown = line.body if whole or not line.truncated else line.preview
    detail_font = small if line.kind in (COMMENTARY, OTHER, WEB_SEARCH) else _fixed(small)
    cursor.insertBlock(_block(top=2.0, left=DETAIL_INDENT, background=colors.chip))
    # Line separators keep the detail one block: one unbroken background, no gaps.
    cursor.insertText(shown.replace("\n", "\u2028"), _char(colors.text, font=detail_font))
    if line.truncated:
        cursor.insertBlock(_block(top=1.0, left=DETAIL_INDENT))
        cursor.insertText("Show less" if whole else "Show all",
                          _char(colors.link, font=small, href=output_href(index)))
    return document


@dataclass
class _Entry:
    """The documents under one answer, kept between layouts (see :class:`ExtrasBuilder`)."""

    #: (font key, style key): what every document here was built in.
    style: tuple[Any, ...]
    width: float = -1.0
    #: Copies of the stored steps the split below was made from (compared on every layout).
    stored: list[Any] = field(default_factory=list)
    steps: list[Mapping[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: The web sources as last shown, their document and its height.
    lines: list[WebSourceLine] | None = None
    sources_doc: SafeTextDocument | None = None
    sources_height: float = 0.0
    #: (step count, expanded), the toggle's document and its height.
    toggle_key: tuple[int, bool] | None = None
    toggle_doc: SafeTextDocument | None = None
    toggle_height: float = 0.0
    #: Per step of an open list: (the step as shown, shown whole, document, height).
    step_docs: list[tuple[Mapping[str, Any], bool, SafeTextDocument, float]] = \
        field(default_factory=list)
    #: The details shown whole when ``step_docs`` were made.
    shown_details: frozenset[int] | None = None
    #: (open details) the open list below was made for, and that list (gap, doc, height).
    block_key: frozenset[int] | None = None
    block: list[Placed] = field(default_factory=list)
    #: The stack last returned and the parts it was made of (compared by identity).
    stack: ExtrasStack | None = None
    stack_parts: tuple[Any, ...] = (None, None, None)


class ExtrasBuilder:
    """Builds (and caches, per answer and per step) the documents under an answer.

    An open Steps list is one document per step. While an answer streams in, a layout must
    not cost more than what changed: an update of the answer's text reuses the whole list
    (the stored steps compare equal to the copy kept here), an update of its steps rebuilds
    only the steps that differ (the one being narrated, the one just finished), and the
    heights of the others are remembered — a long list is never re-read, re-indented or
    measured whole ~20 times a second.
    """

    def __init__(self) -> None:
        self._cache: OrderedDict[int, _Entry] = OrderedDict()

    def clear(self) -> None:
        """Forget every cached document (palette or font change)."""
        self._cache.clear()

    def documents(self, message: Message, width: float, font: QFont, colors: Colors,
                  style_key: Any, state: ExtrasState) -> ExtrasStack:
        """The documents under ``message`` laid out at ``width`` and stacked."""
        if message.role is not Role.ASSISTANT or not message.steps:
            return _EMPTY
        entry = self._entry(message.id, (font.key(), style_key), width)
        # Stored steps are values (the model swaps in a new list on every change): equal
        # lists — the same dicts, or equal ones — need no new split.
        if entry.stored != message.steps:
            entry.steps, entry.sources = split_web_sources(message.steps)
            entry.stored = list(message.steps)
            entry.block_key = None
        documents: list[Placed] = []
        lines = number_web_sources(entry.sources, message.text) if entry.sources else []
        if lines != entry.lines:
            entry.lines = lines
            entry.sources_doc = _web_sources_document(lines, font, colors) if lines else None
            entry.sources_height = (_wrap(entry.sources_doc, width)
                                    if entry.sources_doc is not None else 0.0)
        if entry.sources_doc is not None:
            documents.append((GAP, entry.sources_doc, entry.sources_height))
        if state.show_steps and entry.steps:
            toggle_key = (len(entry.steps), state.expanded)
            if toggle_key != entry.toggle_key or entry.toggle_doc is None:
                entry.toggle_key = toggle_key
                entry.toggle_doc = _toggle_document(*toggle_key, font, colors)
                entry.toggle_height = _wrap(entry.toggle_doc, width)
            documents.append((GAP, entry.toggle_doc, entry.toggle_height))
            if state.expanded:
                if entry.block_key != state.open_details:
                    entry.block = self._step_block(entry, width, font, colors,
                                                   state.open_details)
                    entry.block_key = state.open_details
                documents.extend(entry.block)
        # The stack is made again only when one of its parts is another object.
        listed = state.show_steps and bool(entry.steps)
        parts = (entry.sources_doc, entry.toggle_doc if listed else None,
                 entry.block if listed and state.expanded else None)
        if entry.stack is None or any(
                new is not old for new, old in zip(parts, entry.stack_parts, strict=True)):
            entry.stack = _stack(documents)
            entry.stack_parts = parts
        return entry.stack

    def _entry(self, message_id: int, style: tuple[Any, ...], width: float) -> _Entry:
        """The answer's cache entry, emptied for a new font or palette and re-wrapped for a
        new width (the documents are kept: only their lines change)."""
        entry = self._cache.get(message_id)
        if entry is None or entry.style != style:
            entry = _Entry(style)
            self._cache[message_id] = entry
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(message_id)
        if entry.width != width:
            entry.width = width
            if entry.sources_doc is not None:
                entry.sources_height = _wrap(entry.sources_doc, width)
            if entry.toggle_doc is not None:
                entry.toggle_height = _wrap(entry.toggle_doc, width)
            entry.step_docs = [(step, whole, document, _wrap(document, width))
                               for step, whole, document, _h in entry.step_docs]
            entry.block_key = None
            entry.stack = None
        return entry

    @staticmethod
    def _step_block(entry: _Entry, width: float, font: QFont, colors: Colors,
                    open_details: frozenset[int]) -> list[Placed]:
        """The open list: each step's document, built again only when the step (or whether
        its detail is shown whole) differs from what it showed."""
        kept = entry.step_docs
        steps = entry.steps
        # The steps before the first one that changed are kept as they are. An update
        # touches the end of the list: one comparison of the long prefix (in C) first.
        same = 0
        if entry.shown_details == open_details:
            shown = [cached[0] for cached in kept]
            count = min(len(shown), len(steps))
            same = max(0, count - _TAIL)
            if shown[:same] != steps[:same]:
                same = 0
            while same < count and shown[same] == steps[same]:
                same += 1
        fresh = kept[:same]
        for index in range(same, len(steps)):
            step = steps[index]
            whole = index in open_details
            cached = kept[index] if index < len(kept) else None
            if cached is None or cached[1] != whole or cached[0] != step:
                document = _step_document(index, step_line(step), whole, font, colors)
                cached = (dict(step), whole, document, _wrap(document, width))
            fresh.append(cached)
        entry.step_docs = fresh
        entry.shown_details = open_details
        return [(STEP_GAP if index else GAP / 2, document, height)
                for index, (_step, _whole, document, height) in enumerate(fresh)]


#: How many steps at the end of a list are compared one by one on an update.
_TAIL = 4


def _wrap(document: SafeTextDocument, width: float) -> float:
    """Lay ``document`` out at ``width``; its height."""
    if document.textWidth() != width:
        document.setTextWidth(width)
    return float(document.size().height())


def _stack(documents: Sequence[Placed]) -> ExtrasStack:
    """Stack (gap, document, height) entries from y = 0."""
    # Running sums of gap, height, gap, height…: the tops and bottoms in turn.
    edges = list(accumulate(chain.from_iterable((gap, height)
                                                for gap, _document, height in documents)))
    return ExtrasStack([document for _gap, document, _height in documents], edges[0::2],
                       edges[1::2], edges[-1] if edges else 0.0)


_EMPTY = ExtrasStack()


def place_extras(stack: ExtrasStack, left: float, y: float) -> tuple[PlacedExtras, float]:
    """Put ``stack`` at (``left``, ``y``) in its row; returns it placed and the y below it."""
    return PlacedExtras(stack, left, y), y + stack.height


def paint_extras(painter: QPainter, placed: PlacedExtras | None, palette: QPalette,
                 colors: Colors, clip: QRectF | None,
                 selected: Sequence[Highlight] = ()) -> None:
    """Draw the extras (clipped to ``clip``, row coordinates; None = everything), with
    the selected text of each document in ``selected`` highlighted."""
    if placed is None:
        return
    ctx = QAbstractTextDocumentLayout.PaintContext()
    text_palette = QPalette(palette)
    text_palette.setColor(QPalette.ColorRole.Text, colors.text)
    ctx.palette = text_palette
    shown = (range(len(placed.stack)) if clip is None
             else placed.reaching(clip.top() - 1, clip.bottom() + 1))
    for index in shown:
        origin, document, height = placed.placed(index)
        if clip is not None:
            local = clip.translated(-origin.x(), -origin.y()).intersected(
                QRectF(-1, -1, 1e7, height + 2))
            if local.isEmpty():
                continue
            ctx.clip = local
        ctx.selections = next((marks for marked, marks in selected if marked is document), [])
        painter.save()
        painter.translate(origin)
        document.documentLayout().draw(painter, ctx)
        painter.restore()


# -- selecting the text under an answer (issue 14.7) ------------------------------------------
#: A document and the highlighted selection to draw on it.
Highlight = tuple[QTextDocument, list[QAbstractTextDocumentLayout.Selection]]


def selectable_extras(placed: PlacedExtras | None) -> list[tuple[QPointF, SafeTextDocument]]:
    """The documents under an answer whose text can be selected and copied like the
    answer's (the web sources, each step's heading and detail), top to bottom: every one
    but the Steps toggle, which is a control."""
    if placed is None:
        return []
    return [(origin, document) for origin, document in placed.documents
            if not document.property(_CONTROL)]


def skipped_when_copied(href: str) -> bool:
    """True for the text of a control inside a step ("Show all" / "Show less"): selected
    along with the step, it is left out of the copied text."""
    return steps_target(href) is not None


def extras_anchor_at(placed: PlacedExtras | None, pos: QPointF) -> str | None:
    """The anchor under ``pos`` (row coordinates) in the extras, if any."""
    if placed is None:
        return None
    for index in placed.reaching(pos.y(), pos.y()):
        origin, document, height = placed.placed(index)
        local = pos - origin
        if 0 <= local.y() <= height:
            href = document.documentLayout().anchorAt(local)
            if href:
                return str(href)
    return None
