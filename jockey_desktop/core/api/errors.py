"""Typed errors of the Jockey API client.

Each subclass stands for one thing a user (or the controller) must react to differently:
fix the key, start a new session, wait, resend, check the network... ``str(error)`` is a
complete sentence meant for a user; it never contains the API key (the client redacts any
server text before it reaches an error).
"""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any


class JockeyError(Exception):
    """Base class of every error raised by :class:`~jockey_desktop.core.api.JockeyClient`.

    ``message`` is the detail (usually the server's own message, possibly empty); ``str()``
    puts a class-specific summary in front of it so the result always reads as a sentence.
    """

    #: Sentence shown when there is no better detail.
    summary = "The Jockey request failed."

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        session_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.session_id = session_id

    def user_summary(self) -> str:
        """The class-specific first sentence of ``str(self)``."""
        return self.summary

    def __str__(self) -> str:
        head = self.user_summary()
        detail = self.message.strip()
        if not detail or detail == head:
            return head
        if detail[-1] not in ".!?":
            detail += "."
        return f"{head} {detail}"

    def __repr__(self) -> str:
        # The message is already key-free; repr keeps the machine-readable parts visible.
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, session_id={self.session_id!r})"
        )


class AuthenticationError(JockeyError):
    """The API key is missing, invalid or expired (HTTP 401)."""

    summary = "The API key was not accepted; check it in Settings."


class MalformedKeyError(AuthenticationError):
    """The API key holds characters an HTTP header cannot carry (a line break, non-ASCII).

    Raised before anything is sent, so a pasted key with a stray newline or a typographic
    character reads as "paste it again" instead of a network failure or an encoding crash.
    """

    summary = (
        "The API key contains characters that can't be sent (a line break or a non-ASCII "
        "character); paste it again."
    )


class ForbiddenError(AuthenticationError):
    """The key is valid but the account may not do this (HTTP 403: plan, region, access)."""

    summary = "This account is not allowed to use this part of the API."


class SessionLostError(JockeyError):
    """The ``session_id`` is unknown or expired; the conversation needs a new session."""

    summary = "The server no longer knows this conversation's session; a new one must be started."


class NotFoundError(JockeyError):
    """Something the request names does not exist (HTTP 404); subclasses say what."""

    summary = "The requested object was not found on the server."


class ApiNotFoundError(NotFoundError):
    """The list of knowledge stores itself was not found (HTTP 404 on ``/knowledge-stores``):
    no Jockey API answers at the base URL (a wrong address, a missing ``/v1.3``)."""

    summary = "The server at this address does not offer the Jockey API."


class StoreNotFoundError(NotFoundError):
    """A knowledge store (or, via the subclass, an item) does not exist (HTTP 404)."""

    summary = "The knowledge store was not found."


class ItemNotFoundError(StoreNotFoundError):
    """A knowledge store item does not exist (HTTP 404 on an item lookup)."""

    summary = "The knowledge store item was not found."


class CollectionNotFoundError(NotFoundError):
    """An item collection does not exist (HTTP 404 under ``…/item-collections``)."""

    summary = "The item collection was not found."


class AssetNotFoundError(NotFoundError):
    """An asset does not exist (HTTP 404 under ``/assets``)."""

    summary = "The uploaded file (asset) was not found on the server."


class UploadNotFoundError(NotFoundError):
    """A multipart upload session does not exist or is gone (HTTP 404)."""

    summary = "The upload session was not found on the server; the file must be sent again."


class MediaUrlExpiredError(JockeyError):
    """A signed media URL (thumbnail, HLS manifest) was refused (401/403/404/410): it has
    most likely expired; resolve a fresh one through ``JockeyClient.get_asset``."""

    summary = "The media address has expired and must be fetched again."


class UploadUrlExpiredError(MediaUrlExpiredError):
    """A presigned chunk-upload URL was refused: expired or already used; ask for new ones
    with ``JockeyClient.renew_upload_urls``."""

    summary = "The upload address has expired or was already used; a new one is needed."


class UploadSourceChangedError(JockeyError):
    """The file being uploaded changed size, was modified or disappeared mid-upload; what
    reached the server would not be the file, so the upload was stopped."""

    summary = "The file changed or disappeared while it was being uploaded; add it again."


class InvalidRequestError(JockeyError):
    """The server rejected the request as invalid (HTTP 400 and other plain 4xx)."""

    summary = "The server rejected the request as invalid."


class InvalidInputError(InvalidRequestError):
    """The client refused a request before sending it (a selection id of the wrong kind,
    metadata past the documented limits...); the detail says what to change."""

    summary = "The request was not sent."


class ConflictError(InvalidRequestError):
    """HTTP 409: the server's current state forbids this (an asset still used by indexed
    items, a collection name already taken)."""

    summary = "The server refused because something else depends on or already uses this."


class StoreNotReadyError(InvalidRequestError):
    """The knowledge store has no ``ready`` items yet, so it cannot answer."""

    summary = "The knowledge store has no videos ready yet; try again when indexing finishes."


class SessionStoreMismatchError(InvalidRequestError):
    """The session belongs to another knowledge store; never resend unchanged."""

    summary = "This conversation's session belongs to a different knowledge store."


class RateLimitedError(JockeyError):
    """HTTP 429: too many requests or a plan cap. ``retry_after`` is the wait in seconds."""

    summary = "Rate limited by the server; try again later."

    def user_summary(self) -> str:
        """Say how long to wait when the server told us."""
        if self.retry_after is not None:
            return f"Rate limited by the server; try again in {round(self.retry_after)} s."
        return self.summary


class ServerError(JockeyError):
    """The server failed (HTTP 5xx, or a ``response.failed`` stream event)."""

    summary = "The Jockey server reported an error."


class NetworkError(JockeyError):
    """The server could not be reached: DNS, refused connection, TLS, proxy, reset."""

    summary = "Could not reach the Jockey server; check the network connection or proxy."


class RequestTimedOutError(JockeyError):
    """The server was reachable but too slow (read timeout or an idle stream)."""

    summary = "The Jockey server took too long to answer."


class ProtocolError(JockeyError):
    """The reply could not be understood: bad JSON, wrong content type, a cut stream."""

    summary = "The server's reply could not be understood."


class StreamCutError(ProtocolError):
    """The reply stream ended (or its connection broke) before the turn's terminal event:
    nothing was misunderstood, the answer is just incomplete (its partial text is kept)."""

    summary = "The connection to the server closed before the answer was complete."


class RequestCancelledError(JockeyError):
    """The request was cancelled through its :class:`CancelToken`."""

    summary = "The request was stopped."


def size_text(n_bytes: int) -> str:
    """A byte count as people read it in a sentence: ``8 MiB``, ``1.5 KiB``, ``300 bytes``."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= factor:
            value = n_bytes / factor
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{n_bytes} bytes"


__all__ = [
    "ApiNotFoundError",
    "AssetNotFoundError",
    "AuthenticationError",
    "CollectionNotFoundError",
    "ConflictError",
    "ForbiddenError",
    "InvalidInputError",
    "InvalidRequestError",
    "ItemNotFoundError",
    "JockeyError",
    "MalformedKeyError",
    "MediaUrlExpiredError",
    "NetworkError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitedError",
    "RequestCancelledError",
    "RequestTimedOutError",
    "ServerError",
    "SessionLostError",
    "SessionStoreMismatchError",
    "StoreNotFoundError",
    "StoreNotReadyError",
    "StreamCutError",
    "UploadNotFoundError",
    "UploadSourceChangedError",
    "UploadUrlExpiredError",
    "error_from_failed_event",
    "error_from_http",
    "parse_retry_after",
    "size_text",
]


# --- mapping server answers to classes -------------------------------------------------

_RETRY_AFTER_TEXT_RE = re.compile(
    r"after\s+(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\b", re.IGNORECASE
)
_NOT_READY_RE = re.compile(r"\bno\b[^.]*\bitems?\b[^.]*\bready\b|\bnot\s+ready\b", re.IGNORECASE)
_MISMATCH_RE = re.compile(r"\bbelongs\s+to\s+(?:a\s+|another\s+)?knowledge[\s_-]?store", re.I)
# "session", "sessions", "session_id", "session id": the message is about the session.
_SESSION_WORD_RE = re.compile(r"\bsessions?(?:[ _-]?ids?)?\b", re.IGNORECASE)

_RATE_CODES = frozenset({"too_many_requests", "plan_limit_exceeded", "rate_limit_exceeded"})
_AUTH_CODES = frozenset({"unauthorized", "api_key_invalid", "api_key_expired"})
_FORBIDDEN_CODES = frozenset({"api_not_allowed", "api_allowed_for_paid_plan", "region_not_allowed"})
_TIMEOUT_CODES = frozenset({"request_canceled_or_timed_out", "timeout", "request_timeout"})


def parse_retry_after(header: str | None, message: str = "", *, now: float | None = None) -> (
    float | None
):
    """Seconds to wait, from a ``Retry-After`` header (seconds or HTTP date) or the message."""
    if header:
        value = header.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                reference = time.time() if now is None else now
                return max(0.0, when.timestamp() - reference)
        else:
            if seconds >= 0 and seconds == seconds:  # rejects NaN
                return seconds
    match = _RETRY_AFTER_TEXT_RE.search(message or "")
    if match:
        return float(match.group(1))
    return None


def error_from_http(
    status: int,
    code: str | None,
    message: str,
    *,
    path: str = "",
    sent_session_id: str | None = None,
    retry_after_header: str | None = None,
) -> JockeyError:
    """Map an HTTP error answer to its class: by status first, then by ``code``.

    ``message`` must already be redacted. ``path`` is the request path (``/responses``,
    ``/knowledge-stores/…/items/…``) and decides what a 404 means.
    """
    kwargs: dict[str, Any] = {"status": status, "code": code, "session_id": sent_session_id}
    is_responses = path.rstrip("/").endswith("/responses")
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 403:
        return ForbiddenError(message, **kwargs)
    if status == 404:
        if is_responses and sent_session_id and _concerns_session(message, sent_session_id):
            return SessionLostError(message, **kwargs)
        return _not_found_class(path)(message, **kwargs)
    if status == 429:
        kwargs["retry_after"] = parse_retry_after(retry_after_header, message)
        return RateLimitedError(message, **kwargs)
    if status == 408:
        return RequestTimedOutError(message, **kwargs)
    if status == 409:
        return ConflictError(message, **kwargs)
    if 400 <= status < 500:
        if _MISMATCH_RE.search(message):
            return SessionStoreMismatchError(message, **kwargs)
        if _NOT_READY_RE.search(message):
            return StoreNotReadyError(message, **kwargs)
        if (status == 400 and is_responses and sent_session_id
                and _concerns_session(message, sent_session_id)):
            # "Invalid session → start a new session" is all the API documents, without a
            # status (jockey-api.md §7a): a 400 about the session is a lost session too.
            return SessionLostError(message, **kwargs)
        return InvalidRequestError(message, **kwargs)
    if status >= 500:
        if code in _TIMEOUT_CODES:
            return RequestTimedOutError(message, **kwargs)
        if status == 503:
            kwargs["retry_after"] = parse_retry_after(retry_after_header, "")
        return ServerError(message, **kwargs)
    return ProtocolError(message or f"Unexpected HTTP status {status}.", **kwargs)


def error_from_failed_event(
    code: str | None, message: str, *, session_id: str | None
) -> JockeyError:
    """Map the ``error`` of a ``response.failed`` event (no HTTP status) to its class."""
    kwargs: dict[str, Any] = {"code": code, "session_id": session_id}
    if code in _RATE_CODES:
        return RateLimitedError(message, retry_after=parse_retry_after(None, message), **kwargs)
    if code in _TIMEOUT_CODES:
        return RequestTimedOutError(message, **kwargs)
    if code in _AUTH_CODES:
        return AuthenticationError(message, **kwargs)
    if code in _FORBIDDEN_CODES:
        return ForbiddenError(message, **kwargs)
    if code == "resource_not_exist":
        if _SESSION_WORD_RE.search(message):
            return SessionLostError(message, **kwargs)
        return StoreNotFoundError(message, **kwargs)
    if code is not None and code.startswith("parameter_"):
        if _MISMATCH_RE.search(message):
            return SessionStoreMismatchError(message, **kwargs)
        if session_id and _concerns_session(message, session_id):
            return SessionLostError(message, **kwargs)
        return InvalidRequestError(message, **kwargs)
    return ServerError(message, **kwargs)


def _not_found_class(path: str) -> type[NotFoundError]:
    """What a 404 on ``path`` says is missing (the most specific object in the path)."""
    if "/multipart-uploads" in path:
        return UploadNotFoundError
    if path.startswith("/assets"):
        return AssetNotFoundError
    if "/item-collections/" in path:
        return CollectionNotFoundError
    if "/items/" in path:
        return ItemNotFoundError
    if path.split("?", 1)[0].rstrip("/").endswith("/knowledge-stores"):
        # Not a store that is gone: the list of stores, so no Jockey API at this address.
        return ApiNotFoundError
    return StoreNotFoundError


def _concerns_session(message: str, session_id: str) -> bool:
    return session_id in message or _SESSION_WORD_RE.search(message) is not None
