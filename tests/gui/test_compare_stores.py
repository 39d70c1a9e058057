"""Compare stores (issue 14.5): File → Compare stores… (Ctrl+Shift+N) builds the view on first
use; one question typed once is asked of every chosen store, the answers stream side by side,
each store's turns are kept as a conversation of its own (its own session), follow-ups go to
every store, Esc stops them all, and a column opens as an ordinary conversation."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.sandbox import Pace
from tests.helpers.app import Started, current, wait_for_store
from tests.helpers.keys import press, type_text

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

#: Answers stream for about a second: long enough to see both arrive at once, short enough
#: for two rounds.
PACE = Pace(first_token_delay=0.0, delta_interval=0.008, words_per_delta=2)
QUESTION = "How do the videos open?"
FOLLOW_UP = "Which of them is the longest?"


def _open_compare(qtbot: Any, desktop: Any) -> Any:
    window = desktop.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    qtbot.waitUntil(lambda: not desktop.stores.is_loading(), timeout=10_000)
    assert desktop.compare.view is None  # built on first use
    press(qtbot, Qt.Key.Key_N,
          Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    view = desktop.compare.view
    assert view is not None and view.isVisible() and not window.is_conversation_shown()
    assert view.composer.edit.hasFocus()
    return view


def _answers(desktop: Any, conversation_id: int) -> list[Any]:
    return [m for m in desktop.repo.list_messages(conversation_id)
            if m.role is Role.ASSISTANT and m.status is MessageStatus.COMPLETE]


def test_one_question_is_asked_of_every_chosen_store_side_by_side(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=PACE)
    view = _open_compare(qtbot, desktop)
    ready = [s for s in desktop.stores.stores() if s.ready]
    assert len(ready) >= 2
    # The picked store and the next ready one are chosen; a store with no ready video
    # cannot be.
    assert sorted(view.chosen_store_ids()) == sorted(s.id for s in ready[:2])
    unready = [s for s in desktop.stores.stores() if not s.ready]
    assert unready and not view.chips[unready[0].id].isEnabled()
    assert [v.name_label.text() for v in view.column_views if v.isVisible()] == \
        [next(s.name for s in ready if s.id == i) for i in view.chosen_store_ids()]

    type_text(qtbot, QUESTION)
    press(qtbot, Qt.Key.Key_Return)
    controller = desktop.compare.controller
    qtbot.waitUntil(lambda: len(controller.conversation_ids()) == 2, timeout=5_000)
    ids = controller.conversation_ids()
    # Both answers arrive at the same time, each in its own column.
    columns = view.column_views[:2]

    def both_streaming() -> bool:
        # Partial text shown in both columns while both answers are still arriving.
        return all(desktop.chat.is_busy(c) for c in ids) and all(
            any(m.status is MessageStatus.STREAMING and m.text
                for m in v.chat_view.message_model.messages()) for v in columns)

    qtbot.waitUntil(both_streaming, timeout=10_000)
    assert view.composer.is_busy()  # Send became Stop
    qtbot.waitUntil(lambda: all(_answers(desktop, c) for c in ids)
                    and not controller.is_busy(), timeout=20_000)
    assert not view.composer.is_busy()

    conversations = [desktop.repo.get_conversation(c) for c in ids]
    assert sorted(c.store_id for c in conversations) == sorted(view.chosen_store_ids())
    sessions = [c.session_id for c in conversations]
    assert all(sessions) and sessions[0] != sessions[1]  # a session per store
    for column, conversation in zip(columns, conversations, strict=True):
        shown = column.chat_view.message_model.messages()
        assert [m.role for m in shown] == [Role.USER, Role.ASSISTANT]
        assert shown[0].text == QUESTION and shown[1].conversation_id == conversation.id
        assert shown[1].text == _answers(desktop, conversation.id)[0].text
    # Each is an ordinary conversation in the list.
    for conversation_id in ids:
        assert desktop.window.sidebar.model.row_for_conversation(conversation_id) is not None
    # The stores are fixed now: the chips give way to a sentence naming them.
    assert not any(chip.isVisible() for chip in view.chips.values())
    assert "Comparing" in view.hint_label.text()

    # A follow-up goes to every store, each in its own session.
    type_text(qtbot, FOLLOW_UP)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: all(len(_answers(desktop, c)) == 2 for c in ids)
                    and not controller.is_busy(), timeout=20_000)
    assert [desktop.repo.get_conversation(c).session_id for c in ids] == sessions
    for column in columns:
        assert [m.text for m in column.chat_view.message_model.messages()
                if m.role is Role.USER] == [QUESTION, FOLLOW_UP]

    # "Open as conversation" shows that store's conversation in the chat.
    qtbot.mouseClick(columns[1].open_button, Qt.MouseButton.LeftButton)
    assert desktop.window.is_conversation_shown()
    assert current(desktop) == columns[1].column.conversation_id
    # And File → Compare stores… comes back to the comparison as it was.
    desktop.window.action_compare.trigger()
    assert not desktop.window.is_conversation_shown()
    assert len(columns[0].chat_view.message_model.messages()) == 4


def test_esc_stops_every_store_and_a_new_comparison_starts_over(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=PACE)
    view = _open_compare(qtbot, desktop)
    type_text(qtbot, QUESTION)
    press(qtbot, Qt.Key.Key_Return)
    controller = desktop.compare.controller
    qtbot.waitUntil(lambda: len(controller.conversation_ids()) == 2
                    and all(desktop.chat.is_busy(c) for c in controller.conversation_ids()),
                    timeout=5_000)
    ids = controller.conversation_ids()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not controller.is_busy(), timeout=5_000)
    qtbot.waitUntil(lambda: all(
        [m.status for m in desktop.repo.list_messages(c) if m.role is Role.ASSISTANT]
        == [MessageStatus.CANCELLED] for c in ids), timeout=5_000)

    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert controller.columns() == [] and any(c.isVisible() for c in view.chips.values())
    # The stopped conversations stay in the list.
    assert all(desktop.window.sidebar.model.row_for_conversation(c) is not None for c in ids)


def test_fewer_than_two_stores_cannot_be_compared(qtbot: Any, start: Started) -> None:
    desktop = start()
    view = _open_compare(qtbot, desktop)
    first = view.chosen_store_ids()[0]
    qtbot.mouseClick(view.chips[first], Qt.MouseButton.LeftButton)  # unchoose one
    assert len(view.chosen_store_ids()) == 1
    assert not view.composer.isEnabled()
    assert "Choose 1 more knowledge store" in view.hint_label.text()
    refusal = desktop.compare.controller.ask([(first, "A")], QUESTION)
    assert refusal == "Choose 2 to 4 knowledge stores to compare."
    assert desktop.compare.controller.conversation_ids() == []


def test_a_long_store_name_is_elided_in_its_column(qtbot: Any) -> None:
    from jockey_desktop.presentation.compare import CompareColumn
    from jockey_desktop.ui.compare_view import CompareColumnView

    view = CompareColumnView()
    qtbot.addWidget(view)
    name = "Regional broadcast archive of evening news and weather bulletins"
    view.show_column(CompareColumn("ks_1", name, 3), busy=False)
    view.resize(260, 300)
    view.show()
    qtbot.waitExposed(view)
    shown = view.name_label.shown_text()
    assert view.name_label.text() == name
    assert shown.endswith("…") and name.startswith(shown[:-1].rstrip())
