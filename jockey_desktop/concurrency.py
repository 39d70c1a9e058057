"""Run blocking work on a thread pool and deliver the outcome on the GUI thread.

The threading rules this module enforces so callers cannot get them wrong:

* Workers never touch widgets or models. A worker reports by emitting a private signal of an
  object living in the GUI thread, connected with ``QueuedConnection`` to a ``@Slot`` of that
  object; the caller's ``on_success`` / ``on_error`` callables (or a ``StreamTask``'s public
  signals) are invoked from that slot, so even a lambda callback runs on the GUI thread and
  never re-entrantly inside ``submit``.
* Every job carries a request id. ``TaskHandle.cancel()`` marks it; a job not yet started
  never runs and a result that arrives after cancel is dropped, never delivered. ``requests``
  cannot be interrupted, so "cancel" cannot stop running code: pass ``canceller=`` (anything
  with ``.cancel()``, e.g. ``core.api.CancelToken``) to also tell the work itself.
* Runnables are owned by the pool; the caller's callbacks and stream objects stay referenced
  until their outcome has been handled.
* ``shutdown(timeout_ms)`` cancels everything and waits with a bound; it never terminates a
  thread. A pool whose threads are still busy after the bound is abandoned (never destroyed),
  because ``QThreadPool``'s destructor would otherwise wait for them without limit at exit.

Use one ``TaskRunner`` (about 4 threads) for network and keyring calls, a second from
:func:`create_storage_runner` (one thread, so jobs run in submission order) for slow SQLite
work such as search, export and backups, and :meth:`TaskRunner.stream` for long streamed
replies.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal, Slot

__all__ = [
    "Cancellable",
    "GuiThreadGarbageCollector",
    "StreamTask",
    "TaskHandle",
    "TaskRunner",
    "create_storage_runner",
]

log = logging.getLogger(__name__)

_request_ids = itertools.count(1)  # next() on a count is atomic under the GIL

_OK = "ok"
_ERROR = "error"
_SKIPPED = "skipped"  # cancelled before it started: fn never ran

# Pools whose threads outlived shutdown() (see TaskRunner._abandon_pool).
_abandoned_pools: list[QThreadPool] = []


def _release_abandoned_pools_at_exit() -> None:
    """Keep PySide's exit-time cleanup from joining threads that may never return.

    PySide destroys every QObject Python owns when the interpreter exits, and
    ``~QThreadPool`` waits for its threads without a bound. Parented to the QThread object
    of its thread (owned by Qt and never deleted), a pool is no longer Python's to destroy.
    This runs from ``atexit`` before PySide's own handler (handlers run last-in, first-out
    and ours is registered later). Only at exit: during the run, a QThread wrapper in a
    parent/child relation with Python objects ends up in the garbage collector's hands,
    which crashed Qt in our tests.
    """
    for pool in _abandoned_pools:
        with contextlib.suppress(RuntimeError):  # already destroyed: nothing left to join
            # QThread.currentThread() (a static call), never pool.thread(): see
            # TaskRunner._check_usable. atexit runs on the main thread, where pools live.
            pool.setParent(QThread.currentThread())


class Cancellable(Protocol):
    """Anything with a thread-safe ``cancel()``, such as ``core.api.CancelToken``."""

    def cancel(self) -> None:
        """Ask the running work to stop as soon as it can."""


def _cancel_quietly(canceller: Cancellable | None) -> None:
    if canceller is None:
        return
    try:
        canceller.cancel()
    except Exception:  # a broken canceller must not stop the rest of a shutdown
        log.exception("canceller.cancel() raised")


class TaskHandle:
    """The caller's side of one submitted job; safe to use from any thread."""

    __slots__ = ("_cancelled", "_canceller", "_done", "_request_id")

    def __init__(self, request_id: int, canceller: Cancellable | None = None) -> None:
        self._request_id = request_id
        self._canceller = canceller
        self._cancelled = threading.Event()
        self._done = threading.Event()

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "done" if self.done else "pending"
        return f"<TaskHandle #{self._request_id} {state}>"

    @property
    def request_id(self) -> int:
        """Unique id of this job within the process."""
        return self._request_id

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called before the outcome was delivered."""
        return self._cancelled.is_set()

    @property
    def done(self) -> bool:
        """True once the outcome was delivered or dropped on the GUI thread."""
        return self._done.is_set()

    def cancel(self) -> None:
        """Drop this job's outcome; skip it if not started; tell the canceller, if any.

        Does nothing once the outcome has been delivered.
        """
        if self._done.is_set() or self._cancelled.is_set():
            return
        self._cancelled.set()
        _cancel_quietly(self._canceller)

    def _mark_done(self) -> None:
        self._done.set()


class _Job(QRunnable):
    """Runs ``fn`` in a pool thread and reports through ``report`` (a signal's emit)."""

    def __init__(self, report: Callable[[object, object, object], None], handle: TaskHandle,
                 fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: Mapping[str, Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._report: Callable[[object, object, object], None] | None = report
        self._handle = handle
        self._call: Callable[[], Any] | None = partial(fn, *args, **kwargs)

    def run(self) -> None:
        """Pool-thread entry point; never raises."""
        call, self._call = self._call, None
        kind: str
        payload: object
        if call is None or self._handle.cancelled:
            kind, payload = _SKIPPED, None
        else:
            try:
                kind, payload = _OK, call()
            except BaseException as exc:  # a worker thread must never die silently
                kind, payload = _ERROR, exc
        del call  # release the caller's arguments in this thread, not at GC time
        report, self._report = self._report, None
        if report is None:
            return
        try:
            report(self._handle.request_id, kind, payload)
        except RuntimeError:
            # The runner was destroyed while we ran: nobody is left to tell.
            log.debug("Dropped the outcome of job #%s: runner gone", self._handle.request_id)
        # An exception's traceback holds this frame: drop it from the locals so that
        # exception -> traceback -> frame -> exception is not a cycle left for the GC.
        payload = None


class TaskRunner(QObject):
    """A ``QThreadPool`` whose job outcomes come back on the thread the runner lives in.

    Create it on the GUI thread and call :meth:`submit`, :meth:`stream` and :meth:`shutdown`
    from there. ``sig_idle()`` fires when the last pending job's outcome was handled.
    """

    sig_idle = Signal()

    # (request id, kind, payload) from a pool thread to _on_job_done on the GUI thread.
    _sig_job_done = Signal(object, object, object)

    def __init__(self, max_threads: int = 4, *, name: str = "tasks",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if max_threads < 1:
            raise ValueError("max_threads must be at least 1")
        self.setObjectName(f"TaskRunner[{name}]")
        self._name = name
        # The thread it lives in, as an ident: see _check_usable for why not self.thread().
        self._home_thread = threading.get_ident()
        self._pool = QThreadPool(self)
        self._pool.setObjectName(f"{name}-pool")
        self._pool.setMaxThreadCount(max_threads)
        self._pending: dict[int, tuple[TaskHandle, Callable[[Any], Any] | None,
                                       Callable[[BaseException], Any] | None]] = {}
        self._streams: set[StreamTask] = set()
        self._shut_down = False
        self._abandoned = False
        self._max_threads = max_threads
        self._sig_job_done.connect(self._on_job_done, Qt.ConnectionType.QueuedConnection)

    def __repr__(self) -> str:
        return f"<TaskRunner {self._name} pending={len(self._pending)}>"

    @property
    def name(self) -> str:
        """Label used in thread names and logs."""
        return self._name

    @property
    def max_threads(self) -> int:
        """Upper bound on concurrently running jobs."""
        return self._max_threads

    @property
    def pending_count(self) -> int:
        """Submitted jobs whose outcome has not been handled yet (streams not included)."""
        return len(self._pending)

    @property
    def stream_count(self) -> int:
        """Streams created by :meth:`stream` that have not stopped yet."""
        return len(self._streams)

    @property
    def is_shut_down(self) -> bool:
        """True after :meth:`shutdown`; no more work is accepted."""
        return self._shut_down

    @property
    def pool(self) -> QThreadPool:
        """The underlying pool (for a :class:`StreamTask` built by hand)."""
        return self._pool

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               on_success: Callable[[Any], Any] | None = None,
               on_error: Callable[[BaseException], Any] | None = None,
               canceller: Cancellable | None = None, **kwargs: Any) -> TaskHandle:
        """Run ``fn(*args, **kwargs)`` on the pool.

        ``on_success(result)`` or ``on_error(exception)`` is then called on the GUI thread,
        unless the returned handle was cancelled first. Without ``on_error`` the exception is
        logged. ``canceller.cancel()`` is called by ``handle.cancel()`` and by
        :meth:`shutdown`. Raises ``RuntimeError`` after shutdown or off the runner's thread.
        """
        self._check_usable()
        handle = TaskHandle(next(_request_ids), canceller)
        self._pending[handle.request_id] = (handle, on_success, on_error)
        self._pool.start(_Job(self._sig_job_done.emit, handle, fn, args, kwargs))
        return handle

    def stream(self, fn: Callable[..., Iterable[Any]], /, *args: Any,
               canceller: Cancellable | None = None, parent: QObject | None = None,
               **kwargs: Any) -> StreamTask:
        """A :class:`StreamTask` over ``fn(*args, **kwargs)`` on this pool; call ``.start()``.

        The runner keeps it referenced until it stops and cancels it on shutdown.
        """
        self._check_usable()
        task = StreamTask(fn, args, kwargs, pool=self._pool, canceller=canceller, parent=parent)
        self._streams.add(task)
        # sender() rather than a partial holding the task: a connection of the task's own
        # signal must not keep the task alive, or a parentless task would never be freed.
        task.sig_stopped.connect(self._on_stream_stopped)
        return task

    def cancel_all(self) -> None:
        """Cancel every pending job and every running stream of this runner."""
        for handle, _success, _error in list(self._pending.values()):
            handle.cancel()
        for task in list(self._streams):
            task.cancel()

    def drain(self, timeout_ms: int = 3000) -> bool:
        """Wait at most ``timeout_ms`` for every submitted job to have run, cancelling none.

        For the last writes before the database closes: their outcomes are delivered only if
        the event loop runs again (usually it does not, the app is quitting). True when the
        pool is idle (also after :meth:`shutdown`, which leaves nothing to wait for).
        """
        if self._abandoned:
            return False
        return bool(self._pool.waitForDone(max(0, timeout_ms)))

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Cancel everything, then wait at most ``timeout_ms`` for running jobs to return.

        Returns True when every pool thread is idle. Never terminates a thread: on timeout the
        busy pool is abandoned (kept alive, never joined) so the app can still exit, and any
        late outcome is dropped. Idempotent.
        """
        if self._abandoned:
            return False
        self._shut_down = True
        self.cancel_all()
        finished = bool(self._pool.waitForDone(max(0, timeout_ms)))
        if not finished:
            log.warning("%s: %d job(s) still running after %d ms; abandoning its threads",
                        self.objectName(), self._pool.activeThreadCount(), timeout_ms)
            self._abandon_pool()
        # Outcomes still queued for the event loop belong to cancelled jobs: drop them now.
        for handle, _success, _error in self._pending.values():
            handle._mark_done()
        self._pending.clear()
        return finished

    # --- internals ------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._shut_down:
            raise RuntimeError(f"{self.objectName()} is shut down")
        # Never self.thread(): PySide's return-value heuristic makes the QThread wrapper a
        # Python "child" of the caller, and when that caller is then freed by the cyclic GC,
        # shiboken deletes the C++ main QThread itself (Qt later segfaults, e.g. loading an
        # icon plugin). The runner is never moved, so its creating thread is its thread.
        if threading.get_ident() != self._home_thread:
            raise RuntimeError(f"{self.objectName()} must be used from the thread it lives in")

    def _abandon_pool(self) -> None:
        self._abandoned = True
        pool = self._pool
        # Out of the runner's tree, so deleting the runner does not join the busy threads, and
        # referenced from a module list, so Python never collects it. At exit it is moved
        # under its thread's QThread object (see _release_abandoned_pools_at_exit).
        pool.setParent(None)
        if not _abandoned_pools:
            atexit.register(_release_abandoned_pools_at_exit)
        _abandoned_pools.append(pool)

    @Slot()
    def _on_stream_stopped(self) -> None:
        task = self.sender()
        if isinstance(task, StreamTask):
            self._streams.discard(task)

    @Slot(object, object, object)
    def _on_job_done(self, request_id: object, kind: object, payload: object) -> None:
        assert isinstance(request_id, int)
        entry = self._pending.pop(request_id, None)
        if entry is None:
            return  # dropped by shutdown()
        handle, on_success, on_error = entry
        handle._mark_done()
        try:
            if handle.cancelled or kind == _SKIPPED:
                return
            if kind == _OK:
                if on_success is not None:
                    on_success(payload)
            elif on_error is not None:
                assert isinstance(payload, BaseException)
                on_error(payload)
            else:
                assert isinstance(payload, BaseException)
                log.error("Unhandled error in background job #%s", request_id,
                          exc_info=(type(payload), payload, payload.__traceback__))
        finally:
            if not self._pending:
                self.sig_idle.emit()


class _StreamJob(QRunnable):
    """Pool-thread side of a :class:`StreamTask`."""

    def __init__(self, task: StreamTask, call: Callable[[], Iterable[Any]],
                 cancelled: threading.Event) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task: StreamTask | None = task
        self._call: Callable[[], Iterable[Any]] | None = call
        self._cancelled = cancelled

    def run(self) -> None:
        """Iterate and forward each item; never raises."""
        task, self._task = self._task, None
        call, self._call = self._call, None
        if task is None or call is None:
            return
        emit_item = task._sig_worker_item.emit
        emit_end = task._sig_worker_end.emit
        canceller = task._canceller
        kind: str = _OK
        payload: object = None
        del task  # only the bound emitters are needed; the task keeps itself alive
        task_gone = False
        try:
            if self._cancelled.is_set():
                kind = _SKIPPED
            else:
                iterator = iter(call())
                try:
                    for item in iterator:
                        if self._cancelled.is_set():
                            break
                        try:
                            emit_item(item)
                        except RuntimeError:  # the StreamTask was destroyed mid-stream
                            task_gone = True
                            break
                finally:
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()  # run the generator's cleanup (close the HTTP response)
        except BaseException as exc:
            kind, payload = _ERROR, exc
        del call
        if task_gone:
            _cancel_quietly(canceller)
            return
        try:
            emit_end(kind, payload)
        except RuntimeError:
            log.debug("Dropped the end of a stream: task gone")
        payload = None  # break the exception -> traceback -> frame cycle (see _Job.run)


class StreamTask(QObject):
    """Run an iterator-producing function on a pool and emit each item on the GUI thread.

    Signals, all emitted on the thread the task lives in, in this order:
    ``sig_item(object)`` per item, then exactly one of ``sig_finished()`` (iterator exhausted)
    or ``sig_failed(object)`` (the exception) — unless :meth:`cancel` was called, after which
    none of those three is emitted. ``sig_stopped()`` always comes last, once the worker has
    really returned (also after a cancel), so owners know when resources are free.
    """

    sig_item = Signal(object)
    sig_finished = Signal()
    sig_failed = Signal(object)
    sig_stopped = Signal()

    # Worker → GUI thread relays; public signals are re-emitted from our slots so that even a
    # lambda connected to them runs on the GUI thread, and nothing is emitted after cancel.
    _sig_worker_item = Signal(object)
    _sig_worker_end = Signal(object, object)

    def __init__(self, fn: Callable[..., Iterable[Any]], args: tuple[Any, ...] = (),
                 kwargs: Mapping[str, Any] | None = None, *, pool: QThreadPool,
                 canceller: Cancellable | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call: Callable[[], Iterable[Any]] | None = partial(fn, *args, **(kwargs or {}))
        self._pool = pool
        self._canceller = canceller
        self._cancelled = threading.Event()
        self._request_id = next(_request_ids)
        self._running = False
        self._keepalive: StreamTask | None = None
        self._sig_worker_item.connect(self._on_worker_item, Qt.ConnectionType.QueuedConnection)
        self._sig_worker_end.connect(self._on_worker_end, Qt.ConnectionType.QueuedConnection)

    def __repr__(self) -> str:
        return f"<StreamTask #{self._request_id} running={self._running}>"

    @property
    def request_id(self) -> int:
        """Unique id of this stream within the process."""
        return self._request_id

    @property
    def is_running(self) -> bool:
        """True from :meth:`start` until ``sig_stopped``."""
        return self._running

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def start(self) -> None:
        """Queue the work on the pool; a task runs at most once."""
        call, self._call = self._call, None
        if call is None:
            raise RuntimeError("a StreamTask can only be started once")
        self._running = True
        self._keepalive = self  # stay alive until the worker's end reaches the GUI thread
        self._pool.start(_StreamJob(self, call, self._cancelled))

    def cancel(self) -> None:
        """Stop delivering at once and ask the work to stop (``canceller.cancel()``)."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        _cancel_quietly(self._canceller)
        if self._call is not None:  # never started: no worker will report, so stop here
            self._call = None
            self.sig_stopped.emit()

    @Slot(object)
    def _on_worker_item(self, item: object) -> None:
        if not self._cancelled.is_set():
            self.sig_item.emit(item)

    @Slot(object, object)
    def _on_worker_end(self, kind: object, payload: object) -> None:
        self._running = False
        try:
            if not self._cancelled.is_set():
                if kind == _OK:
                    self.sig_finished.emit()
                elif kind == _ERROR:
                    self.sig_failed.emit(payload)
            self.sig_stopped.emit()
        finally:
            self._keepalive = None


def create_storage_runner(parent: QObject | None = None) -> TaskRunner:
    """A one-thread runner for slow SQLite work (search, export, backup), run in order."""
    return TaskRunner(max_threads=1, name="storage", parent=parent)


class GuiThreadGarbageCollector(QObject):
    """Run Python's cyclic garbage collector only on the GUI thread.

    Automatic collection runs in whichever thread happens to allocate when a threshold is
    crossed: a pool worker, a ``requests`` call, the sandbox's server threads. If the garbage
    then holds the last reference to a Qt wrapper, the C++ object is destroyed in that thread,
    which crashes Qt at random (seen here: segfaults "Garbage-collecting" in a server thread
    during the window tests, gone with this collector). So automatic collection is switched
    off and a timer on the GUI thread does the generational work Python would have done.
    Create it on the GUI thread right after the ``QApplication`` and call :meth:`start`.

    A full collection walks every object (tens of milliseconds with a big conversation list
    loaded), so it runs at most every ``full_interval_s`` — Python itself holds full
    collections back while few new objects have survived — and :meth:`freeze` takes what
    start-up built for good out of the collector's sight.
    """

    def __init__(self, interval_ms: int = 250, parent: QObject | None = None, *,
                 full_interval_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._full_interval_s = full_interval_s
        self._clock = clock
        self._last_full = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()
        self._running = False
        self._home_thread = threading.get_ident()  # not self.thread(): see TaskRunner

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._running

    def start(self) -> None:
        """Disable automatic collection and start collecting on this thread's timer."""
        if self._running:
            return
        if threading.get_ident() != self._home_thread:
            raise RuntimeError("start the collector from the thread it lives in")
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._running = True
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer and give collection back to Python (as it was before start)."""
        if not self._running:
            return
        self._timer.stop()
        self._running = False
        if self._was_enabled:
            gc.enable()

    @Slot()
    def collect_due(self) -> int:
        """Collect the generations whose thresholds are exceeded (the oldest at most every
        ``full_interval_s``); returns the objects found."""
        count0, count1, count2 = gc.get_count()
        threshold0, threshold1, threshold2 = gc.get_threshold()
        now = self._clock()
        # gc.collect(n) also collects every younger generation, as Python itself does.
        if count2 > threshold2 and now - self._last_full >= self._full_interval_s:
            self._last_full = now
            found = gc.collect(2)
        elif count1 > threshold1 or count2 > threshold2:
            found = gc.collect(1)
        elif count0 > threshold0:
            found = gc.collect(0)
        else:
            found = 0
        return found

    def freeze(self) -> None:
        """Move every object alive now (the window, the models, the loaded list) to the
        permanent generation: later full collections walk only what was made since.

        Call it once start-up has built what lives as long as the app (after the first
        paint). The young generations are collected first, so little garbage is frozen.
        """
        gc.collect(1)
        gc.freeze()
