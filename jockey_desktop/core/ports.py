"""What the application layer needs of the services it is given, as Protocols (no Qt).

The controllers are typed against these rather than the concrete classes, so a test can hand
them a fake client, a counting repository proxy or a synchronous runner, and the type checker
still knows every call. The real implementations are ``core.api.JockeyClient``,
``core.storage.Repository`` and ``concurrency.TaskRunner``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from jockey_desktop.core.storage.models import MessageStatus

if TYPE_CHECKING:  # names in annotations only: importing ports costs nothing at start-up
    from jockey_desktop.core.api import (
        Asset,
        AssetDetail,
        CancelToken,
        ItemCollection,
        KnowledgeStore,
        KnowledgeStoreItem,
        StreamEvent,
    )
    from jockey_desktop.core.storage.database import OpenReport
    from jockey_desktop.core.storage.models import (
        Conversation,
        ConversationSummary,
        Message,
        SearchHit,
        TurnWrite,
    )

T = TypeVar("T")


class Handle(Protocol):
    """A submitted job: it can be cancelled (its outcome is then dropped)."""

    def cancel(self) -> None:
        """Drop the outcome; skip the job if it has not started."""


class Runner(Protocol):
    """Runs a blocking function off the GUI thread and reports back on the GUI thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any,
               on_success: Callable[[T], object] | None = None,
               on_error: Callable[[BaseException], object] | None = None,
               **kwargs: Any) -> Handle:
        """Run ``fn(*args, **kwargs)``; call ``on_success(result)`` or ``on_error(exc)``."""
        ...


class KeyStore(Protocol):
    """Where the API key is kept (``core.secrets.ApiKeyStore``); every call may block."""

    def get(self) -> str | None:
        """The key in use, or None."""
        ...

    def set(self, key: str) -> object:
        """Store ``key``; returns where it was stored (a ``KeyLocation``)."""
        ...

    def delete(self) -> None:
        """Forget the stored key."""
        ...

    def location(self) -> object:
        """Where the key in use comes from (a ``KeyLocation``)."""
        ...


class ApiClient(Protocol):
    """The Jockey API as the app uses it (``core.api.JockeyClient``)."""

    def stream_response(self, knowledge_store_id: str, text: str, *,
                        session_id: str | None = None, instructions: str | None = None,
                        cancel: CancelToken | None = None,
                        **extra: Any) -> Iterator[StreamEvent]:
        """Ask one question; yields the answer's events as they stream in."""
        ...

    def list_knowledge_stores(self) -> list[KnowledgeStore]:
        """Every knowledge store of the account."""
        ...


class FullApiClient(ApiClient, Protocol):
    """The client the app builds: also lists items, says its proxy and can be closed."""

    def list_items(self, store_id: str,
                   status: str | Sequence[str] | None = None) -> list[KnowledgeStoreItem]:
        """Every item of a store, optionally only those with the given status(es)."""
        ...

    def proxy_for_base_url(self) -> str | None:
        """The proxy requests to the server go through, if any."""
        ...

    def close(self) -> None:
        """Cancel running requests and release pooled connections."""
        ...


class StoreApiClient(FullApiClient, Protocol):
    """The client as the stores view and the upload queue use it: managing stores, items
    and collections, and uploading (``core.api.JockeyClient``)."""

    def get_knowledge_store(self, store_id: str) -> KnowledgeStore:
        """One store."""
        ...

    def create_knowledge_store(self, name: str, *, description: str | None = None,
                               metadata: Any = None) -> KnowledgeStore:
        """A new store."""
        ...

    def update_knowledge_store(self, store_id: str, *, name: str | None = None,
                               description: str | None = None,
                               metadata: Any = None) -> KnowledgeStore:
        """Change a store's name, description or metadata."""
        ...

    def delete_knowledge_store(self, store_id: str) -> None:
        """Delete a store and every item in it."""
        ...

    def get_item(self, store_id: str, item_id: str) -> KnowledgeStoreItem:
        """One item of a store."""
        ...

    def add_item(self, store_id: str, asset_id: str, *, asset_type: Any,
                 metadata: Any = None) -> KnowledgeStoreItem:
        """Add an uploaded asset to a store."""
        ...

    def delete_item(self, store_id: str, item_id: str) -> None:
        """Remove an item from its store."""
        ...

    def list_collections(self, store_id: str) -> list[ItemCollection]:
        """A store's item collections."""
        ...

    def create_collection(self, store_id: str, name: str, *, description: str | None = None,
                          metadata: Any = None) -> ItemCollection:
        """A new collection."""
        ...

    def update_collection(self, store_id: str, collection_id: str, *,
                          name: str | None = None, description: str | None = None,
                          metadata: Any = None) -> ItemCollection:
        """Rename a collection (or change its description or metadata)."""
        ...

    def delete_collection(self, store_id: str, collection_id: str) -> None:
        """Delete a collection (its items stay in the store)."""
        ...

    def list_collection_items(self, store_id: str,
                              collection_id: str) -> list[KnowledgeStoreItem]:
        """The items of a collection."""
        ...

    def add_collection_items(self, store_id: str, collection_id: str,
                             item_ids: Sequence[str]) -> ItemCollection:
        """Add items to a collection."""
        ...

    def remove_collection_items(self, store_id: str, collection_id: str,
                                item_ids: Sequence[str]) -> None:
        """Remove items from a collection."""
        ...

    def get_asset(self, asset_id: str) -> AssetDetail:
        """An uploaded file with its processing status."""
        ...

    def create_asset_from_url(self, url: str, *, filename: str | None = None) -> Asset:
        """Have the server fetch a URL as a new asset."""
        ...


class ConversationStore(Protocol):
    """The conversation history as the app uses it (``core.storage.Repository``).

    Reads are short and may run on the GUI thread; writes run on the storage runner.
    """

    db_path: Path
    backup_dir: Path
    #: What happened when the file was opened (or last replaced after damage).
    open_report: OpenReport

    # reads
    def get_conversation_by_uid(self, uid: str) -> Conversation | None:
        """The conversation with this uid (unique across files), or None."""
        ...

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        """One conversation, or None."""
        ...

    def list_conversations(self, limit: int | None = None,
                           offset: int = 0) -> list[ConversationSummary]:
        """Sidebar rows, pinned first, then by last activity."""
        ...

    def get_summary(self, conversation_id: int) -> ConversationSummary | None:
        """One sidebar row, or None when the conversation is gone."""
        ...

    def list_messages(self, conversation_id: int) -> list[Message]:
        """A whole transcript, oldest first."""
        ...

    def list_messages_page(self, conversation_id: int, *, limit: int,
                           before_id: int | None = None) -> list[Message]:
        """Up to ``limit`` messages older than ``before_id`` (newest when None), oldest first."""
        ...

    def get_message(self, message_id: int) -> Message | None:
        """One message, or None."""
        ...

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over titles and messages."""
        ...

    def latest_backup(self) -> Path | None:
        """The newest backup file, if any."""
        ...

    # writes
    def create_conversation(self, store_id: str, store_name: str, title: str = "",
                            instructions: str | None = None, *,
                            origin_conversation_id: int | None = None,
                            origin_message_id: int | None = None,
                            web_search: bool = False) -> Conversation:
        """A new, empty conversation on a knowledge store (a fork links back to its
        origin)."""
        ...

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        """Set the title (it stops following the first question)."""
        ...

    def set_pinned(self, conversation_id: int, pinned: bool) -> Conversation:
        """Pin or unpin."""
        ...

    def set_draft(self, conversation_id: int, text: str) -> Conversation:
        """Save the composer text of a conversation."""
        ...

    def set_web_search(self, conversation_id: int, on: bool) -> Conversation:
        """Turn "Also search the web" on or off for a conversation."""
        ...

    def set_session_id(self, conversation_id: int, session_id: str | None) -> Conversation:
        """Save (or forget) the server-side session id; durable on return."""
        ...

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation and its messages."""
        ...

    def start_turn(self, conversation_id: int, text: str, *,
                   selections: Iterable[Any] = ()) -> tuple[Message, Message]:
        """A question (PENDING) and its answer row (STREAMING), one transaction."""
        ...

    def restart_turn(self, question_id: int) -> tuple[Message, Message]:
        """The question back to PENDING and a new STREAMING answer row, one transaction."""
        ...

    def complete_turn(self, question_id: int, answer_id: int, *, text: str,
                      citations: Iterable[Any] = (), steps: Iterable[Any] = (),
                      input_tokens: int | None = None, output_tokens: int | None = None,
                      response_id: str | None = None, session_id: str | None = None,
                      status: MessageStatus = MessageStatus.COMPLETE) -> TurnWrite:
        """A turn answered: both rows and the conversation's session, one transaction."""
        ...

    def end_turn(self, question_id: int, answer_id: int, *, status: MessageStatus,
                 error_code: str | None, error_message: str | None, text: str | None = None,
                 steps: Iterable[Any] = (), retry_at: float | None = None) -> TurnWrite:
        """A turn that did not complete (failed, cancelled, interrupted), one transaction."""
        ...

    def flush_partial_text(self, message_id: int, text: str) -> bool:
        """Save the text that arrived so far."""
        ...

    def fail_message(self, message_id: int, *, status: MessageStatus,
                     error_code: str | None, error_message: str | None,
                     text: str | None = None, retry_at: float | None = None) -> Message:
        """Close one row with a reason (e.g. an old attempt asked again below)."""
        ...

    def add_session_seam(self, conversation_id: int, old_session_id: str | None,
                         reason: str) -> Message:
        """A marker row: the conversation continues in a new server-side session."""
        ...

    def backup_now(self, reason: str = "manual") -> Path:
        """Copy the database into the backup folder; returns the backup's path."""
        ...

    def restore_backup(self, path: Path | None = None) -> Path:
        """Replace the database with a backup (the current state is backed up first)."""
        ...

    def replace_damaged(self, reason: str = ...) -> Path:
        """Move a file found damaged aside and start a new, empty one; returns where the
        damaged file went."""
        ...

    def close(self) -> None:
        """Close the database."""
        ...
