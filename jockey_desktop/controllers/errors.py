"""Turn client errors into stable short codes and sentences a user can act on.

Every class of ``core.api`` error gets its own ``error_code`` (stored on the message row, used
by the UI and by tests) and a specific message: a rate limit says when to try again, a rejected
key points at Settings, a slow server is not reported as "no network". The API key never
appears here: the client's ``str(err)`` is already key-free and nothing else is added.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


#: A cancelled turn's saved reason (the UI shows cancelled rows neutrally, not as errors).
STOPPED_TEXT = "Stopped — partial answer kept."
STOPPED_EMPTY_TEXT = "Stopped before an answer arrived."
#: ``error_code`` of a failed attempt whose question was asked again further down.
ASKED_AGAIN = "asked_again"
ASKED_AGAIN_TEXT = "Asked again below."


#: ``error_code`` of a STREAMING row while the client waits to resend the question. Only on
#: the in-memory copy sent to the view (never saved); its ``updated_at`` is then the moment
#: the resend happens, so the view can count down without a timer of the controller.
RETRY_WAIT = "retry_wait"
_WAIT_LABELS = {
    "rate_limited": "Rate limited",
    "unavailable": "The server is busy",
    "connection": "Could not connect",
}


@dataclass(frozen=True)
class ErrorInfo:
    """What the chat shows for one failed turn."""

    code: str
    message: str


def _server_detail(err: BaseException) -> str:
    """Only the detail of ``err`` (usually the server's own words), without the class summary.

    ``str(err)`` of a client error starts with the class's summary sentence; the messages
    below start with their own summary, so using ``str(err)`` here printed the same idea
    twice ("… could not be understood: The server's reply could not be understood. …").
    """
    if isinstance(err, api.JockeyError):
        detail = (err.message or "").strip()
        summary = err.user_summary().strip()
        return "" if _same_sentence(detail, summary) else detail
    text = str(err).strip()
    return text if text else type(err).__name__


def _same_sentence(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.lower().rstrip(".!? ").split())

    return bool(a) and norm(a) == norm(b)


def _with_detail(lead: str, err: BaseException) -> str:
    """``lead`` (one summary sentence) followed by the server's detail once, if it adds any."""
    detail = _server_detail(err)
    if not detail or _same_sentence(detail, lead) or detail.lower() in lead.lower():
        return lead
    if detail[-1] not in ".!?":
        detail += "."
    # A terse server word ("down") still reads as its own sentence.
    return f"{lead} {detail[0].upper()}{detail[1:]}"


#: Matches the wait written by ``_rate_limit_message``; a failed row's retry-at time is its
#: ``updated_at`` (when the failure was saved) plus this many seconds.
_RATE_WAIT_RE = re.compile(r"\(in (\d+) s\)")


def _rate_limit_message(err: BaseException, now: Callable[[], float]) -> str:
    retry_after = getattr(err, "retry_after", None)
    if retry_after is None:
        return "Rate limited by the server — wait a minute, then retry."
    seconds = max(0, math.ceil(float(retry_after)))
    at = _dt.datetime.fromtimestamp(now() + seconds).strftime("%H:%M:%S")
    return f"Rate limited — try again after {at} (in {seconds} s)."


def rate_limit_retry_at(
    error_code: str | None, error_message: str | None, failed_at: float
) -> float | None:
    """When a rate-limited turn may be retried (epoch seconds), or None when not limited.

    Derived from the saved row (its code, its text and when it failed), so it survives a
    restart without a storage field of its own.
    """
    if error_code != RATE_LIMITED or not error_message:
        return None
    match = _RATE_WAIT_RE.search(error_message)
    if match is None:
        return None
    return failed_at + int(match.group(1))


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
        return ErrorInfo(CANCELLED, STOPPED_TEXT)
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
            _with_detail("Your API key is not allowed to do this (check your plan or "
                         "account access).", err),
        )
    if isinstance(err, api.MalformedKeyError):
        return ErrorInfo(AUTH, err.user_summary())
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
        return ErrorInfo(INVALID_REQUEST, _with_detail("The server refused the question.", err))
    # A timeout is checked before the network error: a slow server is not "no network".
    if isinstance(err, api.RequestTimedOutError):
        return ErrorInfo(
            TIMEOUT,
            "The server took too long to answer (it stopped sending data). "
            "Retry, or try again later.",
        )
    if isinstance(err, api.NetworkError):
        return ErrorInfo(NETWORK, _with_detail(
            "Can't reach the server — check the network connection or proxy.", err))
    if isinstance(err, api.ServerError):
        return ErrorInfo(SERVER, _with_detail("The server failed to answer.", err))
    if isinstance(err, api.ProtocolError):
        return ErrorInfo(PROTOCOL, _with_detail("The server's reply could not be understood.",
                                                err))
    if isinstance(err, api.JockeyError):
        return ErrorInfo(UNKNOWN, str(err).strip() or type(err).__name__)
    # A bug on our side: say so plainly, without a traceback in the transcript.
    return ErrorInfo(UNKNOWN, f"Something went wrong in the app ({type(err).__name__}).")


def retry_wait_row(message: Any, seconds: float, reason: str, now: float) -> Any:
    """An in-memory copy of a streaming ``message`` that says the client waits ``seconds``
    (reason from ``api.RetryWait``) before sending the question again; see ``RETRY_WAIT``."""
    return dataclasses.replace(
        message, error_code=RETRY_WAIT,
        error_message=_WAIT_LABELS.get(reason, "Waiting to retry"), updated_at=now + seconds,
    )


def retry_wait_status(message: Any, now: float) -> str | None:
    """"Rate limited — retrying in 18 s" for a row made by ``retry_wait_row`` whose wait is
    still running, else None (the row then reads as an ordinary streaming answer)."""
    if getattr(message, "error_code", None) != RETRY_WAIT:
        return None
    remaining = math.ceil(message.updated_at - now)
    if remaining <= 0:
        return None
    return f"{message.error_message} — retrying in {remaining} s"
