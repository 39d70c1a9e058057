"""Plain data records of the conversation history (no Qt, no SQL).

These are what the repository returns and what the UI models hold. Times are Unix epoch
seconds (float, UTC). Citations are stored as plain dicts (see ``CITATION_KEYS``) so that the
storage layer does not depend on the API client's classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Role(str, Enum):
    """Who a transcript row belongs to."""

    USER = "user"
    ASSISTANT = "assistant"
    #: A marker row: the conversation switched to a new server-side session here.
    SEAM = "seam"


class MessageStatus(str, Enum):
    """Lifecycle of one message."""

    PENDING = "pending"  # user message saved, request not yet answered
    STREAMING = "streaming"  # assistant reply arriving
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the app stopped (crash, quit) while it was streaming
    CANCELLED = "cancelled"  # the user pressed Stop


#: Keys of one stored citation dict. ``marker_start``/``marker_end`` are Python string
#: indices into the message text (end exclusive) or None; ``start_sec``/``end_sec`` None means
#: the whole video. ``kind`` is the annotation type or "inline_time" / "vref".
CITATION_KEYS = (
    "kind",
    "marker_start",
    "marker_end",
    "item_id",
    "collection_id",
    "start_sec",
    "end_sec",
    "title",
    "thumbnail_url",
    "hls_url",
)


@dataclass
class Conversation:
    """One saved conversation; ``session_id`` is None until the server has assigned one."""

    id: int
    uid: str  # stable UUID, used to de-duplicate imports
    title: str
    store_id: str
    store_name: str
    session_id: str | None
    instructions: str | None
    created_at: float
    updated_at: float  # last activity; the sidebar sorts by it
    pinned: bool = False
    draft: str = ""
    title_is_auto: bool = True  # True until the user renames it
    #: A fork ("continue in a new conversation from here", "edit and ask") links back to the
    #: conversation and message it came from; None when there is none or it was deleted.
    origin_conversation_id: int | None = None
    origin_message_id: int | None = None
    #: "Also search the web": requests of this conversation send the web-search tool.
    web_search: bool = False


@dataclass
class ConversationSummary:
    """A sidebar row: the conversation plus the state of its newest message."""

    conversation: Conversation
    message_count: int = 0
    #: Status of the newest assistant message, or None when there is none.
    last_status: MessageStatus | None = None


@dataclass
class Message:
    """One transcript row: a user question, an assistant answer or a session seam."""

    id: int
    uid: str
    conversation_id: int
    role: Role
    text: str
    status: MessageStatus
    created_at: float
    updated_at: float
    #: For an assistant message: the id of the user message it answers.
    reply_to: int | None = None
    #: Server session this turn was sent in (for seams: the new session, if known).
    session_id: str | None = None
    response_id: str | None = None
    error_code: str | None = None  # e.g. "rate_limited", "session_lost"; see the client errors
    error_message: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: Bumped on every change; UI caches key rendered documents on (id, revision, width).
    revision: int = 0
    #: For a rate-limited answer: when the turn may be retried (epoch seconds), else None.
    retry_at: float | None = None
    #: ``text`` as plain text (Markdown stripped, ``{{sel:N}}`` resolved), written with the
    #: text by storage; search indexes it and snippets are cut from it.
    plain_text: str = ""
    #: For a question: what it asked about, ``{"kind", "id", "name"}`` dicts in placeholder
    #: order (``{{sel:0}}`` is the first).
    selections: list[dict[str, Any]] = field(default_factory=list)
    #: For an answer: the agent's intermediate steps, plain dicts opaque to storage.
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TurnWrite:
    """What one turn write changed, read back inside its transaction: callers never re-read."""

    question: Message
    answer: Message
    conversation: Conversation


#: Keys of one stored selection dict (``Message.selections``); ``kind`` is "item" or
#: "collection".
SELECTION_KEYS = ("kind", "id", "name")


@dataclass
class SearchHit:
    """One full-text search result. Highlighted words in ``snippet`` are wrapped in
    ``HIGHLIGHT_START`` / ``HIGHLIGHT_END``."""

    conversation_id: int
    title: str
    snippet: str
    message_id: int | None  # None when the hit is in the title
    rank: float


class UploadMethod(str, Enum):
    """How a file reaches the API."""

    DIRECT = "direct"  # one multipart/form-data POST /assets (small files)
    MULTIPART = "multipart"  # an upload session: chunks PUT to presigned URLs
    URL = "url"  # the API fetches the file from a URL


class UploadState(str, Enum):
    """Where one queued upload is (the upload queue's own lifecycle)."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    PAUSED = "paused"
    PROCESSING = "processing"  # the asset is being processed by the API
    ADDING = "adding"  # being added to the knowledge store
    INDEXING = "indexing"  # the store item is indexing
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States an upload leaves only when the user acts (retry, remove); the rest are active.
UPLOAD_DONE_STATES = frozenset({UploadState.READY, UploadState.FAILED, UploadState.CANCELLED})


@dataclass(frozen=True)
class Upload:
    """One file (or URL) in the upload queue, as stored; survives quit, crash and restart.

    ``chunks`` are the multipart chunks already reported, ``(index, etag, size)`` sorted by
    index, so an interrupted multipart upload resumes after them; ``bytes_done`` is the sum
    of their sizes (or the progress of a direct upload).
    """

    id: int
    uid: str
    batch_id: str  # files added together (one drop, one dialog) share it
    store_id: str
    path: str  # the local file; "" for a URL upload
    filename: str
    size: int | None  # bytes; None when unknown (a URL)
    mtime_ns: int | None  # the file's modification time when queued (detects a changed file)
    asset_type: str  # "video", "image", … sent explicitly, never defaulted by the API
    method: UploadMethod
    url: str | None
    state: UploadState
    upload_id: str | None  # the multipart upload session
    asset_id: str | None
    item_id: str | None  # the knowledge-store item, once added
    chunk_size: int | None
    total_chunks: int | None
    chunks: tuple[tuple[int, str, int], ...]
    bytes_done: int
    error_message: str | None
    created_at: float
    updated_at: float
    #: The multipart session's ``upload_headers`` (name, value), sent with every chunk PUT,
    #: also after a restart; empty without a session (and for rows saved before v4).
    upload_headers: tuple[tuple[str, str], ...] = ()
    #: The API this upload was queued for ("sandbox" or a normalised base URL; never a key);
    #: None until a server adopts it (rows queued while disconnected, rows from before v4).
    server: str | None = None

    @property
    def active(self) -> bool:
        """True until the upload is ready, failed or cancelled."""
        return self.state not in UPLOAD_DONE_STATES


HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
