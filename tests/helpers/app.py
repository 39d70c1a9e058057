"""The whole app, offscreen, on the real stack: build desktops on a data dir, wait for the
stores, start conversations, ask through the composer, wait for turns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.app import AppOptions, JockeyDesktop
from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.sandbox import Pace

QUESTION = "What are the main themes in these videos?"
#: One word every 15 ms: a turn streams for a couple of seconds.
SLOW = Pace(first_token_delay=0.0, delta_interval=0.015, words_per_delta=1)


class Started:
    """Builds desktops on a data dir and always shuts them down."""

    def __init__(self, qtbot: Any, data_dir: Path) -> None:
        self.qtbot = qtbot
        self.data_dir = data_dir
        self.running: list[JockeyDesktop] = []

    def __call__(self, **options: Any) -> JockeyDesktop:
        options.setdefault("sandbox", True)
        options.setdefault("sandbox_pace", "fast")
        options.setdefault("interactive", False)
        options.setdefault("freeze_gc", False)  # many apps in one process
        desktop = JockeyDesktop.create(
            AppOptions(data_dir=str(self.data_dir), **options), QApplication.instance())
        assert desktop is not None
        self.running.append(desktop)
        desktop.start(show=True)
        return desktop

    def stop(self, desktop: JockeyDesktop) -> None:
        """Shut one desktop down and close its window."""
        close_desktop(desktop)
        self.running.remove(desktop)

    def stop_all(self) -> None:
        """Shut every desktop still running down."""
        for desktop in list(self.running):
            self.stop(desktop)


def close_desktop(desktop: JockeyDesktop) -> None:
    """Shut a desktop down, close its window and delete it (when the test's teardown runs, at
    the latest). Deleted, not just closed: every window left alive is re-polished by each
    later app's theme (``QApplication.setStyleSheet``), which made the suite quadratic."""
    desktop.shutdown()
    desktop.window.close()
    desktop.window.deleteLater()


@pytest.fixture
def start(qtbot: Any, tmp_path: Path) -> Iterator[Started]:
    """``start(**AppOptions)`` builds and starts a desktop on ``tmp_path/data``."""
    started = Started(qtbot, tmp_path / "data")
    try:
        yield started
    finally:
        started.stop_all()


def wait_for_store(qtbot: Any, desktop: JockeyDesktop) -> Any:
    """Until the picker shows a store with ready videos (restored or first loaded)."""
    qtbot.waitUntil(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading(),
                    timeout=10_000)
    store = desktop.stores.first_ready_store()
    desktop.window.store_picker.select_store(store.id)
    assert desktop.window.store_picker.current_store().id == store.id
    return store


def current(desktop: JockeyDesktop) -> int | None:
    """The conversation on screen."""
    return desktop.workspace.current_id()


def new_conversation(qtbot: Any, desktop: JockeyDesktop) -> int:
    """Start a conversation on the picked store (as Ctrl+N does) and wait until it is on
    screen; returns its id (an empty one on that store is reused, as in the app)."""
    opened: list[int] = []
    assert desktop.workspace.new_conversation(then=opened.append)
    qtbot.waitUntil(lambda: bool(opened), timeout=5_000)
    return opened[0]


def open_conversation(desktop: JockeyDesktop, conversation_id: int) -> None:
    """Open a conversation as the sidebar does when the user picks it."""
    desktop.window.sidebar.select_conversation(conversation_id, notify=True)


def pane_messages(desktop: JockeyDesktop) -> list[Message]:
    """The rows the chat pane shows."""
    return list(desktop.window.chat_pane.chat_view.message_model.messages())


def ask_via_composer(desktop: JockeyDesktop, text: str) -> None:
    """Type ``text`` into the composer and press Enter."""
    composer = desktop.window.chat_pane.composer
    composer.set_text(text)
    composer.submit()


def settled(desktop: JockeyDesktop) -> bool:
    """Every storage write has been handled and announced, and the views have updated."""
    return desktop.storage_runner.pending_count == 0 and not desktop.feed.is_pending()


def turn_done(desktop: JockeyDesktop, conversation_id: int,
              answers: int) -> Callable[[], bool]:
    """A condition: ``answers`` answers of the conversation are saved, it is idle, and every
    view has been told."""
    def check() -> bool:
        rows = [m for m in desktop.repo.list_messages(conversation_id)
                if m.role == Role.ASSISTANT and m.status != MessageStatus.STREAMING]
        return (len(rows) >= answers and not desktop.chat.is_busy(conversation_id)
                and settled(desktop))
    return check


def ask_and_wait(qtbot: Any, desktop: JockeyDesktop, text: str = QUESTION,
                 timeout_ms: int = 15_000) -> int:
    """Ask in the conversation on screen (one is started when none is) and wait for the
    answer to be saved and shown; returns the conversation id."""
    before = {cid: n for cid, n in _answer_counts(desktop).items()}
    ask_via_composer(desktop, text)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    assert conversation_id is not None
    qtbot.waitUntil(turn_done(desktop, conversation_id, before.get(conversation_id, 0) + 1),
                    timeout=timeout_ms)
    return conversation_id


def ask_and_fail(qtbot: Any, desktop: JockeyDesktop) -> tuple[int, Message, Message]:
    """Start a conversation on the picked store and ask :data:`QUESTION` while the sandbox
    answers it with a 500: the conversation's id, the question and the failed answer."""
    from jockey_desktop.sandbox.faults import Fault

    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    sandbox = desktop.connection.sandbox()
    assert sandbox is not None
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    question, failed = desktop.repo.list_messages(conversation_id)
    assert failed.status == MessageStatus.FAILED
    return conversation_id, question, failed


def _answer_counts(desktop: JockeyDesktop) -> dict[int, int]:
    conversation_id = current(desktop)
    if conversation_id is None:
        return {}
    return {conversation_id: sum(1 for m in desktop.repo.list_messages(conversation_id)
                                 if m.role == Role.ASSISTANT)}


def start_on(start: Started, base_url: str) -> JockeyDesktop:
    """Start the app with ``base_url`` as its saved server and no sandbox of its own (as a
    user of a real server starts it)."""
    from jockey_desktop.paths import AppPaths
    from jockey_desktop.settings import AppSettings

    start.data_dir.mkdir(parents=True, exist_ok=True)
    saved = AppSettings(AppPaths.under(start.data_dir).settings_file)
    saved.api_base_url = base_url
    saved.sync()
    return start(sandbox=False)
