"""UploadsController: the upload queue, from a dropped file to a ready store item.

Every file goes through the same steps, each saved in the ``uploads`` table before the next
one starts, so the queue survives quit, crash and ``kill -9``:

``queued`` → ``uploading`` (one ``POST /assets`` up to 200 MB, the multipart flow above; a
URL is fetched by the server) → ``processing`` (the asset is polled until ready) →
``adding`` (``POST …/items`` with ``asset_type`` explicit) → ``indexing`` (the item is polled
with backoff) → ``ready``; or ``failed`` with a sentence, ``paused``, ``cancelled``.

At most :data:`MAX_TRANSFERS` transfers run at once, on a pool of their own (a lone
multipart file uses both: two of its chunks at a time); polls and the
other short calls use the shared network runner; every write goes through the storage
runner, in order. Workers never touch this object's state: they return results, and the
multipart flow's "session created" and "chunk acknowledged" reach the GUI thread as queued
signals. Progress is a counter the workers bump and a timer here reads
(:class:`~jockey_desktop.core.upload_flow.TransferProgress`), so a fast upload does not
flood the event loop.

After a restart a multipart upload continues from the chunks the server already has (its
chunks PUT with the session's saved ``upload_headers``), a direct one starts again, and polls
pick up where they were.

Each row belongs to the server it was queued for (``Upload.server``: "sandbox" or a
normalised base URL, given with the client by :meth:`UploadsController.set_client`). The
queue works only on the rows of the current server; the others are left exactly as they are
(not failed, not resumed: their sessions, assets and stores exist only on their server) and
wait, saying so, until the app talks to that server again. Rows saved before servers were
recorded are adopted by the first server the queue runs with. A 429 waits for its
``Retry-After``. A write the disk refuses halts the queue (nothing is lost: the rows keep
their last saved step) until :meth:`resume_all`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.core.changes import Changes
from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState
from jockey_desktop.core.upload_flow import (
    MultipartSession,
    TransferMeter,
    TransferProgress,
    describe_upload_error,
    next_delay,
)
from jockey_desktop.core.upload_plan import (
    KnownFile,
    Plan,
    PlannedFile,
    find_duplicates,
    item_kind,
    plan_paths,
    source_changed,
    store_files,
)

if TYPE_CHECKING:
    from jockey_desktop.core.api import CancelToken
    from jockey_desktop.core.ports import Handle, Runner
    from jockey_desktop.core.storage import Repository

log = logging.getLogger(__name__)

#: Files sent at the same time.
MAX_TRANSFERS = 2
#: States in which a file still has bytes to send.
_TRANSFER_STATES = frozenset({UploadState.QUEUED, UploadState.UPLOADING})
_DONE_STATES = frozenset({UploadState.READY, UploadState.FAILED, UploadState.CANCELLED})


@dataclass(frozen=True)
class UploadTimings:
    """How often the queue looks again (seconds, except ``tick_ms``); tests shorten them.

    The API's guides poll an asset about every 5 s and an item about every 10 s (indexing
    takes minutes): the first poll comes soon, later ones back off up to the ``*_most``.
    """

    tick_ms: int = 250
    asset_first: float = 2.0
    asset_most: float = 5.0
    item_first: float = 3.0
    item_most: float = 30.0
    #: A 429 without Retry-After waits this long.
    rate_limit_wait: float = 30.0


@dataclass(frozen=True)
class FileProgress:
    """Where one upload stands right now (what the queue view draws)."""

    sent: int
    total: int | None
    speed: float | None
    seconds_left: float | None
    #: Seconds until a rate-limited upload is sent again, or None.
    waiting: float | None = None
    #: The store item's own status while indexing (``queued``, ``processing``…), or None.
    item_status: str | None = None
    #: The server a row of another server waits for ("sandbox" or its base URL), or None.
    waiting_for: str | None = None


@dataclass(frozen=True)
class QueueProgress:
    """The whole queue's progress: per-file entries and the totals of what is under way."""

    files: dict[int, FileProgress]
    sent: int
    total: int
    speed: float | None
    seconds_left: float | None
    transferring: int
    waiting: int
    indexing: int

    @property
    def busy(self) -> bool:
        """True while anything is sent, waits to be sent or is being processed."""
        return bool(self.transferring or self.waiting or self.indexing)


@dataclass(frozen=True)
class BatchOutcome:
    """A batch (one drop, one dialog) that has finished: how many are ready, how many not."""

    batch_id: str
    store_id: str
    ready: int
    failed: int
    names: tuple[str, ...]


class UploadPrompts(Protocol):
    """The questions only the user can answer."""

    def confirm_duplicates(self, store_name: str, names: Sequence[str]) -> bool | None:
        """Some files seem to be in the store already: True = add them anyway, False = skip
        them (add the others), None = add nothing."""
        ...


class _AddAll:
    """Prompts for a queue nobody watches (tests, scripts): duplicates are added."""

    def confirm_duplicates(self, store_name: str, names: Sequence[str]) -> bool | None:
        return True


@dataclass
class _Live:
    """What the GUI thread knows about one row beyond what is saved."""

    meter: TransferMeter = field(default_factory=TransferMeter)
    progress: TransferProgress | None = None
    job: Handle | None = None
    cancel: CancelToken | None = None
    #: Why the running job was cancelled: "pause", "cancel" or "stop" (nothing is saved).
    stop_reason: str | None = None
    #: Writes submitted and not yet returned: the row waits for them.
    writes: int = 0
    #: Monotonic time before which nothing is tried (a poll's delay, a 429's wait).
    next_at: float = 0.0
    delay: float | None = None
    rate_limited: bool = False
    #: Transfer slots the running transfer holds (a lone multipart file takes two).
    slots: int = 1
    item_status: str | None = None
    #: Adding must first look for an item already made from the asset (after a crash or
    #: an answer that never came).
    check_existing_item: bool = False

    @property
    def busy(self) -> bool:
        return self.job is not None or self.writes > 0


class UploadsController(QObject):
    """The upload queue (see the module docstring). Create on the GUI thread."""

    #: Rows that changed (``list[Upload]``).
    sig_rows_changed = Signal(object)
    #: Every row, after a (re)load (``list[Upload]``).
    sig_rows_reset = Signal(object)
    #: Ids of rows removed from the queue (``list[int]``).
    sig_rows_removed = Signal(object)
    #: A ``QueueProgress`` every tick while anything is under way (and once when it stops).
    sig_progress = Signal(object)
    #: An item of this store changed (added, indexing status, ready, failed).
    sig_store_changed = Signal(str)
    #: A batch finished: a ``BatchOutcome``.
    sig_batch_finished = Signal(object)
    #: Files that will not be uploaded, in one text (a sentence per file).
    sig_refused = Signal(str)
    #: Something to say in passing ("3 videos queued…").
    sig_notice = Signal(str)
    #: A problem the user must see (the queue halted, a URL refused).
    sig_error = Signal(str)

    # From upload workers (queued to the GUI thread).
    _sig_session = Signal(int, object)
    _sig_chunk = Signal(int, int, str, int)

    def __init__(self, repo: Repository, storage: Runner, network: Runner, *,
                 prompts: UploadPrompts | None = None,
                 timings: UploadTimings | None = None,
                 store_name: Callable[[str], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._repo = repo
        self._storage = storage
        self._network = network
        self.prompts: UploadPrompts = prompts or _AddAll()
        self.timings = timings or UploadTimings()
        self._store_name = store_name or (lambda store_id: store_id)
        #: Files above this many bytes take the multipart flow (None: the API's limit).
        self.direct_above: int | None = None
        self._transfers = TaskRunner(MAX_TRANSFERS, name="uploads", parent=self)
        self._client: Any = None
        #: The identity of the client's server (see ``set_client``); None without one.
        self._server: str | None = None
        self._rows: dict[int, Upload] = {}
        self._live: dict[int, _Live] = {}
        self._batches_open: set[str] = set()
        self._halted: str | None = None
        self._shut_down = False
        self._handles: list[Handle] = []
        self._timer = QTimer(self)
        self._timer.setInterval(self.timings.tick_ms)
        self._timer.timeout.connect(self._tick)
        self._sig_session.connect(self._on_session)
        self._sig_chunk.connect(self._on_chunk)

    # ------------------------------------------------------------------ reading

    def uploads(self) -> list[Upload]:
        """Every row of the queue, oldest first."""
        return [self._rows[i] for i in sorted(self._rows)]

    def upload(self, upload_id: int) -> Upload | None:
        """One row, or None."""
        return self._rows.get(upload_id)

    def halted(self) -> str | None:
        """Why the queue stopped by itself (a sentence), or None while it runs."""
        return self._halted

    def progress(self) -> QueueProgress:
        """The queue's progress now."""
        return self._snapshot(time.monotonic())

    def transfers_idle(self) -> bool:
        """True when no transfer runs on a worker (one stopped by a switch of server may
        still be sending its last report; what it reports reaches the queue afterwards)."""
        return self._transfers.drain(0)

    # ------------------------------------------------------------------ the client

    def server(self) -> str | None:
        """The server the queue works for now ("sandbox" or a normalised base URL)."""
        return self._server

    def waiting_for(self, row: Upload) -> str | None:
        """The server ``row`` waits for when it belongs to another one (None when the queue
        may work on it)."""
        if row.server is None or row.server == self._server:
            return None
        return row.server

    @Slot(object)
    def set_client(self, client: Any, server: str | None = None) -> None:
        """Use another client: work under way stops (it resumes with the new one), the
        queue is read again and continues on the rows of the client's server.

        ``server`` names that server ("sandbox" for the in-process sandbox, whose port
        changes every run); by default the client's normalised ``base_url``."""
        from jockey_desktop.core.api.urls import server_identity

        self._stop_all("stop")
        self._client = client
        base_url = getattr(client, "base_url", None)
        self._server = server or (server_identity(base_url) if client is not None
                                  and isinstance(base_url, str) else None)
        if client is None or self._shut_down:
            self._timer.stop()
            if not self._shut_down:
                self.sig_progress.emit(self._snapshot(time.monotonic()))
            return
        self.reload()

    @Slot(object)
    def on_changes(self, changes: Changes) -> None:
        """The database was replaced (a restore, a damaged file moved aside): the queue is
        read again from the new file, and what was under way continues from there."""
        if not changes.everything or self._client is None or self._shut_down:
            return
        self._stop_all("stop")
        self.reload()

    def reload(self) -> None:
        """Read the queue from storage (short; the reader connection) and continue it."""
        rows = self._repo.list_uploads()
        self._rows = {row.id: row for row in rows}
        for row in rows:
            live = self._live.setdefault(row.id, _Live())
            if row.state is UploadState.ADDING:
                live.check_existing_item = True
            if row.active:
                self._batches_open.add(row.batch_id)
            if row.server is None and self._server is not None and self._client is not None:
                # Saved before servers were recorded, or queued while disconnected: it
                # belongs to the first server it runs with (and waits for that one later).
                self._save(row.id, server=self._server)
        self.sig_rows_reset.emit(self.uploads())
        self._pump()
        self.sig_progress.emit(self._snapshot(time.monotonic()))

    # ------------------------------------------------------------------ adding

    def add_paths(self, store_id: str, paths: Iterable[str]) -> None:
        """Queue dropped or chosen files and folders for ``store_id``: checked on a worker,
        duplicates asked about, then saved and started."""
        paths = [str(p) for p in paths]
        if not paths or self._shut_down:
            return
        self._handles.append(self._network.submit(
            plan_paths, paths, direct_above=self.direct_above,
            on_success=partial(self._planned, store_id),
            on_error=self._report_failure))

    def _planned(self, store_id: str, plan: Plan) -> None:
        def tell_left_out() -> None:
            # Said after "N files queued" (the views keep only the last message): the
            # files left out and why must be what stays on screen.
            if plan.truncated:
                self.sig_notice.emit("The folder holds too many files; only the first ones "
                                     "were added.")
            if plan.refused:
                self.sig_refused.emit(" ".join(r.reason for r in plan.refused))

        if not plan.files:
            tell_left_out()
            return
        client = self._client
        if client is None:
            self._check_duplicates(store_id, plan.files, [], tell_left_out)
            return
        self._handles.append(self._network.submit(
            client.list_items, store_id,
            on_success=lambda items: self._check_duplicates(
                store_id, plan.files, store_files(items), tell_left_out),
            on_error=lambda _error: self._check_duplicates(store_id, plan.files, [],
                                                           tell_left_out)))

    def _check_duplicates(self, store_id: str, files: Sequence[PlannedFile],
                          in_store: list[KnownFile],
                          then: Callable[[], None] | None = None) -> None:
        """Ask about files already in the store or the queue, then queue the others;
        ``then`` runs once the outcome has been said (or when nothing is queued)."""
        queued = [KnownFile(r.filename, r.size) for r in self._rows.values()
                  if r.store_id == store_id
                  and r.state not in (UploadState.FAILED, UploadState.CANCELLED)]
        duplicates = find_duplicates(files, [*in_store, *queued])
        chosen = list(files)
        if duplicates:
            answer = self.prompts.confirm_duplicates(self._store_name(store_id),
                                                     [d.filename for d in duplicates])
            if answer is False:
                skip = set(duplicates)
                chosen = [f for f in files if f not in skip]
            elif answer is None:
                chosen = []
        if not chosen:
            if then is not None:
                then()
            return
        rows = [planned.as_row(store_id) for planned in chosen]
        self._queue_rows(store_id, rows, then)

    def add_url(self, store_id: str, url: str, filename: str | None = None) -> str | None:
        """Queue a public http(s) URL the server fetches; returns why it was refused (a
        sentence) or None."""
        from jockey_desktop.core.web_sources import web_url

        url = url.strip()
        if web_url(url) is None:
            return "Only http:// and https:// addresses can be added."
        name = (filename or "").strip() or Path(url.split("?", 1)[0].rstrip("/")).name or url
        kind = item_kind(name) or "video"
        self._queue_rows(store_id, [{"store_id": store_id, "method": UploadMethod.URL.value,
                                     "url": url, "filename": name, "asset_type": kind}])
        return None

    def _queue_rows(self, store_id: str, rows: list[dict[str, Any]],
                    then: Callable[[], None] | None = None) -> None:
        if self._server is not None:
            # The store (and so the upload) exists on this server only.
            rows = [{**row, "server": self._server} for row in rows]

        def queued(added: list[Upload]) -> None:
            for row in added:
                self._rows[row.id] = row
                self._live.setdefault(row.id, _Live())
                self._batches_open.add(row.batch_id)
            self.sig_rows_changed.emit(list(added))
            noun = "file" if len(added) == 1 else "files"
            self.sig_notice.emit(f"{len(added)} {noun} queued for "
                                 f"“{self._store_name(store_id)}”.")
            if then is not None:
                then()
            self._pump()

        def not_queued(error: BaseException) -> None:
            if then is not None:
                then()
            self._storage_failed(error)  # the last word: nothing of this drop was queued

        self._storage.submit(self._repo.add_uploads, rows, on_success=queued,
                             on_error=not_queued)

    # ------------------------------------------------------------------ user actions

    def pause(self, upload_ids: Iterable[int]) -> None:
        """Stop sending these files (what a multipart upload sent is kept)."""
        for upload_id in upload_ids:
            row, live = self._rows.get(upload_id), self._live.get(upload_id)
            if row is None or live is None or row.state not in _TRANSFER_STATES:
                continue
            if live.job is not None:
                self._stop(upload_id, "pause")
            elif not live.busy:
                self._save(upload_id, state=UploadState.PAUSED)

    def resume(self, upload_ids: Iterable[int]) -> None:
        """Queue paused files again."""
        for upload_id in upload_ids:
            row, live = self._rows.get(upload_id), self._live.get(upload_id)
            if row is not None and live is not None and row.state is UploadState.PAUSED \
                    and not live.busy:
                live.next_at = 0.0
                self._save(upload_id, state=UploadState.QUEUED, error_message=None)

    def cancel(self, upload_ids: Iterable[int]) -> None:
        """Give these files up (they stay in the list as cancelled)."""
        for upload_id in upload_ids:
            row, live = self._rows.get(upload_id), self._live.get(upload_id)
            if row is None or live is None or not row.active:
                continue
            if live.job is not None:
                self._stop(upload_id, "cancel")
            else:
                self._save(upload_id, state=UploadState.CANCELLED)

    def retry(self, upload_ids: Iterable[int]) -> None:
        """Start failed or cancelled files again from the step that failed."""
        for upload_id in upload_ids:
            row, live = self._rows.get(upload_id), self._live.get(upload_id)
            if row is None or live is None or row.active or live.busy \
                    or row.state is UploadState.READY:
                continue
            live.next_at, live.delay, live.rate_limited = 0.0, None, False
            self._batches_open.add(row.batch_id)
            if row.item_id and self._client is not None and self.waiting_for(row) is None:
                # The failed item stays in the store as failed: remove it before adding the
                # video again (best effort; a leftover failed item is harmless).
                self._handles.append(self._network.submit(
                    self._client.delete_item, row.store_id, row.item_id,
                    on_error=lambda error: log.info("removing a failed item: %s", error)))
            live.check_existing_item = not row.item_id
            live.writes += 1
            self._storage.submit(_retry_fields, self._repo, row,
                                 on_success=self._saved_write, on_error=self._save_failed)

    def remove(self, upload_ids: Iterable[int]) -> None:
        """Take finished rows out of the list (active ones are cancelled first)."""
        ids = []
        for upload_id in upload_ids:
            row = self._rows.get(upload_id)
            if row is None:
                continue
            if row.active:
                self.cancel([upload_id])
                continue
            ids.append(upload_id)
        for upload_id in ids:
            self._storage.submit(self._repo.delete_upload, upload_id,
                                 on_success=partial(self._removed, upload_id),
                                 on_error=self._storage_failed)

    def clear_finished(self) -> None:
        """Remove the ready and cancelled rows (failed ones stay until dealt with)."""
        self.remove([r.id for r in self._rows.values()
                     if r.state in (UploadState.READY, UploadState.CANCELLED)])

    def pause_all(self) -> None:
        """Pause every file still to be sent."""
        self.pause([r.id for r in self._rows.values() if r.state in _TRANSFER_STATES])

    def resume_all(self) -> None:
        """Resume every paused file, and the queue itself after it halted."""
        if self._halted is not None:
            self._halted = None
            if self._client is not None:
                self.reload()
        self.resume([r.id for r in self._rows.values() if r.state is UploadState.PAUSED])

    def shutdown(self) -> None:
        """Stop every transfer and poll (rows keep their saved step: the next start resumes
        them). Bounded: cancelled uploads return within about a second."""
        if self._shut_down:
            return
        self._shut_down = True
        self._timer.stop()
        self._stop_all("stop")
        for handle in self._handles:
            handle.cancel()
        self._transfers.shutdown(1500)

    # ------------------------------------------------------------------ the scheduler

    def _pump(self) -> None:
        """Start whatever may start now; keep the timer running while anything is alive."""
        if self._shut_down:
            return
        now = time.monotonic()
        self._handles = [h for h in self._handles if not getattr(h, "done", False)]
        if self._client is not None and self._halted is None:
            sending = sum(live.slots for i, live in self._live.items()
                          if live.job is not None and self._rows.get(i) is not None
                          and self._rows[i].state in _TRANSFER_STATES)
            # Uploads cut short by a quit or crash go first, then the queue in order.
            order = sorted(self._rows.values(),
                           key=lambda r: (r.state is not UploadState.UPLOADING, r.id))
            # Rows of another server are left alone: they wait for it.
            order = [r for r in order if self.waiting_for(r) is None]
            waiting = [r for r in order if r.state in _TRANSFER_STATES and r.active
                       and not self._live.setdefault(r.id, _Live()).busy
                       and now >= self._live[r.id].next_at]
            for row in order:
                live = self._live.setdefault(row.id, _Live())
                if live.busy or now < live.next_at or not row.active:
                    continue
                if row.state in _TRANSFER_STATES:
                    if sending < MAX_TRANSFERS:
                        # A lone multipart file gets both slots: two of its chunks travel at
                        # once (one is on the wire while the server stores the other).
                        alone = len(waiting) == 1 and sending == 0
                        live.slots = MAX_TRANSFERS if alone and \
                            row.method is UploadMethod.MULTIPART else 1
                        sending += live.slots
                        self._start_transfer(row, live)
                elif row.state is UploadState.PROCESSING:
                    self._start_job(row, live, self._client.get_asset, row.asset_id,
                                    on_success=self._asset_polled)
                elif row.state is UploadState.ADDING:
                    self._start_job(row, live, _add_item, self._client, row,
                                    live.check_existing_item, on_success=self._item_added)
                elif row.state is UploadState.INDEXING:
                    self._start_job(row, live, self._client.get_item, row.store_id,
                                    row.item_id, on_success=self._item_polled)
        alive = any(r.active and r.state is not UploadState.PAUSED
                    and self.waiting_for(r) is None for r in self._rows.values())
        if alive and not self._timer.isActive():
            self._timer.start(self.timings.tick_ms)
        elif not alive and self._timer.isActive():
            self._timer.stop()
            self.sig_progress.emit(self._snapshot(now))

    @Slot()
    def _tick(self) -> None:
        now = time.monotonic()
        self.sig_progress.emit(self._snapshot(now))
        self._pump()

    def _snapshot(self, now: float) -> QueueProgress:
        files: dict[int, FileProgress] = {}
        sent_total = size_total = 0
        speed_total = 0.0
        remaining = 0
        transferring = waiting = indexing = 0
        for row in self._rows.values():
            if not row.active:
                continue
            live = self._live.get(row.id) or _Live()
            size = row.size
            elsewhere = self.waiting_for(row)
            if elsewhere is not None:
                # Not under way here: shown as waiting for its server, left out of the totals.
                kept = row.bytes_done if row.method is UploadMethod.MULTIPART else 0
                files[row.id] = FileProgress(kept, size, None, None, waiting_for=elsewhere)
                continue
            if row.state in _TRANSFER_STATES or row.state is UploadState.PAUSED:
                if live.progress is not None and live.job is not None:
                    sent = live.progress.sent
                    live.meter.sample(now, sent)
                    transferring += 1
                else:
                    sent = row.bytes_done if row.method is UploadMethod.MULTIPART else 0
                    waiting += row.state is not UploadState.PAUSED
                speed = live.meter.speed() if live.job is not None else None
                left = (live.meter.seconds_left((size or 0) - sent)
                        if speed and size is not None else None)
                wait = (live.next_at - now) if live.rate_limited and live.next_at > now \
                    else None
                files[row.id] = FileProgress(sent, size, speed, left, wait)
                if speed:
                    speed_total += speed
                if size is not None:
                    remaining += max(0, size - sent)
            else:
                indexing += 1
                sent = size or 0
                files[row.id] = FileProgress(sent, size, None, None,
                                             item_status=live.item_status)
            if size is not None:
                sent_total += min(sent, size)
                size_total += size
        left_total = remaining / speed_total if speed_total > 0 else None
        return QueueProgress(files, sent_total, size_total, speed_total or None, left_total,
                             transferring, waiting, indexing)

    # ------------------------------------------------------------------ steps

    def _start_job(self, row: Upload, live: _Live, fn: Callable[..., Any], *args: Any,
                   on_success: Callable[[Upload, Any], None]) -> None:
        upload_id = row.id
        live.job = self._network.submit(
            fn, *args, on_success=partial(self._job_done, upload_id, on_success),
            on_error=partial(self._job_failed, upload_id))

    def _start_transfer(self, row: Upload, live: _Live) -> None:
        from jockey_desktop.core.api import CancelToken
        from jockey_desktop.core.upload_flow import send_direct, send_multipart

        upload_id = row.id
        cancel = CancelToken()
        progress = TransferProgress(row.bytes_done if row.method is UploadMethod.MULTIPART
                                    else 0)
        live.cancel, live.progress, live.stop_reason = cancel, progress, None
        live.rate_limited = False
        live.meter.reset()
        if row.state is not UploadState.UPLOADING:
            self._save(upload_id, state=UploadState.UPLOADING, error_message=None)
        client = self._client
        fn: Callable[..., Any]
        args: tuple[Any, ...]
        kwargs: dict[str, Any] = {}
        if row.method is UploadMethod.URL:
            fn, args = _create_from_url, (client, row)
        elif row.method is UploadMethod.MULTIPART:
            fn, args = send_multipart, (client, row, progress, cancel)
            kwargs = {"on_session": partial(self._sig_session.emit, upload_id),
                      "on_chunk": partial(self._sig_chunk.emit, upload_id),
                      "streams": live.slots}
        else:
            fn, args = send_direct, (client, row, progress, cancel)
        live.job = self._transfers.submit(
            fn, *args, canceller=cancel,
            on_success=partial(self._job_done, upload_id, self._transferred),
            on_error=partial(self._job_failed, upload_id), **kwargs)

    def _job_done(self, upload_id: int, then: Callable[[Upload, Any], None],
                  result: Any) -> None:
        live = self._live.get(upload_id)
        row = self._rows.get(upload_id)
        if live is None or row is None:
            return
        live.job = live.cancel = None
        then(row, result)
        self._pump()

    def _transferred(self, row: Upload, asset_id: str) -> None:
        live = self._live[row.id]
        live.progress = None
        live.delay = None
        live.next_at = time.monotonic() + self.timings.asset_first
        self._save(row.id, state=UploadState.PROCESSING, asset_id=asset_id,
                   bytes_done=row.size or row.bytes_done)

    def _asset_polled(self, row: Upload, asset: Any) -> None:
        live = self._live[row.id]
        if asset.status == "ready":
            live.delay, live.next_at = None, 0.0
            live.check_existing_item = False
            self._save(row.id, state=UploadState.ADDING)
        elif asset.status == "failed":
            reason = (asset.error_message or "").strip() or "it gives no reason"
            if reason[-1] not in ".!?":
                reason += "."
            # The asset is unusable: a retry uploads the file again.
            self._save(row.id, state=UploadState.FAILED, asset_id=None, upload_id=None,
                       chunks=[], bytes_done=0,
                       error_message=f"The server could not process “{row.filename}”: "
                                     f"{reason}")
        else:
            live.delay = next_delay(live.delay, self.timings.asset_first,
                                    self.timings.asset_most)
            live.next_at = time.monotonic() + live.delay

    def _item_added(self, row: Upload, item: Any) -> None:
        live = self._live[row.id]
        live.delay = None
        live.item_status = str(item.status or "queued")
        live.next_at = time.monotonic() + self.timings.item_first
        self._save(row.id, state=UploadState.INDEXING, item_id=str(item.id))
        self.sig_store_changed.emit(row.store_id)

    def _item_polled(self, row: Upload, item: Any) -> None:
        live = self._live[row.id]
        status = str(item.status or "")
        changed = status != live.item_status
        live.item_status = status
        if status == "ready":
            self._save(row.id, state=UploadState.READY, error_message=None)
        elif status == "failed":
            self._save(row.id, state=UploadState.FAILED,
                       error_message=f"The knowledge store could not index “{row.filename}” "
                                     "(the API gives no reason for a failed item). Retry "
                                     "adds it again.")
        else:
            live.delay = next_delay(live.delay, self.timings.item_first,
                                    self.timings.item_most)
            live.next_at = time.monotonic() + live.delay
            if changed:
                self.sig_store_changed.emit(row.store_id)

    def _job_failed(self, upload_id: int, error: BaseException) -> None:
        from jockey_desktop.core import api

        live = self._live.get(upload_id)
        row = self._rows.get(upload_id)
        if live is None or row is None:
            return
        reason, live.stop_reason = live.stop_reason, None
        live.job = live.cancel = None
        live.progress = None
        now = time.monotonic()
        if isinstance(error, api.RequestCancelledError) and reason is not None:
            if reason == "pause":
                self._save(upload_id, state=UploadState.PAUSED)
            elif reason == "cancel":
                self._save(upload_id, state=UploadState.CANCELLED)
        elif isinstance(error, api.RateLimitedError):
            # Not sent (the server said so): wait as long as it asked, then try again.
            wait = error.retry_after or self.timings.rate_limit_wait
            live.rate_limited = True
            live.next_at = now + wait
            log.info("upload %s rate limited; waiting %.0f s", upload_id, wait)
        elif row.state in (UploadState.PROCESSING, UploadState.INDEXING) and isinstance(
                error, (api.NetworkError, api.RequestTimedOutError, api.ServerError,
                        api.RateLimitedError)):
            # A poll that did not get through: the work goes on server-side; look again.
            live.delay = next_delay(live.delay, 5.0, 60.0)
            live.next_at = now + live.delay
        else:
            self._fail(row, error)
        self._pump()

    def _fail(self, row: Upload, error: BaseException) -> None:
        from jockey_desktop.core import api

        log.info("upload %s failed at %s: %s", row.id, row.state.value, type(error).__name__)
        resumable = row.method is UploadMethod.MULTIPART and row.state in _TRANSFER_STATES
        text = describe_upload_error(error, filename=row.filename, resumable=resumable)
        fields: dict[str, Any] = {"state": UploadState.FAILED, "error_message": text}
        if isinstance(error, api.UploadSourceChangedError | api.UploadNotFoundError):
            fields.update(upload_id=None, chunks=[], bytes_done=0)
        if row.state is UploadState.ADDING:
            # Whether the item was made is unknown after a failure without an answer.
            self._live[row.id].check_existing_item = True
        if isinstance(error, api.AssetNotFoundError):
            fields.update(asset_id=None, upload_id=None, chunks=[], bytes_done=0,
                          error_message=f"The server no longer has the uploaded file "
                                        f"“{row.filename}”. Retry sends it again.")
        self._save(row.id, **fields)

    # ------------------------------------------------------------------ from the workers

    @Slot(int, object)
    def _on_session(self, upload_id: int, session: MultipartSession) -> None:
        if self._shut_down:
            return
        self._save(upload_id, upload_id=session.upload_id, asset_id=session.asset_id,
                   chunk_size=session.chunk_size, total_chunks=session.total_chunks,
                   upload_headers=session.upload_headers, chunks=[])

    @Slot(int, int, str, int)
    def _on_chunk(self, upload_id: int, index: int, etag: str, size: int) -> None:
        live = self._live.get(upload_id)
        if live is None or self._shut_down:
            return  # after quit: the server's own record is read back at the next start
        live.writes += 1
        self._storage.submit(self._repo.record_chunk, upload_id, index, etag, size,
                             on_success=self._saved_write, on_error=self._save_failed)

    # ------------------------------------------------------------------ saving

    def _save(self, row_id: int, /, **fields: Any) -> None:
        """Write a row's fields on the storage runner; the row waits until it is saved."""
        live = self._live.setdefault(row_id, _Live())
        live.writes += 1
        self._storage.submit(self._repo.update_upload, row_id, **fields,
                             on_success=self._saved_write, on_error=self._save_failed)

    def _saved_write(self, upload: Upload) -> None:
        live = self._live.setdefault(upload.id, _Live())
        live.writes = max(0, live.writes - 1)
        before = self._rows.get(upload.id)
        self._rows[upload.id] = upload
        self.sig_rows_changed.emit([upload])
        if before is not None and before.state is not upload.state:
            if upload.state in (UploadState.READY, UploadState.FAILED) and upload.item_id:
                self.sig_store_changed.emit(upload.store_id)
            if upload.state in _DONE_STATES:
                live.meter.reset()
                self._check_batch(upload.batch_id)
        self._pump()

    def _save_failed(self, error: BaseException) -> None:
        # Which write failed is not known here; every row waits for a reload instead.
        for live in self._live.values():
            live.writes = 0
        self._halt(str(error) or "The upload queue could not be saved.")

    def _storage_failed(self, error: BaseException) -> None:
        self._halt(str(error) or "The upload queue could not be saved.")

    def _halt(self, reason: str) -> None:
        """Stop the queue after a write failed: what is saved stays as it is."""
        if self._halted is not None:
            return
        log.warning("upload queue halted: %s", reason)
        self._halted = reason
        self._stop_all("stop")
        self.sig_error.emit(f"{reason} Uploads are paused; they continue when you resume "
                            "them.")

    def _removed(self, upload_id: int, _result: object = None) -> None:
        self._rows.pop(upload_id, None)
        self._live.pop(upload_id, None)
        self.sig_rows_removed.emit([upload_id])

    def _report_failure(self, error: BaseException) -> None:
        self.sig_error.emit(f"The files could not be checked ({type(error).__name__}).")

    def _check_batch(self, batch_id: str) -> None:
        if batch_id not in self._batches_open:
            return
        rows = [r for r in self._rows.values() if r.batch_id == batch_id]
        if any(r.active for r in rows):
            return
        self._batches_open.discard(batch_id)
        ready = [r for r in rows if r.state is UploadState.READY]
        failed = [r for r in rows if r.state is UploadState.FAILED]
        if ready or failed:
            self.sig_batch_finished.emit(BatchOutcome(
                batch_id, rows[0].store_id, len(ready), len(failed),
                tuple(r.filename for r in rows if r.state is not UploadState.CANCELLED)))

    # ------------------------------------------------------------------ stopping

    def _stop(self, upload_id: int, reason: str) -> None:
        live = self._live.get(upload_id)
        if live is None or live.job is None:
            return
        live.stop_reason = reason
        if live.cancel is not None:
            live.cancel.cancel()  # the worker ends with RequestCancelledError
        else:
            # A poll or a short call: its outcome is dropped; say what the user asked.
            live.job.cancel()
            live.job = None
            if reason == "cancel":
                self._save(upload_id, state=UploadState.CANCELLED)

    def _stop_all(self, reason: str) -> None:
        for upload_id, live in list(self._live.items()):
            if live.job is None:
                continue
            if reason == "stop":
                # Nothing is saved: the row keeps its step and continues later.
                live.job.cancel()
                if live.cancel is not None:
                    live.cancel.cancel()
                live.job = live.cancel = None
                live.progress = None
            else:
                self._stop(upload_id, reason)


def _create_from_url(client: Any, row: Upload) -> str:
    """Ask the server to fetch a URL (it is not sent twice: not retried after it may have
    been received)."""
    asset = client.create_asset_from_url(row.url or "", filename=row.filename or None)
    return str(asset.id)


def _add_item(client: Any, row: Upload, check_existing: bool) -> Any:
    """Add the asset to the store (``asset_type`` explicit), unless the store already has an
    item made from it (an add whose answer was lost)."""
    from jockey_desktop.core.upload_flow import find_item_for_asset

    if check_existing and row.asset_id:
        existing = find_item_for_asset(client, row.store_id, row.asset_id)
        if existing is not None:
            return existing
    kind = row.asset_type if row.asset_type in ("video", "image") else "video"
    return client.add_item(row.store_id, row.asset_id, asset_type=kind)


def _retry_fields(repo: Repository, row: Upload) -> Upload:
    """Put a failed or cancelled row back at the step to try again (storage runner: it looks
    at the file on disk)."""
    if row.item_id:
        return repo.update_upload(row.id, state=UploadState.ADDING, item_id=None,
                                  error_message=None)
    transfer_done = row.asset_id is not None and (
        row.method is not UploadMethod.MULTIPART
        or (row.size is not None and row.bytes_done >= row.size))
    if transfer_done:
        return repo.update_upload(row.id, state=UploadState.PROCESSING, error_message=None)
    fields: dict[str, Any] = {"state": UploadState.QUEUED, "error_message": None}
    if row.method is not UploadMethod.URL and source_changed(row.path, row.size,
                                                              row.mtime_ns):
        # The file changed: upload it as it is now, from the start.
        try:
            info = Path(row.path).stat()
        except OSError as exc:
            return repo.update_upload(
                row.id, state=UploadState.FAILED,
                error_message=f"“{row.filename}” cannot be read any more "
                              f"({exc.strerror or exc}).")
        fields.update(size=info.st_size, mtime_ns=info.st_mtime_ns, upload_id=None,
                      asset_id=None, chunks=[], bytes_done=0)
    return repo.update_upload(row.id, **fields)


__all__ = [
    "MAX_TRANSFERS",
    "BatchOutcome",
    "FileProgress",
    "QueueProgress",
    "UploadPrompts",
    "UploadTimings",
    "UploadsController",
]
