"""What ``POST /responses`` carries (jockey-api.md §3.1, §7a): no ``model``, selections with
their kind checked before sending, intermediate outputs and the web-search tool on request."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.api import (
    InvalidInputError,
    InvalidRequestError,
    JockeyError,
    ResponseDone,
    Selection,
    SessionLostError,
    SessionStoreMismatchError,
)
from tests.helpers.jockey_stream import ITEM, SESS, STORE, base_response, message, standard_events

from .fakeserver import FakeServer, Sleeps, error_body, make_client

COLLECTION = "ksic_019ebcf4-7e08-7201-b69c-69e0c1e6aaaa"


def _answer(server: FakeServer, streamed: bool) -> None:
    if streamed:
        server.handle = lambda req: req.sse(standard_events(["Done."]))
    else:
        server.handle = lambda req: req.json(200, base_response("completed", [message("Done.")]))


def _ask(server: FakeServer, sleeps: Sleeps, streamed: bool, **kwargs: Any) -> Any:
    client = make_client(server, sleeps)
    if streamed:
        events = list(client.stream_response(STORE, "What happens in {{sel:0}}?", **kwargs))
        assert isinstance(events[-1], ResponseDone)
        return events[-1].response
    return client.create_response(STORE, "What happens in {{sel:0}}?", **kwargs)


@pytest.mark.parametrize("streamed", [False, True])
def test_the_default_request_has_no_model_and_nothing_optional(
    server: FakeServer, sleeps: Sleeps, streamed: bool
) -> None:
    _answer(server, streamed)
    _ask(server, sleeps, streamed)
    assert server.requests[0].json() == {
        "knowledge_store_id": STORE, "stream": streamed,
        "input": [{"type": "message", "role": "user", "content": "What happens in {{sel:0}}?"}],
    }


@pytest.mark.parametrize("streamed", [False, True])
def test_selections_steps_and_web_search_are_sent_as_documented(
    server: FakeServer, sleeps: Sleeps, streamed: bool
) -> None:
    _answer(server, streamed)
    _ask(server, sleeps, streamed, session_id=SESS,
         selections=[Selection("item", ITEM), Selection("collection", COLLECTION)],
         include_steps=True, web_search=True)
    sent = server.requests[0].json()
    assert "model" not in sent
    assert sent["selections"] == [{"kind": "item", "id": ITEM},
                                  {"kind": "collection", "id": COLLECTION}]
    assert sent["include"] == ["intermediate_outputs"]
    assert sent["tools"] == [{"type": "jockey:web_search"}]
    assert sent["session_id"] == SESS


@pytest.mark.parametrize(
    ("selection", "sentence"),
    [
        (Selection("item", COLLECTION),
         f"An item selection needs an id starting with ksi_, not {COLLECTION!r}."),
        (Selection("collection", ITEM),
         f"A collection selection needs an id starting with ksic_, not {ITEM!r}."),
        (Selection("video", ITEM),  # type: ignore[arg-type]
         "A selection must be an item or a collection, not 'video'."),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
def test_a_selection_whose_id_does_not_fit_its_kind_is_never_sent(
    server: FakeServer, sleeps: Sleeps, streamed: bool, selection: Selection, sentence: str
) -> None:
    _answer(server, streamed)
    with pytest.raises(InvalidInputError) as info:
        _ask(server, sleeps, streamed, selections=[Selection("item", ITEM), selection])
    assert isinstance(info.value, InvalidRequestError)
    assert str(info.value) == f"The request was not sent. {sentence}"
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "The `session_id` parameter is invalid.", SessionLostError),
        (400, f"Invalid session {SESS}; start a new session.", SessionLostError),
        (404, f"Session {SESS} does not exist.", SessionLostError),
        (400, f"Session {SESS} belongs to knowledge store ks_other.",
         SessionStoreMismatchError),
        (400, "The `instructions` parameter is invalid.", InvalidRequestError),
    ],
)
def test_a_400_or_404_about_the_session_is_a_lost_session(
    server: FakeServer, sleeps: Sleeps, status: int, message: str, expected: type[Exception]
) -> None:
    server.handle = lambda req: req.json(status, error_body("parameter_invalid", message))
    with pytest.raises(JockeyError) as info:
        make_client(server, sleeps).create_response(STORE, "Q", session_id=SESS)
    assert type(info.value) is expected
    assert info.value.session_id == SESS


def test_a_400_about_a_session_is_not_lost_when_none_was_sent(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(
        400, error_body("parameter_invalid", "The `session_id` parameter is invalid."))
    with pytest.raises(InvalidRequestError) as info:
        make_client(server, sleeps).create_response(STORE, "Q")
    assert type(info.value) is InvalidRequestError
