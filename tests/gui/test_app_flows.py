"""User flows through the wired window: key setup, export, rename, delete, search, copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.app import (
    QUESTION,
    SLOW,
    Started,
    ask_via_composer,
    current,
    new_conversation,
    settled,
    turn_done,
    wait_for_store,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


@pytest.fixture
def answered(qtbot: Any, start: Started) -> Iterator[tuple[Any, int]]:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    yield desktop, conversation_id


def test_rename_pin_search_and_export_from_the_sidebar(
    qtbot: Any, answered: tuple[Any, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop, conversation_id = answered
    window = desktop.window
    sidebar = window.sidebar

    sidebar.sig_rename_requested.emit(conversation_id, "Keynote themes")
    qtbot.waitUntil(lambda: window.chat_pane.title_label.text() == "Keynote themes",
                    timeout=5_000)
    assert sidebar.model.summary_for(conversation_id).conversation.title == "Keynote themes"
    assert "Keynote themes" in window.windowTitle()
    sidebar.sig_pin_requested.emit(conversation_id, True)
    qtbot.waitUntil(lambda: sidebar.model.summary_for(conversation_id).conversation.pinned,
                    timeout=5_000)

    hits: list[Any] = []
    desktop.conversations.sig_search_results.connect(lambda q, h: hits.append((q, h)))
    sidebar.sig_search_requested.emit("keynote")
    qtbot.waitUntil(lambda: bool(hits), timeout=5_000)
    assert hits[-1][1] and hits[-1][1][0].conversation_id == conversation_id

    target = tmp_path / "exported.md"
    monkeypatch.setattr(window, "ask_export_path", lambda fmt, name: str(target))
    sidebar.sig_export_requested.emit(conversation_id, "markdown")
    qtbot.waitUntil(target.exists, timeout=5_000)
    text = target.read_text(encoding="utf-8")
    assert "Keynote themes" in text and QUESTION in text
    qtbot.waitUntil(lambda: "Exported to" in window.statusBar().currentMessage(), timeout=2_000)

    json_target = tmp_path / "exported.json"
    monkeypatch.setattr(window, "ask_export_path", lambda fmt, name: str(json_target))
    window.action_export_json.trigger()  # File ▸ Export: the conversation on screen
    qtbot.waitUntil(json_target.exists, timeout=5_000)


def test_copy_conversation_puts_markdown_with_citations_on_the_clipboard_once(
    qtbot: Any, answered: tuple[Any, int],
) -> None:
    desktop, conversation_id = answered
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("")
    writes: list[int] = []
    clipboard.dataChanged.connect(lambda: writes.append(1))
    desktop.window.action_copy.trigger()  # Edit ▸ Copy conversation
    qtbot.waitUntil(lambda: bool(clipboard.text()), timeout=5_000)
    copied = clipboard.text()
    assert QUESTION in copied
    answer = desktop.repo.list_messages(conversation_id)[-1]
    assert answer.citations[0]["title"] in copied
    # The app's one Markdown rendering (the export's), written to the clipboard once.
    assert copied.startswith("# ")
    qtbot.wait(50)
    assert len(writes) == 1
    assert "copied" in desktop.window.statusBar().currentMessage()


def test_copy_conversation_includes_messages_not_yet_loaded(
    qtbot: Any, start: Started
) -> None:
    from jockey_desktop.ui.chat_view import PAGE_SIZE

    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    for n in range(PAGE_SIZE + 60):
        desktop.repo.add_user_message(conversation_id, f"question number {n}")
    desktop.window.sidebar.select_conversation(None)
    desktop.workspace.open(conversation_id)
    assert desktop.window.chat_pane.chat_view.message_model.rowCount() == PAGE_SIZE
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("")
    desktop.window.chat_pane.sig_copy_conversation_requested.emit()  # the transcript's menu
    qtbot.waitUntil(lambda: bool(clipboard.text()), timeout=5_000)
    text = clipboard.text()
    positions = [text.index(f"question number {n}\n") for n in range(PAGE_SIZE + 60)]
    assert positions == sorted(positions)
    # Reading everything for the copy did not add rows to the view.
    assert desktop.window.chat_pane.chat_view.message_model.rowCount() == PAGE_SIZE


def test_deleting_a_streaming_conversation_stops_it_and_clears_the_pane(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    ask_via_composer(desktop, QUESTION)
    assert desktop.chat.is_busy(conversation_id)
    desktop.window.sidebar.sig_delete_requested.emit(conversation_id)
    assert not desktop.chat.is_busy(conversation_id)
    assert current(desktop) is None
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert desktop.repo.get_conversation(conversation_id) is None
    assert desktop.window.sidebar.model.row_for_conversation(conversation_id) is None
    qtbot.wait(300)  # late stream events for the deleted conversation are dropped quietly
    assert desktop.repo.list_messages(conversation_id) == []


def test_picking_another_store_offers_a_new_conversation(
    qtbot: Any, answered: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop, conversation_id = answered
    window = desktop.window
    before = desktop.repo.get_conversation(conversation_id)
    other = next(s for s in desktop.stores.stores() if s.id != before.store_id and s.ready)
    asked: list[str] = []
    monkeypatch.setattr(window, "confirm_new_conversation_on",
                        lambda name: asked.append(name) or True)
    window.store_picker.choose(other.id)
    assert asked == [other.name]
    qtbot.waitUntil(lambda: current(desktop) != conversation_id, timeout=5_000)
    new_id = current(desktop)
    assert desktop.repo.get_conversation(new_id).store_id == other.id
    # The old conversation keeps its store and session.
    assert desktop.repo.get_conversation(conversation_id).store_id == before.store_id
    assert [m.role for m in desktop.repo.list_messages(conversation_id)] == [
        Role.USER, Role.ASSISTANT]
    assert desktop.repo.list_messages(conversation_id)[-1].status == MessageStatus.COMPLETE


def test_changing_the_store_of_an_empty_conversation_moves_the_typed_text(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    first = new_conversation(qtbot, desktop)
    composer = desktop.window.chat_pane.composer
    composer.edit.insertPlainText("half-typed question")
    other = next(s for s in desktop.stores.stores()
                 if s.ready and s.id != desktop.repo.get_conversation(first).store_id)
    desktop.window.store_picker.choose(other.id)
    qtbot.waitUntil(lambda: current(desktop) not in (None, first) and settled(desktop),
                    timeout=5_000)
    replacement = current(desktop)
    assert desktop.repo.get_conversation(first) is None  # the empty one is gone
    assert desktop.repo.get_conversation(replacement).store_id == other.id
    assert composer.text() == "half-typed question"
    desktop.conversations.flush_drafts()
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert desktop.repo.get_conversation(replacement).draft == "half-typed question"


def test_a_question_typed_with_no_conversation_survives_a_restart(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    assert current(desktop) is None
    composer = desktop.window.chat_pane.composer
    qtbot.keyClicks(composer.edit, "half a question typed before any conversation")
    start.stop(desktop)  # quit straight away: the pending (debounced) text is written too

    again = start()
    composer = again.window.chat_pane.composer
    assert current(again) is None
    assert composer.text() == "half a question typed before any conversation"

    # Sent, it is no longer unsent: the next start does not bring it back.
    wait_for_store(qtbot, again)
    composer.submit()
    qtbot.waitUntil(lambda: current(again) is not None, timeout=5_000)
    qtbot.waitUntil(turn_done(again, current(again), 1), timeout=15_000)
    start.stop(again)
    third = start()
    assert third.settings.unsent_question == ""
    assert third.window.chat_pane.composer.text() == ""


def test_text_typed_before_new_conversation_moves_into_it(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    assert current(desktop) is None
    composer = desktop.window.chat_pane.composer
    qtbot.keyClicks(composer.edit, "typed first, then New conversation")
    conversation_id = new_conversation(qtbot, desktop)  # as the button and Ctrl+N do
    assert composer.text() == "typed first, then New conversation"
    qtbot.waitUntil(lambda: settled(desktop) and desktop.repo.get_conversation(
        conversation_id).draft == "typed first, then New conversation", timeout=5_000)
    assert desktop.settings.unsent_question == ""  # it has a conversation now
    # Asking from the empty page is not a draft left behind in the new conversation.
    desktop.workspace.delete(conversation_id)
    assert current(desktop) is None and composer.text() == ""
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    asked = current(desktop)
    qtbot.waitUntil(turn_done(desktop, asked, 1), timeout=15_000)
    assert composer.text() == "" and desktop.repo.get_conversation(asked).draft in ("", None)


def test_new_conversation_during_a_search_shows_it_ready_for_its_question(
    qtbot: Any, answered: tuple[Any, int]
) -> None:
    from PySide6.QtCore import Qt

    desktop, first = answered
    window, sidebar = desktop.window, desktop.window.sidebar
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    sidebar.focus_search()
    qtbot.keyClicks(sidebar.search_field, "themes")
    qtbot.waitUntil(lambda: sidebar.results_model.rowCount() > 0, timeout=5_000)
    qtbot.keyClick(sidebar.search_field, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: current(desktop) not in (None, first), timeout=5_000)
    # The list (not the old results) shows the new conversation, and what is typed next is
    # its question, not more search.
    assert not sidebar.is_searching()
    assert sidebar.current_conversation_id() == current(desktop)
    qtbot.waitUntil(window.chat_pane.composer.edit.hasFocus, timeout=5_000)
