"""``JockeyClient``: the HTTP client of the Jockey API v1.3 (built on ``requests``).

The plumbing (timeouts, deadlines, body limits, retries, redirects, cancel) is in
:mod:`~jockey_desktop.core.api.transport`; managing stores, items, collections and search in
:mod:`~jockey_desktop.core.api.management`; assets, uploads and media in
:mod:`~jockey_desktop.core.api.uploads`. This module holds ``/responses`` (non-streamed and
streamed) and reading knowledge stores and items. Never imports Qt.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests
import urllib3

from jockey_desktop.core.api.cancel import CancelToken
from jockey_desktop.core.api.errors import (
    InvalidInputError,
    JockeyError,
    ProtocolError,
    RequestCancelledError,
)
from jockey_desktop.core.api.management import ManagementMixin
from jockey_desktop.core.api.models import (
    KnowledgeStore,
    KnowledgeStoreItem,
    Response,
    ResponseDone,
    Selection,
    StreamEvent,
)
from jockey_desktop.core.api.sse import SSEParser
from jockey_desktop.core.api.stream import StreamDecoder, failure_error
from jockey_desktop.core.api.transport import (
    DEFAULT_BASE_URL,
    MALFORMED_KEY_CODE,
    PAGE_LIMIT,
    READ_CHUNK,
    USER_AGENT,
    Call,
    Transport,
    map_transport_error,
    release,
    require_dict,
    seg,
)
from jockey_desktop.core.api.uploads import UploadsMixin


class JockeyClient(ManagementMixin, UploadsMixin, Transport):
    """Client of the Jockey HTTP API: ``/responses``, knowledge stores and items, item
    collections and search (:class:`ManagementMixin`), assets, uploads and media
    (:class:`UploadsMixin`).

    Thread-safe for concurrent calls (``requests.Session`` connection pooling is), though the
    app normally uses one call per worker. ``JockeyClient(api_key, base_url, **options)``;
    the options are those of :class:`~jockey_desktop.core.api.transport.Transport`.
    """

    # -- /responses ------------------------------------------------------------------------

    def create_response(
        self,
        knowledge_store_id: str,
        text: str,
        *,
        session_id: str | None = None,
        instructions: str | None = None,
        cancel: CancelToken | None = None,
        text_format: Mapping[str, Any] | None = None,
        selections: Sequence[Selection] = (),
        include_steps: bool = False,
        web_search: bool = False,
        **extra: Any,
    ) -> Response:
        """Ask one question and wait for the whole answer (no streaming).

        ``selections`` scope the question to items or collections, referred to in ``text``
        as ``{{sel:N}}``; an id whose prefix does not fit its kind raises
        ``InvalidInputError`` (an ``InvalidRequestError``) before anything is sent.
        ``include_steps`` asks for the intermediate outputs (``Response.steps``);
        ``web_search`` lets Jockey search the web (``Response.web_sources``).
        ``text_format`` is the ``text.format`` object (a JSON schema for structured output;
        the answer text is then a JSON string, see ``Response.parsed_json``); ``extra`` may
        hold other documented fields (``metadata``, ``max_output_tokens``). A ``failed``
        response raises.
        """
        body = self._response_body(
            knowledge_store_id, text, session_id, instructions, stream=False,
            extra=_extras(extra, text_format, selections, include_steps, web_search))
        token = cancel or CancelToken()
        with self._track(token):
            http_response = self._request(Call(
                "POST", "/responses", (self.connect_timeout, self.response_timeout),
                json_body=body, cancel=token, session_id=session_id,
                deadline=self.response_timeout,
            ))
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
        selections: Sequence[Selection] = (),
        include_steps: bool = False,
        web_search: bool = False,
        **extra: Any,
    ) -> Iterator[StreamEvent]:
        """Ask one question and yield typed events as the answer streams in.

        First comes ``ResponseCreated`` (save its ``session_id`` at once), then ``TextDelta``
        and ``KeepAlive`` events — with ``include_steps`` also ``StepStarted`` /
        ``StepFinished`` and ``WebSearchProgress`` — and last ``ResponseDone`` (status
        ``completed`` or ``incomplete``). A failed turn, a cut stream, an idle timeout or
        ``cancel`` raise a ``JockeyError`` whose ``session_id`` is the session if it was
        already known. The request is checked at once (a bad selection raises here) and sent
        when iteration starts. Options as for :meth:`create_response`.
        """
        body = self._response_body(
            knowledge_store_id, text, session_id, instructions, stream=True,
            extra=_extras(extra, text_format, selections, include_steps, web_search))
        token = cancel or CancelToken()
        return self._stream(body, token, session_id)

    # -- reading stores and items ----------------------------------------------------------

    def list_knowledge_stores(self) -> list[KnowledgeStore]:
        """Every knowledge store of the account (walks all pages)."""
        return [KnowledgeStore.from_json(d) for d in self._paged("/knowledge-stores", {})]

    def get_knowledge_store(self, store_id: str) -> KnowledgeStore:
        """One knowledge store; raises ``StoreNotFoundError`` if it does not exist."""
        data = self._get_json(f"/knowledge-stores/{seg(store_id)}")
        return KnowledgeStore.from_json(require_dict(data))

    def list_items(
        self, store_id: str, status: str | Sequence[str] | None = None
    ) -> list[KnowledgeStoreItem]:
        """Every item of a store, optionally only those with the given status(es)."""
        params: dict[str, Any] = {}
        if status is not None:
            params["status"] = [status] if isinstance(status, str) else list(status)
        path = f"/knowledge-stores/{seg(store_id)}/items"
        return [KnowledgeStoreItem.from_json(d) for d in self._paged(path, params)]

    def get_item(self, store_id: str, item_id: str) -> KnowledgeStoreItem:
        """One item; raises ``ItemNotFoundError`` (a ``StoreNotFoundError``) if unknown."""
        data = self._get_json(f"/knowledge-stores/{seg(store_id)}/items/{seg(item_id)}")
        return KnowledgeStoreItem.from_json(require_dict(data))

    def __enter__(self) -> JockeyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _response_body(
        store_id: str, text: str, session_id: str | None, instructions: str | None, *,
        stream: bool, extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        # No "model": the API dropped it (jockey-api.md §7a).
        body: dict[str, Any] = {
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

    def _stream(
        self, body: dict[str, Any], token: CancelToken, session_id: str | None
    ) -> Iterator[StreamEvent]:
        with self._track(token):
            attempts = self._attempts(Call(
                "POST", "/responses", (self.connect_timeout, self.stream_idle_timeout),
                json_body=body, cancel=token, stream=True, session_id=session_id,
            ))
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
                release(response)

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
                chunk = read(READ_CHUNK)
            except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException,
                    ValueError) as exc:
                # A cancel shuts the socket: whatever the read says next is "cancelled".
                if token.cancelled:
                    raise RequestCancelledError(session_id=decoder.session_id) from None
                error = map_transport_error(exc, in_body=True).error
                error.session_id = decoder.session_id
                raise error from None
            if token.cancelled:
                raise RequestCancelledError(session_id=decoder.session_id)
            if not chunk:
                decoder.finish()  # raises ProtocolError without a terminal event
                return
            try:
                events = parser.feed(chunk)
            except JockeyError as error:  # an event past the size bound
                error.session_id = decoder.session_id
                raise
            for sse in events:
                for event in decoder.feed(sse):
                    yield event
                    if isinstance(event, ResponseDone):
                        return


#: The hosted web-search tool (jockey-api.md §7a).
WEB_SEARCH_TOOL = {"type": "jockey:web_search"}


def _extras(
    extra: Mapping[str, Any],
    text_format: Mapping[str, Any] | None,
    selections: Sequence[Selection],
    include_steps: bool,
    web_search: bool,
) -> dict[str, Any]:
    fields = dict(extra)
    if text_format is not None:
        fields["text"] = {"format": dict(text_format)}
    if selections:
        fields["selections"] = [_selection_json(s) for s in selections]
    if include_steps:
        fields["include"] = ["intermediate_outputs"]
    if web_search:
        fields["tools"] = [dict(WEB_SEARCH_TOOL)]
    return fields


def _selection_json(selection: Selection) -> dict[str, str]:
    if not isinstance(selection, Selection):
        raise TypeError("selections must be Selection objects")
    problem = selection.problem()
    if problem is not None:
        # Refused here: the API's answer to a mismatched selection is not documented.
        raise InvalidInputError(problem, code="parameter_invalid")
    return selection.to_json()


__all__ = [
    "DEFAULT_BASE_URL",
    "MALFORMED_KEY_CODE",
    "PAGE_LIMIT",
    "USER_AGENT",
    "JockeyClient",
]
