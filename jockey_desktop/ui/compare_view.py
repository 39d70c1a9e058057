"""The comparison view: one question, 2–4 knowledge stores, answers side by side as they stream.

Pure UI (built on first use by ``compare_wiring``): a row of store chips to choose from, one
column per chosen store — its name, a line of state and a transcript (the same ``ChatView``
as the chat, so answers, citations and the player work alike) — and a question box under them
(the chat's ``Composer``). It shows what it is given and says what was asked through
``sig_*`` signals; which conversations exist is the controller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.storage.models import Message, MessageStatus
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.compare import (
    MAX_STORES,
    MIN_STORES,
    CompareColumn,
    choice_hint,
    names_text,
)
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.composer import Composer
from jockey_desktop.ui.elided_label import ElidedLabel
from jockey_desktop.ui.theme import plain_menu_text, plain_tooltip, repolish, set_plain_text

TITLE = "Compare knowledge stores"
INTRO = ("Ask one question of several knowledge stores and read their answers side by side. "
         "Each store's answers are kept as a conversation of their own in the list.")


class CompareColumnView(QFrame):
    """One store's column: its name, a state line, "Open as conversation", a transcript."""

    #: "Open as conversation" was clicked (the conversation id).
    sig_open_conversation = Signal(int)

    def __init__(self, parent: QWidget | None = None, *,
                 open_url: Callable[[QUrl], Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareColumn")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.column: CompareColumn | None = None
        self.name_label = ElidedLabel("", self)  # a long name was cut off mid-letter
        self.name_label.setAccessibleDescription("Knowledge store")
        font = QFont(self.name_label.font())
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state_label = QLabel(self)
        self.state_label.setAccessibleDescription("Answer state")
        self.state_label.setWordWrap(True)
        self.state_label.setProperty("role", "muted")
        self.open_button = QPushButton("Open as conversation", self)
        self.open_button.setProperty("link", True)
        self.open_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.open_button.setToolTip("Show this store's answers in the chat, to go on with "
                                    "this store alone")
        self.open_button.clicked.connect(self._on_open)
        self.chat_view = ChatView(self, open_url=open_url)
        self.chat_view.setAccessibleName("Answers from this store")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.state_label)
        layout.addWidget(self.chat_view, 1)

    def show_column(self, column: CompareColumn, busy: bool) -> None:
        """Show this column's store and state."""
        changed = self.column is None or self.column.conversation_id != column.conversation_id
        self.column = column
        set_plain_text(self.name_label, column.store_name)
        self.name_label.setToolTip(plain_tooltip(f"Knowledge store: {column.store_name}"))
        self.setAccessibleName(f"Answers from {column.store_name}")
        self.open_button.setVisible(column.conversation_id is not None)
        if changed and column.conversation_id is None:
            self.chat_view.set_messages([])
        self.update_state(busy)

    def update_state(self, busy: bool) -> None:
        """The state line: the problem, "Answering…", or nothing to say."""
        column = self.column
        if column is None:
            return
        messages = self.chat_view.message_model.messages()
        streaming = any(m.status in (MessageStatus.STREAMING, MessageStatus.PENDING)
                        for m in messages)
        if column.problem:
            text, role = column.problem, "error"
        elif streaming or (busy and column.conversation_id is None):
            text, role = "Answering…", "muted"
        elif not messages:
            text, role = f"The answer from “{column.store_name}” will appear here.", "muted"
        else:
            text, role = "", "muted"
        set_plain_text(self.state_label, text)
        self.state_label.setVisible(bool(text))
        if self.state_label.property("role") != role:
            self.state_label.setProperty("role", role)
            repolish(self.state_label)

    def apply_messages(self, rows: Sequence[Message]) -> None:
        """Stored rows of this column's conversation changed: show them."""
        model = self.chat_view.message_model
        for message in rows:
            if not model.replace(message):
                model.append(message)

    @Slot()
    def _on_open(self) -> None:
        if self.column is not None and self.column.conversation_id is not None:
            self.sig_open_conversation.emit(self.column.conversation_id)


class CompareView(QWidget):
    """Store chips, columns side by side, one question box for all of them."""

    #: Ask (the chosen stores as (id, name) pairs, the question).
    sig_ask = Signal(object, str)
    sig_stop = Signal()
    sig_new_comparison = Signal()
    #: "Back to the conversation" was clicked.
    sig_close = Signal()
    #: A column's "Open as conversation" (the conversation id).
    sig_open_conversation = Signal(int)
    #: A citation was clicked in a column (store id, answer, citation).
    sig_moment_requested = Signal(str, object, object)

    def __init__(self, parent: QWidget | None = None, *,
                 open_url: Callable[[QUrl], Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareView")
        self.setAccessibleName(TITLE)
        self._open_url = open_url
        self._stores: list[StoreSummary] = []
        self._chosen: list[str] = []
        self._columns: list[CompareColumn] = []
        self._started = False
        self._busy = False

        self.title_label = QLabel(TITLE, self)
        self.title_label.setProperty("role", "heading")
        self.intro_label = QLabel(INTRO, self)
        self.intro_label.setTextFormat(Qt.TextFormat.PlainText)
        self.intro_label.setWordWrap(True)
        self.intro_label.setProperty("role", "muted")
        self.new_button = QPushButton("New comparison", self)
        self.new_button.setToolTip("Choose stores again and ask a new question (the answers "
                                   "so far stay in the conversation list)")
        self.new_button.clicked.connect(self.sig_new_comparison)
        self.close_button = QPushButton("Back to the conversation", self)
        self.close_button.clicked.connect(self.sig_close)
        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.close_button)

        self.chips_row = QHBoxLayout()
        self.chips_row.setSpacing(6)
        self.chips: dict[str, QPushButton] = {}
        self.hint_label = QLabel(self)
        self.hint_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hint_label.setProperty("role", "muted")
        self.hint_label.setWordWrap(True)
        # Store names can be long: the hint wraps instead of widening the window.
        self.hint_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        chips_line = QHBoxLayout()
        chips_line.addLayout(self.chips_row)
        chips_line.addWidget(self.hint_label, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setAccessibleName("Answers side by side")
        self.column_views: list[CompareColumnView] = []

        self.composer = Composer(self)
        self.composer.sig_send_requested.connect(self._on_send)
        self.composer.sig_stop_requested.connect(self.sig_stop)
        # Esc stops from anywhere in the view (the composer handles it when it has focus).
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self._stop_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._stop_shortcut.activated.connect(self._on_escape)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.intro_label)
        layout.addLayout(chips_line)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.composer)
        self._refresh()

    # -- what to show -------------------------------------------------------------------------
    def set_stores(self, stores: Sequence[StoreSummary], preferred: str | None = None) -> None:
        """The stores that can be chosen; ``preferred`` (the picker's) is chosen first."""
        self._stores = list(stores)
        known = {s.id for s in self._stores}
        self._chosen = [i for i in self._chosen if i in known]
        if not self._chosen and not self._started:
            ready = [s.id for s in self._stores if s.ready > 0]
            first = [preferred] if preferred in ready else []
            self._chosen = (first + [i for i in ready if i not in first])[:MIN_STORES]
        self._rebuild_chips()
        self._refresh()

    def set_columns(self, columns: Sequence[CompareColumn]) -> None:
        """The comparison's columns (empty: a new comparison, choose stores again)."""
        self._columns = list(columns)
        self._started = bool(self._columns)
        if not self._started:
            for view in self.column_views:
                view.chat_view.set_messages([])
        self._refresh()

    def apply_messages(self, index: int, rows: Sequence[Message]) -> None:
        """Stored rows of column ``index`` changed."""
        if 0 <= index < len(self.column_views):
            view = self.column_views[index]
            view.apply_messages(rows)
            view.update_state(self._busy)

    def set_stream_text(self, index: int, message_id: int, text: str) -> None:
        """Partial text of column ``index``'s answer."""
        if 0 <= index < len(self.column_views):
            self.column_views[index].chat_view.message_model.set_stream_text(message_id, text)

    def set_busy(self, busy: bool) -> None:
        """Answers are arriving: Send becomes Stop."""
        self._busy = busy
        self.composer.set_busy(busy)
        for view in self.column_views:
            view.update_state(busy)

    def show_refusal(self, reason: str) -> None:
        """The question was not asked: its text goes back, with the reason."""
        self.composer.restore_unsent()
        self.composer.show_reason(reason)

    def chosen_store_ids(self) -> list[str]:
        """The stores chosen for the next comparison."""
        return list(self._chosen)

    def focus_composer(self) -> None:
        """Put the keyboard focus in the question box."""
        self.composer.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- internals ----------------------------------------------------------------------------
    def _rebuild_chips(self) -> None:
        for chip in self.chips.values():
            self.chips_row.removeWidget(chip)
            chip.deleteLater()
        self.chips = {}
        for store in self._stores:
            chip = QPushButton(plain_menu_text(store.name), self)
            chip.setCheckable(True)
            chip.setObjectName("compareChip")
            chip.setAccessibleName(f"Compare {store.name}")
            tip = store.warning or f"{store.ready} ready videos"
            chip.setToolTip(plain_tooltip(tip))
            chip.toggled.connect(partial(self._on_chip_toggled, store.id))
            self.chips_row.addWidget(chip)
            self.chips[store.id] = chip

    def _store_name(self, store_id: str) -> str:
        store = next((s for s in self._stores if s.id == store_id), None)
        return store.name if store is not None else store_id

    @Slot()
    def _refresh(self) -> None:
        """Chips, columns and the question box for the current state."""
        started = self._started
        for store in self._stores:
            chip = self.chips.get(store.id)
            if chip is None:
                continue
            chosen = store.id in self._chosen
            chip.blockSignals(True)
            chip.setChecked(chosen)
            chip.blockSignals(False)
            full = len(self._chosen) >= MAX_STORES
            chip.setEnabled(chosen or (store.ready > 0 and not full))
            # Once asked, the stores are fixed until "New comparison": the hint names them.
            chip.setVisible(not started)
        self.new_button.setVisible(started)
        if started:
            names = [c.store_name for c in self._columns]
            self.hint_label.setText(f"Comparing {names_text(names)}. Follow-up questions "
                                    "go to every store.")
            columns = self._columns
        else:
            self.hint_label.setText(choice_hint(len(self._chosen)) if self._stores
                                    else "Loading the knowledge stores…")
            columns = [CompareColumn(i, self._store_name(i)) for i in self._chosen]
        self._show_columns(columns)
        names = [c.store_name for c in columns]
        self.composer.set_store_name(names_text(names) if names else "")
        self.composer.setEnabled(started or len(self._chosen) >= MIN_STORES)

    def _show_columns(self, columns: Sequence[CompareColumn]) -> None:
        while len(self.column_views) < len(columns):
            view = CompareColumnView(self.splitter, open_url=self._open_url)
            view.sig_open_conversation.connect(self.sig_open_conversation)
            view.chat_view.sig_citation_activated.connect(partial(self._on_citation, view))
            self.splitter.addWidget(view)
            self.column_views.append(view)
        for index, view in enumerate(self.column_views):
            if index < len(columns):
                view.show_column(columns[index], self._busy)
                view.show()
            else:
                view.hide()
        if columns:
            width = max(1, self.splitter.width() // len(columns))
            self.splitter.setSizes([width] * len(columns)
                                   + [0] * (len(self.column_views) - len(columns)))

    @Slot(str, bool)
    def _on_chip_toggled(self, store_id: str, checked: bool) -> None:
        if checked and store_id not in self._chosen and len(self._chosen) < MAX_STORES:
            self._chosen.append(store_id)
        elif not checked and store_id in self._chosen:
            self._chosen.remove(store_id)
        self._refresh()

    @Slot(str)
    def _on_send(self, text: str) -> None:
        stores = [(i, self._store_name(i)) for i in self._chosen]
        self.sig_ask.emit(stores, text)

    @Slot()
    def _on_escape(self) -> None:
        if self._busy:
            self.sig_stop.emit()

    def _on_citation(self, view: CompareColumnView, message: Message,
                     citation: Mapping[str, Any]) -> None:
        column = view.column
        if column is not None and column.conversation_id == message.conversation_id:
            self.sig_moment_requested.emit(column.store_id, message, citation)
