"""Tests of transcript windowing: a long conversation opens with only its newest page as rows,
older pages are prepended when the user scrolls to the top (no message lost or duplicated,
the text being read stays put), and whole-conversation actions still see every message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint

from jockey_desktop.core.storage import Repository, open_repository
from jockey_desktop.core.storage.models import Message, Role
from jockey_desktop.ui.chat_pane import ChatPane
from jockey_desktop.ui.chat_view import PAGE_SIZE, ChatView
from tests.helpers.records import make_message
from tests.helpers.views import settle

# The offscreen platform cannot pass a top-level window's size hints on (the pane is one here).
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

TEXT = "A paragraph about the video that wraps over a couple of lines in a narrow view.\n\n- a\n"


def transcript(count: int) -> list[Message]:
    return [make_message(i, Role.USER if i % 2 else Role.ASSISTANT, f"#{i} " + TEXT * (i % 3 + 1))
            for i in range(1, count + 1)]


def row_ids(view: ChatView) -> list[int]:
    model = view.message_model
    return [model.message_at(row).id for row in range(model.rowCount())]  # type: ignore[union-attr]


def visible_tops(view: ChatView) -> dict[int, int]:
    """message id -> top of its row in viewport coordinates, for the rows on screen."""
    model = view.message_model
    return {model.message_at(row).id: view.visualRect(model.index(row, 0)).top()  # type: ignore
            for row in view.visible_rows()}


def scroll_to_top_and_load(qtbot: Any, view: ChatView) -> None:
    """Scroll to the very top like a user dragging the bar, wait for the next page."""
    rows = view.message_model.rowCount()
    view.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: view.message_model.rowCount() > rows, timeout=3000)
    settle(qtbot, view)


def test_opening_shows_only_the_newest_page(qtbot: Any, view: ChatView) -> None:
    view.set_messages(transcript(250))
    settle(qtbot, view)
    assert row_ids(view) == list(range(251 - PAGE_SIZE, 251))
    assert view.has_older()
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum() and view.is_following()
    # Whole-conversation views (copy, header) still see everything, in order.
    assert [m.id for m in view.loaded_messages()] == list(range(1, 251))


def test_scrolling_to_the_top_loads_older_pages_and_keeps_position(
    qtbot: Any, view: ChatView
) -> None:
    view.set_messages(transcript(250))
    settle(qtbot, view)
    bar = view.verticalScrollBar()
    # Near the top, but not at 0: the rows on screen must not move when a page is prepended.
    bar.setValue(5)
    viewport = view.viewport().rect()
    anchor = view.indexAt(QPoint(viewport.width() // 2, viewport.bottom() - 1))
    anchor_id, anchor_top = anchor.row() + 251 - PAGE_SIZE, view.visualRect(anchor).top()
    settle(qtbot, view)
    assert view.message_model.rowCount() == 2 * PAGE_SIZE
    # The row the user reads (the lowest on screen) did not move when the page went in above.
    assert visible_tops(view)[anchor_id] == anchor_top
    assert not view.is_following()
    # Settled just outside the "near the top" zone (all rows on screen measured exactly),
    # a prepended page must not move any of them.
    bar.setValue(view.viewport().height() + 150)
    settle(qtbot, view)
    rows_before = view.message_model.rowCount()
    before = visible_tops(view)
    assert before and rows_before == 2 * PAGE_SIZE
    assert view.load_older() == 50
    settle(qtbot, view)
    assert visible_tops(view) == before
    assert row_ids(view) == list(range(1, 251))  # nothing lost, nothing twice
    assert not view.has_older()
    rows = view.message_model.rowCount()
    bar.setValue(0)
    settle(qtbot, view)
    assert view.message_model.rowCount() == rows  # the start: nothing more to load


def test_pages_come_from_the_repository_loader(qtbot: Any, tmp_path: Path) -> None:
    repo: Repository = open_repository(tmp_path / "chat.db", tmp_path / "backups")
    try:
        conversation = repo.create_conversation("store", "Store")
        for n in range(230):
            repo.add_user_message(conversation.id, f"question {n}\n\n" + TEXT)
        expected = [m.id for m in repo.list_messages(conversation.id)]
        calls: list[tuple[int, int]] = []

        def load_older(before_id: int, limit: int) -> list[Message]:
            calls.append((before_id, limit))
            return repo.list_messages_page(conversation.id, limit=limit, before_id=before_id)

        pane = ChatPane()
        qtbot.addWidget(pane)
        pane.resize(760, 820)
        pane.show()
        qtbot.waitExposed(pane)
        view = pane.chat_view
        newest = repo.list_messages_page(conversation.id, limit=PAGE_SIZE)
        pane.show_conversation(conversation, newest, load_older=load_older)
        settle(qtbot, view)
        assert row_ids(view) == expected[-PAGE_SIZE:] and calls == []
        while view.has_older():
            scroll_to_top_and_load(qtbot, view)
        assert row_ids(view) == expected
        # Each page asked for what lies before the first row it had.
        assert [before for before, _limit in calls][:2] == [
            expected[-PAGE_SIZE], expected[-2 * PAGE_SIZE]]
        assert all(limit == PAGE_SIZE for _before, limit in calls)
        repo.add_user_message(conversation.id, "a new question")
    finally:
        repo.close()


def test_a_short_window_fills_the_viewport_from_older_pages(qtbot: Any, view: ChatView) -> None:
    messages = [make_message(i, Role.USER, f"q{i}") for i in range(1, 31)]
    view.set_messages(messages, page_size=3)
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0 or not view.has_older(),
                    timeout=3000)
    settle(qtbot, view)
    ids = row_ids(view)
    assert len(ids) > 3 and ids == list(range(31 - len(ids), 31))
    assert view.message_model.message_at(max(view.visible_rows())).id == 30  # still at the end


def test_new_rows_and_stream_text_after_paging(qtbot: Any, view: ChatView) -> None:
    view.set_messages(transcript(150))
    settle(qtbot, view)
    view.message_model.append(make_message(151, Role.USER, "new question"))
    view.load_older()
    assert row_ids(view) == list(range(1, 152))
    assert view.message_model.prepend(transcript(3)) == 0  # already shown: never twice
    assert row_ids(view) == list(range(1, 152))
    index = view.index_for(151)
    assert index.isValid() and index.row() == 150
    view.viewport().update()
    settle(qtbot, view)
    assert view.indexAt(QPoint(5, view.viewport().height() - 5)).row() >= 149


def test_update_of_a_message_above_the_window_stays_in_place(qtbot: Any, view: ChatView) -> None:
    view.set_messages(transcript(150))
    old = make_message(10, Role.USER, "edited status far up")
    assert view.replace_older(old)
    assert view.message_model.rowCount() == PAGE_SIZE  # not appended at the end
    assert not view.replace_older(make_message(999, Role.USER, "new"))
    view.load_older()
    assert row_ids(view) == list(range(1, 151))
    assert view.message_model.message_at(9).text == "edited status far up"  # type: ignore
