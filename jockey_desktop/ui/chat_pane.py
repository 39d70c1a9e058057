"""The chat pane: header (title, store, session state, what the session asks about),
transcript, notice banner, composer.

The pane holds no business logic: it shows what it is given, keeps to the conversation it
shows (updates for any other conversation are ignored here, by id), and turns user actions
into signals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.changes import Changes
from jockey_desktop.core.storage.models import (
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
)
from jockey_desktop.presentation.find import FindMatch, find_matches, match_label
from jockey_desktop.presentation.selections import selections_in_force, selections_summary
from jockey_desktop.presentation.session import SESSION_HINTS, session_state
from jockey_desktop.presentation.starters import starter_questions
from jockey_desktop.presentation.transcript import (
    PICK_A_STORE_TO_ASK,
    STORE_GONE_INTRO,
    OlderLoader,
    OpenedConversation,
)
from jockey_desktop.ui.composer import Composer
from jockey_desktop.ui.elided_label import ElidedLabel
from jockey_desktop.ui.notice_banner import NoticeBanner
from jockey_desktop.ui.theme import plain_menu_text, plain_tooltip

if TYPE_CHECKING:
    from jockey_desktop.ui.chat_view import ChatView
    from jockey_desktop.ui.find_bar import FindBar
    from jockey_desktop.ui.starter_questions import StarterQuestions

EMPTY_TEXT = (
    "Ask a question below to start a new conversation on the picked knowledge store,\n"
    "or choose a conversation on the left (Ctrl+N starts a new one)."
)
EMPTY_PLACEHOLDER = "Ask a question to start a new conversation…"
#: The header's link of a fork ("Continue in a new conversation", "Edit and ask").
ORIGIN_LINK_TEXT = "↩ Continued from an earlier conversation"
#: How much of the origin's title the link shows.
ORIGIN_TITLE_CHARS = 60


class ChatPane(QWidget):
    """Header + transcript + notice + composer for one conversation at a time."""

    sig_send_requested = Signal(str)
    sig_stop_requested = Signal()
    sig_retry_requested = Signal(int)
    #: The composer's text changed (debounced): the id of the conversation it was typed in
    #: (None when none is shown) and the text. Carrying the id means a switch can never
    #: save one conversation's draft into another.
    sig_draft_changed = Signal(object, str)
    #: The header's title changed (the window puts it in its title bar).
    sig_title_changed = Signal(str)
    #: "Copy conversation" was chosen in the transcript's menu (the conversation is exported
    #: off the GUI thread and copied once, by whoever owns the clipboard).
    sig_copy_conversation_requested = Signal()
    #: A citation was clicked: play it (the conversation's store id, the answer, the
    #: citation dict). The player shows the answer's other moments around it.
    sig_moment_requested = Signal(str, object, object)
    #: "Export moments…" was chosen on an answer (the store id, the answer).
    sig_export_moments_requested = Signal(str, object)
    #: An empty conversation shows starter questions: draw some from this store's videos.
    sig_starters_wanted = Signal(str)
    #: An action named in a sentence was clicked (its ``action:`` address, e.g. Settings).
    sig_text_action = Signal(str)
    #: Ask the next question about this (kind, id, name): an ``@`` pick or a citation
    #: chip's "Ask about this video".
    sig_selection_added = Signal(str, str, str)
    #: The composer's chip at this index should go.
    sig_selection_removed = Signal(int)
    #: ``@`` was typed: the store's videos and collections are wanted (the store id).
    sig_mentions_wanted = Signal(str)
    #: "Also search the web" was turned on or off for the conversation on screen.
    sig_web_search_toggled = Signal(bool)
    #: "Show agent steps" was turned on or off (the setting).
    sig_show_steps_changed = Signal(bool)
    #: (answer id) "Ask again"; (answer id) "Continue in a new conversation from here";
    #: (question id) "Edit and ask"; the header's link back to a fork's origin was clicked.
    sig_ask_again_requested = Signal(int)
    sig_fork_requested = Signal(int)
    sig_edit_requested = Signal(int)
    sig_origin_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        open_url: Callable[[QUrl], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chat")
        self._conversation: Conversation | None = None
        self._busy = False
        self._open_url = open_url
        #: The store the picker shows (id, name): what an empty page offers questions about.
        self._picked: tuple[str, str] | None = None
        #: Questions drawn from each store's videos, as they arrived.
        self._store_questions: dict[str, list[str]] = {}
        self._starters: StarterQuestions | None = None
        self._starters_store: str | None = None
        self._starters_name = ""
        #: Stores shown by the picker with videos but none ready (their starters are greyed).
        self._not_ready_stores: set[str] = set()
        # Stores the server no longer has (their starter questions greyed out), and the
        # sentence under the question box that says so (cleared when it stops being true).
        self._gone_stores: set[str] = set()
        self._gone_reason = ""
        self._find_bar: FindBar | None = None
        self._find_matches: list[FindMatch] = []
        self._find_position: int | None = None
        self._find_stale = False

        # Header
        self.title_label = ElidedLabel()
        self.title_label.setAccessibleDescription("Conversation title")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        title_font = QFont(self.title_label.font())
        title_font.setBold(True)
        if title_font.pointSizeF() > 0:
            title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self.title_label.setFont(title_font)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Elided, not holding the pane wide: a long store name (or a big font) made the window
        # wider than the screen.
        self.store_label = ElidedLabel()
        self.store_label.setAccessibleDescription("Knowledge store")
        self.store_label.setTextFormat(Qt.TextFormat.PlainText)
        self.session_label = ElidedLabel()
        self.session_label.setAccessibleDescription("Session state")
        self.session_label.setTextFormat(Qt.TextFormat.PlainText)
        # What the session's questions asked about: selections add up on the server.
        self.selections_label = ElidedLabel()
        self.selections_label.setAccessibleDescription("Asking about")
        self.selections_label.setTextFormat(Qt.TextFormat.PlainText)
        self.selections_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                            QSizePolicy.Policy.Preferred)
        self._selections_dot = QLabel("·")
        sub = QHBoxLayout()
        sub.setContentsMargins(0, 0, 0, 0)
        sub.setSpacing(6)
        sub.addWidget(self.store_label)
        self._dot = QLabel("·")
        sub.addWidget(self._dot)
        sub.addWidget(self.session_label)
        sub.addWidget(self._selections_dot)
        sub.addWidget(self.selections_label, 1)
        # Keeps the line packed to the left while the selections label is hidden (the labels
        # would otherwise share the header's width between them).
        sub.addStretch()
        self.header = QFrame()
        self.header.setObjectName("chatHeader")
        self.header.setAccessibleName("Conversation header")
        header_layout = QVBoxLayout(self.header)
        header_layout.setContentsMargins(18, 10, 18, 8)
        header_layout.setSpacing(2)
        header_layout.addWidget(self.title_label)
        header_layout.addLayout(sub)
        self.origin_link = self._build_origin_link()
        header_layout.addWidget(self.origin_link, 0, Qt.AlignmentFlag.AlignLeft)
        # A flat 1 px rule in the palette's Mid colour; a sunken HLine glares in dark mode.
        line = QFrame()
        line.setFixedHeight(1)
        line.setAutoFillBackground(True)
        line.setBackgroundRole(QPalette.ColorRole.Mid)

        # Transcript / empty state. The transcript (and the modules that draw messages) is
        # built when a conversation is first shown (``chat_view``): a start with none on
        # screen paints without it.
        self._clock = clock
        self._chat_view: ChatView | None = None
        self._show_steps: bool | None = None
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAccessibleDescription("No conversation selected")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)

        self.notice = NoticeBanner(self)
        self.composer = Composer(self)

        layout = QVBoxLayout(self)
        self._layout = layout
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(line)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.composer)
        self._apply_muted_style()

        self.composer.sig_send_requested.connect(self.sig_send_requested)
        self.composer.sig_stop_requested.connect(self.sig_stop_requested)
        self.composer.sig_draft_changed.connect(self._on_draft_changed)
        self.composer.sig_mention_picked.connect(self.sig_selection_added)
        self.composer.sig_selection_removed.connect(self.sig_selection_removed)
        self.composer.sig_mentions_wanted.connect(self._on_mentions_wanted)
        self.composer.sig_web_search_toggled.connect(self.sig_web_search_toggled)
        #: The store ``@`` completes from when no conversation is shown (the picked one).
        self._default_store_id: str | None = None
        #: The store whose candidates the composer holds.
        self._mention_store: str | None = None
        self.clear()

    @property
    def chat_view(self) -> ChatView:
        """The transcript, built (and its modules imported) at its first use."""
        if self._chat_view is None:
            self._chat_view = self._build_chat_view()
        return self._chat_view

    def _build_chat_view(self) -> ChatView:
        from jockey_desktop.ui.chat_view import ChatView

        view = ChatView(self, clock=self._clock, open_url=self._open_url)
        self.stack.addWidget(view)
        # Its place in the Tab order when it was built with the pane: after the header's
        # last focusable widget (only unfocusable ones stood between); a widget added later
        # would otherwise come after the menu bar.
        QWidget.setTabOrder(self.origin_link, view)
        if self._show_steps is not None:
            view.set_show_steps(self._show_steps)
        view.sig_retry_requested.connect(self.sig_retry_requested)
        view.sig_citation_activated.connect(self._open_moment)
        view.sig_export_moments_requested.connect(self._export_moments)
        view.sig_copy_conversation_requested.connect(self.sig_copy_conversation_requested)
        view.sig_text_typed.connect(self.type_into_composer)
        view.sig_action_requested.connect(self.sig_text_action)
        view.sig_ask_about_requested.connect(self.sig_selection_added)
        view.sig_show_steps_changed.connect(self.sig_show_steps_changed)
        view.sig_ask_again_requested.connect(self.sig_ask_again_requested)
        view.sig_fork_requested.connect(self.sig_fork_requested)
        view.sig_edit_requested.connect(self.sig_edit_requested)
        # Esc stops from the transcript too (the composer handles it when it has focus).
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), view)
        self._stop_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._stop_shortcut.activated.connect(self._on_escape)
        return view

    # -- showing --------------------------------------------------------------------------------
    @Slot(object)
    def show_opened(self, opened: OpenedConversation) -> None:
        """Show a conversation as opened by the workspace: transcript, draft, stream state."""
        self.show_conversation(opened.conversation, opened.page, load_older=opened.load_older)
        self.set_busy(opened.busy)
        for message_id, text in opened.live_texts:
            self.set_stream_text(message_id, text)
        for message_id, steps in opened.live_steps:
            self.chat_view.message_model.set_stream_steps(message_id, steps)

    def show_conversation(
        self,
        conversation: Conversation,
        messages: list[Message],
        *,
        load_older: OlderLoader | None = None,
    ) -> None:
        """Show a conversation: header, transcript (scrolled to the end) and its draft.

        ``messages`` may be the whole transcript (only its newest page becomes rows at first)
        or just the newest page, with ``load_older(before_id, limit)`` returning older messages
        oldest first (e.g. ``Repository.list_messages_page``) as the user scrolls up.
        """
        # Typed with no conversation on screen, then "New conversation": the text belongs to
        # the new, empty one (it vanished when that opened).
        carried = (self.composer.text() if self._conversation is None and not messages
                   and not conversation.draft else "")
        # A draft typed for the previous conversation must be delivered while it is still the
        # current one, or it would be saved into the new one.
        self.composer.flush_draft()
        self._conversation = conversation
        self.notice.show_text("")
        self.composer.show_reason("")
        self.chat_view.set_messages(messages, older_loader=load_older)
        self.composer.set_text(conversation.draft or carried)
        if carried:
            self.sig_draft_changed.emit(None, "")  # no longer typed without a conversation
            self.sig_draft_changed.emit(conversation.id, carried)
        self.composer.set_web_search(conversation.web_search)
        self._update_header(conversation, messages)
        self._update_page()
        self._refind()
        self._sync_mention_store()

    @Slot()
    def clear(self) -> None:
        """Show the empty state (no conversation selected)."""
        self._clear(keep_typed=False)

    @Slot()
    def clear_keeping_typed(self) -> None:
        """Show the empty state but keep what is typed (and a question on its way, which a
        refusal can still put back): the conversation vanished with a damaged database, and
        nothing else holds that text."""
        self._clear(keep_typed=True)

    def _clear(self, *, keep_typed: bool) -> None:
        self.composer.flush_draft()
        self._conversation = None
        if self._chat_view is not None:
            self._chat_view.set_messages([])
        self._update_page()
        self._refind()
        self.title_label.setText("No conversation")
        self.store_label.setText("")
        self.session_label.setText("")
        self._dot.hide()
        self.origin_link.hide()
        self._show_in_force([])
        self.notice.show_text("")
        if not keep_typed:
            self.composer.set_text("")
        # Typing here is never a dead end: the window starts a conversation on Send.
        self.composer.setEnabled(True)
        self.composer.edit.setPlaceholderText(EMPTY_PLACEHOLDER)
        self.set_busy(False)
        self._sync_mention_store()
        self.sig_title_changed.emit("")

    def current_conversation_id(self) -> int | None:
        """Id of the conversation shown, or None."""
        return self._conversation.id if self._conversation is not None else None

    def current_store_id(self) -> str | None:
        """The knowledge store of the conversation shown, or None."""
        return self._conversation.store_id if self._conversation is not None else None

    def append_message(self, message: Message) -> None:
        """Add a new row (a question, an answer starting, a seam)."""
        if not self._accepts(message):
            return
        self.chat_view.message_model.append(message)
        self._find_stale = True
        self._update_page()

    def replace_message(self, message: Message) -> None:
        """Update a row (status, final text, citations, error); unknown ids are appended."""
        if not self._accepts(message):
            return
        if not self.chat_view.message_model.replace(message) and not (
            self.chat_view.replace_older(message)
        ):
            self.chat_view.message_model.append(message)
            self._update_page()
        self._find_stale = True
        if self._conversation is not None:
            self._update_header(self._conversation, self.chat_view.loaded_messages())

    def set_stream_text(self, message_id: int, text: str) -> None:
        """Show the partial answer so far (repaints only that row)."""
        self.chat_view.message_model.set_stream_text(message_id, text)

    def set_busy(self, busy: bool) -> None:
        """An answer is streaming in this conversation: Send becomes Stop."""
        self._busy = bool(busy)
        self.composer.set_busy(busy)

    def update_header(self, conversation: Conversation) -> None:
        """Refresh title, store and session state (title renamed, session assigned…)."""
        if self._conversation is None or conversation.id != self._conversation.id:
            return
        self._conversation = conversation
        self._update_header(conversation, self.chat_view.loaded_messages())

    # -- updates for any conversation: each kept only when it is the one shown ---------------
    @Slot(object)
    def apply_changes(self, changes: Changes) -> None:
        """Stored rows changed (the change feed): show this conversation's."""
        shown = self.current_conversation_id()
        if shown is None:
            return
        if shown in changes.removed:
            self.clear()
            return
        for message in changes.messages_of(shown):
            self.replace_message(message)

    @Slot(object)
    def on_summary_updated(self, summary: ConversationSummary) -> None:
        """A conversation's row was re-read: refresh the header if it is the one shown."""
        self.update_header(summary.conversation)

    @Slot(int, int, str)
    def on_stream_text(self, conversation_id: int, message_id: int, text: str) -> None:
        """Partial text of an answer streaming in some conversation."""
        if conversation_id == self.current_conversation_id():
            self.set_stream_text(message_id, text)

    @Slot(int, int, object)
    def on_stream_steps(self, conversation_id: int, message_id: int, steps: object) -> None:
        """The agent's steps so far of an answer streaming in some conversation."""
        if conversation_id == self.current_conversation_id() and isinstance(steps, list):
            self.chat_view.message_model.set_stream_steps(message_id, steps)

    # -- what the question asks about ----------------------------------------------------------
    @Slot(object)
    def set_selections(self, selections: object) -> None:
        """Show the composer's chips (what the next question asks about)."""
        self.composer.set_selections(selections if isinstance(selections, list) else [])

    @Slot(bool)
    def set_web_search(self, on: bool) -> None:
        """Show "Also search the web" as the workspace has it (no signal back)."""
        self.composer.set_web_search(on)

    @Slot(object)
    def set_default_store(self, store: object) -> None:
        """The store the picker shows: ``@`` completes from it while no conversation is."""
        store_id = getattr(store, "id", None)
        self._default_store_id = store_id if isinstance(store_id, str) else None
        self._sync_mention_store()

    @Slot(str, object)
    def set_mention_candidates(self, store_id: str, candidates: object) -> None:
        """The videos and collections ``@`` offers for ``store_id`` (kept when it is the
        store questions go to now)."""
        if store_id == self._mention_store_id() and isinstance(candidates, list):
            self._mention_store = store_id
            self.composer.set_mention_candidates(candidates)

    @Slot(str, str)
    def show_mentions_failed(self, store_id: str, sentence: str) -> None:
        """Listing the videos ``@`` offers failed: say so under the field."""
        if store_id == self._mention_store_id():
            self.composer.show_reason(sentence)

    @Slot(bool)
    def set_show_steps(self, show: bool) -> None:
        """Show the answers' Steps lists or not (the setting)."""
        self._show_steps = bool(show)
        if self._chat_view is not None:
            self._chat_view.set_show_steps(show)

    def _mention_store_id(self) -> str | None:
        return self.current_store_id() or self._default_store_id

    def _sync_mention_store(self) -> None:
        # Candidates of another store must never be offered: forget them on a switch.
        if self._mention_store != self._mention_store_id():
            self._mention_store = None
            self.composer.set_mention_candidates(None)

    @Slot()
    def _on_mentions_wanted(self) -> None:
        store_id = self._mention_store_id()
        if store_id:
            self.sig_mentions_wanted.emit(store_id)

    def _show_in_force(self, in_force: list[dict[str, Any]]) -> None:
        summary = selections_summary(in_force)
        self.selections_label.setText(f"Asking about {summary}" if summary else "")
        self.selections_label.setToolTip(plain_tooltip(
            "Selections add up in this session: Jockey keeps every video and collection "
            "asked about so far in mind.\n" + "\n".join(
                str(s.get("name") or s.get("id") or "") for s in in_force)) if in_force else "")
        self.selections_label.setVisible(bool(in_force))
        self._selections_dot.setVisible(bool(in_force))

    @Slot(int, bool)
    def on_busy_changed(self, conversation_id: int, busy: bool) -> None:
        """A turn started or ended in some conversation."""
        if conversation_id == self.current_conversation_id():
            self.set_busy(busy)

    @Slot(int, str)
    def on_refused(self, conversation_id: int, reason: str) -> None:
        """A question of some conversation was not sent: its text back, with the reason
        (also when no conversation is shown: the one it was asked in is gone)."""
        shown = self.current_conversation_id()
        if conversation_id == shown or shown is None:
            self.show_refusal(reason)

    def composer_text(self) -> str:
        """The composer's current text."""
        return self.composer.text()

    def set_composer_text(self, text: str) -> None:
        """Replace the composer text without emitting a draft change."""
        self.composer.set_text(text)

    def show_notice(self, text: str) -> None:
        """Show a dismissible notice above the composer ("" hides it)."""
        self.notice.show_text(text)

    @Slot(int, str)
    def show_store_gone(self, conversation_id: int, text: str) -> None:
        """The conversation's knowledge store no longer exists on the server (``text``: why
        and what to do, under the question box, for as long as it is so; "" once it is not).
        Its starter questions are greyed out: each would only fail."""
        conversation = self._conversation
        if conversation is None or conversation.id != conversation_id:
            return
        if text:
            self._gone_stores.add(conversation.store_id)
            self._gone_reason = text
            self.composer.show_reason(text)
        else:
            self._gone_stores.discard(conversation.store_id)
            if self._gone_reason and self.composer.reason() == self._gone_reason:
                self.composer.show_reason("")
            self._gone_reason = ""
        self._show_store(conversation)
        self._update_page()

    @Slot(str)
    def show_reason(self, text: str) -> None:
        """Say why something asked from the transcript was refused (e.g. a Retry), inline;
        whatever is typed stays as it is."""
        self.composer.show_reason(text)

    @Slot(str)
    def show_refusal(self, text: str) -> None:
        """The controller refused a send: put the text back and say why, inline."""
        self.composer.restore_unsent()
        self.composer.show_reason(text)

    # -- typing, links, search results ----------------------------------------------------------
    @Slot(str)
    def type_into_composer(self, text: str) -> None:
        """Text typed where no text goes (the transcript, the conversation list): into the
        question box, which takes the focus so the rest of the question follows."""
        edit = self.composer.edit
        edit.setFocus(Qt.FocusReason.OtherFocusReason)
        edit.insertPlainText(text)

    @Slot(int, object, str)
    def reveal_search_hit(self, conversation_id: int, message_id: object, query: str) -> None:
        """A search result was opened: scroll to its message and highlight the match (the
        conversation was opened just before; a title match leaves the end shown)."""
        if conversation_id != self.current_conversation_id() or not isinstance(message_id, int):
            return
        self.chat_view.reveal_message(message_id, query)

    # -- starter questions ----------------------------------------------------------------------
    @Slot(object)
    def on_store_picked(self, store: object) -> None:
        """The picker shows another store (a ``StoreSummary`` or None): with no conversation
        on screen, that is the store the starter questions are about."""
        store_id = getattr(store, "id", None)
        name = getattr(store, "name", None)
        self._picked = (str(store_id), str(name or store_id)) if store_id else None
        if store_id:
            # Counted, and none ready: every starter question would fail.
            none_ready = getattr(store, "readiness", None) in ("indexing", "none ready") \
                and getattr(store, "ready", 1) == 0
            if none_ready:
                self._not_ready_stores.add(str(store_id))
            else:
                self._not_ready_stores.discard(str(store_id))
        if self._picked is not None and self.composer.reason() == PICK_A_STORE_TO_ASK:
            self.composer.show_reason("")  # a store is picked now: no longer true
        self._update_page()

    @Slot(str, object)
    def set_store_questions(self, store_id: str, questions: object) -> None:
        """Questions drawn from a store's videos arrived."""
        listed = questions if isinstance(questions, list) else []
        self._store_questions[store_id] = [q for q in listed if isinstance(q, str)]
        if self._starters_store == store_id:
            self._show_starters(store_id, self._starters_name)

    @property
    def starters(self) -> StarterQuestions:
        """The starter-questions page, built the first time an empty page shows it."""
        if self._starters is None:
            from jockey_desktop.ui.starter_questions import StarterQuestions

            page = StarterQuestions(self)
            page.sig_question_chosen.connect(self._ask_starter)
            self.stack.addWidget(page)
            self._starters = page
        return self._starters

    def starters_shown(self) -> bool:
        """True while the starter questions are on screen."""
        return self._starters is not None and self.stack.currentWidget() is self._starters

    def _update_page(self) -> None:
        """The transcript when there is one; starter questions for an empty conversation
        (or, with none, for the picked store); else the empty-state sentence."""
        conversation = self._conversation
        if conversation is not None:
            view = self.chat_view
            if view.message_model.rowCount() or view.has_older():
                self._leave_starters(view)
                return
            store = (conversation.store_id, conversation.store_name or conversation.store_id)
        elif self._picked is not None:
            store = self._picked
        else:
            self._leave_starters(self.empty_label)
            return
        self._show_starters(*store)

    def _leave_starters(self, page: QWidget) -> None:
        """Show ``page`` instead of the starter questions. A focus left on them (a starter
        just clicked or pressed) goes to the question box, where the follow-up is typed;
        Qt would hand it to the next page (the transcript)."""
        self._starters_store = None
        starters, focus = self._starters, self.window().focusWidget()
        if starters is not None and focus is not None and starters.isAncestorOf(focus):
            self.composer.edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.stack.setCurrentWidget(page)

    def _show_starters(self, store_id: str, store_name: str) -> None:
        page = self.starters
        self._starters_store = store_id
        self._starters_name = store_name
        page.set_store_name(store_name)
        page.set_questions(starter_questions(self._store_questions.get(store_id, [])))
        if store_id in self._gone_stores:
            page.set_answerable(False, STORE_GONE_INTRO)
        else:
            page.set_answerable(store_id not in self._not_ready_stores)
        self.stack.setCurrentWidget(page)
        if store_id not in self._store_questions:
            self._store_questions[store_id] = []  # asked once; the answer replaces it
            self.sig_starters_wanted.emit(store_id)

    @Slot(str)
    def _ask_starter(self, question: str) -> None:
        # As if typed and sent: the composer checks it and clears itself.
        self.composer.set_text(question)
        self.composer.submit()
        # The clicked button goes with the page: the follow-up is typed in the question box
        # (the focus otherwise fell on whatever came next, the transcript).
        self.composer.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- find in the conversation ---------------------------------------------------------------
    @property
    def find_bar(self) -> FindBar:
        """The find bar over the transcript, built on first use (Ctrl+F)."""
        if self._find_bar is None:
            from jockey_desktop.ui.find_bar import FindBar

            bar = FindBar(self)
            bar.sig_query_changed.connect(self._on_find_query)
            bar.sig_next.connect(self.find_next)
            bar.sig_previous.connect(self.find_previous)
            bar.sig_closed.connect(self._on_find_closed)
            self._layout.insertWidget(2, bar)  # under the header's rule, over the transcript
            self._find_bar = bar
        return self._find_bar

    @Slot()
    def show_find(self) -> None:
        """Ctrl+F: open the find bar (its field focused)."""
        self.find_bar.open_bar()

    def find_count(self) -> tuple[int | None, int]:
        """(position of the current match or None, number of matches)."""
        return self._find_position, len(self._find_matches)

    @Slot()
    def find_next(self) -> None:
        """Go to the next match (after the last, the first)."""
        self._step_find(+1)

    @Slot()
    def find_previous(self) -> None:
        """Go to the previous match (before the first, the last)."""
        self._step_find(-1)

    @Slot(str)
    def _on_find_query(self, query: str) -> None:
        self._run_find(query, keep=None)

    def _run_find(self, query: str, keep: FindMatch | None) -> None:
        """Find ``query`` in the whole conversation; the current match is ``keep`` when it
        still exists, else the newest one (the end of a conversation is what is read)."""
        if not query or self._conversation is None:
            self._find_matches, self._find_position = [], None
            self.chat_view.clear_highlight()
            if self._find_bar is not None:
                self._find_bar.set_count("")
            return
        self.chat_view.load_all_older()
        # What is on screen, in reading order (an answer's other versions are not).
        self._find_matches = find_matches(self.chat_view.shown_messages(), query)
        self._find_stale = False
        if not self._find_matches:
            self._find_position = None
        elif keep is not None and keep in self._find_matches:
            self._find_position = self._find_matches.index(keep)
        else:
            self._find_position = len(self._find_matches) - 1
        self._show_find_position()

    def _step_find(self, step: int) -> None:
        bar = self._find_bar
        if bar is None or not bar.query():
            self.show_find()
            return
        if self._find_stale:
            current = (self._find_matches[self._find_position]
                       if self._find_position is not None else None)
            self._run_find(bar.query(), keep=current)
        if not self._find_matches:
            return
        position = self._find_position if self._find_position is not None else -1
        self._find_position = (position + step) % len(self._find_matches)
        self._show_find_position()

    def _show_find_position(self) -> None:
        position, matches = self._find_position, self._find_matches
        if self._find_bar is not None:
            self._find_bar.set_count(match_label(position, len(matches)))
        if position is None:
            self.chat_view.clear_highlight()
            return
        match = matches[position]
        self.chat_view.reveal_message(match.message_id, self.find_bar.query(),
                                      match.occurrence)

    def _refind(self) -> None:
        """The conversation changed: find its matches if the bar is open."""
        self._find_matches, self._find_position = [], None
        bar = self._find_bar
        if bar is not None and bar.isVisible() and bar.query():
            self._run_find(bar.query(), keep=None)
        elif bar is not None:
            bar.set_count("")

    @Slot()
    def _on_find_closed(self) -> None:
        self._find_matches, self._find_position = [], None
        self.chat_view.clear_highlight()
        self.composer.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- extras -------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        """True while the pane shows Stop."""
        return self._busy

    # -- internals ----------------------------------------------------------------------------
    def _accepts(self, message: Message) -> bool:
        # Never let a late signal put text into the wrong conversation.
        return self._conversation is not None and message.conversation_id == self._conversation.id

    @Slot(str)
    def _on_draft_changed(self, text: str) -> None:
        self.sig_draft_changed.emit(self.current_conversation_id(), text)

    @Slot()
    def flush_draft(self) -> None:
        """Deliver a pending draft of the conversation shown now (before it changes)."""
        self.composer.flush_draft()

    def _update_header(self, conversation: Conversation, messages: list[Message]) -> None:
        self.title_label.setText(conversation.title or "New conversation")
        self.title_label.setToolTip(plain_tooltip(conversation.title))
        self._show_store(conversation)
        self.store_label.setToolTip(plain_tooltip(f"Knowledge store: {conversation.store_id}"))
        state = session_state(conversation, messages)
        self.session_label.setText(state.value)
        self.session_label.setToolTip(plain_tooltip(SESSION_HINTS[state]))
        self._dot.show()
        self._show_in_force(selections_in_force(messages))
        if conversation.origin_conversation_id is None:
            self.origin_link.setText(ORIGIN_LINK_TEXT)
        self.origin_link.setVisible(conversation.origin_conversation_id is not None)
        self.sig_title_changed.emit(conversation.title)

    def _show_store(self, conversation: Conversation) -> None:
        """The conversation's store in the header and the question box's placeholder, and
        in both that it is gone when the server lost it."""
        name = conversation.store_name or conversation.store_id
        gone = conversation.store_id in self._gone_stores
        self.store_label.setText(f"{name} (no longer on the server)" if gone else name)
        self.composer.set_store_name(name, gone=gone)

    # -- forks ----------------------------------------------------------------------------------
    def _build_origin_link(self) -> QPushButton:
        """The header's way back to the conversation a fork came from (hidden otherwise)."""
        link = QPushButton(ORIGIN_LINK_TEXT)
        link.setObjectName("originLink")
        link.setFlat(True)
        link.setCursor(Qt.CursorShape.PointingHandCursor)
        link.setToolTip("Open the conversation this one continues, at the message it "
                        "continued from")
        link.setAccessibleName("Open the original conversation")
        link.setStyleSheet("QPushButton#originLink { border: none; padding: 0; "
                           "color: palette(link); background: transparent; "
                           "text-align: left; text-decoration: underline; }")
        link.clicked.connect(self.sig_origin_requested)
        link.hide()
        return link

    @Slot(int, str)
    def show_origin(self, conversation_id: int, title: str) -> None:
        """Name the conversation the one shown (``conversation_id``) was forked from."""
        if conversation_id != self.current_conversation_id():
            return
        title = " ".join(title.split())
        if len(title) > ORIGIN_TITLE_CHARS:
            title = title[:ORIGIN_TITLE_CHARS - 1].rstrip() + "…"
        text = f"↩ Continued from “{title}”" if title else ORIGIN_LINK_TEXT
        self.origin_link.setText(plain_menu_text(text))

    @Slot(int)
    def reveal_origin_message(self, message_id: int) -> None:
        """Scroll to the message a fork continued from and highlight it."""
        self.chat_view.reveal_message(message_id)

    def _apply_muted_style(self) -> None:
        # Secondary text draws with the palette's placeholder role, so it follows light/dark
        # switches at run time instead of freezing a colour.
        for label in (self.store_label, self.session_label, self._dot, self.empty_label,
                      self.selections_label, self._selections_dot):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

    @Slot()
    def _on_escape(self) -> None:
        if self._busy:
            self.sig_stop_requested.emit()

    @Slot(object, object)
    def _open_moment(self, message: Message, citation: Mapping[str, Any]) -> None:
        # Citations are routed with the store they belong to: the player resolves the
        # video through it when the citation's own address has expired.
        if self._conversation is not None and message.conversation_id == self._conversation.id:
            self.sig_moment_requested.emit(self._conversation.store_id, message, citation)

    @Slot(object)
    def _export_moments(self, message: Message) -> None:
        if self._conversation is not None and message.conversation_id == self._conversation.id:
            self.sig_export_moments_requested.emit(self._conversation.store_id, message)

    def streaming_message_ids(self) -> list[int]:
        """Ids of rows still streaming (for the window's status bar)."""
        model = self.chat_view.message_model
        return [
            m.id for m in model.messages() if m.status is MessageStatus.STREAMING
        ]
