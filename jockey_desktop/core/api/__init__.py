"""The Jockey API client: ``JockeyClient``, its records, stream events and typed errors.

Pure Python (requests), never imports Qt. See docs/ARCHITECTURE.md ("core.api").
"""

from jockey_desktop.core.api.cancel import CancelToken
from jockey_desktop.core.api.citations import Citation
from jockey_desktop.core.api.client import DEFAULT_BASE_URL, MODEL, USER_AGENT, JockeyClient
from jockey_desktop.core.api.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidRequestError,
    ItemNotFoundError,
    JockeyError,
    NetworkError,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    RequestTimedOutError,
    ServerError,
    SessionLostError,
    SessionStoreMismatchError,
    StoreNotFoundError,
    StoreNotReadyError,
)
from jockey_desktop.core.api.models import (
    KeepAlive,
    KnowledgeStore,
    KnowledgeStoreItem,
    Response,
    ResponseCreated,
    ResponseDone,
    StreamEvent,
    TextDelta,
    Usage,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MODEL",
    "USER_AGENT",
    "AuthenticationError",
    "CancelToken",
    "Citation",
    "ForbiddenError",
    "InvalidRequestError",
    "ItemNotFoundError",
    "JockeyClient",
    "JockeyError",
    "KeepAlive",
    "KnowledgeStore",
    "KnowledgeStoreItem",
    "NetworkError",
    "ProtocolError",
    "RateLimitedError",
    "RequestCancelledError",
    "RequestTimedOutError",
    "Response",
    "ResponseCreated",
    "ResponseDone",
    "ServerError",
    "SessionLostError",
    "SessionStoreMismatchError",
    "StoreNotFoundError",
    "StoreNotReadyError",
    "StreamEvent",
    "TextDelta",
    "Usage",
]
