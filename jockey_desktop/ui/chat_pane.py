"""The chat pane: header (title, store, session state), transcript, notice banner, composer.

The pane holds no business logic: it shows what the controller tells it (see
``/work/briefs/ui_contract.md``) and turns user actions into signals.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QPoint, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QCursor,
    QFont,
    QGuiApplication,
    QKeySequence,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.storage.models import Conversation, Message, MessageStatus, Role
from jockey_desktop.ui.chat_view import ChatView, OlderLoader
from jockey_desktop.ui.composer import Composer
from jockey_desktop.ui.markdown import conversation_as_markdown
from jockey_desktop.ui.moment_popup import MomentPopup, ThumbnailLoader

SESSION_NEW = "New conversation"
SESSION_ACTIVE = "Session active"
SESSION_EXPIRED = "Session expired — a new one will start"
#: ``Message.error_code`` of an answer that failed because the server lost the session.
SESSION_LOST_CODE = "session_lost"
EMPTY_TEXT = (
    "Ask a question below to start a new conversation on the picked knowledge store,\n"
    "or choose a conversation on the left (Ctrl+N starts a new one)."
)
EMPTY_PLACEHOLDER = "Ask a question to start a new conversation…"


def session_state_text(conversation: Conversation, messages: list[Message] | None = None) -> str:
    """The header's session line for a conversation and (optionally) its transcript.

    No session yet but earlier answers (or a seam, or a lost-session failure) means the
    server forgot it: the next question starts a new, recap-seeded session.
    """
    if conversation.session_id:
        return SESSION_ACTIVE
    for message in messages or []:
        if (
            message.role is Role.SEAM
            or message.error_code == SESSION_LOST_CODE
            or (message.role is Role.ASSISTANT and message.status is MessageStatus.COMPLETE)
        ):
            return SESSION_EXPIRED
    return SESSION_NEW


class NoticeBanner(QFrame):
    """A dismissible one-line notice above the composer (session restarted, store warnings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        self.setAccessibleName("Notice")
        # palette() references keep the banner right in light and dark without hard colours.
        self.setStyleSheet(
            "QFrame#noticeBanner { background: palette(alternate-base); border: none;"
            " border-top: 1px solid palette(mid); }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAccessibleName("Notice text")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Dismiss notice")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str) -> None:
        """Show ``text`` (an empty text hides the banner)."""
        self.label.setText(text)
        self.setVisible(bool(text))

    def text(self) -> str:
        """The notice shown, or ""."""
        return self.label.text() if not self.isHidden() else ""


class ChatPane(QWidget):
    """Header + transcript + notice + composer for one conversation at a time."""

    sig_send_requested = Signal(str)
    sig_stop_requested = Signal()
    sig_retry_requested = Signal(int)
    sig_draft_changed = Signal(str)
    #: "Copy conversation" was chosen; the pane has already copied its transcript as
    #: Markdown, the window may add a status message (or copy a richer export).
    sig_copy_conversation_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        load_thumbnail: ThumbnailLoader | None = None,
        open_url: Callable[[QUrl], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chat")
        self._conversation: Conversation | None = None
        self._busy = False
        self._load_thumbnail = load_thumbnail
        self._open_url = open_url
        #: The most recently opened moment popup (None once it is closed).
        self.moment_popup: MomentPopup | None = None

        # Header
        self.title_label = QLabel()
        self.title_label.setAccessibleName("Conversation title")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        title_font = QFont(self.title_label.font())
        title_font.setBold(True)
        if title_font.pointSizeF() > 0:
            title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self.title_label.setFont(title_font)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.store_label = QLabel()
        self.store_label.setAccessibleName("Knowledge store")
        self.store_label.setTextFormat(Qt.TextFormat.PlainText)
        self.session_label = QLabel()
        self.session_label.setAccessibleName("Session state")
        self.session_label.setTextFormat(Qt.TextFormat.PlainText)
        sub = QHBoxLayout()
        sub.setContentsMargins(0, 0, 0, 0)
        sub.setSpacing(6)
        sub.addWidget(self.store_label)
        self._dot = QLabel("·")
        sub.addWidget(self._dot)
        sub.addWidget(self.session_label)
        sub.addStretch(1)
        self.header = QFrame()
        self.header.setObjectName("chatHeader")
        self.header.setAccessibleName("Conversation header")
        header_layout = QVBoxLayout(self.header)
        header_layout.setContentsMargins(18, 10, 18, 8)
        header_layout.setSpacing(2)
        header_layout.addWidget(self.title_label)
        header_layout.addLayout(sub)
        # A flat 1 px rule in the palette's Mid colour; a sunken HLine glares in dark mode.
        line = QFrame()
        line.setFixedHeight(1)
        line.setAutoFillBackground(True)
        line.setBackgroundRole(QPalette.ColorRole.Mid)

        # Transcript / empty state
        self.chat_view = ChatView(self, clock=clock, open_url=open_url)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAccessibleName("No conversation selected")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.chat_view)

        self.notice = NoticeBanner(self)
        self.composer = Composer(self)

        layout = QVBoxLayout(self)
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
        self.composer.sig_draft_changed.connect(self.sig_draft_changed)
        self.chat_view.sig_retry_requested.connect(self.sig_retry_requested)
        self.chat_view.sig_citation_activated.connect(self._open_moment)
        self.chat_view.sig_copy_conversation_requested.connect(self.copy_conversation)

        # Esc stops from the transcript too (the composer handles it when it has focus).
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.chat_view)
        self._stop_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._stop_shortcut.activated.connect(self._on_escape)
        self.clear()

    # -- contract API -------------------------------------------------------------------------
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
        # A draft typed for the previous conversation must be delivered while it is still the
        # current one, or it would be saved into the new one.
        self.composer.flush_draft()
        self._conversation = conversation
        self.notice.show_text("")
        self.composer.show_reason("")
        self.chat_view.set_messages(messages, older_loader=load_older)
        self.stack.setCurrentWidget(self.chat_view)
        self.composer.set_text(conversation.draft or "")
        self._update_header(conversation, messages)

    def clear(self) -> None:
        """Show the empty state (no conversation selected)."""
        self.composer.flush_draft()
        self._conversation = None
        self.chat_view.set_messages([])
        self.stack.setCurrentWidget(self.empty_label)
        self.title_label.setText("No conversation")
        self.store_label.setText("")
        self.session_label.setText("")
        self._dot.hide()
        self.notice.show_text("")
        self.composer.set_text("")
        # Typing here is never a dead end: the window starts a conversation on Send.
        self.composer.setEnabled(True)
        self.composer.edit.setPlaceholderText(EMPTY_PLACEHOLDER)

    def current_conversation_id(self) -> int | None:
        """Id of the conversation shown, or None."""
        return self._conversation.id if self._conversation is not None else None

    def append_message(self, message: Message) -> None:
        """Add a new row (a question, an answer starting, a seam)."""
        if not self._accepts(message):
            return
        self.chat_view.message_model.append(message)

    def replace_message(self, message: Message) -> None:
        """Update a row (status, final text, citations, error); unknown ids are appended."""
        if not self._accepts(message):
            return
        if not self.chat_view.message_model.replace(message) and not (
            self.chat_view.replace_older(message)
        ):
            self.chat_view.message_model.append(message)
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

    def composer_text(self) -> str:
        """The composer's current text."""
        return self.composer.text()

    def set_composer_text(self, text: str) -> None:
        """Replace the composer text without emitting a draft change."""
        self.composer.set_text(text)

    def show_notice(self, text: str) -> None:
        """Show a dismissible notice above the composer ("" hides it)."""
        self.notice.show_text(text)

    def show_refusal(self, text: str) -> None:
        """The controller refused a send: put the text back and say why, inline."""
        self.composer.restore_unsent()
        self.composer.show_reason(text)

    # -- extras -------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        """True while the pane shows Stop."""
        return self._busy

    def set_thumbnail_loader(self, loader: ThumbnailLoader | None) -> None:
        """Inject the worker-backed thumbnail loader used by moment popups."""
        self._load_thumbnail = loader

    def transcript_markdown(self) -> str:
        """The shown conversation as Markdown (what "Copy conversation" copies)."""
        title = self._conversation.title if self._conversation is not None else ""
        return conversation_as_markdown(title, self.chat_view.all_messages())

    @Slot()
    def copy_conversation(self) -> None:
        """Copy the transcript to the clipboard, then tell the window."""
        if self._conversation is None:
            return
        QGuiApplication.clipboard().setText(self.transcript_markdown())
        self.sig_copy_conversation_requested.emit()

    # -- internals ----------------------------------------------------------------------------
    def _accepts(self, message: Message) -> bool:
        # Never let a late signal put text into the wrong conversation.
        return self._conversation is not None and message.conversation_id == self._conversation.id

    def _update_header(self, conversation: Conversation, messages: list[Message]) -> None:
        self.title_label.setText(conversation.title or "New conversation")
        self.title_label.setToolTip(conversation.title)
        self.store_label.setText(conversation.store_name or conversation.store_id)
        self.store_label.setToolTip(f"Knowledge store: {conversation.store_id}")
        self.session_label.setText(session_state_text(conversation, messages))
        self._dot.show()
        self.composer.set_store_name(conversation.store_name or conversation.store_id)

    def _apply_muted_style(self) -> None:
        # Secondary text draws with the palette's placeholder role, so it follows light/dark
        # switches at run time instead of freezing a colour.
        for label in (self.store_label, self.session_label, self._dot, self.empty_label):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

    @Slot()
    def _on_escape(self) -> None:
        if self._busy:
            self.sig_stop_requested.emit()

    @Slot(object, object)
    def _open_moment(self, _message: Message, citation: Mapping[str, Any]) -> None:
        if self.moment_popup is not None:
            with contextlib.suppress(RuntimeError):  # already deleted (WA_DeleteOnClose)
                self.moment_popup.close()
        popup = MomentPopup(
            citation, self, load_thumbnail=self._load_thumbnail, open_url=self._open_url
        )
        popup.destroyed.connect(self._forget_popup)
        self.moment_popup = popup
        popup.adjustSize()
        # Beside the pointer, but kept inside the screen's usable area.
        pos = QCursor.pos() + QPoint(12, 12)
        # Static lookups only: widget.screen() would make the Qt-owned QScreen a Python child of
        # this pane, and PySide deletes it if the pane is later freed by the cyclic GC.
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            pos.setX(max(area.left(), min(pos.x(), area.right() - popup.width())))
            pos.setY(max(area.top(), min(pos.y(), area.bottom() - popup.height())))
        popup.move(pos)
        popup.show()

    @Slot()
    def _forget_popup(self) -> None:
        self.moment_popup = None

    def streaming_message_ids(self) -> list[int]:
        """Ids of rows still streaming (for the window's status bar)."""
        model = self.chat_view.message_model
        return [
            m.id for m in model.messages() if m.status is MessageStatus.STREAMING
        ]
