"""The whole app, driven by clicks and keys: attempts at one question are versions of one
answer (‹ n / m ›, the newest shown, no stacked partial answer or error line), "Ask again" in
the same session, and a new conversation continued from an answer or from an edited question,
linked back to its origin."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.core.timecode import format_time_range
from jockey_desktop.presentation.selections import item_name
from tests.helpers.app import (
    QUESTION,
    SLOW,
    Started,
    ask_and_fail,
    ask_and_wait,
    ask_via_composer,
    current,
    new_conversation,
    pane_messages,
    settled,
    turn_done,
    wait_for_store,
)
from tests.helpers.faulty_storage import inject_faults
from tests.helpers.views import (
    action_point,
    anchor_in_view,
    click,
    drag_text,
    row_layout,
    text_point,
)

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")

FOLLOW_UP = "Which videos best represent the first theme?"


def _shown_ids(desktop: Any) -> list[int]:
    return [m.id for m in pane_messages(desktop)]


def _answers(desktop: Any, conversation_id: int) -> list[Any]:
    return [m for m in desktop.repo.list_messages(conversation_id) if m.role == Role.ASSISTANT]


def _labels(desktop: Any, message_id: int) -> list[str]:
    layout, _origin = row_layout(desktop.window.chat_pane.chat_view, message_id)
    return [label for _rect, _action, label in layout.actions]


def test_retry_after_an_error_files_a_version_instead_of_stacking(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    conversation_id, question, failed = ask_and_fail(qtbot, desktop)
    view = desktop.window.chat_pane.chat_view
    layout, origin = row_layout(view, failed.id)
    assert layout.retry_rect is not None
    click(qtbot, view, QPointF(origin) + layout.retry_rect.center())
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=15_000)

    newest = _answers(desktop, conversation_id)[-1]
    assert newest.reply_to == question.id and newest.status == MessageStatus.COMPLETE
    # One question, one answer on screen: no red line of the failed attempt above it.
    assert _shown_ids(desktop) == [question.id, newest.id]
    assert _labels(desktop, newest.id)[:3] == ["‹", "2 / 2", "›"]

    click(qtbot, view, action_point(view, newest.id, "version:previous"))
    assert _shown_ids(desktop) == [question.id, failed.id]
    layout, _origin = row_layout(view, failed.id)
    assert "The server failed" in layout.status_text
    assert layout.retry_rect is None, "an earlier attempt offers no second Retry"
    assert _labels(desktop, failed.id)[:3] == ["‹", "1 / 2", "›"]
    click(qtbot, view, action_point(view, failed.id, "version:next"))
    assert _shown_ids(desktop) == [question.id, newest.id]


def test_stop_then_retry_leaves_no_partial_answer_above_the_new_one(
    qtbot: Any, start: Started
) -> None:
    desktop = start(sandbox_pace=SLOW)
    wait_for_store(qtbot, desktop)
    conversation_id = new_conversation(qtbot, desktop)
    composer = desktop.window.chat_pane.composer
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(lambda: any(len(m.text) > 10 for m in pane_messages(desktop)
                                if m.role == Role.ASSISTANT), timeout=10_000)
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)  # Stop
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=10_000)
    stopped = _answers(desktop, conversation_id)[-1]
    assert stopped.status == MessageStatus.CANCELLED
    view = desktop.window.chat_pane.chat_view
    layout, origin = row_layout(view, stopped.id)
    assert layout.retry_rect is not None
    click(qtbot, view, QPointF(origin) + layout.retry_rect.center())
    qtbot.waitUntil(lambda: len(_answers(desktop, conversation_id)) == 2, timeout=10_000)
    # The new attempt takes the row at once, while it streams.
    streaming = _answers(desktop, conversation_id)[-1]
    qtbot.waitUntil(lambda: streaming.id in _shown_ids(desktop), timeout=5_000)
    assert stopped.id not in _shown_ids(desktop)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=20_000)
    assert len([m for m in pane_messages(desktop) if m.role == Role.ASSISTANT]) == 1


def test_ask_again_is_a_new_turn_of_the_same_session_filed_as_a_version(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, FOLLOW_UP)
    session = desktop.repo.get_conversation(conversation_id).session_id
    q1, a1, q2, a2 = desktop.repo.list_messages(conversation_id)
    view = desktop.window.chat_pane.chat_view

    # The tooltip says what the server does with it.
    point = action_point(view, a1.id, "ask_again").toPoint()
    QApplication.sendEvent(view.viewport(), QHelpEvent(
        QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point)))
    assert "linear" in QToolTip.text() and "version" in QToolTip.text()

    click(qtbot, view, action_point(view, a1.id, "ask_again"))
    qtbot.waitUntil(turn_done(desktop, conversation_id, 3), timeout=15_000)
    rows = desktop.repo.list_messages(conversation_id)
    assert [m.id for m in rows if m.role == Role.USER] == [q1.id, q2.id]  # no second row
    again = rows[-1]
    assert again.reply_to == q1.id and again.status == MessageStatus.COMPLETE
    assert again.session_id == session == desktop.repo.get_conversation(
        conversation_id).session_id
    # Shown under its question, the newest version, scrolled to; the later turn below.
    assert _shown_ids(desktop) == [q1.id, again.id, q2.id, a2.id]
    assert view.index_for(again.id).row() in view.visible_rows()
    assert _labels(desktop, again.id)[:3] == ["‹", "2 / 2", "›"]
    assert _labels(desktop, a2.id) == ["Ask again", "Continue in a new conversation"]
    # Revealing an earlier version (a search hit on it) shows it in its question's row.
    assert view.reveal_message(a1.id)
    assert _shown_ids(desktop) == [q1.id, a1.id, q2.id, a2.id]
    assert view.highlighted_message_id() == a1.id
    # The context menu offers the same on an answer.
    center = view.visualRect(view.index_for(a2.id)).center()
    menu = view.build_context_menu(center)
    texts = [a.text() for a in menu.actions()]
    assert "Ask again" in texts and "Continue in a new conversation from here" in texts


def test_continue_in_a_new_conversation_from_an_answer_links_back(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    origin_id = new_conversation(qtbot, desktop)
    item = desktop.chat.client().list_items(store.id, status="ready")[0]
    name = item_name(item.metadata, item.system_metadata, item.id)
    assert desktop.workspace.add_selection("item", item.id, name)
    ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, FOLLOW_UP)
    q1, a1, _q2, _a2 = desktop.repo.list_messages(origin_id)
    origin = desktop.repo.get_conversation(origin_id)
    view = desktop.window.chat_pane.chat_view
    pane = desktop.window.chat_pane

    click(qtbot, view, action_point(view, a1.id, "fork"))
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    fork = desktop.repo.get_conversation(current(desktop))
    assert (fork.origin_conversation_id, fork.origin_message_id) == (origin_id, a1.id)
    assert fork.store_id == origin.store_id and fork.session_id is None
    # Seeded with a recap up to that answer (not the later turn) and the same selections.
    assert "continues an earlier one" in fork.instructions
    assert a1.text[:40] in fork.instructions and FOLLOW_UP not in fork.instructions
    assert pane.composer.selections() == [{"kind": "item", "id": item.id, "name": name}]
    assert pane.origin_link.isVisible()
    assert pane.origin_link.text().startswith(f"↩ Continued from “{origin.title[:30]}")

    ask_and_wait(qtbot, desktop, "And which one is the most surprising?")
    fork = desktop.repo.get_conversation(fork.id)
    assert fork.session_id and fork.session_id != origin.session_id  # a new session
    question = desktop.repo.list_messages(fork.id)[0]
    assert question.selections == [{"kind": "item", "id": item.id, "name": name}]

    qtbot.mouseClick(pane.origin_link, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: current(desktop) == origin_id, timeout=5_000)
    assert view.highlighted_message_id() == a1.id
    assert view.index_for(a1.id).row() in view.visible_rows()
    assert not pane.origin_link.isVisible()
    assert q1.id in _shown_ids(desktop)


def test_edit_and_ask_starts_a_new_conversation_with_the_question(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    origin_id = ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, FOLLOW_UP)
    _q1, a1, q2, _a2 = desktop.repo.list_messages(origin_id)
    view = desktop.window.chat_pane.chat_view
    composer = desktop.window.chat_pane.composer

    menu = view.build_context_menu(view.visualRect(view.index_for(q2.id)).center())
    edit = next(a for a in menu.actions() if a.text() == "Edit and ask…")
    edit.trigger()
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    fork_id = current(desktop)
    fork = desktop.repo.get_conversation(fork_id)
    assert (fork.origin_conversation_id, fork.origin_message_id) == (origin_id, q2.id)
    assert a1.text[:40] in fork.instructions and FOLLOW_UP not in fork.instructions
    qtbot.waitUntil(lambda: composer.text() == FOLLOW_UP, timeout=5_000)
    assert desktop.repo.list_messages(fork_id) == []  # nothing asked until Enter

    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(composer.edit, " in one line?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(turn_done(desktop, fork_id, 1), timeout=15_000)
    question, answer = desktop.repo.list_messages(fork_id)
    assert question.text == FOLLOW_UP[:-1] + " in one line?"
    assert answer.status == MessageStatus.COMPLETE
    assert settled(desktop)


def test_chips_markers_and_the_export_share_the_markers_numbers(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    answer = _answers(desktop, conversation_id)[-1]
    assert len(answer.citations) >= 2
    view = desktop.window.chat_pane.chat_view
    layout, _origin = row_layout(view, answer.id)
    # Each chip reads the number of its citation's [N] marker in the text.
    for (_rect, index, _label), number in zip(layout.chips, layout.chip_numbers, strict=True):
        citation = answer.citations[index]
        marker = answer.text[citation["marker_start"]:citation["marker_end"]]
        assert marker == f"[{number}]"
    # The marker's tooltip: its number, the video's title and the cited range.
    last = max(range(len(answer.citations)),
               key=lambda i: answer.citations[i]["marker_start"])
    citation = answer.citations[last]
    point = anchor_in_view(qtbot, view, answer.id, f"cite:{last}", in_text=True).toPoint()
    QApplication.sendEvent(view.viewport(), QHelpEvent(
        QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point)))
    marker = answer.text[citation["marker_start"]:citation["marker_end"]]
    assert QToolTip.text().startswith(f"<qt>{marker} {citation['title']} · ")
    assert format_time_range(citation["start_sec"], citation["end_sec"]) in QToolTip.text()
    # Copy conversation (Markdown): the sources numbered the same way.
    clipboard = QApplication.clipboard()
    clipboard.clear()
    desktop.window.sig_copy_conversation.emit(conversation_id)
    qtbot.waitUntil(lambda: "**Sources**" in clipboard.text(), timeout=5_000)
    sources = clipboard.text().split("**Sources**", 1)[1]
    assert f"\n{marker[1:-1]}. {citation['title']} " in sources
    assert "\n- " not in sources.split("**", 1)[0]


def test_a_wide_window_keeps_a_centred_reading_column_and_question_lines(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    desktop.window.resize(1600, 900)
    conversation_id = new_conversation(qtbot, desktop)
    composer = desktop.window.chat_pane.composer
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "What are the main themes?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "Keep it short.")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)
    question, answer = desktop.repo.list_messages(conversation_id)
    assert question.text == "What are the main themes?\nKeep it short."
    view = desktop.window.chat_pane.chat_view
    delegate = view.message_delegate
    viewport = view.viewport().width()
    assert viewport > 1100
    column = delegate.view_width()
    # About 90 characters wide, centred.
    chars = column / view.fontMetrics().averageCharWidth()
    assert 80 <= chars <= 100 and column < viewport - 300
    assert abs(delegate.column_offset() * 2 + column - viewport) <= 1
    layout, origin = row_layout(view, answer.id)
    assert layout.document is not None and layout.document.textWidth() <= column
    assert origin.x() == delegate.column_offset()
    # The question keeps its two lines in its bubble.
    layout, _origin = row_layout(view, question.id)
    assert layout.document is not None
    lines = sum(layout.document.findBlockByNumber(b).layout().lineCount()
                for b in range(layout.document.blockCount()))
    assert lines == 2
    assert layout.document.toPlainText().splitlines() == ["What are the main themes?",
                                                          "Keep it short."]


def _plain(desktop: Any, message_id: int) -> str:
    view = desktop.window.chat_pane.chat_view
    layout, _origin = row_layout(view, message_id)
    return "\n".join(d.toPlainText() for _y, d in layout.parts)


def test_text_is_selected_by_mouse_and_keys_and_copied_as_plain_text(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    desktop.window.resize(1200, 1000)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    ask_and_wait(qtbot, desktop, "Which one is the longest? Answer briefly.")
    q1, a1, q2, a2 = desktop.repo.list_messages(conversation_id)
    view = desktop.window.chat_pane.chat_view
    viewport = view.viewport()
    clipboard = QApplication.clipboard()
    left = Qt.MouseButton.LeftButton

    # Inside one message: a drag over part of the last answer's first line.
    text = _plain(desktop, a2.id)
    start_at, end_at = 4, text.index("\n") if "\n" in text[:60] else 30
    end_at = min(end_at, 30)
    drag_text(qtbot, view, (a2.id, start_at), (a2.id, end_at))
    assert view.has_text_selection()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == text[start_at:end_at]
    assert desktop.window.chat_pane.current_conversation_id() == conversation_id  # no link

    # Across messages: from inside the second question to inside the last answer.
    question = _plain(desktop, q2.id)
    drag_text(qtbot, view, (q2.id, 6), (a2.id, 12))
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == f"{question[6:]}\n\n{text[:12]}"
    assert "**" not in clipboard.text()

    # A double click takes a word.
    word_start = question.index("one")
    qtbot.mouseDClick(viewport, left, pos=text_point(view, q2.id, word_start + 1).toPoint())
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == "one"

    # The keyboard: a click puts the anchor, Shift+Right takes five characters.
    qtbot.mouseClick(viewport, left, pos=text_point(view, q1.id, 0).toPoint())
    assert not view.has_text_selection()
    for _ in range(5):
        qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == QUESTION[:5]
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text().startswith(QUESTION + "\n\n")  # on into the answer

    # Ctrl+A: the whole transcript as plain text; Copy as Markdown stays its own action.
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = clipboard.text()
    assert copied.startswith(QUESTION) and copied.endswith(_plain(desktop, a2.id).rstrip())
    assert _plain(desktop, a1.id)[:50] in copied and "](" not in copied
    menu = view.build_context_menu(view.visualRect(view.index_for(a1.id)).center())
    actions = {a.text(): a for a in menu.actions()}
    assert actions["Copy"].isEnabled()
    actions["Copy as Markdown"].trigger()
    assert clipboard.text() == a1.text


def test_a_fork_on_a_full_disk_says_so_and_works_once_there_is_space(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty = inject_faults(monkeypatch)
    desktop = start()
    repo = faulty[0]
    wait_for_store(qtbot, desktop)
    origin_id = ask_and_wait(qtbot, desktop, QUESTION)
    answer = _answers(desktop, origin_id)[-1]
    view = desktop.window.chat_pane.chat_view
    repo.disk_full = True
    click(qtbot, view, action_point(view, answer.id, "fork"))
    status = desktop.window.statusBar()
    qtbot.waitUntil(lambda: "could not be started" in status.currentMessage(), timeout=5_000)
    assert "disk" in status.currentMessage().lower()
    assert current(desktop) == origin_id and repo.real.count_conversations() == 1
    repo.disk_full = False
    click(qtbot, view, action_point(view, answer.id, "fork"))
    qtbot.waitUntil(lambda: current(desktop) not in (None, origin_id), timeout=5_000)
    assert repo.real.get_conversation(current(desktop)).origin_message_id == answer.id
