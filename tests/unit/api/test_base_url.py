"""Where the key may travel: https anywhere, plain http only to this computer."""

from __future__ import annotations

import pytest

from jockey_desktop.core.api import JockeyClient
from jockey_desktop.core.api.urls import PLAIN_HTTP_PROBLEM


@pytest.mark.parametrize(
    "url", ["http://api.example.com/v1.3", "http://192.168.1.20:8080/v1.3", "ftp://x/v1.3"]
)
def test_a_base_url_with_a_problem_is_refused(url: str) -> None:
    with pytest.raises(ValueError) as info:
        JockeyClient("k", url)
    assert str(info.value) != "k" and url not in str(info.value)
    if url.startswith("http://"):
        assert str(info.value) == PLAIN_HTTP_PROBLEM


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v1.3", "http://localhost/v1.3",
            "https://api.twelvelabs.io/v1.3"]
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert JockeyClient("k", url).base_url == url
