"""Selecting transcript text with the mouse and keys (issue 14 item 7): a drag held past the
top or bottom edge keeps scrolling and extending the selection, a triple click takes a
paragraph, an answer streaming in leaves a selection above it alone, and the text of an
answer's web sources and Steps list is selected and copied like the answer's (the Steps
toggle, "Show all" and chips are controls, never text)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from jockey_desktop.core.api import Step
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.core.web_sources import record_web_sources
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.steps_view import TOGGLE_HREF
from tests.helpers.app import (
    QUESTION,
    SLOW,
    Started,
    ask_and_wait,
    ask_via_composer,
    turn_done,
    wait_for_store,
)
from tests.helpers.records import make_message
from tests.helpers.views import (
    anchor_in_view,
    drag_text,
    extras_text_point,
    row_layout,
    settle,
    text_point,
)

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")

LEFT = Qt.MouseButton.LeftButton
SECOND = "Which one is the longest? Answer briefly."


def _plain(view: Any, message_id: int) -> str:
    """A row's text as the transcript reads it (its documents' plain text)."""
    layout, _origin = row_layout(view, message_id)
    return "\n".join(d.toPlainText() for _y, d in layout.parts)


def _copy(qtbot: Any, view: Any) -> str:
    QApplication.clipboard().clear()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    return QApplication.clipboard().text()


def _two_turns(qtbot: Any, start: Started, height: int = 420) -> tuple[Any, list[Any]]:
    desktop = start()
    wait_for_store(qtbot, desktop)
    desktop.window.resize(1000, height)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, SECOND)
    return desktop, desktop.repo.list_messages(conversation_id)


def test_a_drag_held_past_the_bottom_edge_scrolls_on_and_selects_to_the_end(
    qtbot: Any, start: Started
) -> None:
    desktop, (q1, _a1, _q2, a2) = _two_turns(qtbot, start)
    view = desktop.window.chat_pane.chat_view
    viewport = view.viewport()
    bar = view.verticalScrollBar()
    bar.setValue(0)
    # Much taller than the window: one mouse move's worth (60 px) cannot get there.
    assert bar.maximum() > 5 * 60

    press = text_point(view, q1.id, 0).toPoint()
    qtbot.mousePress(viewport, LEFT, pos=press)
    below = QPoint(press.x(), viewport.height() + 60)
    qtbot.mouseMove(viewport, below)  # then held still: the timer scrolls on
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and bar.maximum() > 0,
                    timeout=15_000)
    assert view.is_scrolling_drag()
    qtbot.mouseRelease(viewport, LEFT, pos=below)
    assert not view.is_scrolling_drag()
    value = bar.value()
    qtbot.wait(100)
    assert bar.value() == value  # released: no more scrolling

    copied = _copy(qtbot, view)
    assert copied.startswith(QUESTION + "\n\n")
    assert copied.endswith(_plain(view, a2.id).rstrip())


def test_a_drag_held_past_the_top_edge_scrolls_back_and_selects_to_the_start(
    qtbot: Any, start: Started
) -> None:
    desktop, (_q1, _a1, q2, a2) = _two_turns(qtbot, start)
    view = desktop.window.chat_pane.chat_view
    viewport = view.viewport()
    bar = view.verticalScrollBar()
    view.scroll_to_end()
    assert bar.maximum() > 3 * 124  # more than the two mouse moves would scroll

    answer = _plain(view, a2.id)
    press = text_point(view, a2.id, 10).toPoint()
    qtbot.mousePress(viewport, LEFT, pos=press)
    # A little past the edge first: it creeps; farther out it goes faster.
    qtbot.mouseMove(viewport, QPoint(press.x(), -4))
    qtbot.waitUntil(lambda: bar.value() < bar.maximum(), timeout=5_000)
    qtbot.mouseMove(viewport, QPoint(press.x(), -120))
    qtbot.waitUntil(lambda: bar.value() == 0, timeout=15_000)
    qtbot.mouseRelease(viewport, LEFT, pos=QPoint(press.x(), -120))

    copied = _copy(qtbot, view)
    assert copied.startswith(QUESTION + "\n\n")
    assert f"\n\n{_plain(view, q2.id)}\n\n" in copied
    assert copied.endswith(answer[:10])


def test_a_triple_click_selects_the_paragraph_under_the_pointer(
    qtbot: Any, start: Started
) -> None:
    desktop, (_q1, a1, q2, _a2) = _two_turns(qtbot, start, height=900)
    view = desktop.window.chat_pane.chat_view
    viewport = view.viewport()
    text = _plain(view, a1.id)
    paragraphs = [line for line in text.split("\n") if len(line) > 12]
    assert len(paragraphs) >= 2, text
    paragraph = paragraphs[1]  # not the first: the whole answer would start there too
    at = text_point(view, a1.id, text.index(paragraph) + 5).toPoint()

    qtbot.mouseDClick(viewport, LEFT, pos=at)
    word = _copy(qtbot, view)
    assert word and word in paragraph and word != paragraph  # a double click: one word
    qtbot.mousePress(viewport, LEFT, pos=at)  # the third click
    qtbot.mouseRelease(viewport, LEFT, pos=at)
    assert _copy(qtbot, view) == paragraph.replace("\u2028", "\n")

    # The question bubble: its whole text is its one paragraph.
    at = text_point(view, q2.id, 3).toPoint()
    qtbot.mouseDClick(viewport, LEFT, pos=at)
    qtbot.mousePress(viewport, LEFT, pos=at)
    qtbot.mouseRelease(viewport, LEFT, pos=at)
    assert _copy(qtbot, view) == SECOND

    # A click long after a double click is a click: it puts the anchor, selects nothing.
    qtbot.mouseDClick(viewport, LEFT, pos=at)
    qtbot.mouseClick(viewport, LEFT, pos=at, delay=QApplication.doubleClickInterval() + 50)
    assert not view.has_text_selection()


def _one_slow_answer(qtbot: Any, start: Started) -> tuple[Any, int, Any]:
    """An app whose answers stream slowly, one question answered: (desktop, conversation
    id, the answer)."""
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    desktop.window.resize(1000, 700)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    _q1, a1 = desktop.repo.list_messages(conversation_id)
    return desktop, conversation_id, a1


def test_a_streaming_answer_leaves_a_selection_in_an_earlier_message_alone(
    qtbot: Any, start: Started
) -> None:
    desktop, conversation_id, a1 = _one_slow_answer(qtbot, start)
    view = desktop.window.chat_pane.chat_view
    answer = _plain(view, a1.id)

    # Part of the first answer, by a drag.
    drag_text(qtbot, view, (a1.id, 3), (a1.id, 25))
    selected = answer[3:25]
    assert _copy(qtbot, view) == selected
    selection = view.text_selection()

    ask_via_composer(desktop, SECOND)

    def streaming_text() -> str:
        rows = view.message_model.messages()
        last = rows[-1] if rows else None
        if last is None or last.id == a1.id or last.status is not MessageStatus.STREAMING:
            return ""
        return last.text

    # While words arrive (several updates of the new answer), the selection stays put.
    qtbot.waitUntil(lambda: len(streaming_text().split()) >= 3, timeout=10_000)
    seen = streaming_text()
    qtbot.waitUntil(lambda: len(streaming_text()) > len(seen) + 10, timeout=10_000)
    assert view.text_selection() == selection
    assert view.selected_plain_text() == selected

    # Text selected in the answer while it streams (drawn as several paragraphs) is the
    # same text once the answer is whole (one document).
    qtbot.waitUntil(lambda: len(streaming_text()) > 160, timeout=10_000)
    a2 = view.message_model.messages()[-1]
    drag_text(qtbot, view, (a2.id, 5), (a2.id, 150))
    now = view.message_model.message(a2.id)
    assert now is not None and now.status is MessageStatus.STREAMING
    assert len(row_layout(view, a2.id)[0].parts) > 1  # drawn as several paragraphs
    while_streaming = _copy(qtbot, view)
    assert len(while_streaming) > 100 and "\n\n" not in while_streaming
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=20_000)
    assert len(row_layout(view, a2.id)[0].parts) == 1
    assert _copy(qtbot, view) == while_streaming


def test_a_drag_during_streaming_holds_the_text_under_the_pointer_still(
    qtbot: Any, start: Started
) -> None:
    desktop, conversation_id, a1 = _one_slow_answer(qtbot, start)
    view = desktop.window.chat_pane.chat_view
    viewport = view.viewport()
    bar = view.verticalScrollBar()
    answer = _plain(view, a1.id)
    start_at, end_at = len(answer) - 40, len(answer) - 10

    ask_via_composer(desktop, SECOND)
    rows = view.message_model.messages
    qtbot.waitUntil(lambda: len(rows()) == 4 and len(rows()[-1].text.split()) >= 2,
                    timeout=10_000)
    view.scroll_to_end()
    # Where those characters are now, without scrolling the view off the end.
    press, release = (text_point(view, a1.id, p, scroll=False).toPoint()
                      for p in (start_at, end_at))
    assert view.is_following() and viewport.rect().contains(press)

    qtbot.mousePress(viewport, LEFT, pos=press)
    grown = len(rows()[-1].text)
    value = bar.value()
    # Lines arrive below while the button is held: the view does not follow them.
    qtbot.waitUntil(lambda: len(rows()[-1].text) > grown + 200, timeout=10_000)
    qtbot.wait(50)
    assert bar.value() == value and bar.maximum() > value
    qtbot.mouseMove(viewport, release)
    qtbot.mouseRelease(viewport, LEFT, pos=release)
    assert _copy(qtbot, view) == answer[start_at:end_at]
    assert not view.is_following()  # the selection stays on screen as the answer grows
    value = bar.value()
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=20_000)
    assert bar.value() == value
    assert _copy(qtbot, view) == answer[start_at:end_at]


WOLVES = "Wolves hunt in packs [1]."
COMMENTARY = "Looking for scenes with hunting."
LONG_OUTPUT = "\n".join(f"result {n}: a wolf chases an elk" for n in range(40))
WOLF_STEPS = [
    Step("commentary", "m0", 0, "completed", text=COMMENTARY),
    Step("function_call", "fc1", 1, "completed", name="search_knowledge_store",
         arguments='{"query": "hunting"}'),
    Step("function_call_output", "fo2", 2, "completed", output=LONG_OUTPUT),
]
WEB = [{"url": "https://example.org/wolves", "title": "Wolves: an overview",
        "marker_start": WOLVES.index("[1]"), "marker_end": WOLVES.index("[1]") + 3}]


def test_the_steps_list_and_web_sources_are_selected_and_copied_as_text(
    qtbot: Any, view: ChatView
) -> None:
    steps = record_web_sources([s.to_dict() for s in WOLF_STEPS], WEB)
    view.set_messages([make_message(1, Role.USER, "How do wolves hunt?"),
                       make_message(2, Role.ASSISTANT, WOLVES, steps=steps)])
    settle(qtbot, view)
    viewport = view.viewport()
    qtbot.mouseClick(viewport, LEFT, pos=anchor_in_view(qtbot, view, 2, TOGGLE_HREF).toPoint())
    settle(qtbot, view)
    assert view.message_delegate.steps_expanded(2)
    layout, _origin = row_layout(view, 2)
    assert layout.extras is not None
    assert "Show all" in "".join(d.toPlainText() for _o, d in layout.extras.documents)

    # Inside the list: from the commentary into the tool call's arguments.
    press = extras_text_point(view, 2, COMMENTARY, 8).toPoint()
    release = extras_text_point(view, 2, '"query"', 3).toPoint()
    assert viewport.rect().contains(press) and viewport.rect().contains(release)
    qtbot.mousePress(viewport, LEFT, pos=press)
    qtbot.mouseMove(viewport, release)
    qtbot.mouseRelease(viewport, LEFT, pos=release)
    copied = _copy(qtbot, view)
    assert copied.startswith(COMMENTARY[8:]) and copied.endswith('"qu')
    assert "search_knowledge_store" in copied and "Steps (" not in copied
    assert view.message_delegate.steps_expanded(2)  # a drag over the list toggles nothing

    # From the question, over the answer, its web sources and the whole list.
    qtbot.mousePress(viewport, LEFT, pos=text_point(view, 1, 4).toPoint())
    end = extras_text_point(view, 2, "result 2:", 6).toPoint()
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, LEFT, pos=end)
    copied = _copy(qtbot, view)
    assert copied.startswith("do wolves hunt?\n\nWolves hunt in packs [1].\n\nFrom the web")
    assert "Wolves: an overview" in copied and COMMENTARY in copied
    assert copied.endswith("result 0: a wolf chases an elk\nresult 1: a wolf chases an elk\n"
                           "result")
    assert "Steps (" not in copied and "Show all" not in copied

    # A triple click on a tool output takes it whole (as far as it is shown).
    at = extras_text_point(view, 2, "result 1:", 3).toPoint()
    qtbot.mouseDClick(viewport, LEFT, pos=at)
    qtbot.mousePress(viewport, LEFT, pos=at)
    qtbot.mouseRelease(viewport, LEFT, pos=at)
    copied = _copy(qtbot, view)
    assert copied.startswith("result 0: a wolf chases an elk\nresult 1:")
    assert "Show all" not in copied and COMMENTARY not in copied

    # Ctrl+A copies the list too, and still not its controls.
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    copied = _copy(qtbot, view)
    assert COMMENTARY in copied and '"query": "hunting"' in copied
    assert "Steps (" not in copied and "Show all" not in copied
