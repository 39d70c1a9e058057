"""ConversationsController: the conversation list, drafts, search and export.

Short repository operations (create, rename, pin, delete, read a transcript) run directly on
the GUI thread: the repository keeps each of them to one small SQLite statement. Slow ones
(full-text search, export) go to a single-thread storage runner so the window never waits on
them, and a result for a superseded search is dropped. Drafts are written debounced and
strictly per conversation: each pending draft is keyed by its conversation id, so switching
conversations can never save one conversation's text into another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.core.storage.models import Conversation, ConversationSummary, Message

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("markdown", "json")


def export_conversations(repo: Any, conversation_ids: list[int], fmt: str, path: str) -> str:
    """Export to ``path`` in ``fmt`` ("markdown" or "json"); returns the path. Blocks."""
    from jockey_desktop.core.storage import export as storage_export

    content: Any
    if fmt == "markdown":
        content = storage_export.export_markdown(repo, conversation_ids)
    elif fmt == "json":
        content = storage_export.export_json(repo, conversation_ids)
    else:
        raise ValueError(f"Unknown export format {fmt!r}; use markdown or json.")
    # Atomic and 0600: an export holds private conversations.
    return str(storage_export.write_file_atomically(path, content))


class ConversationsController(QObject):
    """Conversation CRUD, per-conversation drafts, async search and export.

    ``storage_runner`` is a ``concurrency.TaskRunner`` (one thread is enough: it serialises
    slow SQLite work that would otherwise block the GUI thread on the repository lock).
    """

    sig_conversation_added = Signal(object)  # ConversationSummary
    sig_conversation_updated = Signal(object)  # ConversationSummary
    sig_conversation_removed = Signal(int)
    #: The whole list, read on the storage runner (``load_all_summaries``); the sidebar adds
    #: the rows it does not have yet.
    sig_summaries_loaded = Signal(object)  # list[ConversationSummary]
    sig_search_results = Signal(str, object)  # query, list[SearchHit]
    sig_export_done = Signal(str)  # path
    sig_error = Signal(str)

    def __init__(
        self,
        repo: Any,
        storage_runner: Any,
        *,
        draft_delay_ms: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._repo = repo
        self._runner = storage_runner
        self._pending_drafts: dict[int, str] = {}
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(draft_delay_ms)
        self._draft_timer.timeout.connect(self.flush_drafts)
        self._search_handle: Any = None
        self._search_query = ""
        self._list_handle: Any = None
        #: Conversations deleted while the whole list is being read: a stale read must not
        #: bring them back.
        self._removed_while_listing: set[int] = set()

    # ----------------------------------------------------------------- reads

    def summaries(self, limit: int | None = None) -> list[ConversationSummary]:
        """Every conversation for the sidebar, pinned first then by last activity."""
        return list(self._repo.list_conversations(limit=limit))

    def load_all_summaries(self) -> None:
        """Read every conversation on the storage runner → ``sig_summaries_loaded(list)``.

        Start-up shows the newest page at once (``summaries(limit=...)``) and calls this for
        the rest: 10,000 rows take 60–80 ms to read, which the first paint must not wait for.
        The whole list is read (not an offset page), so a conversation created or deleted
        meanwhile cannot shift a row out of both reads; the sidebar skips rows it already has.
        """
        if self._list_handle is not None:
            self._list_handle.cancel()
        self._removed_while_listing.clear()
        self._list_handle = self._runner.submit(
            self._repo.list_conversations, on_success=self._on_list_done,
            on_error=self._on_list_failed)

    def is_loading_summaries(self) -> bool:
        """True while ``load_all_summaries`` has not reported yet."""
        return self._list_handle is not None

    @Slot(object)
    def _on_list_done(self, summaries: object) -> None:
        self._list_handle = None
        removed, self._removed_while_listing = self._removed_while_listing, set()
        rows = [s for s in summaries or []  # type: ignore[attr-defined]
                if s.conversation.id not in removed]
        self.sig_summaries_loaded.emit(rows)

    @Slot(object)
    def _on_list_failed(self, error: object) -> None:
        self._list_handle = None
        self._removed_while_listing.clear()
        log.warning("could not list the conversations: %s", error)
        self.sig_error.emit("Could not load the whole conversation list; restart to retry.")

    def summary(self, conversation_id: int) -> ConversationSummary | None:
        """The sidebar row of one conversation, or None if it is gone."""
        return self._repo.get_summary(conversation_id)

    def conversation(self, conversation_id: int) -> Conversation | None:
        """The conversation record, with any not-yet-written draft applied."""
        conversation = self._repo.get_conversation(conversation_id)
        if conversation is not None and conversation_id in self._pending_drafts:
            conversation.draft = self._pending_drafts[conversation_id]
        return conversation  # type: ignore[no-any-return]

    def messages(self, conversation_id: int) -> list[Message]:
        """The transcript of one conversation, oldest first."""
        return list(self._repo.list_messages(conversation_id))

    def messages_page(
        self, conversation_id: int, limit: int, before_id: int | None = None
    ) -> list[Message]:
        """Up to ``limit`` messages older than ``before_id`` (the newest when None), oldest
        first: opening a conversation reads one page, not the whole transcript."""
        return list(self._repo.list_messages_page(conversation_id, limit=limit,
                                                  before_id=before_id))

    def older_messages(self, conversation_id: int, before_id: int, limit: int) -> list[Message]:
        """The transcript's pager (``ChatView``'s ``OlderLoader`` with the id bound)."""
        return self.messages_page(conversation_id, limit, before_id)

    def draft(self, conversation_id: int) -> str:
        """The draft of one conversation (pending text wins over the saved one)."""
        if conversation_id in self._pending_drafts:
            return self._pending_drafts[conversation_id]
        conversation = self._repo.get_conversation(conversation_id)
        return conversation.draft if conversation is not None else ""

    # ----------------------------------------------------------------- writes

    def create(self, store_id: str, store_name: str) -> Conversation:
        """Start a new, empty conversation on a knowledge store."""
        conversation = self._repo.create_conversation(store_id, store_name)
        summary = self.summary(conversation.id)
        if summary is not None:
            self.sig_conversation_added.emit(summary)
        return conversation  # type: ignore[no-any-return]

    def rename(self, conversation_id: int, title: str) -> None:
        """Rename (by the user: the title stops following the first question)."""
        title = " ".join(title.split())
        if not title:
            return
        self._repo.rename_conversation(conversation_id, title)
        self.refresh(conversation_id)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin (kept at the top of the sidebar) or unpin."""
        self._repo.set_pinned(conversation_id, pinned)
        self.refresh(conversation_id)

    def delete(self, conversation_id: int) -> None:
        """Delete for good (the sidebar asked for confirmation)."""
        self._pending_drafts.pop(conversation_id, None)
        if self._list_handle is not None:
            self._removed_while_listing.add(conversation_id)
        self._repo.delete_conversation(conversation_id)
        self.sig_conversation_removed.emit(conversation_id)

    @Slot(int)
    def refresh(self, conversation_id: int) -> None:
        """Re-read one conversation and tell the sidebar (or that it is gone)."""
        summary = self.summary(conversation_id)
        if summary is None:
            if self._list_handle is not None:
                self._removed_while_listing.add(conversation_id)
            self.sig_conversation_removed.emit(conversation_id)
        else:
            self.sig_conversation_updated.emit(summary)

    def save_draft(self, conversation_id: int, text: str) -> None:
        """Remember the composer text of ``conversation_id``; written after a short pause."""
        self._pending_drafts[conversation_id] = text
        self._draft_timer.start()

    @Slot()
    def flush_drafts(self) -> None:
        """Write every pending draft now (also called on switch and quit)."""
        self._draft_timer.stop()
        pending, self._pending_drafts = self._pending_drafts, {}
        for conversation_id, text in pending.items():
            try:
                self._repo.set_draft(conversation_id, text)
            except Exception:  # a deleted conversation must not stop the other drafts
                log.exception("could not save the draft of conversation %d", conversation_id)

    # ----------------------------------------------------------------- async work

    def search(self, query: str) -> None:
        """Search titles and messages; the hits arrive by ``sig_search_results``.

        A newer query supersedes an older one still running: its result is dropped.
        """
        if self._search_handle is not None:
            self._search_handle.cancel()
        self._search_query = query
        if not query.strip():
            self._search_handle = None
            self.sig_search_results.emit(query, [])
            return
        self._search_handle = self._runner.submit(
            self._repo.search, query, on_success=self._on_search_done,
            on_error=self._on_search_failed)

    @Slot(object)
    def _on_search_done(self, hits: object) -> None:
        self._search_handle = None
        self.sig_search_results.emit(self._search_query, list(hits or []))  # type: ignore

    @Slot(object)
    def _on_search_failed(self, error: object) -> None:
        self._search_handle = None
        log.warning("search failed: %s", error)
        self.sig_search_results.emit(self._search_query, [])

    def export(self, conversation_ids: Iterable[int], fmt: str, path: str) -> None:
        """Export conversations to a file off the GUI thread → ``sig_export_done(path)``."""
        if fmt not in EXPORT_FORMATS:
            self.sig_error.emit(f"Unknown export format “{fmt}”.")
            return
        self.flush_drafts()
        self._runner.submit(
            export_conversations, self._repo, list(conversation_ids), fmt, str(path),
            on_success=self._on_export_done, on_error=self._on_export_failed)

    @Slot(object)
    def _on_export_done(self, path: object) -> None:
        self.sig_export_done.emit(str(path))

    @Slot(object)
    def _on_export_failed(self, error: object) -> None:
        log.warning("export failed: %s", error)
        detail = getattr(error, "strerror", None) or str(error) or type(error).__name__
        self.sig_error.emit(f"Export failed: {detail}")

    def shutdown(self) -> None:
        """Save pending drafts and cancel a running search (called on quit)."""
        self.flush_drafts()
        for handle in (self._search_handle, self._list_handle):
            if handle is not None:
                handle.cancel()
        self._search_handle = self._list_handle = None
