"""Starter questions (issue 14.14): an empty conversation — or the empty window with a store
picked — offers the guide's three questions and ones drawn from the store's own videos (read
through the client on a worker, not on the GUI thread); one click asks it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt

from jockey_desktop.controllers import starters as starters_module
from jockey_desktop.core.storage.models import Role
from jockey_desktop.presentation.starters import GUIDE_QUESTIONS, item_title
from tests.helpers.app import Started, current, new_conversation, turn_done, wait_for_store

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


def test_an_empty_page_offers_the_guide_and_the_stores_own_questions(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = starters_module.read_store_questions

    def recorded(client: Any, store_id: str) -> list[str]:
        threads.append(threading.current_thread())
        return real(client, store_id)

    monkeypatch.setattr(starters_module, "read_store_questions", recorded)
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    pane = desktop.window.chat_pane
    assert current(desktop) is None
    qtbot.waitUntil(pane.starters_shown, timeout=5_000)
    page = pane.starters
    assert page.questions()[:3] == list(GUIDE_QUESTIONS)
    titles = [item_title(i) for i in desktop.connection.client().list_items(store.id)
              if i.is_ready]
    qtbot.waitUntil(lambda: len(page.questions()) > 3, timeout=5_000)
    drawn = page.questions()[3:]
    assert sum(1 for q in drawn if any(title in q for title in titles)) >= 2
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert store.name in page.heading.text()

    # One click asks it: a conversation starts on the picked store.
    question = drawn[0]
    button = next(b for b in page.buttons if b.accessibleName() == question)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=10_000)
    asked = [m.text for m in desktop.repo.list_messages(conversation_id) if m.role is Role.USER]
    assert asked == [question]
    assert not pane.starters_shown() and pane.stack.currentWidget() is pane.chat_view
    assert pane.composer.text() == ""

    # A new, empty conversation offers them again (read once per store).
    calls = len(threads)
    new_conversation(qtbot, desktop)
    assert pane.starters_shown() and page.questions()[3:] == drawn
    assert len(threads) == calls


def test_starters_follow_the_empty_conversations_store(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    other = next(s for s in desktop.stores.stores()
                 if s.ready and s.id != desktop.window.store_picker.current_store().id)
    desktop.window.store_picker.select_store(other.id)
    new_conversation(qtbot, desktop)
    pane = desktop.window.chat_pane
    assert pane.starters_shown()
    assert other.name in pane.starters.heading.text()
    titles = [item_title(i) for i in desktop.connection.client().list_items(other.id)
              if i.is_ready]
    qtbot.waitUntil(lambda: any(t in q for q in pane.starters.questions() for t in titles),
                    timeout=5_000)


def test_when_the_stores_videos_cannot_be_read_the_guide_is_still_offered(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(client: Any, store_id: str) -> list[str]:
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(starters_module, "read_store_questions", unreachable)
    desktop = start()
    wait_for_store(qtbot, desktop)
    pane = desktop.window.chat_pane
    qtbot.waitUntil(pane.starters_shown, timeout=5_000)
    qtbot.waitUntil(lambda: "could not read the videos" in caplog.text, timeout=5_000)
    # The guide's questions stay, clickable; nothing about the failure interrupts the user.
    assert pane.starters.questions() == list(GUIDE_QUESTIONS)
    assert all(b.isEnabled() for b in pane.starters.buttons)
    assert pane.starters_shown() and desktop.window.status_text() == ""


def test_a_store_asked_for_before_the_connection_is_read_once_it_exists(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty conversation reopened at start-up asks for its store's questions before the
    # client exists; the request waits for the client instead of being dropped.
    from jockey_desktop.concurrency import TaskRunner

    read: list[tuple[object, str]] = []

    def fake_read(client: Any, store_id: str) -> list[str]:
        read.append((client, store_id))
        return [f"What happens in {store_id}?"]

    monkeypatch.setattr(starters_module, "read_store_questions", fake_read)
    runner = TaskRunner(max_threads=1, name="starters-test")
    try:
        controller = starters_module.StartersController(runner)
        got: list[tuple[str, list[str]]] = []
        controller.sig_starters.connect(lambda store, questions: got.append((store, questions)))
        controller.request("ks_a")
        assert read == [] and got == []
        client = object()
        controller.set_client(client)
        qtbot.waitUntil(lambda: got == [("ks_a", ["What happens in ks_a?"])], timeout=5_000)
        assert read == [(client, "ks_a")]
    finally:
        runner.shutdown(1000)


def test_a_long_question_is_elided_and_never_widens_or_lengthens_the_window(qtbot: Any) -> None:
    from jockey_desktop.ui.starter_questions import StarterQuestions

    title = "Annual All-Hands & Product Roadmap Review"
    questions = [*GUIDE_QUESTIONS, f"What happens in “{title}”?",
                 f"Summarise “{title} {title} {title} {title}” with timestamps"]
    page = StarterQuestions()
    qtbot.addWidget(page)
    page.set_store_name("Product keynotes")
    page.set_questions(questions)
    # However long its questions and however many, the page never makes the window
    # wider or taller than a small screen (it elides and scrolls instead).
    assert page.minimumSizeHint().width() < 400
    assert page.minimumSizeHint().height() < 200
    page.resize(420, 300)
    page.show()
    qtbot.waitExposed(page)
    medium, longest = page.buttons[-2], page.buttons[-1]
    qtbot.waitUntil(lambda: medium.shown_text().endswith("…")
                    and longest.shown_text().endswith("…"), timeout=5_000)
    for button in page.buttons:
        assert button.mapTo(page, button.rect().topRight()).x() <= page.width()
    assert longest.accessibleName() == questions[-1]
    # A wide page shows a question whole again ("&&" is how a button shows one "&").
    page.resize(1200, 600)
    qtbot.waitUntil(lambda: medium.shown_text() == questions[-2].replace("&", "&&"),
                    timeout=5_000)
    assert page.buttons[0].shown_text() == GUIDE_QUESTIONS[0]
    # The whole question is what a click asks, whatever was drawn.
    with qtbot.waitSignal(page.sig_question_chosen) as chosen:
        qtbot.mouseClick(longest, Qt.MouseButton.LeftButton)
    assert chosen.args == [questions[-1]]


def test_a_clicked_starter_leaves_the_focus_in_the_question_box(
    qtbot: Any, start: Started
) -> None:
    desktop, conversation_id = _active_window_with_starters(qtbot, start)
    window, pane = desktop.window, desktop.window.chat_pane
    qtbot.mouseClick(pane.starters.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not pane.starters_shown(), timeout=5_000)
    # The follow-up is typed where it belongs. The window's own focus widget, not hasFocus():
    # that also needs the window to be the active one, which another test's window running
    # in the same process can take away for a moment.
    assert window.focusWidget() is pane.composer.edit
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=10_000)


def test_a_focus_left_on_the_starters_goes_to_the_question_box_when_they_give_way(
    qtbot: Any, start: Started
) -> None:
    # The page of starters goes when the conversation's first question is on screen. A focus
    # still on one of them (however it got there) went to the transcript, Qt's next page.
    desktop, conversation_id = _active_window_with_starters(qtbot, start)
    window, pane = desktop.window, desktop.window.chat_pane
    pane.starters.buttons[0].setFocus()
    assert window.focusWidget() is pane.starters.buttons[0]
    assert desktop.chat.send(conversation_id, "What is in these videos?") is None
    qtbot.waitUntil(lambda: not pane.starters_shown(), timeout=5_000)
    assert window.focusWidget() is pane.composer.edit
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=10_000)


def _wait_for_the_stores_starters(qtbot: Any, pane: Any) -> None:
    """Until the page shows the questions drawn from the store's videos (they replace the
    guide's three when the videos are read) and their buttons are on screen (a layout shows
    new buttons one event-loop turn later): a button clicked or focused before then could be
    replaced under the test."""
    qtbot.waitUntil(lambda: pane.starters_shown() and len(pane.starters.questions()) > 3
                    and pane.starters.buttons[0].isVisible(), timeout=5_000)


def _active_window_with_starters(qtbot: Any, start: Started) -> tuple[Any, int]:
    """The app, its window active, on a new empty conversation whose page shows the store's
    own starter questions; returns the desktop and the conversation's id."""
    desktop = start()
    window = desktop.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)  # an empty one: its page has them
    _wait_for_the_stores_starters(qtbot, window.chat_pane)
    return desktop, conversation_id
