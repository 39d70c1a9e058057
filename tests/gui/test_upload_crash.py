"""``kill -9`` mid-upload loses nothing of the queue, and the next start finishes it.

The child process runs the real app on the sandbox, queues three videos (one large enough for
the multipart flow, its chunks slowed down) and is SIGKILLed once part of the large one is on
the server — no shutdown code runs. The parent reads the queue straight from the database,
then starts the app on the same data directory, as a user relaunches after a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.app import AppOptions, JockeyDesktop
from jockey_desktop.core.storage import open_repository
from jockey_desktop.core.storage.models import UploadMethod, UploadState
from jockey_desktop.sandbox import Fault
from tests.helpers.app import close_desktop
from tests.helpers.uploads import fast_timings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)"),
]

#: The sandbox's chunk size is 8 MiB: twelve chunks (sent two at a time, reported by four).
BIG = 92 * 1024 * 1024
DIRECT_ABOVE = 1024 * 1024

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication
    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.sandbox import Fault
    from tests.helpers.uploads import fast_timings, write_video

    app = QApplication([])
    d = JockeyDesktop.create(AppOptions(sandbox=True, data_dir=sys.argv[1],
                                        sandbox_pace="fast", interactive=False), app)
    d.start(show=True)
    uploads = d.store_feature.uploads
    uploads.timings = fast_timings()
    uploads.direct_above = int(sys.argv[3])

    def spin(condition, limit=30.0):
        end = time.monotonic() + limit
        while not condition():
            if time.monotonic() > end:
                sys.exit("timed out")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    spin(lambda: d.connection.client() is not None and d.stores.stores()
         and not d.stores.is_loading())
    d.connection.sandbox().faults.add(Fault.latency(0.4, path="/upload-chunks", times=None))
    store = d.connection.client().create_knowledge_store("Crash test")
    folder = Path(sys.argv[1]).parent / "videos"
    files = [write_video(folder, "small-1.mp4"), write_video(folder, "small-2.mp4"),
             write_video(folder, "big.mp4", size=int(sys.argv[2]))]
    uploads.add_paths(store.id, [str(f) for f in files])

    def big_partly_sent():
        rows = [r for r in d.repo.list_uploads() if r.filename == "big.mp4"]
        return rows and len(rows[0].chunks) >= 2

    spin(big_partly_sent)
    print(f"store {store.id}", flush=True)
    spin(lambda: False, limit=60)  # keep uploading until killed
    """
)


def test_kill_9_mid_upload_loses_nothing_and_the_next_start_finishes(
        qtbot: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(BIG), str(DIRECT_ABOVE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parents[2])
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("store "), (line, child.stderr.read() if child.stderr else "")
        store_id = line.split()[1]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()

    # Straight from the file: the whole queue is there, the large file with its session and
    # the chunks the server acknowledged.
    repo = open_repository(data_dir / "conversations.sqlite3", data_dir / "backups")
    try:
        rows = {r.filename: r for r in repo.list_uploads()}
    finally:
        repo.close()
    assert set(rows) == {"small-1.mp4", "small-2.mp4", "big.mp4"}
    big = rows["big.mp4"]
    assert big.method is UploadMethod.MULTIPART and big.state is UploadState.UPLOADING
    assert big.upload_id and big.asset_id and big.total_chunks == 12
    kept = len(big.chunks)
    assert 2 <= kept < 12 and big.bytes_done == kept * 8 * 1024 * 1024
    assert all(r.store_id == store_id for r in rows.values())
    # Queued for the in-process sandbox, whose port changes with each run, with the session's
    # own headers (the sandbox refuses a chunk PUT without its tag).
    assert all(r.server == "sandbox" for r in rows.values())
    tag = dict(big.upload_headers).get("x-sandbox-upload-tag")
    assert tag

    # Relaunch: the queue continues by itself and finishes, sending only what is missing.
    desktop = JockeyDesktop.create(
        AppOptions(sandbox=True, data_dir=str(data_dir), sandbox_pace="fast",
                   interactive=False, freeze_gc=False), QApplication.instance())
    assert desktop is not None
    try:
        uploads = desktop.store_feature.uploads
        uploads.timings = fast_timings()
        uploads.direct_above = DIRECT_ABOVE
        desktop.start(show=True)
        qtbot.waitUntil(lambda: desktop.connection.sandbox() is not None, timeout=10_000)
        counted = desktop.connection.sandbox().faults.add(
            Fault.latency(0.0, path="/upload-chunks", times=None))
        qtbot.waitUntil(lambda: len(uploads.uploads()) == 3 and all(
            r.state is UploadState.READY for r in uploads.uploads()), timeout=30_000)
        assert counted.fired <= 12 - kept
        # The same upload session went on (a new one would have sent every chunk again).
        resumed = next(r for r in uploads.uploads() if r.filename == "big.mp4")
        assert resumed.upload_id == big.upload_id and resumed.asset_id == big.asset_id
        assert dict(resumed.upload_headers)["x-sandbox-upload-tag"] == tag
        items = desktop.connection.client().list_items(store_id)
        assert sorted(i.filename or "" for i in items) == ["big.mp4", "small-1.mp4",
                                                           "small-2.mp4"]
        assert all(i.status == "ready" for i in items)
    finally:
        close_desktop(desktop)
