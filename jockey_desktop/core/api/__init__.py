"""The Jockey API client: ``JockeyClient``, its records, stream events and typed errors.

Pure Python (requests), never imports Qt. See docs/ARCHITECTURE.md ("core.api").

The client module (and with it requests/urllib3, ~50 ms) is imported on first use of one of
its names, not with the package: the app's first paint needs the errors and records only, and
the client is first used when a worker talks to the server.
"""

from typing import TYPE_CHECKING, Any

from jockey_desktop.core.api.cancel import CancelToken
from jockey_desktop.core.api.citations import Citation, WebSource
from jockey_desktop.core.api.errors import (
    ApiNotFoundError,
    AssetNotFoundError,
    AuthenticationError,
    CollectionNotFoundError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    InvalidRequestError,
    ItemNotFoundError,
    JockeyError,
    MalformedKeyError,
    MediaUrlExpiredError,
    NetworkError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    RequestTimedOutError,
    ServerError,
    SessionLostError,
    SessionStoreMismatchError,
    StoreNotFoundError,
    StoreNotReadyError,
    StreamCutError,
    UploadNotFoundError,
    UploadSourceChangedError,
    UploadUrlExpiredError,
)
from jockey_desktop.core.api.metadata import MetadataScope, MetadataValue, validate_metadata
from jockey_desktop.core.api.models import (
    KeepAlive,
    KnowledgeStore,
    KnowledgeStoreItem,
    Response,
    ResponseCreated,
    ResponseDone,
    RetryWait,
    Selection,
    Step,
    StepFinished,
    StepStarted,
    StreamEvent,
    TextDelta,
    Usage,
    WebSearchProgress,
)
from jockey_desktop.core.api.resources import (
    Asset,
    AssetDetail,
    ChunkStatus,
    CompletedChunk,
    ItemCollection,
    MultipartStatus,
    MultipartUpload,
    ReportResult,
    SearchHit,
    SearchMatch,
    SearchPage,
    Transcription,
    TranscriptSentence,
    UploadUrl,
)

if TYPE_CHECKING:  # type checkers see the names directly
    from jockey_desktop.core.api.client import DEFAULT_BASE_URL, USER_AGENT, JockeyClient

_FROM_CLIENT = frozenset({"DEFAULT_BASE_URL", "USER_AGENT", "JockeyClient"})


def __getattr__(name: str) -> Any:
    """Import the client module on first access to one of its names (PEP 562)."""
    if name in _FROM_CLIENT:
        from jockey_desktop.core.api import client

        value = getattr(client, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "ApiNotFoundError",
    "Asset",
    "AssetDetail",
    "AssetNotFoundError",
    "AuthenticationError",
    "CancelToken",
    "ChunkStatus",
    "Citation",
    "CollectionNotFoundError",
    "CompletedChunk",
    "ConflictError",
    "ForbiddenError",
    "InvalidInputError",
    "InvalidRequestError",
    "ItemCollection",
    "ItemNotFoundError",
    "JockeyClient",
    "JockeyError",
    "KeepAlive",
    "KnowledgeStore",
    "KnowledgeStoreItem",
    "MalformedKeyError",
    "MediaUrlExpiredError",
    "MetadataScope",
    "MetadataValue",
    "MultipartStatus",
    "MultipartUpload",
    "NetworkError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitedError",
    "ReportResult",
    "RequestCancelledError",
    "RequestTimedOutError",
    "Response",
    "ResponseCreated",
    "ResponseDone",
    "RetryWait",
    "SearchHit",
    "SearchMatch",
    "SearchPage",
    "Selection",
    "ServerError",
    "SessionLostError",
    "SessionStoreMismatchError",
    "Step",
    "StepFinished",
    "StepStarted",
    "StoreNotFoundError",
    "StoreNotReadyError",
    "StreamCutError",
    "StreamEvent",
    "TextDelta",
    "TranscriptSentence",
    "Transcription",
    "UploadNotFoundError",
    "UploadSourceChangedError",
    "UploadUrl",
    "UploadUrlExpiredError",
    "Usage",
    "WebSearchProgress",
    "WebSource",
    "validate_metadata",
]
