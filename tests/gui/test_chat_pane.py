"""Tests of ChatPane (header, contract API, drafts, moments) and light/dark screenshots."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.session import SessionState
from jockey_desktop.presentation.transcript import PICK_A_STORE_TO_ASK
from jockey_desktop.ui.chat_pane import EMPTY_PLACEHOLDER, ChatPane
from tests.helpers.accessibility import announced_name
from tests.helpers.records import answer_with_citations, make_conversation, make_message
from tests.helpers.views import dark_palette, row_layout, settle

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def sample_conversation() -> list[Message]:
    """A transcript exercising every row kind."""
    now = time.time()
    answer = answer_with_citations(2, created_at=now - 400, updated_at=now - 388)
    answer.text = (
        "The presenter explains **gradient descent** early [1] and revisits it later [2], "
        "then once more [1].\n\n- Step size matters\n- Momentum helps\n\n```python\nlr = 0.01\n"
        "```\nSee https://example.com — and `<b>` stays literal."
    )
    spans = zip(answer.citations, ["[1]", "[2]", "[1]"], [0, 0, 60], strict=True)
    for citation, marker, start in spans:
        pos = answer.text.index(marker, start)
        citation["marker_start"], citation["marker_end"] = pos, pos + 3
    return [
        make_message(1, Role.USER, "What does the course say about gradient descent?",
                     created_at=now - 401),
        answer,
        make_message(3, Role.SEAM,
                     "New session started — earlier turns were summarised for Jockey"),
        make_message(4, Role.USER, "And momentum? Explain it with the practical details, "
                     "including how it is tuned.", created_at=now - 200),
        make_message(5, Role.ASSISTANT, "", MessageStatus.FAILED, created_at=now - 199,
                     error_message="Rate limited — try again after 20:41."),
        make_message(6, Role.USER, "Try again please", created_at=now - 60),
        make_message(7, Role.ASSISTANT, "Momentum accumulates past gradients",
                     MessageStatus.STREAMING, created_at=now - 58),
    ]


@pytest.fixture
def opened() -> list[QUrl]:
    """URLs handed to the (fake) system browser."""
    return []


@pytest.fixture
def pane(qtbot: Any, opened: list[QUrl]) -> Iterator[ChatPane]:
    """A shown ChatPane with a fake URL opener."""
    widget = ChatPane(open_url=opened.append)
    qtbot.addWidget(widget)
    widget.resize(760, 820)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def test_show_conversation_and_header(qtbot: Any, pane: ChatPane) -> None:
    assert pane.current_conversation_id() is None
    assert pane.composer.isEnabled()  # sending from the empty state starts a conversation
    assert pane.composer.edit.placeholderText() == EMPTY_PLACEHOLDER
    pane.show_conversation(make_conversation(draft="half a question"), sample_conversation())
    assert pane.current_conversation_id() == 1
    assert pane.title_label.text() == "Gradient descent"
    assert pane.store_label.text() == "ML Lectures"
    assert pane.session_label.text() == SessionState.EXPIRED.value  # answers, no session now
    assert pane.composer_text() == "half a question"
    assert pane.chat_view.message_model.rowCount() == 7
    pane.update_header(make_conversation(title="Renamed", session_id="s-1"))
    assert pane.title_label.text() == "Renamed"
    assert pane.session_label.text() == SessionState.ACTIVE.value
    pane.update_header(make_conversation(2, title="Other"))  # not shown: ignored
    assert pane.title_label.text() == "Renamed"
    pane.clear()
    assert pane.current_conversation_id() is None and pane.title_label.text() == "No conversation"


def test_a_long_title_ends_in_an_ellipsis_not_mid_letter(qtbot: Any, pane: ChatPane) -> None:
    title = "A very long question about the product keynotes that goes on and on, " * 3
    pane.show_conversation(make_conversation(title=title), [])
    label = pane.title_label
    qtbot.waitUntil(lambda: label.width() > 0, timeout=5_000)
    assert label.text() == title  # read whole (screen readers, the tooltip)
    shown = label.shown_text()
    assert shown.endswith("…") and title.startswith(shown[:-1])
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    pane.resize(1800, pane.height())
    qtbot.waitUntil(lambda: len(label.shown_text()) > len(shown), timeout=5_000)
    pane.update_header(make_conversation(title="Short"))
    assert label.shown_text() == "Short"
    pane.update_header(make_conversation(title="Two\nlines"))  # e.g. an imported title
    assert label.shown_text() == "Two lines"


def test_header_follows_session_changes(pane: ChatPane) -> None:
    lost = make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED, error_code="session_lost")
    pane.show_conversation(make_conversation(), [make_message(1), lost])
    assert pane.session_label.text() == SessionState.EXPIRED.value
    pane.update_header(make_conversation(session_id="new-session"))
    assert pane.session_label.text() == SessionState.ACTIVE.value


def test_the_header_line_reads_left_to_right_without_gaps(qtbot: Any, pane: ChatPane) -> None:
    # Store · session state, packed to the left whether or not selections are shown (the
    # labels once spread over the whole width when the selections label was hidden).
    pane.show_conversation(make_conversation(session_id="s-1"), sample_conversation())
    qtbot.waitUntil(lambda: pane.session_label.geometry().width() > 0, timeout=5_000)
    store, session = pane.store_label, pane.session_label
    assert not pane.selections_label.isVisible()
    gap = session.geometry().left() - store.geometry().right()
    assert 0 < gap < 40, gap
    assert session.geometry().right() < pane.header.width() // 2


def test_messages_for_other_conversations_are_ignored(qtbot: Any, pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(1), [make_message(1)])
    pane.append_message(make_message(2, conversation_id=2))
    pane.replace_message(make_message(3, conversation_id=2))
    assert pane.chat_view.message_model.rowCount() == 1
    streaming = make_message(4, Role.ASSISTANT, "", MessageStatus.STREAMING)
    pane.append_message(streaming)
    pane.set_stream_text(4, "partial")
    assert pane.chat_view.message_model.message_at(1).text == "partial"
    pane.replace_message(make_message(4, Role.ASSISTANT, "done", MessageStatus.COMPLETE))
    assert pane.chat_view.message_model.message_at(1).status is MessageStatus.COMPLETE


def test_draft_never_follows_into_another_conversation(qtbot: Any, pane: ChatPane) -> None:
    saved: list[tuple[int | None, str]] = []
    pane.sig_draft_changed.connect(lambda cid, text: saved.append((cid, text)))
    pane.show_conversation(make_conversation(1), [])
    qtbot.keyClicks(pane.composer.edit, "for one")
    # Switch before the debounce fires: the draft is reported as conversation 1's.
    pane.show_conversation(make_conversation(2, draft="two's draft"), [])
    qtbot.wait(500)
    assert saved == [(1, "for one")]
    assert pane.composer_text() == "two's draft"
    pane.set_composer_text("replaced")
    qtbot.wait(500)
    assert saved == [(1, "for one")]


def test_send_refusal_restores_text_and_shows_reason(qtbot: Any, pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(), [])
    sent: list[str] = []
    pane.sig_send_requested.connect(sent.append)
    qtbot.keyClicks(pane.composer.edit, "question")
    qtbot.keyClick(pane.composer.edit, Qt.Key.Key_Return)
    assert sent == ["question"]
    pane.show_refusal("Jockey is already answering in this conversation.")
    assert pane.composer_text() == "question"
    assert pane.composer.reason() == "Jockey is already answering in this conversation."


def test_picking_a_store_takes_back_the_pick_a_store_refusal(qtbot: Any, pane: ChatPane) -> None:
    sent: list[str] = []
    pane.sig_send_requested.connect(sent.append)
    qtbot.keyClicks(pane.composer.edit, "hello?")
    qtbot.keyClick(pane.composer.edit, Qt.Key.Key_Return)
    assert sent == ["hello?"]
    pane.show_refusal(PICK_A_STORE_TO_ASK)
    assert pane.composer.reason() == PICK_A_STORE_TO_ASK
    pane.on_store_picked(None)  # still none: still true
    assert pane.composer.reason() == PICK_A_STORE_TO_ASK
    pane.on_store_picked(StoreSummary("ks_a", "Product keynotes", "", 5, ready=5))
    # No longer true once a store is picked; the question waits to be sent again.
    assert pane.composer.reason() == ""
    assert pane.composer_text() == "hello?"
    # Any other reason stays: it is still true whatever store is picked.
    pane.composer.show_reason("Jockey is already answering in this conversation.")
    pane.on_store_picked(StoreSummary("ks_b", "Cooking shows", "", 3, ready=3))
    assert pane.composer.reason() == "Jockey is already answering in this conversation."


def test_starters_wait_for_a_ready_video(qtbot: Any, pane: ChatPane) -> None:
    from jockey_desktop.ui.starter_questions import INTRO, NOT_READY_INTRO

    indexing = StoreSummary("ks_a", "Drone survey", "", 2, ready=0, processing=2)
    pane.on_store_picked(indexing)
    assert pane.starters_shown()
    page = pane.starters
    # Every one of them would fail: greyed out, and the page says why.
    assert page.buttons and not any(button.isEnabled() for button in page.buttons)
    assert page.intro.text() == NOT_READY_INTRO
    pane.on_store_picked(StoreSummary("ks_a", "Drone survey", "", 2, ready=1, processing=1))
    assert all(button.isEnabled() for button in page.buttons)
    assert page.intro.text() == INTRO
    failed_only = StoreSummary("ks_b", "Broken", "", 1, ready=0, failed=1)
    pane.on_store_picked(failed_only)
    assert not any(button.isEnabled() for button in page.buttons)
    # A store not counted yet is not held back.
    pane.on_store_picked(StoreSummary("ks_c", "Unknown", ""))
    assert all(button.isEnabled() for button in page.buttons)


def test_busy_and_esc_from_transcript(qtbot: Any, pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(), sample_conversation())
    pane.set_busy(True)
    assert pane.composer.send_button.text() == "Stop"
    pane.chat_view.setFocus()
    qtbot.waitUntil(pane.chat_view.hasFocus)
    with qtbot.waitSignal(pane.sig_stop_requested):
        qtbot.keyClick(pane.chat_view, Qt.Key.Key_Escape)
    pane.set_busy(False)
    assert pane.composer.send_button.text() == "Send"


def test_notice(pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(), [])
    pane.show_notice("The session expired; a new one was started with a recap.")
    assert pane.notice.isVisible()
    pane.notice.dismiss_button.click()
    assert not pane.notice.isVisible()


def test_retry_forwarded(qtbot: Any, pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(), sample_conversation())
    view = pane.chat_view
    settle(qtbot, view)
    layout, origin = row_layout(view, 5)
    with qtbot.waitSignal(pane.sig_retry_requested) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=(layout.retry_rect.center() + QPointF(origin)).toPoint())
    assert blocker.args == [5]


def test_a_chip_click_asks_for_its_moment_with_the_store(
    qtbot: Any, pane: ChatPane, opened: list[QUrl]
) -> None:
    messages = sample_conversation()
    pane.show_conversation(make_conversation(), messages)
    view = pane.chat_view
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    rect, _index, label = layout.chips[1]
    assert label == "Lecture 4 · 1:02:03–1:03:20"
    with qtbot.waitSignal(pane.sig_moment_requested) as asked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=(rect.center() + QPointF(origin)).toPoint())
    store_id, message, citation = asked.args
    assert store_id == make_conversation().store_id
    assert message.id == 2 and citation is messages[1].citations[1]
    assert opened == []  # nothing is handed to a browser any more


def test_export_moments_is_offered_on_answers_citing_videos(
    qtbot: Any, pane: ChatPane
) -> None:
    pane.show_conversation(make_conversation(), sample_conversation())
    view = pane.chat_view
    settle(qtbot, view)
    for message_id, offered in ((2, True), (1, False)):
        _layout, origin = row_layout(view, message_id)
        menu = view.build_context_menu(origin + QPoint(40, 12))
        actions = [a for a in menu.actions() if a.text() == "Export moments…"]
        assert bool(actions) is offered
    _layout, origin = row_layout(view, 2)
    export = next(a for a in view.build_context_menu(origin + QPoint(40, 12)).actions()
                  if a.text() == "Export moments…")
    with qtbot.waitSignal(pane.sig_export_moments_requested) as asked:
        export.trigger()
    assert asked.args[0] == make_conversation().store_id and asked.args[1].id == 2


def test_copy_conversation_is_asked_of_the_app_not_done_here(
    qtbot: Any, pane: ChatPane
) -> None:
    pane.show_conversation(make_conversation(), sample_conversation())
    QGuiApplication.clipboard().setText("untouched")
    menu = pane.chat_view.build_context_menu(pane.chat_view.viewport().rect().center())
    copy_all = next(a for a in menu.actions() if a.text() == "Copy conversation")
    with qtbot.waitSignal(pane.sig_copy_conversation_requested):
        copy_all.trigger()
    # The one exporter runs off the GUI thread and the window writes the clipboard once.
    assert QGuiApplication.clipboard().text() == "untouched"


def test_every_control_has_an_accessible_name(pane: ChatPane) -> None:
    pane.show_conversation(make_conversation(), sample_conversation())
    controls = [w for w in pane.findChildren(QWidget)
                if isinstance(w, QAbstractButton) or w in (pane.chat_view, pane.composer.edit)]
    assert len(controls) >= 3
    for widget in controls:
        assert widget.accessibleName(), widget
    # A label is announced with what it shows, then what it is (a name would replace the text).
    for label in (pane.title_label, pane.store_label, pane.session_label):
        assert isinstance(label, QLabel) and label.text()
        assert announced_name(label) == label.text() and label.accessibleDescription()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_render_screenshot(qtbot: Any, tmp_path: Path, mode: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    previous = app.palette()
    if mode == "dark":
        app.setPalette(dark_palette())
    try:
        pane = ChatPane()
        qtbot.addWidget(pane)
        pane.resize(760, 820)
        pane.show_conversation(make_conversation(session_id="s"), sample_conversation())
        pane.set_busy(True)
        pane.show()
        qtbot.waitExposed(pane)
        settle(qtbot, pane.chat_view)
        image = pane.grab().toImage()
        path = tmp_path / f"chat_pane_{mode}.png"
        assert image.save(str(path))
        # The transcript background follows the palette and text is drawn on it.
        base = app.palette().color(QPalette.ColorRole.Base)
        corner = image.pixelColor(image.width() - 30, image.height() // 2)
        assert abs(corner.lightness() - base.lightness()) < 40
        distinct = {image.pixel(x, y) for x in range(0, image.width(), 7)
                    for y in range(0, image.height(), 7)}
        assert len(distinct) > 20
    finally:
        app.setPalette(previous)


def test_a_long_store_name_is_elided_and_leaves_the_pane_narrow(qtbot: Any,
                                                                pane: ChatPane) -> None:
    store_name = "Regional broadcast archive of evening news and weather bulletins " * 3
    pane.show_conversation(make_conversation(store_name=store_name), sample_conversation())
    qtbot.waitUntil(lambda: pane.store_label.text() == store_name, timeout=5_000)
    # The pane (so the window) does not have to be as wide as the header's line.
    assert pane.minimumSizeHint().width() < 500
    pane.resize(480, 820)
    qtbot.waitUntil(lambda: pane.width() == 480, timeout=5_000)
    shown = pane.store_label.shown_text()
    assert shown.endswith("…") and store_name.startswith(shown[:-1].rstrip())
    assert pane.session_label.isVisible() and pane.session_label.width() > 0
