"""CompareController: one question asked of 2–4 knowledge stores at once (issue 14.5).

A comparison is a set of ordinary conversations, one per store (a Jockey session belongs to
one store), asked the same questions at the same time. Nothing here streams or saves by
itself: each store's conversation is created by ``ConversationsController.create`` and each
question goes through ``ChatController.send``, exactly as a question typed in the chat, so
every turn is saved, retried, recovered and listed in the sidebar as usual. This controller
only remembers which conversations form the comparison on screen and relays what happens in
them, column by column, to the comparison view:

- ``sig_columns(list[CompareColumn])`` — the stores compared and their conversations;
- ``sig_messages(column, list[Message])`` — stored rows of a column's conversation changed
  (from the change feed: nothing is read back);
- ``sig_stream_text(column, message id, text)`` — an answer arriving;
- ``sig_busy(bool)`` — whether any column's answer is still arriving (Send becomes Stop);
- ``sig_refused(reason)`` — the question was not asked at all (its text goes back).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.controllers.changes import ChangeFeed
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.core.changes import Changes
from jockey_desktop.core.errors import NO_CLIENT_TEXT
from jockey_desktop.core.storage.models import Conversation
from jockey_desktop.presentation.compare import (
    CHOOSE_STORES,
    MAX_STORES,
    MIN_STORES,
    CompareColumn,
)

log = logging.getLogger(__name__)

class CompareController(QObject):
    """The comparison on screen: its stores' conversations and what happens in them."""

    sig_columns = Signal(object)
    sig_messages = Signal(int, object)
    sig_stream_text = Signal(int, int, str)
    sig_busy = Signal(bool)
    sig_refused = Signal(str)

    def __init__(self, conversations: ConversationsController, chat: ChatController,
                 feed: ChangeFeed, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conversations = conversations
        self._chat = chat
        self._columns: list[CompareColumn] = []
        #: Questions waiting for a column's conversation to be created (column → text).
        self._waiting: dict[int, str] = {}
        feed.sig_changed.connect(self._on_changes)
        chat.sig_stream_text.connect(self._on_stream_text)
        chat.sig_busy_changed.connect(self._on_busy_changed)
        chat.sig_refused.connect(self._on_chat_refused)

    # ----------------------------------------------------------------- state

    def columns(self) -> list[CompareColumn]:
        """The stores compared, left to right."""
        return list(self._columns)

    def conversation_ids(self) -> list[int]:
        """The comparison's conversations (those created so far)."""
        return [c.conversation_id for c in self._columns if c.conversation_id is not None]

    def is_started(self) -> bool:
        """True once a question was asked: the stores are fixed until a new comparison."""
        return bool(self._columns)

    def is_busy(self) -> bool:
        """True while an answer of any column is arriving (or its question is being saved)."""
        return bool(self._waiting) or any(self._chat.is_busy(cid)
                                          for cid in self.conversation_ids())

    # ----------------------------------------------------------------- asking

    def ask(self, stores: Sequence[tuple[str, str]], question: str) -> str | None:
        """Ask ``question``: of the chosen ``stores`` ((id, name), 2–4) when no comparison
        is running, else of every column's conversation (a follow-up: each store's session
        goes on). None = asked; else the reason nothing was asked."""
        text = question.strip()
        if not text:
            return "Type a question first."
        if self.is_busy():
            return "Answers are still arriving — wait for them or press Stop."
        if self._chat.client() is None:
            return NO_CLIENT_TEXT
        if not self._columns:
            unique = list(dict.fromkeys((str(i), str(n)) for i, n in stores))
            if not MIN_STORES <= len(unique) <= MAX_STORES:
                return CHOOSE_STORES
            self._columns = [CompareColumn(store_id, name) for store_id, name in unique]
            self.sig_columns.emit(self.columns())
            for index, column in enumerate(self._columns):
                self._waiting[index] = question
                self._conversations.create(
                    column.store_id, column.store_name,
                    on_created=partial(self._created, index),
                    on_failed=partial(self._not_created, index))
            self.sig_busy.emit(True)
            return None
        refusals = [self._send(index, question) for index in range(len(self._columns))]
        if all(refusals):
            return refusals[0]
        return None

    @Slot()
    def stop(self) -> None:
        """Stop every column's answer."""
        for conversation_id in self.conversation_ids():
            self._chat.stop(conversation_id)

    @Slot()
    def new_comparison(self) -> None:
        """Forget the comparison on screen (its conversations stay in the sidebar)."""
        self._columns = []
        self._waiting.clear()
        self.sig_columns.emit([])
        self.sig_busy.emit(False)

    def _created(self, index: int, conversation: Conversation) -> None:
        if index >= len(self._columns) or self._columns[index].store_id != conversation.store_id:
            return  # a new comparison started meanwhile: the conversation stays in the list
        self._columns[index] = replace(self._columns[index], conversation_id=conversation.id)
        self.sig_columns.emit(self.columns())
        question = self._waiting.pop(index, None)
        if question is not None:
            self._send(index, question)
        self._announce_busy()

    def _not_created(self, index: int, error: BaseException) -> None:
        self._waiting.pop(index, None)
        if index < len(self._columns):
            self._set_problem(index, f"Could not start the conversation: {error}")
        self._announce_busy()

    def _send(self, index: int, question: str) -> str | None:
        column = self._columns[index]
        if column.conversation_id is None:
            return column.problem or "This store's conversation could not be started."
        refusal = self._chat.send(column.conversation_id, question)
        self._set_problem(index, refusal or "")
        return refusal

    def _set_problem(self, index: int, problem: str) -> None:
        if self._columns[index].problem != problem:
            self._columns[index] = replace(self._columns[index], problem=problem)
            self.sig_columns.emit(self.columns())

    def _announce_busy(self) -> None:
        self.sig_busy.emit(self.is_busy())

    def _column_of(self, conversation_id: int) -> int | None:
        for index, column in enumerate(self._columns):
            if column.conversation_id == conversation_id:
                return index
        return None

    # ----------------------------------------------------------------- what happens in them

    @Slot(object)
    def _on_changes(self, changes: Changes) -> None:
        for index, column in enumerate(self._columns):
            if column.conversation_id is None:
                continue
            if column.conversation_id in changes.removed:
                self._columns[index] = replace(column, conversation_id=None,
                                               problem="This conversation was deleted.")
                self.sig_columns.emit(self.columns())
                continue
            rows = changes.messages_of(column.conversation_id)
            if rows:
                self.sig_messages.emit(index, list(rows))

    @Slot(int, int, str)
    def _on_stream_text(self, conversation_id: int, message_id: int, text: str) -> None:
        index = self._column_of(conversation_id)
        if index is not None:
            self.sig_stream_text.emit(index, message_id, text)

    @Slot(int, bool)
    def _on_busy_changed(self, conversation_id: int, _busy: bool) -> None:
        if self._column_of(conversation_id) is not None:
            self._announce_busy()

    @Slot(int, str)
    def _on_chat_refused(self, conversation_id: int, reason: str) -> None:
        # A question accepted by send() could not be saved (a full disk): that column says so.
        index = self._column_of(conversation_id)
        if index is not None:
            self._set_problem(index, reason)
