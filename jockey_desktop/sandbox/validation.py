"""Request validation for ``POST /responses`` and the list endpoints (jockey-api.md §3.1, §8).

Everything here raises :class:`ApiError` with the exact status and code the contract fixes;
nothing here may raise anything else for any JSON input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOCS_URL = "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"

MODEL = "jockey1.0"
MAX_CONTENT_CHARS = 10_000
MAX_INSTRUCTIONS_CHARS = 2_000
MAX_METADATA_PAIRS = 16
MAX_PAGE_LIMIT = 50

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


def _store_from_tools(tools: Any) -> str | None:
    if not isinstance(tools, list):
        raise invalid("tools", "It must be an array.")
    found: str | None = None
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "knowledge_store":
            raise invalid("tools", "Only `knowledge_store` tools are supported.")
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
    return found


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
                or sel["kind"] not in ("item", "collection")
                or not isinstance(sel["id"], str) or not sel["id"]):
            raise invalid("selections",
                          'Each entry is {"kind": "item" | "collection", "id": "…"}.')
        result.append({"kind": sel["kind"], "id": sel["id"]})
    return result


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
    tool_store = _store_from_tools(present["tools"]) if "tools" in present else None
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
                                   or not session_id.startswith("sess_")):
        raise invalid("session_id")

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
        max_output_tokens=max_tokens,
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
    text = values[-1].strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise invalid(name, "It must be a positive integer.")
    return int(text)


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
