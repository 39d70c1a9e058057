"""Streaming request bodies for uploads: a body reader and a ``multipart/form-data`` parser.

Uploads can be hundreds of megabytes, so their bodies never sit in memory: :class:`BodyReader`
hands out the bytes of a ``Content-Length`` or ``chunked`` body a block at a time, and
:func:`parse_form` writes file parts straight to a sink (a file on disk) while it collects the
small text fields. Both raise :class:`~jockey_desktop.sandbox.validation.ApiError` (400 for a
malformed body, 413 past a limit) and nothing else for bad input; a socket error propagates.
(The stdlib ``cgi`` module that once did this is deprecated and gone in Python 3.13, and
``email`` parses whole messages in memory.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jockey_desktop.sandbox.validation import ApiError

BLOCK = 256 * 1024
#: Text fields of one form together (``user_metadata`` may hold 50 × 8,192 characters).
MAX_TEXT_BYTES = 1024 * 1024
_MAX_PART_HEADERS = 16 * 1024


def malformed(why: str) -> ApiError:
    """400 for a body that is not what its headers say."""
    return ApiError(400, "invalid_request", f"The request body is malformed: {why}")


class Readable(Protocol):
    """A buffered binary stream (the request socket's ``rfile``)."""

    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...


class BodyReader:
    """The body of one request, read incrementally (``Content-Length`` or ``chunked``)."""

    def __init__(self, rfile: Readable, headers: Any) -> None:
        self._rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length: int | None = None
        if not self.chunked:
            text = (headers.get("Content-Length") or "0").strip()
            if not text.isascii() or not text.isdigit() or len(text) > 18:
                raise ApiError(400, "invalid_request", "The Content-Length header is invalid.")
            self.length = int(text)
        self._remaining = self.length or 0  # bytes left in the body or the current chunk
        self._done = not self.chunked and self._remaining == 0
        self.received = 0

    @property
    def finished(self) -> bool:
        """True once the whole body (and a chunked body's trailer) has been read."""
        return self._done

    def _next_chunk(self) -> None:
        line = self._rfile.readline(1024)
        size_text = line.split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise malformed("a chunk size is not a hexadecimal number.") from None
        if size < 0:
            raise malformed("a chunk size is negative.")
        if size == 0:
            for _ in range(100):  # trailers, then the blank line
                if not self._rfile.readline(1024).strip():
                    break
            self._done = True
        self._remaining = size

    def read(self, n: int = BLOCK) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the body."""
        if self._done:
            return b""
        if self.chunked and self._remaining == 0:
            self._next_chunk()
            if self._done:
                return b""
        data = self._rfile.read(min(n, self._remaining))
        if not data:
            raise malformed("the connection closed before the whole body arrived.")
        self._remaining -= len(data)
        self.received += len(data)
        if self._remaining == 0:
            if self.chunked:
                self._rfile.readline(8)  # the CRLF after the chunk's data
            else:
                self._done = True
        return data

    def drain(self, limit: int) -> bool:
        """Read and drop the rest of the body, up to ``limit`` bytes; True when all read."""
        dropped = 0
        while not self._done and dropped <= limit:
            dropped += len(self.read(BLOCK))
        return self._done


class Sink(Protocol):
    """Where a file part's bytes go."""

    def write(self, data: bytes) -> object: ...


@dataclass(frozen=True)
class Part:
    """The headers of one form part."""

    name: str
    filename: str | None
    content_type: str | None


_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="file"; filename="a.mp4"`` → ("form-data", {"name": …, …})."""
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = raw
    return main, params


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or a 400."""
    main, params = header_params(content_type or "")
    boundary = params.get("boundary", "")
    if main != "multipart/form-data" or not 1 <= len(boundary) <= 70 \
            or not boundary.isascii():
        raise ApiError(400, "invalid_request",
                       "The request must be multipart/form-data with a boundary.")
    return boundary.encode("ascii")


class _Buffer:
    """Bytes read ahead from the body."""

    def __init__(self, reader: BodyReader) -> None:
        self.reader = reader
        self.data = bytearray()

    def fill(self) -> None:
        block = self.reader.read(BLOCK)
        if not block:
            raise malformed("the form ends before its closing boundary.")
        self.data += block


def _part_headers(buf: _Buffer) -> Part:
    while (end := buf.data.find(b"\r\n\r\n")) < 0:
        if len(buf.data) > _MAX_PART_HEADERS:
            raise malformed("a form part's headers are too long.")
        buf.fill()
    raw = bytes(buf.data[:end]).decode("utf-8", "replace")
    del buf.data[:end + 4]
    disposition = content_type = None
    for line in raw.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            disposition = value
        elif name.strip().lower() == "content-type":
            content_type = value.strip()
    kind, params = header_params(disposition or "")
    if kind != "form-data" or "name" not in params:
        raise malformed("a form part has no `Content-Disposition: form-data; name=…`.")
    return Part(params["name"], params.get("filename"), content_type)


def parse_form(reader: BodyReader, boundary: bytes,
               open_file: Callable[[Part], Sink]) -> dict[str, str]:
    """Read a whole ``multipart/form-data`` body.

    Parts with a ``filename`` go to the sink ``open_file(part)`` returns (it may raise, e.g.
    a 413 once too much arrived); the other parts are text fields, returned by name (a
    repeated name keeps the last value). ``open_file`` is called once per file part.
    """
    buf = _Buffer(reader)
    opening = b"--" + boundary
    separator = b"\r\n--" + boundary
    while len(buf.data) < len(opening) + 2:
        buf.fill()
    if not buf.data.startswith(opening):
        # A preamble is allowed before the first boundary.
        while (start := buf.data.find(separator)) < 0:
            if len(buf.data) > _MAX_PART_HEADERS:
                raise malformed("the first boundary is missing.")
            buf.fill()
        del buf.data[:start + 2]
    del buf.data[:len(opening)]
    fields: dict[str, str] = {}
    text_bytes = 0
    while True:
        while len(buf.data) < 2:
            buf.fill()
        if buf.data.startswith(b"--"):
            break  # the closing boundary; an epilogue may follow
        if not buf.data.startswith(b"\r\n"):
            raise malformed("a boundary is not followed by a line break.")
        del buf.data[:2]
        part = _part_headers(buf)
        sink: Sink | None = open_file(part) if part.filename is not None else None
        text = bytearray()
        keep = len(separator) - 1
        while True:
            end = buf.data.find(separator)
            if end >= 0:
                chunk = bytes(buf.data[:end])
                del buf.data[:end + len(separator)]
            else:
                chunk = bytes(buf.data[:-keep]) if len(buf.data) > keep else b""
                del buf.data[:len(chunk)]
            if chunk:
                if sink is not None:
                    sink.write(chunk)
                else:
                    text_bytes += len(chunk)
                    if text_bytes > MAX_TEXT_BYTES:
                        raise ApiError(413, "payload_too_large",
                                       "The form's text fields are larger than 1 MiB.")
                    text += chunk
            if end >= 0:
                break
            buf.fill()
        if sink is None:
            fields[part.name] = text.decode("utf-8", "replace")
    # Whatever follows the closing boundary is an epilogue: read and ignore it.
    reader.drain(MAX_TEXT_BYTES)
    return fields
