"""Error classes: mapping by status then code, user sentences, Retry-After parsing."""

from __future__ import annotations

import email.utils

import pytest

from jockey_desktop.core.api import (
    ApiNotFoundError,
    AuthenticationError,
    ForbiddenError,
    InvalidRequestError,
    ItemNotFoundError,
    JockeyError,
    ProtocolError,
    RateLimitedError,
    RequestTimedOutError,
    ServerError,
    SessionLostError,
    SessionStoreMismatchError,
    StoreNotFoundError,
    StoreNotReadyError,
)
from jockey_desktop.core.api.errors import error_from_http, parse_retry_after

SESS = "sess_019f4f2a-b69b-7a01-9018-cc51681121ea"


@pytest.mark.parametrize(
    ("status", "code", "message", "path", "session", "cls"),
    [
        (401, "api_key_invalid", "The API key is invalid.", "/responses", None,
         AuthenticationError),
        (401, "brand_new_code", "", "/knowledge-stores", None, AuthenticationError),
        (403, "region_not_allowed", "Region", "/responses", None, ForbiddenError),
        (404, "resource_not_exist", f"The session `{SESS}` does not exist or has expired.",
         "/v1.3/responses", SESS, SessionLostError),
        (404, "resource_not_exist", "The knowledge store `ks_1` does not exist.",
         "/v1.3/responses", None, StoreNotFoundError),
        (404, "resource_not_exist", "The knowledge store `ks_1` does not exist.",
         "/v1.3/responses", SESS, StoreNotFoundError),
        (404, "resource_not_exist", "No item.", "/v1.3/knowledge-stores/ks_1/items/ksi_2",
         None, ItemNotFoundError),
        (404, "resource_not_exist", "The knowledge store `ks_1` does not exist.",
         "/knowledge-stores/ks_1", None, StoreNotFoundError),
        # The list itself not found: no Jockey API at this address (not "a store is gone").
        (404, None, "File not found", "/knowledge-stores", None, ApiNotFoundError),
        (404, None, "", "/v1.3/knowledge-stores/?page=1", None, ApiNotFoundError),
        (400, "parameter_invalid", "The knowledge store `ks_1` has no items that are ready "
         "to be queried.", "/responses", None, StoreNotReadyError),
        (400, "parameter_invalid", f"Session {SESS} belongs to knowledge store ks_other.",
         "/responses", SESS, SessionStoreMismatchError),
        (400, "parameter_unknown", "The `foo` parameter is unknown.", "/responses", None,
         InvalidRequestError),
        (413, None, "Too big", "/responses", None, InvalidRequestError),
        (429, "too_many_requests", "Please try again later after 7 seconds.", "/responses",
         None, RateLimitedError),
        (500, "internal_server_error", "Oops", "/responses", None, ServerError),
        (502, None, "", "/responses", None, ServerError),
        (504, "request_canceled_or_timed_out", "", "/responses", None, RequestTimedOutError),
        (302, None, "", "/responses", None, ProtocolError),
    ],
)
def test_mapping(status: int, code: str | None, message: str, path: str,
                 session: str | None, cls: type[JockeyError]) -> None:
    err = error_from_http(status, code, message, path=path, sent_session_id=session)
    assert type(err) is cls
    assert err.status == status and err.code == code
    assert err.session_id == session


def test_forbidden_is_an_authentication_error_and_subclasses_hold() -> None:
    assert issubclass(ForbiddenError, AuthenticationError)
    assert issubclass(StoreNotReadyError, InvalidRequestError)
    assert issubclass(SessionStoreMismatchError, InvalidRequestError)
    assert issubclass(ItemNotFoundError, StoreNotFoundError)


def test_rate_limit_sentence_uses_header_then_message() -> None:
    err = error_from_http(429, "too_many_requests", "", retry_after_header="7")
    assert err.retry_after == 7
    assert str(err) == "Rate limited by the server; try again in 7 s."
    err = error_from_http(429, "plan_limit_exceeded",
                          "Daily quota. Please try again later after 3600 seconds.")
    assert err.retry_after == 3600
    assert str(err).startswith("Rate limited by the server; try again in 3600 s.")
    err = error_from_http(429, None, "")
    assert err.retry_after is None and str(err) == "Rate limited by the server; try again later."


def test_parse_retry_after_http_date_and_garbage() -> None:
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None, "retry after 2.5 s") == 2.5


def test_str_is_a_sentence_and_repr_is_informative() -> None:
    err = SessionLostError(f"The session `{SESS}` does not exist or has expired",
                           status=404, code="resource_not_exist", session_id=SESS)
    text = str(err)
    assert text.startswith("The server no longer knows this conversation's session")
    assert text.endswith("has expired.")
    assert "SessionLostError" in repr(err) and "resource_not_exist" in repr(err)
    assert str(JockeyError()) == "The Jockey request failed."
    assert str(ServerError()) == "The Jockey server reported an error."
