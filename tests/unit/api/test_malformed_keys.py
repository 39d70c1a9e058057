"""API keys that cannot travel in a header (a pasted line break, a typographic character)
read as "paste it again" before anything is sent, and never appear in the error."""

from __future__ import annotations

import pytest

from jockey_desktop.core.api import AuthenticationError, JockeyClient, MalformedKeyError
from tests.helpers.jockey_stream import STORE

from .fakeserver import FakeServer, Sleeps


@pytest.mark.parametrize(
    "key",
    [
        "tlk_ABC\nDEF123",          # a line break inside a pasted key
        "tlk_ABC\r\nDEF123",
        "tlk_ABC\u2019DEF123",      # a typographic apostrophe (not Latin-1)
        "tlk_ABC\u00a0DEF123",      # a non-breaking space (Latin-1, still not sendable)
        "tlk_ABCDEF\u00e9123",      # Latin-1 letter: http.client would send it, the API can't
        "tlk_\x00ABCDEF",
    ],
)
def test_a_malformed_key_is_an_authentication_error_without_the_key(
    server: FakeServer, sleeps: Sleeps, key: str
) -> None:
    server.handle = lambda req: req.json(200, {"data": [], "page_info": {"total_page": 1}})
    client = JockeyClient(key, server.url, sleep=sleeps)  # building the client never raises
    for call in (
        client.list_knowledge_stores,
        lambda: list(client.stream_response(STORE, "Q")),
        lambda: client.create_response(STORE, "Q"),
    ):
        with pytest.raises(AuthenticationError) as info:
            call()
        assert isinstance(info.value, MalformedKeyError)
        text = str(info.value)
        assert text == (
            "The API key contains characters that can't be sent (a line break or a "
            "non-ASCII character); paste it again."
        )
        assert key not in text and key not in repr(info.value)
        assert "DEF123" not in text and "ABCDEF" not in text
    assert server.requests == [], "nothing is sent with a malformed key"
    assert sleeps.calls == []


def test_surrounding_whitespace_of_a_key_is_not_malformed(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(200, {"data": [], "page_info": {"total_page": 1}})
    client = JockeyClient("  tlk_OK123\n", server.url, sleep=sleeps)
    assert client.list_knowledge_stores() == []
    assert server.requests[0].headers["x-api-key"] == "tlk_OK123"
