"""The workspace's selections through the wired window: what the next question asks about is
kept per conversation, put back when a question is refused, and a video of another store
(the stores view's "Ask about") starts the next question on that store."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.storage.models import Role
from jockey_desktop.presentation.selections import item_name
from tests.helpers.app import (
    QUESTION,
    Started,
    ask_and_wait,
    ask_via_composer,
    current,
    new_conversation,
    open_conversation,
    turn_done,
    wait_for_store,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def ready_items(desktop: Any, store_id: str) -> list[dict[str, str]]:
    items = desktop.chat.client().list_items(store_id, status="ready")
    return [{"kind": "item", "id": i.id, "name": item_name(i.metadata, i.system_metadata, i.id)}
            for i in items]


def test_selections_are_kept_per_conversation_and_put_back_when_refused(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    ws, composer = desktop.workspace, desktop.window.chat_pane.composer
    video = ready_items(desktop, store.id)[0]
    first = new_conversation(qtbot, desktop)
    assert ws.add_selection(video["kind"], video["id"], video["name"])
    assert composer.selections() == [video]
    ask_and_wait(qtbot, desktop, QUESTION)  # gives the conversation a message: it stays
    assert composer.selections() == []
    assert ws.add_selection(video["kind"], video["id"], video["name"])
    second = new_conversation(qtbot, desktop)
    assert second != first and composer.selections() == []
    open_conversation(desktop, first)
    assert composer.selections() == [video]  # still waiting in the first conversation

    desktop.chat.set_client(None)  # the key was removed meanwhile: the send is refused
    ask_via_composer(desktop, "And then?")
    assert "API key" in composer.reason()
    assert composer.text() == "And then?" and composer.selections() == [video]
    assert not ws.add_selection("item", "ksic_not_an_item", "Wrong")
    assert composer.selections() == [video]


def test_a_video_of_another_store_starts_the_next_question_there(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    used = ask_and_wait(qtbot, desktop, QUESTION)
    other = next(s for s in desktop.stores.stores() if s.id != store.id and s.ready)
    video = ready_items(desktop, other.id)[0]
    assert desktop.workspace.add_selection(video["kind"], video["id"], video["name"],
                                           store_id=other.id)
    assert current(desktop) is None  # a session is bound to its store
    assert desktop.window.store_picker.current_store().id == other.id
    assert desktop.window.chat_pane.composer.selections() == [video]
    ask_via_composer(desktop, "What is shown here?")
    qtbot.waitUntil(lambda: current(desktop) not in (None, used), timeout=5_000)
    started = current(desktop)
    assert started is not None
    qtbot.waitUntil(turn_done(desktop, started, 1), timeout=15_000)
    conversation = desktop.repo.get_conversation(started)
    assert conversation.store_id == other.id
    question, answer = desktop.repo.list_messages(started)
    assert question.role == Role.USER and question.selections == [video]
    assert {c["item_id"] for c in answer.citations} <= {video["id"]}
    assert desktop.repo.get_conversation(used) is not None  # the used one was kept


def test_chips_for_the_next_conversation_go_when_another_store_is_picked(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    composer, picker = desktop.window.chat_pane.composer, desktop.window.store_picker
    assert current(desktop) is None and picker.current_store().id == store.id
    video = ready_items(desktop, store.id)[0]
    assert desktop.workspace.add_selection(video["kind"], video["id"], video["name"])
    assert composer.selections() == [video]
    other = next(s for s in desktop.stores.stores() if s.id != store.id and s.ready)
    picker.choose(other.id)  # no conversation open: nothing to ask about
    qtbot.waitUntil(lambda: picker.current_store().id == other.id, timeout=5_000)
    # The first store's video cannot scope a question on the other store.
    assert desktop.workspace.selections() == [] and composer.selections() == []
    assert not composer.chips.isVisible()
    picker.choose(store.id)  # and back: not brought back either (they were dropped)
    assert composer.selections() == []
