"""Search and Find (issue 14.11): a search result opens its conversation scrolled to the
matching message, highlighted (not at the end); snippets keep the matched word whole in a
narrow sidebar; Ctrl+F finds within the open conversation with next/previous (Enter, F3,
Shift+F3) and Esc closes the bar and the highlight."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics

from jockey_desktop.core.storage.models import HIGHLIGHT_END, HIGHLIGHT_START, Role
from jockey_desktop.presentation.find import searchable_text
from jockey_desktop.self_test import QUESTIONS
from jockey_desktop.ui.sidebar import HitMessageRole, fit_snippet, split_highlights
from tests.helpers.app import Started, ask_and_wait, current, new_conversation, wait_for_store
from tests.helpers.keys import press, type_text

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


def _long_conversation(qtbot: Any, start: Started) -> tuple[Any, int]:
    """The guide's three turns (the first answer is far above the end), then another
    conversation on screen."""
    desktop = start()
    window = desktop.window
    window.resize(1000, 600)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    conversation_id = 0
    for question in QUESTIONS:
        conversation_id = ask_and_wait(qtbot, desktop, question)
    new_conversation(qtbot, desktop)
    ask_and_wait(qtbot, desktop, "How do the videos open?")
    return desktop, conversation_id


def _visible(view: Any, message_id: int) -> bool:
    rect = view.visualRect(view.index_for(message_id))
    return rect.isValid() and rect.intersects(view.viewport().rect())


def test_a_search_result_opens_at_the_matching_message(qtbot: Any, start: Started) -> None:
    desktop, conversation_id = _long_conversation(qtbot, start)
    window = desktop.window
    first_answer = next(m for m in desktop.repo.list_messages(conversation_id)
                        if m.role is Role.ASSISTANT)
    # A word only the first answer has.
    later = " ".join(searchable_text(m) for m in desktop.repo.list_messages(conversation_id)
                     if m.id != first_answer.id)
    word = next(w for w in searchable_text(first_answer).split()
                if w.isalpha() and len(w) > 5 and w.lower() not in later.lower())
    press(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.search_field.hasFocus()
    type_text(qtbot, word)
    results = window.sidebar.results_model
    qtbot.waitUntil(lambda: results.rowCount() > 0, timeout=5_000)
    assert results.index(0, 0).data(HitMessageRole) == first_answer.id
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: current(desktop) == conversation_id, timeout=5_000)
    view = window.chat_pane.chat_view
    qtbot.waitUntil(lambda: _visible(view, first_answer.id), timeout=5_000)
    assert view.highlighted_message_id() == first_answer.id
    assert not view.is_following()  # not scrolled to the end
    # Once painted, the matched word is marked inside the highlighted row.
    qtbot.waitUntil(lambda: bool(view.highlight_rects()[1]), timeout=5_000)
    row, marks = view.highlight_rects()
    assert row is not None
    assert all(row.contains(mark) for mark in marks)


def test_snippets_keep_the_matched_word_whole() -> None:
    font = QFont()
    plain, bold = QFontMetrics(font), QFontMetrics(QFont(font.family(), -1, QFont.Weight.Bold))
    snippet = ("the otter floats on its back and cracks the shell open onto a "
               f"{HIGHLIGHT_START}lemonwood{HIGHLIGHT_END} branch by the shore")
    runs = split_highlights(snippet)
    room = plain.horizontalAdvance("the otter floats on its back and cracks")
    shown = fit_snippet(runs, plain, bold, room)
    matched = [text for text, highlighted in shown if highlighted]
    assert matched == ["lemonwood"]  # whole, not "lem…"
    assert shown[0][0].startswith("…")  # the lead-in gave way instead
    width = sum((bold if hl else plain).horizontalAdvance(t) for t, hl in shown)
    assert width <= room
    # When all fits, nothing changes.
    wide = fit_snippet(runs, plain, bold, 10_000)
    assert "".join(t for t, _ in wide) == "".join(t for t, _ in runs)


def test_ctrl_f_finds_next_and_previous_in_the_open_conversation(
    qtbot: Any, start: Started
) -> None:
    desktop, conversation_id = _long_conversation(qtbot, start)
    window = desktop.window
    window.sidebar.select_conversation(conversation_id, notify=True)
    qtbot.waitUntil(lambda: current(desktop) == conversation_id, timeout=5_000)
    pane = window.chat_pane
    view = pane.chat_view
    press(qtbot, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    bar = pane.find_bar
    assert bar.isVisible() and bar.field.hasFocus()
    type_text(qtbot, "theme")
    messages = desktop.repo.list_messages(conversation_id)
    expected = sum(searchable_text(m).lower().count("theme") for m in messages)
    assert expected >= 3
    qtbot.waitUntil(lambda: pane.find_count()[1] == expected, timeout=5_000)
    assert bar.count_label.text() == f"{expected} of {expected}"  # the newest match first
    last = view.highlighted_message_id()
    assert last is not None and _visible(view, last)

    seen = [(view.highlighted_message_id(), pane.find_count()[0])]
    press(qtbot, Qt.Key.Key_Return)  # next: wraps to the first
    assert pane.find_count()[0] == 0 and bar.count_label.text() == f"1 of {expected}"
    first = view.highlighted_message_id()
    assert first is not None and first < last
    qtbot.waitUntil(lambda: _visible(view, first), timeout=5_000)
    seen.append((first, 0))
    press(qtbot, Qt.Key.Key_F3)  # next
    assert pane.find_count()[0] == 1
    press(qtbot, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)  # previous
    assert pane.find_count()[0] == 0
    press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)  # previous: wraps
    assert pane.find_count()[0] == expected - 1 and view.highlighted_message_id() == last
    # The word's marks come with the row's layout, once the reveal has scrolled it in.
    qtbot.waitUntil(lambda: bool(view.highlight_rects()[1]), timeout=5_000)
    row, marks = view.highlight_rects()
    assert isinstance(row, QRectF) and marks

    press(qtbot, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    assert view.highlighted_message_id() is None
    assert pane.composer.edit.hasFocus()


def test_find_says_when_nothing_matches(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    pane = desktop.window.chat_pane
    desktop.window.action_find_here.trigger()
    type_text(qtbot, "zzzqqq")
    qtbot.waitUntil(lambda: pane.find_bar.count_label.text() == "No matches", timeout=5_000)
    assert not pane.find_bar.next_button.isEnabled()
    assert pane.chat_view.highlighted_message_id() is None
