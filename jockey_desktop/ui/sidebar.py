"""The conversation sidebar: search, "New conversation", and the list of saved conversations.

The sidebar owns no data: the controller feeds it summaries and search hits, and it reports
what the user asked for through ``sig_*`` signals. It selects rows on the user's behalf
(mouse, Up/Down, Enter) and emits ``sig_conversation_selected`` only for those user actions,
so programmatic updates (a row moving to the top while it streams) never re-open anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPalette,
    QPen,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.storage.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    ConversationSummary,
    SearchHit,
)
from jockey_desktop.core.storage.search import SEARCH_SHOWN
from jockey_desktop.presentation.conversation_row import Badge, BadgeTone
from jockey_desktop.presentation.formatting import format_age
from jockey_desktop.ui.elided_button import ElidedPushButton
from jockey_desktop.ui.keys import is_typed_text
from jockey_desktop.ui.models.conversation_model import (
    BadgeRole,
    ConversationIdRole,
    ConversationListModel,
    SummaryRole,
)
from jockey_desktop.ui.theme import palette_colors, plain_tooltip
from jockey_desktop.ui.uniform_list_view import UniformListView
from jockey_desktop.ui.viewport import viewport_of

_Index = QModelIndex | QPersistentModelIndex

SEARCH_DEBOUNCE_MS = 150
SEARCH_PLACEHOLDER = "Search conversations (Ctrl+K)"

#: Search result rows: conversation id and the raw snippet (with highlight markers).
HitConversationRole = Qt.ItemDataRole.UserRole + 1
HitSnippetRole = Qt.ItemDataRole.UserRole + 2
HitMessageRole = Qt.ItemDataRole.UserRole + 3

_PAD = 8


def _pin_glyph(font: QFont) -> str:
    """A pushpin when the font can draw it, else a star (both read as "pinned")."""
    return "📌" if QFontMetrics(font).inFontUcs4(0x1F4CC) else "★"


def split_highlights(snippet: str) -> list[tuple[str, bool]]:
    """Split a search snippet into ``(text, highlighted)`` runs using HIGHLIGHT_START/END."""
    runs: list[tuple[str, bool]] = []
    highlighted = False
    current = ""
    for char in snippet:
        if char in (HIGHLIGHT_START, HIGHLIGHT_END):
            if current:
                runs.append((current, highlighted))
            current = ""
            highlighted = char == HIGHLIGHT_START
        else:
            current += char
    if current:
        runs.append((current, highlighted))
    return runs


def fit_snippet(runs: list[tuple[str, bool]], plain: QFontMetrics, bold: QFontMetrics,
                room: int) -> list[tuple[str, bool]]:
    """The runs of a search snippet as they fit on one line of ``room`` pixels.

    The first matched word is always shown whole: when the text before it is too long,
    words are dropped from the front (shown as a leading "…") rather than eliding the match
    at the end ("…onto a lem…" told the user nothing). Whatever follows is elided at the
    end as usual. ``plain``/``bold`` measure unmatched and matched runs.
    """
    def width(text: str, highlighted: bool) -> int:
        return (bold if highlighted else plain).horizontalAdvance(text)

    first = next((i for i, (_t, hl) in enumerate(runs) if hl), None)
    if first is not None:
        match_text = runs[first][0]
        before = "".join(t for t, _hl in runs[:first])
        needed = width(match_text, True)
        if width(before, False) + needed > room:
            # Keep as much of the lead-in as fits, cut at a word, with "…" in front.
            words = before.split(" ")
            while words and width("…" + " ".join(words), False) + needed > room:
                words.pop(0)
            lead = ("…" + " ".join(words)) if words else "…"
            if width(lead, False) + needed > room:
                lead = ""
            runs = ([(lead, False)] if lead else []) + runs[first:]
    shown: list[tuple[str, bool]] = []
    used = 0
    for text, highlighted in runs:
        left = room - used
        metrics = bold if highlighted else plain
        if left <= metrics.horizontalAdvance("…"):
            break
        fitted = metrics.elidedText(text, Qt.TextElideMode.ElideRight, left)
        if highlighted and fitted != text and not shown:
            fitted = text  # a match wider than the whole line: shown as far as it goes
        shown.append((fitted, highlighted))
        used += metrics.horizontalAdvance(fitted)
        if fitted != text:
            break
    return shown


def fit_meta(store_name: str, age: str, metrics: QFontMetrics, width: int) -> str:
    """A row's second line, "store · age", in ``width``: the store name is elided, the age
    stays whole (eliding the middle of the line showed "Nature …ust now": neither the store
    nor when); in a row too narrow even for the age, the age alone, elided."""
    suffix = f" · {age}"
    room = width - metrics.horizontalAdvance(suffix)
    store = metrics.elidedText(store_name, Qt.TextElideMode.ElideRight, room) if room > 0 else ""
    if not store:
        return metrics.elidedText(age, Qt.TextElideMode.ElideRight, width)
    return store + suffix


def _paint_background(painter: QPainter, option: QStyleOptionViewItem,
                      widget: QWidget | None) -> None:
    style = widget.style() if widget is not None else None
    if style is not None:
        # The style draws selection and hover exactly like every other list.
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
    if option.state & QStyle.StateFlag.State_HasFocus:
        # ... but not the keyboard focus: a focused list looked exactly like one without it.
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = (QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(option.palette.color(role), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(option.rect).adjusted(2, 2, -2, -2), 4, 4)
        painter.restore()


class ConversationDelegate(QStyledItemDelegate):
    """Paints a conversation row: pin + bold title, then "store · age" and a state badge."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.now: float | None = None  # tests pin the clock; None = real time

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Two text lines plus padding."""
        fm = QFontMetrics(option.font)
        return QSize(200, fm.height() * 2 + _PAD * 2 + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Draw the row (selection background from the style)."""
        summary: ConversationSummary | None = index.data(SummaryRole)
        if summary is None:
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        painter.save()
        _paint_background(painter, opt, widget)
        colors = palette_colors(opt.palette)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_color = colors.highlighted_text if selected else colors.text
        muted = colors.highlighted_text if selected else colors.muted
        conv = summary.conversation
        rect = opt.rect.adjusted(_PAD + 2, _PAD, -_PAD, -_PAD)
        fm = QFontMetrics(opt.font)
        line_h = fm.height()

        # Line 1: pin glyph + bold title.
        title_font = QFont(opt.font)
        title_font.setBold(True)
        x = rect.left()
        if conv.pinned:
            glyph = _pin_glyph(opt.font)
            painter.setFont(opt.font)
            painter.setPen(colors.highlighted_text if selected else colors.warning)
            painter.drawText(QRect(x, rect.top(), line_h + 4, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, glyph)
            x += fm.horizontalAdvance(glyph) + 4
        painter.setFont(title_font)
        painter.setPen(text_color)
        title = conv.title or "New conversation"
        tfm = QFontMetrics(title_font)
        title = tfm.elidedText(title, Qt.TextElideMode.ElideRight, rect.right() - x)
        painter.drawText(QRect(x, rect.top(), rect.right() - x, line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)

        # Line 2: state badge on the right, "store · age" on the left.
        y2 = rect.top() + line_h + 2
        right = rect.right()
        badge: Badge | None = index.data(BadgeRole)
        small = QFont(opt.font)
        small.setPointSizeF(max(7.0, opt.font.pointSizeF() * 0.88))
        sfm = QFontMetrics(small)
        if badge is not None:
            color = {BadgeTone.ERROR: colors.error,
                     BadgeTone.WARNING: colors.warning}.get(badge.tone, colors.streaming)
            width = sfm.horizontalAdvance(badge.text) + 12
            badge_rect = QRect(right - width, y2 + 1, width, line_h - 2)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            fill = QColor(color)
            fill.setAlphaF(0.18 if not selected else 0.35)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(badge_rect, 4, 4)
            painter.setFont(small)
            painter.setPen(colors.highlighted_text if selected else color)
            painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge.text)
            right = badge_rect.left() - 6
        painter.setFont(opt.font)
        painter.setPen(muted)
        meta = fit_meta(conv.store_name, format_age(conv.updated_at, self.now or time.time()),
                        fm, right - rect.left())
        painter.drawText(QRect(rect.left(), y2, right - rect.left(), line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, meta)
        painter.restore()


class SearchHitDelegate(QStyledItemDelegate):
    """Paints a search hit: bold title, then the snippet with matched words in bold."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Two text lines plus padding."""
        fm = QFontMetrics(option.font)
        return QSize(200, fm.height() * 2 + _PAD * 2 + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Draw title and highlighted snippet, eliding what does not fit."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        painter.save()
        _paint_background(painter, opt, opt.widget)
        colors = palette_colors(opt.palette)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        rect = opt.rect.adjusted(_PAD + 2, _PAD, -_PAD, -_PAD)
        fm = QFontMetrics(opt.font)
        line_h = fm.height()
        bold = QFont(opt.font)
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        painter.setFont(bold)
        painter.setPen(colors.highlighted_text if selected else colors.text)
        title = bfm.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
                               Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        x = rect.left()
        y = rect.top() + line_h + 2
        snippet = " ".join(str(index.data(HitSnippetRole) or "").split())
        for text, highlighted in fit_snippet(split_highlights(snippet), fm, bfm,
                                             rect.width()):
            font, metrics = (bold, bfm) if highlighted else (opt.font, fm)
            painter.setFont(font)
            if highlighted:
                painter.setPen(colors.highlighted_text if selected else colors.chip_text)
            else:
                painter.setPen(colors.highlighted_text if selected else colors.muted)
            width = metrics.horizontalAdvance(text)
            painter.drawText(QRect(x, y, max(width, rect.right() - x), line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
            x += width
        painter.restore()


class ConversationSidebar(QWidget):
    """Search field, "New conversation" button and the conversation list."""

    sig_conversation_selected = Signal(int)
    sig_new_requested = Signal()
    sig_rename_requested = Signal(int, str)
    sig_pin_requested = Signal(int, bool)
    sig_delete_requested = Signal(int)
    sig_export_requested = Signal(int, str)
    sig_search_requested = Signal(str)
    #: A search result was opened (after ``sig_conversation_selected`` for its conversation):
    #: the conversation id, the matching message's id (None for a title match) and the
    #: query, so the transcript can scroll to the match and highlight it.
    sig_search_hit_opened = Signal(int, object, str)
    #: Printable text typed while the list has the focus: it belongs in the question box.
    sig_text_typed = Signal(str)

    PAGE_LIST, PAGE_EMPTY, PAGE_RESULTS = range(3)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConversationSidebar")
        self.setAccessibleName("Conversations")
        self._programmatic = 0
        self._selected_id: int | None = None
        #: A conversation asked to be selected before its row was loaded (start-up shows the
        #: newest rows first): selected when ``add_summaries`` brings it.
        self._wanted_id: int | None = None
        self._searching_for = ""
        self._rename_editor: _RenameEditor | None = None
        self._renaming_id: int | None = None

        self.search_field = QLineEdit(self)
        self.search_field.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.search_field.setClearButtonEnabled(True)
        self.search_field.setAccessibleName("Search conversations")
        self.search_field.setAccessibleDescription(
            "Type to search titles and messages; Escape clears the search")
        self.search_field.installEventFilter(self)

        # Elided in a narrow sidebar (a big font, the player open): a plain button's text was
        # cut off mid-letter ("New conversat").
        self.new_button = ElidedPushButton("+  New conversation", self, min_width=0)
        self.new_button.setAccessibleName("New conversation")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setProperty("primary", True)
        self.new_button.clicked.connect(self.sig_new_requested)

        self.model = ConversationListModel(self)
        self.list_view = UniformListView(self)  # O(1) layout and no relayout per row change
        self.list_view.setAccessibleName("Conversation list")
        self.list_view.set_list_model(self.model)
        self.delegate = ConversationDelegate(self.list_view)
        self.list_view.setItemDelegate(self.delegate)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._on_context_menu)
        self.list_view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.list_view.activated.connect(self._on_activated)
        self.list_view.installEventFilter(self)
        # The Menu key / Shift+F10 reach the viewport with the view's middle as their point.
        self._list_viewport = viewport_of(self.list_view)  # not viewport(): start-up time
        self._list_viewport.installEventFilter(self)
        for model_signal in (self.model.rowsMoved, self.model.rowsInserted,
                             self.model.rowsRemoved, self.model.modelReset,
                             self.model.layoutChanged):
            model_signal.connect(self._place_rename_editor)
        self.list_view.verticalScrollBar().valueChanged.connect(self._place_rename_editor)

        self.empty_label = QLabel(
            "No conversations yet.\n\nPick a knowledge store and press "
            "“New conversation” (Ctrl+N) to ask your first question.", self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setProperty("role", "muted")
        self.empty_label.setAccessibleDescription("No conversations yet")

        self.results_model = QStandardItemModel(self)
        self.results_view = QListView(self)
        self.results_view.setAccessibleName("Search results")
        self.results_view.setModel(self.results_model)
        self.results_view.setItemDelegate(SearchHitDelegate(self.results_view))
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results_view.activated.connect(self._on_result_activated)
        self.results_view.installEventFilter(self)
        self.results_view.clicked.connect(self._on_result_activated)
        self.results_status = QLabel(self)
        self.results_status.setProperty("role", "muted")
        # Shows the typed query: plain text, so "<b>" is searched for, not rendered.
        self.results_status.setTextFormat(Qt.TextFormat.PlainText)
        self.results_status.setWordWrap(True)
        self.results_status.setAccessibleDescription("Search status")
        results_page = QWidget(self)
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.results_status)
        results_layout.addWidget(self.results_view, 1)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.list_view)
        self.pages.addWidget(self.empty_label)
        self.pages.addWidget(results_page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 8)
        layout.setSpacing(8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_field)
        # Tab follows the order on screen: the button above the search field comes first.
        QWidget.setTabOrder(self.new_button, self.search_field)
        layout.addWidget(self.pages, 1)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._emit_search)
        self.search_field.textChanged.connect(self._on_search_text_changed)

        # "5 min ago" goes stale: repaint the visible rows once a minute (cheap).
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(60_000)
        self._age_timer.timeout.connect(viewport_of(self.list_view).update)
        self._age_timer.start()
        self._update_page()

    # -- public API -----------------------------------------------------------------------------

    def set_summaries(self, summaries: Iterable[ConversationSummary]) -> None:
        """Replace the whole list, keeping the selected conversation selected."""
        keep = self._selected_id
        with _Programmatic(self):
            self.model.set_summaries(summaries)
            self._selected_id = None
            if keep is not None:
                self._select_row_of(keep)
        self._update_page()

    def add_summaries(self, summaries: Iterable[ConversationSummary]) -> None:
        """Add the conversations not listed yet (the rest of the list, loaded after start-up).

        Rows already listed are kept as they are; the selection and scroll position stay.
        """
        with _Programmatic(self):
            added = self.model.add_summaries(summaries)
            wanted = self._wanted_id
            # The selection model follows inserted rows by itself; only a wish that could not
            # be met before needs doing.
            if added and wanted is not None and self._selected_id is None:
                self._select_row_of(wanted)
        self._update_page()

    def upsert_summary(self, summary: ConversationSummary) -> None:
        """Add or refresh one conversation's row (moves it to its sorted place); a row asked
        to be selected before it was listed (a conversation just created) is selected."""
        with _Programmatic(self):
            self.model.upsert(summary)
            if summary.conversation.id == self._wanted_id and self._selected_id is None:
                self._select_row_of(self._wanted_id)
        self._update_page()

    @Slot(object)
    def set_held_conversations(self, conversation_ids: Iterable[int]) -> None:
        """The conversations whose answer waits in memory for disk space: their rows say so
        instead of "answering…" (the stored answer still reads "streaming")."""
        self.model.set_held(conversation_ids)

    def remove_conversation(self, conversation_id: int) -> None:
        """Drop a conversation's row; a removed selection leaves nothing selected."""
        with _Programmatic(self):
            removed = self.model.remove(conversation_id)
            if removed and conversation_id == self._selected_id:
                self.list_view.selectionModel().clear()
                self._selected_id = None
            elif self._selected_id is not None:
                # Qt may have moved the current index; put it back on the selected row.
                self._select_row_of(self._selected_id)
        self._update_page()

    def select_conversation(self, conversation_id: int | None, *, notify: bool = False) -> bool:
        """Select (and scroll to) a conversation's row; None clears the selection.

        Does not emit ``sig_conversation_selected`` unless ``notify`` is True: the caller
        already knows what it opened. Returns False when the conversation is not listed.
        """
        with _Programmatic(self):
            self._wanted_id = None
            if conversation_id is None:
                self.list_view.selectionModel().clear()
                self._selected_id = None
                return True
            found = self._select_row_of(conversation_id)
            if not found:
                # Not listed yet (a later page, or just created): nothing else stays
                # selected meanwhile, and its row is selected when it arrives.
                self.list_view.selectionModel().clear()
                self._selected_id = None
                self._wanted_id = conversation_id
        if found and notify:
            self.sig_conversation_selected.emit(conversation_id)
        return found

    def current_conversation_id(self) -> int | None:
        """The selected conversation, or None."""
        return self._selected_id

    def show_search_results(self, query: str, hits: Iterable[SearchHit]) -> None:
        """Show the hits for ``query`` (dropped when the field already asks something else):
        the first ``SEARCH_SHOWN``; a hit beyond them means more conversations match."""
        if query.strip() != self.search_field.text().strip():
            return  # a late answer to an older query
        self.results_model.clear()
        hits = list(hits)
        # The controller asks for one hit more than is listed: there it says that more match.
        more = len(hits) > SEARCH_SHOWN
        count = 0
        for hit in hits[:SEARCH_SHOWN]:
            item = QStandardItem(hit.title or "New conversation")
            item.setData(hit.conversation_id, HitConversationRole)
            item.setData(hit.snippet, HitSnippetRole)
            item.setData(hit.message_id, HitMessageRole)
            plain = hit.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")
            item.setData(f"{hit.title}: {plain}", Qt.ItemDataRole.AccessibleTextRole)
            item.setToolTip(plain_tooltip(plain))
            item.setEditable(False)
            self.results_model.appendRow(item)
            count += 1
        if more:
            # "50 matches" read as all of them when hundreds of conversations match.
            self.results_status.setText(
                f"The {count} best matches; more conversations match: add a word to narrow "
                "the search · Enter opens · Esc clears")
        elif count:
            self.results_status.setText(f"{count} match{'es' if count != 1 else ''} "
                                        "· Enter opens · Esc clears")
        else:
            self.results_status.setText(f"No conversations match “{query.strip()}”.")
        self.pages.setCurrentIndex(self.PAGE_RESULTS)

    def focus_search(self) -> None:
        """Put the cursor in the search field with its text selected (Ctrl+K)."""
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def clear_search(self) -> None:
        """Leave search mode and show the conversation list again."""
        self._search_timer.stop()
        self.search_field.clear()
        self._update_page()

    def is_searching(self) -> bool:
        """True while the search field has text (the results page is shown)."""
        return bool(self.search_field.text().strip())

    # -- confirmations (separate so tests can patch them) ------------------------------------

    def confirm_delete(self, title: str) -> bool:
        """Ask before deleting; the server-side session can never be recovered."""
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

        # Titles are usually questions: "Delete “…videos?”?" read oddly, so the title gets a
        # line of its own.
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete conversation",
                          f"Delete this conversation?\n“{title}”", parent=self)
        # The title is user/server text: show its characters, never interpret it as HTML.
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(
            "This cannot be undone. The conversation is removed from this computer, and its "
            "server-side session cannot be recovered, so it can never be continued.")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is delete

    # -- renaming in place ---------------------------------------------------------------------

    def rename(self, conversation_id: int) -> None:
        """Rename in place: an editor over the row's title, the title selected. Enter (or
        leaving the field) keeps the new title, Esc keeps the old one; a changed, non-blank
        title is emitted as ``sig_rename_requested``."""
        summary = self.model.summary_for(conversation_id)
        if summary is None:
            return
        if self.is_searching():
            self.clear_search()  # the row being renamed must be on screen
        self._finish_rename(commit=True)
        with _Programmatic(self):
            self._select_row_of(conversation_id)
        editor = self._rename_editor
        if editor is None:
            editor = _RenameEditor(self.list_view.viewport())
            editor.sig_done.connect(self._finish_rename)
            self._rename_editor = editor
        self._renaming_id = conversation_id
        editor.setText(summary.conversation.title or "")
        editor.selectAll()
        self._place_rename_editor()
        editor.show()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def renaming_id(self) -> int | None:
        """The conversation whose title is being edited in place, or None."""
        return self._renaming_id

    @property
    def rename_editor(self) -> QLineEdit | None:
        """The in-place title editor (None until the first rename)."""
        return self._rename_editor

    @Slot(bool)
    def _finish_rename(self, commit: bool) -> None:
        conversation_id, self._renaming_id = self._renaming_id, None
        editor = self._rename_editor
        if conversation_id is None or editor is None:
            return
        title = " ".join(editor.text().split())
        had_focus = editor.hasFocus()
        editor.hide()
        if had_focus:
            self.list_view.setFocus(Qt.FocusReason.OtherFocusReason)
        summary = self.model.summary_for(conversation_id)
        if commit and title and summary is not None and title != summary.conversation.title:
            self.sig_rename_requested.emit(conversation_id, title)

    @Slot()
    def _place_rename_editor(self, *_args: object) -> None:
        """Keep the editor over its row's title line (rows move while answers arrive)."""
        editor, conversation_id = self._rename_editor, self._renaming_id
        if editor is None or conversation_id is None:
            return
        row = self.model.row_for_conversation(conversation_id)
        if row is None:
            self._finish_rename(commit=False)  # the conversation went away
            return
        rect = self.list_view.visualRect(self.list_view.index_for_row(row))
        # Exactly over the title line: its usual size hint (the theme's padding) also hid
        # the top of the "store · age" line below.
        editor.setGeometry(rect.left() + _PAD - 2, rect.top() + _PAD - 4,
                           rect.width() - 2 * _PAD + 2, rename_editor_height(editor.font()))

    def delete(self, conversation_id: int) -> None:
        """Confirm, then emit ``sig_delete_requested``.

        Deleting the selected conversation then opens the one below it (above it when it
        was the last row), as a mail client does: the list keeps a current row, so Del, Del
        deletes one after the other, and Down goes on from where the user was — it left
        nothing selected, a second Del did nothing and Down jumped to the top of the list.
        """
        summary = self.model.summary_for(conversation_id)
        if summary is None:
            return
        if not self.confirm_delete(summary.conversation.title or "New conversation"):
            return
        following = (self._neighbour_of(conversation_id)
                     if conversation_id == self._selected_id else None)
        self.sig_delete_requested.emit(conversation_id)
        if following is not None and self.model.summary_for(following) is not None:
            self.select_conversation(following, notify=True)

    def _neighbour_of(self, conversation_id: int) -> int | None:
        """The conversation below ``conversation_id`` in the list, else the one above."""
        row = self.model.row_for_conversation(conversation_id)
        if row is None:
            return None
        neighbour = self.model.summary_at(row + 1) or self.model.summary_at(row - 1)
        return neighbour.conversation.id if neighbour is not None else None

    def build_context_menu(self, conversation_id: int) -> QMenu | None:
        """The right-click menu for one conversation (None when it is not listed)."""
        summary = self.model.summary_for(conversation_id)
        if summary is None:
            return None
        menu = QMenu(self)
        menu.setAccessibleName("Conversation actions")
        rename = QAction("Rename", menu)
        rename.setShortcut("F2")
        rename.triggered.connect(lambda: self.rename(conversation_id))
        pinned = summary.conversation.pinned
        pin = QAction("Unpin" if pinned else "Pin to top", menu)
        pin.triggered.connect(lambda: self.sig_pin_requested.emit(conversation_id, not pinned))
        export_md = QAction("Export as Markdown…", menu)
        export_md.triggered.connect(
            lambda: self.sig_export_requested.emit(conversation_id, "markdown"))
        export_json = QAction("Export as JSON…", menu)
        export_json.triggered.connect(
            lambda: self.sig_export_requested.emit(conversation_id, "json"))
        delete = QAction("Delete…", menu)
        delete.setShortcut("Del")
        delete.triggered.connect(lambda: self.delete(conversation_id))
        menu.addActions([rename, pin])
        menu.addSeparator()
        menu.addActions([export_md, export_json])
        menu.addSeparator()
        menu.addAction(delete)
        return menu

    # -- internals ---------------------------------------------------------------------------

    def _select_row_of(self, conversation_id: int) -> bool:
        row = self.model.row_for_conversation(conversation_id)
        if row is None:
            return False
        self._wanted_id = None
        index = self.list_view.index_for_row(row)
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        self._selected_id = conversation_id
        return True

    def _update_page(self) -> None:
        if self.is_searching():
            self.pages.setCurrentIndex(self.PAGE_RESULTS)
        elif self.model.rowCount() == 0:
            self.pages.setCurrentIndex(self.PAGE_EMPTY)
        else:
            self.pages.setCurrentIndex(self.PAGE_LIST)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ConversationIdRole) if current.isValid() else None
        if self._programmatic:
            return
        self._wanted_id = None  # the user chose: an older wish no longer applies
        if conversation_id is not None and conversation_id != self._selected_id:
            self._selected_id = conversation_id
            self.sig_conversation_selected.emit(conversation_id)

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        conversation_id = index.data(ConversationIdRole)
        if conversation_id is not None:
            self._selected_id = conversation_id
            self.sig_conversation_selected.emit(conversation_id)

    @Slot(QModelIndex)
    def _on_result_activated(self, index: QModelIndex) -> None:
        conversation_id = index.data(HitConversationRole)
        if conversation_id is None:
            return
        with _Programmatic(self):
            self._select_row_of(conversation_id)
        self._selected_id = conversation_id
        self.sig_conversation_selected.emit(conversation_id)
        # Opened first (above), then shown at the match: not at the end of the conversation.
        self.sig_search_hit_opened.emit(conversation_id, index.data(HitMessageRole),
                                        self.search_field.text().strip())

    @Slot(QPoint)
    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.list_view.indexAt(pos)
        if not index.isValid():
            return
        menu = self.build_context_menu(index.data(ConversationIdRole))
        if menu is not None:
            menu.exec(self.list_view.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def _keyboard_context_menu(self, event: QContextMenuEvent) -> bool:
        """The Menu key or Shift+F10: the current row's menu, shown on that row. Qt gives the
        middle of the view as the point, so the menu acted on whichever conversation was
        there (Delete… offered to delete another one), or on none. True = handled here."""
        if event.reason() != QContextMenuEvent.Reason.Keyboard:
            return False  # the mouse: its own point (customContextMenuRequested)
        current = self.list_view.currentIndex()
        if not current.isValid():
            return True
        self.list_view.scrollTo(current)
        row = self.list_view.visualRect(current).intersected(
            self.list_view.viewport().rect())
        if not row.isEmpty():
            self._on_context_menu(row.center())
        return True

    @Slot(str)
    def _on_search_text_changed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()  # restarts: one request once typing pauses
            if self.pages.currentIndex() != self.PAGE_RESULTS:
                self.results_model.clear()
                self.results_status.setText("Searching…")
        else:
            self._search_timer.stop()
            self._searching_for = ""
        self._update_page()

    @Slot()
    def _emit_search(self) -> None:
        query = self.search_field.text().strip()
        if query and query != self._searching_for:
            self._searching_for = query
            self.sig_search_requested.emit(query)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc/Down/Enter in the search field; Esc/Up back to it from the results;
        F2/Delete/Enter in the list."""
        if (event.type() == QEvent.Type.ContextMenu
                and watched is self._list_viewport):
            return self._keyboard_context_menu(event)  # type: ignore[arg-type]
        if event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(watched, event)
        key_event: QKeyEvent = event  # type: ignore[assignment]
        key = key_event.key()
        if watched is self.search_field:
            if key == Qt.Key.Key_Escape:
                if self.search_field.text():
                    self.clear_search()
                else:
                    self.list_view.setFocus()
                return True
            if key == Qt.Key.Key_Down and self.is_searching() and self.results_model.rowCount():
                self.results_view.setFocus()
                self.results_view.setCurrentIndex(self.results_model.index(0, 0))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.results_model.rowCount():
                self._on_result_activated(self.results_model.index(0, 0))
                return True
        elif watched is self.results_view:
            # Back up to the query (kept; Esc there clears it), as Down came down from it.
            at_top = self.results_view.currentIndex().row() <= 0
            if key == Qt.Key.Key_Escape or (key == Qt.Key.Key_Up and at_top):
                self.search_field.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        elif watched is self.list_view:
            if is_typed_text(key_event):
                # Typing while the list has the focus is a question being started.
                self.sig_text_typed.emit(key_event.text())
                return True
            current = self.list_view.currentIndex()
            conversation_id = current.data(ConversationIdRole) if current.isValid() else None
            if conversation_id is not None:
                if key == Qt.Key.Key_F2:
                    self.rename(conversation_id)
                    return True
                if key == Qt.Key.Key_Delete:
                    self.delete(conversation_id)
                    return True
        return super().eventFilter(watched, event)


def rename_editor_height(font: QFont) -> int:
    """The in-place title editor's height: the title line and its frame, no more."""
    return QFontMetrics(font).height() + 6


class _RenameEditor(QLineEdit):
    """The in-place title editor: Enter or leaving it keeps the text, Esc cancels."""

    #: Editing ended (True = keep the typed title).
    sig_done = Signal(bool)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation title")
        self.setAccessibleDescription("Enter keeps the new title, Escape keeps the old one")
        # No vertical padding: the text fits the title line's height (rename_editor_height).
        self.setStyleSheet("QLineEdit { padding: 0px 4px; }")
        self.setMaxLength(300)
        self.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter commits, Esc cancels; everything else edits."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.sig_done.emit(True)
            return
        if event.key() == Qt.Key.Key_Escape:
            self.sig_done.emit(False)
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Clicking elsewhere keeps the typed title, as in a file manager."""
        super().focusOutEvent(event)
        if self.isVisible():
            self.sig_done.emit(True)


class _Programmatic:
    """Context manager: selection changes inside it are not reported as user choices."""

    def __init__(self, sidebar: ConversationSidebar) -> None:
        self._sidebar = sidebar

    def __enter__(self) -> None:
        self._sidebar._programmatic += 1

    def __exit__(self, *exc: Any) -> None:
        self._sidebar._programmatic -= 1
