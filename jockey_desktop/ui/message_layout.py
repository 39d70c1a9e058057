"""Laying out one transcript row: its documents, bubble, citation chips, status line and Retry.

One job: from a :class:`Message`, a width, a font and the row colours, compute a
:class:`RowLayout` (everything painting and hit-testing need, relative to the row's top-left),
or a cheap height estimate that builds no document.

An answer that is still streaming is laid out as a stack of documents, one per run of complete
paragraphs (split at blank lines outside code fences) plus one for the unfinished tail: each
update parses, polishes and lays out only the tail (and any paragraphs just completed), not the
whole answer, so the cost of an update does not grow with the answer. The final text (with its
citations) is laid out as one document as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QTextOption

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.versions import VersionInfo
from jockey_desktop.presentation.formatting import unique_citations
from jockey_desktop.presentation.status import (
    RETRY_TEXT,
    RETRY_WAIT_TEXT,
    StatusKind,
    may_lock_retry,
    status_line,
)
from jockey_desktop.presentation.transcript import chip_numbers
from jockey_desktop.ui.markdown import (
    SafeTextDocument,
    question_markdown,
    render_markdown,
)
from jockey_desktop.ui.message_colors import Colors
from jockey_desktop.ui.steps_view import (
    ExtrasBuilder,
    ExtrasStack,
    ExtrasState,
    PlacedExtras,
    place_extras,
    web_source_markers,
)

DEFAULT_SEAM_TEXT = "New session started — earlier turns were summarised for Jockey"

# Geometry in device-independent pixels; Qt scales them with the screen.
MARGIN_X = 18.0
MARGIN_Y = 7.0
BUBBLE_PAD_X = 12.0
BUBBLE_PAD_Y = 8.0
BUBBLE_RADIUS = 12.0
BUBBLE_MAX_FRACTION = 0.78
CHIP_PAD_X = 9.0
CHIP_ICON = 7.0  # the small "play" triangle that marks a chip as a video moment
CHIP_PAD_Y = 3.0
CHIP_GAP = 6.0
SECTION_GAP = 7.0
STATUS_DOT = 7.0


@dataclass
class RowLayout:
    """Everything needed to paint and hit-test one row, relative to the row's top-left."""

    message_id: int
    height: float
    document: SafeTextDocument | None = None
    doc_origin: QPointF = field(default_factory=QPointF)
    bubble: QRectF | None = None
    #: (chip rectangle, citation index, label)
    chips: list[tuple[QRectF, int, str]] = field(default_factory=list)
    #: Each chip's number, as its ``[N]`` marker reads ("" when it has none), by position.
    chip_numbers: list[str] = field(default_factory=list)
    status_rect: QRectF | None = None
    status_text: str = ""
    retry_rect: QRectF | None = None
    seam_text: str = ""
    seam_rect: QRectF | None = None
    #: (y offset under ``doc_origin``, document) of every document drawn, top to bottom: just
    #: ``document`` normally, several for a streaming answer (see module doc).
    parts: list[tuple[float, SafeTextDocument]] = field(default_factory=list)
    #: An answer's web sources and Steps list, under its chips (``ui.steps_view``).
    extras: PlacedExtras | None = None
    #: The answer's action line: (rectangle, action, label); action "" is plain text (the
    #: "2 / 3" between the version arrows), "off:…" an action not available now.
    actions: list[tuple[QRectF, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.parts and self.document is not None:
            self.parts = [(0.0, self.document)]


@dataclass
class _StreamParts:
    """The sealed (complete-paragraph) documents of one streaming answer, reused per update."""

    style: tuple[Any, ...]
    #: The text the sealed documents were parsed from (a prefix of the streaming text).
    sealed: str = ""
    in_fence: bool = False
    documents: list[SafeTextDocument] = field(default_factory=list)


def seal_point(text: str, start: int, in_fence: bool) -> tuple[int, bool]:
    """(end, fence state) of the longest prefix of ``text[start:]`` that ends with a blank line
    outside a code fence: complete paragraphs that later text can no longer change much."""
    best = (start, in_fence)
    offset = start
    fence = in_fence
    lines = text[start:].split("\n")
    for line in lines[:-1]:  # the last line has no newline yet: it may still grow
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3 and stripped.startswith(("```", "~~~")):
            fence = not fence
        offset += len(line) + 1
        if not fence and not line.strip():
            best = (offset, fence)
    return best


#: The small font's line height the chip constants above were drawn for (9 pt text).
CHIP_REFERENCE_HEIGHT = 13.0


@dataclass(frozen=True)
class ChipGeometry:
    """A chip's padding, play triangle, the space after it, the gap between chips, and the
    status dot, for one small font."""

    pad_x: float
    pad_y: float
    icon: float
    gap: float
    dot: float
    space: float


def chip_geometry(metrics: QFontMetricsF) -> ChipGeometry:
    """The chip constants grown with the font (never below them): with a 16 pt font the
    fixed 7 px play triangle and 3 px padding looked like a speck in a cramped pill."""
    scale = _chip_scale(metrics)
    return ChipGeometry(CHIP_PAD_X * scale, CHIP_PAD_Y * scale, CHIP_ICON * scale,
                        CHIP_GAP * scale, STATUS_DOT * scale, 6 * scale)


def _chip_scale(metrics: QFontMetricsF) -> float:
    return max(1.0, metrics.height() / CHIP_REFERENCE_HEIGHT)


def number_width(metrics: QFontMetricsF, number: str) -> float:
    """The room a chip's number takes before its play triangle (0 without one)."""
    return metrics.horizontalAdvance(number) * 1.15 + 7 * _chip_scale(metrics) if number else 0.0


def keep_line_breaks(markdown: str) -> str:
    """``markdown`` with each line break inside a paragraph made a hard break, so a question
    typed on several lines (Shift+Enter) keeps them; code fences are left as they are."""
    lines = markdown.split("\n")
    fence = False
    for i, line in enumerate(lines[:-1]):
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3 and stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if not fence and line.strip() and lines[i + 1].strip() and not line.endswith("  "):
            lines[i] = line + "  "
    return "\n".join(lines)


def small_font(font: QFont) -> QFont:
    """The font of chips, status lines and seams: about 88 % of the text font."""
    small = QFont(font)
    size = font.pointSizeF()
    if size > 0:
        small.setPointSizeF(max(size * 0.88, 7.0))
    else:
        small.setPixelSize(max(round(font.pixelSize() * 0.88), 9))
    return small


def new_document(font: QFont) -> SafeTextDocument:
    """An empty row document: no margin, the row font, wrapping anywhere if it must."""
    doc = SafeTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(font)
    option = doc.defaultTextOption()
    # A long URL or hash must wrap inside the row/bubble instead of overflowing it.
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    doc.setDefaultTextOption(option)
    return doc


def estimate_height(message: Message, width: int, font: QFont) -> float:
    """A cheap height guess from text length (no document is built)."""
    metrics = QFontMetricsF(font)
    line = metrics.lineSpacing()
    if message.role is Role.SEAM:
        return QFontMetricsF(small_font(font)).height() + 2 * MARGIN_Y + 8
    inner = max(80.0, width - 2 * MARGIN_X)
    text_w = (inner * BUBBLE_MAX_FRACTION - 2 * BUBBLE_PAD_X if message.role is Role.USER
              else inner)
    per_line = max(1, int(text_w / max(metrics.averageCharWidth(), 1.0)))
    lines = 0
    for paragraph in message.text.split("\n"):
        lines += max(1, math.ceil(len(paragraph) / per_line))
    height = lines * line
    if message.role is Role.USER:
        return height + 2 * BUBBLE_PAD_Y + 2 * MARGIN_Y
    small = QFontMetricsF(small_font(font)).height()
    if message.citations:
        height += SECTION_GAP + small + 2 * CHIP_PAD_Y
    if message.steps:
        height += SECTION_GAP + small  # at least the Steps toggle (the list starts closed)
    if message.status is not MessageStatus.STREAMING:
        height += small + 4  # the action line (Ask again, Continue…, ‹ n / m ›)
    return height + SECTION_GAP + small + 2 * MARGIN_Y + 10


class RowLayouter:
    """Builds :class:`RowLayout` s; keeps the sealed paragraphs of streaming answers."""

    def __init__(self) -> None:
        # message id -> sealed documents of a streaming answer (dropped once it is final).
        self._streams: dict[int, _StreamParts] = {}
        self._extras = ExtrasBuilder()

    def clear(self) -> None:
        """Forget every streaming answer's sealed paragraphs and extras (palette or font
        change)."""
        self._streams.clear()
        self._extras.clear()

    def parse(self, text: str, font: QFont, colors: Colors) -> SafeTextDocument:
        """``text`` (Markdown) as a row document in ``font`` and ``colors``."""
        document = new_document(font)
        render_markdown(document, text, (), link_color=colors.link, code_background=colors.chip)
        return document

    def build(self, message: Message, width: int, font: QFont, colors: Colors,
              now: float, style_key: Any = None,
              extras: ExtrasState | None = None,
              versions: VersionInfo | None = None) -> RowLayout:
        """The layout of ``message`` at ``width``; ``now`` (epoch s) decides its status line,
        ``style_key`` identifies font and colours (sealed paragraphs are reused while it holds),
        ``extras`` how its Steps list is shown, ``versions`` where an answer stands among
        its question's answers (its action line shows ‹ n / m ›).
        """
        if message.role is Role.SEAM:
            return self._seam(message, width, font)
        inner = max(80.0, width - 2 * MARGIN_X)
        doc: SafeTextDocument | None = None
        streaming = (
            message.role is Role.ASSISTANT
            and message.status is MessageStatus.STREAMING
            and not message.citations
        )
        if not streaming:
            self._streams.pop(message.id, None)
        parts: list[tuple[float, SafeTextDocument]] = []
        if streaming and message.text.strip():
            parts = self._streaming_parts(message, inner, font, colors, style_key)
            doc = parts[-1][1] if parts else None
        elif message.text.strip():
            doc = new_document(font)
            if message.role is Role.ASSISTANT:
                # A web source's "[N]" links to its page, like a citation's to its moment.
                text, citations = message.text, [*message.citations,
                                                 *web_source_markers(message)]
            else:
                text, citations = keep_line_breaks(question_markdown(message)), []
            render_markdown(doc, text, citations, link_color=colors.link,
                            code_background=colors.chip)
        if message.role is Role.USER:
            return self._bubble(message, inner, doc, font)
        below = self._extras.documents(message, inner, font, colors, style_key,
                                       extras or ExtrasState())
        layout = self._answer(message, inner, doc, parts, font, now, below)
        if versions is not None and versions.next_id is not None:
            # An earlier attempt: the question was asked again since, nothing to retry.
            layout.retry_rect = None
        place_actions(layout, message, versions, font)
        return layout

    # -- the three kinds of rows --------------------------------------------------------------
    @staticmethod
    def _seam(message: Message, width: int, font: QFont) -> RowLayout:
        small = small_font(font)
        small.setItalic(True)
        metrics = QFontMetricsF(small)
        text = message.text or DEFAULT_SEAM_TEXT
        inner = max(80.0, width - 2 * MARGIN_X)
        # Centred between two rules; long reasons wrap rather than being cut.
        # Leave room for rules of a useful length; very narrow views drop them.
        max_w = min(inner - 160, 620.0) if inner >= 360 else inner
        bounds = metrics.boundingRect(
            QRectF(0, 0, max_w, 1e6),
            int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
            text,
        )
        text_w = min(max_w, bounds.width() + 2)
        rect = QRectF(MARGIN_X + (inner - text_w) / 2, MARGIN_Y + 4, text_w, bounds.height())
        return RowLayout(message.id, rect.bottom() + MARGIN_Y + 4, seam_text=text,
                         seam_rect=rect)

    @staticmethod
    def _bubble(message: Message, inner: float, doc: SafeTextDocument | None,
                font: QFont) -> RowLayout:
        max_bubble = max(80.0, inner * BUBBLE_MAX_FRACTION)
        if doc is None:
            doc = new_document(font)
        doc.setTextWidth(max_bubble - 2 * BUBBLE_PAD_X)
        text_w = min(doc.idealWidth(), max_bubble - 2 * BUBBLE_PAD_X)
        # The document shrinks to the bubble's inside: a right-to-left question aligns to its
        # document's right edge, which was otherwise beyond the bubble (text cut off).
        doc.setTextWidth(math.ceil(text_w))
        bubble_w = math.ceil(text_w) + 2 * BUBBLE_PAD_X
        bubble_h = doc.size().height() + 2 * BUBBLE_PAD_Y
        left = MARGIN_X + inner - bubble_w
        bubble = QRectF(left, MARGIN_Y, bubble_w, bubble_h)
        origin = QPointF(left + BUBBLE_PAD_X, MARGIN_Y + BUBBLE_PAD_Y)
        return RowLayout(message.id, bubble_h + 2 * MARGIN_Y, doc, origin, bubble=bubble)

    @staticmethod
    def _answer(message: Message, inner: float, doc: SafeTextDocument | None,
                parts: list[tuple[float, SafeTextDocument]], font: QFont,
                now: float, below: ExtrasStack | None = None) -> RowLayout:
        # Full width text, then chips, then the status line.
        y = MARGIN_Y + 4
        origin = QPointF(MARGIN_X, y)
        if parts:
            y += parts[-1][0] + parts[-1][1].size().height()
        elif doc is not None:
            doc.setTextWidth(inner)
            y += doc.size().height()
        layout = RowLayout(message.id, 0.0, doc, origin, parts=parts)

        metrics = QFontMetricsF(small_font(font))
        chips = unique_citations(message.citations) if message.citations else []
        if chips:
            y += SECTION_GAP
            x = MARGIN_X
            chip = chip_geometry(metrics)
            chip_h = metrics.height() + 2 * chip.pad_y
            numbers = chip_numbers(message)
            for citation_index, label in chips:
                number = numbers.get(citation_index, "")
                number_w = number_width(metrics, number)
                max_label = inner - 2 * chip.pad_x - chip.icon - chip.space - number_w
                shown = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, max_label)
                chip_w = (metrics.horizontalAdvance(shown) + 2 * chip.pad_x + chip.icon
                          + chip.space + number_w)
                if x > MARGIN_X and x + chip_w > MARGIN_X + inner:
                    x = MARGIN_X
                    y += chip_h + chip.gap
                layout.chips.append((QRectF(x, y, chip_w, chip_h), citation_index, shown))
                layout.chip_numbers.append(number)
                x += chip_w + chip.gap
            y += chip_h

        if below:
            layout.extras, y = place_extras(below, MARGIN_X, y)

        line = status_line(message, now)
        if line.text or line.kind is not StatusKind.NONE:
            y += SECTION_GAP if (doc is not None or chips or below) else 0
            dotted = line.kind in (StatusKind.BUSY, StatusKind.ERROR)
            left = MARGIN_X + (chip_geometry(metrics).dot + 6 if dotted else 0)
            avail = MARGIN_X + inner - left
            line_h = metrics.height()
            layout.status_text = line.text
            if line.kind is StatusKind.BUSY:
                # The seconds tick changes the text on paint; reserve one line.
                layout.status_rect = QRectF(left, y, avail, line_h)
                y += line_h
            else:
                y = _status_with_retry(layout, message, line.text, line.offers_retry,
                                       metrics, left, avail, y)
        layout.height = y + MARGIN_Y + 6
        return layout

    def _streaming_parts(
        self, message: Message, width: float, font: QFont, colors: Colors, style_key: Any
    ) -> list[tuple[float, SafeTextDocument]]:
        """The stacked documents of a streaming answer: sealed paragraphs reused, the tail
        (and paragraphs completed since the last update) parsed now."""
        text = message.text
        style = (font.key(), style_key)
        state = self._streams.get(message.id)
        if state is None or state.style != style or not text.startswith(state.sealed):
            state = _StreamParts(style)  # restyled, or the text was rewritten: start over
            self._streams[message.id] = state
        end, fence = seal_point(text, len(state.sealed), state.in_fence)
        if end > len(state.sealed):
            chunk = text[len(state.sealed):end]
            if chunk.strip():
                state.documents.append(self.parse(chunk, font, colors))
            state.sealed = text[:end]
            state.in_fence = fence
        documents = list(state.documents)
        tail = text[end:]
        if tail.strip():
            documents.append(self.parse(tail, font, colors))
        parts: list[tuple[float, SafeTextDocument]] = []
        y = 0.0
        previous: SafeTextDocument | None = None
        for document in documents:
            if document.textWidth() != width:
                document.setTextWidth(width)
            if previous is not None:
                # A document's size leaves out its last block's bottom margin and its first
                # block's top margin; one document of the whole text would put the larger of
                # the two between the paragraphs (collapsed margins): do the same.
                y += previous.size().height() + max(
                    previous.lastBlock().blockFormat().bottomMargin(),
                    document.firstBlock().blockFormat().topMargin(),
                )
            parts.append((y, document))
            previous = document
        return parts


def _status_with_retry(layout: RowLayout, message: Message, status: str, offers_retry: bool,
                       metrics: QFontMetricsF, left: float, avail: float, y: float) -> float:
    """Place a (wrapping) status sentence and its Retry link; returns the y below them."""
    # Reasons are specific sentences ("rate limited until …"): wrap, never elide.
    line_h = metrics.height()
    retry_w = 0.0
    if offers_retry:
        retry_w = metrics.horizontalAdvance(RETRY_TEXT) + 4
        if may_lock_retry(message):
            # Room for the countdown label; the layout is cached per revision.
            retry_w = max(retry_w, metrics.horizontalAdvance(
                RETRY_WAIT_TEXT.format(seconds=888)) + 4)
    one_line = metrics.horizontalAdvance(status)
    if one_line + (retry_w + 12 if retry_w else 0) <= avail:
        layout.status_rect = QRectF(left, y, one_line + 2, line_h)
        if retry_w:
            layout.retry_rect = QRectF(left + one_line + 12, y - 2, retry_w, line_h + 4)
        return y + line_h
    bounds = metrics.boundingRect(
        QRectF(0, 0, avail, 1e6),
        int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap),
        status,
    )
    layout.status_rect = QRectF(left, y, avail, bounds.height())
    y += bounds.height()
    if retry_w:
        y += 3
        layout.retry_rect = QRectF(left - 2, y - 2, retry_w, line_h + 4)
        y += line_h
    return y


#: The action line under a finished answer: labels and what they do.
PREVIOUS_VERSION = "‹"
NEXT_VERSION = "›"
ASK_AGAIN_TEXT = "Ask again"
FORK_TEXT = "Continue in a new conversation"
ACTION_GAP = 14.0


def answer_actions(message: Message, versions: VersionInfo | None) -> list[tuple[str, str]]:
    """(action, label) of an answer's action line, left to right: the version arrows and
    count when it has several versions, "Ask again" once it is answered, and "Continue in a
    new conversation" once it is no longer streaming. Empty for other rows."""
    if message.role is not Role.ASSISTANT or message.status is MessageStatus.STREAMING:
        return []
    actions: list[tuple[str, str]] = []
    if versions is not None and versions.count > 1:
        actions += [
            ("version:previous" if versions.previous_id else "off:previous", PREVIOUS_VERSION),
            ("", f"{versions.number} / {versions.count}"),
            ("version:next" if versions.next_id else "off:next", NEXT_VERSION),
        ]
    if message.status is MessageStatus.COMPLETE:
        actions.append(("ask_again", ASK_AGAIN_TEXT))
    actions.append(("fork", FORK_TEXT))
    return actions


def place_actions(layout: RowLayout, message: Message, versions: VersionInfo | None,
                  font: QFont) -> None:
    """Put the answer's action line under everything else in its row (grows the row)."""
    actions = answer_actions(message, versions)
    if not actions:
        return
    metrics = QFontMetricsF(small_font(font))
    y = layout.height - MARGIN_Y - 6 + 2
    x = MARGIN_X
    line_h = metrics.height() + 4
    for action, label in actions:
        tight = action.endswith(("previous", "next")) or action == ""
        width = metrics.horizontalAdvance(label) + (10 if tight else 4)
        layout.actions.append((QRectF(x, y, width, line_h), action, label))
        # The arrows and the count read as one control; the actions stand apart.
        x += width + (2 if action.endswith("previous") or action == "" else ACTION_GAP)
    layout.height = y + line_h + MARGIN_Y + 4
