"""Tests for ``core.api.urls.base_url_problem``: where the API key may be sent."""

from __future__ import annotations

import pytest

from jockey_desktop.core.api.urls import (
    PLAIN_HTTP_PROBLEM,
    SANDBOX_SERVER,
    base_url_problem,
    is_loopback_host,
    server_identity,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twelvelabs.io/v1.3",
        "https://example.com",
        "HTTPS://Example.COM/v1.3/",
        "http://127.0.0.1:8123/v1.3",
        "http://127.5.6.7/v1.3",
        "http://localhost:9000",
        "http://LOCALHOST/v1.3",
        "http://[::1]:8080/v1.3",
        "  https://api.twelvelabs.io/v1.3  ",
    ],
)
def test_acceptable_urls(url: str) -> None:
    assert base_url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v1.3",
        "http://10.0.0.5/v1.3",
        "http://192.168.1.1:8080",
        "http://[2001:db8::1]/",
        "http://localhost.example.com/",
        "http://127.0.0.1.evil.com/",
    ],
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    assert base_url_problem(url) == PLAIN_HTTP_PROBLEM


@pytest.mark.parametrize(
    "url",
    ["", "   ", "ftp://example.com", "example.com/v1.3", "https://", "https://host:notaport/",
     "https://user:pw@example.com/"],
)
def test_malformed_urls_get_a_reason(url: str) -> None:
    problem = base_url_problem(url)
    assert problem is not None and problem.endswith(".")


def test_reason_never_echoes_the_url() -> None:
    problem = base_url_problem("https://tlk_secret@example.com/")
    assert problem is not None and "tlk_secret" not in problem


def test_is_loopback_host() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert is_loopback_host("a.localhost")
    assert not is_loopback_host("") and not is_loopback_host("example.com")


@pytest.mark.parametrize(("url", "identity"), [
    ("https://api.twelvelabs.io/v1.3", "https://api.twelvelabs.io/v1.3"),
    ("  HTTPS://API.TwelveLabs.io:443/v1.3/  ", "https://api.twelvelabs.io/v1.3"),
    ("https://api.example.com/v1.3?x=1#top", "https://api.example.com/v1.3"),
    ("https://api.example.com:8443/v1.3", "https://api.example.com:8443/v1.3"),
    ("http://127.0.0.1:80/v1.3", "http://127.0.0.1/v1.3"),
    ("http://[::1]:8123/v1.3", "http://[::1]:8123/v1.3"),
    ("https://user:secret@api.example.com/V1.3", "https://api.example.com/V1.3"),
])
def test_server_identity_names_one_server_one_way(url: str, identity: str) -> None:
    assert server_identity(url) == identity


def test_server_identity_tells_servers_apart() -> None:
    assert server_identity("https://api.example.com/v1.3") != server_identity(
        "https://api.example.com/v1.2")
    assert server_identity("https://a.example.com") != server_identity("https://b.example.com")
    assert SANDBOX_SERVER not in {server_identity("http://127.0.0.1:9/v1.3"),
                                  server_identity("https://sandbox")}
