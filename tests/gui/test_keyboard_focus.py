"""Keys reach what the user is working in (issue 14.6, 14.9): after a click on a row, F2
renames it in place and Del deletes it; text typed while the transcript or the list has the
focus goes to the question box (and Enter sends it); the in-place editor shows the whole
title."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from jockey_desktop.core.storage.models import Role
from tests.helpers.app import Started, ask_and_wait, current, new_conversation, wait_for_store
from tests.helpers.keys import press, type_text

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

FOLLOW_UP = "Which videos best represent the first theme?"


def _click_row(qtbot: Any, desktop: Any, conversation_id: int) -> None:
    sidebar = desktop.window.sidebar
    row = sidebar.model.row_for_conversation(conversation_id)
    assert row is not None
    rect = sidebar.list_view.visualRect(sidebar.list_view.index_for_row(row))
    qtbot.mouseClick(sidebar.list_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())


def _two_conversations(qtbot: Any, start: Started) -> tuple[Any, int, int]:
    desktop = start()
    desktop.window.activateWindow()
    qtbot.waitUntil(desktop.window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    first = ask_and_wait(qtbot, desktop, "What are the main themes in these videos?")
    new_conversation(qtbot, desktop)
    second = ask_and_wait(qtbot, desktop, "How do the videos open?")
    assert first != second
    return desktop, first, second


def test_f2_and_del_act_on_the_row_just_clicked(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop, first, second = _two_conversations(qtbot, start)
    sidebar = desktop.window.sidebar
    _click_row(qtbot, desktop, first)
    qtbot.waitUntil(lambda: current(desktop) == first, timeout=5_000)
    # The click opened the conversation and the list kept the focus.
    assert sidebar.list_view.hasFocus()

    press(qtbot, Qt.Key.Key_F2)
    editor = sidebar.rename_editor
    assert editor is not None and editor.isVisible() and editor.hasFocus()
    old = desktop.repo.get_conversation(first).title
    assert editor.text() == old  # the whole title, selected, ready to be replaced
    assert editor.selectedText() == old
    type_text(qtbot, "Keynote themes")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: desktop.repo.get_conversation(first).title == "Keynote themes",
                    timeout=5_000)
    assert sidebar.list_view.hasFocus() and not editor.isVisible()
    # The list shows the new title once the change feed has reached it (a turn later).
    qtbot.waitUntil(lambda: sidebar.model.summary_for(first).conversation.title
                    == "Keynote themes", timeout=5_000)

    asked: list[str] = []
    monkeypatch.setattr(sidebar, "confirm_delete", lambda title: asked.append(title) or True)
    press(qtbot, Qt.Key.Key_Delete)
    assert asked == ["Keynote themes"]
    qtbot.waitUntil(lambda: desktop.repo.get_conversation(first) is None, timeout=5_000)
    assert desktop.repo.get_conversation(second) is not None


def test_esc_in_the_rename_editor_keeps_the_title(qtbot: Any, start: Started) -> None:
    desktop, first, _second = _two_conversations(qtbot, start)
    sidebar = desktop.window.sidebar
    _click_row(qtbot, desktop, first)
    qtbot.waitUntil(lambda: current(desktop) == first, timeout=5_000)
    title = desktop.repo.get_conversation(first).title
    # Edit → Rename conversation does the same as F2: the editor is over the row, as wide.
    desktop.window.action_rename.trigger()
    editor = sidebar.rename_editor
    assert editor is not None and editor.isVisible()
    row_rect = sidebar.list_view.visualRect(
        sidebar.list_view.index_for_row(sidebar.model.row_for_conversation(first)))
    assert editor.width() >= row_rect.width() - 20
    type_text(qtbot, "something else")
    press(qtbot, Qt.Key.Key_Escape)
    assert not editor.isVisible()
    qtbot.wait(100)
    assert desktop.repo.get_conversation(first).title == title


def test_typing_in_the_transcript_goes_to_the_question_box(qtbot: Any, start: Started) -> None:
    desktop = start()
    window = desktop.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    view = window.chat_pane.chat_view
    # A click in the transcript (as after closing a menu there) gives it the focus; in the
    # left margin, where no chip or link would start something else.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(2, view.viewport().height() // 2))
    assert QApplication.focusWidget() is view
    type_text(qtbot, FOLLOW_UP)
    composer = window.chat_pane.composer
    assert composer.edit.hasFocus()
    assert composer.text() == FOLLOW_UP  # nothing lost, the first key included
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [m.text for m in desktop.repo.list_messages(conversation_id)
                             if m.role is Role.USER][-1:] == [FOLLOW_UP], timeout=5_000)


def test_typing_in_the_conversation_list_starts_a_question(qtbot: Any,
                                                           start: Started) -> None:
    desktop, first, _second = _two_conversations(qtbot, start)
    _click_row(qtbot, desktop, first)
    qtbot.waitUntil(lambda: current(desktop) == first, timeout=5_000)
    assert desktop.window.sidebar.list_view.hasFocus()
    type_text(qtbot, "Who")
    composer = desktop.window.chat_pane.composer
    assert composer.edit.hasFocus() and composer.text() == "Who"
    assert current(desktop) == first  # typing did not jump to another row
