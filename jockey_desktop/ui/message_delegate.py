"""Painting and hit-testing of one transcript row.

Each row is laid out once per (message id, revision, width, palette) into a :class:`RowLayout`
(a :class:`SafeTextDocument` plus rectangles for the citation chips, the status line and the
Retry link) and kept in a small LRU cache, so scrolling repaints without re-parsing Markdown and
a streamed chunk re-lays out only the growing row.

``sizeHint`` never builds a document: ``QListView`` asks every row for its size on each layout,
and building 1,000 documents to answer would defeat the point. A row that has never been painted
gets a cheap estimate from its text length; the first paint measures it exactly, remembers the
height and emits ``sizeHintChanged`` for that one row when the estimate was off.

An answer that is still streaming is laid out as a stack of documents, one per run of complete
paragraphs (split at blank lines outside code fences) plus one for the unfinished tail: each
update parses, polishes and lays out only the tail (and any paragraphs just completed), not the
whole answer, so the cost of an update does not grow with the answer. The final text (with its
citations) is laid out as one document as usual.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QPolygonF,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from jockey_desktop.controllers.errors import (
    ASKED_AGAIN,
    ASKED_AGAIN_TEXT,
    rate_limit_retry_at,
    retry_wait_status,
)
from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.ui.formatting import format_duration, format_tokens
from jockey_desktop.ui.markdown import SafeTextDocument, render_markdown, unique_citations
from jockey_desktop.ui.models.message_model import MessageListModel, MessageRole

_Index = QModelIndex | QPersistentModelIndex

#: How many laid-out rows to keep; a screen shows at most a few dozen.
DEFAULT_CACHE_SIZE = 64

INTERRUPTED_REASON = "The app closed before the answer finished."
CANCELLED_REASON = "Stopped — partial answer kept"
CANCELLED_EMPTY_REASON = "Stopped before an answer arrived"
FAILED_REASON = "The request failed."
SESSION_LOST_CODE = "session_lost"
SESSION_LOST_NOTE = "The server had lost this session — the question was asked again below."
RETRY_TEXT = "Retry"
#: The disabled Retry label while the server's Retry-After has not passed yet.
RETRY_WAIT_TEXT = "Retry in {seconds} s"
RETRY_WAIT_TOOLTIP = "The server asked to wait before trying again; Retry unlocks then."
#: Status kinds that offer a Retry link ("stopped" is a neutral, muted line).
_RETRY_KINDS = ("error", "stopped")
RETRY_TOOLTIP = (
    "Ask this question again in the same server-side session. "
    "The server may then see the question twice."
)
DEFAULT_SEAM_TEXT = "New session started — earlier turns were summarised for Jockey"

# Geometry in device-independent pixels; Qt scales them with the screen.
_MARGIN_X = 18.0
_MARGIN_Y = 7.0
_BUBBLE_PAD_X = 12.0
_BUBBLE_PAD_Y = 8.0
_BUBBLE_RADIUS = 12.0
_BUBBLE_MAX_FRACTION = 0.78
_CHIP_PAD_X = 9.0
_CHIP_ICON = 7.0  # the small "play" triangle that marks a chip as a video moment
_CHIP_PAD_Y = 3.0
_CHIP_GAP = 6.0
_SECTION_GAP = 7.0
_STATUS_DOT = 7.0


def is_dark(palette: QPalette) -> bool:
    """True when the palette has a dark background (dark mode)."""
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """Linear blend ``a``→``b`` by ``t`` (palette-derived tints read well in both modes)."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


@dataclass
class Colors:
    """The colours of one palette, derived once per palette."""

    text: QColor
    muted: QColor
    base: QColor
    bubble: QColor
    bubble_border: QColor
    chip: QColor
    chip_border: QColor
    chip_text: QColor
    link: QColor
    error: QColor
    accent: QColor
    divider: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> Colors:
        """Derive every colour from the palette so light and dark both read well."""
        dark = is_dark(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        link = palette.color(QPalette.ColorRole.Link)
        if dark and link.lightness() < 140:
            link = _mix(link, QColor("white"), 0.45)
        return cls(
            text=text,
            muted=_mix(text, base, 0.42),
            base=base,
            bubble=_mix(base, highlight, 0.22 if dark else 0.12),
            bubble_border=_mix(base, highlight, 0.38 if dark else 0.25),
            chip=_mix(base, text, 0.10 if dark else 0.05),
            chip_border=_mix(base, text, 0.24 if dark else 0.18),
            chip_text=text,
            link=link,
            error=QColor("#ff8a80") if dark else QColor("#b3261e"),
            accent=_mix(highlight, QColor("white"), 0.25) if dark else highlight,
            divider=_mix(base, text, 0.25),
        )


@dataclass
class _StreamParts:
    """The sealed (complete-paragraph) documents of one streaming answer, reused per update."""

    style: tuple[Any, ...]
    #: The text the sealed documents were parsed from (a prefix of the streaming text).
    sealed: str = ""
    in_fence: bool = False
    documents: list[SafeTextDocument] = field(default_factory=list)


def _seal_point(text: str, start: int, in_fence: bool) -> tuple[int, bool]:
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
    status_rect: QRectF | None = None
    status_text: str = ""
    retry_rect: QRectF | None = None
    seam_text: str = ""
    seam_rect: QRectF | None = None
    #: (y offset under ``doc_origin``, document) of every document drawn, top to bottom: just
    #: ``document`` normally, several for a streaming answer (see module doc).
    parts: list[tuple[float, SafeTextDocument]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.parts and self.document is not None:
            self.parts = [(0.0, self.document)]


class MessageDelegate(QStyledItemDelegate):
    """Paints user bubbles, full-width answers with citation chips and status, and seams."""

    #: (message id, citation index) — a chip or a ``[N]`` marker was clicked.
    sig_citation_activated = Signal(int, int)
    #: (message id) — the Retry link of a failed/interrupted/cancelled answer was clicked.
    sig_retry_requested = Signal(int)
    #: (message id, url) — an ordinary link in the text was clicked (policy is the view's).
    sig_link_activated = Signal(int, str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[tuple[Any, ...], RowLayout] = OrderedDict()
        self._cache_size = cache_size
        # id -> (revision, width, height, exact); one entry per message keeps it bounded.
        self._heights: dict[int, tuple[int, int, float, bool]] = {}
        self._pending: list[QPersistentModelIndex] = []
        self._width = 0
        self._clock = clock
        self._colors: Colors | None = None
        self._colors_key: int | None = None
        # The part of the viewport being repainted (set by the view around each paint event).
        self._paint_region: QRect | None = None
        # message id -> sealed documents of a streaming answer (dropped once it is final).
        self._streams: dict[int, _StreamParts] = {}
        #: Counters for tests and benchmarks.
        self.layout_count = 0
        self.laid_out_ids: set[int] = set()

    # -- configuration ------------------------------------------------------------------------
    def set_view_width(self, width: int) -> None:
        """Force the width rows are laid out for (0 = follow the parent view's viewport)."""
        self._width = max(0, int(width))

    def set_paint_region(self, rect: QRect | None) -> None:
        """The viewport rectangle being repainted (None: the whole viewport).

        Documents are drawn clipped to it: a long answer streaming in is repainted ~20 times a
        second, and drawing all of its lines each time (most of them off screen) would cost
        more than everything else in the frame.
        """
        self._paint_region = QRect(rect) if rect is not None else None

    def view_width(self) -> int:
        """The width rows are currently laid out for."""
        return self._effective_width()

    def cache_size(self) -> int:
        """Number of laid-out rows currently cached (bounded by the LRU size)."""
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forget every laid-out row (palette or font change)."""
        self._cache.clear()
        self._heights.clear()
        self._streams.clear()

    def cached_layout(self, message: Message) -> RowLayout | None:
        """The cached layout of ``message`` at the current width, if any (no layout work)."""
        return self._cache.get(self._key(message, self._effective_width()))

    # -- QStyledItemDelegate ------------------------------------------------------------------
    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Exact height when the row was measured, else a cheap estimate (see module doc)."""
        # Called for every row on each relayout (each streamed chunk that grows a row), so
        # skip the QVariant round trip of index.data() when the model is ours.
        model = index.model()
        if isinstance(model, MessageListModel):
            message = model.message_at(index.row())
        else:
            message = index.data(MessageRole)
        width = self._effective_width(option)
        if not isinstance(message, Message):
            return QSize(width, 0)
        known = self._heights.get(message.id)
        if known is not None and known[0] == message.revision and known[1] == width:
            return QSize(width, math.ceil(known[2]))
        height = self._estimate_height(message, width, option)
        self._heights[message.id] = (message.revision, width, height, False)
        return QSize(width, math.ceil(height))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Paint one row from its cached layout; correct the row height if it was estimated."""
        message = index.data(MessageRole)
        if not isinstance(message, Message):
            return
        width = self._effective_width(option)
        layout = self.layout_for(message, width, option)
        known = self._heights.get(message.id)
        exact = math.ceil(layout.height)
        if known is None or not known[3] or known[:2] != (message.revision, width):
            # First exact measurement of this version: tell the view only when the row it
            # laid out (from an estimate or an older revision) has the wrong height. Emitting
            # only on new information means a view that disagrees can never loop.
            self._heights[message.id] = (message.revision, width, layout.height, True)
            if option.rect.height() != exact:
                self._schedule_size_change(index)

        colors = self._colors_for(option.palette)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setClipRect(option.rect)
        painter.translate(option.rect.topLeft())
        if message.role is Role.SEAM:
            self._paint_seam(painter, layout, width, option, colors)
        else:
            self._paint_message(painter, message, layout, option, colors)
        painter.restore()

    def editorEvent(
        self,
        event: QEvent,
        model: Any,
        option: QStyleOptionViewItem,
        index: _Index,
    ) -> bool:
        """Hit-test clicks on chips, Retry and links (the view sets the hover cursor)."""
        if not isinstance(event, QMouseEvent) or event.type() != QEvent.Type.MouseButtonRelease:
            return False
        message = index.data(MessageRole)
        if not isinstance(message, Message):
            return False
        layout = self.layout_for(message, self._effective_width(option), option)
        pos = event.position() - QPointF(option.rect.topLeft())
        target = self.hit_test(layout, pos)
        if event.button() == Qt.MouseButton.LeftButton and target is not None:
            kind, value = target
            if kind == "chip":
                self.sig_citation_activated.emit(message.id, int(value))
            elif kind == "retry":
                if self.retry_wait_seconds(message) > 0:
                    return True  # locked until the server's Retry-After has passed
                self.sig_retry_requested.emit(message.id)
            elif kind == "link":
                self.sig_link_activated.emit(message.id, str(value))
            return True
        return False

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: _Index,
    ) -> bool:
        """Tooltips: what Retry does, a chip's full label, a link's address."""
        message = index.data(MessageRole)
        if event is None or not isinstance(message, Message):
            return False
        layout = self.layout_for(message, self._effective_width(option), option)
        pos = QPointF(event.pos()) - QPointF(option.rect.topLeft())
        target = self.hit_test(layout, pos)
        tip = ""
        if target is not None:
            kind, value = target
            if kind == "retry":
                tip = RETRY_WAIT_TOOLTIP if self.retry_wait_seconds(message) else RETRY_TOOLTIP
            elif kind == "chip":
                tip = next((lbl for _r, i, lbl in layout.chips if i == value), "")
                tip = f"{tip}\nShow this moment" if tip else ""
            elif kind == "link":
                tip = "Show this moment" if str(value).startswith("cite:") else str(value)
        if tip:
            QToolTip.showText(event.globalPos(), tip, view)
            return True
        QToolTip.hideText()
        return False

    # -- layout -------------------------------------------------------------------------------
    def layout_for(
        self, message: Message, width: int, option: QStyleOptionViewItem | None = None
    ) -> RowLayout:
        """The row layout of ``message`` at ``width``, from the LRU cache or built now."""
        if option is not None:
            palette = option.palette
        else:
            view = self.parent()
            palette = view.palette() if isinstance(view, QAbstractItemView) else QPalette()
        colors = self._colors_for(palette)  # before the key: it includes the palette
        key = self._key(message, width)
        layout = self._cache.get(key)
        if layout is not None:
            self._cache.move_to_end(key)
            return layout
        font = option.font if option is not None else QFont()
        layout = self._build_layout(message, width, font, colors)
        # Older revisions of the same message are dead weight once a newer one exists.
        for old in [k for k in self._cache if k[0] == message.id]:
            del self._cache[old]
        self._cache[key] = layout
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.layout_count += 1
        self.laid_out_ids.add(message.id)
        return layout

    def hit_test(self, layout: RowLayout, pos: QPointF) -> tuple[str, Any] | None:
        """What is under ``pos`` (row coordinates): ("chip", index), ("retry", None),
        ("link", href) or None."""
        for rect, citation_index, _label in layout.chips:
            if rect.contains(pos):
                return ("chip", citation_index)
        if layout.retry_rect is not None and layout.retry_rect.contains(pos):
            return ("retry", None)
        for y, document in layout.parts:
            local = pos - layout.doc_origin - QPointF(0, y)
            if 0 <= local.y() <= document.size().height():
                href = document.documentLayout().anchorAt(local)
                if href:
                    return ("link", href)
        return None

    def _key(self, message: Message, width: int) -> tuple[Any, ...]:
        return (message.id, message.revision, width, self._colors_key)

    def _effective_width(self, option: QStyleOptionViewItem | None = None) -> int:
        # The live viewport width, not option.rect: QListView hands sizeHint a default rect,
        # and the vertical scroll bar appearing narrows the viewport without a resize event.
        if self._width:
            return self._width
        view = self.parent()
        if isinstance(view, QAbstractItemView):
            return max(view.viewport().width(), 120)
        return max(option.rect.width() if option is not None else 0, 200)

    def _document_clip(
        self, painter: QPainter, option: QStyleOptionViewItem
    ) -> QRectF | None:
        """What of the document is visible, in the painter's current (document) coordinates."""
        region = self._paint_region
        if region is None:
            view = self.parent()
            if not isinstance(view, QAbstractItemView):
                return None
            region = view.viewport().rect()
        visible = QRectF(region.intersected(option.rect))
        if visible.isEmpty():
            return QRectF()
        inverse, invertible = painter.transform().inverted()
        if not invertible:
            return None
        # One pixel of slack for antialiased glyph edges at the clip boundary.
        return inverse.mapRect(visible).adjusted(-1, -1, 1, 1)

    def _colors_for(self, palette: QPalette) -> Colors:
        key = palette.cacheKey()
        if self._colors is None or key != self._colors_key:
            if self._colors_key is not None and key != self._colors_key:
                # Documents carry palette-derived colours (citation links): rebuild them.
                self._cache.clear()
            self._colors = Colors.from_palette(palette)
            self._colors_key = key
        return self._colors

    def _small_font(self, font: QFont) -> QFont:
        small = QFont(font)
        size = font.pointSizeF()
        if size > 0:
            small.setPointSizeF(max(size * 0.88, 7.0))
        else:
            small.setPixelSize(max(round(font.pixelSize() * 0.88), 9))
        return small

    def _status_text(self, message: Message) -> tuple[str, str]:
        """(kind, text) of the line under an answer: "busy", "error", "stopped", "info" or "".

        "error" and "stopped" rows get a Retry link; "stopped" (the user pressed Stop) is
        drawn muted, without the red dot: it is not a failure.
        """
        if message.role is not Role.ASSISTANT:
            return ("", "")
        status = message.status
        if status in (MessageStatus.STREAMING, MessageStatus.PENDING):
            waiting = retry_wait_status(message, self._clock())
            if waiting:
                return ("busy", waiting)
            elapsed = format_duration(max(0.0, self._clock() - message.created_at))
            verb = "Answering" if message.text.strip() else "Thinking"
            return ("busy", f"{verb} · {elapsed}")
        if message.error_code == ASKED_AGAIN:
            # The question was repeated at the end of the conversation: a note, no Retry.
            return ("info", message.error_message or ASKED_AGAIN_TEXT)
        if status is MessageStatus.INTERRUPTED:
            return ("error", message.error_message or INTERRUPTED_REASON)
        if status is MessageStatus.CANCELLED:
            # Derived, not the saved text: older versions saved a bare "Stopped.".
            return ("stopped",
                    CANCELLED_REASON if message.text.strip() else CANCELLED_EMPTY_REASON)
        if status is MessageStatus.FAILED:
            if message.error_code == SESSION_LOST_CODE:
                # Already re-asked in a new session (the answer is below the seam): a note,
                # not an error, and no Retry that would ask a third time.
                return ("info", message.error_message or SESSION_LOST_NOTE)
            return ("error", message.error_message or FAILED_REASON)
        parts = []
        tokens = format_tokens(message.input_tokens, message.output_tokens)
        if tokens:
            parts.append(tokens)
        took = message.updated_at - message.created_at
        if took >= 1:
            parts.append(format_duration(took))
        return ("info", " · ".join(parts))

    def retry_wait_seconds(self, message: Message) -> int:
        """Whole seconds until Retry may be used on a rate-limited answer (0 = now)."""
        if message.status is not MessageStatus.FAILED:
            return 0
        retry_at = rate_limit_retry_at(message.error_code, message.error_message,
                                       message.updated_at)
        if retry_at is None:
            return 0
        return max(0, math.ceil(retry_at - self._clock()))

    def needs_tick(self, message: Message) -> bool:
        """True while the row's status line counts seconds (streaming, or Retry locked)."""
        return message.status is MessageStatus.STREAMING or self.retry_wait_seconds(message) > 0

    def _build_layout(self, message: Message, width: int, font: QFont, colors: Colors) -> RowLayout:
        if message.role is Role.SEAM:
            small = self._small_font(font)
            small.setItalic(True)
            metrics = QFontMetricsF(small)
            text = message.text or DEFAULT_SEAM_TEXT
            inner = max(80.0, width - 2 * _MARGIN_X)
            # Centred between two rules; long reasons wrap rather than being cut.
            # Leave room for rules of a useful length; very narrow views drop them.
            max_w = min(inner - 160, 620.0) if inner >= 360 else inner
            bounds = metrics.boundingRect(
                QRectF(0, 0, max_w, 1e6),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
                text,
            )
            text_w = min(max_w, bounds.width() + 2)
            rect = QRectF(
                _MARGIN_X + (inner - text_w) / 2, _MARGIN_Y + 4, text_w, bounds.height()
            )
            return RowLayout(
                message.id, rect.bottom() + _MARGIN_Y + 4, seam_text=text, seam_rect=rect
            )

        inner = max(80.0, width - 2 * _MARGIN_X)
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
            parts = self._streaming_parts(message, inner, font, colors)
            doc = parts[-1][1] if parts else None
        elif message.text.strip():
            doc = self._new_document(font)
            citations = message.citations if message.role is Role.ASSISTANT else []
            render_markdown(
                doc, message.text, citations, link_color=colors.link, code_background=colors.chip
            )

        if message.role is Role.USER:
            max_bubble = max(80.0, inner * _BUBBLE_MAX_FRACTION)
            if doc is None:
                doc = self._new_document(font)
            doc.setTextWidth(max_bubble - 2 * _BUBBLE_PAD_X)
            text_w = min(doc.idealWidth(), max_bubble - 2 * _BUBBLE_PAD_X)
            bubble_w = math.ceil(text_w) + 2 * _BUBBLE_PAD_X
            bubble_h = doc.size().height() + 2 * _BUBBLE_PAD_Y
            left = _MARGIN_X + inner - bubble_w
            bubble = QRectF(left, _MARGIN_Y, bubble_w, bubble_h)
            origin = QPointF(left + _BUBBLE_PAD_X, _MARGIN_Y + _BUBBLE_PAD_Y)
            return RowLayout(
                message.id, bubble_h + 2 * _MARGIN_Y, doc, origin, bubble=bubble
            )

        # Assistant answer: full width text, then chips, then the status line.
        y = _MARGIN_Y + 4
        origin = QPointF(_MARGIN_X, y)
        if parts:
            y += parts[-1][0] + parts[-1][1].size().height()
        elif doc is not None:
            doc.setTextWidth(inner)
            y += doc.size().height()
        layout = RowLayout(message.id, 0.0, doc, origin, parts=parts)

        small = self._small_font(font)
        metrics = QFontMetricsF(small)
        chips = unique_citations(message.citations) if message.citations else []
        if chips:
            y += _SECTION_GAP
            x = _MARGIN_X
            chip_h = metrics.height() + 2 * _CHIP_PAD_Y
            max_label = inner - 2 * _CHIP_PAD_X - _CHIP_ICON - 6
            for citation_index, label in chips:
                shown = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, max_label)
                chip_w = metrics.horizontalAdvance(shown) + 2 * _CHIP_PAD_X + _CHIP_ICON + 6
                if x > _MARGIN_X and x + chip_w > _MARGIN_X + inner:
                    x = _MARGIN_X
                    y += chip_h + _CHIP_GAP
                layout.chips.append((QRectF(x, y, chip_w, chip_h), citation_index, shown))
                x += chip_w + _CHIP_GAP
            y += chip_h

        kind, status = self._status_text(message)
        if status or kind:
            y += _SECTION_GAP if (doc is not None or chips) else 0
            left = _MARGIN_X + (_STATUS_DOT + 6 if kind in ("busy", "error") else 0)
            avail = _MARGIN_X + inner - left
            line_h = metrics.height()
            layout.status_text = status
            if kind == "busy":
                # The seconds tick changes the text on paint; reserve one line.
                layout.status_rect = QRectF(left, y, avail, line_h)
                y += line_h
            else:
                # Reasons are specific sentences ("rate limited until …"): wrap, never elide.
                retry_w = 0.0
                if kind in _RETRY_KINDS:
                    retry_w = metrics.horizontalAdvance(RETRY_TEXT) + 4
                    if rate_limit_retry_at(message.error_code, message.error_message,
                                           message.updated_at) is not None:
                        # Room for the countdown label; the layout is cached per revision.
                        retry_w = max(retry_w, metrics.horizontalAdvance(
                            RETRY_WAIT_TEXT.format(seconds=888)) + 4)
                one_line = metrics.horizontalAdvance(status)
                if one_line + (retry_w + 12 if retry_w else 0) <= avail:
                    layout.status_rect = QRectF(left, y, one_line + 2, line_h)
                    if retry_w:
                        layout.retry_rect = QRectF(
                            left + one_line + 12, y - 2, retry_w, line_h + 4
                        )
                    y += line_h
                else:
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
        layout.height = y + _MARGIN_Y + 6
        return layout

    def _streaming_parts(
        self, message: Message, width: float, font: QFont, colors: Colors
    ) -> list[tuple[float, SafeTextDocument]]:
        """The stacked documents of a streaming answer: sealed paragraphs reused, the tail
        (and paragraphs completed since the last update) parsed now."""
        text = message.text
        style = (font.key(), self._colors_key)
        state = self._streams.get(message.id)
        if state is None or state.style != style or not text.startswith(state.sealed):
            state = _StreamParts(style)  # restyled, or the text was rewritten: start over
            self._streams[message.id] = state
        end, fence = _seal_point(text, len(state.sealed), state.in_fence)
        if end > len(state.sealed):
            chunk = text[len(state.sealed):end]
            if chunk.strip():
                state.documents.append(self._parse(chunk, font, colors))
            state.sealed = text[:end]
            state.in_fence = fence
        documents = list(state.documents)
        tail = text[end:]
        if tail.strip():
            documents.append(self._parse(tail, font, colors))
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

    def _parse(self, text: str, font: QFont, colors: Colors) -> SafeTextDocument:
        document = self._new_document(font)
        render_markdown(document, text, (), link_color=colors.link, code_background=colors.chip)
        return document

    @staticmethod
    def _new_document(font: QFont) -> SafeTextDocument:
        doc = SafeTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(font)
        option = doc.defaultTextOption()
        # A long URL or hash must wrap inside the row/bubble instead of overflowing it.
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        doc.setDefaultTextOption(option)
        return doc

    def _estimate_height(
        self, message: Message, width: int, option: QStyleOptionViewItem
    ) -> float:
        """A cheap height guess from text length (no document is built)."""
        metrics = QFontMetricsF(option.font)
        line = metrics.lineSpacing()
        if message.role is Role.SEAM:
            return QFontMetricsF(self._small_font(option.font)).height() + 2 * _MARGIN_Y + 8
        inner = max(80.0, width - 2 * _MARGIN_X)
        text_w = inner * _BUBBLE_MAX_FRACTION - 2 * _BUBBLE_PAD_X if message.role is Role.USER \
            else inner
        per_line = max(1, int(text_w / max(metrics.averageCharWidth(), 1.0)))
        lines = 0
        for paragraph in message.text.split("\n"):
            lines += max(1, math.ceil(len(paragraph) / per_line))
        height = lines * line
        if message.role is Role.USER:
            return height + 2 * _BUBBLE_PAD_Y + 2 * _MARGIN_Y
        small = QFontMetricsF(self._small_font(option.font)).height()
        if message.citations:
            height += _SECTION_GAP + small + 2 * _CHIP_PAD_Y
        return height + _SECTION_GAP + small + 2 * _MARGIN_Y + 10

    def _schedule_size_change(self, index: _Index) -> None:
        if not self._pending:
            QTimer.singleShot(0, self, self._flush_size_changes)
        self._pending.append(QPersistentModelIndex(index))

    def _flush_size_changes(self) -> None:
        pending, self._pending = self._pending, []
        for persistent in pending:
            if persistent.isValid():
                model = persistent.model()
                self.sizeHintChanged.emit(model.index(persistent.row(), persistent.column()))

    # -- painting -----------------------------------------------------------------------------
    def _paint_seam(
        self,
        painter: QPainter,
        layout: RowLayout,
        width: int,
        option: QStyleOptionViewItem,
        colors: Colors,
    ) -> None:
        small = self._small_font(option.font)
        small.setItalic(True)
        inner = max(80.0, width - 2 * _MARGIN_X)
        rect = layout.seam_rect or QRectF(_MARGIN_X, 0, inner, layout.height)
        mid_y = rect.center().y()
        painter.setPen(QPen(colors.divider, 1))
        if rect.left() - 12 > _MARGIN_X + 24:
            painter.drawLine(QPointF(_MARGIN_X, mid_y), QPointF(rect.left() - 12, mid_y))
            painter.drawLine(QPointF(rect.right() + 12, mid_y), QPointF(_MARGIN_X + inner, mid_y))
        painter.setFont(small)
        painter.setPen(colors.muted)
        painter.drawText(
            rect.adjusted(-1, 0, 1, 0),
            int(
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap
            ),
            layout.seam_text,
        )

    def _paint_message(
        self,
        painter: QPainter,
        message: Message,
        layout: RowLayout,
        option: QStyleOptionViewItem,
        colors: Colors,
    ) -> None:
        if layout.bubble is not None:
            painter.setPen(QPen(colors.bubble_border, 1))
            painter.setBrush(colors.bubble)
            painter.drawRoundedRect(
                layout.bubble.adjusted(0.5, 0.5, -0.5, -0.5), _BUBBLE_RADIUS, _BUBBLE_RADIUS
            )
        if option.state & QStyle.StateFlag.State_HasFocus:
            # Keyboard users need to see which message Ctrl+C / the menu key act on.
            focus = QColor(colors.accent)
            focus.setAlphaF(0.55)
            painter.setPen(QPen(focus, 1.2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                QRectF(3, 2, option.rect.width() - 6, option.rect.height() - 4), 6, 6
            )
        if layout.document is not None:
            painter.save()
            painter.translate(layout.doc_origin)
            ctx = QAbstractTextDocumentLayout.PaintContext()
            palette = QPalette(option.palette)
            palette.setColor(QPalette.ColorRole.Text, colors.text)
            palette.setColor(QPalette.ColorRole.Link, colors.link)
            ctx.palette = palette
            clip = self._document_clip(painter, option)
            for y, document in layout.parts:
                part_clip = clip.translated(0, -y) if clip is not None else None
                height = document.size().height()
                if part_clip is not None:
                    # An empty clip would mean "no clip" to Qt: skip what is not exposed.
                    part_clip = part_clip.intersected(QRectF(-1, -1, 1e7, height + 2))
                    if part_clip.isEmpty():
                        continue
                    ctx.clip = part_clip
                painter.save()
                painter.translate(0, y)
                document.documentLayout().draw(painter, ctx)
                painter.restore()
            painter.restore()

        small = self._small_font(option.font)
        metrics = QFontMetricsF(small)
        painter.setFont(small)
        for rect, _index, label in layout.chips:
            painter.setPen(QPen(colors.chip_border, 1))
            painter.setBrush(colors.chip)
            radius = rect.height() / 2
            painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
            mid = rect.center().y()
            icon_left = rect.left() + _CHIP_PAD_X
            triangle = QPolygonF(
                [
                    QPointF(icon_left, mid - _CHIP_ICON / 2),
                    QPointF(icon_left + _CHIP_ICON, mid),
                    QPointF(icon_left, mid + _CHIP_ICON / 2),
                ]
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.link)
            painter.drawPolygon(triangle)
            painter.setPen(colors.chip_text)
            text_rect = rect.adjusted(_CHIP_PAD_X + _CHIP_ICON + 6, 0, -_CHIP_PAD_X + 1, 0)
            painter.drawText(
                text_rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                label,
            )

        if layout.status_rect is None:
            return
        kind, text = self._status_text(message)
        rect = layout.status_rect
        if kind in ("busy", "error"):
            first_line_mid = rect.top() + metrics.height() / 2
            dot = QRectF(
                _MARGIN_X, first_line_mid - _STATUS_DOT / 2, _STATUS_DOT, _STATUS_DOT
            )
            painter.setPen(Qt.PenStyle.NoPen)
            if kind == "busy":
                # A soft pulse (one step per timer tick) shows the app is alive.
                phase = int(self._clock()) % 2
                color = QColor(colors.accent)
                color.setAlphaF(1.0 if phase else 0.45)
                painter.setBrush(color)
            else:
                painter.setBrush(colors.error)
            painter.drawEllipse(dot)
        painter.setPen(colors.error if kind == "error" else colors.muted)  # "stopped": muted
        if kind == "busy":
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width() + 1)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        else:
            shown = text
            flags = (
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            )
        painter.drawText(
            QRectF(rect.left(), rect.top(), rect.width() + 2, rect.height()), int(flags), shown
        )
        if layout.retry_rect is not None:
            wait = self.retry_wait_seconds(message)
            if wait > 0:
                # Disabled: plain muted text, no underline, until the server allows it.
                painter.setFont(small)
                painter.setPen(colors.muted)
                painter.drawText(layout.retry_rect,
                                 int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                                 RETRY_WAIT_TEXT.format(seconds=wait))
                return
            link_font = QFont(small)
            link_font.setUnderline(True)
            link_font.setWeight(QFont.Weight.DemiBold)
            painter.setFont(link_font)
            painter.setPen(colors.link)
            painter.drawText(layout.retry_rect,
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             RETRY_TEXT)
