"""Child process of the real full-disk test (run inside a private mount namespace with a
small tmpfs at ``FOLDER``; not collected).

Usage: ``python full_disk_app_child.py FOLDER``. Starts the whole app (sandbox, slow pace) on
``FOLDER/data``, asks once, fills the disk and presses Enter on a question, frees the space
and asks again, fills the disk while that answer streams, waits for it to end, closes the
window (the quit question frees the space and answers Try again) and waits for the window to
close with the answer saved. Prints one JSON object with what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.private_mount import fill

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop

from jockey_desktop.app import AppOptions, JockeyDesktop
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.presentation.quitting import QuitChoice
from jockey_desktop.sandbox import Pace
from jockey_desktop.startup import ensure_qapp

#: About 3 s for the long answer: room to fill the disk while it streams.
SLOW = Pace(first_token_delay=0.0, delta_interval=0.02, words_per_delta=1)


def wait(qapp: Any, condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Run the event loop until ``condition()``; raise naming ``what`` after ``seconds``."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(what)
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)


def main(folder: Path) -> None:
    ChatController.HELD_RETRY_MS = 200
    qapp = ensure_qapp()
    desktop = JockeyDesktop.create(AppOptions(
        data_dir=str(folder / "data"), sandbox=True, sandbox_pace=SLOW, interactive=True,
        freeze_gc=False), qapp)
    assert desktop is not None
    desktop.start(show=True)
    stores, workspace, chat, repo = desktop.stores, desktop.workspace, desktop.chat, desktop.repo
    pane = desktop.window.chat_pane
    composer = pane.composer
    wait(qapp, lambda: bool(stores.stores()) and not stores.is_loading(), "the stores")
    store = stores.first_ready_store()
    assert store is not None
    desktop.window.store_picker.select_store(store.id)

    def answers() -> list[Any]:
        cid = workspace.current_id()
        return [] if cid is None else [
            m for m in repo.list_messages(cid) if m.role == Role.ASSISTANT]

    def idle_with(n: int) -> Callable[[], bool]:
        return lambda: (len([a for a in answers() if a.status != MessageStatus.STREAMING]) >= n
                        and not chat.is_busy(workspace.current_id() or -1))

    composer.set_text("Hello")  # a short first answer
    composer.submit()
    wait(qapp, lambda: workspace.current_id() is not None, "the conversation")
    wait(qapp, idle_with(1), "the first answer")
    report: dict[str, Any] = {}

    filler = fill(folder)
    composer.set_text("Asked on a full disk")
    composer.submit()
    wait(qapp, lambda: bool(composer.reason()), "the refusal")
    report["refused_text"] = composer.text()
    report["refused_reason"] = composer.reason()
    os.unlink(filler)

    composer.submit()  # the same text, now that there is space
    wait(qapp, idle_with(2), "the second answer")
    # A long answer, and the disk filled once part of it was flushed (as in the report).
    composer.set_text("What are the main themes in these videos?")
    composer.submit()
    wait(qapp, lambda: len(answers()) == 3 and bool(answers()[-1].text)
         and answers()[-1].status is MessageStatus.STREAMING, "a flushed partial")
    filler = fill(folder)
    wait(qapp, lambda: not chat.is_busy(workspace.current_id() or -1), "the end of the answer",
         seconds=60)
    wait(qapp, lambda: chat.held_write_count() > 0 or answers()[-1].status
         is not MessageStatus.STREAMING, "the end's write")
    # The transcript shows the held end once the change feed has reached it (a pass later).
    wait(qapp, lambda: pane.chat_view.message_model.messages()[-1].status
         is not MessageStatus.STREAMING, "the end on screen")
    shown = pane.chat_view.message_model.messages()[-1]
    report["second_saved"] = answers()[1].status.value
    report["held"] = chat.held_write_count()
    report["busy_after"] = pane.is_busy()
    report["shown_status"] = shown.status.value
    report["shown_error_code"] = shown.error_code
    report["shown_len"] = len(shown.text)
    report["stored_while_full"] = [answers()[-1].status.value, len(answers()[-1].text)]
    report["notice"] = pane.notice.text()
    # Quit while it is held: tried once more, then asked; the user frees some space and
    # chooses Try again, which saves it and closes the window.
    asked: list[str] = []

    def free_space_and_try_again(text: str) -> QuitChoice:
        asked.append(text)
        os.unlink(filler)
        return QuitChoice.TRY_AGAIN

    desktop.quit_guard.ask = free_space_and_try_again
    desktop.window.close()
    report["closed_at_once"] = not desktop.window.isVisible()
    wait(qapp, lambda: not desktop.window.isVisible(), "the window closed after Try again")
    report["quit_asked"] = asked
    report["held_at_close"] = chat.held_write_count()
    last = answers()[-1]
    report["saved"] = [last.status.value, len(last.text)]
    report["integrity"] = repo.integrity_check()
    desktop.shutdown()
    print(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
