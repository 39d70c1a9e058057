"""The MainWindow as wired by app.py: the composition root on the real stack, offscreen."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import Qt

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.sandbox.faults import Fault
from tests.helpers.app import (
    QUESTION,
    SLOW,
    Started,
    ask_via_composer,
    current,
    new_conversation,
    pane_messages,
    settled,
    turn_done,
    wait_for_store,
)

# The offscreen platform's harmless complaint when a window is shown; anything else fails.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def test_new_conversation_send_and_answer_appears(qtbot: Any, start: Started) -> None:
    desktop = start()
    window = desktop.window
    assert not window.is_welcome_shown()
    assert window.connection_label.text() == "Sandbox"
    wait_for_store(qtbot, desktop)

    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    # Written on the storage runner, then opened and selected.
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    assert window.sidebar.current_conversation_id() == conversation_id

    ask_via_composer(desktop, QUESTION)
    assert window.chat_pane.is_busy()
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    qtbot.waitUntil(lambda: not window.chat_pane.is_busy(), timeout=2_000)
    shown = pane_messages(desktop)
    assert [m.role for m in shown] == [Role.USER, Role.ASSISTANT]
    assert shown[1].status == MessageStatus.COMPLETE and shown[1].citations
    assert shown[1].text == desktop.repo.get_message(shown[1].id).text
    assert window.chat_pane.title_label.text() == QUESTION
    assert QUESTION in window.windowTitle()
    row = window.sidebar.model.summary_for(conversation_id)
    assert row.conversation.title == QUESTION and row.last_status == MessageStatus.COMPLETE


def test_restart_on_the_same_data_dir_finds_the_conversation(
    qtbot: Any, start: Started
) -> None:
    first = start()
    wait_for_store(qtbot, first)
    conversation_id = new_conversation(qtbot, first)
    ask_via_composer(first, QUESTION)
    qtbot.waitUntil(turn_done(first, conversation_id, 1), timeout=15_000)
    session = first.repo.get_conversation(conversation_id).session_id
    first.window.chat_pane.composer.set_text("an unsent draft")
    first.window.chat_pane.composer.edit.insertPlainText("!")  # typed: a real draft change
    start.stop(first)

    second = start()
    assert current(second) == conversation_id  # reopened where we left
    assert second.window.sidebar.current_conversation_id() == conversation_id
    shown = pane_messages(second)
    assert [m.text for m in shown if m.role == Role.USER] == [QUESTION]
    assert shown[-1].status == MessageStatus.COMPLETE
    assert second.repo.get_conversation(conversation_id).session_id == session
    assert second.window.chat_pane.composer_text() == "an unsent draft!"
    # The next question continues the same server session (the sandbox kept it on disk).
    ask_via_composer(second, "Which videos best represent the first theme?")
    qtbot.waitUntil(turn_done(second, conversation_id, 2), timeout=15_000)
    answers = [m for m in second.repo.list_messages(conversation_id) if m.role == Role.ASSISTANT]
    assert answers[-1].status == MessageStatus.COMPLETE
    assert answers[-1].session_id == session


def test_switching_conversations_mid_stream_never_mixes_text(qtbot: Any, start: Started) -> None:
    desktop = start(sandbox_pace=SLOW)
    window = desktop.window
    wait_for_store(qtbot, desktop)
    a = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    b = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, "Show me the most dramatic moment.")
    assert desktop.chat.is_busy(a) and desktop.chat.is_busy(b)

    wrong: list[tuple[int | None, int]] = []

    def audit(_cid: int, message_id: int, _text: str) -> None:
        shown = {m.id: m.conversation_id for m in pane_messages(desktop)}
        on_screen = current(desktop)
        if any(owner != on_screen for owner in shown.values()):
            wrong.append((on_screen, message_id))

    desktop.chat.sig_stream_text.connect(audit)
    deadline = time.monotonic() + 20
    flips = 0
    while (desktop.chat.is_busy(a) or desktop.chat.is_busy(b)) and time.monotonic() < deadline:
        target = a if flips % 2 == 0 else b
        window.sidebar.select_conversation(target, notify=True)
        assert current(desktop) == target
        # The pane shows exactly this conversation, with its live text already applied.
        assert {m.conversation_id for m in pane_messages(desktop)} == {target}
        assert window.chat_pane.is_busy() == desktop.chat.is_busy(target)
        flips += 1
        qtbot.wait(120)
    assert flips >= 4 and not wrong
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    for conversation_id in (a, b):
        window.sidebar.select_conversation(conversation_id, notify=True)
        shown = pane_messages(desktop)
        saved = desktop.repo.list_messages(conversation_id)
        assert [(m.id, m.text, m.status) for m in shown] == [
            (m.id, m.text, m.status) for m in saved]
        assert saved[-1].status == MessageStatus.COMPLETE


def test_drafts_stay_with_their_conversation(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    a = new_conversation(qtbot, desktop)
    composer = desktop.window.chat_pane.composer
    composer.edit.insertPlainText("draft for A")
    b = new_conversation(qtbot, desktop)  # switching flushes A's pending draft to A
    assert composer.text() == ""
    composer.edit.insertPlainText("draft for B")
    desktop.window.sidebar.select_conversation(a, notify=True)
    assert composer.text() == "draft for A"
    desktop.window.sidebar.select_conversation(b, notify=True)
    assert composer.text() == "draft for B"
    desktop.window.flush_draft()
    desktop.conversations.flush_drafts()
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert desktop.repo.get_conversation(a).draft == "draft for A"
    assert desktop.repo.get_conversation(b).draft == "draft for B"


def test_errors_and_stop_show_in_the_chat_pane(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    desktop.connection.sandbox().faults.add(Fault.error(500, times=1, path="/responses"))
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    failed = pane_messages(desktop)[-1]
    assert failed.status == MessageStatus.FAILED
    assert failed.error_message.startswith("The server failed to answer")

    # Retry from the pane's Retry link signal, then Stop (Esc) mid-stream.
    desktop.window.chat_pane.sig_retry_requested.emit(failed.id)
    qtbot.waitUntil(lambda: any(len(m.text) > 10 and m.status == MessageStatus.STREAMING
                                for m in pane_messages(desktop)), timeout=5_000)
    desktop.window.chat_pane.sig_stop_requested.emit()
    assert not desktop.window.chat_pane.is_busy()  # at once; the rows follow once saved
    qtbot.waitUntil(lambda: pane_messages(desktop)[-1].status == MessageStatus.CANCELLED,
                    timeout=5_000)
    assert len(pane_messages(desktop)[-1].text) > 10


def test_session_loss_shows_a_seam_and_the_answer(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    session_id = desktop.repo.get_conversation(conversation_id).session_id
    desktop.connection.sandbox().expire_session(session_id)
    ask_via_composer(desktop, "Which videos best represent the first theme?")
    qtbot.waitUntil(turn_done(desktop, conversation_id, 3), timeout=15_000)
    shown = pane_messages(desktop)
    assert [m.role for m in shown][-2:] == [Role.SEAM, Role.ASSISTANT]
    assert shown[-1].status == MessageStatus.COMPLETE
    assert desktop.window.chat_pane.composer.isEnabled()  # never a dead end


def test_refusal_keeps_the_typed_text_with_the_reason(qtbot: Any, start: Started) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    # A second send in the same conversation while it streams: refused, text kept.
    desktop.window.chat_pane.sig_send_requested.emit("follow-up typed too early")
    assert desktop.window.chat_pane.composer.reason()
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert len([m for m in desktop.repo.list_messages(conversation_id)
                if m.role == Role.USER]) == 1


def test_quit_during_a_stream_is_fast_and_keeps_partial_text(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(lambda: any(len(m.text) > 10 and m.role == Role.ASSISTANT
                                for m in pane_messages(desktop)), timeout=5_000)
    repo = desktop.repo
    db = desktop.paths.database
    started = time.monotonic()
    start.stop(desktop)
    assert time.monotonic() - started < 2.0
    from jockey_desktop.core.storage import open_repository

    with open_repository(db, db.parent / "backups") as reopened:
        answer = next(m for m in reopened.list_messages(conversation_id)
                      if m.role == Role.ASSISTANT)
        assert answer.status == MessageStatus.INTERRUPTED
        assert len(answer.text) > 10
    del repo


def test_first_start_picks_a_store_that_can_answer_then_remembers_the_choice(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    picker = desktop.window.store_picker
    qtbot.waitUntil(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading()
                    and picker.current_store() is not None
                    and picker.current_store().ready > 0, timeout=10_000)
    other = next(s for s in desktop.stores.stores()
                 if s.ready > 0 and s.id != picker.current_store().id)
    picker.choose(other.id)  # as the popup does when the user clicks a row
    start.stop(desktop)

    again = start()
    qtbot.waitUntil(lambda: bool(again.stores.stores()) and not again.stores.is_loading(),
                    timeout=10_000)
    assert again.window.store_picker.current_store().id == other.id
