"""Fetching signed media (thumbnails, manifests): never with the API key, through the
environment's proxy, within a size cap, and an expired URL said plainly."""

from __future__ import annotations

import pytest

from jockey_desktop.core.api import (
    InvalidInputError,
    MediaUrlExpiredError,
    ProtocolError,
    UploadUrlExpiredError,
)

from .fakeserver import KEY, FakeServer, Request, Sleeps, make_client

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 2000


def test_fetch_media_gets_the_bytes_without_the_key(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer
) -> None:
    other_host.handle = lambda req: req.raw(200, JPEG, {"Content-Type": "image/jpeg"})
    data = make_client(server, sleeps).fetch_media(
        f"{other_host.origin}/thumbs/t.jpg?sig=abc&exp=1", max_bytes=10_000)
    assert data == JPEG
    got = other_host.requests[0]
    assert (got.method, got.path, got.query) == ("GET", "/thumbs/t.jpg",
                                                 {"sig": ["abc"], "exp": ["1"]})
    assert got.headers["accept"] == "image/*"
    assert "x-api-key" not in got.headers and KEY not in str(got.headers)
    assert server.requests == []


def test_a_media_url_on_the_api_origin_gets_no_key_either(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.raw(200, b"#EXTM3U\n", {"Content-Type": "audio/mpegurl"})
    make_client(server, sleeps).fetch_media(f"{server.origin}/media/a.m3u8", max_bytes=100,
                                            accept="application/vnd.apple.mpegurl")
    assert "x-api-key" not in server.requests[0].headers
    assert server.requests[0].headers["accept"] == "application/vnd.apple.mpegurl"


def test_media_goes_through_the_environment_proxy(
    server: FakeServer, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeServer() as proxy:
        proxy.handle = lambda req: req.raw(200, JPEG)
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        data = make_client(server, sleeps).fetch_media("http://media.invalid/t.jpg?sig=1",
                                                       max_bytes=10_000)
        assert data == JPEG
        (got,) = proxy.requests
        assert got.target == "http://media.invalid/t.jpg?sig=1"
        assert "x-api-key" not in got.headers


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_refused_media_url_is_expired(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer, status: int
) -> None:
    other_host.handle = lambda req: req.raw(status, b"<Error>Expired</Error>")
    with pytest.raises(MediaUrlExpiredError) as info:
        make_client(server, sleeps).fetch_media(f"{other_host.origin}/t.jpg", max_bytes=100)
    assert not isinstance(info.value, UploadUrlExpiredError)
    assert str(info.value) == "The media address has expired and must be fetched again."
    assert info.value.status == status
    assert len(other_host.requests) == 1


def test_media_larger_than_the_cap_is_refused(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer
) -> None:
    other_host.handle = lambda req: req.raw(200, JPEG)
    with pytest.raises(ProtocolError, match="larger than 1000 bytes"):
        make_client(server, sleeps).fetch_media(f"{other_host.origin}/t.jpg", max_bytes=1000)


def test_a_redirect_to_another_host_is_followed_without_the_key(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer
) -> None:
    with FakeServer() as cdn:
        cdn.handle = lambda req: req.raw(200, JPEG)
        other_host.handle = lambda req: req.raw(302, b"", {"Location": f"{cdn.origin}/real.jpg"})
        data = make_client(server, sleeps).fetch_media(f"{other_host.origin}/t.jpg",
                                                       max_bytes=10_000)
        assert data == JPEG
        assert cdn.requests[0].path == "/real.jpg"
        assert "x-api-key" not in cdn.requests[0].headers


def test_a_failing_other_host_is_retried(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer
) -> None:
    def flaky(req: Request) -> None:
        if req.index == 0:
            req.raw(503, b"")
        else:
            req.raw(200, JPEG)
    other_host.handle = flaky
    assert make_client(server, sleeps).fetch_media(f"{other_host.origin}/t.jpg",
                                                   max_bytes=10_000) == JPEG
    assert len(other_host.requests) == 2


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://x/y.jpg"])
def test_only_http_media_urls_are_fetched(server: FakeServer, sleeps: Sleeps, url: str) -> None:
    with pytest.raises(InvalidInputError):
        make_client(server, sleeps).fetch_media(url, max_bytes=100)
