"""Starting the app: one instance per data dir, the log file, refusing a too-new database."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.app import AppOptions, JockeyDesktop
from tests.helpers.app import close_desktop, new_conversation

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

ROOT = Path(__file__).resolve().parents[2]


def create(data_dir: Path, **options: Any) -> JockeyDesktop | None:
    options.setdefault("sandbox", True)
    options.setdefault("sandbox_pace", "fast")
    options.setdefault("interactive", False)
    options.setdefault("freeze_gc", False)  # many apps in one process
    return JockeyDesktop.create(AppOptions(data_dir=str(data_dir), **options),
                                QApplication.instance())


def test_a_second_instance_brings_the_first_forward(qtbot: Any, tmp_path: Path) -> None:
    first = create(tmp_path / "data")
    assert first is not None
    try:
        first.start(show=True)
        activated: list[bool] = []
        first.guard.sig_activate_requested.connect(lambda: activated.append(True))
        second = create(tmp_path / "data")
        assert second is None
        assert JockeyDesktop.last_start_failure == "already-running"
        qtbot.waitUntil(lambda: bool(activated), timeout=3000)
        # Another data dir is another instance.
        other = create(tmp_path / "other")
        assert other is not None
        close_desktop(other)
    finally:
        close_desktop(first)
    # After the first quits, the data dir is free again.
    again = create(tmp_path / "data")
    assert again is not None
    close_desktop(again)


def test_a_second_launch_from_the_command_line_exits_cleanly(
    qtbot: Any, tmp_path: Path
) -> None:
    first = create(tmp_path / "data")
    assert first is not None
    try:
        first.start(show=True)
        activated: list[bool] = []
        first.guard.sig_activate_requested.connect(lambda: activated.append(True))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        child = subprocess.Popen(
            [sys.executable, "-m", "jockey_desktop", "--sandbox", "--data-dir",
             str(tmp_path / "data")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        qtbot.waitUntil(lambda: child.poll() is not None, timeout=20_000)
        _out, err = child.communicate()
        assert child.returncode == 0
        assert "already running" in err
        qtbot.waitUntil(lambda: bool(activated), timeout=3000)
    finally:
        close_desktop(first)


def test_the_log_file_is_in_the_data_dir_and_never_holds_the_key(
    qtbot: Any, tmp_path: Path
) -> None:
    from jockey_desktop.core.secrets import ApiKeyStore
    from jockey_desktop.sandbox import Pace, SandboxServer

    secret = "tlk_test_secret_4242"
    server = SandboxServer(api_key=secret, state_dir=tmp_path / "sb", pace=Pace.instant())
    server.start()
    ApiKeyStore().set(secret)
    desktop = create(tmp_path / "data", sandbox=False, api_base=server.base_url)
    assert desktop is not None
    try:
        desktop.start(show=True)
        qtbot.waitUntil(lambda: bool(desktop.stores.stores())
                        and not desktop.stores.is_loading(), timeout=10_000)
        store = desktop.stores.first_ready_store()
        desktop.window.store_picker.select_store(store.id)
        conversation_id = new_conversation(qtbot, desktop)
        desktop.window.chat_pane.sig_send_requested.emit("What are the main themes?")
        qtbot.waitUntil(lambda: not desktop.chat.is_busy(conversation_id), timeout=10_000)
        # Even if some code logged the key by mistake, the file gets it redacted.
        logging.getLogger("test").warning("oops, the key is %s", secret)
    finally:
        close_desktop(desktop)
        server.stop()
    log_file = tmp_path / "data" / "logs" / "jockey-desktop.log"
    text = log_file.read_text(encoding="utf-8")
    assert "starting; data dir" in text and "POST /responses -> 200" in text
    assert "oops, the key is [redacted]" in text
    for path in (tmp_path / "data").rglob("*"):  # nor any other file the app wrote
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "conversations.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = db.read_bytes()
    assert create(data) is None
    assert JockeyDesktop.last_start_failure == "database"
    assert db.read_bytes() == before
    err = capsys.readouterr().err
    assert "newer version" in err and str(db) in err
    assert err.count("left untouched") == 1  # said once, not twice
    # The data dir stays usable by the newer app: our lock was released.
    assert not (data / "jockey-desktop.lock").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_quits_through_the_normal_shutdown(tmp_path: Path) -> None:
    import signal
    import time

    data = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-m", "jockey_desktop", "--sandbox", "--data-dir", str(data)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log_file = data / "logs" / "jockey-desktop.log"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and child.poll() is None:
            if log_file.exists() and "GET /knowledge-stores ->" in log_file.read_text():
                break
            time.sleep(0.05)
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGTERM)
        # A generous limit against a hang (shutdown is bounded well under 2 s; a loaded CI
        # machine must not turn that into a timing test).
        child.wait(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == 0
    assert "shutting down" in log_file.read_text()
    assert not (data / "jockey-desktop.lock").exists()
