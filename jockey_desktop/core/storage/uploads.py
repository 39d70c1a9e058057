"""Rows of the upload queue (table ``uploads``): validation of what callers write, and the
mapping between rows and ``Upload`` records. The Repository's upload methods use these inside
their transactions; nothing here touches a connection.

Paths are kept exactly: a file name that is not valid UTF-8 reaches Python as lone surrogates
(``os.fsdecode``'s surrogateescape), which text sanitising would replace and so lose the file.
Such a path is stored as its bytes (a BLOB in the ``path`` column) and decoded back the same
way; every other path, and every other text field, is stored as sanitised text.

A multipart session's ``upload_headers`` are kept as a JSON object, exactly as the server
gave them (they are part of the presigned URLs' signature), and belong to the session: a row
whose ``upload_id`` is cleared loses them too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import StorageError
from .models import Upload, UploadMethod, UploadState
from .sanitize import sanitize_optional, sanitize_text

UPLOAD_COLUMNS = (
    "id, uid, batch_id, store_id, path, filename, size, mtime_ns, asset_type, method, url, "
    "state, upload_id, asset_id, item_id, chunk_size, total_chunks, chunks, bytes_done, "
    "error_message, created_at, updated_at, upload_headers, server"
)

_TEXT = ("store_id", "filename", "asset_type", "batch_id")
_OPTIONAL_TEXT = ("url", "upload_id", "asset_id", "item_id", "error_message", "server")
_OPTIONAL_INT = ("size", "mtime_ns", "chunk_size", "total_chunks")
#: Fields ``update_upload`` may change (``id``, ``uid`` and the timestamps are storage's).
UPDATABLE_FIELDS = frozenset(
    {"path", "state", "method", "bytes_done", "chunks", "upload_headers", *_TEXT,
     *_OPTIONAL_TEXT, *_OPTIONAL_INT})
#: Fields a new row may give; ``store_id`` and ``method`` are required.
NEW_FIELDS = UPDATABLE_FIELDS


def _path_value(path: object) -> str | bytes:
    """A path as stored: text, or its bytes when it holds undecodable (surrogate) bytes."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if isinstance(text, bytes):
        return text if text else ""
    text = str(text or "")
    if sanitize_text(text) == text:
        return text
    return os.fsencode(text)


def _int_or_none(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StorageError(f"The upload field {name!r} must be a whole number ≥ 0.")
    return value


def _chunks_json(chunks: Iterable[Sequence[Any]]) -> tuple[str, int]:
    """Chunks as stored (sorted by index, one entry per index) and the bytes they hold."""
    by_index: dict[int, tuple[int, str, int]] = {}
    for chunk in chunks:
        if len(chunk) != 3:
            raise StorageError("An upload chunk is (index, etag, size).")
        index, etag, size = chunk
        index = _int_or_none("chunk index", index)
        size = _int_or_none("chunk size", size)
        if index is None or size is None:
            raise StorageError("An upload chunk needs an index and a size.")
        by_index[index] = (index, sanitize_text(etag), size)
    ordered = [list(by_index[i]) for i in sorted(by_index)]
    return json.dumps(ordered, ensure_ascii=False), sum(c[2] for c in by_index.values())


def _headers_json(headers: object) -> str:
    """Upload headers as stored: a JSON object of text names and values, unchanged (a
    changed value would no longer match the URL's signature, so none is sanitised)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    if not isinstance(pairs, Iterable) or isinstance(pairs, str | bytes):
        raise StorageError("Upload headers are a mapping of names to values.")
    result: dict[str, str] = {}
    for pair in pairs:
        if not (isinstance(pair, Sequence) and len(pair) == 2
                and all(isinstance(part, str) for part in pair)):
            raise StorageError("Upload headers are a mapping of text names to text values.")
        name, value = pair
        if sanitize_text(name) != name or sanitize_text(value) != value or not name:
            raise StorageError("An upload header name or value is not valid text.")
        result[name] = value
    return json.dumps(result, ensure_ascii=False)


def clean_fields(fields: Mapping[str, Any], *, allowed: frozenset[str]) -> dict[str, Any]:
    """``fields`` validated and converted to column values; raises ``StorageError`` for an
    unknown field or a wrong value (a programming error, reported before anything is
    written). ``chunks`` also sets ``bytes_done`` unless that is given too."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise StorageError(f"Unknown upload field {unknown[0]!r}.")
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _TEXT:
            clean[name] = sanitize_text(value)
        elif name in _OPTIONAL_TEXT:
            clean[name] = sanitize_optional(value)
        elif name in _OPTIONAL_INT:
            clean[name] = _int_or_none(name, value)
        elif name == "path":
            clean[name] = _path_value(value)
        elif name == "state":
            clean[name] = _enum(UploadState, value, "state").value
        elif name == "method":
            clean[name] = _enum(UploadMethod, value, "method").value
        elif name == "bytes_done":
            clean[name] = _int_or_none(name, value) or 0
        elif name == "chunks":
            clean["chunks"], done = _chunks_json(value)
            if "bytes_done" not in fields:
                clean["bytes_done"] = done
        elif name == "upload_headers":
            clean[name] = _headers_json(value)
    if "upload_id" in clean and clean["upload_id"] is None and "upload_headers" not in clean:
        # The headers were the cleared session's: never sent with another session's URLs.
        clean["upload_headers"] = "{}"
    return clean


def _enum(kind: type[UploadState] | type[UploadMethod], value: object,
          name: str) -> UploadState | UploadMethod:
    try:
        return kind(value)
    except ValueError:
        raise StorageError(f"{value!r} is not an upload {name}.") from None


def new_row(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of a new upload (without uid, batch, timestamps): validated, with the
    file name taken from the path or URL when not given."""
    clean = clean_fields(fields, allowed=NEW_FIELDS)
    for required in ("store_id", "method"):
        if required not in clean or not clean[required]:
            raise StorageError(f"A new upload needs {required!r}.")
    if clean["method"] == UploadMethod.URL.value:
        if not clean.get("url"):
            raise StorageError("A URL upload needs its 'url'.")
    elif not clean.get("path"):
        raise StorageError("A file upload needs its 'path'.")
    if not clean.get("filename"):
        path = clean.get("path") or ""
        source = os.fsdecode(path) if path else (clean.get("url") or "")
        clean["filename"] = sanitize_text(source.rstrip("/").rsplit("/", 1)[-1])
    clean.setdefault("state", UploadState.QUEUED.value)
    return clean


def chunks_of(raw: object) -> tuple[tuple[int, str, int], ...]:
    """The stored chunk list as tuples (a damaged value reads as no chunks)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return ()
    chunks: list[tuple[int, str, int]] = []
    for entry in value if isinstance(value, list) else []:
        if (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int)
                and isinstance(entry[2], int)):
            chunks.append((entry[0], str(entry[1]), entry[2]))
    return tuple(chunks)


def headers_of(raw: object) -> tuple[tuple[str, str], ...]:
    """The stored upload headers as (name, value) pairs (a damaged value reads as none)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return ()
    if not isinstance(value, dict):
        return ()
    return tuple((name, text) for name, text in value.items() if isinstance(text, str))


def row_to_upload(row: Sequence[Any]) -> Upload:
    """An ``Upload`` from a row of ``UPLOAD_COLUMNS``."""
    path = row[4]
    return Upload(
        id=row[0], uid=row[1], batch_id=row[2], store_id=row[3],
        path=os.fsdecode(path) if isinstance(path, bytes) else path, filename=row[5],
        size=row[6], mtime_ns=row[7], asset_type=row[8], method=UploadMethod(row[9]),
        url=row[10], state=UploadState(row[11]), upload_id=row[12], asset_id=row[13],
        item_id=row[14], chunk_size=row[15], total_chunks=row[16], chunks=chunks_of(row[17]),
        bytes_done=row[18], error_message=row[19], created_at=row[20], updated_at=row[21],
        upload_headers=headers_of(row[22]), server=row[23],
    )
