"""ConversationsController: the conversation list, drafts, search, export and copy.

Reads are short single statements on the GUI thread (the repository reads through its own
connection, so a read never waits behind a write). Every write — create, rename, pin, delete,
drafts — and every slow read (full-text search, the whole list, export) runs on the one-thread
storage runner, in submission order; the GUI is updated from the results, through the change
feed. Drafts are written debounced and strictly per conversation: each pending draft is keyed
by its conversation id, so switching conversations can never save one conversation's text
into another.

This is also the one reader of the change feed for the list: each changed conversation's row
is re-read once per feed emission and handed to the sidebar and the chat header together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.controllers.changes import ChangeFeed, Changes
from jockey_desktop.core.ports import ConversationStore, Handle, Runner
from jockey_desktop.core.storage import DiskFullError, NotFoundError, StorageError
from jockey_desktop.core.storage.models import Conversation, ConversationSummary, Message
from jockey_desktop.core.storage.search import SEARCH_SHOWN

if TYPE_CHECKING:  # the export module is imported when first used (start-up time)
    from jockey_desktop.core.storage.export import ImportResult

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("markdown", "json")


def export_conversations(repo: ConversationStore, conversation_ids: list[int], fmt: str,
                         path: str) -> str:
    """Export to ``path`` in ``fmt`` ("markdown" or "json"); returns the path. Blocks."""
    from jockey_desktop.core.storage import export as storage_export

    content: Any
    if fmt == "markdown":
        content = storage_export.export_markdown(repo, conversation_ids)  # type: ignore[arg-type]
    elif fmt == "json":
        content = storage_export.export_json(repo, conversation_ids)  # type: ignore[arg-type]
    else:
        raise ValueError(f"Unknown export format {fmt!r}; use markdown or json.")
    # Atomic and 0600: an export holds private conversations.
    return str(storage_export.write_file_atomically(path, content))


#: Larger files are refused before they are read: an export of thousands of conversations is
#: a few tens of MB, and the whole file is parsed in memory.
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def export_all_conversations(repo: ConversationStore, path: str) -> tuple[str, int]:
    """Every conversation to one JSON export at ``path``; returns (path, how many). Blocks."""
    ids = [summary.conversation.id for summary in repo.list_conversations()]
    return export_conversations(repo, ids, "json", path), len(ids)


def import_conversations_file(repo: ConversationStore, path: str) -> ImportResult:
    """Import a JSON export (File → Import…); returns what was added, already present and
    left out. Blocks.

    Raises ``ImportFormatError`` (a sentence) for a file that is not such an export, and
    ``OSError`` when it cannot be read.
    """
    from pathlib import Path

    from jockey_desktop.core.storage import export as storage_export
    from jockey_desktop.core.storage.errors import ImportFormatError

    file = Path(path)
    if file.stat().st_size > MAX_IMPORT_BYTES:
        raise ImportFormatError("The file is too large to be a Jockey Desktop conversation "
                                "export.")
    return storage_export.import_json(repo, file.read_bytes())  # type: ignore[arg-type]


def import_sentence(added: int, present: int, unreadable: int = 0, problem: str = "") -> str:
    """What an import did, in words ("Imported 2 conversations. 1 was already here. 1 could
    not be read and was left out: ‹why›")."""
    noun = "conversation" if added == 1 else "conversations"
    text = f"Imported {added} {noun}." if added else "No new conversations were imported."
    if present:
        text += (f" {present} {'was' if present == 1 else 'were'} already here.")
    if unreadable:
        text += (f" {unreadable} could not be read and {'was' if unreadable == 1 else 'were'} "
                 f"left out: {problem}")
    return text


def conversation_markdown(repo: ConversationStore, conversation_id: int) -> str:
    """One conversation as Markdown, the app's one rendering of it (export and copy). Blocks."""
    from jockey_desktop.core.storage import export as storage_export

    return storage_export.export_markdown(repo, [conversation_id])  # type: ignore[arg-type]


def _write_drafts(repo: ConversationStore, drafts: dict[int, str], at_quit: bool = False
                  ) -> tuple[dict[int, str], str]:
    """Write each draft; returns the drafts a full disk refused (to keep and try again) and
    the disk's sentence. A deleted conversation must not stop the other drafts. ``at_quit``:
    the last write, whose answer reaches no one (the event loop has stopped): what the disk
    refused is logged here, on the worker."""
    refused: dict[int, str] = {}
    reason = ""
    for conversation_id, text in drafts.items():
        try:
            repo.set_draft(conversation_id, text)
        except NotFoundError:
            pass  # deleted meanwhile: its draft goes with it
        except DiskFullError as exc:
            refused[conversation_id] = text
            reason = str(exc)
        except StorageError as exc:
            log.warning("could not save the draft of conversation %d: %s", conversation_id,
                        exc)
    if refused and at_quit:
        log.warning("%d draft(s) lost at quit: the disk is still full", len(refused))
    return refused, reason


class ConversationsController(QObject):
    """Conversation CRUD, per-conversation drafts, async search, export and copy.

    ``storage_runner`` runs one job at a time, in order: writes never overtake each other.
    """

    sig_conversation_updated = Signal(object)  # ConversationSummary (added or changed)
    sig_conversation_removed = Signal(int)
    #: The whole list, read on the storage runner (``load_all_summaries``); the sidebar adds
    #: the rows it does not have yet.
    sig_summaries_loaded = Signal(object)  # list[ConversationSummary]
    #: Every row was re-read (after a restore): the sidebar replaces its list.
    sig_summaries_reset = Signal(object)  # list[ConversationSummary]
    sig_search_results = Signal(str, object)  # query, list[SearchHit]
    sig_export_done = Signal(str)  # path
    #: An export could not be written: the sentence names the file and why (a dialog: the
    #: user asked for the file and must not miss that it is not there).
    sig_export_failed = Signal(str)
    #: A short message for the status bar ("Exported to …").
    sig_notice = Signal(str)
    #: A conversation as Markdown, ready for the clipboard (conversation id, text).
    sig_markdown_ready = Signal(int, str)
    sig_error = Signal(str)

    #: How often drafts a full disk refused are tried again.
    DRAFT_RETRY_MS = 3000

    def __init__(
        self,
        repo: ConversationStore,
        storage_runner: Runner,
        feed: ChangeFeed,
        *,
        draft_delay_ms: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._repo = repo
        self._runner = storage_runner
        self._feed = feed
        self._pending_drafts: dict[int, str] = {}
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(draft_delay_ms)
        self._draft_timer.timeout.connect(self.flush_drafts)
        # Drafts a full disk refused are kept (``_pending_drafts``) and tried again.
        self._draft_retry = QTimer(self)
        self._draft_retry.setSingleShot(True)
        self._draft_retry.setInterval(self.DRAFT_RETRY_MS)
        self._draft_retry.timeout.connect(self.flush_drafts)
        self._drafts_held = False
        #: Draft writes on the runner, and who waits for them to answer (quitting).
        self._draft_writes_in_flight = 0
        self._draft_waiters: list[Callable[[], None]] = []
        self._search_handle: Handle | None = None
        self._search_query = ""
        self._list_handle: Handle | None = None
        #: Conversations deleted while the whole list is being read: a stale read must not
        #: bring them back.
        self._removed_while_listing: set[int] = set()
        self._shut_down = False
        feed.sig_changed.connect(self._on_changes)

    # ----------------------------------------------------------------- reads

    def summaries(self, limit: int | None = None) -> list[ConversationSummary]:
        """Sidebar rows, pinned first then by last activity (the newest ``limit``)."""
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

    def _on_list_done(self, summaries: list[ConversationSummary]) -> None:
        self._list_handle = None
        removed, self._removed_while_listing = self._removed_while_listing, set()
        rows = [s for s in summaries if s.conversation.id not in removed]
        self.sig_summaries_loaded.emit(rows)

    def _on_list_failed(self, error: BaseException) -> None:
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
        return conversation

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

    def has_messages(self, conversation_id: int) -> bool:
        """True once anything was asked in the conversation."""
        return bool(self.messages_page(conversation_id, 1))

    def draft(self, conversation_id: int) -> str:
        """The draft of one conversation (pending text wins over the saved one)."""
        if conversation_id in self._pending_drafts:
            return self._pending_drafts[conversation_id]
        conversation = self._repo.get_conversation(conversation_id)
        return conversation.draft if conversation is not None else ""

    # ----------------------------------------------------------------- the change feed

    @Slot(object)
    def _on_changes(self, changes: Changes) -> None:
        """Re-read each changed row once and tell the views; forget the removed ones."""
        if changes.everything:
            if self._list_handle is not None:
                self._list_handle.cancel()
                self._list_handle = None
            self.sig_summaries_reset.emit(self.summaries())
            return
        for conversation_id in changes.removed:
            if self._list_handle is not None:
                self._removed_while_listing.add(conversation_id)
            self.sig_conversation_removed.emit(conversation_id)
        for conversation_id in sorted(changes.conversations):
            summary = self.summary(conversation_id)
            if summary is None:
                if self._list_handle is not None:
                    self._removed_while_listing.add(conversation_id)
                self.sig_conversation_removed.emit(conversation_id)
            else:
                self.sig_conversation_updated.emit(summary)

    # ----------------------------------------------------------------- writes

    def create(self, store_id: str, store_name: str,
               on_created: Callable[[Conversation], object] | None = None,
               on_failed: Callable[[BaseException], object] | None = None) -> None:
        """Start a new, empty conversation on a knowledge store (written on the runner);
        ``on_created(conversation)`` is called on the GUI thread once it exists, or
        ``on_failed(error)`` (instead of ``sig_error``) when it could not be written."""
        def created(conversation: Conversation) -> None:
            self._feed.conversations([conversation.id])
            if on_created is not None:
                on_created(conversation)

        self._write(self._repo.create_conversation, store_id, store_name,
                    what="start a conversation", on_done=created, on_failed=on_failed)

    @Slot(int, str)
    def rename(self, conversation_id: int, title: str) -> None:
        """Rename (by the user: the title stops following the first question)."""
        title = " ".join(title.split())
        if not title:
            return
        self._write(self._repo.rename_conversation, conversation_id, title,
                    what="rename the conversation", changed=conversation_id)

    @Slot(int, bool)
    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin (kept at the top of the sidebar) or unpin."""
        self._write(self._repo.set_pinned, conversation_id, pinned,
                    what="pin the conversation", changed=conversation_id)

    def delete(self, conversation_id: int) -> None:
        """Delete for good (the sidebar asked for confirmation)."""
        self._pending_drafts.pop(conversation_id, None)
        if self._list_handle is not None:
            self._removed_while_listing.add(conversation_id)

        def deleted(_result: object) -> None:
            self._feed.removed([conversation_id])

        self._write(self._repo.delete_conversation, conversation_id,
                    what="delete the conversation", on_done=deleted)

    def save_draft(self, conversation_id: int, text: str) -> None:
        """Remember the composer text of ``conversation_id``; written after a short pause."""
        self._pending_drafts[conversation_id] = text
        self._draft_timer.start()

    @Slot()
    def flush_drafts(self) -> None:
        """Write every pending draft now (on the runner; also called on switch and quit)."""
        self._draft_timer.stop()
        self._draft_retry.stop()
        pending, self._pending_drafts = self._pending_drafts, {}
        if pending:
            self._draft_writes_in_flight += 1
            self._write(_write_drafts, self._repo, pending, self._shut_down,
                        what="save the draft", on_done=self._drafts_written,
                        on_failed=self._draft_write_failed)

    def held_draft_count(self) -> int:
        """How many drafts a full disk refused and wait in memory (0 when all are saved)."""
        return len(self._pending_drafts) if self._drafts_held else 0

    def try_held_drafts(self, on_done: Callable[[], None]) -> None:
        """Write the drafts waiting in memory now (on the storage runner) and call ``on_done``
        on the GUI thread once every draft write has answered: then ``held_draft_count()``
        says what is left. Quitting asks this before it warns. ``on_done`` is never called
        from inside this method."""
        self._draft_waiters.append(on_done)
        if self._pending_drafts:
            self.flush_drafts()
        elif self._draft_writes_in_flight == 0:
            QTimer.singleShot(0, self._call_draft_waiters)

    def _call_draft_waiters(self) -> None:
        if self._draft_writes_in_flight:
            return  # the write under way calls them when it answers
        waiters, self._draft_waiters = self._draft_waiters, []
        for waiter in waiters:
            waiter()

    def _draft_write_failed(self, error: BaseException) -> None:
        self.sig_error.emit(f"Could not save the draft: {error}")
        self._draft_write_answered()

    def _draft_write_answered(self) -> None:
        self._draft_writes_in_flight -= 1
        self._call_draft_waiters()

    def _drafts_written(self, result: tuple[dict[int, str], str]) -> None:
        """Keep what a full disk refused (unless newer text came meanwhile), try again."""
        try:
            self._keep_refused_drafts(*result)
        finally:
            self._draft_write_answered()

    def _keep_refused_drafts(self, refused: dict[int, str], reason: str) -> None:
        if not refused:
            if self._drafts_held:
                self._drafts_held = False
                log.info("drafts held on a full disk are saved")
            return
        if self._shut_down:
            return  # the quit's last write: ``_write_drafts`` logged what it lost
        for conversation_id, text in refused.items():
            self._pending_drafts.setdefault(conversation_id, text)
        if not self._drafts_held:
            self._drafts_held = True
            self.sig_error.emit(f"{reason} Your draft is kept and saved as soon as there "
                                "is space.")
        self._draft_retry.start()

    def _write(self, fn: Callable[..., Any], *args: Any, what: str,
               changed: int | None = None,
               on_done: Callable[[Any], object] | None = None,
               on_failed: Callable[[BaseException], object] | None = None) -> None:
        """Run one write on the storage runner; announce ``changed`` (or call ``on_done``)
        once it is durable, or say what could not be done (``on_failed`` when given)."""
        if self._shut_down and fn is not _write_drafts:
            log.info("not done after quit: %s", what)
            return
        def succeeded(result: object) -> None:
            if changed is not None:
                self._feed.conversations([changed])
            if on_done is not None:
                on_done(result)

        def failed(error: BaseException) -> None:
            log.warning("could not %s: %s", what, error)
            if changed is not None:
                self._feed.conversations([changed])  # show what is really stored
            if on_failed is not None:
                on_failed(error)
            else:
                self.sig_error.emit(f"Could not {what}: {error}")

        self._runner.submit(fn, *args, on_success=succeeded, on_error=failed)

    # ----------------------------------------------------------------- async reads

    @Slot(str)
    def search(self, query: str) -> None:
        """Search titles and messages; the hits arrive by ``sig_search_results``: the best
        ``SEARCH_SHOWN``, and one more when more conversations match.

        A newer query supersedes an older one still running: its result is dropped.
        """
        if self._shut_down:
            return  # a debounced search arriving after quit
        if self._search_handle is not None:
            self._search_handle.cancel()
        self._search_query = query
        if not query.strip():
            self._search_handle = None
            self.sig_search_results.emit(query, [])
            return
        # One more than is listed: the sidebar then knows whether more conversations match.
        self._search_handle = self._runner.submit(
            self._repo.search, query, SEARCH_SHOWN + 1, on_success=self._on_search_done,
            on_error=self._on_search_failed)

    def _on_search_done(self, hits: list[Any]) -> None:
        self._search_handle = None
        self.sig_search_results.emit(self._search_query, list(hits))

    def _on_search_failed(self, error: BaseException) -> None:
        self._search_handle = None
        log.warning("search failed: %s", error)
        self.sig_search_results.emit(self._search_query, [])

    def export(self, conversation_ids: Iterable[int], fmt: str, path: str) -> None:
        """Export conversations to a file off the GUI thread → ``sig_export_done(path)``, or
        ``sig_export_failed(sentence)`` when the file could not be written."""
        if fmt not in EXPORT_FORMATS:
            self.sig_error.emit(f"Unknown export format “{fmt}”.")
            return
        self.flush_drafts()

        def failed(error: BaseException) -> None:
            self._on_export_failed(str(path), error)

        self._runner.submit(
            export_conversations, self._repo, list(conversation_ids), fmt, str(path),
            on_success=self._on_export_done, on_error=failed)

    @Slot(int, str, str)
    def export_one(self, conversation_id: int, fmt: str, path: str) -> None:
        """Export one conversation (the window asked where) → ``sig_export_done(path)``."""
        self.export([conversation_id], fmt, path)

    @Slot(str)
    def export_all(self, path: str) -> None:
        """Every conversation to one JSON file off the GUI thread → ``sig_export_done(path)``
        and a notice saying how many (``sig_export_failed`` when it could not be written)."""
        self.flush_drafts()  # queued first: the export holds what was just typed

        def done(result: tuple[str, int]) -> None:
            written, count = result
            self.sig_export_done.emit(written)
            noun = "conversation" if count == 1 else "conversations"
            self.sig_notice.emit(f"Exported {count} {noun} to {written}")

        def failed(error: BaseException) -> None:
            self._on_export_failed(path, error)

        self._runner.submit(export_all_conversations, self._repo, path, on_success=done,
                            on_error=failed)

    def _on_export_done(self, path: str) -> None:
        self.sig_export_done.emit(str(path))
        self.sig_notice.emit(f"Exported to {path}")

    def _on_export_failed(self, path: str, error: BaseException) -> None:
        log.warning("export failed: %s", error)
        # The file is named: "Export failed: Is a directory" said neither which nor what to do.
        if isinstance(error, OSError):  # the one wording of a file that could not be saved
            from jockey_desktop.core.storage.export import write_failure_text

            self.sig_export_failed.emit(
                f"Nothing was exported: {write_failure_text(path, error)}")
            return
        detail = str(error) or type(error).__name__
        self.sig_export_failed.emit(f"Nothing was exported: {path} could not be written "
                                    f"({detail}). Choose another folder or file name.")

    @Slot(str)
    def import_file(self, path: str) -> None:
        """Import a JSON export off the GUI thread; the list shows the new conversations and
        ``sig_notice`` says how many (``sig_error`` says why not)."""
        if self._shut_down:
            return

        def done(result: ImportResult) -> None:
            if result.imported:
                self._feed.everything()
            self.sig_notice.emit(import_sentence(result.imported, result.skipped,
                                                 result.unreadable, result.problem))

        def failed(error: BaseException) -> None:
            log.warning("import failed: %s", error)
            detail = getattr(error, "strerror", None) or str(error)
            self.sig_error.emit(f"Nothing was imported from {path}: {detail}")

        self._runner.submit(import_conversations_file, self._repo, path,
                            on_success=done, on_error=failed)

    def copy_markdown(self, conversation_id: int) -> None:
        """Render one conversation as Markdown off the GUI thread →
        ``sig_markdown_ready(conversation id, text)`` (for "Copy conversation")."""
        def ready(text: str) -> None:
            self.sig_markdown_ready.emit(conversation_id, text)

        def failed(error: BaseException) -> None:
            log.warning("copying the conversation failed: %s", error)
            self.sig_error.emit(f"Could not copy the conversation: {error}")

        self._runner.submit(conversation_markdown, self._repo, conversation_id,
                            on_success=ready, on_error=failed)

    def shutdown(self) -> None:
        """Queue pending drafts and cancel a running search (called on quit, before the
        storage runner is drained); later requests are ignored."""
        self._shut_down = True  # first: the flush below is the last write of the drafts
        self.flush_drafts()
        for handle in (self._search_handle, self._list_handle):
            if handle is not None:
                handle.cancel()
        self._search_handle = self._list_handle = None
