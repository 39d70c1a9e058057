"""The transcript view: a ``QListView`` over :class:`MessageListModel` painted by
:class:`MessageDelegate`.

It owns the behaviour around the rows: link policy (``cite:`` opens a moment, http(s) opens in
the system browser, everything else is ignored), sticking to the bottom only while the user is
at the bottom, a one-second tick that repaints *only* streaming rows (for "Thinking · 42 s"),
and the context menu (Copy message / Copy conversation).

Long conversations are windowed: only the newest :data:`PAGE_SIZE` messages become rows when a
conversation opens, and older pages are prepended when the user scrolls near the top (the text
being read stays where it is). ``QListView`` asks every row for its size on each relayout, so
the row count — not the conversation's length — is what opening and streaming cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QTextDocument,
    QTextLine,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from jockey_desktop.core.storage.models import Message
from jockey_desktop.presentation.moments import is_playable
from jockey_desktop.presentation.selections import ask_about
from jockey_desktop.presentation.text_actions import action_for
from jockey_desktop.presentation.transcript import PAGE_SIZE, OlderLoader
from jockey_desktop.ui.keys import is_typed_text
from jockey_desktop.ui.markdown import citation_index, link_action, message_as_markdown
from jockey_desktop.ui.message_delegate import MessageDelegate
from jockey_desktop.ui.message_layout import RowLayout
from jockey_desktop.ui.models.message_model import MessageListModel
from jockey_desktop.ui.steps_view import steps_target
from jockey_desktop.ui.theme import palette_colors

#: How close (px) to the end still counts as "at the bottom" (sub-pixel layouts, rounding).
_BOTTOM_SLACK = 24


class ChatView(QListView):
    """A smooth, virtualised transcript (only visible rows are laid out)."""

    #: (message, citation dict) — show this moment.
    sig_citation_activated = Signal(object, object)
    #: (message id) — the user asked to retry a failed/interrupted/cancelled answer.
    sig_retry_requested = Signal(int)
    #: "Copy conversation" was chosen in the context menu.
    sig_copy_conversation_requested = Signal()
    #: (text) — a message was copied (for a status-bar note).
    sig_message_copied = Signal(str)
    #: (message) — "Export moments…" was chosen on an answer citing videos.
    sig_export_moments_requested = Signal(object)
    #: (text) — printable text was typed while the transcript had the focus: it belongs in
    #: the question box (the transcript takes no text).
    sig_text_typed = Signal(str)
    #: (``action:`` address) — a link naming an app action ("open Settings") was clicked.
    sig_action_requested = Signal(str)
    #: (kind, id, name) — "Ask about this video" was chosen on a citation chip.
    sig_ask_about_requested = Signal(str, str, str)
    #: (show) — "Show agent steps" was turned on or off in the context menu.
    sig_show_steps_changed = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
        open_url: Callable[[QUrl], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._open_url = open_url or QDesktopServices.openUrl
        self._stick_to_bottom = True
        # Scroll anchor while not following the end: the bottom-most visible row and its
        # top in viewport coordinates. Rows revealed above it get measured (their estimated
        # height corrected) as they are painted; keeping the anchor still makes that growth
        # go upward instead of shoving the text the user is reading.
        self._anchor: QPersistentModelIndex | None = None
        self._anchor_top = 0
        self._restoring = False
        # Windowing (see module doc): messages held back from the model, oldest first, and an
        # optional loader for pages beyond them.
        self._older: list[Message] = []
        self._older_loader: OlderLoader | None = None
        self._older_exhausted = True
        self._older_scheduled = False
        self._page_size = PAGE_SIZE
        # The message shown by a search result or Find (its id), the words to mark in it and
        # which of their occurrences is the current one (None: all alike).
        self._highlight_id: int | None = None
        self._highlight_query = ""
        self._highlight_occurrence: int | None = None
        self.message_model = MessageListModel(self)
        self.message_delegate = MessageDelegate(self, clock=clock)
        self.setModel(self.message_model)
        self.setItemDelegate(self.message_delegate)

        self.setUniformItemSizes(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.verticalScrollBar().setSingleStep(24)
        self.setAccessibleName("Conversation transcript")
        self.setAccessibleDescription("Questions and Jockey's answers with cited moments")

        self.message_delegate.sig_link_activated.connect(self._on_link)
        self.message_delegate.sig_citation_activated.connect(self._on_citation)
        self.message_delegate.sig_retry_requested.connect(self.sig_retry_requested)
        self.message_delegate.sig_steps_toggled.connect(self._on_steps_toggled)

        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_value_changed)

        # Repaints streaming rows once a second; runs only while something streams.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._repaint_streaming_rows)
        self.message_model.modelReset.connect(self._update_tick)
        self.message_model.rowsInserted.connect(self._update_tick)
        self.message_model.dataChanged.connect(self._update_tick)

    # -- public -------------------------------------------------------------------------------
    def set_messages(
        self,
        messages: list[Message],
        *,
        older_loader: OlderLoader | None = None,
        page_size: int | None = None,
    ) -> None:
        """Show a new transcript, scrolled to its end.

        Only the newest ``page_size`` (default :data:`PAGE_SIZE`) of ``messages`` become rows;
        the rest are shown when the user scrolls up. ``older_loader`` fetches messages older
        than the first of ``messages`` (pass the newest page only, plus a loader, to avoid
        reading the whole conversation at all).
        """
        if page_size is not None:
            self._page_size = max(1, int(page_size))
        messages = list(messages)
        cut = max(0, len(messages) - self._page_size)
        self._older = messages[:cut]
        self._older_loader = older_loader
        self._older_exhausted = older_loader is None
        self._anchor = None
        self._stick_to_bottom = True
        self._highlight_id = None
        self._highlight_query = ""
        self._highlight_occurrence = None
        self.message_model.set_messages(messages[cut:])
        self.scroll_to_end()
        # A short window that does not fill the viewport pulls in older pages right away.
        self._schedule_older_check()

    def has_older(self) -> bool:
        """True while older messages exist that are not rows yet (as far as is known)."""
        return bool(self._older) or not self._older_exhausted

    def load_older(self, count: int | None = None) -> int:
        """Prepend up to ``count`` (default: a page of) older messages; returns how many.

        The row the user is looking at keeps its place on screen.
        """
        count = self._page_size if count is None else max(0, int(count))
        page = self._take_older(count)
        if not page:
            return 0
        self._capture_anchor()
        following = self._stick_to_bottom
        added = self.message_model.prepend(page)
        self.doItemsLayout()
        if following:
            self._follow_if_sticking()
        else:
            self._restore_anchor()
        # Still near the top (a short page, or rows that do not fill the viewport)? Go on.
        self._schedule_older_check()
        return added

    def replace_older(self, message: Message) -> bool:
        """Update a message that is not a row yet (above the window); False if it is not one.

        Without this an update of an old message (a status change far up) would be appended
        at the end, out of order.
        """
        for position, held in enumerate(self._older):
            if held.id == message.id:
                self._older[position] = message
                return True
        first = self.message_model.message_at(0)
        # Ids grow with time: an unknown id below the first row is an older message that the
        # loader will read (fresh) when it is scrolled to.
        return self.has_older() and first is not None and message.id < first.id

    def loaded_messages(self) -> list[Message]:
        """The messages in memory (rows plus the ones held back), oldest first; reads nothing."""
        return self._older + self.message_model.messages()

    def scroll_to_end(self) -> None:
        """Jump to the newest message and keep following it."""
        self._stick_to_bottom = True
        self.doItemsLayout()
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def is_following(self) -> bool:
        """True while new text keeps the view scrolled to the bottom."""
        return self._stick_to_bottom

    def is_ticking(self) -> bool:
        """True while the elapsed-time tick runs (only while some row streams)."""
        return self._tick.isActive()

    def copy_message(self, message_id: int) -> None:
        """Put one message's raw Markdown on the clipboard."""
        row = self.message_model.row_of(message_id)
        message = self.message_model.message_at(row) if row is not None else None
        if message is None:
            return
        text = message_as_markdown(message)
        QGuiApplication.clipboard().setText(text)
        self.sig_message_copied.emit(text)

    # -- events -------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        """Width changes re-lay out (only) the visible rows; keep following the end."""
        following = self._stick_to_bottom
        # This also runs when the scroll bar appears (the viewport narrows): the delegate
        # keeps the width instead of asking the viewport on every sizeHint call.
        self.message_delegate.set_view_width(self.viewport().width())
        super().resizeEvent(event)
        if following:
            self._stick_to_bottom = True
            QTimer.singleShot(0, self, self._follow_if_sticking)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Copy message (the one under the mouse) / Copy conversation."""
        menu = self.build_context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def build_context_menu(self, pos: QPoint) -> QMenu:
        """The context menu for a point in viewport coordinates (public for tests)."""
        menu = QMenu(self)
        menu.setAccessibleName("Transcript actions")
        index = self.indexAt(pos)
        message = self.message_model.message_at(index.row()) if index.isValid() else None
        copy_one = menu.addAction("Copy message")
        copy_one.setEnabled(message is not None and bool(message.text))
        if message is not None:
            message_id = message.id
            copy_one.triggered.connect(lambda: self.copy_message(message_id))
        copy_all = menu.addAction("Copy conversation")
        copy_all.setEnabled(self.message_model.rowCount() > 0)
        copy_all.triggered.connect(self.sig_copy_conversation_requested)
        if message is not None and any(is_playable(c) for c in message.citations):
            cited = message
            export = menu.addAction("Export moments…")
            export.triggered.connect(lambda: self.sig_export_moments_requested.emit(cited))
        self._add_steps_actions(menu, message, pos)
        return menu

    def _add_steps_actions(self, menu: QMenu, message: Message | None, pos: QPoint) -> None:
        """"Ask about this video" on a citation chip; "Show agent steps" (the setting)."""
        target = self.target_at(pos)
        index = target[1] if target is not None and target[0] == "chip" else None
        if message is not None and isinstance(index, int) \
                and 0 <= index < len(message.citations):
            about = ask_about(message.citations[index])
            if about is not None:
                menu.addSeparator()
                ask = menu.addAction("Ask about this video" if about[0] == "item"
                                     else "Ask about this collection")
                ask.setStatusTip("Ask the next question about this video only")
                ask.triggered.connect(lambda: self.sig_ask_about_requested.emit(*about))
        menu.addSeparator()
        show = menu.addAction("Show agent steps")
        show.setCheckable(True)
        show.setChecked(self.message_delegate.shows_steps())
        show.setStatusTip("Ask Jockey for the steps it takes and list them under each answer")
        show.toggled.connect(self.sig_show_steps_changed)

    def set_show_steps(self, show: bool) -> None:
        """Show the answers' Steps lists or not (every row is laid out again)."""
        if show == self.message_delegate.shows_steps():
            return
        self.message_delegate.set_show_steps(show)
        self.message_delegate.clear_cache()
        self.doItemsLayout()
        self.viewport().update()
        self._follow_if_sticking()

    def toggle_steps(self, message_id: int, detail: int | None = None) -> None:
        """Open or close an answer's Steps list (or show one step's detail whole)."""
        index = self.message_model.index_of(message_id)
        if not index.isValid():
            return
        self.message_delegate.toggle_steps(message_id, detail)
        self.message_delegate.relayout(index)
        self.viewport().update()

    @Slot(int, str)
    def _on_steps_toggled(self, message_id: int, anchor: str) -> None:
        target = steps_target(anchor)
        if target is not None:
            self.toggle_steps(message_id, target[1])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+C copies the current message; typed text goes to the question box (the
        transcript takes none: after a menu closed or a click here, a typed question would
        otherwise be lost); everything else as usual."""
        if event.matches(QKeySequence.StandardKey.Copy):
            message = self.message_model.message_at(self.currentIndex().row())
            if message is not None:
                self.copy_message(message.id)
            event.accept()
            return
        if is_typed_text(event):
            self.sig_text_typed.emit(event.text())
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click makes the row current (NoSelection would otherwise leave it unset)."""
        index = self.indexAt(event.position().toPoint())
        super().mousePressEvent(event)
        if index.isValid():
            self.setCurrentIndex(index)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """A pointing hand over chips, Retry and links, so they read as clickable."""
        super().mouseMoveEvent(event)
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor
            if self.target_at(event.position().toPoint()) is not None
            else Qt.CursorShape.ArrowCursor
        )

    def target_at(self, pos: QPoint) -> tuple[str, object] | None:
        """What a click at ``pos`` (viewport coordinates) would activate, if anything."""
        index = self.indexAt(pos)
        message = self.message_model.message_at(index.row()) if index.isValid() else None
        if message is None:
            return None
        layout = self.message_delegate.cached_layout(message)
        if layout is None:
            return None
        local = QPointF(pos - self.visualRect(index).topLeft())
        return self.message_delegate.hit_test(layout, local)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Tell the delegate which part is repainted, so it draws only those lines."""
        self.message_delegate.set_paint_region(event.rect())
        try:
            super().paintEvent(event)
        finally:
            self.message_delegate.set_paint_region(None)
        if self._highlight_id is not None:
            self._paint_highlight()

    def viewportEvent(self, event: QEvent) -> bool:
        """Restore the arrow cursor when the mouse leaves a link or chip."""
        if event.type() == QEvent.Type.Leave:
            self.viewport().unsetCursor()
        return super().viewportEvent(event)

    # -- slots --------------------------------------------------------------------------------
    @Slot(int, str)
    def _on_link(self, message_id: int, href: str) -> None:
        action = link_action(href)
        if action == "cite":
            index = citation_index(href)
            if index is not None:
                self._on_citation(message_id, index)
        elif action == "web":
            self._open_url(QUrl(href))
        elif action_for(href) is not None:
            self.sig_action_requested.emit(href)
        # anything else (file:, javascript:, relative) is deliberately ignored

    @Slot(int, int)
    def _on_citation(self, message_id: int, index: int) -> None:
        row = self.message_model.row_of(message_id)
        message = self.message_model.message_at(row) if row is not None else None
        if message is None or not 0 <= index < len(message.citations):
            return
        self.sig_citation_activated.emit(message, message.citations[index])

    @Slot(int, int)
    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)
        else:
            self._restore_anchor()
        if maximum <= self._near_top_margin():
            self._schedule_older_check()

    @Slot(int)
    def _on_value_changed(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if self._restoring:
            return
        self._stick_to_bottom = value >= bar.maximum() - _BOTTOM_SLACK
        self._capture_anchor()
        if value <= self._near_top_margin():
            self._schedule_older_check()

    def _take_older(self, count: int) -> list[Message]:
        """Remove and return up to ``count`` of the newest not-yet-shown messages."""
        if count <= 0:
            return []
        page = self._older[-count:] if self._older else []
        if page:
            del self._older[-len(page):]
        missing = count - len(page)
        if missing and not self._older_exhausted and self._older_loader is not None:
            first = page[0] if page else self.message_model.message_at(0)
            if first is None:
                self._older_exhausted = True
            else:
                fetched = self._older_loader(first.id, missing)
                # Trust only what is really older: the loader may be sloppy about the bound.
                fetched = [m for m in fetched if m.id < first.id]
                if len(fetched) < missing:
                    self._older_exhausted = True
                page = fetched + page
        return page

    def _schedule_older_check(self) -> None:
        # Deferred: never insert rows from inside a scroll-bar signal or a layout pass.
        if self.has_older() and not self._older_scheduled:
            self._older_scheduled = True
            QTimer.singleShot(0, self, self._load_older_if_near_top)

    @Slot()
    def _load_older_if_near_top(self) -> None:
        self._older_scheduled = False
        if self.has_older() and self.verticalScrollBar().value() <= self._near_top_margin():
            self.load_older()

    def _near_top_margin(self) -> int:
        # About one screen ahead, so the next page is there before the user reaches it.
        return max(self.viewport().height(), 200)

    def _capture_anchor(self) -> None:
        viewport = self.viewport().rect()
        index = self.indexAt(QPoint(viewport.width() // 2, viewport.bottom() - 1))
        if not index.isValid():
            self._anchor = None
            return
        self._anchor = QPersistentModelIndex(index)
        self._anchor_top = self.visualRect(index).top()

    def _restore_anchor(self) -> None:
        anchor = self._anchor
        if anchor is None or not anchor.isValid():
            return
        index = self.message_model.index(anchor.row(), 0)
        delta = self.visualRect(index).top() - self._anchor_top
        if delta:
            bar = self.verticalScrollBar()
            self._restoring = True
            try:
                bar.setValue(bar.value() + delta)
            finally:
                self._restoring = False

    def updateGeometries(self) -> None:
        """After every relayout, keep the anchored row where the user last saw it."""
        super().updateGeometries()
        if not self._stick_to_bottom:
            self._restore_anchor()

    @Slot()
    def _follow_if_sticking(self) -> None:
        if self._stick_to_bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    @Slot()
    def _update_tick(self, *_args: object) -> None:
        streaming = bool(self._ticking_rows())
        if streaming and not self._tick.isActive():
            self._tick.start()
        elif not streaming and self._tick.isActive():
            self._tick.stop()

    @Slot()
    def _ticking_rows(self) -> list[int]:
        """Rows whose status line counts seconds: streaming answers ("Thinking · 42 s",
        "retrying in 18 s") and rate-limited answers whose Retry is still locked."""
        delegate = self.message_delegate
        return [row for row, message in enumerate(self.message_model.messages())
                if delegate.needs_tick(message)]

    def _repaint_streaming_rows(self) -> None:
        rows = self._ticking_rows()
        if not rows:
            self._tick.stop()
            return
        for row in rows:
            rect = self.visualRect(self.message_model.index(row, 0))
            if rect.isValid() and rect.intersects(self.viewport().rect()):
                self.viewport().update(rect)

    def visible_rows(self) -> list[int]:
        """Rows intersecting the viewport (for tests and benchmarks)."""
        rows: list[int] = []
        top = self.indexAt(QPoint(1, 1))
        row = top.row() if top.isValid() else 0
        viewport = self.viewport().rect()
        while row < self.message_model.rowCount():
            rect = self.visualRect(self.message_model.index(row, 0))
            if rect.top() > viewport.bottom():
                break
            if rect.intersects(viewport):
                rows.append(row)
            row += 1
        return rows

    def index_for(self, message_id: int) -> QModelIndex:
        """Model index of a message id (invalid if absent)."""
        return self.message_model.index_of(message_id)

    # -- showing one message: search results and Find ------------------------------------------
    def load_all_older(self) -> int:
        """Make every older message a row (Find looks through the whole conversation);
        returns how many were added."""
        added = 0
        while self.has_older():
            count = self.load_older()
            if count == 0:
                break
            added += count
        return added

    def reveal_message(self, message_id: int, query: str = "",
                       occurrence: int | None = None) -> bool:
        """Scroll to a message and highlight it, marking ``query``'s occurrences in it
        (``occurrence`` the current one, for Find). Older pages are loaded until it is a
        row; False when the conversation has no such message."""
        while self.message_model.row_of(message_id) is None and self.has_older():
            if self.load_older() == 0:
                break
        row = self.message_model.row_of(message_id)
        if row is None:
            return False
        self._highlight_id = message_id
        self._highlight_query = query.strip()
        self._highlight_occurrence = occurrence
        index = self.message_model.index(row, 0)
        self._stick_to_bottom = False
        self.doItemsLayout()
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        # Rows around it get their real heights as they are painted; anchoring on the
        # revealed row keeps it where it was put while that happens.
        self._anchor = QPersistentModelIndex(index)
        self._anchor_top = self.visualRect(index).top()
        self.viewport().update()
        return True

    def clear_highlight(self) -> None:
        """Stop highlighting a message."""
        if self._highlight_id is not None:
            self._highlight_id = None
            self._highlight_query = ""
            self._highlight_occurrence = None
            self.viewport().update()

    def highlighted_message_id(self) -> int | None:
        """The message highlighted by a search result or Find, or None."""
        return self._highlight_id

    def highlight_rects(self) -> tuple[QRectF | None, list[QRectF]]:
        """Where the highlight is painted (viewport coordinates): the message's row and the
        marked occurrences of the query in it (empty when its layout is not known yet)."""
        message_id = self._highlight_id
        if message_id is None:
            return None, []
        row = self.message_model.row_of(message_id)
        if row is None:
            return None, []
        row_rect = QRectF(self.visualRect(self.message_model.index(row, 0)))
        message = self.message_model.message_at(row)
        layout = self.message_delegate.cached_layout(message) if message is not None else None
        if layout is None or not self._highlight_query:
            return row_rect, []
        return row_rect, _occurrence_rects(layout, self._highlight_query, row_rect.topLeft())

    def _paint_highlight(self) -> None:
        row_rect, marks = self.highlight_rects()
        if row_rect is None or not row_rect.intersects(QRectF(self.viewport().rect())):
            return
        colors = palette_colors(self.palette())
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        accent = QColor(colors.chip_text)
        fill = QColor(accent)
        fill.setAlphaF(0.07)
        painter.setBrush(fill)
        accent.setAlphaF(0.55)
        painter.setPen(QPen(accent, 1.5))
        painter.drawRoundedRect(row_rect.adjusted(4, 1, -4, -1), 8, 8)
        painter.setPen(Qt.PenStyle.NoPen)
        for number, rect in enumerate(marks):
            current = self._highlight_occurrence in (None, number)
            mark = QColor(255, 196, 0) if current else QColor(255, 226, 120)
            mark.setAlphaF(0.55 if current else 0.35)
            painter.setBrush(mark)
            painter.drawRoundedRect(rect.adjusted(-1, 0, 1, 0), 2, 2)
        painter.end()


def _occurrence_rects(layout: RowLayout, query: str, origin: QPointF) -> list[QRectF]:
    """Rectangles (viewport coordinates, the row's top-left at ``origin``) of every
    occurrence of ``query`` in the row's documents, in reading order."""
    rects: list[QRectF] = []
    for offset, document in layout.parts:
        top_left = origin + layout.doc_origin + QPointF(0.0, offset)
        cursor = document.find(query)
        while not cursor.isNull():
            rects.extend(_cursor_rects(document, cursor.selectionStart(), cursor.selectionEnd(),
                                       top_left))
            cursor = document.find(query, cursor)
    return rects


def _cursor_rects(document: QTextDocument, start: int, end: int,
                  top_left: QPointF) -> list[QRectF]:
    """The rectangles a text range covers, one per line it spans."""
    block = document.findBlock(start)
    if not block.isValid():
        return []
    text_layout = block.layout()
    block_rect = document.documentLayout().blockBoundingRect(block)
    first, last = start - block.position(), min(end, block.position() + block.length() - 1)
    last -= block.position()
    rects: list[QRectF] = []
    position = first
    while position < last:
        line = text_layout.lineForTextPosition(position)
        if not line.isValid():
            break
        line_end = min(last, line.textStart() + line.textLength())
        x1 = _line_x(line, position)
        x2 = _line_x(line, line_end)
        rects.append(QRectF(top_left.x() + block_rect.x() + min(x1, x2),
                            top_left.y() + block_rect.y() + line.y(),
                            abs(x2 - x1), line.height()))
        if line_end <= position:
            break
        position = line_end
    return rects


def _line_x(line: QTextLine, position: int) -> float:
    """The x of a text position on a line (PySide returns ``(x, position)``)."""
    result: Any = line.cursorToX(position)
    return float(result[0] if isinstance(result, tuple) else result)
