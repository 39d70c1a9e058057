"""Tests for jockey_desktop.concurrency on a real thread pool (pytest-qt)."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from jockey_desktop.concurrency import (
    GuiThreadGarbageCollector,
    StreamTask,
    TaskHandle,
    TaskRunner,
    create_storage_runner,
)

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """Collects callback calls and the thread each ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.on_gui_thread: list[bool] = []

    def _note(self, kind: str, value: object) -> None:
        self.on_gui_thread.append(QThread.currentThread() is QApplication.instance().thread())
        self.calls.append((kind, value))

    def success(self, value: object) -> None:
        self._note("ok", value)

    def error(self, exc: object) -> None:
        self._note("error", exc)


class FakeCancelToken:
    """Stands in for core.api.CancelToken: anything with cancel()."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def cancel(self) -> None:
        self.event.set()


@pytest.fixture
def runner(qapp: QApplication) -> Iterator[TaskRunner]:
    r = TaskRunner(max_threads=4, name="test")
    yield r
    r.shutdown(5000)
    r.deleteLater()


def test_results_arrive_on_the_gui_thread(runner: TaskRunner, qtbot: QtBot) -> None:
    rec = Recorder()
    worker_thread: list[bool] = []

    def work(a: int, b: int, *, scale: int) -> int:
        worker_thread.append(QThread.currentThread() is QApplication.instance().thread())
        return (a + b) * scale

    handle = runner.submit(work, 2, 3, scale=10, on_success=rec.success, on_error=rec.error)
    assert isinstance(handle, TaskHandle) and handle.request_id > 0
    assert rec.calls == [], "delivery is never synchronous"
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert rec.calls == [("ok", 50)]
    assert rec.on_gui_thread == [True]
    assert worker_thread == [False]
    assert runner.pending_count == 0


def test_lambda_callbacks_also_run_on_the_gui_thread(runner: TaskRunner, qtbot: QtBot) -> None:
    seen: list[bool] = []
    runner.submit(lambda: 1, on_success=lambda _v: seen.append(
        QThread.currentThread() is QApplication.instance().thread()))
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [True]


def test_errors_are_delivered_as_the_exception_object(runner: TaskRunner, qtbot: QtBot) -> None:
    rec = Recorder()
    boom = ValueError("boom")

    def fail() -> None:
        raise boom

    with qtbot.waitSignal(runner.sig_idle, timeout=5000):
        runner.submit(fail, on_success=rec.success, on_error=rec.error)
    assert rec.calls == [("error", boom)]
    assert rec.calls[0][1].__traceback__ is not None
    assert rec.on_gui_thread == [True]


def test_unhandled_errors_are_logged(runner: TaskRunner, qtbot: QtBot,
                                     caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise KeyError("missing")

    with caplog.at_level(logging.ERROR, logger="jockey_desktop.concurrency"), \
            qtbot.waitSignal(runner.sig_idle, timeout=5000):
        runner.submit(fail)
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_cancel_drops_a_late_result(runner: TaskRunner, qtbot: QtBot) -> None:
    rec = Recorder()
    release = threading.Event()
    started = threading.Event()
    token = FakeCancelToken()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "late"

    handle = runner.submit(slow, on_success=rec.success, on_error=rec.error, canceller=token)
    assert started.wait(5)
    handle.cancel()
    assert handle.cancelled and token.event.is_set()
    release.set()
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert rec.calls == []
    # Another job submitted afterwards still gets through: the runner is fine.
    with qtbot.waitSignal(runner.sig_idle, timeout=5000):
        runner.submit(lambda: "next", on_success=rec.success)
    assert rec.calls == [("ok", "next")]


def test_cancel_after_delivery_is_a_no_op(runner: TaskRunner, qtbot: QtBot) -> None:
    token = FakeCancelToken()
    handle = runner.submit(lambda: 1, canceller=token)
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    handle.cancel()
    assert not handle.cancelled and not token.event.is_set()


def test_a_job_cancelled_before_it_starts_never_runs(qapp: QApplication, qtbot: QtBot) -> None:
    runner = create_storage_runner()
    try:
        assert runner.max_threads == 1
        gate = threading.Event()
        ran: list[str] = []
        runner.submit(gate.wait, 10)
        queued = runner.submit(ran.append, "ran")
        queued.cancel()
        gate.set()
        qtbot.waitUntil(lambda: queued.done, timeout=5000)
        assert ran == []
    finally:
        runner.shutdown(5000)


def test_storage_runner_runs_jobs_in_submission_order(qapp: QApplication, qtbot: QtBot) -> None:
    runner = create_storage_runner()
    try:
        order: list[int] = []
        delivered: list[int] = []
        for i in range(20):
            # A tiny sleep inside the job makes any overlap or reordering very likely to show.
            runner.submit(lambda i=i: (time.sleep(0.001), order.append(i), i)[-1],
                          on_success=delivered.append)
        qtbot.waitUntil(lambda: len(delivered) == 20, timeout=10_000)
        assert order == list(range(20))
        assert delivered == list(range(20))
    finally:
        runner.shutdown(5000)


def test_submit_from_a_worker_thread_is_refused(runner: TaskRunner, qtbot: QtBot) -> None:
    rec = Recorder()
    with qtbot.waitSignal(runner.sig_idle, timeout=5000):
        runner.submit(runner.submit, lambda: 1, on_success=rec.success, on_error=rec.error)
    assert len(rec.calls) == 1 and rec.calls[0][0] == "error"
    assert isinstance(rec.calls[0][1], RuntimeError)


def test_shutdown_with_a_blocked_task_returns_within_its_bound(qapp: QApplication,
                                                               qtbot: QtBot) -> None:
    runner = TaskRunner(max_threads=2, name="blocked")
    rec = Recorder()
    unblock = threading.Event()
    started = threading.Event()
    token = FakeCancelToken()

    def stuck() -> str:
        started.set()
        unblock.wait(30)  # like a requests read that cannot be aborted
        return "too late"

    handle = runner.submit(stuck, on_success=rec.success, canceller=token)
    assert started.wait(5)
    begun = time.monotonic()
    assert runner.shutdown(timeout_ms=300) is False
    elapsed = time.monotonic() - begun
    assert 0.25 <= elapsed < 1.5, elapsed
    assert token.event.is_set() and handle.cancelled
    assert runner.is_shut_down
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(lambda: 1)
    # Let the thread finish; its late result must not be delivered.
    unblock.set()
    qtbot.wait(50)
    qapp.processEvents()
    assert rec.calls == []
    assert runner.shutdown(100) is False  # idempotent; the abandoned pool is not touched


def test_shutdown_when_idle_is_quick_and_true(runner: TaskRunner, qtbot: QtBot) -> None:
    with qtbot.waitSignal(runner.sig_idle, timeout=5000):
        runner.submit(lambda: 1)
    begun = time.monotonic()
    assert runner.shutdown(5000) is True
    assert time.monotonic() - begun < 2.0


def test_process_exits_although_a_worker_is_still_blocked() -> None:
    script = textwrap.dedent("""
        import sys, threading
        from PySide6.QtCore import QCoreApplication
        from jockey_desktop.concurrency import TaskRunner
        app = QCoreApplication([])
        runner = TaskRunner(2)
        started = threading.Event()
        runner.submit(lambda: (started.set(), threading.Event().wait(60)))
        started.wait(5)
        print(runner.shutdown(200), flush=True)
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    begun = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    # Without abandoning the pool, ~QThreadPool would wait the full 60 s at exit.
    assert time.monotonic() - begun < 15


# --- streams -------------------------------------------------------------------------------


def test_stream_items_arrive_in_order_on_the_gui_thread(runner: TaskRunner,
                                                        qtbot: QtBot) -> None:
    items: list[object] = []
    threads: list[bool] = []
    events: list[str] = []

    def produce(n: int, *, prefix: str) -> Iterator[str]:
        for i in range(n):
            yield f"{prefix}{i}"

    task = runner.stream(produce, 200, prefix="d")
    assert isinstance(task, StreamTask) and not task.is_running
    # A lambda on a public signal still runs on the GUI thread (re-emitted from our slot).
    task.sig_item.connect(lambda item: (items.append(item), threads.append(
        QThread.currentThread() is QApplication.instance().thread())))
    task.sig_finished.connect(lambda: events.append("finished"))
    task.sig_failed.connect(lambda exc: events.append(f"failed {exc}"))
    task.sig_stopped.connect(lambda: events.append("stopped"))
    task.start()
    assert task.is_running
    qtbot.waitUntil(lambda: "stopped" in events, timeout=10_000)
    assert items == [f"d{i}" for i in range(200)]
    assert all(threads)
    assert events == ["finished", "stopped"]
    assert not task.is_running
    assert runner.stream_count == 0
    with pytest.raises(RuntimeError):
        task.start()


def test_stream_failure_delivers_items_then_the_exception(runner: TaskRunner,
                                                          qtbot: QtBot) -> None:
    boom = ConnectionError("cut")
    items: list[object] = []
    failures: list[object] = []
    finished: list[bool] = []

    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise boom

    task = runner.stream(produce)
    task.sig_item.connect(items.append)
    task.sig_failed.connect(failures.append)
    task.sig_finished.connect(lambda: finished.append(True))
    with qtbot.waitSignal(task.sig_stopped, timeout=5000):
        task.start()
    assert items == [1, 2]
    assert failures == [boom]
    assert finished == []


def test_stream_cancel_stops_delivery_and_tells_the_work(runner: TaskRunner,
                                                         qtbot: QtBot) -> None:
    token = FakeCancelToken()
    produced = threading.Event()
    closed = threading.Event()
    items: list[object] = []
    terminal: list[str] = []

    def produce() -> Iterator[int]:
        try:
            yield 0
            produced.set()
            # Like a silent server: only the token wakes us up; then one late item.
            token.event.wait(10)
            yield 99
            yield 100
        finally:
            closed.set()

    task = runner.stream(produce, canceller=token)
    task.sig_item.connect(items.append)
    task.sig_finished.connect(lambda: terminal.append("finished"))
    task.sig_failed.connect(lambda exc: terminal.append("failed"))
    task.start()
    qtbot.waitUntil(lambda: items == [0], timeout=5000)
    assert produced.wait(5)
    with qtbot.waitSignal(task.sig_stopped, timeout=5000):
        task.cancel()
        assert task.is_cancelled and token.event.is_set()
    assert items == [0]
    assert terminal == []
    assert closed.is_set(), "the generator's cleanup must run in the worker"


def test_cancelling_an_unstarted_stream_stops_it(runner: TaskRunner, qtbot: QtBot) -> None:
    ran: list[bool] = []
    task = runner.stream(lambda: iter([ran.append(True)]))
    with qtbot.waitSignal(task.sig_stopped, timeout=1000):
        task.cancel()
    assert runner.stream_count == 0
    with pytest.raises(RuntimeError):
        task.start()
    assert ran == []


def test_shutdown_cancels_running_streams(qapp: QApplication, qtbot: QtBot) -> None:
    runner = TaskRunner(max_threads=2, name="streams")
    token = FakeCancelToken()

    def produce() -> Iterator[int]:
        yield 1
        token.event.wait(10)

    task = runner.stream(produce, canceller=token)
    got: list[object] = []
    task.sig_item.connect(got.append)
    task.start()
    qtbot.waitUntil(lambda: got == [1], timeout=5000)
    begun = time.monotonic()
    assert runner.shutdown(5000) is True
    assert time.monotonic() - begun < 2.0
    assert token.event.is_set() and task.is_cancelled


def test_standalone_stream_task_keeps_itself_alive(qapp: QApplication, qtbot: QtBot) -> None:
    runner = TaskRunner(max_threads=1, name="standalone")
    try:
        results: list[object] = []
        stopped: list[bool] = []
        task = StreamTask(lambda n: range(n), (5,), pool=runner.pool)
        task.sig_item.connect(results.append)
        task.sig_stopped.connect(lambda: stopped.append(True))
        task.start()
        del task  # the caller forgets it; it must still finish and report
        qtbot.waitUntil(lambda: bool(stopped), timeout=5000)
        assert results == [0, 1, 2, 3, 4]
    finally:
        runner.shutdown(5000)


def test_items_already_queued_are_dropped_after_cancel(runner: TaskRunner, qtbot: QtBot) -> None:
    token = FakeCancelToken()
    all_queued = threading.Event()

    def produce() -> Iterator[int]:
        yield from range(50)
        all_queued.set()
        token.event.wait(10)

    task = runner.stream(produce, canceller=token)
    items: list[object] = []

    def on_item(item: object) -> None:
        items.append(item)
        task.cancel()  # the user pressed Stop while 49 more items wait in the event queue

    task.sig_item.connect(on_item)
    task.start()
    assert all_queued.wait(5)  # block without processing events: every item is queued now
    with qtbot.waitSignal(task.sig_stopped, timeout=5000):
        pass
    assert items == [0]


# --- garbage collection on the GUI thread -------------------------------------------------


def test_cyclic_garbage_made_in_a_worker_is_collected_on_the_gui_thread(
        qapp: QApplication, qtbot: QtBot) -> None:
    collector = GuiThreadGarbageCollector(interval_ms=20)
    collector.start()
    try:
        assert not gc.isenabled() and collector.is_running
        freed_on_gui: list[bool] = []

        class Cycle:
            def __init__(self) -> None:
                self.me = self

            def __del__(self) -> None:
                freed_on_gui.append(QThread.currentThread() is qapp.thread())

        def make_garbage() -> None:
            # Surviving cycles push the young generation past its threshold (700 by default),
            # which is exactly when Python would collect, in this thread, without the collector.
            for _ in range(1000):
                Cycle()

        worker = threading.Thread(target=make_garbage)
        worker.start()
        worker.join(10)
        assert freed_on_gui == [], "nothing may be collected in the worker thread"
        qtbot.waitUntil(lambda: len(freed_on_gui) == 1000, timeout=5000)
        assert all(freed_on_gui)
    finally:
        collector.stop()


def test_collector_gives_automatic_collection_back(qapp: QApplication) -> None:
    was_enabled = gc.isenabled()  # the GUI package's own collector has it off
    gc.enable()
    try:
        collector = GuiThreadGarbageCollector()
        collector.start()
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled() and not collector.is_running
    finally:
        if not was_enabled:
            gc.disable()


def test_full_collections_are_spaced_out(qapp: QApplication) -> None:
    was_enabled = gc.isenabled()
    now = [0.0]
    collector = GuiThreadGarbageCollector(full_interval_s=30.0, clock=lambda: now[0])
    full: list[int] = []

    def note_full(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(note_full)
    try:
        for minute in range(4):  # two ticks per minute, each with an old generation "due"
            for second in (0.0, 20.0):
                now[0] = minute * 60 + second
                gc.collect(1)  # what a busy app does between ticks...
                for _ in range(gc.get_threshold()[2] + 1):
                    gc.collect(1)  # ...until the oldest generation is over its threshold
                collector.collect_due()
        # One full collection per 30 s at most: at 0 s the interval since creation is not
        # over; at 60, 120 and 180 s it is, at 20, 80, ... it is not.
        assert len(full) == 3
    finally:
        gc.callbacks.remove(note_full)
        if was_enabled:
            gc.enable()
