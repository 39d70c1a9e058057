"""The HTTP plumbing under ``JockeyClient``: sockets, retries, redirects, deadlines, limits.

What it guarantees (see jockey-api.md §9):

* explicit timeouts — connect 10 s, GET read 30 s, non-streamed POST read 600 s, stream idle
  45 s (the socket read timeout is the gap between bytes, so keep-alives reset it), and an
  overall deadline per attempt of every non-streamed request (a server that trickles one byte
  a second still ends by it);
* a cap on the decoded size of every body read into memory (a gzip bomb is a clear
  ``ProtocolError``, not a gigabyte of RAM);
* retries only where safe — idempotent requests (GET, DELETE, PUT, PATCH and POSTs that are
  marked so) on connection errors, 429 and 5xx; every other POST only when it provably was
  not processed (connection never made, or 429/503 with a Retry-After of at most 60 s);
* redirects of API requests are followed only within the same origin; the API key never
  leaves for another host. Requests to signed media and upload URLs go through a separate
  session that never carries the key;
* errors are mapped by cause, never by the outer exception type: when urllib3 gives up, a
  read timeout surfaces as ``requests.ConnectionError`` and must still read "timed out";
* the key is in no log line, repr or error text;
* cancel from any thread: the token shuts down the socket, which ends a blocked read at once.

Pure Python (requests), never imports Qt.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from jockey_desktop import __version__
from jockey_desktop.core.api.cancel import CancelToken
from jockey_desktop.core.api.errors import (
    AuthenticationError,
    JockeyError,
    MalformedKeyError,
    NetworkError,
    ProtocolError,
    RequestCancelledError,
    RequestTimedOutError,
    StreamCutError,
    error_from_http,
    size_text,
)
from jockey_desktop.core.api.models import (
    WAIT_CONNECTION,
    WAIT_RATE_LIMITED,
    WAIT_UNAVAILABLE,
    RetryWait,
)
from jockey_desktop.core.api.urls import base_url_problem
from jockey_desktop.core.redaction import redact

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twelvelabs.io/v1.3"
USER_AGENT = f"JockeyDesktop/{__version__} (+python-requests)"
#: Largest page the API allows; lists are walked with it.
PAGE_LIMIT = 50
#: Default cap on the decoded size of a JSON answer read into memory (64 MiB). The largest
#: legitimate one is a page of 50 items, each with 50 metadata values of 8,192 characters.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Error bodies are read only for their message; anything past this is not needed.
MAX_ERROR_BODY_BYTES = 1024 * 1024
#: ``JockeyError.code`` of a key that cannot be put in an HTTP header.
MALFORMED_KEY_CODE = "api_key_malformed"
#: Methods that may be sent again after a failure without doing anything twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})
_MAX_PAGES = 10_000
_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 * 1024


def _key_is_malformed(key: str) -> bool:
    """True when ``key`` cannot travel in a header: control characters (a line break inside
    a pasted key) or anything outside ASCII (typographic quotes, non-breaking spaces)."""
    return any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in key)


def retry_wait(seconds: float, reason: str) -> RetryWait:
    """The ``RetryWait`` event announcing a pause before an allowed resend."""
    return RetryWait(type="retry_wait", sequence_number=-1, seconds=max(0.0, float(seconds)),
                     reason=reason)


# --- cancellable sockets --------------------------------------------------------------
#
# requests cannot abort a request in flight. Our connection classes hand the socket of each
# request to the tokens active in the calling thread (set by ``_cancel_scope``), right
# before waiting for the response; a firing token then shuts the socket down, so a blocked
# ``recv`` returns immediately — while the server is silent, before or after the headers.
# The tokens are the caller's CancelToken and the attempt's deadline (``_Watchdog``).

_local = threading.local()


@dataclass
class _Scope:
    """The tokens that may shut down the sockets of one request (user cancel, deadline).

    ``closes_connection``: a socket registered here must never serve another request (set for
    a user's cancel token, which may fire at any moment, even after the body was read).
    """

    tokens: tuple[CancelToken, ...]
    closes_connection: bool = True
    handles: list[tuple[CancelToken, int]] = field(default_factory=list)

    def register(self, callback: Callable[[], None]) -> list[tuple[CancelToken, int]]:
        """Run ``callback`` when any token fires; returns the handles it was given."""
        added = [(token, token.add_callback(callback)) for token in self.tokens]
        self.handles.extend(added)
        return added

    def release(self) -> None:
        """Forget every callback registered through this scope."""
        for token, handle in self.handles:
            token.remove_callback(handle)
        self.handles.clear()


class _Watchdog:
    """A token that fires after ``seconds``: the overall deadline of one attempt.

    Registered in the request's scope, it shuts the socket down, which ends a server that
    trickles its headers or body a byte at a time (the read timeout alone only bounds the
    gap between bytes).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.token = CancelToken()
        self._timer = threading.Timer(seconds, self.token.cancel)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> bool:
        """Disarm; True when the deadline had already passed."""
        self._timer.cancel()
        return self.token.cancelled

    def error(self) -> RequestTimedOutError:
        """The error of an attempt that ran past the deadline."""
        return RequestTimedOutError(
            f"The server did not finish its answer within {self.seconds:g} s."
        )


def _shutdown_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _CancellableConnectionMixin:
    sock: socket.socket | None
    #: Set once a cancel token may shut this socket down: it must never serve another request.
    jockey_no_reuse = False
    #: Callbacks that shut this socket down; forgotten when it goes back to the pool.
    jockey_handles: tuple[tuple[CancelToken, int], ...] = ()
    #: The socket the response is read from: http.client drops ``sock`` when it hands a
    #: close-delimited response (a stream) the connection, but a cancel must still reach it.
    _jockey_sock: socket.socket | None = None

    def request(self, *args: Any, **kwargs: Any) -> Any:
        # Registered before the request is sent, so a cancel also ends an upload whose body
        # is blocked in sendall (the server has stopped reading).
        scope: _Scope | None = getattr(_local, "scope", None)
        self._jockey_sock = None
        if scope is not None:
            if scope.closes_connection:
                self.jockey_no_reuse = True
            self.jockey_handles = tuple(scope.register(self._jockey_shutdown))
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        scope: _Scope | None = getattr(_local, "scope", None)
        self._jockey_sock = self.sock
        if scope is not None and any(token.cancelled for token in scope.tokens):
            self._jockey_shutdown()  # fired while the socket was still connecting
        return super().getresponse()  # type: ignore[misc]

    def _jockey_shutdown(self) -> None:
        # Looked up when the token fires: the socket may be new since the request began.
        sock = self.sock or self._jockey_sock
        if sock is not None:
            _shutdown_socket(sock)


def _put_conn_or_close(pool: HTTPConnectionPool, conn: Any) -> bool:
    """Close a connection that a cancel token has touched instead of reusing it. A reused
    connection first forgets the callbacks that could shut it down, so a deadline that
    fires later does not cut the next request on it. (A deadline firing in the very instant
    the body completes can still shut the pooled socket; urllib3 then sees a dropped
    connection and reconnects, or the idempotent call is retried.)"""
    if conn is None:
        return False
    for token, handle in getattr(conn, "jockey_handles", ()):
        token.remove_callback(handle)
    conn.jockey_handles = ()
    if getattr(conn, "jockey_no_reuse", False):
        conn.jockey_no_reuse = False
        conn.close()  # the pool reconnects it on its next use
        return True
    return False


class _HTTPConnection(_CancellableConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_CancellableConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _put_conn(self, conn: Any) -> None:
        _put_conn_or_close(self, conn)
        super()._put_conn(conn)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        _put_conn_or_close(self, conn)
        super()._put_conn(conn)


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


class _CancellableAdapter(HTTPAdapter):
    """An adapter whose connections register their socket with the active tokens."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        # SOCKS managers bring their own pool classes; cancel then relies on the flag check.
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


def _mount(http_session: requests.Session) -> None:
    adapter = _CancellableAdapter(max_retries=0)  # our own retry policy: _attempts
    http_session.mount("http://", adapter)
    http_session.mount("https://", adapter)


@contextlib.contextmanager
def _cancel_scope(scope: _Scope | None) -> Iterator[None]:
    previous = getattr(_local, "scope", None)
    _local.scope = scope
    try:
        yield
    finally:
        _local.scope = previous


# --- mapping transport failures by cause ----------------------------------------------


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (args, ``reason``, cause, context)."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        stack.extend(e for e in linked if isinstance(e, BaseException))
    return seen


@dataclass(frozen=True)
class TransportFailure:
    """A transport exception mapped to its error and to what may be done about it."""

    error: JockeyError
    #: True when the request provably never reached the server (safe to resend a POST).
    before_send: bool
    #: True when an idempotent request may be retried.
    retryable: bool


def map_transport_error(exc: BaseException, *, in_body: bool) -> TransportFailure:
    """Map a requests/urllib3/socket exception by its cause; ``in_body``: while streaming."""
    chain = _causes(exc)
    # Order matters: urllib3's NewConnectionError subclasses ConnectTimeoutError, which
    # subclasses its TimeoutError, so "connect" is decided before "read timeout".
    if any(isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain):
        return TransportFailure(
            NetworkError("The server's name could not be resolved (DNS)."), True, True
        )
    if any(
        isinstance(e, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))
        for e in chain
    ) and not in_body:
        return TransportFailure(NetworkError("The connection was refused."), True, True)
    if any(
        isinstance(e, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))
        for e in chain
    ):
        return TransportFailure(
            NetworkError("The connection could not be made in time."), True, True
        )
    unverified = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if unverified is not None:
        # The one TLS failure a user can act on (a self-signed server, a company proxy that
        # inspects HTTPS with its own certificate): said as such, with OpenSSL's reason.
        why = (unverified.verify_message or "").strip()
        return TransportFailure(NetworkError(
            "The server's security certificate could not be verified"
            + (f" ({why})." if why else ".")), False, False)
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return TransportFailure(
            NetworkError("The secure (TLS) connection failed."), False, False
        )
    if any(
        isinstance(
            e,
            (
                requests.exceptions.ReadTimeout,
                urllib3.exceptions.ReadTimeoutError,
                socket.timeout,
                TimeoutError,
            ),
        )
        for e in chain
    ):
        if in_body:
            return TransportFailure(
                RequestTimedOutError("The reply stream went silent for too long."), False, False
            )
        return TransportFailure(
            RequestTimedOutError("No answer arrived within the time limit."), False, False
        )
    if any(isinstance(e, requests.exceptions.ProxyError) for e in chain):
        return TransportFailure(NetworkError("The proxy could not be used."), False, True)
    unusable = next((e for e in chain if isinstance(e, (requests.exceptions.InvalidSchema,
                                                         requests.exceptions.InvalidURL))), None)
    if unusable is not None:
        # The base URL and our paths are checked before any request: an address requests
        # cannot use here is the proxy's (HTTPS_PROXY and the like). Its text is not echoed:
        # a proxy address can hold a password.
        what = ("a SOCKS proxy, which the app does not support" if "socks" in
                str(unusable).lower() else "not an address the app can use")
        return TransportFailure(NetworkError(
            "The proxy set for this computer (HTTPS_PROXY, ALL_PROXY or the system settings) "
            f"is {what}."), True, False)
    if in_body:
        return TransportFailure(
            StreamCutError("The reply stream was cut off before the answer was complete."),
            False,
            False,
        )
    return TransportFailure(
        NetworkError("The connection was interrupted."),
        False,
        any(isinstance(e, (ConnectionError, http.client.HTTPException, OSError)) for e in chain),
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port)


# --- one logical request ---------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One logical request, sent (and possibly resent) by :meth:`Transport._request`.

    ``path`` is relative to the base URL for API calls; for ``external`` calls (signed media
    and upload URLs) ``url`` is the whole address, and the API key is never attached.
    ``body`` makes a fresh request body per attempt (bytes, or an object with ``__iter__``
    and ``__len__`` that streams it). ``deadline`` bounds each attempt from connect to the
    last byte; ``max_body`` bounds the decoded size of a body read into memory.
    """

    method: str
    path: str
    timeout: tuple[float, float]
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    body: Callable[[], Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cancel: CancelToken | None = None
    stream: bool = False
    session_id: str | None = None
    deadline: float | None = None
    idempotent: bool | None = None  # None: decided by the method
    max_body: int | None = None  # None: the client's max_body_bytes
    external: bool = False
    url: str = ""

    @property
    def may_repeat(self) -> bool:
        """True when sending this request twice does nothing twice."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method in IDEMPOTENT_METHODS


def read_body(response: requests.Response, limit: int) -> bytes:
    """Read (and decode) the whole body, refusing one that grows past ``limit`` bytes.

    urllib3 decodes gzip/deflate a chunk at a time with its output bounded by the chunk
    size, so a compressed bomb is stopped after ``limit`` bytes of output, never inflated.
    """
    if getattr(response, "_content_consumed", False):
        return response.content
    data = bytearray()
    for chunk in response.iter_content(READ_CHUNK):
        data += chunk
        if len(data) > limit:
            response.close()
            raise ProtocolError(
                f"The server's answer was larger than {size_text(limit)}, so it was not read.",
                status=response.status_code,
            )
    content = bytes(data)
    response._content = content
    return content


def release(response: requests.Response) -> None:
    """Give back a response's connection and forget its cancel callbacks."""
    scope: _Scope | None = getattr(response, "_jockey_scope", None)
    if scope is not None:
        scope.release()
        response._jockey_scope = None  # type: ignore[attr-defined]
    response.close()


def require_dict(data: Any) -> dict[str, Any]:
    """``data`` if it is a JSON object, else a ``ProtocolError``."""
    if not isinstance(data, dict):
        raise ProtocolError("The server's answer was not a JSON object.")
    return data


def seg(value: str) -> str:
    """Quote an id for use as one path segment (ids are opaque)."""
    return quote(str(value), safe="")


# --- the transport ---------------------------------------------------------------------


class Transport:
    """Sessions, retry policy, redirects, deadlines and body limits for ``JockeyClient``.

    Options (all keyword): ``connect_timeout`` (10), ``read_timeout`` (30, GETs and other
    short calls), ``response_timeout`` (600, non-streamed ``/responses`` and uploads),
    ``stream_idle_timeout`` (45), ``request_deadline`` (60: the whole of one attempt of a
    short call), ``max_body_bytes`` (64 MiB), ``max_retries`` (3), ``backoff`` ((1, 2, 4)),
    ``max_retry_after`` (60), ``sleep`` (``time.sleep``; tests inject a fake), ``session`` (a
    ``requests.Session`` to use; it gets our adapters mounted), ``user_agent``.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        response_timeout: float = 600.0,
        stream_idle_timeout: float = 45.0,
        request_deadline: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_retries: int = 3,
        backoff: Sequence[float] = (1.0, 2.0, 4.0),
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            # Checked here so "no key" never becomes an opaque 401 later.
            raise AuthenticationError("No API key is set.", code="unauthorized")
        problem = base_url_problem(base_url)
        if problem is not None:
            # Refused before any request could carry the key there (e.g. plain http to
            # another machine); the sentence never echoes the URL.
            raise ValueError(problem)
        self._api_key = api_key.strip()
        # Not raised here: the app builds clients on the GUI thread from whatever key was
        # saved; each request raises MalformedKeyError instead, shown like any key problem.
        self._key_malformed = _key_is_malformed(self._api_key)
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.response_timeout = response_timeout
        self.stream_idle_timeout = stream_idle_timeout
        self.request_deadline = request_deadline
        self.max_body_bytes = max_body_bytes
        self.max_retries = max(0, max_retries)
        self.backoff = tuple(backoff) or (1.0,)
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self.user_agent = user_agent
        self._session = session or requests.Session()
        # Non-GET requests get their own pool, so a turn never rides on a kept-alive
        # connection that the server may be closing at that very moment: a failure before
        # any byte is then always a fresh connect failure, the one case where resending a
        # POST is safe.
        self._turn_session = self._sibling_session()
        # Signed media and upload URLs: a session that has never seen the key, so no code
        # path (redirects, retries, hooks) can attach it to another host.
        self._external_session = self._sibling_session()
        # Only the headers a call names (a presigned PUT gets exactly its upload headers).
        self._external_session.headers.clear()
        for http_session in (self._session, self._turn_session, self._external_session):
            _mount(http_session)
        self._active: set[CancelToken] = set()
        self._active_lock = threading.Lock()

    def _sibling_session(self) -> requests.Session:
        sibling = requests.Session()
        for attr in ("proxies", "verify", "cert", "trust_env"):
            setattr(sibling, attr, getattr(self._session, attr))
        return sibling

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    # -- lifecycle -------------------------------------------------------------------------

    def proxy_for_base_url(self) -> str | None:
        """The proxy requests would use for the base URL (env/session), password masked."""
        proxies = dict(self._session.proxies or {})
        if self._session.trust_env:
            env = requests.utils.get_environ_proxies(self.base_url)
            for key, value in env.items():
                proxies.setdefault(key, value)
        proxy = requests.utils.select_proxy(self.base_url, proxies)
        if not proxy:
            return None
        parts = urlsplit(proxy)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}"
            if parts.port:
                netloc += f":{parts.port}"
            proxy = urlunsplit(parts._replace(netloc=netloc))
        return proxy

    def close(self) -> None:
        """Cancel running requests and release pooled connections (the client stays usable)."""
        with self._active_lock:
            tokens = list(self._active)
        for token in tokens:
            token.cancel()
        self._session.close()
        self._turn_session.close()
        self._external_session.close()

    # -- helpers for the endpoint methods --------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, (self._api_key,))

    @contextlib.contextmanager
    def _track(self, token: CancelToken) -> Iterator[None]:
        with self._active_lock:
            self._active.add(token)
        try:
            yield
        finally:
            with self._active_lock:
                self._active.discard(token)

    def _short_timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def _call_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        allow_empty: bool = False,
    ) -> Any:
        """A short API call (read timeout, overall deadline); returns its parsed JSON body.

        ``allow_empty``: an empty body (204, or a DELETE's empty 200) gives None.
        """
        return self._send_json(Call(method, path, self._short_timeout(), params=params,
                                    json_body=json_body, idempotent=idempotent,
                                    deadline=self.request_deadline), allow_empty=allow_empty)

    def _send_json(self, call: Call, *, allow_empty: bool = False) -> Any:
        """Send ``call`` (tracked, so ``close()`` cancels it) and parse its JSON answer."""
        if call.cancel is None:
            return self._json(self._request(call), allow_empty=allow_empty)
        with self._track(call.cancel):
            return self._json(self._request(call), allow_empty=allow_empty)

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call_json("GET", path, params=params)

    def _paged(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        page = 1
        while page <= _MAX_PAGES:
            data = require_dict(
                self._get_json(path, {**params, "page": page, "page_limit": PAGE_LIMIT})
            )
            rows = data.get("data")
            if not isinstance(rows, list):
                raise ProtocolError("The server's list had no data array.")
            results.extend(r for r in rows if isinstance(r, dict))
            info = data.get("page_info")
            total = info.get("total_page") if isinstance(info, dict) else None
            # total_page may be 0 for an empty list; never assume ≥ 1. Without page_info,
            # a short page is the last one.
            if not rows:
                break
            if isinstance(total, int):
                if page >= total:
                    break
            elif len(rows) < PAGE_LIMIT:
                break
            page += 1
        return results

    def _json(
        self, response: requests.Response, session_id: str | None = None, *,
        allow_empty: bool = False,
    ) -> Any:
        try:
            raw = read_body(response, self.max_body_bytes)
            if allow_empty and not raw.strip():
                return None
            content_type = response.headers.get("Content-Type", "")
            if "json" not in content_type.lower():
                raise ProtocolError(
                    f"The server answered with {content_type or 'no content type'} instead "
                    "of JSON.", status=response.status_code, session_id=session_id,
                )
            try:
                return json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ProtocolError(
                    "The server's answer was not valid JSON.", status=response.status_code,
                    session_id=session_id,
                ) from None
        finally:
            release(response)

    # -- request plumbing ------------------------------------------------------------------

    def _headers(self, call: Call) -> dict[str, str]:
        if call.external:
            # Exactly what the call names (a presigned PUT: its upload headers); never the
            # key. SKIP_HEADER keeps urllib3 from adding its own user agent.
            headers = dict(call.headers)
            if not any(k.lower() == "user-agent" for k in headers):
                headers["User-Agent"] = urllib3.util.SKIP_HEADER
            return headers
        headers = {
            "x-api-key": self._api_key,
            "User-Agent": self.user_agent,
            "Accept": "text/event-stream" if call.stream else "application/json",
        }
        if call.stream:
            headers["Accept-Encoding"] = "identity"  # never buffer a stream in a decoder
        headers.update(call.headers)
        return headers

    def _pause(self, seconds: float, cancel: CancelToken | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)
        if cancel is not None and cancel.cancelled:
            raise RequestCancelledError()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self.backoff[min(attempt, len(self.backoff) - 1)]

    def _request(self, call: Call) -> requests.Response:
        """Send with the retry policy; returns a 2xx response or raises a ``JockeyError``."""
        attempts = self._attempts(call)
        while True:
            try:
                wait = next(attempts)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            self._pause(wait.seconds, call.cancel)

    def _attempts(self, call: Call) -> Generator[RetryWait, None, requests.Response]:
        """The retry policy as a generator: yields a ``RetryWait`` before each allowed resend
        (the caller sleeps, and a stream also shows it) and returns the 2xx response."""
        if self._key_malformed and not call.external:
            # Checked before any socket: http.client would raise UnicodeEncodeError (or
            # requests InvalidHeader), which must not read as a crash or a network failure.
            raise MalformedKeyError(code=MALFORMED_KEY_CODE, session_id=call.session_id)
        cancel = call.cancel
        attempt = 0
        while True:
            if cancel is not None and cancel.cancelled:
                raise RequestCancelledError(session_id=call.session_id)
            started = time.monotonic()
            try:
                response = self._send(call)
            except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
                # A header that cannot be sent: only the key can be that (the user agent is
                # ours). The original exception may quote the key's characters: dropped.
                raise MalformedKeyError(code=MALFORMED_KEY_CODE,
                                        session_id=call.session_id) from None
            except JockeyError as own:
                if own.session_id is None:
                    own.session_id = call.session_id
                raise
            except requests.RequestException as exc:
                if cancel is not None and cancel.cancelled:
                    raise RequestCancelledError(session_id=call.session_id) from None
                failure = map_transport_error(exc, in_body=False)
                error = failure.error
                error.session_id = call.session_id
                _log.info("%s %s failed after %.2fs: %s", call.method, self._log_path(call),
                          time.monotonic() - started, type(error).__name__)
                may_retry = failure.retryable if call.may_repeat else failure.before_send
                if may_retry and attempt < self.max_retries:
                    yield retry_wait(self._delay(attempt, None), WAIT_CONNECTION)
                    attempt += 1
                    continue
                raise error from None
            _log.info("%s %s -> %d in %.2fs", call.method, self._log_path(call),
                      response.status_code, time.monotonic() - started)
            if 200 <= response.status_code < 300:
                return response
            error = self._error_from_response(response, call)
            if attempt < self.max_retries and self._status_retryable(call.may_repeat, error):
                reason = WAIT_RATE_LIMITED if error.status == 429 else WAIT_UNAVAILABLE
                yield retry_wait(self._delay(attempt, error.retry_after), reason)
                attempt += 1
                continue
            raise error

    @staticmethod
    def _log_path(call: Call) -> str:
        # A signed URL's query is its authorisation: log only where it goes.
        if call.external:
            parts = urlsplit(call.url)
            return f"{parts.scheme}://{parts.hostname}/…"
        return call.path

    def _status_retryable(self, may_repeat: bool, error: JockeyError) -> bool:
        status = error.status or 0
        too_long = error.retry_after is not None and error.retry_after > self.max_retry_after
        if may_repeat:
            return (status == 429 or status >= 500) and not too_long
        # A POST that creates something: only answers that prove it was not processed.
        return status in (429, 503) and error.retry_after is not None and not too_long

    def _send(self, call: Call) -> requests.Response:
        """One attempt, following same-origin redirects only (the key stays home)."""
        url = call.url if call.external else self.base_url + call.path
        home = _origin(url)
        method, params, json_body = call.method, call.params, call.json_body
        body = call.body() if call.body is not None else None
        limit = call.max_body or self.max_body_bytes
        watchdog = _Watchdog(call.deadline) if call.deadline and not call.stream else None
        tokens = tuple(t for t in (call.cancel, watchdog.token if watchdog else None)
                       if t is not None)
        scope = _Scope(tokens, closes_connection=call.cancel is not None) if tokens else None
        headers = self._headers(call)
        if call.cancel is not None:
            # A cancellable request's socket may be shut down by its token at any moment, so
            # it must never go back to the pool and serve another request: one connection
            # per turn (turns last minutes; the extra handshake is nothing).
            headers["Connection"] = "close"
        if call.external:
            http_session = self._external_session
        else:
            http_session = self._session if method == "GET" else self._turn_session
        try:
            for _hop in range(_MAX_REDIRECTS + 1):
                with _cancel_scope(scope):
                    response = http_session.request(
                        method, url, params=params, json=json_body, data=body,
                        headers=headers, timeout=call.timeout,
                        allow_redirects=False, stream=True,
                    )
                if response.status_code not in _REDIRECT_STATUSES:
                    if not call.stream:
                        ok = 200 <= response.status_code < 300
                        with _cancel_scope(scope):
                            # Read under the scope (cancel and deadline cut it); an error
                            # body is read here too, within the same bounds, and one too
                            # large is dropped: its status still says what went wrong.
                            try:
                                read_body(response, limit if ok else MAX_ERROR_BODY_BYTES)
                            except ProtocolError:
                                if ok:
                                    raise
                        if watchdog is not None and watchdog.stop():
                            raise watchdog.error()
                        return response  # fully read: the scope is released below
                    if scope is not None:
                        response._jockey_scope = scope  # type: ignore[attr-defined]
                        scope = None  # handed over; released when the caller is done
                    return response
                url, new_method = self._redirect_target(call, response, url, home, method)
                params = None  # already part of the Location
                if new_method != method:  # 301/302/303 turn a POST into a bodiless GET
                    method, json_body, body = new_method, None, None
                elif call.body is not None:
                    body = call.body()  # the first one was consumed
            raise ProtocolError("The server redirected the request too many times.")
        except (requests.RequestException, ProtocolError):
            if (watchdog is not None and watchdog.stop()
                    and not (call.cancel is not None and call.cancel.cancelled)):
                raise watchdog.error() from None
            raise
        finally:
            if watchdog is not None:
                watchdog.stop()
            if scope is not None:
                scope.release()

    @staticmethod
    def _redirect_target(
        call: Call, response: requests.Response, url: str, home: tuple[str, str, int | None],
        method: str,
    ) -> tuple[str, str]:
        """Where a redirect leads and with which method, or a ``ProtocolError`` when it must
        not be followed."""
        location = response.headers.get("Location")
        status = response.status_code
        response.close()
        if not location:
            raise ProtocolError("The server sent a redirect without a target.")
        target = urljoin(url, location)
        if call.external:
            # No key travels with these, so any http(s) host will do; an upload is not
            # replayed to wherever a signed URL points next.
            if urlsplit(target).scheme.lower() not in ("http", "https") or call.body is not None:
                raise ProtocolError("The media server sent a redirect that cannot be followed.")
        elif _origin(target) != home:
            # requests would forward x-api-key to the other host; we refuse instead.
            _log.warning("refused a redirect from %s to another origin %s",
                         home[1], _origin(target)[1])
            raise ProtocolError(
                "The server redirected the request to another host; it was not "
                "followed so that the API key stays private."
            )
        if status in (301, 302, 303) and method != "GET":
            return target, "GET"
        return target, method

    def _error_from_response(self, response: requests.Response, call: Call) -> JockeyError:
        try:
            raw = read_body(response, MAX_ERROR_BODY_BYTES)
        except (requests.RequestException, ProtocolError):
            raw = b""  # the status alone still says what went wrong
        finally:
            release(response)
        code: str | None = None
        message = ""
        try:
            body = json.loads(raw.decode("utf-8", errors="replace")) if raw else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("code"), str):
                code = body["code"]
            if isinstance(body.get("message"), str):
                message = body["message"]
        message = self._redact(message)
        return self._map_status(response, call, code, message)

    def _map_status(
        self, response: requests.Response, call: Call, code: str | None, message: str
    ) -> JockeyError:
        """The error for a non-2xx answer (subclasses refine it for their endpoints)."""
        return error_from_http(
            response.status_code, code, message, path=call.path,
            sent_session_id=call.session_id,
            retry_after_header=response.headers.get("Retry-After"),
        )


__all__ = [
    "DEFAULT_BASE_URL",
    "IDEMPOTENT_METHODS",
    "MALFORMED_KEY_CODE",
    "MAX_BODY_BYTES",
    "MAX_ERROR_BODY_BYTES",
    "PAGE_LIMIT",
    "READ_CHUNK",
    "USER_AGENT",
    "Call",
    "Transport",
    "TransportFailure",
    "map_transport_error",
    "read_body",
    "release",
    "require_dict",
    "retry_wait",
    "seg",
]
