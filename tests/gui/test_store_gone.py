"""A conversation whose knowledge store was deleted: "Continue in a new conversation", "Edit
and ask", "Ask again", Retry and Send say plainly that the store no longer exists, and the way
on is to pick another store, which the new conversation moves to with its recap, its question
and its link back: nothing is lost, nothing is sent to a store that is gone."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.app import (
    QUESTION,
    Started,
    ask_and_wait,
    ask_via_composer,
    current,
    settled,
    turn_done,
    wait_for_store,
)
from tests.helpers.views import action_point, click

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")

FOLLOW_UP = "Which videos best represent the first theme?"
GONE = "no longer exists on the server"


def _two_turns_then_delete_the_store(qtbot: Any, desktop: Any, *, refresh: bool = True
                                     ) -> tuple[int, Any, list[Any]]:
    """A conversation of two answered turns on a store, then that store deleted on the
    server (and, with ``refresh``, the app's store list reloaded without it)."""
    store = wait_for_store(qtbot, desktop)
    origin_id = ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, FOLLOW_UP)
    desktop.chat.client().delete_knowledge_store(store.id)
    if refresh:
        desktop.stores.refresh()
        qtbot.waitUntil(lambda: desktop.stores.is_gone(store.id)
                        and not desktop.stores.is_loading(), timeout=10_000)
    return origin_id, store, desktop.repo.list_messages(origin_id)


def _another_store(desktop: Any, gone: Any) -> Any:
    return next(s for s in desktop.stores.stores() if s.id != gone.id and s.ready > 0)


def test_continue_from_an_answer_waits_for_another_store_and_moves_there_with_its_recap(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    origin_id, gone, (_q1, a1, _q2, _a2) = _two_turns_then_delete_the_store(qtbot, desktop)
    window, view = desktop.window, desktop.window.chat_pane.chat_view
    pane, picker = window.chat_pane, window.store_picker
    # Said as soon as the conversation is on screen (the store went while it was).
    assert GONE in pane.composer.reason() and "can be read but not continued" \
        in pane.composer.reason()

    click(qtbot, view, action_point(view, a1.id, "fork"))
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    waiting = desktop.repo.get_conversation(current(desktop))
    assert waiting.origin_message_id == a1.id and a1.text[:40] in waiting.instructions
    # Told plainly, and asked for another store at once.
    qtbot.waitUntil(picker.popup.isVisible, timeout=5_000)
    reason = pane.composer.reason()
    assert f"“{gone.name}” {GONE}" in reason and "Pick another store" in reason
    assert pane.starters_shown() and not pane.starters.is_answerable()
    assert GONE in pane.starters.intro.text()
    assert pane.store_label.text() == f"{gone.name} (no longer on the server)"
    assert pane.composer.edit.placeholderText().startswith(
        f"{gone.name} no longer exists: pick another knowledge store")

    # A question typed meanwhile is not sent to the store that is gone: it stays.
    ask_via_composer(desktop, "And which one is the most surprising?")
    assert pane.composer.text() == "And which one is the most surprising?"
    assert pane.composer.reason().startswith("Your question was not sent: the knowledge store")
    assert desktop.repo.list_messages(waiting.id) == [] and not desktop.chat.is_busy(waiting.id)

    other = _another_store(desktop, gone)
    picker.choose(other.id)
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id, waiting.id),
                    timeout=5_000)
    moved = desktop.repo.get_conversation(current(desktop))
    assert moved.store_id == other.id
    assert moved.instructions == waiting.instructions  # the recap went with it
    assert (moved.origin_conversation_id, moved.origin_message_id) == (origin_id, a1.id)
    assert pane.origin_link.isVisible()
    assert pane.composer.text() == "And which one is the most surprising?"
    assert pane.composer.reason() == "" and pane.starters.is_answerable()
    assert pane.store_label.text() == other.name
    qtbot.waitUntil(lambda: desktop.repo.get_conversation(waiting.id) is None, timeout=5_000)

    pane.composer.submit()
    qtbot.waitUntil(turn_done(desktop, moved.id, 1), timeout=15_000)
    _question, answer = desktop.repo.list_messages(moved.id)
    assert answer.status == MessageStatus.COMPLETE
    assert desktop.repo.get_conversation(moved.id).session_id  # a new session, on `other`


def test_edit_and_ask_keeps_the_question_for_the_store_picked_next(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    origin_id, gone, (_q1, _a1, q2, _a2) = _two_turns_then_delete_the_store(qtbot, desktop)
    pane, picker = desktop.window.chat_pane, desktop.window.store_picker
    desktop.workspace.edit_and_ask(q2.id)
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    qtbot.waitUntil(lambda: pane.composer.text() == FOLLOW_UP, timeout=5_000)
    assert GONE in pane.composer.reason()
    picker.choose(_another_store(desktop, gone).id)
    qtbot.waitUntil(lambda: desktop.repo.get_conversation(current(desktop)).store_id
                    != gone.id, timeout=5_000)
    assert pane.composer.text() == FOLLOW_UP
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)


def test_ask_again_and_retry_on_a_store_that_is_gone_say_so_and_send_nothing(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    origin_id, gone, rows = _two_turns_then_delete_the_store(qtbot, desktop)
    pane = desktop.window.chat_pane
    view = pane.chat_view
    click(qtbot, view, action_point(view, rows[1].id, "ask_again"))
    reason = pane.composer.reason()
    assert reason.startswith(f"Not asked again: the knowledge store “{gone.name}” {GONE}")
    assert "Continue in a new conversation from here" in reason
    desktop.workspace.retry(rows[3].id)
    assert pane.composer.reason().startswith("Not retried: the knowledge store")
    assert desktop.repo.list_messages(origin_id) == rows  # no failed version added
    assert not desktop.chat.is_busy(origin_id)


def test_a_store_deleted_elsewhere_is_learnt_from_the_question_that_fails_on_it(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    origin_id, gone, _rows = _two_turns_then_delete_the_store(qtbot, desktop, refresh=False)
    pane = desktop.window.chat_pane
    assert not desktop.stores.is_gone(gone.id)  # the app's list still has it
    ask_via_composer(desktop, "One more question?")
    qtbot.waitUntil(turn_done(desktop, origin_id, 3), timeout=15_000)
    failed = desktop.repo.list_messages(origin_id)[-1]
    assert failed.role is Role.ASSISTANT and failed.error_code == ErrorCode.STORE_NOT_FOUND
    assert "continue in a new conversation and pick another store" in failed.error_message
    # The failure made the app read the store list again: now it knows, and says so.
    qtbot.waitUntil(lambda: desktop.stores.is_gone(gone.id), timeout=10_000)
    qtbot.waitUntil(lambda: "can be read but not continued" in pane.composer.reason(),
                    timeout=5_000)
    desktop.workspace.continue_from(failed.id)
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    qtbot.waitUntil(desktop.window.store_picker.popup.isVisible, timeout=5_000)
    assert "Pick another store" in pane.composer.reason()
