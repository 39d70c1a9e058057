"""A crash mid-stream, then a restart: the question and partial answer are kept, retryable.

The child process runs the real app (composition root, sandbox streaming slowly, SQLite) and
is SIGKILLed while an answer streams — no shutdown code runs. The parent then starts the app
on the same data directory, the way a user relaunches after a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.app import AppOptions, JockeyDesktop
from jockey_desktop.core.errors import INTERRUPTED_TEXT
from jockey_desktop.core.storage.export import export_markdown
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.presentation.status import status_line
from tests.helpers.app import close_desktop, current

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
]

QUESTION = "What are the main themes in these videos?"

CHILD = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication
    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.core.storage.models import Role
    from jockey_desktop.sandbox import Pace

    app = QApplication([])
    pace = Pace(first_token_delay=0.0, delta_interval=0.05, words_per_delta=1)
    d = JockeyDesktop.create(AppOptions(sandbox=True, data_dir=sys.argv[1], sandbox_pace=pace,
                                        interactive=False), app)
    d.start(show=True)

    def spin(condition, limit=15.0):
        end = time.monotonic() + limit
        while not condition():
            if time.monotonic() > end:
                sys.exit("timed out")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    spin(lambda: d.stores.stores() and not d.stores.is_loading())
    d.window.store_picker.select_store(d.stores.first_ready_store().id)
    opened = []
    d.workspace.new_conversation(then=opened.append)
    spin(lambda: bool(opened))
    cid = opened[0]
    d.window.chat_pane.composer.set_text(sys.argv[2])
    d.window.chat_pane.composer.submit()

    def partial_on_disk():
        rows = [m for m in d.repo.list_messages(cid) if m.role == Role.ASSISTANT]
        return rows and len(rows[0].text) > 20

    spin(partial_on_disk)  # the ~1 s flush has written part of the answer
    print(f"partial {cid}", flush=True)
    spin(lambda: False, limit=60)  # keep streaming until killed
    """
)


def test_crash_mid_stream_then_restart_shows_an_interrupted_retryable_turn(
    qtbot: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), QUESTION],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("partial "), (line, child.stderr.read() if child.stderr else "")
        conversation_id = int(line.split()[1])
        time.sleep(0.3)  # let more text arrive after the flush: it must not matter
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()

    # Relaunch on the same data dir: the crashed instance's lock is taken over.
    desktop = JockeyDesktop.create(
        AppOptions(sandbox=True, data_dir=str(data_dir), sandbox_pace="fast",
                   interactive=False, freeze_gc=False), QApplication.instance())
    assert desktop is not None
    try:
        desktop.start(show=True)
        report = desktop.repo.open_report
        assert report.interrupted_messages == 1
        # The conversation that was open is reopened, showing the kept turn as interrupted.
        assert current(desktop) == conversation_id
        shown = list(desktop.window.chat_pane.chat_view.message_model.messages())
        assert [m.role for m in shown] == [Role.USER, Role.ASSISTANT]
        assert shown[0].text == QUESTION
        assert shown[1].status == MessageStatus.INTERRUPTED
        assert len(shown[1].text) > 20
        partial = shown[1].text
        assert desktop.repo.get_conversation(conversation_id).session_id  # saved at created
        # Settled, not left pending (issue 10.9): the question with its answer, the row's
        # line says what happened and offers Retry, the sidebar no longer says "answering",
        # the status bar says it can be retried, and the export reads sensibly.
        assert shown[0].status == MessageStatus.INTERRUPTED
        line = status_line(shown[1], time.time())
        assert line.text == INTERRUPTED_TEXT and line.offers_retry
        summary = desktop.conversations.summary(conversation_id)
        assert summary is not None and summary.last_status == MessageStatus.INTERRUPTED
        assert "can be retried" in desktop.window.status_text()
        markdown = export_markdown(desktop.repo, [conversation_id])
        assert "(not answered)" not in markdown and partial.strip()[:20] in markdown
        assert markdown.index(QUESTION) < markdown.index(partial.strip()[:20])

        # Retry (the pane's Retry link) asks again and gets a complete answer.
        qtbot.waitUntil(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading(),
                        timeout=10_000)
        desktop.window.chat_pane.sig_retry_requested.emit(shown[1].id)
        qtbot.waitUntil(
            lambda: desktop.repo.list_messages(conversation_id)[-1].status
            == MessageStatus.COMPLETE, timeout=15_000)
        rows = desktop.repo.list_messages(conversation_id)
        assert rows[0].text == QUESTION and rows[0].status == MessageStatus.COMPLETE
        kept = next(m for m in rows if m.id == shown[1].id)
        assert kept.status == MessageStatus.INTERRUPTED and kept.text == partial
        assert rows[-1].role == Role.ASSISTANT and rows[-1].text.strip()
    finally:
        close_desktop(desktop)
