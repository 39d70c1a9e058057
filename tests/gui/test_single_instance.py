"""Tests for jockey_desktop.single_instance: one instance per data dir, activation, stale locks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from jockey_desktop.single_instance import SingleInstanceGuard, server_name_for_data_dir

ROOT = Path(__file__).resolve().parents[2]

# A second launch in its own process: try the lock, then either notify or report success.
_CHILD = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QCoreApplication
    from jockey_desktop.single_instance import SingleInstanceGuard
    app = QCoreApplication([])
    guard = SingleInstanceGuard(sys.argv[1], sys.argv[2])
    acquired = guard.try_acquire()
    if sys.argv[3] == "crash" and acquired:
        print("acquired", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    if acquired:
        print("acquired", guard.is_listening, flush=True)
        guard.release()
    else:
        print("refused", guard.notify_running_instance(), flush=True)
""")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "appdata"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def make_guard(data_dir: Path, qapp: object) -> Iterator[object]:
    """Factory for guards on ``data_dir``; releases all of them afterwards."""
    guards: list[SingleInstanceGuard] = []

    def make() -> SingleInstanceGuard:
        guard = SingleInstanceGuard(data_dir / "jockey-desktop.lock",
                                    server_name_for_data_dir(data_dir))
        guards.append(guard)
        return guard

    yield make
    for guard in guards:
        guard.release()


def _start_child(data_dir: Path, mode: str = "normal") -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(data_dir / "jockey-desktop.lock"),
         server_name_for_data_dir(data_dir), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _finish(qtbot: QtBot, child: subprocess.Popen[str]) -> tuple[int, str, str]:
    # Keep our event loop turning while the child runs: it talks to our local server.
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=30_000)
    out, err = child.communicate()
    return child.returncode, out.strip(), err


def test_server_name_is_stable_short_and_per_directory(tmp_path: Path) -> None:
    a = server_name_for_data_dir(tmp_path / "a")
    assert a == server_name_for_data_dir(tmp_path / "a" / ".." / "a")
    assert a != server_name_for_data_dir(tmp_path / "b")
    assert len(a) < 64 and str(tmp_path) not in a


def test_second_guard_is_refused_and_activates_the_first(make_guard, qtbot: QtBot) -> None:
    first, second = make_guard(), make_guard()
    assert first.try_acquire()
    assert first.is_acquired and first.is_listening
    assert first.try_acquire(), "re-acquiring a held lock is a no-op"

    assert not second.try_acquire()
    assert not second.is_acquired
    assert "already running" in second.lock_error_text()
    assert second.holder_pid() == os.getpid()

    with qtbot.waitSignal(first.sig_activate_requested, timeout=5000):
        assert second.notify_running_instance()


def test_released_lock_can_be_taken(make_guard) -> None:
    first, second = make_guard(), make_guard()
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert not first.is_acquired
    assert second.try_acquire()
    assert second.is_listening


def test_notify_without_a_running_instance_fails_fast(make_guard) -> None:
    started = time.monotonic()
    assert not make_guard().notify_running_instance(timeout_ms=2000)
    assert time.monotonic() - started < 2.0


def test_junk_on_the_channel_is_ignored(make_guard, qtbot: QtBot) -> None:
    from PySide6.QtNetwork import QLocalSocket

    first = make_guard()
    assert first.try_acquire()
    emitted: list[bool] = []
    first.sig_activate_requested.connect(lambda: emitted.append(True))
    client = QLocalSocket()
    client.connectToServer(first.server_name)
    assert client.waitForConnected(2000)
    client.write(b"x" * 5000)  # no newline, over the limit: dropped
    client.flush()
    qtbot.waitUntil(lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState,
                    timeout=5000)
    assert emitted == []


@pytest.mark.slow
def test_second_process_is_refused_then_succeeds(make_guard, data_dir: Path,
                                                 qtbot: QtBot) -> None:
    first = make_guard()
    assert first.try_acquire()
    with qtbot.waitSignal(first.sig_activate_requested, timeout=30_000):
        code, out, err = _finish(qtbot, _start_child(data_dir))
    assert (code, out) == (0, "refused True"), err

    first.release()
    code, out, err = _finish(qtbot, _start_child(data_dir))
    assert (code, out) == (0, "acquired True"), err


@pytest.mark.slow
def test_lock_of_a_killed_process_is_taken_over(make_guard, data_dir: Path,
                                                qtbot: QtBot) -> None:
    code, out, _err = _finish(qtbot, _start_child(data_dir, "crash"))
    assert code == -signal.SIGKILL and out == "acquired"
    lock = data_dir / "jockey-desktop.lock"
    assert lock.exists(), "the crash should have left its lock file behind"

    guard = make_guard()
    assert guard.try_acquire()
    assert guard.holder_pid() == os.getpid()
    # The crashed child also left its socket file behind: we still get the channel.
    assert guard.is_listening
    other = make_guard()
    with qtbot.waitSignal(guard.sig_activate_requested, timeout=5000):
        assert other.notify_running_instance()


def test_lock_file_naming_a_dead_pid_is_taken_over(make_guard, data_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # The format QLockFile writes: pid, application name, host name.
    (data_dir / "jockey-desktop.lock").write_text(
        f"{dead.pid}\n{Path(sys.executable).name}\n{socket.gethostname()}\n")
    assert make_guard().try_acquire()


def test_unreadable_lock_is_taken_over_only_when_old(make_guard, data_dir: Path) -> None:
    lock = data_dir / "jockey-desktop.lock"
    lock.write_bytes(b"")  # what a crash between create and write leaves
    guard = make_guard()
    assert not guard.try_acquire(), "a fresh empty lock may be an instance still starting"
    old = time.time() - 60
    os.utime(lock, (old, old))
    assert guard.try_acquire()
    assert guard.holder_pid() == os.getpid()


def test_readable_live_lock_is_never_stolen_even_when_old(make_guard, data_dir: Path) -> None:
    first = make_guard()
    assert first.try_acquire()
    old = time.time() - 3600
    os.utime(data_dir / "jockey-desktop.lock", (old, old))
    # Qt's default 30 s stale time would age a live lock out where the native lock that
    # protects it on local Linux file systems is missing (NFS, some SMB mounts): it is off.
    second = make_guard()
    assert second._lock.staleLockTime() == 0
    assert not second.try_acquire()
