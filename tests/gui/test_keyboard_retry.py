"""A failed answer retried from the keyboard: the transcript's context menu (the Menu key on
the current row) offers the row's Retry, which was a mouse-only link."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.app import (
    Started,
    ask_and_fail,
    turn_done,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def _menu_labels(view: Any, message_id: int) -> dict[str, Any]:
    """The context menu of a row as the keyboard opens it (on the current row's middle)."""
    view.setCurrentIndex(view.message_model.index_of(message_id))
    menu = view.build_context_menu(view.visualRect(view.currentIndex()).center())
    return {action.text(): action for action in menu.actions() if action.text()}


def test_a_failed_answer_can_be_retried_from_the_keyboard(qtbot: Any, start: Started) -> None:
    desktop = start()
    conversation_id, _question, failed = ask_and_fail(qtbot, desktop)
    view = desktop.window.chat_pane.chat_view

    actions = _menu_labels(view, failed.id)
    assert "Retry" in actions
    actions["Retry"].trigger()
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=15_000)
    answers = [m for m in desktop.repo.list_messages(conversation_id)
               if m.role == Role.ASSISTANT]
    assert answers[-1].status == MessageStatus.COMPLETE
    # A finished answer offers no Retry.
    assert "Retry" not in _menu_labels(view, answers[-1].id)
