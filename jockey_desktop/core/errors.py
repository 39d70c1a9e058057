"""What went wrong in a turn: a stable code, a sentence a user can act on, and when a retry
is allowed (no Qt).

Every class of ``core.api`` error gets its own :class:`ErrorCode` (stored as text in
``Message.error_code``, keyed on by the presentation rules and the tests) and a specific
sentence: a rejected key points at Settings, a slow server is not reported as "no network".
A rate limit's retry time is data (:attr:`ErrorInfo.retry_at`, saved with the row), never text
parsed back. The API key never appears here: the client's ``str(err)`` is already key-free and
nothing else is added.

The sentences a turn's row can carry (stopped, interrupted, asked again, session lost) are
defined here once; the controller saves them and the presentation rules fall back to them.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from jockey_desktop.core.storage.models import Message, MessageStatus


class ErrorCode(str, Enum):
    """``Message.error_code`` values. A ``str`` enum: a stored code compares equal to it."""

    AUTH = "auth"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    STORE_NOT_FOUND = "store_not_found"
    STORE_NOT_READY = "store_not_ready"
    #: The server no longer had the session; the question was re-asked in a new one.
    SESSION_LOST = "session_lost"
    SESSION_STORE_MISMATCH = "session_store_mismatch"
    INVALID_REQUEST = "invalid_request"
    #: No Jockey API at the base URL (its list of knowledge stores was "not found").
    API_NOT_FOUND = "api_not_found"
    NETWORK = "network"
    TIMEOUT = "timeout"
    SERVER = "server"
    PROTOCOL = "protocol"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    NO_CLIENT = "no_client"
    UNKNOWN = "error"
    #: A failed attempt whose question was asked again further down (no second Retry).
    ASKED_AGAIN = "asked_again"
    #: Only on an in-memory copy of a STREAMING row while the client waits to resend the
    #: question (never saved): its ``retry_at`` is the moment of the resend.
    RETRY_WAIT = "retry_wait"
    #: Only on an in-memory copy of a finished row the disk could not take yet (never
    #: saved): it is kept in memory and written as soon as there is space.
    NOT_SAVED = "not_saved"


#: A cancelled turn's saved reason (cancelled rows are shown neutrally, not as errors).
STOPPED_TEXT = "Stopped — partial answer kept."
STOPPED_EMPTY_TEXT = "Stopped before an answer arrived."
#: The reason saved on a turn the app closed (or crashed) under.
INTERRUPTED_TEXT = "The app closed before the answer finished."
ASKED_AGAIN_TEXT = "Asked again below."
#: The reason saved on the failed attempt of a turn recovered in a new session.
SESSION_LOST_TEXT = ("The server no longer had this conversation's session — "
                     "the question was asked again in a new session below.")
#: The status line of a finished answer the disk could not take yet.
NOT_SAVED_TEXT = ("Not saved yet: the disk is full. Kept in memory and saved as soon as there "
                  "is space.")
#: Said with a full disk's sentence when a finished answer is held in memory.
HELD_IN_MEMORY_TEXT = ("This answer is kept in memory and saved by itself as soon as there is "
                       "space; quitting before then loses it.")
#: Said once per turn when the partial answer could not be flushed.
ARRIVING_IN_MEMORY_TEXT = "The answer keeps arriving and is kept in memory until there is space."
#: Said when every answer kept in memory has reached the disk.
HELD_SAVED_TEXT = "There is space again: the answer kept in memory is saved."
#: Why a question went back to the composer: its first write failed (the error follows).
QUESTION_NOT_SAVED_TEXT = "Your question was not sent: it could not be saved."
#: Why nothing can be asked or listed yet.
#: An error the app did not expect (a bug): where to find out more, never a class name.
UNEXPECTED_ERROR_TEXT = ("Something went wrong in the app. The details are in the log "
                         "(Help → Open logs).")
NO_CLIENT_TEXT = "No API key is set — open Settings, or try the sandbox."
#: A failure that came with no reason at all.
FAILED_TEXT = "The request failed."
#: What the status line says while the client waits before resending, per ``RetryWait.reason``.
WAIT_LABELS = {
    "rate_limited": "Rate limited",
    "unavailable": "The server is busy",
    "connection": "Could not connect",
}
WAIT_LABEL_DEFAULT = "Waiting to retry"


def kept_in_memory_notice(error: BaseException, kept: str) -> str:
    """The notice of a write the disk refused that is kept in memory and written by itself
    once there is space (``kept`` says what happens to it): a full disk's own "then try
    again" would send the user to retry what needs no retry."""
    from jockey_desktop.core.storage.errors import DiskFullError

    if not isinstance(error, DiskFullError):
        return f"{error} {kept}"
    return f"{error.problem} Free some space there: {kept[:1].lower()}{kept[1:]}"


@dataclass(frozen=True)
class ErrorInfo:
    """What the chat shows and saves for one failed turn."""

    code: ErrorCode
    message: str
    #: Epoch seconds before which a retry only earns another refusal (a rate limit's
    #: Retry-After), else None.
    retry_at: float | None = None


def _server_detail(err: BaseException) -> str:
    """Only the detail of ``err`` (usually the server's own words), without the class summary.

    ``str(err)`` of a client error starts with the class's summary sentence; the messages
    below start with their own summary, so using ``str(err)`` here printed the same idea
    twice ("… could not be understood: The server's reply could not be understood. …").
    """
    from jockey_desktop.core import api

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


def _rate_limited(err: BaseException, now: Callable[[], float]) -> ErrorInfo:
    retry_after = getattr(err, "retry_after", None)
    if retry_after is None:
        return ErrorInfo(ErrorCode.RATE_LIMITED,
                         "Rate limited by the server — wait a minute, then retry.")
    seconds = max(0, math.ceil(float(retry_after)))
    retry_at = now() + seconds
    at = _dt.datetime.fromtimestamp(retry_at).strftime("%H:%M:%S")
    # No "(in N s)": the sentence is saved with the row and shown for as long as it exists,
    # beside the row's live "Retry in N s" — a frozen count beside a live one disagreed at
    # once, and was wrong for good after the wait.
    return ErrorInfo(ErrorCode.RATE_LIMITED, f"Rate limited — try again after {at}.", retry_at)


def describe_error(
    err: BaseException,
    *,
    store_name: str = "",
    now: Callable[[], float] = time.time,
) -> ErrorInfo:
    """Map a client error (or any exception) to its code, a human sentence and its retry time.

    The checks go from the most specific class to the most general, because the client's
    error classes subclass one another (e.g. a store mismatch is an invalid request).
    """
    # Imported on use: the window's first paint needs the codes and sentences, not the
    # client's error classes (describing an error happens long after start-up).
    from jockey_desktop.core import api

    store = f"“{store_name}”" if store_name else "this knowledge store"
    if isinstance(err, api.RequestCancelledError):
        return ErrorInfo(ErrorCode.CANCELLED, STOPPED_TEXT)
    if isinstance(err, api.SessionLostError):
        return ErrorInfo(
            ErrorCode.SESSION_LOST,
            "The server no longer has this conversation's session (it expired or was removed).",
        )
    if isinstance(err, api.SessionStoreMismatchError):
        return ErrorInfo(
            ErrorCode.SESSION_STORE_MISMATCH,
            "This conversation's server session belongs to a different knowledge store. "
            "Start a new conversation to ask about this store.",
        )
    if isinstance(err, api.StoreNotReadyError):
        return ErrorInfo(
            ErrorCode.STORE_NOT_READY,
            f"No videos in {store} are ready yet — wait for indexing to finish, then retry.",
        )
    if isinstance(err, api.ForbiddenError):
        return ErrorInfo(
            ErrorCode.FORBIDDEN,
            _with_detail("Your API key is not allowed to do this (check your plan or "
                         "account access).", err),
        )
    if isinstance(err, api.MalformedKeyError):
        return ErrorInfo(ErrorCode.AUTH, err.user_summary())
    if isinstance(err, api.AuthenticationError):
        return ErrorInfo(ErrorCode.AUTH,
                         "Your API key was rejected — open Settings to replace it.")
    if isinstance(err, api.RateLimitedError):
        return _rate_limited(err, now)
    if isinstance(err, api.ApiNotFoundError):
        # Checked before a gone store: "the knowledge store this knowledge store no longer
        # exists" was said of a wrong address.
        return ErrorInfo(
            ErrorCode.API_NOT_FOUND,
            "The server at this address does not offer the Jockey API (it answered “not "
            "found” for the list of knowledge stores) — open Settings to check the API base "
            "URL (it ends in /v1.3).",
        )
    if isinstance(err, api.StoreNotFoundError):
        return ErrorInfo(
            ErrorCode.STORE_NOT_FOUND,
            f"The knowledge store {store} no longer exists on the server. "
            # Said on a turn (the store named): its row offers "Continue in a new
            # conversation", which keeps the earlier turns and asks for another store.
            + ("To go on, continue in a new conversation and pick another store: the earlier "
               "turns go with it." if store_name else
               "Start a new conversation on another store."),
        )
    if isinstance(err, api.InvalidRequestError):
        return ErrorInfo(ErrorCode.INVALID_REQUEST,
                         _with_detail("The server refused the question.", err))
    # A timeout is checked before the network error: a slow server is not "no network".
    # Its detail says which wait ran out (no first byte, a silent stream, the overall
    # deadline, a gateway's 504); the lead claims none of them, and no "Retry", which the
    # store list and Settings (where this sentence is shown too) do not offer.
    if isinstance(err, api.RequestTimedOutError):
        return ErrorInfo(ErrorCode.TIMEOUT,
                         _with_detail("The server took too long to answer.", err))
    if isinstance(err, api.NetworkError):
        return ErrorInfo(ErrorCode.NETWORK, _with_detail(
            "Can't reach the server — check the network connection or proxy.", err))
    if isinstance(err, api.ServerError):
        message = _with_detail("The server failed to answer.", err)
        if not _server_detail(err) and err.status:
            # A gateway's bare 502/503 page carries no words of its own: the status is the
            # one fact the user (or their support) can go on.
            message = f"The server failed to answer (HTTP {err.status})."
        return ErrorInfo(ErrorCode.SERVER, message)
    if isinstance(err, api.StreamCutError):
        # Nothing was misunderstood: the connection closed before the end (a server that
        # restarted, a proxy that timed out). The partial answer is kept above the sentence.
        return ErrorInfo(ErrorCode.PROTOCOL, "The connection to the server closed before the "
                                             "answer was complete.")
    if isinstance(err, api.ProtocolError):
        return ErrorInfo(ErrorCode.PROTOCOL,
                         _with_detail("The server's reply could not be understood.", err))
    if isinstance(err, api.JockeyError):
        return ErrorInfo(ErrorCode.UNKNOWN, str(err).strip() or type(err).__name__)
    # A bug on our side: say so plainly, without a traceback or a class name in the
    # transcript (the log has both).
    return ErrorInfo(ErrorCode.UNKNOWN, UNEXPECTED_ERROR_TEXT)


# --------------------------------------------------------------------------- the retry lock


def retry_wait_seconds(message: Message, now: float) -> int:
    """Whole seconds until Retry may be used on ``message`` (0 = now): the retry lock.

    A failed turn may be retried once its ``retry_at`` (saved from the server's Retry-After)
    has passed. The one rule both the controller (which refuses an early retry) and the view
    (which shows "Retry in N s") follow.
    """
    if message.status is not MessageStatus.FAILED or message.retry_at is None:
        return 0
    return max(0, math.ceil(message.retry_at - now))
