"""The client hides its key in server text only when the key is long enough to be a secret:
the sandbox's key, the word "sandbox", must not garble the server's sentences."""

from __future__ import annotations

import pytest

from jockey_desktop.core.api import JockeyClient, ServerError
from tests.unit.api.fakeserver import KEY, FakeServer, Sleeps, error_body


def test_the_sandbox_key_does_not_redact_server_text(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(
        500, error_body("internal_server_error", "The sandbox hit an unexpected error."))
    client = JockeyClient("sandbox", server.url, sleep=sleeps, max_retries=0)
    with pytest.raises(ServerError) as info:
        client.get_knowledge_store("ks_1")
    assert "The sandbox hit an unexpected error" in str(info.value)
    assert "[redacted]" not in str(info.value)


def test_a_real_key_in_server_text_is_still_redacted(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(
        500, error_body("internal_server_error", f"The sandbox choked on {KEY}."))
    client = JockeyClient(KEY, server.url, sleep=sleeps, max_retries=0)
    with pytest.raises(ServerError) as info:
        client.get_knowledge_store("ks_1")
    assert KEY not in str(info.value)
    assert "The sandbox choked on [redacted]" in str(info.value)
