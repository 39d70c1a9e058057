"""Quitting while an answer waits in memory for disk space (issue 10.1, "kept until quit
with a warning"), on the real window and controllers with ``DiskFullError`` injected: the
held writes are tried once more, then the user is asked (the dialog's answer is
monkeypatched); nothing is asked when nothing is held or nobody is there; and the sidebar
says the answer is not saved instead of "answering…"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from jockey_desktop import startup
from jockey_desktop.core.storage.models import MessageStatus
from jockey_desktop.presentation.conversation_row import Badge
from jockey_desktop.presentation.quitting import QuitChoice
from jockey_desktop.sandbox import Pace
from jockey_desktop.ui.models.conversation_model import BadgeRole
from tests.helpers.app import Started, ask_and_wait, ask_via_composer, current, wait_for_store
from tests.helpers.faulty_storage import FaultyRepository
from tests.helpers.full_disk import LONG_QUESTION, settle_held_retries, stored_answers

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


#: The answer "thinks" a moment before its words: room to fill the disk once the question
#: and the session are saved, so the end of the turn is what the disk refuses.
THINKING = Pace(first_token_delay=1.0, delta_interval=0.0, words_per_delta=50)


def _held_answer(qtbot: Any, start: Started, faulty: list[FaultyRepository],
                 **options: Any) -> tuple[Any, FaultyRepository, int]:
    """A running app whose answer ended on a full disk and waits in memory."""
    desktop = start(sandbox_pace=THINKING, **options)
    repo = faulty[0]
    wait_for_store(qtbot, desktop)
    ask_via_composer(desktop, LONG_QUESTION)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    assert conversation_id is not None

    def session_saved() -> bool:
        conversation = repo.real.get_conversation(conversation_id)
        return conversation is not None and conversation.session_id is not None

    qtbot.waitUntil(session_saved, timeout=5_000)
    repo.disk_full = True
    qtbot.waitUntil(lambda: desktop.chat.held_write_count() == 1
                    and not desktop.chat.is_busy(conversation_id), timeout=20_000)
    return desktop, repo, conversation_id


def _answering(desktop: Any, *choices: QuitChoice,
               before: dict[int, Callable[[], None]] | None = None) -> list[str]:
    """Make the quit question answer ``choices`` in turn (``before[n]`` runs before the
    n-th answer); returns the list of texts it was asked with."""
    asked: list[str] = []

    def ask(text: str) -> QuitChoice:
        asked.append(text)
        if before and len(asked) in before:
            before[len(asked)]()
        return choices[min(len(asked), len(choices)) - 1]

    desktop.quit_guard.ask = ask
    return asked


def _badge(desktop: Any, conversation_id: int) -> Badge | None:
    model = desktop.window.sidebar.model
    row = model.row_for_conversation(conversation_id)
    assert row is not None
    badge: Badge | None = model.index(row, 0).data(BadgeRole)
    return badge


def test_closing_with_a_held_answer_tries_it_asks_and_cancel_keeps_the_window(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop, repo, conversation_id = _held_answer(qtbot, start, faulty, interactive=True)
    window = desktop.window
    asked = _answering(desktop, QuitChoice.CANCEL)
    # The sidebar says what happened to the answer, not "answering…" from the stored row.
    qtbot.waitUntil(lambda: _badge(desktop, conversation_id) is not None
                    and _badge(desktop, conversation_id).text == "not saved — disk full",
                    timeout=5_000)
    summary = desktop.conversations.summary(conversation_id)
    assert summary is not None and summary.last_status is MessageStatus.STREAMING
    settle_held_retries(qtbot, desktop)  # only the close's own try from here on
    tries = repo.failed.count("complete_turn")

    window.close()
    assert window.isVisible()  # put off: the held answer is tried first, off the GUI thread
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert repo.failed.count("complete_turn") == tries + 1  # tried once more, then asked
    folder = desktop.paths.database.parent
    assert asked == [f"1 answer could not be saved: the disk holding {folder} is full. Free "
                     "some space and choose Try again, or quit and lose it."]
    qtbot.wait(50)
    assert window.isVisible() and desktop.chat.held_write_count() == 1  # Cancel: stays
    assert _badge(desktop, conversation_id).text == "not saved — disk full"

    # Space comes back: the answer is saved and the row reads like any finished answer.
    repo.disk_full = False
    desktop.chat.retry_held_writes()
    qtbot.waitUntil(lambda: desktop.chat.held_write_count() == 0, timeout=5_000)
    assert stored_answers(repo, conversation_id)[-1].status is MessageStatus.COMPLETE
    qtbot.waitUntil(lambda: _badge(desktop, conversation_id) is None, timeout=5_000)
    window.close()  # nothing held now: closes at once, no question
    assert not window.isVisible() and len(asked) == 1


def test_try_again_asks_again_while_the_disk_is_full_and_quits_once_saved(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop, repo, conversation_id = _held_answer(qtbot, start, faulty, interactive=True)
    settle_held_retries(qtbot, desktop)  # the question's Try again saves it, not the timer
    shown = desktop.chat.unsaved_rows(conversation_id)

    def free_space() -> None:
        repo.disk_full = False

    # Try again on a disk still full: tried, still held, asked again; space is freed
    # while the second question is open, and its Try again saves and quits.
    tries = repo.failed.count("complete_turn")
    asked = _answering(desktop, QuitChoice.TRY_AGAIN, QuitChoice.TRY_AGAIN,
                       before={2: free_space})
    desktop.window.close()
    qtbot.waitUntil(lambda: not desktop.window.isVisible(), timeout=5_000)
    assert len(asked) == 2 and asked[0] == asked[1]
    assert repo.failed.count("complete_turn") == tries + 2  # once per close / Try again
    saved = stored_answers(repo, conversation_id)[-1]
    assert saved.status is MessageStatus.COMPLETE
    assert [saved.text] == [row.text for row in shown.values()]


def test_quit_anyway_quits_and_logs_what_is_lost(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    desktop, repo, conversation_id = _held_answer(qtbot, start, faulty, interactive=True)
    asked = _answering(desktop, QuitChoice.QUIT)
    desktop.window.close()
    qtbot.waitUntil(lambda: not desktop.window.isVisible(), timeout=5_000)
    assert len(asked) == 1
    assert f"quit anyway, losing what the full disk could not take: {asked[0]}" in caplog.text
    assert stored_answers(repo, conversation_id)[-1].status is MessageStatus.STREAMING
    start.stop(desktop)  # the app's quit: its last try logs each write it loses
    assert "lost at quit, the disk is still full: end" in caplog.text


def test_a_try_still_under_way_when_the_app_quits_is_logged_as_lost(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The timer's try had started when the app quit: quitting waits for it instead of trying
    # again, and its answer never reaches the GUI thread (the event loop has stopped). The
    # log said nothing of the lost answer; the worker's record of the try says it now.
    caplog.set_level(logging.INFO)
    desktop, repo, _conversation_id = _held_answer(qtbot, start, faulty)
    settle_held_retries(qtbot, desktop)
    tries = repo.failed.count("complete_turn")
    desktop.chat.retry_held_writes()  # in flight; no event loop runs before the quit
    start.stop(desktop)
    assert repo.failed.count("complete_turn") == tries + 1  # that try was the last one
    assert caplog.text.count("lost at quit, the disk is still full: end") == 1


def test_a_draft_the_disk_refused_is_named_at_close_and_saved_by_try_again(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start(interactive=True)
    repo = faulty[0]
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    conversations = desktop.conversations
    repo.disk_full = True
    desktop.window.chat_pane.composer.edit.setPlainText("A question typed on a full disk")
    qtbot.waitUntil(lambda: conversations.held_draft_count() == 1, timeout=5_000)
    settle_held_retries(qtbot, desktop)  # only the close's own tries from here on
    tries = repo.failed.count("set_draft")

    def free_space() -> None:
        repo.disk_full = False

    # The first question (disk still full) is answered Try again; space is freed while the
    # second is open, and its Try again saves the draft and quits.
    asked = _answering(desktop, QuitChoice.TRY_AGAIN, QuitChoice.TRY_AGAIN,
                       before={2: free_space})
    desktop.window.close()
    qtbot.waitUntil(lambda: not desktop.window.isVisible(), timeout=5_000)
    folder = desktop.paths.database.parent
    assert asked == [f"1 unsent draft could not be saved: the disk holding {folder} is full. "
                     "Free some space and choose Try again, or quit and lose it."] * 2
    assert repo.failed.count("set_draft") == tries + 2  # tried at close and at the 1st answer
    conversation = repo.real.get_conversation(conversation_id)
    assert conversation is not None and conversation.draft == "A question typed on a full disk"
    assert conversations.held_draft_count() == 0


def test_a_draft_still_refused_at_quit_is_logged_as_lost(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The quit's last write of the drafts answers after the event loop has stopped: the
    # worker says what was lost (the GUI-side log line was never reached at a real quit).
    caplog.set_level(logging.INFO)
    desktop = start()
    repo = faulty[0]
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    repo.disk_full = True
    desktop.window.chat_pane.composer.edit.setPlainText("A question typed on a full disk")
    qtbot.waitUntil(lambda: desktop.conversations.held_draft_count() == 1, timeout=5_000)
    settle_held_retries(qtbot, desktop)
    tries = repo.failed.count("set_draft")
    start.stop(desktop)
    assert repo.failed.count("set_draft") == tries + 1  # the quit's last try
    assert caplog.text.count("1 draft(s) lost at quit: the disk is still full") == 1


def test_nothing_held_closes_without_asking(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start(interactive=True)
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    asked = _answering(desktop, QuitChoice.CANCEL)
    desktop.window.close()
    assert not desktop.window.isVisible() and asked == []


def test_without_a_user_a_held_answer_quits_without_asking_and_is_logged(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    caplog: pytest.LogCaptureFixture,
) -> None:
    desktop, _repo, _conversation_id = _held_answer(qtbot, start, faulty)  # not interactive
    asked = _answering(desktop, QuitChoice.CANCEL)
    desktop.window.close()
    assert not desktop.window.isVisible() and asked == []
    assert "quitting with 1 write(s) held on a full disk and no one to ask" in caplog.text


def test_sigterm_quits_without_asking(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    desktop, _repo, _conversation_id = _held_answer(qtbot, start, faulty, interactive=True)
    asked = _answering(desktop, QuitChoice.CANCEL)
    qapp = QApplication.instance()
    assert qapp is not None
    handlers: dict[int, Any] = {}
    monkeypatch.setattr(startup.signal, "signal",
                        lambda number, handler: handlers.setdefault(number, handler))
    quits: list[bool] = []
    monkeypatch.setattr(qapp, "quit", lambda: quits.append(True))
    timers = set(qapp.findChildren(QTimer))
    startup.quit_on_signals(qapp, before_quit=desktop.quit_guard.quit_without_asking)
    for timer in set(qapp.findChildren(QTimer)) - timers:
        timer.stop()  # the signal-polling timer: nothing to poll for in this test
        timer.deleteLater()
    handlers[startup.signal.SIGTERM](startup.signal.SIGTERM, None)
    assert quits == [True]
    desktop.window.close()  # what the application's quit does with every window
    assert not desktop.window.isVisible() and asked == []
    assert "quitting without asking with 1 write(s) held on a full disk" in caplog.text
