"""What the sandbox's route functions share: the handler they talk to, the routed request,
the route type and small reply and paging helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jockey_desktop.sandbox.formdata import BodyReader
from jockey_desktop.sandbox.validation import ListQuery, validate_list_query


class Handler(Protocol):
    """What the route functions use of ``server._Handler``."""

    @property
    def app(self) -> Any: ...

    headers: Any
    rfile: Any
    wfile: Any
    close_connection: bool
    command: str
    #: Whether the connection may stay open once a streamed upload body is read in full.
    keep_alive: bool
    #: The body of an upload request (set by the server for upload routes only).
    upload_body: BodyReader | None

    def _reply_json(self, obj: Any, method: str, rel: str) -> None: ...

    def _send_json(self, status: int, obj: Any,
                   headers: dict[str, str] | None = None) -> None: ...

    def _send_bytes(self, status: int, body: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...


@dataclass
class Request:
    """One routed request."""

    parts: list[str]
    params: dict[str, list[str]]
    body: bytes
    method: str
    rel: str


RouteFn = Callable[[Handler, Request], None]


@dataclass(frozen=True)
class Route:
    """The functions for one path, by HTTP method."""

    methods: dict[str, RouteFn] = field(default_factory=dict)
    needs_key: bool = True

    def call(self, handler: Handler, parts: list[str], params: dict[str, list[str]],
             body: bytes, method: str, rel: str) -> None:
        """Run the function for ``method`` (the server checked that it is allowed)."""
        self.methods[method](handler, Request(parts, params, body, method, rel))


def no_content(h: Handler) -> None:
    """204 with no body (and so no Content-Type or Content-Length)."""
    h.send_response(204)
    if h.close_connection:
        h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.flush()


def page(rows: list[dict[str, Any]], query: ListQuery,
         key: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """One page of ``rows`` with ``page_info`` (sorted by the query unless ``key`` is None and
    the query has no sort; ties are broken by ``_id``)."""
    reverse = query.sort_option == "desc"
    sort_key = key or (lambda r: (r.get(query.sort_by) or "", r.get("_id", "")))
    rows = sorted(rows, key=sort_key, reverse=reverse)
    total = len(rows)
    total_page = (total + query.page_limit - 1) // query.page_limit
    start = (query.page - 1) * query.page_limit
    return {"data": rows[start:start + query.page_limit],
            "page_info": {"limit_per_page": query.page_limit, "page": query.page,
                          "total_page": total_page, "total_results": total}}


def plain_page(rows: list[dict[str, Any]], params: dict[str, list[str]]) -> dict[str, Any]:
    """A page of rows kept in their given order (only ``page`` and ``page_limit`` apply)."""
    query = validate_list_query({k: v for k, v in params.items()
                                 if k in ("page", "page_limit")}, with_status=False)
    start = (query.page - 1) * query.page_limit
    total = len(rows)
    return {"data": rows[start:start + query.page_limit],
            "page_info": {"limit_per_page": query.page_limit, "page": query.page,
                          "total_page": (total + query.page_limit - 1) // query.page_limit,
                          "total_results": total}}


