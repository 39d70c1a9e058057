"""Request-body helpers for the sandbox's management endpoints (stores, items, collections,
uploads, search): strict JSON objects, typed fields and the metadata rules of jockey-api.md §7.

Every function raises :class:`~jockey_desktop.sandbox.validation.ApiError` with the status and
code the contract fixes (400 ``parameter_invalid`` / ``parameter_not_provided`` /
``parameter_unknown``) and never anything else, whatever the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jockey_desktop.sandbox.validation import ApiError, invalid, missing, unknown

#: Integers beyond 53 bits lose precision in JavaScript clients; §7 asks for strings instead.
MAX_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class MetadataLimits:
    """How much user metadata one resource may carry (jockey-api.md §7)."""

    max_pairs: int
    max_key_chars: int
    max_string_chars: int


#: Stores and item collections: ≤ 10 pairs, keys ≤ 128 characters, strings ≤ 2,048.
STORE_METADATA = MetadataLimits(max_pairs=10, max_key_chars=128, max_string_chars=2_048)
#: Store items (and the user metadata of assets): ≤ 50 pairs, strings ≤ 8,192.
ITEM_METADATA = MetadataLimits(max_pairs=50, max_key_chars=128, max_string_chars=8_192)


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity by default; they are not JSON.
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes, *, what: str = "The request body") -> Any:
    """Parse strict JSON (UTF-8, no NaN/Infinity, no lone surrogates) or raise a 400."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "parameter_invalid", f"{what} is not valid JSON.") from None
    try:
        # JSON may escape lone surrogates ("\ud800"), which no UTF-8 reply or file can hold.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "parameter_invalid",
                       f"{what} contains invalid Unicode text.") from None
    return data


def json_object(body: bytes, allowed: Iterable[str]) -> dict[str, Any]:
    """The body as a JSON object with only ``allowed`` keys; ``null`` values mean "not sent"."""
    if not body.strip():
        raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
    data = parse_json(body)
    if not isinstance(data, dict):
        raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
    allowed_set = set(allowed)
    for name in data:
        if name not in allowed_set:
            raise unknown(str(name))
    return {key: value for key, value in data.items() if value is not None}


def text_field(data: dict[str, Any], name: str, *, required: bool = False, max_chars: int,
               allow_empty: bool = False) -> str | None:
    """A string field of at most ``max_chars`` characters (stripped of nothing)."""
    if name not in data:
        if required:
            raise missing(name)
        return None
    value = data[name]
    if not isinstance(value, str):
        raise invalid(name, "It must be a string.")
    if not allow_empty and not value.strip():
        raise invalid(name, "It must not be empty.")
    if len(value) > max_chars:
        raise invalid(name, f"It must be at most {max_chars:,} characters.")
    return value


def bool_field(data: dict[str, Any], name: str, default: bool) -> bool:
    """A JSON boolean field."""
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise invalid(name, "It must be a boolean.")
    return value


def int_field(data: dict[str, Any], name: str, *, required: bool = False, default: int = 0,
              minimum: int | None = None, maximum: int | None = None) -> int:
    """A JSON integer field (booleans and floats are refused) within the given bounds."""
    if name not in data:
        if required:
            raise missing(name)
        return default
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(name, "It must be an integer.")
    if minimum is not None and value < minimum:
        raise invalid(name, f"It must be at least {minimum:,}.")
    if maximum is not None and value > maximum:
        raise invalid(name, f"It must be at most {maximum:,}.")
    return value


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def validate_metadata(value: Any, limits: MetadataLimits, name: str = "metadata"
                      ) -> dict[str, Any]:
    """A user-metadata map: string keys; string, number, boolean or string-list values.

    No null, no nesting, integers within 53 bits, finite numbers, and the pair/key/string
    limits of ``limits``. Returns a copy.
    """
    if not isinstance(value, dict):
        raise invalid(name, "It must be an object of key-value pairs.")
    if len(value) > limits.max_pairs:
        raise invalid(name, f"It may hold at most {limits.max_pairs} pairs.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not key or len(key) > limits.max_key_chars:
            raise invalid(name, f"Keys must be 1–{limits.max_key_chars} characters.")
        where = f"`{_clip(key)}`"
        if isinstance(item, bool):
            result[key] = item
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise invalid(name, f"The value of {where} is an integer wider than 53 bits; "
                                    "send it as a string.")
            result[key] = item
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise invalid(name, f"The value of {where} must be a finite number.")
            result[key] = item
        elif isinstance(item, str):
            if len(item) > limits.max_string_chars:
                raise invalid(name, f"The value of {where} is longer than "
                                    f"{limits.max_string_chars:,} characters.")
            result[key] = item
        elif isinstance(item, list):
            for element in item:
                if not isinstance(element, str):
                    raise invalid(name, f"The list {where} may hold only strings.")
                if len(element) > limits.max_string_chars:
                    raise invalid(name, f"A string in {where} is longer than "
                                        f"{limits.max_string_chars:,} characters.")
            result[key] = list(item)
        elif item is None:
            raise invalid(name, f"The value of {where} is null; remove the key instead.")
        else:
            raise invalid(name, f"The value of {where} must be a string, number, boolean or "
                                "list of strings.")
    return result


def metadata_field(data: dict[str, Any], limits: MetadataLimits, name: str = "metadata"
                   ) -> dict[str, Any] | None:
    """The optional ``metadata`` field of a JSON body, validated (None when not sent)."""
    if name not in data:
        return None
    return validate_metadata(data[name], limits, name)


def id_list(data: dict[str, Any], name: str, prefix: str, max_count: int) -> list[str]:
    """A required, non-empty list of at most ``max_count`` ids that start with ``prefix``."""
    if name not in data:
        raise missing(name)
    value = data[name]
    if not isinstance(value, list) or not value:
        raise invalid(name, "It must be a non-empty array of ids.")
    if len(value) > max_count:
        raise invalid(name, f"It may hold at most {max_count} ids per request.")
    for entry in value:
        if not isinstance(entry, str) or not entry.startswith(prefix) or len(entry) > 100:
            raise invalid(name, f"Every entry must be an id starting with `{prefix}`.")
    return list(dict.fromkeys(value))


#: JSON Schema keywords an enrichment schema may use (jockey-api.md §7); others are a 422.
SCHEMA_KEYWORDS = frozenset({
    "type", "title", "description", "enum", "properties", "required", "additionalProperties",
    "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "format",
})
_SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array"})
_MAX_SCHEMA_DEPTH = 16


def _schema_error(where: str, why: str) -> ApiError:
    return ApiError(422, "parameter_invalid",
                    f"The `ingestion_config` parameter is invalid: {where} {why}")


def _check_schema(schema: Any, where: str, depth: int) -> None:
    if depth > _MAX_SCHEMA_DEPTH:
        raise _schema_error(where, "is nested too deeply.")
    if not isinstance(schema, dict):
        raise _schema_error(where, "must be a schema object.")
    for keyword in schema:
        if keyword not in SCHEMA_KEYWORDS:
            raise _schema_error(where, f"uses the unsupported keyword `{_clip(str(keyword))}`.")
    kind = schema.get("type")
    if "type" in schema and (not isinstance(kind, str) or kind not in _SCHEMA_TYPES):
        raise _schema_error(where, "has a `type` that is not one JSON type (nullable types "
                                   "are not supported).")
    if "additionalProperties" in schema and not isinstance(schema["additionalProperties"],
                                                          bool):
        raise _schema_error(where, "has an `additionalProperties` that is not a boolean.")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise _schema_error(where, "has `properties` that are not an object.")
    for name, sub in properties.items():
        path = f"{where}.{_clip(str(name), 40)}"
        if not isinstance(sub, dict) or not isinstance(sub.get("description"), str) \
                or not sub["description"].strip():
            raise _schema_error(path, "needs a `description`.")
        _check_schema(sub, path, depth + 1)
    if "items" in schema:
        _check_schema(schema["items"], f"{where}[]", depth + 1)
    prefix = schema.get("prefixItems", [])
    if not isinstance(prefix, list):
        raise _schema_error(where, "has `prefixItems` that are not an array.")
    for index, sub in enumerate(prefix):
        _check_schema(sub, f"{where}[{index}]", depth + 1)


def validate_ingestion_config(value: Any) -> dict[str, Any]:
    """``{"enrichment_config": {"type": "json_schema", "json_schema": {…}}}`` or
    ``{"enrichment_config": {"type": "description", "description": "…"}}``.

    Shape errors are 400s; a schema using anything beyond :data:`SCHEMA_KEYWORDS`, a property
    without a description or a nullable type is a 422, as on the platform.
    """
    if not isinstance(value, dict) or set(value) != {"enrichment_config"}:
        raise invalid("ingestion_config", 'It must be {"enrichment_config": {…}}.')
    config = value["enrichment_config"]
    if not isinstance(config, dict):
        raise invalid("ingestion_config.enrichment_config")
    kind = config.get("type")
    if kind == "description":
        text = config.get("description")
        if set(config) != {"type", "description"} or not isinstance(text, str) \
                or not text.strip() or len(text) > 8_192:
            raise invalid("ingestion_config.enrichment_config",
                          "A `description` enrichment has one non-empty `description` of at "
                          "most 8,192 characters.")
        return {"enrichment_config": {"type": "description", "description": text}}
    if kind != "json_schema":
        raise invalid("ingestion_config.enrichment_config.type",
                      "Use `json_schema` or `description`.")
    if set(config) != {"type", "json_schema"}:
        raise invalid("ingestion_config.enrichment_config",
                      "A `json_schema` enrichment has one `json_schema`.")
    schema = config["json_schema"]
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise _schema_error("json_schema", "must have `type: object` and `properties`.")
    _check_schema(schema, "json_schema", 0)
    return {"enrichment_config": {"type": "json_schema",
                                  "json_schema": json.loads(json.dumps(schema))}}
