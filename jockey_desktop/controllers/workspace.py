"""Workspace: which conversation is on screen, and everything that changes it.

It owns "the current conversation" (never read back from a widget) and the rules around it:
opening one (its newest page, its draft, its live stream), starting one on the picked store,
deleting one, dropping a conversation left empty, what a store switch means for the
conversation on screen, restoring the newest backup, and the chat actions on the conversation
on screen (send, stop, retry), with what the next question asks about (its selections) and
whether it also searches the web. Views listen to its signals and keep to the conversation id
they are given.

The few questions only the user can answer (start a new conversation on another store?
restore the backup?) go through :class:`Prompts`, which the window implements.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from jockey_desktop.controllers.changes import ChangeFeed
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.controllers.stores import StoresController
from jockey_desktop.core.errors import QUESTION_NOT_SAVED_TEXT, ErrorCode
from jockey_desktop.core.ports import ConversationStore, Runner
from jockey_desktop.core.recap import FORK_RECAP_HEADER, build_recap, combine_instructions
from jockey_desktop.core.storage.database import backup_taken_at
from jockey_desktop.core.storage.models import Conversation, MessageStatus
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.selections import add_selection, compose_question, selection
from jockey_desktop.presentation.transcript import (
    PAGE_SIZE,
    PICK_A_STORE_TO_ASK,
    OpenedConversation,
    fork_seed,
    store_gone_refusal,
    store_gone_text,
)
from jockey_desktop.settings import AppSettings

log = logging.getLogger(__name__)


def _create_fork(repo: ConversationStore, origin: Conversation, message_id: int,
                 instructions: str | None, draft: str) -> Conversation:
    """The fork's one write job: the conversation, linked back, with its draft."""
    conversation = repo.create_conversation(
        origin.store_id, origin.store_name, "", instructions,
        origin_conversation_id=origin.id, origin_message_id=message_id,
        web_search=origin.web_search)
    if draft:
        conversation = repo.set_draft(conversation.id, draft)
    return conversation


def _create_moved(repo: ConversationStore, old: Conversation, store_id: str, store_name: str,
                  draft: str) -> Conversation:
    """An empty conversation again on another store: what made it more than empty (a
    fork's recap in its instructions, its link back, web search, the typed draft) kept."""
    conversation = repo.create_conversation(
        store_id, store_name, "", old.instructions,
        origin_conversation_id=old.origin_conversation_id,
        origin_message_id=old.origin_message_id, web_search=old.web_search)
    if draft:
        conversation = repo.set_draft(conversation.id, draft)
    return conversation

PICK_A_STORE = "Pick a knowledge store first (the picker above the chat)."
#: Why there is no store to pick while the list is on its way or could not be read: not
#: "Pick a knowledge store first", which blames the user for what the server did.
STORES_LOADING = "The knowledge stores are still loading — try again in a moment."
STORES_LOADING_TO_ASK = ("Your question was not sent: the knowledge stores are still loading. "
                         "Send it again in a moment.")
#: The server has no store at all (a new account): there is nothing to pick.
NO_STORES = ("There is no knowledge store yet — create one and add videos with Manage… "
             "(beside the store picker).")
NO_STORES_TO_ASK = ("Your question was not sent: there is no knowledge store to ask about yet. "
                    "Create one and add videos with Manage… (beside the store picker).")
#: The notice above the chat says why and what to do (Refresh, or replace a rejected key):
#: repeating one remedy here would be wrong advice for the other.
STORES_NOT_LOADED = ("The knowledge stores could not be loaded (the notice above says why), so "
                     "no conversation can be started yet.")
STORES_NOT_LOADED_TO_ASK = ("Your question was not sent: the knowledge stores could not be "
                            "loaded (the notice above says why and what to do). It stays here "
                            "to send once they are.")
#: How to restore, added to the damaged-database notice.
RESTORE_HINT = "To do that, use File → Restore newest backup…"
NO_BACKUP_TEXT = ("There is no backup of your conversations yet. A backup is taken once a day "
                  "while the app runs, and before every upgrade.")


class Prompts(Protocol):
    """What the workspace asks the window (which implements it)."""

    def flush_draft(self) -> None:
        """Deliver the composer's pending draft now (``sig_draft_changed``)."""

    def confirm_new_conversation_on(self, store_name: str) -> bool:
        """Ask whether to start a new conversation on another store; True = start one."""
        ...

    def confirm_restore_backup(self, text: str) -> bool:
        """Ask before replacing the conversations with a backup; True = restore."""
        ...


class Workspace(QObject):
    """The current conversation and the flows that change it (see the module docstring)."""

    #: The conversation on screen changed (its id, or None for none).
    sig_current_changed = Signal(object)
    #: Show this conversation (an :class:`OpenedConversation`).
    sig_opened = Signal(object)
    #: Show no conversation.
    sig_cleared = Signal()
    #: Show no conversation, keeping what is typed: the one on screen vanished with a
    #: damaged database.
    sig_lost = Signal()
    #: Show this store in the picker (no "store chosen" follows: it is not the user's act).
    sig_store_selected = Signal(str)
    #: Put the keyboard focus in the composer.
    sig_focus_composer = Signal()
    #: A short message for the status bar.
    sig_notice = Signal(str)
    #: The composer's text was not sent: put it back and say why.
    sig_refused = Signal(str)
    #: At start with no conversation on screen: the question typed then and never sent.
    sig_unsent_restored = Signal(str)
    #: A Retry was refused (e.g. still rate limited): say why, the composer is left alone.
    sig_retry_refused = Signal(str)
    #: Something the user must read (title, text, is a warning); a dialog when interactive.
    sig_message = Signal(str, str, bool)
    #: The database was damaged and moved aside; a new one is in use (the sentence, whether
    #: a backup can be restored).
    sig_damaged = Signal(str, bool)
    #: What the next question on screen asks about changed: the composer's chips (a list
    #: of ``{"kind", "id", "name"}`` dicts, in placeholder order).
    sig_selections_changed = Signal(object)
    #: "Also search the web" of the conversation on screen (or of the next new one).
    sig_web_search_changed = Signal(bool)
    #: Scroll the transcript to this message and mark it (the origin of a fork).
    sig_reveal_message = Signal(int)
    #: (conversation id, title of the conversation it was forked from): the header's link.
    sig_origin_named = Signal(int, str)
    #: (conversation id, sentence): its knowledge store no longer exists on the server, and
    #: what to do ("" once it is not so: the store is back, or another conversation).
    sig_store_gone = Signal(int, str)
    #: Open the store picker's list: a new conversation waits for a store to go to.
    sig_pick_store_requested = Signal()
    #: A damaged page was met (the error), from any thread: relayed to the GUI thread.
    _sig_damage_met = Signal(object)

    def __init__(
        self,
        repo: ConversationStore,
        storage: Runner,
        feed: ChangeFeed,
        conversations: ConversationsController,
        chat: ChatController,
        stores: StoresController,
        settings: AppSettings,
        prompts: Prompts,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._repo = repo
        self._storage = storage
        self._feed = feed
        self._conversations = conversations
        self._chat = chat
        self._stores = stores
        self._settings = settings
        self._prompts = prompts
        self._current: Conversation | None = None
        #: The store the picker shows (the one new conversations go to).
        self._picked: StoreSummary | None = None
        self._restoring = False
        #: The uid of the conversation on screen when a restore began: ids are reused, so
        #: the restored file's row with the same id can be another conversation.
        self._restore_reopen: str | None = None
        self._restore_title = ""
        self._recovering = False
        #: The composer's selections, per conversation (None: typed with none on screen);
        #: kept in memory like the text being typed, until sent.
        self._selections: dict[int | None, list[dict[str, object]]] = {}
        #: Selections of questions on their way (by conversation), put back if refused.
        self._sent_selections: dict[int, list[dict[str, object]]] = {}
        #: "Also search the web" for the conversation a Send from the empty screen starts.
        self._web_search_next = False
        #: The store list's last load failed (until it is loaded again).
        self._stores_failed = False
        #: (conversation, sentence) last said about a store that is gone ("" = not gone).
        self._told_gone: tuple[int, str] | None = None
        stores.sig_stores_failed.connect(self._on_stores_failed)
        stores.sig_loading.connect(self._on_stores_loading)
        chat.sig_refused.connect(self._on_chat_refused)
        chat.sig_turn_finished.connect(self._on_turn_finished)
        # Queued even from the GUI thread: the read that met the damage returns first.
        self._sig_damage_met.connect(self._on_damage_met, Qt.ConnectionType.QueuedConnection)

    # ----------------------------------------------------------------- state

    def current_id(self) -> int | None:
        """The conversation on screen, or None."""
        return self._current.id if self._current is not None else None

    def picked_store(self) -> StoreSummary | None:
        """The store the picker shows, if any."""
        return self._picked

    def is_restoring(self) -> bool:
        """True while a backup restore runs (reads are refused meanwhile)."""
        return self._restoring

    def is_recovering(self) -> bool:
        """True while a damaged database is being moved aside."""
        return self._recovering

    # ----------------------------------------------------------------- opening

    def restore_last(self) -> None:
        """Reopen the conversation that was on screen when the app last closed."""
        last = self._settings.last_conversation_id
        if last is not None:
            self.open(last)
        unsent = self._settings.unsent_question
        if self.current_id() is None and unsent:
            self.sig_unsent_restored.emit(unsent)

    @Slot(int)
    def open(self, conversation_id: int) -> None:
        """Show a conversation: its newest page, its own draft, its live stream state.

        Leaving a conversation that has no message and no draft deletes it, so empty
        conversations never pile up in the sidebar (the user made it and typed nothing).
        """
        if self._restoring:
            return
        previous = self.current_id()
        if previous is not None and previous != conversation_id:
            self._prompts.flush_draft()  # the draft goes to the conversation it was typed in
        conversation = self._conversations.conversation(conversation_id)
        if conversation is None:
            return
        drop_previous = (previous is not None and previous != conversation_id
                         and self._is_worthless(previous))
        # The newest page only; older pages are read as the user scrolls up, so opening (and
        # reopening the last conversation at start) costs the same for 10 or 1,000 messages.
        page = self._conversations.messages_page(conversation_id, PAGE_SIZE)
        # Answers the disk could not take yet are shown as they are in memory.
        unsaved = self._chat.unsaved_rows(conversation_id)
        if unsaved:
            page = [unsaved.get(m.id, m) for m in page]
        older = (partial(self._conversations.older_messages, conversation_id)
                 if len(page) >= PAGE_SIZE else None)
        self._current = conversation
        self.sig_opened.emit(OpenedConversation(
            conversation, page, older, self._chat.is_busy(conversation_id),
            self._chat.live_texts(conversation_id), self._chat.live_steps(conversation_id)))
        self.sig_store_selected.emit(conversation.store_id)
        self._settings.last_conversation_id = conversation_id
        self.sig_current_changed.emit(conversation_id)
        self.sig_selections_changed.emit(self.selections())
        self.sig_web_search_changed.emit(conversation.web_search)
        if drop_previous and previous is not None:
            self._conversations.delete(previous)
        self._name_origin(conversation)
        self._tell_store_gone(opened=True)
        self.sig_focus_composer.emit()

    def _is_worthless(self, conversation_id: int) -> bool:
        """No message, nothing typed, nothing streaming: a conversation worth nothing."""
        if self._conversations.draft(conversation_id).strip():
            return False
        return (not self._chat.is_busy(conversation_id)
                and not self._conversations.has_messages(conversation_id))

    @Slot()
    def new_conversation(self, then: Callable[[int], object] | None = None,
                         on_failed: Callable[[BaseException], object] | None = None) -> bool:
        """Start a conversation on the picked store; False (and a notice) when none is.

        The new conversation opens once it is written; ``then(id)`` is called after that, or
        ``on_failed(error)`` when it could not be written (else the list says so).
        When the conversation on screen is already empty (no message, no draft) and on that
        store, it is the new conversation: the composer gets the focus and no second empty
        row is made. (A typed draft is kept: its conversation stays, a new one is made.)
        """
        store = self._picked
        if store is None:
            self.sig_notice.emit(self._why_no_store(asking=False))
            return False
        current = self._current
        if current is not None:
            self._prompts.flush_draft()
            if current.store_id == store.id and self._is_worthless(current.id):
                self.sig_focus_composer.emit()
                if then is not None:
                    then(current.id)
                return True

        def created(conversation: Conversation) -> None:
            self.open(conversation.id)
            if self.current_id() == conversation.id:
                # Its first question is typed next, wherever the focus was (the search
                # field kept it: the question went into the search).
                self.sig_focus_composer.emit()
            if then is not None and self.current_id() == conversation.id:
                then(conversation.id)

        self._conversations.create(store.id, store.name, on_created=created,
                                   on_failed=on_failed)
        return True

    @Slot(int)
    def delete(self, conversation_id: int) -> None:
        """Delete (already confirmed by the sidebar); a stream in it is stopped first."""
        self._chat.stop(conversation_id)
        self._conversations.delete(conversation_id)
        if conversation_id == self.current_id():
            self._show_none()
            self._settings.last_conversation_id = None

    def _show_none(self) -> None:
        self._current = None
        self.sig_cleared.emit()
        self.sig_current_changed.emit(None)
        self.sig_selections_changed.emit(self.selections())
        self.sig_web_search_changed.emit(self._web_search_next)

    # ----------------------------------------------------------------- the chat on screen

    @Slot(object, str)
    def save_draft(self, conversation_id: object, text: str) -> None:
        """The composer's text of ``conversation_id`` (None: typed with none on screen)."""
        if isinstance(conversation_id, int):
            self._conversations.save_draft(conversation_id, text)
        elif conversation_id is None:
            # No conversation holds it: kept in the settings so a restart does not lose it.
            self._settings.unsent_question = text

    @Slot(str)
    def send(self, text: str) -> None:
        """The composer's Send: a new conversation is started on the picked store if needed.

        The composer has already cleared itself; a refusal puts the text back.
        """
        current = self.current_id()
        if current is not None:
            self._ask(current, text)
            return
        if self._picked is None:
            self.sig_refused.emit(self._why_no_store(asking=True))
            return
        self.new_conversation(then=partial(self._ask_text, text),
                              on_failed=self._not_started)

    def _not_started(self, error: BaseException) -> None:
        # The conversation for the first question could not be written (a full disk): the
        # question goes back to the composer with the reason.
        self.sig_refused.emit(f"{QUESTION_NOT_SAVED_TEXT} {error}")

    def _ask_text(self, text: str, conversation_id: int) -> None:
        if self._web_search_next and self._current is not None \
                and self._current.id == conversation_id and not self._current.web_search:
            # Turned on before the conversation existed: it is the new one's setting.
            self._current = dataclasses.replace(self._current, web_search=True)
            self._save_web_search(conversation_id, True)
        self._web_search_next = False
        self._ask(conversation_id, text, started=True)

    def _ask(self, conversation_id: int, text: str, *, started: bool = False) -> None:
        gone = self._store_gone_refusal(conversation_id)
        if gone is not None:
            # Sent, it would only fail there: the text stays in the composer with the way on.
            self.sig_refused.emit(gone)
            return
        # The chips picked with no conversation on screen go with the one a Send started.
        chosen = self._selections.pop(None if started else conversation_id, None) or []
        web_search = self.web_search()
        if self._current is not None and self._current.id == conversation_id:
            web_search = self._current.web_search
        refusal = self._chat.send(conversation_id, compose_question(text, chosen),
                                  selections=chosen, web_search=web_search)
        if refusal:
            self._put_back(conversation_id, chosen)
            self.sig_refused.emit(refusal)
            return
        self._sent_selections[conversation_id] = chosen
        if self.current_id() == conversation_id:
            self.sig_selections_changed.emit([])

    def _put_back(self, conversation_id: int, chosen: list[dict[str, object]]) -> None:
        """A refused question's selections go back to its composer (before any picked
        since)."""
        if not chosen:
            return
        merged: list[dict[str, object]] = []
        for entry in [*chosen, *self._selections.get(conversation_id, [])]:
            merged = add_selection(merged, entry)
        self._selections[conversation_id] = merged
        if self.current_id() == conversation_id:
            self.sig_selections_changed.emit(list(merged))

    @Slot(int, str)
    def _on_chat_refused(self, conversation_id: int, _reason: str) -> None:
        # The question could not be saved (its text goes back to the composer): so do the
        # videos it asked about.
        self._put_back(conversation_id, self._sent_selections.pop(conversation_id, []))

    # ----------------------------------------------------------------- selections

    def selections(self) -> list[dict[str, object]]:
        """What the next question on screen asks about (the composer's chips)."""
        return list(self._selections.get(self.current_id(), []))

    @Slot(str, str, str)
    def add_selection(self, kind: str, selection_id: str, name: str,
                      store_id: str | None = None) -> bool:
        """Ask the next question about an item (``kind`` "item") or a collection
        ("collection"): a chip in the composer, which gets the focus. The stores view and
        a citation chip's "Ask about this video" call it; ``@`` in the composer too.

        ``store_id`` is the store it belongs to when the caller knows it: a session is bound
        to its store, so for another store than the conversation on screen the screen is
        cleared and the store picked — the next Send starts a conversation there. Returns
        False (with a notice) when the id does not fit the kind.
        """
        chosen = selection(kind, selection_id, name)
        if chosen is None:
            self.sig_notice.emit(f"“{name or selection_id}” cannot be asked about: it is not "
                                 "an item or a collection of a knowledge store.")
            return False
        current = self._current
        if store_id and (current is None or current.store_id != store_id):
            if current is not None or (self._picked is not None and self._picked.id != store_id):
                self._selections.pop(None, None)  # chips of another store
            if current is not None:
                self._prompts.flush_draft()
                worthless = self._is_worthless(current.id)
                self._show_none()
                self._settings.last_conversation_id = None
                if worthless:
                    self._conversations.delete(current.id)
            self.sig_store_selected.emit(store_id)
        key = self.current_id()
        self._selections[key] = add_selection(self._selections.get(key, []), chosen)
        self.sig_selections_changed.emit(self.selections())
        self.sig_focus_composer.emit()
        return True

    @Slot(int)
    def remove_selection(self, index: int) -> None:
        """Remove the composer's chip at ``index``."""
        key = self.current_id()
        chosen = self._selections.get(key, [])
        if 0 <= index < len(chosen):
            self._selections[key] = chosen[:index] + chosen[index + 1:]
            self.sig_selections_changed.emit(self.selections())

    # ----------------------------------------------------------------- web search

    def web_search(self) -> bool:
        """"Also search the web" for the conversation on screen (or the next new one)."""
        return self._current.web_search if self._current is not None else self._web_search_next

    @Slot(bool)
    def set_web_search(self, on: bool) -> None:
        """The user turned "Also search the web" on or off for the conversation on screen
        (saved with it), or for the one a Send from the empty screen will start."""
        current = self._current
        if current is None:
            self._web_search_next = bool(on)
            return
        if current.web_search == bool(on):
            return
        self._current = dataclasses.replace(current, web_search=bool(on))
        self._save_web_search(current.id, bool(on))

    def _save_web_search(self, conversation_id: int, on: bool) -> None:
        self._storage.submit(self._repo.set_web_search, conversation_id, on,
                             on_success=partial(self._web_search_saved, conversation_id),
                             on_error=self._web_search_failed)

    def _web_search_saved(self, conversation_id: int, _conversation: object) -> None:
        self._feed.conversations([conversation_id])

    def _web_search_failed(self, error: BaseException) -> None:
        log.warning("could not save the web-search setting: %s", error)
        self.sig_notice.emit(f"“Also search the web” could not be saved: {error}")

    @Slot()
    def stop(self) -> None:
        """Stop the answer of the conversation on screen."""
        current = self.current_id()
        if current is not None:
            self._chat.stop(current)

    @Slot(int)
    def retry(self, message_id: int) -> None:
        """Retry a failed turn; a refusal (e.g. still rate limited) is shown in the pane."""
        refusal = (self._store_gone_refusal_of(message_id, "Not retried")
                   or self._chat.retry(message_id))
        if refusal:
            self.sig_retry_refused.emit(refusal)

    # ----------------------------------------------------------------- versions and forks

    @Slot(int)
    def ask_again(self, message_id: int) -> None:
        """"Ask again" on an answer: the question once more in the same session, the new
        answer filed as a version; a refusal is shown in the pane."""
        refusal = (self._store_gone_refusal_of(message_id, "Not asked again")
                   or self._chat.ask_again(message_id))
        if refusal:
            self.sig_retry_refused.emit(refusal)

    @Slot(int)
    def continue_from(self, answer_id: int) -> None:
        """"Continue in a new conversation from here" on an answer."""
        self._fork(answer_id)

    @Slot(int)
    def edit_and_ask(self, question_id: int) -> None:
        """"Edit and ask" on a question: a new conversation whose composer holds it."""
        self._fork(question_id)

    def _fork(self, message_id: int) -> None:
        """A new conversation on the same store, linked back to ``message_id``: a new
        session whose instructions carry a recap of the origin up to that point, the
        composer holding the same selections (and the question, for "Edit and ask"). The
        recap is kept as the new conversation's instructions, so every request of the new
        session carries it (the API's instructions are per request)."""
        message = self._repo.get_message(message_id)
        origin = (self._conversations.conversation(message.conversation_id)
                  if message is not None else None)
        seed = (fork_seed(self._repo.list_messages(origin.id), message_id)
                if origin is not None else None)
        if origin is None or seed is None:
            self.sig_notice.emit("That message no longer exists.")
            return
        self._prompts.flush_draft()
        instructions = combine_instructions(
            origin.instructions, build_recap(seed.pairs, header=FORK_RECAP_HEADER))
        # Its store gone, the new conversation still opens (recap, question, link back: all
        # kept) and waits for the user to pick another store, which it then moves to
        # (``choose_store``). The chips named videos of the store that is gone: dropped.
        gone = self._stores.is_gone(origin.store_id)
        selections = [] if gone else seed.selections
        self._storage.submit(_create_fork, self._repo, origin, message_id, instructions,
                             seed.draft,
                             on_success=partial(self._fork_created, selections, gone),
                             on_error=self._fork_failed)

    def _fork_created(self, selections: list[dict[str, object]], store_gone: bool,
                      conversation: Conversation) -> None:
        self._feed.conversations([conversation.id])
        self._selections[conversation.id] = list(selections)
        self.open(conversation.id)
        if store_gone and self.current_id() == conversation.id:
            self.sig_pick_store_requested.emit()

    def _fork_failed(self, error: BaseException) -> None:
        log.warning("could not start the new conversation: %s", error)
        self.sig_notice.emit(f"The new conversation could not be started: {error}")

    def _name_origin(self, conversation: Conversation) -> None:
        """Tell the pane the title of the conversation a fork came from (one read)."""
        if conversation.origin_conversation_id is None:
            return
        origin = self._conversations.conversation(conversation.origin_conversation_id)
        if origin is not None:
            self.sig_origin_named.emit(conversation.id, origin.title)

    @Slot()
    def open_origin(self) -> None:
        """Open the conversation the one on screen was forked from, at the message it
        continued from."""
        current = self._current
        if current is None or current.origin_conversation_id is None:
            return
        origin_message = current.origin_message_id
        self.open(current.origin_conversation_id)
        if origin_message is not None and self.current_id() == current.origin_conversation_id:
            self.sig_reveal_message.emit(origin_message)

    # ----------------------------------------------------------------- stores

    def _why_no_store(self, *, asking: bool) -> str:
        """Why no store is picked: the list is loading, could not be loaded, is empty, or the
        user has not picked one (``asking``: said of a question put back in the composer)."""
        if self._stores.is_loading():
            return STORES_LOADING_TO_ASK if asking else STORES_LOADING
        if self._stores_failed:
            return STORES_NOT_LOADED_TO_ASK if asking else STORES_NOT_LOADED
        if not self._stores.stores():
            return NO_STORES_TO_ASK if asking else NO_STORES
        return PICK_A_STORE_TO_ASK if asking else PICK_A_STORE

    def _gone_name(self, conversation: Conversation | None) -> str | None:
        """The name of the conversation's store when the server no longer has it."""
        if conversation is None or not self._stores.is_gone(conversation.store_id):
            return None
        return conversation.store_name or conversation.store_id

    def _store_gone_refusal(self, conversation_id: int) -> str | None:
        """Why a question in this conversation is not sent: its store is gone (or None)."""
        conversation = (self._current if self._current is not None
                        and self._current.id == conversation_id
                        else self._conversations.conversation(conversation_id))
        name = self._gone_name(conversation)
        if name is None:
            return None
        return store_gone_refusal(
            name, empty=not self._conversations.has_messages(conversation_id))

    def _store_gone_refusal_of(self, message_id: int, lead: str) -> str | None:
        """Why Retry / Ask again on this message is not done: its store is gone (or None)."""
        message = self._repo.get_message(message_id)
        conversation = (self._conversations.conversation(message.conversation_id)
                        if message is not None else None)
        name = self._gone_name(conversation)
        return None if name is None else store_gone_refusal(name, empty=False, lead=lead)

    def _tell_store_gone(self, *, opened: bool = False) -> None:
        """Say whether the conversation on screen is on a store the server no longer has:
        when it is opened, and when the store list changes what is known (said once per
        change; the pane's sentence is cleared only if it had been said)."""
        current = self._current
        if current is None:
            return
        name = self._gone_name(current)
        text = "" if name is None else store_gone_text(
            name, empty=not self._conversations.has_messages(current.id))
        told = (current.id, text)
        if (text and (opened or told != self._told_gone)) or (
                not text and self._told_gone is not None
                and self._told_gone[0] == current.id and self._told_gone[1]):
            self.sig_store_gone.emit(current.id, text)
        self._told_gone = told

    @Slot(int, int, str)
    def _on_turn_finished(self, _conversation_id: int, answer_id: int, status: str) -> None:
        """A turn failed because its store is gone: the store list learns it (the store was
        deleted elsewhere), so what is offered next knows too."""
        if status != MessageStatus.FAILED.value or self._stores.is_loading():
            return
        answer = self._repo.get_message(answer_id)
        if answer is not None and answer.error_code == ErrorCode.STORE_NOT_FOUND:
            self._stores.refresh()

    @Slot(str)
    def _on_stores_failed(self, _reason: str) -> None:
        self._stores_failed = True

    @Slot()
    def _on_stores_loading(self) -> None:
        self._stores_failed = False

    @Slot(object)
    def on_store_shown(self, store: object) -> None:
        """The picker shows another store (for any reason): new conversations go there."""
        before = self._picked.id if self._picked is not None else None
        self._picked = store if isinstance(store, StoreSummary) else None
        after = self._picked.id if self._picked is not None else None
        if before is None or after == before:
            return
        # The next new conversation's chips were the other store's videos: they cannot
        # scope a question on this one (they stayed, and were sent to the wrong store).
        if self._selections.pop(None, []):
            self.sig_selections_changed.emit(self.selections())

    @Slot(object)
    def on_stores_loaded(self, stores: object) -> None:
        """Choose the store to show: the open conversation's, else the one chosen last time,
        else (once readiness is known) the first store with ready videos."""
        self._stores_failed = False
        listed = list(stores) if isinstance(stores, list) else []
        wanted = self._current.store_id if self._current is not None else None
        wanted = wanted or self._stores.last_store_id()
        if wanted is None and not self._stores.is_loading():
            # The first list arrives before item counts; only the complete one knows which
            # stores can answer, so a store still indexing is not chosen by accident.
            first = self._stores.first_ready_store()
            wanted = first.id if first is not None else None
        if wanted and any(s.id == wanted for s in listed):
            self.sig_store_selected.emit(wanted)
        self._tell_store_gone()  # deleted (or back) while on screen

    @Slot(str)
    def choose_store(self, store_id: str) -> None:
        """The user picked a store: remember it; the conversation on screen is bound to its
        own store, so an empty one is replaced and a used one prompts for a new one."""
        self._stores.remember_store(store_id)
        current = self._current
        if current is None or current.store_id == store_id:
            return
        if not self._conversations.has_messages(current.id):
            # Nothing asked yet: replace the empty conversation by one on the chosen store,
            # carrying over whatever was typed, instead of sending it to the old store.
            self._replace_empty(current.id)
            return
        store = self._stores.store(store_id)
        name = store.name if store is not None else store_id
        if self._prompts.confirm_new_conversation_on(name):
            self.new_conversation()
        else:
            self.sig_store_selected.emit(current.store_id)

    def _replace_empty(self, old_id: int) -> None:
        self._prompts.flush_draft()
        # What was picked belongs to the old store: it cannot scope a question on the new one.
        self._selections.pop(old_id, None)
        draft = self._conversations.draft(old_id)
        store = self._picked
        old = self._current
        if store is None or old is None or old.id != old_id:
            return
        # One write: the new conversation with the draft (saved before it opens, so the pane
        # shows it as this conversation's), a fork's recap and link back.
        self._storage.submit(_create_moved, self._repo, old, store.id, store.name, draft,
                             on_success=partial(self._moved, old_id),
                             on_error=self._move_failed)

    def _moved(self, old_id: int, conversation: Conversation) -> None:
        self._feed.conversations([conversation.id])
        self.open(conversation.id)
        self._conversations.delete(old_id)

    def _move_failed(self, error: BaseException) -> None:
        log.warning("could not start the conversation on the chosen store: %s", error)
        self.sig_notice.emit(f"The conversation could not be started on that store: {error}")

    # ----------------------------------------------------------------- backups

    @Slot()
    def restore_newest_backup(self) -> None:
        """File → "Restore newest backup…": confirm, stop streams, restore on the storage
        runner (the current state is backed up first), then reload what is on screen."""
        if self._restoring:
            return
        latest = self._repo.latest_backup()
        if latest is None:
            self.sig_message.emit("No backup to restore", NO_BACKUP_TEXT, False)
            return
        # When it was taken, in words: the path alone ("…-20261203-180215-…") said nothing.
        # Imported here: a restore is rare, and the first paint does not need it.
        from jockey_desktop.presentation.backups import restore_question

        text = restore_question(latest, backup_taken_at(latest))
        if not self._prompts.confirm_restore_backup(text):
            return
        self._restoring = True
        for conversation_id in self._chat.busy_conversations():
            self._chat.stop(conversation_id)
        # Nothing typed before the restore may be written into the restored conversations
        # (ids are reused): deliver pending drafts now (queued before the restore on the one
        # storage thread), then show no conversation while the file is replaced.
        self._prompts.flush_draft()
        self._conversations.flush_drafts()
        self._restore_reopen = self._current.uid if self._current is not None else None
        self._restore_title = (self._current.title or "New conversation"
                               if self._current is not None else "")
        self._show_none()
        self._feed.hold()
        self.sig_notice.emit("Restoring the newest backup…")
        self._storage.submit(self._repo.restore_backup, latest,
                             on_success=self._on_restored, on_error=self._on_restore_failed)

    def _on_restored(self, path: Path) -> None:
        from jockey_desktop.presentation.backups import restored_text

        self._restoring = False
        log.info("restored the backup %s", path.name)
        self._feed.release()
        self._feed.everything()
        reopen, self._restore_reopen = self._restore_reopen, None
        restored = self._repo.get_conversation_by_uid(reopen) if reopen is not None else None
        if restored is not None:
            self.open(restored.id)
        else:
            self._settings.last_conversation_id = None
        self.sig_message.emit("Backup restored", restored_text(
            path, backup_taken_at(path), lost_title=self._restore_title
            if reopen is not None and restored is None else None), False)

    # ----------------------------------------------------------------- a damaged file

    def report_damage(self, error: BaseException) -> None:
        """A damaged page was met by a read or write (any thread; ``DamageGuard`` calls it).

        Takes the start-up path once: streams stopped, the file moved aside and a new one
        started (``replace_damaged``, on the storage runner), every view reloaded, and the
        newest backup offered. The app keeps running throughout.
        """
        self._sig_damage_met.emit(error)

    @Slot(object)
    def _on_damage_met(self, error: object) -> None:
        if self._recovering or self._restoring:
            return  # one recovery per incident; a restore replaces the file anyway
        self._recovering = True
        log.error("the conversation database is damaged; moving it aside: %s", error)
        for conversation_id in self._chat.busy_conversations():
            self._chat.stop(conversation_id)
        self._current = None
        self.sig_lost.emit()
        self.sig_current_changed.emit(None)
        self._settings.last_conversation_id = None
        self._feed.hold()
        self.sig_notice.emit("The conversation database is damaged: moving it aside…")
        self._storage.submit(self._repo.replace_damaged, on_success=self._on_replaced,
                             on_error=self._on_replace_failed)

    def _on_replaced(self, moved: Path) -> None:
        self._recovering = False
        log.info("damaged database moved to %s; a new one was started", moved)
        self._feed.release()
        self._feed.everything()
        text = self._repo.open_report.user_message() or f"The damaged file was moved to {moved}."
        can_restore = self._repo.latest_backup() is not None
        self.sig_damaged.emit(f"{text} {RESTORE_HINT}" if can_restore else text, can_restore)

    def _on_replace_failed(self, error: BaseException) -> None:
        self._recovering = False
        log.error("could not move the damaged database aside: %s", error)
        self._feed.release()
        self._feed.everything()
        self.sig_message.emit("The conversation database is damaged",
                              f"{error} Quit and start the app again to recover.", True)

    def _on_restore_failed(self, error: BaseException) -> None:
        self._restoring = False
        log.error("restoring the backup failed: %s", error)
        self._feed.release()
        self._feed.everything()
        self.sig_message.emit("Could not restore the backup",
                              f"The backup was not restored: {error}", True)
