"""Assets, uploads and media (jockey-api.md §7). A mixin of ``JockeyClient``.

* ``upload_asset`` sends a file as ``multipart/form-data`` streamed from disk a MiB at a time
  (memory stays flat whatever the size), with progress and cancel between pieces;
* the multipart flow for large files: create the session, PUT each chunk's bytes to its
  presigned URL, report the ETags, renew URLs, check status, list unfinished sessions;
* ``fetch_media`` gets a signed thumbnail or manifest with a size cap.

Presigned and media URLs live on other hosts and carry their own authorisation: they go
through the transport's external session, which never holds the API key. Chunk PUTs are
idempotent and retried like GETs; ``POST /assets`` is not (a second one would make a second
asset), except when the server provably did not process it.
"""

from __future__ import annotations

import json
import mimetypes
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import requests
from urllib3.fields import RequestField

from jockey_desktop.core.api.cancel import CancelToken
from jockey_desktop.core.api.errors import (
    InvalidInputError,
    JockeyError,
    MediaUrlExpiredError,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    ServerError,
    UploadSourceChangedError,
    UploadUrlExpiredError,
    parse_retry_after,
)
from jockey_desktop.core.api.resources import (
    Asset,
    AssetDetail,
    CompletedChunk,
    MultipartStatus,
    MultipartUpload,
    ReportResult,
    Transcription,
    UploadUrl,
    chunk_statuses_from_json,
    upload_urls_from_json,
)
from jockey_desktop.core.api.transport import (
    PAGE_LIMIT,
    Call,
    Transport,
    read_body,
    release,
    require_dict,
    seg,
)
from jockey_desktop.core.web_sources import web_url

#: Bytes read from disk per piece of an upload body.
UPLOAD_PIECE = 1024 * 1024
#: Largest direct (``POST /assets``) upload per kind of file, in bytes.
DIRECT_UPLOAD_LIMITS = {"video": 200 * 1000 * 1000, "audio": 200 * 1000 * 1000,
                        "image": 32 * 1000 * 1000}
#: Largest file the multipart flow takes, per kind.
MULTIPART_LIMITS = {"video": 10 * 1000**3, "audio": 10 * 1000**3, "image": 32 * 1000 * 1000}
#: Most presigned URLs one renewal may ask for.
MAX_URL_RENEWAL = 50
#: Statuses of a signed URL that mean "expired, used or revoked": resolve it again.
_EXPIRED_STATUSES = frozenset({401, 403, 404, 410})

#: ``progress(bytes_sent, total)``, called from the thread doing the upload.
Progress = Callable[[int, int], None]
AssetKind = Literal["video", "audio", "image"]


class _FileBody:
    """A request body streamed from ``length`` bytes of a file at ``offset``, between a
    ``prefix`` and a ``suffix`` (the multipart framing), read a piece at a time.

    ``len()`` gives requests the Content-Length, so nothing is chunk-encoded. Between pieces
    it reports progress (file bytes already handed to the socket), honours ``cancel`` and
    checks that the file has not changed since the upload began.
    """

    def __init__(self, path: Path, offset: int, length: int, *, prefix: bytes = b"",
                 suffix: bytes = b"", progress: Progress | None = None,
                 cancel: CancelToken | None = None,
                 expected: tuple[int, int] | None = None) -> None:
        self._path = path
        self._offset = offset
        self._length = length
        self._prefix = prefix
        self._suffix = suffix
        self._progress = progress
        self._cancel = cancel
        self._expected = expected  # (size, mtime_ns) when the upload was planned

    def __len__(self) -> int:
        return len(self._prefix) + self._length + len(self._suffix)

    def __iter__(self) -> Iterator[bytes]:
        try:
            handle = self._path.open("rb")
        except OSError:
            raise UploadSourceChangedError("The file can no longer be read.") from None
        with handle:
            self._check(handle)
            handle.seek(self._offset)
            if self._prefix:
                yield self._prefix
            sent = 0
            self._report(sent)
            while sent < self._length:
                self._check_cancel()
                piece = handle.read(min(UPLOAD_PIECE, self._length - sent))
                if not piece:
                    raise UploadSourceChangedError("The file became shorter during the upload.")
                self._check(handle)  # before the last piece too: nothing stale is completed
                yield piece
                sent += len(piece)
                self._report(sent)
            if self._suffix:
                yield self._suffix

    def _report(self, sent: int) -> None:
        if self._progress is not None:
            self._progress(sent, self._length)

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.cancelled:
            raise RequestCancelledError()

    def _check(self, handle: Any) -> None:
        if self._expected is None:
            return
        stat = os.fstat(handle.fileno())
        if (stat.st_size, stat.st_mtime_ns) != self._expected:
            raise UploadSourceChangedError("The file was modified during the upload.")


def _snapshot(path: Path) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a readable regular file, or an ``InvalidInputError``."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InvalidInputError(f"The file {path.name!r} does not exist.",
                                code="parameter_invalid") from None
    except OSError:
        raise InvalidInputError(f"The file {path.name!r} cannot be read.",
                                code="parameter_invalid") from None
    if not path.is_file():
        raise InvalidInputError(f"{path.name!r} is not a file.", code="parameter_invalid")
    if not os.access(path, os.R_OK):
        raise InvalidInputError(f"The file {path.name!r} cannot be read.",
                                code="parameter_invalid")
    return stat.st_size, stat.st_mtime_ns


def _form_part(name: str, data: str | bytes, *, filename: str | None = None,
               content_type: str | None = None) -> bytes:
    """One part's header block (``--boundary`` is added by the caller)."""
    part = RequestField(name=name, data=data, filename=filename)
    part.make_multipart(content_type=content_type)
    return part.render_headers().encode("utf-8")


def _form(boundary: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """The text fields of a ``multipart/form-data`` body, each preceded by its boundary."""
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode() + _form_part(name, value)
        out += value.encode("utf-8") + b"\r\n"
    return bytes(out)


_KINDS: dict[str, AssetKind] = {"video": "video", "audio": "audio", "image": "image"}


def guess_kind(filename: str) -> AssetKind | None:
    """``video``, ``audio`` or ``image`` from a file name's extension, or None."""
    mime = mimetypes.guess_type(filename)[0] or ""
    return _KINDS.get(mime.split("/", 1)[0])


def _checked_kind(kind: str | None, filename: str) -> AssetKind:
    if kind and kind not in _KINDS:
        raise InvalidInputError(
            f"An upload must be a video, an audio file or an image, not {kind!r}.",
            code="parameter_invalid")
    resolved = _KINDS[kind] if kind else guess_kind(filename)
    if resolved is None:
        raise InvalidInputError(
            f"Can't tell whether {filename!r} is a video, an audio file or an image; "
            "say which.", code="parameter_invalid")
    return resolved


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _size_sentence(n_bytes: int) -> str:
    return f"{n_bytes / 1000**3:g} GB" if n_bytes >= 1000**3 else f"{n_bytes / 1000**2:g} MB"


class UploadsMixin(Transport):
    """Assets, direct and multipart uploads, transcriptions and signed media."""

    # -- assets ------------------------------------------------------------------------------

    def upload_asset(
        self, path: str | os.PathLike[str], *, filename: str | None = None,
        asset_type_hint: AssetKind | None = None, progress: Progress | None = None,
        cancel: CancelToken | None = None, user_metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Upload a file with ``POST /assets`` (``method=direct``), streamed from disk.

        ``asset_type_hint`` says whether it is a video, audio or image when the extension
        does not; it picks the size limit checked before sending (200 MB for video and
        audio, 32 MB for images: use the multipart flow above that). HLS and a thumbnail
        are always requested. ``progress(bytes_sent, total)`` is called from this thread;
        ``cancel`` stops between pieces (``RequestCancelledError``). A file that changes or
        disappears meanwhile raises ``UploadSourceChangedError``. Returns the new asset
        (``processing``; poll ``get_asset`` until ``ready``).
        """
        source = Path(path)
        name = filename or source.name
        size, mtime = _snapshot(source)
        kind = _checked_kind(asset_type_hint, name)
        limit = DIRECT_UPLOAD_LIMITS[kind]
        if size > limit:
            raise InvalidInputError(
                f"{name!r} is larger than {_size_sentence(limit)}, the most a single "
                f"{kind} upload takes; it needs the multipart upload.",
                code="parameter_invalid")
        boundary = uuid.uuid4().hex
        fields = [("method", "direct"), ("filename", name), ("enable_hls", "true"),
                  ("enable_thumbnail", "true")]
        if user_metadata is not None:
            fields.append(("user_metadata", json.dumps(dict(user_metadata))))
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        prefix = (_form(boundary, fields) + f"--{boundary}\r\n".encode()
                  + _form_part("file", b"", filename=name, content_type=content_type))
        suffix = f"\r\n--{boundary}--\r\n".encode()

        def body() -> _FileBody:
            return _FileBody(source, 0, size, prefix=prefix, suffix=suffix, progress=progress,
                             cancel=cancel, expected=(size, mtime))

        return Asset.from_json(require_dict(self._send_json(Call(
            "POST", "/assets", (self.connect_timeout, self.response_timeout), body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            cancel=cancel,
        ))))

    def create_asset_from_url(self, url: str, *, filename: str | None = None) -> Asset:
        """Have the server fetch a public http(s) URL as a new asset (up to 4 GB for video
        and audio; a VOD ``.m3u8`` works, a live stream is refused)."""
        if web_url(url) is None:
            raise InvalidInputError("Only http:// and https:// addresses can be added.",
                                    code="parameter_invalid")
        boundary = uuid.uuid4().hex
        fields = [("method", "url"), ("url", url.strip())]
        if filename:
            fields.append(("filename", filename))
        fields += [("enable_hls", "true"), ("enable_thumbnail", "true")]
        form = _form(boundary, fields) + f"--{boundary}--\r\n".encode()
        data = self._send_json(Call(
            "POST", "/assets", self._short_timeout(), body=lambda: form,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            deadline=self.request_deadline))
        return Asset.from_json(require_dict(data))

    def get_asset(self, asset_id: str) -> AssetDetail:
        """An asset with its status, HLS manifest, thumbnail, size and duration (fresh signed
        URLs: call this again when a media URL has expired)."""
        return AssetDetail.from_json(require_dict(self._get_json(f"/assets/{seg(asset_id)}")))

    def delete_asset(self, asset_id: str, *, force: bool = False) -> None:
        """Delete an asset; while indexed items use it the server refuses (``ConflictError``)
        unless ``force``."""
        params = {"force": "true"} if force else None
        self._call_json("DELETE", f"/assets/{seg(asset_id)}", params=params, allow_empty=True)

    def get_transcription(self, asset_id: str) -> Transcription | None:
        """The asset's transcription by sentences, or None when it has none (404)."""
        try:
            data = self._get_json(f"/assets/{seg(asset_id)}/transcription",
                                  {"include": "sentences"})
        except JockeyError as error:
            if error.status == 404:
                return None
            raise
        return Transcription.from_json(require_dict(data))

    # -- multipart uploads -------------------------------------------------------------------

    def create_multipart_upload(
        self, filename: str, *, kind: AssetKind, total_size: int,
        user_metadata: Mapping[str, Any] | None = None,
    ) -> MultipartUpload:
        """Start a multipart upload session (valid 24 h) for a file of ``total_size`` bytes;
        HLS and a thumbnail are requested (here they would default to off)."""
        kind = _checked_kind(kind, filename)
        if total_size <= 0:
            raise InvalidInputError(f"{filename!r} is empty.", code="parameter_invalid")
        if total_size > MULTIPART_LIMITS[kind]:
            raise InvalidInputError(
                f"{filename!r} is larger than {_size_sentence(MULTIPART_LIMITS[kind])}, the "
                f"most {_a(kind)} upload takes.", code="parameter_invalid")
        body: dict[str, Any] = {"filename": filename, "type": kind, "total_size": total_size,
                                "enable_hls": True, "enable_thumbnail": True}
        if user_metadata is not None:
            body["user_metadata"] = json.dumps(dict(user_metadata))
        data = self._call_json("POST", "/assets/multipart-uploads", json_body=body)
        return MultipartUpload.from_json(require_dict(data))

    def upload_chunk(
        self, url: str, headers: Mapping[str, str], path: str | os.PathLike[str],
        offset: int, length: int, *, progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        """PUT ``length`` bytes of the file at ``offset`` to a presigned ``url`` with exactly
        ``headers`` (the session's ``upload_headers``; never the API key) and return the
        ETag the upload host answered. Retried on connection errors, 429 and 5xx; an expired
        or used URL raises ``UploadUrlExpiredError`` (renew it and call again)."""
        if web_url(url) is None:
            raise InvalidInputError("The upload address is not an http(s) URL.",
                                    code="parameter_invalid")
        source = Path(path)
        size, mtime = _snapshot(source)
        if offset < 0 or length <= 0 or offset + length > size:
            raise UploadSourceChangedError("The file is shorter than the part to upload.")

        def body() -> _FileBody:
            return _FileBody(source, offset, length, progress=progress, cancel=cancel,
                             expected=(size, mtime))

        call = Call("PUT", "", (self.connect_timeout, self.response_timeout), body=body,
                    headers=dict(headers), cancel=cancel, external=True, url=url,
                    max_body=1024 * 1024)
        if cancel is None:
            response = self._request(call)
        else:
            with self._track(cancel):
                response = self._request(call)
        try:
            etag = response.headers.get("ETag")
        finally:
            release(response)
        if not etag:
            raise ProtocolError("The upload host did not confirm the part (no ETag).")
        return etag

    def report_chunks(self, upload_id: str, chunks: Sequence[CompletedChunk]) -> ReportResult:
        """Report uploaded chunks (any order, in batches); reporting one twice is harmless,
        so this is retried like a read."""
        if not chunks:
            raise InvalidInputError("No uploaded parts were given.", code="parameter_invalid")
        data = self._call_json(
            "POST", f"/assets/multipart-uploads/{seg(upload_id)}",
            json_body={"completed_chunks": [c.to_json() for c in chunks]}, idempotent=True)
        return ReportResult.from_json(require_dict(data))

    def renew_upload_urls(self, upload_id: str, start: int, count: int) -> list[UploadUrl]:
        """Fresh presigned URLs for chunks ``start`` … ``start + count - 1`` (at most 50)."""
        if start < 1 or not 1 <= count <= MAX_URL_RENEWAL:
            raise InvalidInputError(
                f"Upload addresses are renewed from part 1 on, 1 to {MAX_URL_RENEWAL} at a "
                "time.", code="parameter_invalid")
        data = require_dict(self._call_json(
            "POST", f"/assets/multipart-uploads/{seg(upload_id)}/presigned-urls",
            json_body={"start": start, "count": count}, idempotent=True))
        return list(upload_urls_from_json(data.get("upload_urls")))

    def get_multipart_status(self, upload_id: str) -> MultipartStatus:
        """Where an upload session stands, with every chunk's status (walks all pages)."""
        path = f"/assets/multipart-uploads/{seg(upload_id)}"
        first: dict[str, Any] | None = None
        chunks = []
        page = 1
        while True:
            data = require_dict(self._get_json(path, {"page": page, "page_limit": PAGE_LIMIT}))
            first = first or data
            rows = chunk_statuses_from_json(data.get("uploaded_chunks"))
            chunks.extend(rows)
            info = data.get("page_info")
            total = info.get("total_page") if isinstance(info, Mapping) else None
            if not rows or not isinstance(total, int) or page >= total or page >= 10_000:
                break
            page += 1
        return MultipartStatus.from_json(first, tuple(chunks))

    def list_incomplete_uploads(self) -> list[MultipartStatus]:
        """Upload sessions not yet completed (to resume after a restart)."""
        return [MultipartStatus.from_json(d)
                for d in self._paged("/assets/multipart-uploads", {})]

    # -- media -------------------------------------------------------------------------------

    def fetch_media(self, url: str, *, max_bytes: int, accept: str = "image/*") -> bytes:
        """GET a signed media URL (thumbnail, manifest) without the API key, through the
        proxies of the environment, refusing more than ``max_bytes``. A refused URL (401,
        403, 404, 410) raises ``MediaUrlExpiredError``: resolve it again via ``get_asset``."""
        if web_url(url) is None:
            raise InvalidInputError("Only http:// and https:// media addresses are fetched.",
                                    code="parameter_invalid")
        response = self._request(Call(
            "GET", "", self._short_timeout(), headers={"Accept": accept,
                                                       "User-Agent": self.user_agent},
            external=True, url=url, deadline=self.request_deadline, max_body=max_bytes))
        try:
            return read_body(response, max_bytes)
        finally:
            release(response)

    # -- plumbing ----------------------------------------------------------------------------

    def _map_status(
        self, response: requests.Response, call: Call, code: str | None, message: str
    ) -> JockeyError:
        """Signed URLs answer for their own host: their statuses mean other things."""
        if not call.external:
            return super()._map_status(response, call, code, message)
        status = response.status_code
        upload = call.method == "PUT"
        if status in _EXPIRED_STATUSES:
            cls = UploadUrlExpiredError if upload else MediaUrlExpiredError
            return cls(status=status)
        if status == 429 or status == 503:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status == 429:
                return RateLimitedError(status=status, retry_after=retry_after)
            return ServerError("The media host is unavailable.", status=status,
                               retry_after=retry_after)
        if status >= 500:
            return ServerError("The upload host failed." if upload else
                               "The media host failed.", status=status)
        return ProtocolError(f"The {'upload' if upload else 'media'} host answered with "
                             f"status {status}.", status=status)


__all__ = [
    "DIRECT_UPLOAD_LIMITS",
    "MAX_URL_RENEWAL",
    "MULTIPART_LIMITS",
    "UPLOAD_PIECE",
    "AssetKind",
    "Progress",
    "UploadsMixin",
    "guess_kind",
]
