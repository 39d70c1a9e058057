"""A failed answer retried from the keyboard: the transcript's context menu (the Menu key on
the current row) offers the row's Retry, which was a mouse-only link."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.sandbox.faults import Fault
from tests.helpers.app import (
    QUESTION,
    Started,
    ask_via_composer,
    new_conversation,
    turn_done,
    wait_for_store,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def _menu_labels(view: Any, message_id: int) -> dict[str, Any]:
    """The context menu of a row as the keyboard opens it (on the current row's middle)."""
    view.setCurrentIndex(view.message_model.index_of(message_id))
    menu = view.build_context_menu(view.visualRect(view.currentIndex()).center())
    return {action.text(): action for action in menu.actions() if action.text()}


def test_a_failed_answer_can_be_retried_from_the_keyboard(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    view = desktop.window.chat_pane.chat_view
    desktop.connection.sandbox().faults.add(Fault.error(500, times=1, path="/responses"))
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    _question, failed = desktop.repo.list_messages(conversation_id)
    assert failed.status == MessageStatus.FAILED

    actions = _menu_labels(view, failed.id)
    assert "Retry" in actions
    actions["Retry"].trigger()
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=15_000)
    answers = [m for m in desktop.repo.list_messages(conversation_id)
               if m.role == Role.ASSISTANT]
    assert answers[-1].status == MessageStatus.COMPLETE
    # A finished answer offers no Retry.
    assert "Retry" not in _menu_labels(view, answers[-1].id)
