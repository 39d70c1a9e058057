"""A loopback relay between the media player and the signed media hosts (no Qt).

The player (Qt Multimedia's FFmpeg backend) never talks to a media host itself. It plays
``http://127.0.0.1:<port>/<token>/index.m3u8``, and this relay fetches what it asks for
through the API client's media session (``JockeyClient.fetch_media``). Why:

* **Expired signatures are handled where they happen.** A signed URL may expire while a video
  plays (jockey-api.md §7.8). FFmpeg skips a refused HLS segment silently, so the player cannot
  tell "expired" from "the stream ended". Here a refusal (401/403/404/410, the client's
  ``MediaUrlExpiredError``) re-resolves the video once through the item and its asset (the
  ``resolve`` callable), reloads the playlists and serves the same segment from the fresh
  address: playback goes on. If the fresh address is refused too, the player gets a 404 and
  the owner an :class:`RelayEvent` with a sentence to show.
* **Proxies and TLS as everywhere else.** FFmpeg reads only a lowercase ``http_proxy`` (no
  ``HTTPS_PROXY``/``ALL_PROXY``) and does not verify TLS certificates by default; the client's
  media session honours every proxy variable like the API calls do, verifies certificates
  (certifi) and never carries ``x-api-key``.
* **No signed URL in a log.** FFmpeg prints every URL it opens on stderr at its default log
  level; it only ever sees loopback addresses with an opaque token.

Playlists are rewritten: each URI (and ``URI="…"`` attribute) becomes a relative name that
encodes its position — ``3.ts`` is the 4th URI of the root playlist, ``1-3.ts`` the 4th URI of
the playlist that is the root's 2nd — so a name means the same resource before and after a
re-resolution, whatever the new signatures. Only URIs that appeared in a playlist of a source
can be fetched (the relay is not an open proxy), tokens are 128-bit random, and the server
listens on loopback only. Segments are kept in a small LRU cache so seeking back is instant.

Everything here runs on the relay's own threads (one per player connection); ``on_event`` is
called from them, so a Qt owner must hand events to its thread with a queued signal.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from jockey_desktop.core.media_source import MediaClient

log = logging.getLogger(__name__)

#: The largest playlist and segment the relay reads (a 10 s 4K segment is ~20 MB).
MAX_PLAYLIST_BYTES = 4 * 1024 * 1024
MAX_SEGMENT_BYTES = 128 * 1024 * 1024
#: Segments kept in memory for seeks back (bytes, all sources together).
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
#: An upstream fetch slower than this is reported as a stall (s).
DEFAULT_STALL_AFTER = 8.0

_PLAYLIST_MARK = b"#EXTM3U"
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_NAME = re.compile(r"^(index|\d{1,6}(?:-\d{1,6}){0,7})(\.[A-Za-z0-9]{1,5})?$")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")
_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")
_CONTENT_TYPES = {
    "ts": "video/mp2t", "m4s": "video/iso.segment", "mp4": "video/mp4", "m4v": "video/mp4",
    "aac": "audio/aac", "m4a": "audio/mp4", "mp3": "audio/mpeg", "vtt": "text/vtt",
    "m3u8": "application/vnd.apple.mpegurl",
}

#: A fresh manifest URL of the source's video (blocking; raises with a sentence).
Resolver = Callable[[], str]


class RelayEventKind(str, Enum):
    """What the relay tells its owner about a source."""

    #: The address had expired; a fresh one was resolved and playback goes on.
    REFRESHED = "refreshed"
    #: The address was refused and no working fresh one could be had: playback cannot go on.
    EXPIRED = "expired"
    #: The media host failed or could not be reached (a sentence says which).
    FAILED = "failed"
    #: A fetch has been waiting for the media host longer than ``stall_after``.
    STALLED = "stalled"
    #: The stalled fetch finished.
    RESUMED = "resumed"


@dataclass(frozen=True)
class RelayEvent:
    """One event of one source; ``message`` is a sentence for the user ("" when none)."""

    source_id: int
    kind: RelayEventKind
    message: str = ""


class _RefusedError(Exception):
    """A request the relay answers with an error status (and maybe an event)."""

    def __init__(self, status: int, event: RelayEvent | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.event = event


@dataclass
class _Source:
    """One playing video: its root manifest URL and the playlists loaded from it."""

    id: int
    token: str
    root_url: str
    client: MediaClient
    resolve: Resolver | None
    #: Bumped by every re-resolution; a request that failed on an older generation retries.
    generation: int = 0
    #: Upstream URIs of each loaded playlist, by its position path (() is the root).
    playlists: dict[tuple[int, ...], list[str]] = field(default_factory=dict)
    #: The last re-resolution failed, or its fresh address was refused too: no more tries.
    dead: bool = False
    #: The API was asked once already because the media host could not be reached.
    asked_for_unreachable: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class RelaySource:
    """A source registered with the relay: ``url`` is what the player plays."""

    id: int
    url: str


def _extension(url: str) -> str:
    """The file extension of a URL's path (``.ts``), or "" (FFmpeg checks segment
    extensions against the formats it detects, so relayed names keep them)."""
    match = _EXTENSION.search(urlsplit(url).path)
    return f".{match.group(1).lower()}" if match else ""


def _name(path: tuple[int, ...], url: str) -> str:
    return "-".join(str(n) for n in path) + _extension(url)


def rewrite_playlist(text: str, base_url: str, path: tuple[int, ...]) -> tuple[str, list[str]]:
    """A playlist with every URI replaced by its relay name, and the absolute upstream URIs
    in order (a URI that is not http(s) stays in the list as "" and is never fetched)."""
    uris: list[str] = []

    def register(uri: str) -> str:
        absolute = urljoin(base_url, uri.strip())
        scheme = urlsplit(absolute).scheme
        uris.append(absolute if scheme in ("http", "https") else "")
        return _name((*path, len(uris) - 1), absolute)

    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append(line)
        elif stripped.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(lambda m: f'URI="{register(m.group(1))}"', line))
        else:
            lines.append(register(stripped))
    return "\n".join(lines) + "\n", uris


def _parse_name(name: str) -> tuple[int, ...] | None:
    match = _NAME.match(name)
    if match is None:
        return None
    head = match.group(1)
    return () if head == "index" else tuple(int(n) for n in head.split("-"))


def _content_type(name: str) -> str:
    match = _EXTENSION.search(name)
    return _CONTENT_TYPES.get(match.group(1).lower() if match else "", "application/octet-stream")


class MediaRelay:
    """The loopback relay; :meth:`open` a manifest URL, play the returned ``url``.

    The server starts on the first :meth:`open` (port chosen by the system) and stops with
    :meth:`stop`. ``on_event`` receives :class:`RelayEvent` s from the relay's threads.
    """

    def __init__(self, *, on_event: Callable[[RelayEvent], None] | None = None,
                 stall_after: float = DEFAULT_STALL_AFTER,
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._on_event = on_event
        self.stall_after = stall_after
        self._cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}
        self._next_id = 1
        self._cache: OrderedDict[tuple[str, tuple[int, ...]], bytes] = OrderedDict()
        self._cached = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Requests the player made and fetches made upstream (for tests and benchmarks).
        self.requests_served = 0
        self.upstream_fetches = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int | None:
        """The loopback port, once started."""
        return self._server.server_address[1] if self._server is not None else None

    def start(self) -> None:
        """Listen on 127.0.0.1 (idempotent)."""
        with self._lock:
            if self._server is not None:
                return
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
            server.daemon_threads = True
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, name="media-relay",
                                            kwargs={"poll_interval": 0.1}, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop listening and forget every source (connections in flight end on their own)."""
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
            self._sources.clear()
            self._cache.clear()
            self._cached = 0
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(2.0)

    # -- sources ------------------------------------------------------------------------------

    def open(self, manifest_url: str, client: MediaClient,
             resolve: Resolver | None = None) -> RelaySource:
        """Register a signed HLS manifest; returns the loopback URL to play.

        ``client`` fetches (``fetch_media``: no key, the environment's proxies); ``resolve``
        gives a fresh manifest URL when the current one is refused (None: no re-resolution).
        """
        self.start()
        token = secrets.token_urlsafe(16)
        with self._lock:
            source = _Source(self._next_id, token, manifest_url, client, resolve)
            self._next_id += 1
            self._sources[token] = source
        return RelaySource(source.id, f"http://127.0.0.1:{self.port}/{token}/index.m3u8")

    def close(self, source: RelaySource | None) -> None:
        """Forget a source: later requests for it are 404s."""
        if source is None:
            return
        with self._lock:
            for token, known in list(self._sources.items()):
                if known.id == source.id:
                    del self._sources[token]
                    for key in [k for k in self._cache if k[0] == token]:
                        self._cached -= len(self._cache.pop(key))

    def upstream_url(self, source: RelaySource) -> str | None:
        """The signed manifest URL a source plays now (fresh after a re-resolution)."""
        with self._lock:
            found = next((s for s in self._sources.values() if s.id == source.id), None)
        if found is None:
            return None
        with found.lock:
            return found.root_url

    def source_count(self) -> int:
        """How many sources are registered."""
        with self._lock:
            return len(self._sources)

    # -- serving (relay threads) --------------------------------------------------------------

    def serve(self, token: str, name: str) -> tuple[bytes, str]:
        """The body and content type of a request; raises :class:`_RefusedError`."""
        with self._lock:
            self.requests_served += 1
            source = self._sources.get(token)
        path = _parse_name(name)
        if source is None or path is None:
            raise _RefusedError(404)
        cached = self._cached_body(token, path)
        if cached is not None:
            return cached, _content_type(name)
        for attempt in range(2):
            generation = source.generation
            try:
                body, is_playlist = self._fetch_path(source, path)
                break
            except _ExpiredError:
                if attempt == 1 or not self._refresh(source, generation, expired=True):
                    raise _RefusedError(404, self._expired_event(source)) from None
            except _UnreachableError as unreachable:
                # The host of the address we hold cannot be reached. The API may hand out
                # addresses elsewhere now (a sandbox restarted on another port, a CDN moved):
                # ask it once per video, then say what the network said.
                if attempt == 1 or not self._refresh(source, generation, expired=False):
                    raise _RefusedError(502, unreachable.event) from None
        if is_playlist:
            return body, _CONTENT_TYPES["m3u8"]
        self._remember(token, path, body)
        return body, _content_type(name)

    def _fetch_path(self, source: _Source, path: tuple[int, ...]) -> tuple[bytes, bool]:
        """Fetch a resource by position: its parent playlist first (loaded once)."""
        url = self._upstream_url(source, path)
        if not url:
            raise _RefusedError(404)
        body = self._fetch(source, url, MAX_SEGMENT_BYTES if path else MAX_PLAYLIST_BYTES)
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_PLAYLIST_MARK):
            return body, False
        text, uris = rewrite_playlist(body.decode("utf-8", "replace"), url, path)
        with source.lock:
            source.playlists[path] = uris
        return text.encode("utf-8"), True

    def _upstream_url(self, source: _Source, path: tuple[int, ...]) -> str:
        if not path:
            return source.root_url
        parent = path[:-1]
        with source.lock:
            uris = source.playlists.get(parent)
        if uris is None:
            # The parent was not loaded under this generation (after a re-resolution): load
            # it again from the fresh root, which gives this position its fresh address.
            self._fetch_path(source, parent)
            with source.lock:
                uris = source.playlists.get(parent)
        if uris is None or path[-1] >= len(uris):
            return ""
        return uris[path[-1]]

    def _fetch(self, source: _Source, url: str, max_bytes: int) -> bytes:
        from jockey_desktop.core.api.errors import (
            JockeyError,
            MediaUrlExpiredError,
            NetworkError,
            RequestTimedOutError,
        )

        stalled = threading.Event()

        def stall() -> None:
            stalled.set()
            self._emit(RelayEvent(source.id, RelayEventKind.STALLED,
                                  "Waiting for the video host: the stream has stalled."))

        timer = threading.Timer(self.stall_after, stall)
        timer.daemon = True
        timer.start()
        try:
            with self._lock:
                self.upstream_fetches += 1
            return source.client.fetch_media(url, max_bytes=max_bytes, accept="*/*")
        except MediaUrlExpiredError:
            raise _ExpiredError() from None
        except JockeyError as error:
            # str(error) is a sentence without the key; the URL is never logged (signed).
            log.info("media fetch failed: %s", type(error).__name__)
            event = RelayEvent(source.id, RelayEventKind.FAILED,
                               f"The video could not be loaded: {error}")
            if isinstance(error, NetworkError) and not isinstance(error, RequestTimedOutError):
                raise _UnreachableError(event) from None
            raise _RefusedError(502, event) from None
        finally:
            timer.cancel()
            if stalled.is_set():
                self._emit(RelayEvent(source.id, RelayEventKind.RESUMED))

    def _refresh(self, source: _Source, generation: int, *, expired: bool) -> bool:
        """Re-resolve the source's manifest; True when the request should retry.

        An expired address is resolved again each time it expires (a long viewing outlives
        several signatures; a fresh one refused at once ends it, see :meth:`serve`); an
        unreachable host only once per source.
        """
        with source.lock:
            if source.generation != generation:
                return True  # another request already refreshed it
            if source.dead or source.resolve is None or (
                    not expired and source.asked_for_unreachable):
                return False
            if not expired:
                source.asked_for_unreachable = True
            resolve = source.resolve
        try:
            fresh = resolve()
        except Exception as error:  # a JockeyError or NoVideoError: a sentence
            log.info("media re-resolution failed: %s", type(error).__name__)
            if expired:
                with source.lock:
                    source.dead = True
                self._emit(RelayEvent(source.id, RelayEventKind.EXPIRED,
                                      f"The video's address expired and a new one could not "
                                      f"be obtained: {error}"))
            return False
        with source.lock:
            if source.generation != generation:
                return True
            source.root_url = fresh
            source.playlists.clear()
            source.generation += 1
        log.info("media address of source %d re-resolved", source.id)
        self._emit(RelayEvent(source.id, RelayEventKind.REFRESHED))
        return True

    def _expired_event(self, source: _Source) -> RelayEvent | None:
        with source.lock:
            already = source.dead
            source.dead = True
        if already:
            return None  # said once already (by _refresh or an earlier request)
        return RelayEvent(source.id, RelayEventKind.EXPIRED,
                          "The video's address has expired and the server gave no working "
                          "new one.")

    def _cached_body(self, token: str, path: tuple[int, ...]) -> bytes | None:
        with self._lock:
            body = self._cache.get((token, path))
            if body is not None:
                self._cache.move_to_end((token, path))
            return body

    def _remember(self, token: str, path: tuple[int, ...], body: bytes) -> None:
        if len(body) > self._cache_bytes // 4:
            return
        with self._lock:
            if token not in self._sources or (token, path) in self._cache:
                return
            self._cache[(token, path)] = body
            self._cached += len(body)
            while self._cached > self._cache_bytes and self._cache:
                _key, dropped = self._cache.popitem(last=False)
                self._cached -= len(dropped)

    def _emit(self, event: RelayEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # an owner's bug must not break the player's connection
                log.exception("media relay event handler failed")


class _ExpiredError(Exception):
    """The upstream refused the address (401/403/404/410)."""


class _UnreachableError(Exception):
    """The upstream host could not be reached; ``event`` says so."""

    def __init__(self, event: RelayEvent) -> None:
        super().__init__(event.message)
        self.event = event


def _handler_class(relay: MediaRelay) -> type[BaseHTTPRequestHandler]:
    class Handler(_RelayHandler):
        pass

    Handler.relay = relay
    return Handler


class _RelayHandler(BaseHTTPRequestHandler):
    """GET/HEAD ``/<token>/<name>``; single byte ranges on the whole body."""

    relay: MediaRelay
    protocol_version = "HTTP/1.1"
    server_version = "JockeyMediaRelay"

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines carry the source's token."""

    def do_GET(self) -> None:
        """Serve a body (or a range of it)."""
        self._answer(head=False)

    def do_HEAD(self) -> None:
        """Serve the headers of a body."""
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        try:
            if len(parts) != 2:
                raise _RefusedError(404)
            body, kind = self.relay.serve(parts[0], parts[1])
        except _RefusedError as refused:
            if refused.event is not None and refused.event.message:
                self.relay._emit(refused.event)
            self._send(refused.status, b"", "text/plain", head=head)
            return
        start, end = 0, len(body) - 1
        status = 200
        wanted = _RANGE.match(self.headers.get("Range") or "")
        if wanted and body:
            first, last = wanted.group(1), wanted.group(2)
            if first:
                start, end = int(first), min(int(last), end) if last else end
            elif last:
                start = max(0, len(body) - int(last))
            if start > end or start >= len(body):
                self._send(416, b"", "text/plain", head=head,
                           extra={"Content-Range": f"bytes */{len(body)}"})
                return
            status = 206
        extra = {"Accept-Ranges": "bytes"}
        if status == 206:
            extra["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
        self._send(status, body[start:end + 1], kind, head=head, extra=extra)

    def _send(self, status: int, body: bytes, kind: str, *, head: bool,
              extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the player went away (a seek, a new video)
