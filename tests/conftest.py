"""Fixtures shared by every test folder.

Every path the app could write to is redirected into pytest's tmp dir, Qt runs offscreen,
and keyring gets an in-memory backend so no test touches the real OS keychain.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# With PYTHONDONTWRITEBYTECODE set (this machine sets it, to keep ``__pycache__`` out of
# source trees), every xdist worker recompiled the app and re-ran pytest's assertion rewriting
# of all ~150 test modules on every run (~6 s of CPU per worker), and every app child a test
# starts recompiled the app. Compiled code goes to a cache outside the tree instead, which
# honours the intent (nothing is written next to the sources) without paying for it each run.
# Set here, in the first module pytest imports from the tree, and in the environment, so the
# xdist workers and the children of tests start with it. Left alone when bytecode is written.
if sys.dont_write_bytecode and not sys.pycache_prefix:
    _PYCACHE = str(Path(tempfile.gettempdir()) / "jockey-desktop-tests-pycache")
    sys.pycache_prefix = _PYCACHE
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Python's cyclic garbage collector runs in whichever thread happens to allocate. If it runs in a
# worker thread and frees a cycle that holds a Qt widget, Qt deletes the widget off the GUI
# thread and the process crashes. The app therefore disables automatic collection and collects
# on the GUI thread (``concurrency.GuiThreadGarbageCollector``); the tests collect on the main
# thread after every test.
gc.disable()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core, at most 4. The GUI tests spend most of their time
    waiting (for a server, a timer, a paced stream, a child process), so more workers than
    cores overlap those waits: on 2 cores, measured back to back, three workers took
    110–112 s, four 82–90 s, five 87 s and six 107 s (more CPU lost to contention)."""
    return min(4, 2 * (os.cpu_count() or 1))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported by collection (Qt, hypothesis, the app) out of the collector's
    sight: a full collection then walks only what tests created since (microseconds instead of
    the ~0.1 s it took to walk PySide's objects after every test)."""
    gc.collect()
    gc.freeze()


#: A full collection slower than this means many long-lived objects have piled up since the
#: last freeze (modules imported by tests, caches, the QApplication's state): freeze them too.
_SLOW_COLLECTION_S = 0.01


def _delete_widgets_left_for_later() -> None:
    """Delete now what the test's teardown handed to ``deleteLater`` (pytest-qt's widgets, the
    desktops' windows). Posted outside any event loop, those deletions waited for the next
    test's first event loop, so each new desktop's theme (``QApplication.setStyleSheet``)
    re-polished the previous tests' windows too: up to 1,100 widgets, 0.5 s a desktop."""
    qt_core = sys.modules.get("PySide6.QtCore")
    if qt_core is None or qt_core.QCoreApplication.instance() is None:
        return  # no Qt in this test process yet: nothing can be waiting
    qt_core.QCoreApplication.sendPostedEvents(None, qt_core.QEvent.Type.DeferredDelete)


@pytest.fixture(autouse=True)
def _collect_garbage_on_main_thread() -> Iterator[None]:
    yield
    _delete_widgets_left_for_later()
    # Full, so a widget cycle promoted to an old generation during a long test is freed here
    # (with its timers) rather than during a later test. What survives it is reachable from
    # something long-lived; once such survivors make the collection slow, they are frozen,
    # so the next tests' collections walk only what those tests create.
    started = time.perf_counter()
    gc.collect()
    if time.perf_counter() - started > _SLOW_COLLECTION_S:
        gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's real data dir, API key and proxies."""
    monkeypatch.setenv("JOCKEY_DESKTOP_DATA_DIR", str(tmp_path / "appdata"))
    monkeypatch.delenv("TWELVELABS_API_KEY", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # The player adds loopback to the lower-case no_proxy for FFmpeg (ui/player/ffmpeg_env):
    # undone after each test, so no test inherits another's proxy exemptions.
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


class MemoryKeyring:
    """A keyring backend that keeps passwords in a dict (tests only)."""

    def __init__(self) -> None:
        import keyring.backend

        class _Backend(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def __init__(self) -> None:
                super().__init__()
                self.store: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.store.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.store[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                import keyring.errors

                if (service, username) not in self.store:
                    raise keyring.errors.PasswordDeleteError("not found")
                del self.store[(service, username)]

        self.backend = _Backend()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[object]:
    """Every test gets a fresh in-memory keyring; returns the backend (``.store`` is a dict)."""
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring().backend
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[object]:
    """A running sandbox server on loopback with instant pacing; yields the server."""
    from jockey_desktop.sandbox import Pace, SandboxServer

    server = SandboxServer(state_dir=tmp_path / "sandbox-state", pace=Pace.instant())
    server.start()
    try:
        yield server
    finally:
        server.stop()
