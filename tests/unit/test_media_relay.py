"""The loopback media relay: playlists rewritten to positions, segments relayed byte for byte
without the key, an expired address re-resolved once and then said plainly, stalls and host
failures reported, and nothing served that no playlist named."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from jockey_desktop.core.media_relay import (
    MediaRelay,
    RelayEvent,
    RelayEventKind,
    rewrite_playlist,
)
from jockey_desktop.core.media_source import manifest_resolver, resolve_video
from jockey_desktop.sandbox.faults import Fault
from tests.helpers.media import MediaSandbox, RecordingProxy, media_sandbox

__all__ = ["media_sandbox"]


class Events:
    """Relay events, collected from the relay's threads."""

    def __init__(self) -> None:
        self.items: list[RelayEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: RelayEvent) -> None:
        with self._lock:
            self.items.append(event)

    def kinds(self) -> list[RelayEventKind]:
        with self._lock:
            return [e.kind for e in self.items]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def relay(events: Events) -> Iterator[MediaRelay]:
    relay = MediaRelay(on_event=events, stall_after=0.3)
    yield relay
    relay.stop()


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def _segment_url(playlist_url: str, text: str) -> str:
    name = next(line for line in text.splitlines() if line and not line.startswith("#"))
    return playlist_url.rsplit("/", 1)[0] + "/" + name


def test_rewrite_names_every_uri_by_position() -> None:
    text = ("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin?sig=1\"\n"
            "#EXT-X-MAP:URI=\"https://cdn.example/init.mp4?sig=2\"\n#EXTINF:6.0,\n"
            "seg/0.ts?sig=3\n\n#EXTINF:6.0,\nfile:///etc/passwd\n")
    rewritten, uris = rewrite_playlist(text, "https://cdn.example/v/index.m3u8?sig=0", (1,))
    assert uris == ["https://cdn.example/v/key.bin?sig=1", "https://cdn.example/init.mp4?sig=2",
                    "https://cdn.example/v/seg/0.ts?sig=3", ""]
    assert rewritten.splitlines() == [
        "#EXTM3U", '#EXT-X-KEY:METHOD=AES-128,URI="1-0.bin"', '#EXT-X-MAP:URI="1-1.mp4"',
        "#EXTINF:6.0,", "1-2.ts", "", "#EXTINF:6.0,", "1-3"]
    assert "sig=" not in rewritten


def test_a_segment_is_relayed_byte_for_byte_without_the_key(
    relay: MediaRelay, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    upstream = sb.server.hls_url(sb.item.id)
    assert upstream is not None
    source = relay.open(upstream, sb.client)
    playlist = _get(source.url)
    assert playlist.status_code == 200
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert "/media/" not in playlist.text and "#EXT-X-ENDLIST" in playlist.text
    segment = _get(_segment_url(source.url, playlist.text))
    direct = requests.get(upstream.rsplit("/", 1)[0] + "/seg/0.ts", timeout=10)
    assert segment.status_code == 200 and segment.content == direct.content
    assert segment.headers["Content-Type"] == "video/mp2t"
    part = _get(_segment_url(source.url, playlist.text), Range="bytes=188-375")
    assert part.status_code == 206 and part.content == direct.content[188:376]
    assert sb.server.media_requests_with_key == 0


def test_nothing_is_served_that_no_playlist_named(
    relay: MediaRelay, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    source = relay.open(str(sb.server.hls_url(sb.item.id)), sb.client)
    base = source.url.rsplit("/", 2)[0]
    assert _get(f"{base}/not-a-token/index.m3u8").status_code == 404
    # A position is looked up in its playlist (loaded on demand): only what it names exists.
    assert _get(source.url.replace("index.m3u8", "999.ts")).status_code == 404
    assert _get(source.url.replace("index.m3u8", "..%2f..%2fetc")).status_code == 404
    relay.close(source)
    assert _get(source.url).status_code == 404


def test_an_expired_address_is_resolved_again_and_playback_goes_on(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    resolutions: list[str] = []

    def resolve() -> str:
        url = manifest_resolver(sb.client, sb.store_id, sb.item.id)
        resolutions.append(url)
        return url

    source = relay.open(str(sb.server.hls_url(sb.item.id)), sb.client, resolve)
    playlist = _get(source.url).text
    second = source.url.replace("index.m3u8", "1.ts")
    sb.expire_media()  # mid-play: the next segment's address is refused upstream
    response = _get(second)
    assert response.status_code == 200 and len(response.content) > 1000
    assert len(resolutions) == 1 and events.kinds() == [RelayEventKind.REFRESHED]
    assert _get(_segment_url(source.url, playlist)).status_code == 200  # cached or fresh
    assert len(resolutions) == 1
    assert sb.server.media_requests_with_key == 0


def test_a_second_refusal_is_said_once_and_plainly(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    stale = str(sb.server.hls_url(sb.item.id))
    source = relay.open(stale, sb.client, lambda: stale)  # "fresh" but just as expired
    sb.expire_media()
    assert _get(source.url).status_code == 404
    assert _get(source.url).status_code == 404
    expired = [e for e in events.items if e.kind is RelayEventKind.EXPIRED]
    assert len(expired) == 1 and "expired" in expired[0].message
    assert expired[0].source_id == source.id


def test_a_failed_re_resolution_says_why(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    source = relay.open(str(sb.server.hls_url(sb.item.id)), sb.client,
                        lambda: manifest_resolver(sb.client, sb.store_id, "ksi_gone"))
    sb.expire_media()
    assert _get(source.url).status_code == 404
    (event,) = events.items
    assert event.kind is RelayEventKind.EXPIRED
    assert event.message.startswith("The video's address expired and a new one could not be "
                                    "obtained: ")
    assert "sandbox" not in event.message.lower().split(":", 1)[0]


def test_a_failing_host_and_a_stall_are_reported(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    source = relay.open(str(sb.server.hls_url(sb.item.id)), sb.client)
    sb.server.faults.add(Fault.latency(0.8, path="/media", times=1))
    assert _get(source.url).status_code == 200
    assert events.kinds() == [RelayEventKind.STALLED, RelayEventKind.RESUMED]
    sb.server.faults.add(Fault.error(status=500, path="/media", times=None))
    assert _get(source.url.replace("index.m3u8", "0.ts")).status_code == 502
    failed = events.items[-1]
    assert failed.kind is RelayEventKind.FAILED
    assert failed.message.startswith("The video could not be loaded: ")


def test_resolve_video_gives_fresh_urls_and_the_frame_rate(media_sandbox: MediaSandbox) -> None:
    sb = media_sandbox
    info = resolve_video(sb.client, sb.store_id, sb.item.id)
    assert info.asset_id == sb.item.asset_id
    assert info.hls_url is not None and info.hls_url.endswith("/index.m3u8")
    assert info.thumbnail_url is not None
    assert info.duration == pytest.approx(sb.item.duration)
    assert info.fps == sb.item.system_metadata["fps"]


def _dead_url(live: str) -> str:
    """The same address on a loopback port nobody listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = live.split("/")[2]
    return live.replace(host, f"127.0.0.1:{port}", 1)


def test_an_unreachable_host_asks_the_api_for_the_current_address_once(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    # A stored citation from a sandbox that ran on another port (or a CDN that moved).
    sb = media_sandbox
    live = str(sb.server.hls_url(sb.item.id))
    asked: list[str] = []

    def resolve() -> str:
        asked.append("asked")
        return live

    source = relay.open(_dead_url(live), sb.client, resolve)
    assert _get(source.url).status_code == 200
    assert asked == ["asked"] and events.kinds() == [RelayEventKind.REFRESHED]


def test_a_host_still_unreachable_is_said_without_asking_again(
    relay: MediaRelay, events: Events, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    dead = _dead_url(str(sb.server.hls_url(sb.item.id)))
    asked: list[str] = []

    def resolve() -> str:
        asked.append("asked")
        return dead

    source = relay.open(dead, sb.client, resolve)
    assert _get(source.url).status_code == 502
    assert _get(source.url).status_code == 502
    assert len(asked) == 1
    failed = [e for e in events.items if e.kind is RelayEventKind.FAILED]
    assert failed and failed[0].message.startswith("The video could not be loaded: ")


def test_media_goes_through_the_proxy_the_api_client_uses(
    relay: MediaRelay, media_sandbox: MediaSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FFmpeg itself reads only a lowercase http_proxy; through the relay, media follows the
    # same variables as every API call (here the upper-case HTTP_PROXY, which FFmpeg ignores).
    sb = media_sandbox
    proxy = RecordingProxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        source = relay.open(str(sb.server.hls_url(sb.item.id)), sb.client)
        playlist = _get_direct(source.url)
        assert _get_direct(_segment_url(source.url, playlist.text)).status_code == 200
    finally:
        proxy.stop()
    media = [(target, headers) for target, headers in proxy.requests
             if target.startswith(sb.server.root_url + "/media/")]
    # The playlist and a segment at least (a fetch cut short under load may be retried).
    assert len(media) >= 2
    assert any(target.endswith("/index.m3u8") for target, _ in media)
    assert any("/seg/" in target for target, _ in media)
    assert all("x-api-key" not in headers for _target, headers in media)


def _get_direct(url: str) -> requests.Response:
    """A request to the relay that no proxy variable diverts."""
    session = requests.Session()
    session.trust_env = False
    with session:
        return session.get(url, timeout=10)
