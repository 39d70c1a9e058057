"""Turn client errors into stable short codes and sentences a user can act on.

Every class of ``core.api`` error gets its own ``error_code`` (stored on the message row, used
by the UI and by tests) and a specific message: a rate limit says when to try again, a rejected
key points at Settings, a slow server is not reported as "no network". The API key never
appears here: the client's ``str(err)`` is already key-free and nothing else is added.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from jockey_desktop.core import api

#: Error codes stored in ``Message.error_code``; the UI may key icons on them.
AUTH = "auth"
FORBIDDEN = "forbidden"
RATE_LIMITED = "rate_limited"
STORE_NOT_FOUND = "store_not_found"
STORE_NOT_READY = "store_not_ready"
SESSION_LOST = "session_lost"
SESSION_STORE_MISMATCH = "session_store_mismatch"
INVALID_REQUEST = "invalid_request"
NETWORK = "network"
TIMEOUT = "timeout"
SERVER = "server"
PROTOCOL = "protocol"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
NO_CLIENT = "no_client"
UNKNOWN = "error"


@dataclass(frozen=True)
class ErrorInfo:
    """What the chat shows for one failed turn."""

    code: str
    message: str


def _server_detail(err: BaseException) -> str:
    """The client's own sentence for ``err`` (already user-presentable and key-free)."""
    text = str(err).strip()
    return text if text else type(err).__name__


def _rate_limit_message(err: BaseException, now: Callable[[], float]) -> str:
    retry_after = getattr(err, "retry_after", None)
    if retry_after is None:
        return "Rate limited by the server — wait a minute, then retry."
    seconds = max(0, round(float(retry_after)))
    at = _dt.datetime.fromtimestamp(now() + seconds).strftime("%H:%M:%S")
    return f"Rate limited — try again after {at} (in {seconds} s)."


def describe_error(
    err: BaseException,
    *,
    store_name: str = "",
    now: Callable[[], float] = time.time,
) -> ErrorInfo:
    """Map a client error (or any exception) to its code and a human sentence.

    The checks go from the most specific class to the most general, because the client's
    error classes subclass one another (e.g. a store mismatch is an invalid request).
    """
    store = f"“{store_name}”" if store_name else "this knowledge store"
    if isinstance(err, api.RequestCancelledError):
        return ErrorInfo(CANCELLED, "Stopped.")
    if isinstance(err, api.SessionLostError):
        return ErrorInfo(
            SESSION_LOST,
            "The server no longer has this conversation's session (it expired or was removed).",
        )
    if isinstance(err, api.SessionStoreMismatchError):
        return ErrorInfo(
            SESSION_STORE_MISMATCH,
            "This conversation's server session belongs to a different knowledge store. "
            "Start a new conversation to ask about this store.",
        )
    if isinstance(err, api.StoreNotReadyError):
        return ErrorInfo(
            STORE_NOT_READY,
            f"No videos in {store} are ready yet — wait for indexing to finish, then retry.",
        )
    if isinstance(err, api.ForbiddenError):
        return ErrorInfo(
            FORBIDDEN,
            "Your API key is not allowed to do this (check your plan or account access): "
            f"{_server_detail(err)}",
        )
    if isinstance(err, api.AuthenticationError):
        return ErrorInfo(AUTH, "Your API key was rejected — open Settings to replace it.")
    if isinstance(err, api.RateLimitedError):
        return ErrorInfo(RATE_LIMITED, _rate_limit_message(err, now))
    if isinstance(err, api.StoreNotFoundError):
        return ErrorInfo(
            STORE_NOT_FOUND,
            f"The knowledge store {store} no longer exists on the server. "
            "Start a new conversation on another store.",
        )
    if isinstance(err, api.InvalidRequestError):
        return ErrorInfo(
            INVALID_REQUEST, f"The server refused the question: {_server_detail(err)}"
        )
    # A timeout is checked before the network error: a slow server is not "no network".
    if isinstance(err, api.RequestTimedOutError):
        return ErrorInfo(
            TIMEOUT,
            "The server took too long to answer (it stopped sending data). "
            "Retry, or try again later.",
        )
    if isinstance(err, api.NetworkError):
        return ErrorInfo(NETWORK, f"Can't reach the server: {_server_detail(err)}")
    if isinstance(err, api.ServerError):
        return ErrorInfo(SERVER, f"The server failed to answer: {_server_detail(err)}")
    if isinstance(err, api.ProtocolError):
        return ErrorInfo(
            PROTOCOL, f"The server's reply could not be understood: {_server_detail(err)}"
        )
    if isinstance(err, api.JockeyError):
        return ErrorInfo(UNKNOWN, _server_detail(err))
    # A bug on our side: say so plainly, without a traceback in the transcript.
    return ErrorInfo(UNKNOWN, f"Something went wrong in the app ({type(err).__name__}).")
