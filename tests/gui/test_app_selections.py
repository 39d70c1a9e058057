"""The whole app: asking about selected videos with ``@`` by keyboard, the header's
selections in force, "Ask about this video" on a chip, the Steps list opened by clicks and
still there after a restart, and "Also search the web" per conversation with its sources
opening in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl

from jockey_desktop.core.storage.models import Role
from jockey_desktop.core.web_sources import split_web_sources
from jockey_desktop.presentation.formatting import plain_line
from jockey_desktop.presentation.selections import item_name
from jockey_desktop.ui.steps_view import TOGGLE_HREF
from tests.helpers.app import (
    QUESTION,
    Started,
    ask_and_wait,
    current,
    new_conversation,
    open_conversation,
    settled,
    turn_done,
    wait_for_store,
)
from tests.helpers.views import anchor_in_view, click, row_layout

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")


def answer_of(desktop: Any, conversation_id: int) -> Any:
    return [m for m in desktop.repo.list_messages(conversation_id)
            if m.role == Role.ASSISTANT][-1]


def extras_text(layout: Any) -> str:
    return "\n".join(d.toPlainText() for _o, d in layout.extras.documents) \
        if layout.extras else ""


def test_at_by_keyboard_scopes_the_question_and_the_transcript_shows_names(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    item = desktop.chat.client().list_items(store.id, status="ready")[-1]
    name = item_name(item.metadata, item.system_metadata, item.id)
    pane = desktop.window.chat_pane
    composer = pane.composer
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "What happens in @")
    # The store's videos are listed on a worker; the list opens once they are here.
    for char in name:
        target = composer.mentions.popup() if composer.mentions.is_open() else composer.edit
        qtbot.keyClicks(target, char)
    qtbot.waitUntil(composer.mentions.is_open, timeout=10_000)
    qtbot.keyClick(composer.mentions.popup(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(composer.selections()), timeout=5_000)
    assert composer.selections() == [{"kind": "item", "id": item.id, "name": name}]
    assert [c.label.text() for c in composer.chips.chips()] == [name]
    qtbot.keyClicks(composer.edit, "?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)

    question, answer = desktop.repo.list_messages(conversation_id)
    assert question.text == "What happens in {{sel:0}} ?"
    assert question.selections == [{"kind": "item", "id": item.id, "name": name}]
    assert answer.citations and {c["item_id"] for c in answer.citations} == {item.id}
    layout, _origin = row_layout(pane.chat_view, question.id)
    assert layout.document is not None
    assert layout.document.toPlainText() == f"What happens in {name} ?"
    assert pane.selections_label.isVisible()
    assert pane.selections_label.text() == f"Asking about {name}"
    assert composer.selections() == [] and not composer.chips.isVisible()


def test_ask_about_a_cited_video_then_remove_the_chip(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    view = desktop.window.chat_pane.chat_view
    answer = answer_of(desktop, conversation_id)
    layout, origin = row_layout(view, answer.id)
    chip_rect, index, _label = layout.chips[0]
    cited = answer.citations[index]
    menu = view.build_context_menu((chip_rect.center() + QPointF(origin)).toPoint())
    ask = next(a for a in menu.actions() if a.text() == "Ask about this video")
    ask.trigger()
    composer = desktop.window.chat_pane.composer
    expected = {"kind": "item", "id": cited["item_id"], "name": cited["title"]}
    assert desktop.workspace.selections() == [expected]
    assert composer.selections() == [expected]
    assert desktop.window.focusWidget() is composer.edit
    qtbot.mouseClick(composer.chips.chips()[0].remove_button, Qt.MouseButton.LeftButton)
    assert desktop.workspace.selections() == [] and composer.selections() == []


def test_the_steps_list_opens_by_click_and_is_there_after_a_restart(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    answer = answer_of(desktop, conversation_id)
    steps, _sources = split_web_sources(answer.steps)
    assert [s["kind"] for s in steps][:2] == ["commentary", "function_call"]
    view = desktop.window.chat_pane.chat_view
    toggle = anchor_in_view(qtbot, view, answer.id, TOGGLE_HREF)
    assert f"▸ Steps ({len(steps)})" in extras_text(row_layout(view, answer.id)[0])
    click(qtbot, view, toggle)
    qtbot.waitUntil(lambda: view.message_delegate.steps_expanded(answer.id), timeout=2_000)
    opened_text = extras_text(row_layout(view, answer.id)[0])
    assert "Tool call · " in opened_text and plain_line(steps[0]["text"]) in opened_text

    start.stop(desktop)
    again = start()
    qtbot.waitUntil(lambda: current(again) == conversation_id, timeout=5_000)
    qtbot.waitExposed(again.window)
    view = again.window.chat_pane.chat_view
    toggle = anchor_in_view(qtbot, view, answer.id, TOGGLE_HREF)
    # Saved with the answer, and closed again (opening is the reader's choice, not saved).
    assert f"▸ Steps ({len(steps)})" in extras_text(row_layout(view, answer.id)[0])
    click(qtbot, view, toggle)
    qtbot.waitUntil(lambda: view.message_delegate.steps_expanded(answer.id), timeout=2_000)
    assert extras_text(row_layout(view, answer.id)[0]) == opened_text


def test_also_search_the_web_is_kept_per_conversation_and_sources_open_in_the_browser(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []

    class Browser:
        @staticmethod
        def openUrl(url: QUrl) -> bool:
            opened.append(url)
            return True

    monkeypatch.setattr("jockey_desktop.ui.chat_view.QDesktopServices", Browser)
    desktop = start()
    wait_for_store(qtbot, desktop)
    first = new_conversation(qtbot, desktop)
    box = desktop.window.chat_pane.composer.web_search_box
    assert not box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    qtbot.waitUntil(lambda: settled(desktop) and desktop.repo.get_conversation(first).web_search,
                    timeout=5_000)
    ask_and_wait(qtbot, desktop, "How do the predators hunt?")
    answer = answer_of(desktop, first)
    _steps, sources = split_web_sources(answer.steps)
    assert sources
    view = desktop.window.chat_pane.chat_view
    click(qtbot, view, anchor_in_view(qtbot, view, answer.id, sources[0]["url"]))
    assert opened == [QUrl(sources[0]["url"])]

    second = new_conversation(qtbot, desktop)
    assert second != first and not box.isChecked()  # a new conversation starts without it
    open_conversation(desktop, first)
    assert box.isChecked()
