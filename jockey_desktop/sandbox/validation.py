"""Request validation for ``POST /responses`` and the list endpoints (jockey-api.md §3.1, §8).

Everything here raises :class:`ApiError` with the exact status and code the contract fixes;
nothing here may raise anything else for any input. Decisions beyond the contract (all 400
``parameter_invalid`` unless noted), so odd input never reaches a 500:

- A JSON body is standard JSON: ``NaN``/``Infinity`` literals, numbers that overflow to an
  infinite float and integers longer than :data:`MAX_INT_DIGITS` digits are rejected.
- ``session_id`` must look like an id the API hands out (``sess_`` + a lowercase UUID);
  a well-formed but unknown id is the server's 404.
- ``tools`` entries are ``{"type": "knowledge_store", "knowledge_store_id"}`` (the guide's
  form) or ``{"type": "jockey:web_search"}``; any other type is rejected.
- A selection's id must carry its kind's prefix (``ksi_`` item, ``ksic_`` collection) and be
  at most :data:`MAX_SELECTION_ID_CHARS` characters. ``{{sel:N}}`` counts from zero into this
  request's ``selections``; an ``N`` past its end (or of more than
  :data:`MAX_SELECTION_INDEX_DIGITS` digits) is rejected.
- List ``page``/``page_limit`` are decimal integers of at most :data:`MAX_PAGE_DIGITS`
  significant digits.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

DOCS_URL = "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"

MODEL = "jockey1.0"
MAX_CONTENT_CHARS = 10_000
MAX_INSTRUCTIONS_CHARS = 2_000
MAX_METADATA_PAIRS = 16
MAX_PAGE_LIMIT = 50
#: ``page`` values longer than this are refused before any conversion to ``int``.
MAX_PAGE_DIGITS = 9
#: Integers in a JSON body longer than this are refused (no field needs more).
MAX_INT_DIGITS = 30
MAX_SELECTION_ID_CHARS = 128
#: ``{{sel:N}}`` with more digits than this is refused without converting ``N``.
MAX_SELECTION_INDEX_DIGITS = 6
WEB_SEARCH_TOOL = "jockey:web_search"
SELECTION_PREFIXES = {"item": "ksi_", "collection": "ksic_"}
_SESSION_ID = re.compile(r"^sess_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Any ``{{sel:…}}`` whose inside is all digits; the digits are checked before ``int()``.
SELECTION_TOKEN = re.compile(r"\{\{sel:(\d+)\}\}")

ALLOWED_FIELDS = frozenset({
    "knowledge_store_id", "tools", "input", "session_id", "instructions", "include", "stream",
    "selections", "text", "model", "metadata", "max_output_tokens",
})
INCLUDE_VALUES = frozenset({"intermediate_outputs"})


class ApiError(Exception):
    """An error reply: HTTP ``status`` and the flat body ``{"code", "message", "docs_url"}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        """The JSON error body."""
        return {"code": self.code, "message": self.message, "docs_url": DOCS_URL}


def invalid(name: str, why: str = "") -> ApiError:
    """400 ``parameter_invalid`` for parameter ``name``."""
    message = f"The `{name}` parameter is invalid."
    if why:
        message += f" {why}"
    return ApiError(400, "parameter_invalid", message)


def missing(name: str) -> ApiError:
    """400 ``parameter_not_provided`` for parameter ``name``."""
    return ApiError(400, "parameter_not_provided", f"The `{name}` parameter is required.")


def unknown(name: str) -> ApiError:
    """400 ``parameter_unknown`` for parameter ``name``."""
    return ApiError(400, "parameter_unknown", f"The `{_clip(name)}` parameter is unknown.")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_constant(name: str) -> Any:
    raise ApiError(400, "parameter_invalid",
                   f"The request body is not valid JSON: `{name}` is not a JSON number.")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ApiError(400, "parameter_invalid",
                       f"A number in the request body has more than {MAX_INT_DIGITS} digits.")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, "parameter_invalid",
                       "A number in the request body is too large.")
    return value


def parse_json_body(body: bytes) -> Any:
    """Decode a UTF-8 JSON request body, or raise a 400 ``parameter_invalid``.

    Empty (or blank) bodies decode to None. Standard JSON only: no ``NaN``/``Infinity``, no
    numbers that would be infinite or absurdly long, no lone surrogates (which no UTF-8 reply
    or file could hold), and nesting deep enough to exhaust the parser is "not valid JSON".
    """
    if not body.strip():
        return None
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant,
                          parse_int=_parse_int, parse_float=_parse_float)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "parameter_invalid", "The request body is not valid JSON.") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "parameter_invalid",
                       "The request body contains invalid Unicode text.") from None
    except RecursionError:
        raise ApiError(400, "parameter_invalid", "The request body is not valid JSON.") from None
    return data


@dataclass
class ResponseRequest:
    """A validated ``POST /responses`` body."""

    knowledge_store_id: str
    content: str
    session_id: str | None = None
    instructions: str | None = None
    include_intermediate: bool = False
    stream: bool = False
    selections: list[dict[str, str]] = field(default_factory=list)
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    metadata: dict[str, str] = field(default_factory=dict)
    max_output_tokens: int | None = None
    #: ``tools`` asked for hosted web search (``{"type": "jockey:web_search"}``).
    web_search: bool = False


def _read_tools(tools: Any) -> tuple[str | None, bool]:
    """The store named by ``knowledge_store`` tools (or None) and whether web search is on."""
    if not isinstance(tools, list):
        raise invalid("tools", "It must be an array.")
    found: str | None = None
    web_search = False
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == WEB_SEARCH_TOOL and isinstance(tool, dict):
            if set(tool) != {"type"}:
                raise invalid("tools", f"A `{WEB_SEARCH_TOOL}` tool has only `type`.")
            web_search = True
            continue
        if kind != "knowledge_store" or not isinstance(tool, dict):
            raise invalid("tools", f"Use `knowledge_store` or `{WEB_SEARCH_TOOL}` tools.")
        if set(tool) - {"type", "knowledge_store_id"}:
            raise invalid("tools", "A `knowledge_store` tool has only `knowledge_store_id`.")
        store_id = tool.get("knowledge_store_id")
        if store_id is None:
            raise missing("tools[].knowledge_store_id")
        if not isinstance(store_id, str) or not store_id.startswith("ks_"):
            raise invalid("tools[].knowledge_store_id")
        if found is not None and found != store_id:
            raise invalid("tools", "A request can use only one knowledge store.")
        found = store_id
    return found, web_search


def _validate_input(value: Any) -> str:
    if not isinstance(value, list) or len(value) != 1:
        raise invalid("input", "It must hold exactly one user message.")
    item = value[0]
    if not isinstance(item, dict) or set(item) != {"type", "role", "content"}:
        raise invalid("input", 'Use {"type": "message", "role": "user", "content": "…"}.')
    if item["type"] != "message" or item["role"] != "user":
        raise invalid("input", 'Use {"type": "message", "role": "user", "content": "…"}.')
    content = item["content"]
    if not isinstance(content, str) or not 1 <= len(content) <= MAX_CONTENT_CHARS:
        raise invalid("input", f"`content` must be 1–{MAX_CONTENT_CHARS:,} characters.")
    return content


def _validate_selections(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise invalid("selections", "It must be an array.")
    result = []
    for sel in value:
        if (not isinstance(sel, dict) or set(sel) != {"kind", "id"}
                or sel["kind"] not in SELECTION_PREFIXES
                or not isinstance(sel["id"], str) or not sel["id"]):
            raise invalid("selections",
                          'Each entry is {"kind": "item" | "collection", "id": "…"}.')
        prefix = SELECTION_PREFIXES[sel["kind"]]
        if not sel["id"].startswith(prefix) or len(sel["id"]) <= len(prefix):
            raise invalid("selections", f"A selection of kind `{sel['kind']}` needs an id "
                                        f"starting with `{prefix}`.")
        if len(sel["id"]) > MAX_SELECTION_ID_CHARS:
            raise invalid("selections", f"An id has at most {MAX_SELECTION_ID_CHARS} "
                                        "characters.")
        result.append({"kind": sel["kind"], "id": sel["id"]})
    return result


def _check_selection_tokens(content: str, count: int) -> None:
    """Every ``{{sel:N}}`` must name an entry of this request's ``selections``."""
    for match in SELECTION_TOKEN.finditer(content):
        digits = match.group(1)
        if len(digits) > MAX_SELECTION_INDEX_DIGITS or int(digits) >= count:
            shown = digits if len(digits) <= MAX_SELECTION_INDEX_DIGITS else digits[:6] + "…"
            raise invalid("input", f"`{{{{sel:{shown}}}}}` has no matching entry: the request "
                                   f"has {count} selection{'s' if count != 1 else ''} "
                                   "(counted from 0).")


def _validate_text(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"format"}:
        raise invalid("text", 'It must be {"format": {…}}.')
    fmt = value.get("format", {"type": "text"})
    if not isinstance(fmt, dict):
        raise invalid("text.format")
    kind = fmt.get("type")
    if kind == "text":
        if set(fmt) != {"type"}:
            raise invalid("text.format")
        return {"type": "text"}
    if kind != "json_schema":
        raise invalid("text.format.type", "Use `text` or `json_schema`.")
    if set(fmt) - {"type", "name", "schema", "description", "strict"}:
        raise invalid("text.format")
    for required in ("name", "schema"):
        if required not in fmt:
            raise missing(f"text.format.{required}")
    if not isinstance(fmt["name"], str) or not fmt["name"]:
        raise invalid("text.format.name")
    if not isinstance(fmt["schema"], dict):
        raise invalid("text.format.schema")
    if not isinstance(fmt.get("description", ""), str):
        raise invalid("text.format.description")
    if not isinstance(fmt.get("strict", False), bool):
        raise invalid("text.format.strict")
    return dict(fmt)


def validate_response_request(body: Any) -> ResponseRequest:
    """Validate a parsed JSON body; optional fields may be ``null`` (= not sent)."""
    if not isinstance(body, dict):
        raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
    for name in body:
        if name not in ALLOWED_FIELDS:
            raise unknown(str(name))
    present = {k: v for k, v in body.items() if v is not None}

    if "model" in present and present["model"] != MODEL:
        raise invalid("model", f"The only model is `{MODEL}`.")

    store_id = present.get("knowledge_store_id")
    if store_id is not None and (not isinstance(store_id, str) or not store_id.startswith("ks_")):
        raise invalid("knowledge_store_id")
    tool_store, web_search = _read_tools(present["tools"]) if "tools" in present else (None,
                                                                                       False)
    if store_id is not None and tool_store is not None and store_id != tool_store:
        raise invalid("knowledge_store_id",
                      "It differs from the knowledge store named in `tools`.")
    store_id = store_id or tool_store
    if store_id is None:
        raise missing("knowledge_store_id")

    if "input" not in present:
        raise missing("input")
    content = _validate_input(present["input"])

    session_id = present.get("session_id")
    if session_id is not None and (not isinstance(session_id, str)
                                   or not _SESSION_ID.match(session_id)):
        raise invalid("session_id", "Use the `session_id` of an earlier response.")

    instructions = present.get("instructions")
    if instructions is not None and (not isinstance(instructions, str)
                                     or len(instructions) > MAX_INSTRUCTIONS_CHARS):
        raise invalid("instructions",
                      f"It must be a string of at most {MAX_INSTRUCTIONS_CHARS:,} characters.")

    include = present.get("include", [])
    if not isinstance(include, list) or not all(
            isinstance(v, str) and v in INCLUDE_VALUES for v in include):
        raise invalid("include", "The only value is `intermediate_outputs`.")

    stream = present.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid("stream", "It must be a boolean.")

    selections = _validate_selections(present.get("selections", []))
    _check_selection_tokens(content, len(selections))
    text_format = _validate_text(present["text"]) if "text" in present else {"type": "text"}

    metadata = present.get("metadata", {})
    if (not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_PAIRS
            or not all(isinstance(v, str) for v in metadata.values())):
        raise invalid("metadata", "At most 16 string-to-string pairs.")

    max_tokens = present.get("max_output_tokens")
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise invalid("max_output_tokens", "It must be a positive integer.")

    return ResponseRequest(
        knowledge_store_id=store_id, content=content, session_id=session_id,
        instructions=instructions, include_intermediate="intermediate_outputs" in include,
        stream=stream, selections=selections, text_format=text_format, metadata=metadata,
        max_output_tokens=max_tokens, web_search=web_search,
    )


@dataclass
class ListQuery:
    """Validated list-endpoint query parameters."""

    page: int = 1
    page_limit: int = 10
    sort_by: str = "created_at"
    sort_option: str = "desc"
    statuses: tuple[str, ...] = ()


def _positive_int(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    # Length first: int() of thousands of digits is slow and, past 4,300, an error (also
    # when they are leading zeros).
    digits = values[-1].strip().lstrip("0")
    if (not values[-1].strip().isascii() or not values[-1].strip().isdigit()
            or len(digits) > MAX_PAGE_DIGITS or int(digits or "0") < 1):
        raise invalid(name, f"It must be a positive integer of at most {MAX_PAGE_DIGITS} "
                            "digits.")
    return int(digits)


def validate_list_query(params: dict[str, list[str]], *, with_status: bool,
                        statuses: tuple[str, ...] = ()) -> ListQuery:
    """Validate ``page``, ``page_limit``, ``sort_by``, ``sort_option`` (and ``status``)."""
    query = ListQuery()
    query.page = _positive_int(params, "page", 1)
    query.page_limit = _positive_int(params, "page_limit", 10)
    if query.page_limit > MAX_PAGE_LIMIT:
        raise invalid("page_limit", f"It must be between 1 and {MAX_PAGE_LIMIT}.")
    sort_by = params.get("sort_by", ["created_at"])[-1]
    if sort_by not in ("created_at", "updated_at"):
        raise invalid("sort_by", "Use `created_at` or `updated_at`.")
    query.sort_by = sort_by
    sort_option = params.get("sort_option", ["desc"])[-1]
    if sort_option not in ("asc", "desc"):
        raise invalid("sort_option", "Use `asc` or `desc`.")
    query.sort_option = sort_option
    if with_status:
        wanted = []
        for value in params.get("status", []):
            # Accept both repeated parameters and a comma-separated list.
            for part in value.split(","):
                if part not in statuses:
                    raise invalid("status", "Use " + ", ".join(f"`{s}`" for s in statuses)
                                  + ".")
                wanted.append(part)
        query.statuses = tuple(wanted)
    return query
