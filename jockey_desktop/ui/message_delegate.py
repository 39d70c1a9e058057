"""The transcript's item delegate: caches row layouts, answers size hints, paints and
hit-tests rows.

Each row is laid out once per (message id, revision, width, palette) into a
:class:`~jockey_desktop.ui.message_layout.RowLayout` and kept in a small LRU cache, so scrolling
repaints without re-parsing Markdown and a streamed chunk re-lays out only the growing row.
The jobs are split by module: colours (:mod:`message_colors`), layout (:mod:`message_layout`),
painting (:mod:`message_painting`); what a row *says* comes from the Qt-free
:mod:`jockey_desktop.presentation` rules.

``sizeHint`` never builds a document: ``QListView`` asks every row for its size on each layout,
and building 1,000 documents to answer would defeat the point. A row that has never been painted
gets a cheap estimate from its text length; the first paint measures it exactly, remembers the
height and emits ``sizeHintChanged`` for that one row when the estimate was off.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
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
from PySide6.QtGui import QFont, QFontMetricsF, QHelpEvent, QMouseEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from jockey_desktop.core.storage.models import Message, Role
from jockey_desktop.core.storage.versions import VersionInfo
from jockey_desktop.presentation.status import StatusLine, needs_tick, retry_tooltip, status_line
from jockey_desktop.presentation.transcript import marker_tooltip
from jockey_desktop.ui.markdown import citation_index
from jockey_desktop.ui.message_colors import Colors
from jockey_desktop.ui.message_layout import MARGIN_X, RowLayout, RowLayouter, estimate_height
from jockey_desktop.ui.message_painting import (
    extras_highlights,
    paint_actions,
    paint_bubble,
    paint_chips,
    paint_documents,
    paint_focus,
    paint_seam,
    paint_status,
)
from jockey_desktop.ui.models.message_model import MessageListModel, MessageRole
from jockey_desktop.ui.steps_view import (
    ExtrasState,
    extras_anchor_at,
    paint_extras,
    steps_target,
)
from jockey_desktop.ui.theme import plain_tooltip

_Index = QModelIndex | QPersistentModelIndex

#: What each action of an answer's action line does, said on hover.
ACTION_TOOLTIPS = {
    "version:previous": "Show the previous version of this answer",
    "version:next": "Show the next version of this answer",
    "ask_again": (
        "Ask this question again and keep both answers as versions (‹ ›).\n"
        "It is sent as a new turn of the same session: the server's session is linear, "
        "so Jockey also sees everything asked since."
    ),
    "fork": (
        "Continue in a new conversation from here: a new session on the same knowledge "
        "store, starting with a summary of this conversation up to this answer"
    ),
}


def action_at(layout: RowLayout, pos: QPointF) -> tuple[str, Any] | None:
    """("action", action) of the action-line entry under ``pos``, if one acts now."""
    for rect, action, _label in layout.actions:
        if action and not action.startswith("off:") and rect.contains(pos):
            return ("action", action)
    return None


#: The reading column's width in average characters: answers wrap there and the transcript
#: is centred in a wider window.
READING_CHARS = 90

#: How many laid-out rows to keep; a screen shows at most a few dozen.
DEFAULT_CACHE_SIZE = 64


class MessageDelegate(QStyledItemDelegate):
    """Paints user bubbles, full-width answers with citation chips and status, and seams."""

    #: (message id, citation index) — a chip or a ``[N]`` marker was clicked.
    sig_citation_activated = Signal(int, int)
    #: (message id) — the Retry link of a failed/interrupted/cancelled answer was clicked
    #: (also while it reads "Retry in N s": the controller owns the retry lock and says why).
    sig_retry_requested = Signal(int)
    #: (message id, url) — an ordinary link in the text was clicked (policy is the view's).
    sig_link_activated = Signal(int, str)
    #: (message id, anchor) — the Steps toggle or a step's "Show all" was clicked.
    sig_steps_toggled = Signal(int, str)
    #: (message id, action) — an answer's action line was clicked: "version:previous",
    #: "version:next", "ask_again" or "fork" (``message_layout.answer_actions``).
    sig_action_requested = Signal(int, str)

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
        self._layouter = RowLayouter()
        # The Steps lists: shown at all (the setting), which answers' lists are open, and
        # which of their details are shown whole (answer id -> step indexes).
        self._show_steps = True
        self._steps_open: set[int] = set()
        self._details_open: dict[int, frozenset[int]] = {}
        #: Where an answer stands among its versions (the view hands its model's lookup).
        self._versions_of: Callable[[int], VersionInfo | None] = lambda _id: None
        #: The selected text of a row (the view hands its selection's lookup).
        self._selection_of: Callable[[int, RowLayout], tuple[int, int] | None] = \
            lambda _id, _layout: None
        #: The reading column's cap for the view's font (None: measure it again).
        self._reading_width: int | None = None
        #: The view painted (the parent), looked up once: sizeHint asks for the width of
        #: every row on every layout pass.
        self._view = parent if isinstance(parent, QAbstractItemView) else None
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

    def set_selection_source(
        self, lookup: Callable[[int, RowLayout], tuple[int, int] | None]
    ) -> None:
        """How to find the selected text of a row ((message id, layout) → (start, end))."""
        self._selection_of = lookup

    def set_version_source(self, lookup: Callable[[int], VersionInfo | None]) -> None:
        """How to find an answer's versions (message id → ``VersionInfo`` or None)."""
        self._versions_of = lookup

    # -- the Steps lists ------------------------------------------------------------------------
    def set_show_steps(self, show: bool) -> None:
        """Show the answers' Steps lists or not (the "Show agent steps" setting)."""
        if self._show_steps != bool(show):
            self._show_steps = bool(show)
            self._heights.clear()  # every answer with steps changes height

    def shows_steps(self) -> bool:
        """True while answers show their Steps lists."""
        return self._show_steps

    def steps_expanded(self, message_id: int) -> bool:
        """True when the answer's Steps list is open."""
        return message_id in self._steps_open

    def detail_open(self, message_id: int, index: int) -> bool:
        """True when step ``index`` of the answer shows its whole detail."""
        return index in self._details_open.get(message_id, frozenset())

    def extras_state(self, message_id: int) -> ExtrasState:
        """How the answer's extras are shown now."""
        return ExtrasState(self._show_steps, message_id in self._steps_open,
                           self._details_open.get(message_id, frozenset()))

    def toggle_steps(self, message_id: int, detail: int | None = None) -> None:
        """Open or close an answer's Steps list (``detail`` None), or show one step's detail
        whole or cut (its index). The view re-lays the row out."""
        if detail is None:
            self._steps_open ^= {message_id}
        else:
            self._details_open[message_id] = \
                self._details_open.get(message_id, frozenset()) ^ {detail}
        self._heights.pop(message_id, None)

    def relayout(self, index: _Index) -> None:
        """Lay one row out again now (its Steps list opened or closed) and tell the view its
        new height, so it never shows the old height for a frame."""
        message = index.data(MessageRole)
        if not isinstance(message, Message):
            return
        width = self._effective_width()
        layout = self.layout_for(message, width)
        self._heights[message.id] = (message.revision, width, layout.height, True)
        self.sizeHintChanged.emit(index)

    def cache_size(self) -> int:
        """Number of laid-out rows currently cached (bounded by the LRU size)."""
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forget every laid-out row and measure the reading column again (palette or font
        change)."""
        self._cache.clear()
        self._heights.clear()
        self._layouter.clear()
        self._reading_width = None

    def cached_layout(self, message: Message) -> RowLayout | None:
        """The cached layout of ``message`` at the current width, if any (no layout work)."""
        return self._cache.get(self._key(message, self._effective_width()))

    def status_line(self, message: Message) -> StatusLine:
        """The status line ``message`` shows now (the presentation rule at this clock)."""
        return status_line(message, self._clock())

    def needs_tick(self, message: Message) -> bool:
        """True while the row's status line counts seconds (streaming, or Retry locked)."""
        return needs_tick(message, self._clock())

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
        if known is not None and known[1] == width:
            if known[0] == message.revision:
                return QSize(width, math.ceil(known[2]))
            if known[3]:
                # A row measured before and changed since (a streamed update): measure it
                # again now. An estimate would shrink a tall streaming answer for a frame
                # (the view jumps, then paint corrects it and everything is laid out and
                # painted twice per update); the new layout is needed for the paint anyway.
                layout = self.layout_for(message, width, option)
                self._heights[message.id] = (message.revision, width, layout.height, True)
                return QSize(width, math.ceil(layout.height))
        height = estimate_height(message, width, option.font)
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
        painter.translate(QPointF(option.rect.topLeft()) + QPointF(self.column_offset(), 0))
        if message.role is Role.SEAM:
            paint_seam(painter, layout, width, option.font, colors)
        else:
            paint_bubble(painter, layout, colors)
            if option.state & QStyle.StateFlag.State_HasFocus:
                paint_focus(painter, width, option.rect.height(), colors)
            selection = self._selection_of(message.id, layout)
            paint_documents(painter, layout, option.palette, colors,
                            self._document_clip(painter, option), selection)
            paint_chips(painter, layout, option.font, colors)
            # The web sources and steps are selectable text too (not the Steps toggle).
            paint_extras(painter, layout.extras, option.palette, colors,
                         self._document_clip(painter, option),
                         extras_highlights(layout, selection, option.palette))
            paint_status(painter, message, layout, option.font, colors, self._clock())
            paint_actions(painter, layout, option.font, colors)
        painter.restore()

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
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
        pos = event.position() - QPointF(option.rect.topLeft()) - self.column_origin()
        target = self.hit_test(layout, pos)
        if event.button() == Qt.MouseButton.LeftButton and target is not None:
            kind, value = target
            if kind == "chip":
                self.sig_citation_activated.emit(message.id, int(value))
            elif kind == "retry":
                self.sig_retry_requested.emit(message.id)
            elif kind == "link":
                self.sig_link_activated.emit(message.id, str(value))
            elif kind == "steps":
                self.sig_steps_toggled.emit(message.id, str(value))
            elif kind == "action":
                self.sig_action_requested.emit(message.id, str(value))
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
        pos = QPointF(event.pos()) - QPointF(option.rect.topLeft()) - self.column_origin()
        target = self.hit_test(layout, pos)
        tip = ""
        if target is not None:
            kind, value = target
            if kind == "retry":
                tip = retry_tooltip(message, self._clock())
            elif kind == "chip":
                tip = marker_tooltip(message, int(value))
            elif kind == "link":
                cited = citation_index(str(value))
                tip = marker_tooltip(message, cited) if cited is not None else str(value)
            elif kind == "steps":
                tip = ("Hide the steps Jockey took" if self.steps_expanded(message.id)
                       else "Show the steps Jockey took") if value == "steps:toggle" else ""
            elif kind == "action":
                tip = ACTION_TOOLTIPS.get(str(value), "")
        if tip:
            # Chip labels are video titles and links are addresses: server text.
            QToolTip.showText(event.globalPos(), plain_tooltip(tip), view)
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
        if option is not None:
            font = option.font
        else:
            view = self.parent()
            font = view.font() if isinstance(view, QAbstractItemView) else QFont()
        layout = self._layouter.build(message, width, font, colors, self._clock(),
                                      self._colors_key, self.extras_state(message.id),
                                      self._versions_of(message.id))
        # Older revisions of the same message are dead weight once a newer one exists.
        for old in [k for k in self._cache if k[0] == message.id]:
            del self._cache[old]
        self._cache[key] = layout
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.layout_count += 1
        self.laid_out_ids.add(message.id)
        return layout

    def parse(self, text: str, font: QFont) -> Any:
        """``text`` as a row document in this view's colours (what one streamed part is)."""
        view = self.parent()
        palette = view.palette() if isinstance(view, QAbstractItemView) else QPalette()
        return self._layouter.parse(text, font, self._colors_for(palette))

    def hit_test(self, layout: RowLayout, pos: QPointF) -> tuple[str, Any] | None:
        """What is under ``pos`` (row coordinates): ("chip", index), ("retry", None),
        ("link", href), ("steps", anchor), ("action", action) or None."""
        for rect, cited, _label in layout.chips:
            if rect.contains(pos):
                return ("chip", cited)
        if layout.retry_rect is not None and layout.retry_rect.contains(pos):
            return ("retry", None)
        for y, document in layout.parts:
            local = pos - layout.doc_origin - QPointF(0, y)
            if 0 <= local.y() <= document.size().height():
                href = document.documentLayout().anchorAt(local)
                if href:
                    return ("link", href)
        anchor = extras_anchor_at(layout.extras, pos)
        if anchor:
            return ("steps", anchor) if steps_target(anchor) else ("link", anchor)
        return action_at(layout, pos)

    def _key(self, message: Message, width: int) -> tuple[Any, ...]:
        return (message.id, message.revision, width, self._colors_key,
                self.extras_state(message.id))

    # -- the reading column (issue 14.9) ----------------------------------------------------
    def reading_width(self) -> int:
        """The widest a row is laid out: about :data:`READING_CHARS` characters of the
        view's font plus the row margins (a 1,300 px line is hard to read)."""
        if self._reading_width is None:
            font = self._view.font() if self._view is not None else QFont()
            chars = QFontMetricsF(font).averageCharWidth() * READING_CHARS
            self._reading_width = math.ceil(chars + 2 * MARGIN_X)
        return self._reading_width

    def column_offset(self) -> int:
        """How far right of the viewport's left edge the centred reading column starts."""
        return max(0, (self._viewport_width() - self._effective_width()) // 2)

    def column_origin(self) -> QPointF:
        """The column's top-left in row coordinates (layouts are relative to it)."""
        return QPointF(self.column_offset(), 0)

    def _effective_width(self, option: QStyleOptionViewItem | None = None) -> int:
        """The width rows are laid out for: the viewport's, capped to the reading width."""
        return min(self._viewport_width(option), self.reading_width())

    def _viewport_width(self, option: QStyleOptionViewItem | None = None) -> int:
        # The live viewport width, not option.rect: QListView hands sizeHint a default rect,
        # and the vertical scroll bar appearing narrows the viewport without a resize event.
        if self._width:
            return self._width
        if self._view is not None:
            return max(self._view.viewport().width(), 120)
        return max(option.rect.width() if option is not None else 0, 200)

    def _document_clip(
        self, painter: QPainter, option: QStyleOptionViewItem
    ) -> QRectF | None:
        """What of the document is visible, in the painter's document coordinates (the row's
        top-left; the painter is translated there)."""
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
