"""Client errors to stable codes and sentences a user can act on (core.errors)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from jockey_desktop.core import api
from jockey_desktop.core.errors import ErrorCode, describe_error


@pytest.mark.parametrize(
    ("error", "code", "needle"),
    [
        (api.AuthenticationError("bad key", status=401), ErrorCode.AUTH, "open Settings"),
        (api.ForbiddenError("plan", status=403), ErrorCode.FORBIDDEN, "not allowed"),
        (api.RateLimitedError("slow down", status=429, retry_after=7), ErrorCode.RATE_LIMITED,
         "try again after"),
        (api.StoreNotFoundError("gone", status=404), ErrorCode.STORE_NOT_FOUND, "no longer exists"),
        (api.ApiNotFoundError("File not found", status=404), ErrorCode.API_NOT_FOUND,
         "does not offer the Jockey API"),
        (api.StoreNotReadyError("none ready", status=400), ErrorCode.STORE_NOT_READY, "indexing"),
        (api.SessionStoreMismatchError("other", status=400), ErrorCode.SESSION_STORE_MISMATCH,
         "new conversation"),
        (api.InvalidRequestError("bad field", status=400), ErrorCode.INVALID_REQUEST, "refused"),
        (api.NetworkError("refused"), ErrorCode.NETWORK, "Can't reach the server"),
        (api.RequestTimedOutError("idle"), ErrorCode.TIMEOUT, "took too long"),
        (api.ServerError("boom", status=500), ErrorCode.SERVER, "server failed"),
        (api.ProtocolError("junk"), ErrorCode.PROTOCOL, "could not be understood"),
        # A cut stream was not misunderstood: it ended early.
        (api.StreamCutError("ended early"), ErrorCode.PROTOCOL,
         "The connection to the server closed before the answer was complete."),
        (api.SessionLostError("expired", status=404), ErrorCode.SESSION_LOST, "session"),
        (api.RequestCancelledError(), ErrorCode.CANCELLED, "Stopped"),
        (ValueError("bug"), ErrorCode.UNKNOWN, "went wrong"),
    ],
)
def test_each_error_class_has_its_own_code_and_sentence(
    error: BaseException, code: str, needle: str
) -> None:
    info = describe_error(error, store_name="Nature")
    assert info.code == code
    assert needle in info.message


def test_a_timeout_says_which_wait_ran_out_and_nothing_it_does_not_know() -> None:
    # A server that accepted the connection and never answered did not "stop sending data",
    # and the store list that shows this sentence has no Retry to point at.
    info = describe_error(api.RequestTimedOutError("No answer arrived within the time limit."))
    assert info.message == ("The server took too long to answer. No answer arrived within the "
                            "time limit.")
    stalled = describe_error(api.RequestTimedOutError("The reply stream went silent for too "
                                                      "long."))
    assert stalled.message.endswith("The reply stream went silent for too long.")


def test_rate_limit_message_says_when() -> None:
    info = describe_error(api.RateLimitedError("x", retry_after=7), now=lambda: 0.0)
    at = datetime.datetime.fromtimestamp(7.0).strftime("%H:%M:%S")
    # The clock time only: the row's live "Retry in N s" counts down beside it, and a frozen
    # "(in 7 s)" disagreed with it at once.
    assert info.message == f"Rate limited — try again after {at}."
    no_hint = describe_error(api.RateLimitedError("x"))
    assert "wait a minute" in no_hint.message
    assert no_hint.retry_at is None


def test_the_retry_time_is_data_not_text() -> None:
    info = describe_error(api.RateLimitedError("x", retry_after=12.2), now=lambda: 1000.0)
    assert info.retry_at == 1013.0  # rounded up to whole seconds, from the server's wait
    assert describe_error(api.ServerError("boom", status=500)).retry_at is None


def test_the_retry_lock_follows_retry_at_of_a_failed_row() -> None:
    from jockey_desktop.core.errors import retry_wait_seconds
    from jockey_desktop.core.storage.models import MessageStatus, Role
    from tests.helpers.records import make_message

    locked = make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED,
                          error_code=ErrorCode.RATE_LIMITED.value, retry_at=1012.0)
    assert retry_wait_seconds(locked, 1000.0) == 12
    assert retry_wait_seconds(locked, 1011.5) == 1
    assert retry_wait_seconds(locked, 1012.0) == 0
    # Whatever the sentence says, only the saved time counts; and only for a failed row.
    unsaid = make_message(3, Role.ASSISTANT, "", MessageStatus.FAILED,
                          error_code=ErrorCode.RATE_LIMITED.value,
                          error_message="Rate limited — try again (in 99 s).")
    assert retry_wait_seconds(unsaid, 1000.0) == 0
    streaming = make_message(4, Role.ASSISTANT, "", MessageStatus.STREAMING, retry_at=2000.0)
    assert retry_wait_seconds(streaming, 1000.0) == 0


_CLASSES = [
    api.AuthenticationError, api.ForbiddenError, api.MalformedKeyError, api.SessionLostError,
    api.StoreNotFoundError, api.ItemNotFoundError, api.InvalidRequestError,
    api.StoreNotReadyError, api.SessionStoreMismatchError, api.RateLimitedError,
    api.ServerError, api.NetworkError, api.RequestTimedOutError, api.ProtocolError,
    api.RequestCancelledError, api.JockeyError,
]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\s+—\s+|:\s+|;\s+", text)
    return [" ".join(p.lower().strip(" .!?").split()) for p in parts if p.strip(" .!?")]


@pytest.mark.parametrize("cls", _CLASSES)
@pytest.mark.parametrize("detail", ["", "Detail from the server.", "summary"])
def test_every_error_class_reads_without_a_repeated_sentence(cls: type, detail: str) -> None:
    # "summary": the server's detail equals the class's own summary (the QA case).
    err = cls(cls.summary if detail == "summary" else detail, retry_after=None)
    text = describe_error(err, store_name="Demo").message
    sentences = _sentences(text)
    assert len(sentences) == len(set(sentences)), text
    # The class summary (what str(err) starts with) appears at most once.
    assert text.count(err.user_summary().rstrip(".")) <= 1, text
    if detail == "Detail from the server." and cls not in (
        api.AuthenticationError, api.MalformedKeyError, api.SessionLostError,
        api.StoreNotFoundError, api.ItemNotFoundError, api.StoreNotReadyError,
        api.SessionStoreMismatchError, api.RateLimitedError, api.RequestTimedOutError,
        api.RequestCancelledError,
    ):
        assert "Detail from the server." in text, text  # the detail is kept, once


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (api.ProtocolError("The server's reply could not be understood."),
         "The server's reply could not be understood."),
        (api.ProtocolError("The server's answer was not valid JSON."),
         "The server's reply could not be understood. The server's answer was not valid JSON."),
        (api.NetworkError("The connection was refused."),
         "Can't reach the server — check the network connection or proxy. "
         "The connection was refused."),
        (api.ServerError(""), "The server failed to answer."),
        (api.MalformedKeyError(),
         "The API key contains characters that can't be sent (a line break or a non-ASCII "
         "character); paste it again."),
    ],
)
def test_qa_error_texts(err: Exception, expected: str) -> None:
    assert describe_error(err).message == expected


def test_a_write_kept_in_memory_on_a_full_disk_is_not_sent_to_be_tried_again(
    tmp_path: Path
) -> None:
    from jockey_desktop.core.errors import HELD_IN_MEMORY_TEXT, kept_in_memory_notice
    from jockey_desktop.core.storage.errors import DiskFullError

    notice = kept_in_memory_notice(DiskFullError(tmp_path, "save the answer"),
                                   HELD_IN_MEMORY_TEXT)
    assert notice.startswith(f"The disk holding {tmp_path} is full, so the app could not "
                             "save the answer. Free some space there: this answer is kept in "
                             "memory and saved by itself")
    assert "try again" not in notice
    other = kept_in_memory_notice(OSError("no"), HELD_IN_MEMORY_TEXT)
    assert other == f"no {HELD_IN_MEMORY_TEXT}"


def test_a_bare_gateway_error_names_its_status() -> None:
    # A proxy's HTML 502 page gives no sentence of its own; the status is what is left.
    bare = describe_error(api.ServerError("", status=502))
    assert bare.message == "The server failed to answer (HTTP 502)."
    worded = describe_error(api.ServerError("Upstream is down.", status=502))
    assert worded.message == "The server failed to answer. Upstream is down."
