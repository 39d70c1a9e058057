"""Tests of the Composer: keys, limits, counter, busy state and draft signals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from jockey_desktop.ui.composer import BUSY_HINT, DRAFT_DEBOUNCE_MS, HARD_LIMIT, Composer

# The offscreen platform cannot pass a top-level window's size limits on; not our warning.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def composer(qtbot: Any) -> Iterator[Composer]:
    """A shown composer with focus in its text field."""
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.edit.setFocus()
    yield widget


def test_enter_sends_and_clears(qtbot: Any, composer: Composer) -> None:
    qtbot.keyClicks(composer.edit, "Hello there")
    with qtbot.waitSignal(composer.sig_send_requested) as blocker:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert blocker.args == ["Hello there"]
    assert composer.text() == ""
    assert not composer.send_button.isEnabled()


def test_shift_enter_adds_a_newline(qtbot: Any, composer: Composer) -> None:
    sent: list[str] = []
    composer.sig_send_requested.connect(sent.append)
    qtbot.keyClicks(composer.edit, "line one")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "line two")
    assert sent == []
    assert composer.text() == "line one\nline two"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert sent == ["line one\nline two"]


def test_empty_or_blank_cannot_be_sent(qtbot: Any, composer: Composer) -> None:
    sent: list[str] = []
    composer.sig_send_requested.connect(sent.append)
    assert not composer.send_button.isEnabled()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.keyClicks(composer.edit, "   ")
    assert not composer.send_button.isEnabled()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    composer.submit()
    assert sent == []
    qtbot.keyClicks(composer.edit, "x")
    assert composer.send_button.isEnabled()


def test_counter_and_limit(qtbot: Any, composer: Composer) -> None:
    sent: list[str] = []
    composer.sig_send_requested.connect(sent.append)
    composer.edit.setPlainText("a" * 8999)
    assert composer.counter_label.isHidden()
    composer.edit.setPlainText("a" * 9512)
    assert composer.counter_label.isVisible()
    assert composer.counter_label.text() == "9,512 / 10,000"
    composer.edit.setPlainText("a" * 10_000)
    composer.submit()
    assert sent == ["a" * 10_000]

    composer.edit.setPlainText("b" * 10_001)
    composer.submit()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert len(sent) == 1  # refused
    assert composer.reason() == (
        "Messages are limited to 10,000 characters — this one has 10,001."
    )
    assert composer.text() == "b" * 10_001  # nothing lost
    composer.edit.setPlainText("b" * 10_250)
    assert composer.reason().endswith("this one has 10,250.")
    composer.edit.setPlainText("short")
    assert composer.reason() == ""


def test_busy_turns_send_into_stop_and_esc_stops(qtbot: Any, composer: Composer) -> None:
    composer.set_busy(True)
    assert composer.send_button.text() == "Stop"
    assert composer.send_button.isEnabled()
    assert composer.send_button.accessibleName() == "Stop answer"
    with qtbot.waitSignal(composer.sig_stop_requested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    with qtbot.waitSignal(composer.sig_stop_requested):
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    # Typing stays possible, but Enter explains instead of sending a second question.
    sent: list[str] = []
    composer.sig_send_requested.connect(sent.append)
    qtbot.keyClicks(composer.edit, "next")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == [] and composer.reason() == BUSY_HINT and composer.text() == "next"
    composer.set_busy(False)
    assert composer.send_button.text() == "Send" and composer.reason() == ""
    stops: list[bool] = []
    composer.sig_stop_requested.connect(lambda: stops.append(True))
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    assert stops == []  # Esc does nothing when idle


def test_set_text_does_not_emit_draft_change(qtbot: Any, composer: Composer) -> None:
    drafts: list[str] = []
    composer.sig_draft_changed.connect(drafts.append)
    composer.set_text("loaded draft")
    qtbot.wait(DRAFT_DEBOUNCE_MS + 150)
    assert drafts == []
    assert composer.text() == "loaded draft"
    assert composer.send_button.isEnabled()


def test_typing_emits_debounced_draft(qtbot: Any, composer: Composer) -> None:
    drafts: list[str] = []
    composer.sig_draft_changed.connect(drafts.append)
    qtbot.keyClicks(composer.edit, "abc")
    assert drafts == []  # debounced, not one per key
    qtbot.waitUntil(lambda: drafts == ["abc"], timeout=2000)


def test_flush_draft_delivers_pending_change_once(qtbot: Any, composer: Composer) -> None:
    drafts: list[str] = []
    composer.sig_draft_changed.connect(drafts.append)
    qtbot.keyClicks(composer.edit, "xy")
    composer.flush_draft()
    assert drafts == ["xy"]
    composer.set_text("other")  # a pending timer would otherwise fire now
    qtbot.wait(DRAFT_DEBOUNCE_MS + 100)
    composer.flush_draft()
    assert drafts == ["xy"]


def test_placeholder_names_the_store(composer: Composer) -> None:
    composer.set_store_name("ML Lectures")
    assert composer.edit.placeholderText() == \
        "Ask about the videos in ML Lectures… (@ picks a video)"


def test_restore_unsent_after_refusal(qtbot: Any, composer: Composer) -> None:
    qtbot.keyClicks(composer.edit, "question")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert composer.text() == ""
    composer.restore_unsent()
    assert composer.text() == "question"


# --- huge pastes ---------------------------------------------------------------------------


@pytest.fixture
def windowed_composer(qtbot: Any) -> Iterator[Composer]:
    """A composer inside a window, as in the app: a top-level composer that grows would ask
    the offscreen platform for size hints it does not support (a Qt warning)."""
    window = QWidget()
    layout = QVBoxLayout(window)
    widget = Composer(window)
    layout.addWidget(widget)
    qtbot.addWidget(window)
    window.resize(700, 400)
    window.show()
    qtbot.waitExposed(window)
    widget.edit.setFocus()
    yield widget


def test_a_two_million_character_paste_is_cut_with_the_reason(
    qtbot: Any, windowed_composer: Composer
) -> None:
    windowed_composer.set_text("Intro: ")
    mime = QMimeData()
    mime.setText("x" * 2_000_000)  # one long line, the worst case for layout
    assert windowed_composer.edit.canInsertFromMimeData(mime)
    windowed_composer.edit.insertFromMimeData(mime)
    qtbot.wait(1)  # the resulting layout and repaint
    assert len(windowed_composer.text()) == HARD_LIMIT
    assert windowed_composer.text().startswith("Intro: x")
    assert "Only the first 19,993 of 2,000,000 pasted characters" in windowed_composer.reason()
    assert not windowed_composer.can_send()  # still over the API's limit: trim it first


def test_a_paste_replacing_a_selection_gets_the_selection_s_room(
    windowed_composer: Composer,
) -> None:
    windowed_composer.set_text("a" * HARD_LIMIT)
    windowed_composer.edit.selectAll()
    mime = QMimeData()
    mime.setText("short question")
    windowed_composer.edit.insertFromMimeData(mime)
    assert windowed_composer.text() == "short question"
    assert windowed_composer.reason() == ""


def test_direct_edits_of_the_field_are_cut_too(windowed_composer: Composer) -> None:
    windowed_composer.edit.setPlainText("z" * 2_000_000)
    assert len(windowed_composer.text()) == HARD_LIMIT
    assert "2,000,000" in windowed_composer.reason()
    windowed_composer.edit.insertPlainText("more")
    assert len(windowed_composer.text()) == HARD_LIMIT


def test_set_text_cuts_a_huge_draft(windowed_composer: Composer) -> None:
    windowed_composer.set_text("y" * 500_000)
    assert len(windowed_composer.text()) == HARD_LIMIT
    assert "500,000" in windowed_composer.reason()


def test_send_and_stop_leave_the_focus_in_the_question_box(
    qtbot: Any, windowed_composer: Composer
) -> None:
    composer = windowed_composer
    window = composer.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "First question")
    # A click on Send: the question goes, the focus stays where the next one is typed.
    with qtbot.waitSignal(composer.sig_send_requested):
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert composer.edit.hasFocus()
    # Tabbed to and pressed, Stop turns into a disabled Send: the focus comes back to the
    # box instead of moving on to "Also search the web" (where typing was lost).
    composer.set_busy(True)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    assert composer.send_button.hasFocus()
    with qtbot.waitSignal(composer.sig_stop_requested):
        qtbot.keyClick(composer.send_button, Qt.Key.Key_Space)
    composer.set_busy(False)  # the answer stopped
    assert composer.edit.hasFocus() and not composer.web_search_box.hasFocus()
    qtbot.keyClicks(composer.edit, "abc")
    assert composer.text() == "abc" and not composer.web_search()
