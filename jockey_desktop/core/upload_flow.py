"""The blocking steps of one upload, run on worker threads (no Qt).

The upload queue's controller (``controllers/uploads.py``) decides *when* each step runs and
saves what it returns; the steps here only talk to the API:

* :func:`send_direct` — one ``POST /assets`` streamed from disk;
* :func:`send_multipart` — the multipart flow, resumed from what the server already has:
  an existing session (with the ``upload_headers`` saved with it) is asked for its
  completed chunks (``get_multipart_status``), a
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

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from jockey_desktop.core.upload_plan import source_changed

if TYPE_CHECKING:
    from jockey_desktop.core.api import CancelToken, KnowledgeStoreItem, MultipartStatus
    from jockey_desktop.core.storage.models import Upload

#: Sent chunks are reported this many at a time (a report costs the server a write; a
#: crash loses at most this many chunks' sending, never their order or the session)...
REPORT_BATCH = 4
#: ...or after this many seconds, whichever comes first (slow links report every chunk).
REPORT_EVERY = 2.0
log = logging.getLogger(__name__)

#: Tries of one chunk with fresh URLs after its URL was refused or unreachable.
_URL_ATTEMPTS = 3
#: Headers a presigned chunk PUT carries when the session's own ``upload_headers`` are not
#: known: a server that gave none, or a session queued before they were saved (schema v4).
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
    """What the queue saves of a multipart upload session (a new one resets the chunks).

    ``upload_headers`` are the session's own: every chunk PUT carries exactly these, also
    after a restart (a presigned URL is signed with them and refuses a PUT without them).
    """

    upload_id: str
    asset_id: str
    chunk_size: int
    total_chunks: int
    upload_headers: tuple[tuple[str, str], ...] = ()

    def headers(self) -> dict[str, str]:
        """The headers of a chunk PUT: the session's, or the default when it has none."""
        return dict(self.upload_headers) or dict(DEFAULT_UPLOAD_HEADERS)


def send_multipart(
    client: _UploadClient, upload: Upload, progress: TransferProgress, cancel: CancelToken, *,
    on_session: Callable[[MultipartSession], None],
    on_chunk: Callable[[int, str, int], None],
    streams: int = 1,
) -> str:
    """Send what the server does not have yet of a multipart upload; returns the asset id.

    ``on_session`` is called when a new session replaces the queued one, ``on_chunk(index,
    etag, size)`` after each chunk the server acknowledged (both from worker threads).
    ``streams`` chunks go at the same time (the queue gives a lone file both of its transfer
    slots: while one chunk waits for the server to store it, the next one is on the wire).
    Cancelling ``cancel`` stops between (and within) chunks with ``RequestCancelledError``.
    """
    from jockey_desktop.core.api import UploadNotFoundError

    check_source(upload)
    size = int(upload.size or 0)
    session, done = _resumable_session(client, upload, UploadNotFoundError)
    urls: dict[int, str] = {}
    if session is None:
        created = client.create_multipart_upload(upload.filename, kind=upload.asset_type,
                                                 total_size=size)
        session = MultipartSession(created.upload_id, created.asset_id, created.chunk_size,
                                   created.total_chunks,
                                   tuple((created.upload_headers or {}).items()))
        urls = {u.chunk_index: u.url for u in created.upload_urls}
        done = set()
        on_session(session)  # saved with its headers before any chunk is sent
    headers = session.headers()
    # Chunks the server completed that the queue did not save (the app stopped between
    # the report and the write): saved now, without their ETag (the server has them).
    saved = {c[0] for c in upload.chunks}
    for index in sorted(done - saved):
        on_chunk(index, "", _span(session, index, size)[1])
    pending = [i for i in range(1, session.total_chunks + 1) if i not in done]
    sender = _ChunkSender(client, upload, session, headers, urls, pending, progress, cancel,
                          on_chunk, sent=sum(_span(session, i, size)[1] for i in done))
    finished = sender.run(max(1, min(streams, len(pending)))) if pending else True
    if not finished:
        status = client.get_multipart_status(session.upload_id)
        if status.status != "completed":
            from jockey_desktop.core.api import ProtocolError

            raise ProtocolError("Every part was sent but the server did not complete the "
                                "upload.")
    return session.asset_id


class _ChunkSender:
    """The missing chunks of one session, PUT by one or more streams (threads) that each
    take the next chunk and send it; sent chunks are reported in batches (every
    ``REPORT_BATCH`` chunks or ``REPORT_EVERY`` seconds, and whatever is left when the
    streams stop, also on a pause or a failure), and ``on_chunk`` is told once the server
    acknowledged them. The first failure stops every stream and is raised."""

    def __init__(self, client: _UploadClient, upload: Upload, session: MultipartSession,
                 headers: Mapping[str, str], urls: dict[int, str], pending: list[int],
                 progress: TransferProgress, cancel: CancelToken,
                 on_chunk: Callable[[int, str, int], None], *, sent: int) -> None:
        self._client, self._upload, self._session = client, upload, session
        self._headers, self._urls, self._pending = headers, urls, pending
        self._queue = deque(pending)
        self._progress, self._cancel, self._on_chunk = progress, cancel, on_chunk
        self._lock = threading.Lock()
        self._sent = sent  # bytes of whole chunks on the server
        self._partial: dict[int, int] = {}  # bytes of the chunks on the wire
        self._errors: list[BaseException] = []
        self._complete = False
        #: Chunks on the server but not reported yet, and when the last report went out.
        self._unreported: list[tuple[int, str, int]] = []
        self._reported_at = time.monotonic()
        #: One report at a time, in order (a batch is never overtaken by a later one).
        self._report_lock = threading.Lock()
        progress.set(sent)

    def run(self, streams: int) -> bool:
        """Send every pending chunk; True when the server said the upload is complete."""
        helpers = [threading.Thread(target=self._stream, name="jockey-upload-stream",
                                    daemon=True) for _ in range(streams - 1)]
        for helper in helpers:
            helper.start()
        self._stream()
        for helper in helpers:
            helper.join()
        try:
            self._report(force=True)
        except Exception as error:  # reported chunks are an optimisation; resume asks
            if not self._errors:
                raise
            log.info("the last chunks could not be reported: %s", type(error).__name__)
        if self._errors:
            from jockey_desktop.core.api import RequestCancelledError

            # A cancel seen by one stream is the consequence; the other's error the cause.
            real = [e for e in self._errors if not isinstance(e, RequestCancelledError)]
            raise (real or self._errors)[0]
        if self._cancel.cancelled:
            from jockey_desktop.core.api import RequestCancelledError

            raise RequestCancelledError()
        return self._complete

    def _stream(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._errors or self._cancel.cancelled or not self._queue:
                        return
                    index = self._queue.popleft()
                self._send(index)
        except BaseException as error:  # handed to run(), which raises it in the caller
            with self._lock:
                self._errors.append(error)

    def _show(self, index: int, sent: int) -> None:
        with self._lock:
            self._partial[index] = sent
            self._progress.set(self._sent + sum(self._partial.values()))

    def _send(self, index: int) -> None:
        from jockey_desktop.core.api import NetworkError, UploadUrlExpiredError

        # The client checks the file within a chunk; between chunks it is checked against
        # the file that was queued, so a file edited meanwhile is never sent half old.
        check_source(self._upload)
        session, size = self._session, int(self._upload.size or 0)
        offset, length = _span(session, index, size)
        etag = ""
        for attempt in range(_URL_ATTEMPTS):
            url = self._url(index)
            try:
                etag = self._client.upload_chunk(
                    url, self._headers, self._upload.path, offset, length,
                    progress=lambda sent, _total: self._show(index, sent), cancel=self._cancel)
                break
            except (UploadUrlExpiredError, NetworkError):
                # An expired or used URL, or one on a host that went away (a restarted
                # server): fresh URLs, a couple of times; the client already retried the
                # same one.
                if attempt == _URL_ATTEMPTS - 1 or self._cancel.cancelled:
                    raise
        with self._lock:
            self._partial.pop(index, None)
            self._sent += length
            self._unreported.append((index, etag, length))
            self._progress.set(self._sent + sum(self._partial.values()))
        self._report(force=False)

    def _report(self, *, force: bool) -> None:
        """Report the chunks sent and not yet reported (when a batch is due, or ``force``)."""
        from jockey_desktop.core.api import CompletedChunk

        with self._report_lock:
            with self._lock:
                due = (len(self._unreported) >= REPORT_BATCH or not self._queue
                       or time.monotonic() - self._reported_at >= REPORT_EVERY)
                if not self._unreported or not (due or force):
                    return
                batch, self._unreported = self._unreported, []
            try:
                result = self._client.report_chunks(
                    self._session.upload_id, [CompletedChunk(*chunk) for chunk in batch])
            except BaseException:
                with self._lock:
                    self._unreported = batch + self._unreported
                raise
            self._reported_at = time.monotonic()
            for chunk in batch:
                self._on_chunk(*chunk)
            with self._lock:
                self._complete = self._complete or bool(result.is_complete)

    def _url(self, index: int) -> str:
        with self._lock:
            url = self._urls.pop(index, None)
            if url is None:
                # Renewed under the lock: the other stream waits instead of asking too.
                self._urls.update(_renew(self._client, self._session, index, self._pending))
                url = self._urls.pop(index)
            return url


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
    # The headers saved with the session (none for a row queued before they were saved).
    session = MultipartSession(upload.upload_id, upload.asset_id, upload.chunk_size,
                               upload.total_chunks, upload.upload_headers)
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
        # The client says "The file …"; the queue names it.
        reason = (name + detail[len("The file"):] if detail.startswith("The file ")
                  else detail or f"{name} changed or disappeared during the upload.")
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


__all__ = [
    "DEFAULT_UPLOAD_HEADERS",
    "MultipartSession",
    "TransferMeter",
    "TransferProgress",
    "check_source",
    "describe_upload_error",
    "find_item_for_asset",
    "next_delay",
    "send_direct",
    "send_multipart",
]
