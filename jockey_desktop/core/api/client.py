"""``JockeyClient``: the HTTP client of the Jockey API v1.3 (built on ``requests``).

What it guarantees (see jockey-api.md §9):

* explicit timeouts — connect 10 s, GET read 30 s, non-streamed POST read 600 s, stream idle
  45 s (the socket read timeout is the gap between bytes, so keep-alives reset it);
* retries only where safe — GETs on connection errors, 429 and 5xx; ``POST /responses`` only
  when it provably was not processed (connection never made, or 429/503 with a Retry-After
  of at most 60 s). Never after a read timeout, a reset, another 5xx or a broken stream,
  because each POST appends a turn to the server-side session;
* redirects are followed only within the same origin; the API key never leaves for another
  host;
* errors are mapped by cause, never by the outer exception type: when urllib3 gives up, a
  read timeout surfaces as ``requests.ConnectionError`` and must still read "timed out";
* the key is in no log line, repr or error text;
* cancel from any thread: the token shuts down the socket, which ends a blocked read at once.
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
from urllib.parse import urljoin, urlsplit, urlunsplit

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
    error_from_http,
)
from jockey_desktop.core.api.models import (
    WAIT_CONNECTION,
    WAIT_RATE_LIMITED,
    WAIT_UNAVAILABLE,
    KnowledgeStore,
    KnowledgeStoreItem,
    Response,
    ResponseDone,
    RetryWait,
    StreamEvent,
)
from jockey_desktop.core.api.sse import SSEParser
from jockey_desktop.core.api.stream import StreamDecoder, failure_error
from jockey_desktop.core.api.urls import base_url_problem

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twelvelabs.io/v1.3"
MODEL = "jockey1.0"
USER_AGENT = f"JockeyDesktop/{__version__} (+python-requests)"
#: Largest page the API allows; lists are walked with it.
PAGE_LIMIT = 50
_MAX_PAGES = 10_000
_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024
#: ``JockeyError.code`` of a key that cannot be put in an HTTP header.
MALFORMED_KEY_CODE = "api_key_malformed"


def _key_is_malformed(key: str) -> bool:
    """True when ``key`` cannot travel in a header: control characters (a line break inside
    a pasted key) or anything outside ASCII (typographic quotes, non-breaking spaces)."""
    return any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in key)


def _retry_wait(seconds: float, reason: str) -> RetryWait:
    return RetryWait(type="retry_wait", sequence_number=-1, seconds=max(0.0, float(seconds)),
                     reason=reason)


# --- cancellable sockets --------------------------------------------------------------
#
# requests cannot abort a request in flight. Our connection classes hand the socket of each
# request to the CancelToken active in the calling thread (set by ``_cancel_scope``), right
# before waiting for the response; ``cancel()`` then shuts the socket down, so a blocked
# ``recv`` returns immediately — while the server is silent, before or after the headers.

_local = threading.local()


@dataclass
class _Scope:
    token: CancelToken
    handles: list[int] = field(default_factory=list)

    def release(self) -> None:
        for handle in self.handles:
            self.token.remove_callback(handle)
        self.handles.clear()


def _shutdown_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _CancellableConnectionMixin:
    sock: socket.socket | None
    #: Set once a cancel token may shut this socket down: it must never serve another request.
    jockey_no_reuse = False

    def getresponse(self) -> Any:
        scope: _Scope | None = getattr(_local, "scope", None)
        sock = self.sock
        if scope is not None and sock is not None:
            self.jockey_no_reuse = True
            scope.handles.append(scope.token.add_callback(lambda: _shutdown_socket(sock)))
        return super().getresponse()  # type: ignore[misc]


def _put_conn_or_close(pool: HTTPConnectionPool, conn: Any) -> bool:
    """Close a connection that a cancel token has touched instead of reusing it."""
    if conn is not None and getattr(conn, "jockey_no_reuse", False):
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
    """An adapter whose connections register their socket with the active CancelToken."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        # SOCKS managers bring their own pool classes; cancel then relies on the flag check.
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


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
class _TransportFailure:
    error: JockeyError
    #: True when the request provably never reached the server (safe to resend a POST).
    before_send: bool
    #: True when an idempotent GET may be retried.
    retryable: bool


def _map_transport_error(exc: BaseException, *, in_body: bool) -> _TransportFailure:
    chain = _causes(exc)
    # Order matters: urllib3's NewConnectionError subclasses ConnectTimeoutError, which
    # subclasses its TimeoutError, so "connect" is decided before "read timeout".
    if any(isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain):
        return _TransportFailure(
            NetworkError("The server's name could not be resolved (DNS)."), True, True
        )
    if any(
        isinstance(e, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))
        for e in chain
    ) and not in_body:
        return _TransportFailure(NetworkError("The connection was refused."), True, True)
    if any(
        isinstance(e, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))
        for e in chain
    ):
        return _TransportFailure(
            NetworkError("The connection could not be made in time."), True, True
        )
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return _TransportFailure(
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
            return _TransportFailure(
                RequestTimedOutError("The reply stream went silent for too long."), False, False
            )
        return _TransportFailure(
            RequestTimedOutError("No answer arrived within the time limit."), False, False
        )
    if any(isinstance(e, requests.exceptions.ProxyError) for e in chain):
        return _TransportFailure(NetworkError("The proxy could not be used."), False, True)
    if in_body:
        return _TransportFailure(
            ProtocolError("The reply stream was cut off before the answer was complete."),
            False,
            False,
        )
    return _TransportFailure(
        NetworkError("The connection was interrupted."),
        False,
        any(isinstance(e, (ConnectionError, http.client.HTTPException, OSError)) for e in chain),
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port)


# --- the client -----------------------------------------------------------------------


class JockeyClient:
    """Client of the Jockey HTTP API (knowledge stores, items, ``/responses``).

    Thread-safe for concurrent calls (``requests.Session`` connection pooling is), though the
    app normally uses one call per worker. Options (all keyword): ``connect_timeout`` (10),
    ``read_timeout`` (30, GETs), ``response_timeout`` (600, non-streamed POST),
    ``stream_idle_timeout`` (45), ``max_retries`` (3), ``backoff`` ((1, 2, 4)),
    ``max_retry_after`` (60), ``sleep`` (``time.sleep``; tests inject a fake),
    ``session`` (a ``requests.Session`` to use; it gets our adapters mounted).
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
        self.max_retries = max(0, max_retries)
        self.backoff = tuple(backoff) or (1.0,)
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self.user_agent = user_agent
        self._session = session or requests.Session()
        # POST /responses gets its own pool, so a turn never rides on a kept-alive connection
        # that the server may be closing at that very moment: a failure before any byte is
        # then always a fresh connect failure, the one case where resending is safe.
        self._turn_session = requests.Session()
        for attr in ("proxies", "verify", "cert", "trust_env"):
            setattr(self._turn_session, attr, getattr(self._session, attr))
        for http_session in (self._session, self._turn_session):
            adapter = _CancellableAdapter(max_retries=0)  # our own retry policy: _request
            http_session.mount("http://", adapter)
            http_session.mount("https://", adapter)
        self._active: set[CancelToken] = set()
        self._active_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JockeyClient(base_url={self.base_url!r}, api_key=<hidden>)"

    # -- public API ------------------------------------------------------------------------

    def create_response(
        self,
        knowledge_store_id: str,
        text: str,
        *,
        session_id: str | None = None,
        instructions: str | None = None,
        cancel: CancelToken | None = None,
        text_format: Mapping[str, Any] | None = None,
        selections: Sequence[Mapping[str, Any]] | None = None,
        include_intermediate: bool = False,
        **extra: Any,
    ) -> Response:
        """Ask one question and wait for the whole answer (no streaming).

        ``text_format`` is the ``text.format`` object (a JSON schema for structured output;
        the answer text is then a JSON string, see ``Response.parsed_json``); ``selections``
        and ``include_intermediate`` map to ``selections`` / ``include``; ``extra`` may hold
        other documented fields (``metadata``, ``max_output_tokens``). ``failed`` raises.
        """
        extra = _extras(extra, text_format, selections, include_intermediate)
        body = self._response_body(knowledge_store_id, text, session_id, instructions, False,
                                   extra)
        token = cancel or CancelToken()
        with self._track(token):
            http_response = self._request(
                "POST", "/responses", json_body=body,
                timeout=(self.connect_timeout, self.response_timeout),
                cancel=token, sent_session_id=session_id,
            )
            data = self._json(http_response, session_id)
        if not isinstance(data, dict):
            raise ProtocolError("The server's answer was not a response object.",
                                session_id=session_id)
        response = Response.from_json(data)
        if response.status in ("failed", "cancelled"):
            raise failure_error(data, session_id=response.session_id or session_id,
                                redact=self._redact)
        return response

    def stream_response(
        self,
        knowledge_store_id: str,
        text: str,
        *,
        session_id: str | None = None,
        instructions: str | None = None,
        cancel: CancelToken | None = None,
        text_format: Mapping[str, Any] | None = None,
        selections: Sequence[Mapping[str, Any]] | None = None,
        include_intermediate: bool = False,
        **extra: Any,
    ) -> Iterator[StreamEvent]:
        """Ask one question and yield typed events as the answer streams in.

        First comes ``ResponseCreated`` (save its ``session_id`` at once), then ``TextDelta``
        and ``KeepAlive`` events, and last ``ResponseDone`` (status ``completed`` or
        ``incomplete``). A failed turn, a cut stream, an idle timeout or ``cancel`` raise a
        ``JockeyError`` whose ``session_id`` is the session if it was already known.
        The request is sent when iteration starts. Options as for :meth:`create_response`.
        """
        extra = _extras(extra, text_format, selections, include_intermediate)
        body = self._response_body(knowledge_store_id, text, session_id, instructions, True,
                                   extra)
        token = cancel or CancelToken()
        return self._stream(body, token, session_id)

    def list_knowledge_stores(self) -> list[KnowledgeStore]:
        """Every knowledge store of the account (walks all pages)."""
        return [KnowledgeStore.from_json(d) for d in self._paged("/knowledge-stores", {})]

    def get_knowledge_store(self, store_id: str) -> KnowledgeStore:
        """One knowledge store; raises ``StoreNotFoundError`` if it does not exist."""
        data = self._get_json(f"/knowledge-stores/{_seg(store_id)}")
        return KnowledgeStore.from_json(_require_dict(data))

    def list_items(
        self, store_id: str, status: str | Sequence[str] | None = None
    ) -> list[KnowledgeStoreItem]:
        """Every item of a store, optionally only those with the given status(es)."""
        params: dict[str, Any] = {}
        if status is not None:
            params["status"] = [status] if isinstance(status, str) else list(status)
        path = f"/knowledge-stores/{_seg(store_id)}/items"
        return [KnowledgeStoreItem.from_json(d) for d in self._paged(path, params)]

    def get_item(self, store_id: str, item_id: str) -> KnowledgeStoreItem:
        """One item; raises ``ItemNotFoundError`` (a ``StoreNotFoundError``) if unknown."""
        data = self._get_json(f"/knowledge-stores/{_seg(store_id)}/items/{_seg(item_id)}")
        return KnowledgeStoreItem.from_json(_require_dict(data))

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

    def __enter__(self) -> JockeyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- request plumbing ------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if not text:
            return text
        return text.replace(self._api_key, "[redacted]")

    @contextlib.contextmanager
    def _track(self, token: CancelToken) -> Iterator[None]:
        with self._active_lock:
            self._active.add(token)
        try:
            yield
        finally:
            with self._active_lock:
                self._active.discard(token)

    def _headers(self, *, stream: bool = False) -> dict[str, str]:
        headers = {
            "x-api-key": self._api_key,
            "User-Agent": self.user_agent,
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if stream:
            headers["Accept-Encoding"] = "identity"  # never buffer a stream in a decoder
        return headers

    @staticmethod
    def _response_body(
        store_id: str, text: str, session_id: str | None, instructions: str | None,
        stream: bool, extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": MODEL,
            "knowledge_store_id": store_id,
            "input": [{"type": "message", "role": "user", "content": text}],
            "stream": stream,
        }
        if session_id:
            body["session_id"] = session_id
        if instructions:
            body["instructions"] = instructions
        for key, value in extra.items():
            if value is not None:
                body[key] = value
        return body

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

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        timeout: tuple[float, float],
        cancel: CancelToken | None = None,
        stream: bool = False,
        sent_session_id: str | None = None,
    ) -> requests.Response:
        """Send with the retry policy; returns a 2xx response or raises a ``JockeyError``."""
        attempts = self._attempts(method, path, params=params, json_body=json_body,
                                  timeout=timeout, cancel=cancel, stream=stream,
                                  sent_session_id=sent_session_id)
        while True:
            try:
                wait = next(attempts)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            self._pause(wait.seconds, cancel)

    def _attempts(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        timeout: tuple[float, float],
        cancel: CancelToken | None,
        stream: bool,
        sent_session_id: str | None,
    ) -> Generator[RetryWait, None, requests.Response]:
        """The retry policy as a generator: yields a ``RetryWait`` before each allowed resend
        (the caller sleeps, and a stream also shows it) and returns the 2xx response."""
        if self._key_malformed:
            # Checked before any socket: http.client would raise UnicodeEncodeError (or
            # requests InvalidHeader), which must not read as a crash or a network failure.
            raise MalformedKeyError(code=MALFORMED_KEY_CODE, session_id=sent_session_id)
        is_get = method == "GET"
        attempt = 0
        while True:
            if cancel is not None and cancel.cancelled:
                raise RequestCancelledError(session_id=sent_session_id)
            started = time.monotonic()
            try:
                response = self._send(method, path, params=params, json_body=json_body,
                                      timeout=timeout, cancel=cancel, stream=stream)
            except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
                # A header that cannot be sent: only the key can be that (the user agent is
                # ours). The original exception may quote the key's characters: dropped.
                raise MalformedKeyError(code=MALFORMED_KEY_CODE,
                                        session_id=sent_session_id) from None
            except requests.RequestException as exc:
                if cancel is not None and cancel.cancelled:
                    raise RequestCancelledError(session_id=sent_session_id) from None
                failure = _map_transport_error(exc, in_body=False)
                error = failure.error
                error.session_id = sent_session_id
                _log.info("%s %s failed after %.2fs: %s", method, path,
                          time.monotonic() - started, type(error).__name__)
                may_retry = failure.retryable if is_get else failure.before_send
                if may_retry and attempt < self.max_retries:
                    yield _retry_wait(self._delay(attempt, None), WAIT_CONNECTION)
                    attempt += 1
                    continue
                raise error from None
            _log.info("%s %s -> %d in %.2fs", method, path, response.status_code,
                      time.monotonic() - started)
            if 200 <= response.status_code < 300:
                return response
            error = self._error_from_response(response, path, sent_session_id)
            if attempt < self.max_retries and self._status_retryable(is_get, error):
                reason = WAIT_RATE_LIMITED if error.status == 429 else WAIT_UNAVAILABLE
                yield _retry_wait(self._delay(attempt, error.retry_after), reason)
                attempt += 1
                continue
            raise error

    def _status_retryable(self, is_get: bool, error: JockeyError) -> bool:
        status = error.status or 0
        too_long = error.retry_after is not None and error.retry_after > self.max_retry_after
        if is_get:
            return (status == 429 or status >= 500) and not too_long
        # POST /responses: only answers that prove the turn was not processed.
        return status in (429, 503) and error.retry_after is not None and not too_long

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        timeout: tuple[float, float],
        cancel: CancelToken | None,
        stream: bool,
    ) -> requests.Response:
        """One attempt, following same-origin redirects only (the key stays home)."""
        url = self.base_url + path
        home = _origin(self.base_url)
        scope = _Scope(cancel) if cancel is not None else None
        headers = self._headers(stream=stream)
        if cancel is not None:
            # A cancellable request's socket may be shut down by its token at any moment, so
            # it must never go back to the pool and serve another request: one connection
            # per turn (turns last minutes; the extra handshake is nothing).
            headers["Connection"] = "close"
        try:
            for _hop in range(_MAX_REDIRECTS + 1):
                with _cancel_scope(scope):
                    http_session = self._session if method == "GET" else self._turn_session
                    response = http_session.request(
                        method, url, params=params, json=json_body,
                        headers=headers, timeout=timeout,
                        allow_redirects=False, stream=True,
                    )
                if response.status_code not in _REDIRECT_STATUSES:
                    if not stream:
                        with _cancel_scope(scope):
                            _ = response.content  # read the body under the cancel scope
                        return response  # fully read: the scope is released below
                    if scope is not None:
                        response._jockey_scope = scope  # type: ignore[attr-defined]
                        scope = None  # handed over; released when the caller is done
                    return response
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise ProtocolError("The server sent a redirect without a target.")
                target = urljoin(url, location)
                if _origin(target) != home:
                    # requests would forward x-api-key to the other host; we refuse instead.
                    _log.warning("refused a redirect from %s to another origin %s",
                                 home[1], _origin(target)[1])
                    raise ProtocolError(
                        "The server redirected the request to another host; it was not "
                        "followed so that the API key stays private."
                    )
                url = target
                params = None  # already part of the Location
                if response.status_code in (301, 302, 303) and method != "GET":
                    method, json_body = "GET", None
            raise ProtocolError("The server redirected the request too many times.")
        finally:
            if scope is not None:
                scope.release()

    def _error_from_response(
        self, response: requests.Response, path: str, sent_session_id: str | None
    ) -> JockeyError:
        try:
            raw = response.content
        except requests.RequestException:
            raw = b""
        finally:
            _release(response)
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
        return error_from_http(
            response.status_code, code, message, path=path, sent_session_id=sent_session_id,
            retry_after_header=response.headers.get("Retry-After"),
        )

    def _json(self, response: requests.Response, session_id: str | None = None) -> Any:
        try:
            content_type = response.headers.get("Content-Type", "")
            if "json" not in content_type.lower():
                raise ProtocolError(
                    f"The server answered with {content_type or 'no content type'} instead "
                    "of JSON.", status=response.status_code, session_id=session_id,
                )
            try:
                return json.loads(response.content.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ProtocolError(
                    "The server's answer was not valid JSON.", status=response.status_code,
                    session_id=session_id,
                ) from None
        finally:
            _release(response)

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self._request("GET", path, params=params,
                                 timeout=(self.connect_timeout, self.read_timeout))
        return self._json(response)

    def _paged(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        page = 1
        while page <= _MAX_PAGES:
            data = _require_dict(
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

    # -- streaming -------------------------------------------------------------------------

    def _stream(
        self, body: dict[str, Any], token: CancelToken, session_id: str | None
    ) -> Iterator[StreamEvent]:
        with self._track(token):
            attempts = self._attempts(
                "POST", "/responses", params=None, json_body=body,
                timeout=(self.connect_timeout, self.stream_idle_timeout),
                cancel=token, stream=True, sent_session_id=session_id,
            )
            while True:
                try:
                    wait = next(attempts)
                except StopIteration as done:
                    response = done.value
                    break
                # Said before the wait, so the UI can show "retrying in 18 s" instead of an
                # answer that seems stuck; the pause ends at once on cancel.
                yield wait
                self._pause(wait.seconds, token)
            decoder = StreamDecoder(self._redact)
            decoder.session_id = session_id
            try:
                content_type = response.headers.get("Content-Type", "").lower()
                if "text/event-stream" not in content_type:
                    raise ProtocolError(
                        f"The server answered with {content_type or 'no content type'} "
                        "instead of an event stream.", status=response.status_code,
                        session_id=session_id,
                    )
                yield from self._read_events(response, decoder, token)
            finally:
                _release(response)

    def _read_events(
        self, response: requests.Response, decoder: StreamDecoder, token: CancelToken
    ) -> Iterator[StreamEvent]:
        parser = SSEParser()
        raw = response.raw
        # urllib3's read1 returns whatever arrived (chunked or not); plain read(n) would wait
        # for n bytes and hold back events.
        read = getattr(raw, "read1", None) or raw.read
        while True:
            if token.cancelled:
                raise RequestCancelledError(session_id=decoder.session_id)
            try:
                chunk = read(_READ_CHUNK)
            except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException,
                    ValueError) as exc:
                # A cancel shuts the socket: whatever the read says next is "cancelled".
                if token.cancelled:
                    raise RequestCancelledError(session_id=decoder.session_id) from None
                error = _map_transport_error(exc, in_body=True).error
                error.session_id = decoder.session_id
                raise error from None
            if token.cancelled:
                raise RequestCancelledError(session_id=decoder.session_id)
            if not chunk:
                decoder.finish()  # raises ProtocolError without a terminal event
                return
            for sse in parser.feed(chunk):
                for event in decoder.feed(sse):
                    yield event
                    if isinstance(event, ResponseDone):
                        return


def _extras(
    extra: Mapping[str, Any],
    text_format: Mapping[str, Any] | None,
    selections: Sequence[Mapping[str, Any]] | None,
    include_intermediate: bool,
) -> dict[str, Any]:
    fields = dict(extra)
    if text_format is not None:
        fields["text"] = {"format": dict(text_format)}
    if selections:
        fields["selections"] = [dict(s) for s in selections]
    if include_intermediate:
        fields["include"] = ["intermediate_outputs"]
    return fields


def _release(response: requests.Response) -> None:
    scope: _Scope | None = getattr(response, "_jockey_scope", None)
    if scope is not None:
        scope.release()
        response._jockey_scope = None  # type: ignore[attr-defined]
    response.close()


def _require_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError("The server's answer was not a JSON object.")
    return data


def _seg(value: str) -> str:
    """Quote an id for use as one path segment (ids are opaque)."""
    from urllib.parse import quote

    return quote(str(value), safe="")


__all__ = [
    "DEFAULT_BASE_URL",
    "MALFORMED_KEY_CODE",
    "MODEL",
    "PAGE_LIMIT",
    "USER_AGENT",
    "JockeyClient",
]
