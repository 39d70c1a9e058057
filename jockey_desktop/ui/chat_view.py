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
    QFocusEvent,
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

from jockey_desktop.core.storage.models import Message, Role
from jockey_desktop.presentation.formatting import unique_citations
from jockey_desktop.presentation.moments import first_playable_chip, is_playable
from jockey_desktop.presentation.selections import ask_about
from jockey_desktop.presentation.status import retry_label, retry_tooltip, status_line
from jockey_desktop.presentation.text_actions import action_for
from jockey_desktop.presentation.transcript import (
    EDGE_SCROLL_INTERVAL_MS,
    PAGE_SIZE,
    OlderLoader,
    chip_numbers,
    edge_scroll_step,
)
from jockey_desktop.ui.keys import is_typed_text
from jockey_desktop.ui.markdown import citation_index, link_action, message_as_markdown
from jockey_desktop.ui.message_delegate import ACTION_TOOLTIPS, MessageDelegate
from jockey_desktop.ui.message_layout import RowLayout, answer_actions
from jockey_desktop.ui.models.message_model import MessageListModel
from jockey_desktop.ui.steps_view import steps_target
from jockey_desktop.ui.text_selection import (
    End,
    TextSelection,
    block_at,
    over_text,
    selected_text,
    text_length,
    text_position,
    word_at,
)
from jockey_desktop.ui.theme import palette_colors, plain_menu_text
from jockey_desktop.ui.viewport import viewport_of

#: A text position past the end of any row ("to the end of that row").
_END = 1 << 30

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
    #: (answer id) — "Ask again": the question once more, its answer filed as a version.
    sig_ask_again_requested = Signal(int)
    #: (message id) — "Continue in a new conversation from here" (an answer) or "Edit and
    #: ask" (a question): a new conversation seeded with the transcript up to there.
    sig_fork_requested = Signal(int)
    sig_edit_requested = Signal(int)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
        open_url: Callable[[QUrl], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        # Wrapped once here and kept: the first plain ``viewport()`` call would make PySide
        # initialise some twenty widget types (~15 ms before the first paint of a reopened
        # conversation); later calls return this wrapper (see ui.viewport).
        self._viewport_widget = viewport_of(self)
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
        # Text selection within and across messages (ui/text_selection.py); set before the
        # model: a layout pass asks whether a drag holds the view still.
        self._text_selection: TextSelection | None = None
        self._dragging = False
        # Where the mouse is during a text drag (viewport coordinates): held past the top or
        # bottom edge, a timer scrolls on and extends the selection although it stays still.
        self._drag_pos: QPoint | None = None
        self._edge_timer = QTimer(self)
        self._edge_timer.setInterval(EDGE_SCROLL_INTERVAL_MS)
        self._edge_timer.timeout.connect(self._scroll_drag_at_edge)
        # (timestamp, position) of the last double click on text: a press right after it at
        # the same place is the third click of a triple click (Qt has no such event).
        self._last_double_click: tuple[int, QPoint] | None = None
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
        self.message_delegate.set_version_source(self.message_model.version_of)
        self.message_delegate.set_selection_source(self._selection_in)
        self.message_model.modelReset.connect(self.clear_text_selection)
        self.message_model.sig_version_added.connect(self._show_new_version)
        self.message_delegate.sig_action_requested.connect(self._on_action)

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
        rows = self.message_model.all_messages()
        first = rows[0] if rows else None
        # Ids grow with time: an unknown id below the first row is an older message that the
        # loader will read (fresh) when it is scrolled to.
        return self.has_older() and first is not None and message.id < first.id

    def shown_messages(self) -> list[Message]:
        """The rows in reading order (one version of each answer); reads nothing."""
        return self.message_model.messages()

    def loaded_messages(self) -> list[Message]:
        """The messages in memory (rows plus the ones held back), oldest first; reads nothing."""
        return self._older + self.message_model.all_messages()

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

    def changeEvent(self, event: QEvent) -> None:
        """A new font: every row and the reading column are measured again (the delegate
        keeps them until told)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.message_delegate.clear_cache()
            self.doItemsLayout()
            self.viewport().update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Copy message (the one under the mouse) / Copy conversation; from the keyboard
        (the Menu key, Shift+F10) for the current row, not the one in the view's middle."""
        menu = self.build_context_menu(self.context_menu_pos(event))
        menu.exec(event.globalPos())
        menu.deleteLater()

    def context_menu_pos(self, event: QContextMenuEvent) -> QPoint:
        """Where a context menu acts (viewport coordinates): the mouse's point, or from the
        keyboard the current row (Qt gives the middle of the view)."""
        current = self.currentIndex()
        if event.reason() == QContextMenuEvent.Reason.Keyboard and current.isValid():
            row = self.visualRect(current).intersected(self.viewport().rect())
            if not row.isEmpty():
                return row.center()
        return event.pos()

    def build_context_menu(self, pos: QPoint) -> QMenu:
        """The context menu for a point in viewport coordinates (public for tests)."""
        menu = QMenu(self)
        menu.setAccessibleName("Transcript actions")
        index = self.indexAt(pos)
        message = self.message_model.message_at(index.row()) if index.isValid() else None
        copy = menu.addAction("Copy")
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.setEnabled(self.has_text_selection())
        copy.setStatusTip("Copy the selected text as plain text")
        copy.triggered.connect(self.copy_selection)
        copy_one = menu.addAction("Copy as Markdown")
        copy_one.setStatusTip("Copy this message's Markdown")
        copy_one.setEnabled(message is not None and bool(message.text))
        if message is not None:
            message_id = message.id
            copy_one.triggered.connect(lambda: self.copy_message(message_id))
        copy_all = menu.addAction("Copy conversation")
        copy_all.setEnabled(self.message_model.rowCount() > 0)
        copy_all.triggered.connect(self.sig_copy_conversation_requested)
        if message is not None and any(is_playable(c) for c in message.citations):
            cited = message
            self._add_play_actions(menu, cited)
            export = menu.addAction("Export moments…")
            export.triggered.connect(lambda: self.sig_export_moments_requested.emit(cited))
        self._add_steps_actions(menu, message, pos)
        self._add_turn_actions(menu, message)
        return menu

    def _add_play_actions(self, menu: QMenu, message: Message) -> None:
        """"Play cited moment" with one entry per chip, as the chip reads: the chips are
        painted, so this is how the keyboard (and a screen reader) plays a moment."""
        play = menu.addMenu("Play cited moment")
        play.setAccessibleName("Play cited moment")
        numbers = chip_numbers(message)
        message_id = message.id
        for index, label in unique_citations(message.citations):
            if not is_playable(message.citations[index]):
                continue
            number = numbers.get(index, "")
            action = play.addAction(plain_menu_text(f"{number}  {label}" if number else label))
            action.triggered.connect(
                lambda _checked=False, i=index: self._on_citation(message_id, i))

    def play_first_moment(self) -> bool:
        """Play the current answer's first cited moment (its first chip that plays, the
        first entry of "Play cited moment"); False when the current row has none."""
        message = self.message_model.message_at(self.currentIndex().row())
        index = first_playable_chip(message.citations) if message is not None else None
        if message is None or index is None:
            return False
        self._on_citation(message.id, index)
        return True

    def _add_turn_actions(self, menu: QMenu, message: Message | None) -> None:
        """"Edit and ask…" on a question; "Ask again" and "Continue in a new conversation
        from here" on an answer (what its action line offers)."""
        if message is None:
            return
        message_id = message.id
        if message.role is Role.USER:
            menu.addSeparator()
            edit = menu.addAction("Edit and ask…")
            edit.setStatusTip("Change this question and ask it in a new conversation that "
                              "starts with a summary of the turns before it")
            edit.triggered.connect(lambda: self.sig_edit_requested.emit(message_id))
            return
        offered = dict(answer_actions(message, self.message_model.version_of(message_id)))
        if not offered:
            return
        menu.addSeparator()
        now = time.time()
        if status_line(message, now).offers_retry:
            # The row's Retry link is for the mouse only: from the keyboard (the Menu key on
            # the current row) a failed answer could not be retried at all.
            retry = menu.addAction(retry_label(message, now))
            retry.setStatusTip(retry_tooltip(message, now))
            retry.triggered.connect(lambda: self.sig_retry_requested.emit(message_id))
        if "ask_again" in offered:
            again = menu.addAction("Ask again")
            again.setStatusTip(ACTION_TOOLTIPS["ask_again"].replace("\n", " "))
            again.triggered.connect(lambda: self.sig_ask_again_requested.emit(message_id))
        fork = menu.addAction("Continue in a new conversation from here")
        fork.setStatusTip(ACTION_TOOLTIPS["fork"])
        fork.triggered.connect(lambda: self.sig_fork_requested.emit(message_id))

    @Slot(int)
    def _show_new_version(self, answer_id: int) -> None:
        """A new attempt took an earlier question's row (Ask again of an older turn): show
        it; the end of the transcript is followed only when it is there."""
        index = self.message_model.index_of(answer_id)
        if not index.isValid() or index.row() == self.message_model.rowCount() - 1:
            return
        self._stick_to_bottom = False
        self.doItemsLayout()
        self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        self._capture_anchor()

    def show_version(self, answer_id: int) -> None:
        """Show another version of an answer in its question's row."""
        if self.message_model.show_version(answer_id):
            self.viewport().update()

    @Slot(int, str)
    def _on_action(self, message_id: int, action: str) -> None:
        """A click on an answer's action line."""
        info = self.message_model.version_of(message_id)
        if action == "version:previous" and info is not None and info.previous_id:
            self.show_version(info.previous_id)
        elif action == "version:next" and info is not None and info.next_id:
            self.show_version(info.next_id)
        elif action == "ask_again":
            self.sig_ask_again_requested.emit(message_id)
        elif action == "fork":
            self.sig_fork_requested.emit(message_id)

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
        """Ctrl+C copies the selected text as plain text (the current message's when none
        is selected), Ctrl+A selects the whole transcript, Shift with the arrows, Home and
        End extends the selection; Enter on an answer plays its first cited moment (as a
        click on its first chip: the chips are painted, out of the keyboard's reach); typed
        text goes to the question box (the transcript takes none: after a menu closed or a
        click here, a typed question would otherwise be lost); everything else as usual."""
        if event.matches(QKeySequence.StandardKey.Copy):
            if not self.copy_selection():
                message = self.message_model.message_at(self.currentIndex().row())
                if message is not None:
                    self.copy_plain_message(message.id)
            event.accept()
            return
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all_text()
            event.accept()
            return
        if self._extend_by_key(event):
            event.accept()
            return
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                          Qt.KeyboardModifier.KeypadModifier)):
            # Taken even on a row with nothing to play: the transcript has no other use
            # for Enter, and passed on it would reach whatever default button holds it.
            self.play_first_moment()
            event.accept()
            return
        if is_typed_text(event):
            self.sig_text_typed.emit(event.text())
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click makes the row current (NoSelection would otherwise leave it unset); a
        press on text starts a text selection (Shift extends the one there is). The view
        does not scroll to the row: pressing in a tall answer half on screen must not move
        the text under the pointer (the selection would start somewhere else)."""
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        auto_scroll = self.hasAutoScroll()
        self.setAutoScroll(False)  # currentChanged scrolls to the current row otherwise
        try:
            if self._select_paragraph_on_triple_click(event):
                event.accept()
            else:
                self._start_text_selection(event)
                super().mousePressEvent(event)
            if index.isValid():
                self.setCurrentIndex(index)
        finally:
            self.setAutoScroll(auto_scroll)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Reached by the keyboard, the focus frame goes on a row on screen: the current row
        was otherwise the first one (Qt's default), scrolled away in a long conversation, so
        nothing showed where the focus was. Nothing scrolls."""
        auto_scroll = self.hasAutoScroll()
        self.setAutoScroll(False)
        try:
            super().focusInEvent(event)
            if event.reason() in (Qt.FocusReason.TabFocusReason,
                                  Qt.FocusReason.BacktabFocusReason,
                                  Qt.FocusReason.ShortcutFocusReason):
                rows = self.visible_rows()
                if rows and self.currentIndex().row() not in rows:
                    # The lowest row on screen: the newest answer in view.
                    self.setCurrentIndex(self.model().index(rows[-1], 0))
        finally:
            self.setAutoScroll(auto_scroll)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """A dialog or another window taking the focus ends a text drag: the release may
        never come here, and the edge timer must not scroll on with no button held."""
        if self._dragging:
            self._stop_drag()
        super().focusOutEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """A double click on text selects the word under it."""
        pos = event.position().toPoint()
        end = self.text_end_at(pos) if self.target_at(pos) is None else None
        message = self.message_model.message(end[0]) if end is not None else None
        if end is None or message is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        span = word_at(self._layout_of(message), end[1])
        if span is not None:
            self.select_text((message.id, span[0]), (message.id, span[1]))
        self._dragging = False
        self._last_double_click = (event.timestamp(), pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """The end of a drag that selected text activates nothing under the mouse."""
        dragged = self._dragging and self.has_text_selection()
        self._stop_drag()
        if dragged and event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- text selection (issue 14.7) -----------------------------------------------------------
    def has_text_selection(self) -> bool:
        """True while some text is selected."""
        return self._text_selection is not None and not self._text_selection.is_empty()

    def text_selection(self) -> TextSelection | None:
        """The selection (anchor and focus), if any."""
        return self._text_selection

    @Slot()
    def clear_text_selection(self) -> None:
        """Select nothing."""
        if self._text_selection is not None:
            self._text_selection = None
            self.viewport().update()

    def select_text(self, anchor: End, focus: End) -> None:
        """Select from ``anchor`` to ``focus`` ((message id, position) each)."""
        self._text_selection = TextSelection(anchor, focus)
        self.viewport().update()

    def select_all_text(self) -> None:
        """Select the text of every row (Ctrl+A)."""
        rows = self.message_model.messages()
        if rows:
            self.select_text((rows[0].id, 0), (rows[-1].id, _END))

    def selected_plain_text(self) -> str:
        """The selected text as plain text: each message's part, separated by a blank line."""
        selection = self._text_selection
        if selection is None or selection.is_empty():
            return ""
        ends = selection.ordered(self.message_model.row_of)
        if ends is None:
            return ""
        first, last = (self.message_model.row_of(end[0]) for end in ends)
        assert first is not None and last is not None
        pieces: list[str] = []
        for row in range(first, last + 1):
            message = self.message_model.message_at(row)
            if message is None:
                continue
            layout = self._layout_of(message)
            span = selection.range_in(message.id, self.message_model.row_of,
                                      text_length(layout))
            if span is not None:
                text = selected_text(layout, *span)
                if text.strip():
                    pieces.append(text)
        return "\n\n".join(pieces)

    def copy_selection(self) -> bool:
        """Put the selected text on the clipboard as plain text; False when none is."""
        text = self.selected_plain_text()
        if not text:
            return False
        QGuiApplication.clipboard().setText(text)
        self.sig_message_copied.emit(text)
        return True

    def copy_plain_message(self, message_id: int) -> None:
        """Put one message's text on the clipboard as plain text (as it reads)."""
        message = self.message_model.message(message_id)
        if message is None:
            return
        layout = self._layout_of(message)
        text = selected_text(layout, 0, text_length(layout))
        if text:
            QGuiApplication.clipboard().setText(text)
            self.sig_message_copied.emit(text)

    def text_end_at(self, pos: QPoint) -> End | None:
        """(message id, text position) nearest to a viewport point: above the first row is
        its start, below the last row its end."""
        count = self.message_model.rowCount()
        if count == 0:
            return None
        index = self.indexAt(pos)
        if not index.isValid():
            first = self.visualRect(self.message_model.index(0, 0))
            row = 0 if pos.y() < first.top() else count - 1
            message = self.message_model.message_at(row)
            assert message is not None
            return (message.id, 0 if row == 0 and pos.y() < first.top() else _END)
        message = self.message_model.message_at(index.row())
        assert message is not None
        local = QPointF(pos - self.visualRect(index).topLeft()) \
            - self.message_delegate.column_origin()
        return (message.id, text_position(self._layout_of(message), local))

    def _layout_of(self, message: Message) -> RowLayout:
        delegate = self.message_delegate
        return delegate.cached_layout(message) or delegate.layout_for(
            message, delegate.view_width())

    def _selection_in(self, message_id: int, layout: RowLayout) -> tuple[int, int] | None:
        selection = self._text_selection
        if selection is None:
            return None
        return selection.range_in(message_id, self.message_model.row_of, text_length(layout))

    def _start_text_selection(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() != Qt.MouseButton.LeftButton or self.target_at(pos) is not None:
            return
        end = self.text_end_at(pos)
        if end is None:
            self.clear_text_selection()
            return
        extend = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if extend and self._text_selection is not None:
            self.select_text(self._text_selection.anchor, end)
        else:
            self.select_text(end, end)
        self._dragging = True
        # Held still from here while an answer streams below: anchored on the row under
        # the pointer, so rows elsewhere getting their measured heights do not move it.
        index = self.indexAt(pos)
        if index.isValid():
            self._anchor = QPersistentModelIndex(index)
            self._anchor_top = self.visualRect(index).top()
        else:
            self._capture_anchor()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """A drag selects text (held past the top or bottom edge, it keeps scrolling);
        otherwise a pointing hand over chips, Retry and links, so they read as clickable."""
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton \
                and self._text_selection is not None:
            pos = event.position().toPoint()
            self._drag_pos = pos
            self._extend_drag_to(pos)
            if edge_scroll_step(pos.y(), self.viewport().height()):
                if not self._edge_timer.isActive():
                    self._scroll_drag_at_edge()  # at once: the first step is not a tick late
                    self._edge_timer.start()
            else:
                self._edge_timer.stop()
            event.accept()
            return
        self._hover_cursor(event)

    def is_scrolling_drag(self) -> bool:
        """True while a text drag held past an edge scrolls the transcript."""
        return self._edge_timer.isActive()

    def _extend_drag_to(self, pos: QPoint) -> None:
        """Move the selection's focus to the text at ``pos``; past the top or bottom edge,
        to the text at that edge (what has been scrolled into view), not the transcript's
        first or last row."""
        if self._text_selection is None:
            return
        inside = QPoint(pos.x(), min(max(pos.y(), 0), max(0, self.viewport().height() - 1)))
        end = self.text_end_at(inside)
        if end is not None:
            self.select_text(self._text_selection.anchor, end)

    @Slot()
    def _scroll_drag_at_edge(self) -> None:
        """One tick of a drag held past an edge: scroll (faster the farther out the mouse
        is) and extend the selection to what came into view."""
        pos = self._drag_pos
        step = edge_scroll_step(pos.y(), self.viewport().height()) if pos is not None else 0
        if not self._dragging or pos is None or step == 0:
            self._edge_timer.stop()
            return
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + step)
        self._extend_drag_to(pos)

    def _stop_drag(self) -> None:
        pinned = self._pinned_by_drag()
        self._dragging = False
        self._drag_pos = None
        self._edge_timer.stop()
        if pinned:
            # An answer that streamed on during the drag grew below: the end is followed
            # again only if the view is still there, else the selection would scroll away.
            bar = self.verticalScrollBar()
            self._stick_to_bottom = bar.value() >= bar.maximum() - _BOTTOM_SLACK

    def _pinned_by_drag(self) -> bool:
        """True while a text drag holds the transcript still: an answer streaming in must
        not scroll the text under the pointer (the selection would jump on the next move);
        held past an edge, the drag scrolls it itself."""
        return self._dragging and not self._edge_timer.isActive()

    def _select_paragraph_on_triple_click(self, event: QMouseEvent) -> bool:
        """The third click of a triple click on text selects its paragraph (the text block
        under the pointer); True when it did."""
        last, self._last_double_click = self._last_double_click, None
        if last is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        hints = QGuiApplication.styleHints()
        pos = event.position().toPoint()
        if not 0 <= event.timestamp() - last[0] <= hints.mouseDoubleClickInterval() \
                or (pos - last[1]).manhattanLength() > hints.startDragDistance():
            return False
        end = self.text_end_at(pos) if self.target_at(pos) is None else None
        message = self.message_model.message(end[0]) if end is not None else None
        span = block_at(self._layout_of(message), end[1]) \
            if end is not None and message is not None else None
        if message is None or span is None:
            return False
        self.select_text((message.id, span[0]), (message.id, span[1]))
        self._stop_drag()
        return True

    def _extend_by_key(self, event: QKeyEvent) -> bool:
        """Shift+Left/Right (a character), Shift+Up/Down (to the previous row's start or the
        next row's end), Shift+Home/End (the row's start or end) move the selection's focus;
        True when the key was one of these."""
        if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return False
        key = event.key()
        keys = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
                Qt.Key.Key_Home, Qt.Key.Key_End)
        if key not in keys:
            return False
        selection = self._text_selection
        if selection is None:
            current = self.message_model.message_at(max(0, self.currentIndex().row()))
            if current is None:
                return True
            selection = TextSelection((current.id, 0), (current.id, 0))
        message_id, position = selection.focus
        row = self.message_model.row_of(message_id)
        message = self.message_model.message(message_id)
        if row is None or message is None:
            return True
        length = max(0, text_length(self._layout_of(message)) - 1)
        position = min(position, length)
        if key == Qt.Key.Key_Left:
            focus = self._step_back(row, position)
        elif key == Qt.Key.Key_Right:
            focus = self._step_forward(row, position, length)
        elif key == Qt.Key.Key_Home:
            focus = (message_id, 0)
        elif key == Qt.Key.Key_End:
            focus = (message_id, length)
        else:
            target = row - 1 if key == Qt.Key.Key_Up else row + 1
            neighbour = self.message_model.message_at(target)
            if neighbour is None:
                focus = (message_id, 0 if key == Qt.Key.Key_Up else length)
            else:
                end = max(0, text_length(self._layout_of(neighbour)) - 1)
                focus = (neighbour.id, 0 if key == Qt.Key.Key_Up else end)
        self.select_text(selection.anchor, focus)
        index = self.message_model.index_of(focus[0])
        if index.isValid():
            self.setCurrentIndex(index)
            self.scrollTo(index)
        return True

    def _step_back(self, row: int, position: int) -> End:
        message = self.message_model.message_at(row)
        assert message is not None
        if position > 0 or row == 0:
            return (message.id, max(0, position - 1))
        previous = self.message_model.message_at(row - 1)
        assert previous is not None
        return (previous.id, max(0, text_length(self._layout_of(previous)) - 1))

    def _step_forward(self, row: int, position: int, length: int) -> End:
        message = self.message_model.message_at(row)
        assert message is not None
        following = self.message_model.message_at(row + 1)
        if position < length or following is None:
            return (message.id, min(length, position + 1))
        return (following.id, 0)

    def _hover_cursor(self, event: QMouseEvent) -> None:
        """A pointing hand over chips, Retry and links, so they read as clickable."""
        super().mouseMoveEvent(event)
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor
            if self.target_at(event.position().toPoint()) is not None
            else Qt.CursorShape.IBeamCursor if self._over_text(event.position().toPoint())
            else Qt.CursorShape.ArrowCursor
        )

    def _over_text(self, pos: QPoint) -> bool:
        """True when ``pos`` is over a row's selectable text (an I-beam says so)."""
        index = self.indexAt(pos)
        message = self.message_model.message_at(index.row()) if index.isValid() else None
        layout = self.message_delegate.cached_layout(message) if message is not None else None
        if layout is None:
            return False
        local = QPointF(pos - self.visualRect(index).topLeft()) \
            - self.message_delegate.column_origin()
        return over_text(layout, local)

    def target_at(self, pos: QPoint) -> tuple[str, object] | None:
        """What a click at ``pos`` (viewport coordinates) would activate, if anything."""
        index = self.indexAt(pos)
        message = self.message_model.message_at(index.row()) if index.isValid() else None
        if message is None:
            return None
        layout = self.message_delegate.cached_layout(message)
        if layout is None:
            return None
        local = QPointF(pos - self.visualRect(index).topLeft()) \
            - self.message_delegate.column_origin()
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
        if self._stick_to_bottom and not self._pinned_by_drag():
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
            held = self.message_model.all_messages()
            first = page[0] if page else (held[0] if held else None)
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
        if not self._stick_to_bottom or self._pinned_by_drag():
            self._restore_anchor()

    @Slot()
    def _follow_if_sticking(self) -> None:
        if self._stick_to_bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _update_tick(self, *args: object) -> None:
        # No @Slot(): connected to dataChanged it gets the changed rows (first, last).
        first, last = (*args, None, None)[:2]
        if (self._tick.isActive() and isinstance(first, QModelIndex)
                and isinstance(last, QModelIndex) and first.isValid()):
            # A row changed while the tick runs (every streamed update): it goes on as long
            # as a changed row still counts seconds, without asking all the others.
            model = self.message_model
            changed = (model.message_at(row) for row in range(first.row(), last.row() + 1))
            if any(m is not None and self.message_delegate.needs_tick(m) for m in changed):
                return
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
        while self.message_model.message(message_id) is None and self.has_older():
            if self.load_older() == 0:
                break
        if self.message_model.row_of(message_id) is None:
            # An answer version not shown (a search hit, a fork's origin): show it.
            self.message_model.show_version(message_id)
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
        # Layouts are relative to the centred reading column.
        origin = row_rect.topLeft() + self.message_delegate.column_origin()
        return row_rect, _occurrence_rects(layout, self._highlight_query, origin)

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
