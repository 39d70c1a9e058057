"""User flows through the wired window: key setup, export, rename, delete, search, copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.gui import test_app_window as window_tests
from tests.gui.test_app_window import (
    QUESTION,
    SLOW,
    Started,
    ask_via_composer,
    turn_done,
    wait_for_store,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

start = window_tests.start


@pytest.fixture
def answered(qtbot: Any, start: Started) -> Iterator[tuple[Any, int]]:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    yield desktop, conversation_id


def test_enter_a_key_from_the_welcome_page(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    window.welcome.sig_enter_key_requested.emit()
    dialog = window.settings_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: "No API key" in dialog.location_label.text(), timeout=5_000)
    dialog.key_field.setText("sandbox")
    dialog.save_button.click()
    assert dialog.key_field.text() == ""  # the dialog never keeps the key
    qtbot.waitUntil(lambda: not window.is_welcome_shown(), timeout=5_000)
    assert "sandbox" in memory_keyring.store.values()
    assert "keychain" in dialog.location_label.text()
    wait_for_store(qtbot, desktop)
    # "Test connection" with an empty field tests the key in use.
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Connected" in dialog.test_result_label.text(), timeout=5_000)


def test_rename_pin_search_and_export_from_the_sidebar(
    qtbot: Any, answered: tuple[Any, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop, conversation_id = answered
    window = desktop.window
    sidebar = window.sidebar

    sidebar.sig_rename_requested.emit(conversation_id, "Keynote themes")
    assert window.chat_pane.title_label.text() == "Keynote themes"
    assert sidebar.model.summary_for(conversation_id).conversation.title == "Keynote themes"
    sidebar.sig_pin_requested.emit(conversation_id, True)
    assert sidebar.model.summary_for(conversation_id).conversation.pinned

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
    window.sig_export_requested.emit("json")  # File ▸ Export: the conversation on screen
    qtbot.waitUntil(json_target.exists, timeout=5_000)


def test_copy_conversation_puts_markdown_with_citations_on_the_clipboard(
    answered: tuple[Any, int],
) -> None:
    desktop, _conversation_id = answered
    desktop.window.sig_copy_conversation.emit()
    copied = QGuiApplication.clipboard().text()
    assert QUESTION in copied
    answer = desktop.repo.list_messages(desktop.current_conversation_id())[-1]
    assert answer.citations[0]["title"] in copied


def test_deleting_a_streaming_conversation_stops_it_and_clears_the_pane(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    assert desktop.chat.is_busy(conversation_id)
    desktop.window.sidebar.sig_delete_requested.emit(conversation_id)
    assert not desktop.chat.is_busy(conversation_id)
    assert desktop.repo.get_conversation(conversation_id) is None
    assert desktop.current_conversation_id() is None
    assert desktop.window.sidebar.model.row_for_conversation(conversation_id) is None
    qtbot.wait(300)  # late stream events for the deleted conversation are dropped quietly
    assert desktop.repo.list_messages(conversation_id) == []


def test_picking_another_store_offers_a_new_conversation(
    qtbot: Any, answered: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop, conversation_id = answered
    window = desktop.window
    current = desktop.repo.get_conversation(conversation_id)
    other = next(s for s in desktop.stores.stores() if s.id != current.store_id and s.ready)
    asked: list[str] = []
    monkeypatch.setattr(window, "confirm_new_conversation_on",
                        lambda name: asked.append(name) or True)
    window.store_picker.choose(other.id)
    assert asked == [other.name]
    new_id = desktop.current_conversation_id()
    assert new_id != conversation_id
    assert desktop.repo.get_conversation(new_id).store_id == other.id
    # The old conversation keeps its store and session.
    assert desktop.repo.get_conversation(conversation_id).store_id == current.store_id
    assert [m.role for m in desktop.repo.list_messages(conversation_id)] == [
        Role.USER, Role.ASSISTANT]
    assert desktop.repo.list_messages(conversation_id)[-1].status == MessageStatus.COMPLETE


def test_changing_the_store_of_an_empty_conversation_moves_the_typed_text(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    first = desktop.new_conversation()
    composer = desktop.window.chat_pane.composer
    composer.edit.insertPlainText("half-typed question")
    other = next(s for s in desktop.stores.stores()
                 if s.ready and s.id != desktop.repo.get_conversation(first).store_id)
    desktop.window.store_picker.choose(other.id)
    current = desktop.current_conversation_id()
    assert current != first
    assert desktop.repo.get_conversation(first) is None  # the empty one is gone
    assert desktop.repo.get_conversation(current).store_id == other.id
    assert composer.text() == "half-typed question"
    desktop.conversations.flush_drafts()
    assert desktop.repo.get_conversation(current).draft == "half-typed question"
