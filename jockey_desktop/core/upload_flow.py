"""The blocking steps of one upload, run on worker threads (no Qt).

The upload queue's controller (``controllers/uploads.py``) decides *when* each step runs and
saves what it returns; the steps here only talk to the API:

* :func:`send_direct` — one ``POST /assets`` streamed from disk;
* :func:`send_multipart` — the multipart flow, resumed from what the server already has:
  an existing session is asked for its completed chunks (``get_multipart_status``), a
  session that expired or vanished is replaced by a new one, every missing chunk is PUT to
  its presigned URL (renewed when expired, used or unreachable) and reported at once, and
  ``on_chunk`` is told after each report so the queue can save it;
* :func:`find_item_for_asset` — after a crash between adding an item and saving its id,
  the item the store already has for the asset (so it is not added twice).

:class:`TransferProgress` is the one value a worker shares with the GUI thread (bytes sent,
read by a timer); :class:`TransferMeter` turns its samples into a speed and a time left;
:func:`describe_upload_error` says in words what failed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jockey_desktop.core.upload_plan import source_changed

if TYPE_CHECKING:
    from jockey_desktop.core.api import CancelToken, KnowledgeStoreItem, MultipartStatus
    from jockey_desktop.core.storage.models import Upload

#: Tries of one chunk with fresh URLs after its URL was refused or unreachable.
_URL_ATTEMPTS = 3
#: Headers a presigned chunk PUT carries when the session's own ``upload_headers`` are no
#: longer known (they come only with the new session; a resumed one reuses these).
DEFAULT_UPLOAD_HEADERS = {"Content-Type": "application/octet-stream"}


class TransferProgress:
    """Bytes of one transfer sent so far; written by the worker, read by the GUI thread."""

    def __init__(self, start: int = 0) -> None:
        self._lock = threading.Lock()
        self._sent = start

    @property
    def sent(self) -> int:
        """Bytes sent so far (of the whole file)."""
        with self._lock:
            return self._sent

    def set(self, sent: int) -> None:
        """Record the total sent so far."""
        with self._lock:
            self._sent = max(0, sent)


class TransferMeter:
    """Speed and time left from ``(time, bytes)`` samples over the last ``window`` seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, sent: int) -> None:
        """Add a sample (bytes sent so far at ``now``); a smaller count restarts the meter."""
        if self._samples and sent < self._samples[-1][1]:
            self._samples.clear()
        self._samples.append((now, sent))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()

    def reset(self) -> None:
        """Forget the samples (the transfer stopped)."""
        self._samples.clear()

    def speed(self) -> float | None:
        """Bytes per second over the window, or None until there is enough to tell."""
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 0.2:
            return None
        return max(0.0, (b1 - b0) / (t1 - t0))

    def seconds_left(self, remaining: int) -> float | None:
        """Time to send ``remaining`` bytes at the current speed, or None when unknown."""
        speed = self.speed()
        if not speed:
            return None
        return max(0.0, remaining) / speed


def next_delay(previous: float | None, first: float, most: float,
               factor: float = 1.6) -> float:
    """The next wait of a poll with backoff: ``first``, then ×``factor`` up to ``most``."""
    if previous is None:
        return first
    return min(most, previous * factor)


class _UploadClient(Protocol):
    def upload_asset(self, path: Any, **kw: Any) -> Any: ...
    def create_multipart_upload(self, filename: str, **kw: Any) -> Any: ...
    def get_multipart_status(self, upload_id: str) -> MultipartStatus: ...
    def renew_upload_urls(self, upload_id: str, start: int, count: int) -> list[Any]: ...
    def upload_chunk(self, url: str, headers: Mapping[str, str], path: Any, offset: int,
                     length: int, **kw: Any) -> str: ...
    def report_chunks(self, upload_id: str, chunks: Any) -> Any: ...


def check_source(upload: Upload) -> None:
    """Raise ``UploadSourceChangedError`` when the file is no longer the one queued."""
    problem = source_changed(upload.path, upload.size, upload.mtime_ns)
    if problem is not None:
        from jockey_desktop.core.api import UploadSourceChangedError

        raise UploadSourceChangedError(problem)


def send_direct(client: _UploadClient, upload: Upload, progress: TransferProgress,
                cancel: CancelToken) -> str:
    """Upload the whole file with one ``POST /assets``; returns the new asset's id."""
    check_source(upload)
    asset = client.upload_asset(
        upload.path, filename=upload.filename, asset_type_hint=upload.asset_type,
        progress=lambda sent, _total: progress.set(sent), cancel=cancel)
    return str(asset.id)


@dataclass(frozen=True)
class MultipartSession:
    """What the queue saves of a multipart upload session (a new one resets the chunks)."""

    upload_id: str
    asset_id: str
    chunk_size: int
    total_chunks: int


def send_multipart(
    client: _UploadClient, upload: Upload, progress: TransferProgress, cancel: CancelToken, *,
    on_session: Callable[[MultipartSession], None],
    on_chunk: Callable[[int, str, int], None],
) -> str:
    """Send what the server does not have yet of a multipart upload; returns the asset id.

    ``on_session`` is called (from this thread) when a new session replaces the queued one,
    ``on_chunk(index, etag, size)`` after each chunk the server acknowledged. Cancelling
    ``cancel`` stops between (and within) chunks with ``RequestCancelledError``.
    """
    from jockey_desktop.core.api import (
        CompletedChunk,
        NetworkError,
        RequestCancelledError,
        UploadNotFoundError,
        UploadUrlExpiredError,
    )

    check_source(upload)
    size = int(upload.size or 0)
    session, done = _resumable_session(client, upload, UploadNotFoundError)
    urls: dict[int, str] = {}
    headers: Mapping[str, str] = DEFAULT_UPLOAD_HEADERS
    if session is None:
        created = client.create_multipart_upload(upload.filename, kind=upload.asset_type,
                                                 total_size=size)
        session = MultipartSession(created.upload_id, created.asset_id, created.chunk_size,
                                   created.total_chunks)
        urls = {u.chunk_index: u.url for u in created.upload_urls}
        headers = created.upload_headers or DEFAULT_UPLOAD_HEADERS
        done = set()
        on_session(session)
    # Chunks the server completed that the queue did not save (the app stopped between
    # the report and the write): saved now, without their ETag (the server has them).
    saved = {c[0] for c in upload.chunks}
    for index in sorted(done - saved):
        on_chunk(index, "", _span(session, index, size)[1])
    sent_before = sum(_span(session, i, size)[1] for i in done)
    progress.set(sent_before)
    pending = [i for i in range(1, session.total_chunks + 1) if i not in done]
    finished = not pending
    for index in pending:
        if cancel.cancelled:
            raise RequestCancelledError()
        # The client checks the file within a chunk; between chunks it is checked against
        # the file that was queued, so a file edited meanwhile is never sent half old.
        check_source(upload)
        offset, length = _span(session, index, size)
        base = sent_before

        def report(sent: int, _total: int, base: int = base) -> None:
            progress.set(base + sent)

        etag = None
        for attempt in range(_URL_ATTEMPTS):
            url = urls.pop(index, None)
            if url is None:
                urls.update(_renew(client, session, index, pending))
                url = urls.pop(index)
            try:
                etag = client.upload_chunk(url, headers, upload.path, offset, length,
                                           progress=report, cancel=cancel)
                break
            except (UploadUrlExpiredError, NetworkError):
                # An expired or used URL, or one on a host that went away (a restarted
                # server): fresh URLs, a couple of times; the client already retried the
                # same one.
                if attempt == _URL_ATTEMPTS - 1 or cancel.cancelled:
                    raise
        assert etag is not None
        result = client.report_chunks(session.upload_id,
                                      [CompletedChunk(index, etag, length)])
        on_chunk(index, etag, length)
        sent_before += length
        progress.set(sent_before)
        finished = bool(result.is_complete)
    if not finished:
        status = client.get_multipart_status(session.upload_id)
        if status.status != "completed":
            from jockey_desktop.core.api import ProtocolError

            raise ProtocolError("Every part was sent but the server did not complete the "
                                "upload.")
    return session.asset_id


def _span(session: MultipartSession, index: int, size: int) -> tuple[int, int]:
    offset = (index - 1) * session.chunk_size
    return offset, max(0, min(session.chunk_size, size - offset))


def _resumable_session(client: _UploadClient, upload: Upload,
                       not_found: type[Exception]) -> tuple[MultipartSession | None, set[int]]:
    """The queued session and its completed chunks, when the server still has it active."""
    if not (upload.upload_id and upload.asset_id and upload.chunk_size
            and upload.total_chunks):
        return None, set()
    try:
        status = client.get_multipart_status(upload.upload_id)
    except not_found:
        return None, set()
    session = MultipartSession(upload.upload_id, upload.asset_id, upload.chunk_size,
                               upload.total_chunks)
    if status.status == "completed":
        return session, set(range(1, session.total_chunks + 1))
    if status.status != "active":
        return None, set()  # expired or failed: its chunks are gone
    return session, set(status.completed_indexes())


def _renew(client: _UploadClient, session: MultipartSession, index: int,
           pending: list[int]) -> dict[int, str]:
    """Fresh URLs from chunk ``index`` on (up to 50, as far as chunks are pending)."""
    from jockey_desktop.core.api.uploads import MAX_URL_RENEWAL

    later = [i for i in pending if i >= index]
    count = min(MAX_URL_RENEWAL, max(1, later[-1] - index + 1 if later else 1))
    urls = client.renew_upload_urls(session.upload_id, index, count)
    return {u.chunk_index: u.url for u in urls}


def find_item_for_asset(client: Any, store_id: str, asset_id: str) -> KnowledgeStoreItem | None:
    """The store's item made from ``asset_id``, if it already has one."""
    for item in client.list_items(store_id):
        if item.asset_id == asset_id:
            return item  # type: ignore[no-any-return]
    return None


def file_name(path: str) -> str:
    """The last part of a path, for sentences."""
    return Path(path).name or path


def describe_upload_error(error: BaseException, *, filename: str, resumable: bool) -> str:
    """One sentence (or two) saying why a step of ``filename``'s upload failed and what a
    retry will do. ``resumable``: the parts already sent are kept (multipart)."""
    from jockey_desktop.core import api
    from jockey_desktop.core.storage.errors import StorageError

    name = f"“{filename}”"
    detail = (getattr(error, "message", "") or "").strip()

    def with_detail(lead: str) -> str:
        if detail and detail.rstrip(".") not in lead:
            tail = detail if detail[-1] in ".!?" else detail + "."
            return f"{lead} The server said: {tail}"
        return lead

    again = ("Retry continues with the parts already sent." if resumable
             else "Retry sends it again.")
    if isinstance(error, api.UploadSourceChangedError):
        reason = detail or f"{name} changed or disappeared during the upload."
        return f"{reason} Retry uploads the file as it is now."
    if isinstance(error, api.AuthenticationError):
        return "The API key was not accepted — open Settings to replace it, then retry."
    if isinstance(error, api.RateLimitedError):
        return with_detail("The server is rate limiting uploads. Retry in a minute.")
    if isinstance(error, api.StoreNotFoundError):
        return "The knowledge store no longer exists on the server."
    if isinstance(error, api.UploadNotFoundError):
        return f"The server no longer has this upload session. Retry sends {name} again."
    if isinstance(error, api.InvalidRequestError):
        return with_detail(f"The server refused {name}.")
    if isinstance(error, api.RequestTimedOutError):
        return f"The server stopped answering during the upload of {name}. {again}"
    if isinstance(error, api.NetworkError):
        return f"The connection was lost during the upload of {name}. {again}"
    if isinstance(error, api.UploadUrlExpiredError):
        return f"The server kept refusing the upload addresses for {name}. {again}"
    if isinstance(error, api.ServerError):
        return with_detail(f"The server failed while receiving {name}.") + f" {again}"
    if isinstance(error, StorageError):
        return str(error)
    if isinstance(error, api.JockeyError):
        return str(error)
    return f"Something went wrong in the app while uploading {name} ({type(error).__name__})."


def now() -> float:
    """The monotonic clock the meters use."""
    return time.monotonic()


__all__ = [
    "DEFAULT_UPLOAD_HEADERS",
    "MultipartSession",
    "TransferMeter",
    "TransferProgress",
    "check_source",
    "describe_upload_error",
    "file_name",
    "find_item_for_asset",
    "next_delay",
    "now",
    "send_direct",
    "send_multipart",
]
