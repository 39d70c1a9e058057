"""Tests of ChatView + MessageDelegate: virtualised layout, hit-testing, link policy,
following the bottom, the streaming tick."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication

from jockey_desktop.core.errors import INTERRUPTED_TEXT, ErrorCode
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.presentation.status import RETRY_TOOLTIP, StatusKind, StatusLine
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.message_layout import RowLayout
from tests.helpers.records import answer_with_citations, make_message
from tests.helpers.views import click, dark_palette, row_layout, settle

LONG = (
    "Gradient descent is explained with a worked example and a plot of the loss surface. "
    "The lecturer then compares step sizes and shows how momentum smooths the path.\n\n"
    "- first point\n- second point\n"
)


def test_thousand_messages_lay_out_only_visible_rows(qtbot: Any, view: ChatView) -> None:
    messages = []
    for i in range(1, 1001):
        role = Role.USER if i % 2 else Role.ASSISTANT
        messages.append(make_message(i, role, f"#{i} " + LONG * (1 + i % 3)))
    started = time.perf_counter()
    view.set_messages(messages)
    settle(qtbot, view)
    delegate = view.message_delegate
    assert view.verticalScrollBar().value() == view.verticalScrollBar().maximum()
    visible = set(view.visible_rows())
    assert visible and max(visible) == view.message_model.rowCount() - 1  # showing the end
    assert view.message_model.message_at(max(visible)).id == 1000
    first_batch = set(delegate.laid_out_ids)
    assert len(first_batch) <= len(visible) + 4
    assert all(mid >= 1000 - 30 for mid in first_batch)

    seen = {view.message_model.message_at(r).id for r in visible}
    bar = view.verticalScrollBar()
    for value in (0, bar.maximum() // 2, bar.maximum() // 4):
        bar.setValue(value)
        settle(qtbot, view)
        seen |= {view.message_model.message_at(r).id for r in view.visible_rows()}
    view.resize(500, 400)
    settle(qtbot, view)
    seen |= {view.message_model.message_at(r).id for r in view.visible_rows()}
    view.resize(900, 700)
    settle(qtbot, view)
    seen |= {view.message_model.message_at(r).id for r in view.visible_rows()}
    elapsed = time.perf_counter() - started

    assert delegate.cache_size() <= 64
    # Only rows that were on screen got a document (a row painted at its estimated place
    # may end up just off screen once measured: allow a few per position).
    off_screen = delegate.laid_out_ids - seen
    assert len(off_screen) <= 6, sorted(off_screen)
    assert len(delegate.laid_out_ids) < 150
    assert elapsed < 10


def test_streaming_relays_out_only_the_growing_row(qtbot: Any, view: ChatView) -> None:
    messages = [make_message(i, Role.USER, f"q{i}") for i in range(1, 6)]
    streaming = make_message(6, Role.ASSISTANT, "", MessageStatus.STREAMING)
    view.set_messages([*messages, streaming])
    settle(qtbot, view)
    delegate = view.message_delegate
    before = delegate.layout_count
    laid_before = set(delegate.laid_out_ids)
    for n in range(1, 6):
        view.message_model.set_stream_text(6, "word " * (n * 40))
        settle(qtbot, view)
    assert delegate.layout_count - before == 5  # one layout per chunk, all of row 6
    assert delegate.laid_out_ids == laid_before | {6}
    # Still following the growing answer.
    assert view.verticalScrollBar().value() == view.verticalScrollBar().maximum()


def test_does_not_yank_user_down_when_scrolled_up(qtbot: Any, view: ChatView) -> None:
    view.set_messages([make_message(i, Role.USER, LONG) for i in range(1, 60)])
    settle(qtbot, view)
    bar = view.verticalScrollBar()
    bar.setValue(0)
    assert not view.is_following()
    view.message_model.append(make_message(100, Role.ASSISTANT, LONG))
    settle(qtbot, view)
    assert bar.value() == 0
    bar.setValue(bar.maximum())
    assert view.is_following()
    view.message_model.append(make_message(101, Role.ASSISTANT, LONG * 3))
    settle(qtbot, view)
    assert bar.value() == bar.maximum()


def test_chip_click_emits_citation_and_chips_are_deduped(qtbot: Any, view: ChatView) -> None:
    view.set_messages([make_message(1, Role.USER, "Where?"), answer_with_citations(2)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    labels = [label for _rect, _i, label in layout.chips]
    assert labels == ["Intro to ML · 01:23–01:45", "Lecture 4 · 1:02:03–1:03:20"]
    rect, index, _label = layout.chips[1]
    with qtbot.waitSignal(view.sig_citation_activated) as blocker:
        click(qtbot, view, rect.center() + QPointF(origin))
    message, citation = blocker.args
    assert message.id == 2 and index == 1
    assert citation["title"] == "Lecture 4"


def test_marker_link_click_emits_citation(qtbot: Any, view: ChatView) -> None:
    view.set_messages([answer_with_citations(2)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    doc = layout.document
    assert doc is not None
    text = doc.toPlainText()
    pos = text.index("[2]") + 1
    cursor_rect = _char_point(doc, pos)
    with qtbot.waitSignal(view.sig_citation_activated) as blocker:
        click(qtbot, view, cursor_rect + layout.doc_origin + QPointF(origin))
    assert blocker.args[1]["title"] == "Lecture 4"


def _char_point(doc: Any, position: int) -> QPointF:
    """A point inside the character at ``position`` of a laid-out document."""
    block = doc.findBlock(position)
    line = block.layout().lineForTextPosition(position - block.position())
    x, _ = line.cursorToX(position - block.position())
    block_top = doc.documentLayout().blockBoundingRect(block).top()
    return QPointF(x + 2, block_top + line.y() + line.height() / 2)


def test_links_follow_policy(qtbot: Any, view: ChatView, opened: list[QUrl]) -> None:
    text = "Web [site](https://example.com/x) and [local](file:///etc/passwd) here"
    view.set_messages([make_message(1, Role.ASSISTANT, text)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 1)
    doc = layout.document
    plain = doc.toPlainText()
    click(qtbot, view, _char_point(doc, plain.index("local") + 1) + layout.doc_origin
          + QPointF(origin))
    assert opened == []
    click(qtbot, view, _char_point(doc, plain.index("site") + 1) + layout.doc_origin
          + QPointF(origin))
    assert [u.toString() for u in opened] == ["https://example.com/x"]


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (MessageStatus.INTERRUPTED, None, INTERRUPTED_TEXT),
        (MessageStatus.FAILED, "Rate limited until 20:41.", "Rate limited until 20:41."),
        (MessageStatus.CANCELLED, None, "Stopped"),
    ],
)
def test_retry_link_emits_and_reason_shown(
    qtbot: Any, view: ChatView, status: MessageStatus, error: str | None, reason: str
) -> None:
    view.set_messages([make_message(1, Role.USER, "q"),
                       make_message(2, Role.ASSISTANT, "partial", status,
                                    error_message=error)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    assert layout.retry_rect is not None
    assert layout.status_text.startswith(reason)
    with qtbot.waitSignal(view.sig_retry_requested) as blocker:
        click(qtbot, view, layout.retry_rect.center() + QPointF(origin))
    assert blocker.args == [2]
    hit = view.message_delegate.hit_test(layout, layout.retry_rect.center())
    assert hit == ("retry", None)
    assert "twice" in RETRY_TOOLTIP and "same server-side session" in RETRY_TOOLTIP


def test_complete_answer_has_usage_and_no_retry(qtbot: Any, view: ChatView) -> None:
    now = time.time()
    view.set_messages([answer_with_citations(2, created_at=now - 30, updated_at=now)])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 2)
    assert layout.retry_rect is None
    assert layout.status_text == "1,234 tokens in · 210 out · 30 s"


def test_streaming_status_and_tick(qtbot: Any, opened: list[QUrl]) -> None:
    now = [1000.0]
    view = ChatView(clock=lambda: now[0], open_url=opened.append)
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    delegate = view.message_delegate
    streaming = make_message(2, Role.ASSISTANT, "", MessageStatus.STREAMING, created_at=958.0)
    view.set_messages([make_message(1, Role.USER, "q"), streaming])
    assert view.is_ticking()
    assert delegate.status_line(view.message_model.message_at(1)) == StatusLine(
        StatusKind.BUSY, "Thinking · 42 s")
    view.message_model.set_stream_text(2, "Some text")
    now[0] = 1016.0
    assert delegate.status_line(view.message_model.message_at(1)) == StatusLine(
        StatusKind.BUSY, "Answering · 58 s")
    done = make_message(2, Role.ASSISTANT, "Some text", MessageStatus.COMPLETE)
    view.message_model.replace(done)
    assert not view.is_ticking()


def test_seam_row(qtbot: Any, view: ChatView) -> None:
    seam = make_message(3, Role.SEAM, "New session started — earlier turns were summarised")
    view.set_messages([make_message(1, Role.USER, "q"), seam])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 3)
    assert layout.seam_text.startswith("New session started")
    assert layout.document is None


def test_context_menu_copy_message(qtbot: Any, view: ChatView) -> None:
    view.set_messages([make_message(1, Role.USER, "Copy **me**"),
                       make_message(2, Role.ASSISTANT, "answer")])
    settle(qtbot, view)
    point = view.visualRect(view.index_for(1)).center()
    menu = view.build_context_menu(point)
    actions = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert set(actions) == {"Copy", "Copy as Markdown", "Copy conversation",
                            "Show agent steps", "Edit and ask…"}
    assert not actions["Copy"].isEnabled()  # nothing selected
    actions["Copy as Markdown"].trigger()
    assert QGuiApplication.clipboard().text() == "Copy **me**"
    with qtbot.waitSignal(view.sig_copy_conversation_requested):
        actions["Copy conversation"].trigger()
    empty = view.build_context_menu(QPoint(5, view.viewport().height() - 2))
    assert not {a.text(): a for a in empty.actions()}["Copy as Markdown"].isEnabled()


def test_scrolling_up_keeps_the_text_being_read_still(qtbot: Any, view: ChatView) -> None:
    # Lists and code blocks make the cheap estimate wrong, so revealed rows get corrected.
    tricky = "Intro\n\n- a\n- b\n- c\n\n```\ncode\nmore code\n```\n\n> quote\n\n# Heading\n"
    view.set_messages([make_message(i, Role.ASSISTANT, tricky * (1 + i % 2))
                       for i in range(1, 201)])
    settle(qtbot, view)
    bar = view.verticalScrollBar()
    moved = False
    for _ in range(4):
        bar.setValue(bar.value() - view.viewport().height() // 2)
        viewport = view.viewport().rect()
        anchor = view.indexAt(QPoint(viewport.width() // 2, viewport.bottom() - 1))
        top_before = view.visualRect(anchor).top()
        hints_before = bar.maximum()
        settle(qtbot, view)
        moved = moved or bar.maximum() != hints_before
        assert view.visualRect(anchor).top() == top_before
    assert moved, "estimates were never corrected; the test would prove nothing"


def test_ctrl_c_without_a_selection_copies_the_current_message_as_plain_text(
    qtbot: Any, view: ChatView
) -> None:
    view.set_messages([make_message(1, Role.USER, "first"), make_message(2, Role.USER, "2nd")])
    settle(qtbot, view)
    view.setFocus()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(view.index_for(1)).center())
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "first"
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "2nd"


def test_pointing_hand_over_chips(qtbot: Any, view: ChatView) -> None:
    view.set_messages([answer_with_citations(2)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    chip = (layout.chips[0][0].center() + QPointF(origin)).toPoint()
    qtbot.mouseMove(view.viewport(), chip)
    qtbot.waitUntil(
        lambda: view.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor)
    assert view.target_at(chip) == ("chip", 0)
    blank = QPoint(view.viewport().width() - 5, view.viewport().height() - 5)
    qtbot.mouseMove(view.viewport(), blank)
    qtbot.waitUntil(lambda: view.viewport().cursor().shape() == Qt.CursorShape.ArrowCursor)


def test_recovered_session_loss_is_a_note_without_retry(qtbot: Any, view: ChatView) -> None:
    lost = make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED, error_code="session_lost",
                        error_message="Asked again in a new session below.")
    view.set_messages([make_message(1, Role.USER, "q"), lost])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 2)
    assert layout.status_text == "Asked again in a new session below."
    assert layout.retry_rect is None


def test_long_failure_reason_wraps_instead_of_eliding(qtbot: Any, view: ChatView) -> None:
    reason = ("The knowledge store “Lectures” was not found. It may have been deleted; "
              "pick another store and start a new conversation to continue asking. ") * 2
    failed = make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED, error_message=reason)
    short = make_message(3, Role.ASSISTANT, "", MessageStatus.FAILED, error_message="No net.")
    view.set_messages([make_message(1, Role.USER, "q"), failed, short])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 2)
    assert layout.status_rect is not None and layout.retry_rect is not None
    line = layout.retry_rect.height() - 4
    assert layout.status_rect.height() >= 2 * line  # wrapped over several lines
    assert layout.retry_rect.top() >= layout.status_rect.bottom()  # Retry below the text
    assert layout.status_rect.right() <= view.viewport().width()
    small, _ = row_layout(view, 3)
    assert small.retry_rect.top() < small.status_rect.bottom()  # short: Retry beside it
    assert small.retry_rect.left() > small.status_rect.right()


def test_long_unbroken_text_stays_inside_the_bubble(qtbot: Any, view: ChatView) -> None:
    url = "https://example.com/" + "a" * 400
    view.set_messages([make_message(1, Role.USER, url), make_message(2, Role.ASSISTANT, url)])
    settle(qtbot, view)
    width = view.viewport().width()
    bubble, _origin = row_layout(view, 1)
    assert bubble.bubble is not None and bubble.bubble.right() <= width
    assert bubble.document.size().width() <= bubble.bubble.width()
    answer, _origin = row_layout(view, 2)
    assert answer.doc_origin.x() + answer.document.size().width() <= width


@pytest.mark.parametrize("question", [
    "ما هي المواضيع الرئيسية في هذه الفيديوهات؟",
    "ما هي المواضيع الرئيسية في هذه الفيديوهات؟ " * 12,
], ids=["one line", "wrapped"])
def test_right_to_left_question_is_drawn_inside_its_bubble(qtbot: Any, view: ChatView,
                                                            question: str) -> None:
    view.set_messages([make_message(1, Role.USER, question)])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 1)
    assert layout.bubble is not None and layout.doc_origin is not None
    block = layout.document.firstBlock()
    text_layout = block.layout()
    assert text_layout.lineCount() >= 1
    for n in range(text_layout.lineCount()):
        # Where each line's glyphs land (right-aligned lines included), in row coordinates.
        line = text_layout.lineAt(n).naturalTextRect().translated(layout.doc_origin)
        assert line.left() >= layout.bubble.left() - 0.5
        assert line.right() <= layout.bubble.right() + 0.5


def test_palette_change_rebuilds_documents(qtbot: Any, view: ChatView) -> None:
    view.set_messages([answer_with_citations(2)])
    settle(qtbot, view)
    before, _origin = row_layout(view, 2)

    view.setPalette(dark_palette())
    settle(qtbot, view)
    after, _origin = row_layout(view, 2)
    assert after is not before and after.document is not before.document


@pytest.mark.qt_log_ignore(r"This plugin does not support raise\(\)")  # offscreen tooltips
def test_retry_tooltip_explains_the_repeat(qtbot: Any, view: ChatView) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    view.set_messages([make_message(2, Role.ASSISTANT, "x", MessageStatus.INTERRUPTED)])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    local = (layout.retry_rect.center() + QPointF(origin)).toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, local, view.viewport().mapToGlobal(local))
    QApplication.sendEvent(view.viewport(), event)
    from jockey_desktop.ui.theme import plain_tooltip

    qtbot.waitUntil(lambda: QToolTip.text() == plain_tooltip(RETRY_TOOLTIP))
    QToolTip.hideText()


def test_long_seam_text_wraps_centred(qtbot: Any, view: ChatView) -> None:
    text = ("New session started — the server no longer had the previous one. "
            "Earlier turns were summarised for Jockey.")
    view.resize(420, 480)
    view.set_messages([make_message(1, Role.SEAM, text)])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 1)
    assert layout.seam_rect is not None
    assert layout.seam_rect.height() > 1.5 * view.fontMetrics().height()  # wrapped
    middle = view.viewport().width() / 2
    assert abs(layout.seam_rect.center().x() - middle) < 2


STREAMED = (
    "### Heading\n\nIntro with **bold** and a [link](https://example.com/x).\n\n"
    "- one\n- two\n\n```\ncode line\n\nstill code\n```\n\n1. first\n2. second\n\n"
    "A closing paragraph that goes on for a while with `inline code` in it.\n\nEnd."
)


def _plain_of(layout: RowLayout) -> str:
    return "\n".join(doc.toPlainText() for _y, doc in layout.parts)


def test_streaming_answer_reuses_completed_paragraphs(qtbot: Any, view: ChatView) -> None:
    view.set_messages([make_message(1, Role.USER, "q"),
                       make_message(2, Role.ASSISTANT, "", MessageStatus.STREAMING)])
    settle(qtbot, view)
    delegate = view.message_delegate
    width = delegate.view_width()
    sealed_seen: dict[int, object] = {}
    for end in range(7, len(STREAMED) + 1, 7):
        view.message_model.set_stream_text(2, STREAMED[:end])
        message = view.message_model.message_at(1)
        assert message is not None
        layout = delegate.layout_for(message, width)
        # Same words as one document of the text so far (nothing lost or doubled) ...
        single = delegate.parse(STREAMED[:end], view.font())
        assert _plain_of(layout) == single.toPlainText()
        # ... and a completed paragraph keeps its document: it is never parsed again.
        for position, (_y, doc) in enumerate(layout.parts[:-1]):
            assert sealed_seen.setdefault(position, doc) is doc
        tops = [y for y, _doc in layout.parts]
        assert tops == sorted(tops)
        # Stacked, the parts neither overlap nor drift: the last one ends where the same text
        # as one document ends (a miscomputed margin drew paragraphs on top of each other).
        for (y0, doc0), (y1, _doc1) in itertools.pairwise(layout.parts):
            assert y1 >= y0 + doc0.size().height()
        single.setTextWidth(width)
        last_y, last_doc = layout.parts[-1]
        assert abs(last_y + last_doc.size().height() - single.size().height()) <= 2
    assert len(sealed_seen) >= 4
    # The code fence with a blank line inside stayed one block of code.
    assert any("code line\n\nstill code" in doc.toPlainText() for doc in sealed_seen.values())
    # The final answer is one document again.
    final = view.message_model.message_at(1)
    assert final is not None
    final.status = MessageStatus.COMPLETE
    view.message_model.replace(final)
    layout = delegate.layout_for(view.message_model.message_at(1), width)  # type: ignore[arg-type]
    assert len(layout.parts) == 1 and layout.document is not None


def test_documents_are_drawn_clipped_to_the_viewport(
    qtbot: Any, view: ChatView, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QAbstractTextDocumentLayout

    clips: list[QRectF] = []
    original = QAbstractTextDocumentLayout.draw

    def draw(layout: Any, painter: Any, context: Any) -> None:
        clips.append(QRectF(context.clip))  # a copy: the context dies after the call
        original(layout, painter, context)

    monkeypatch.setattr(QAbstractTextDocumentLayout, "draw", draw)
    view.set_messages([make_message(1, Role.ASSISTANT, LONG * 60)])
    settle(qtbot, view)
    layout, _top = row_layout(view, 1)
    assert layout.document is not None
    assert layout.document.size().height() > 3 * view.viewport().height()
    clips.clear()
    view.viewport().repaint()
    assert clips and all(clip.isValid() for clip in clips)
    # Only about one viewport's worth of the (much taller) document is drawn.
    assert max(clip.height() for clip in clips) <= view.viewport().height() + 4


def test_a_stopped_answer_is_muted_with_a_normal_retry_link(
    qtbot: Any, view: ChatView
) -> None:
    view.set_messages([
        make_message(1, Role.USER, "q"),
        make_message(2, Role.ASSISTANT, "partial", MessageStatus.CANCELLED,
                     error_code=ErrorCode.CANCELLED.value, error_message="Stopped."),
        make_message(3, Role.USER, "q2"),
        make_message(4, Role.ASSISTANT, "", MessageStatus.CANCELLED,
                     error_code=ErrorCode.CANCELLED.value, error_message="Stopped."),
    ])
    settle(qtbot, view)
    delegate = view.message_delegate
    assert delegate.status_line(view.message_model.message_at(1)) == StatusLine(
        StatusKind.STOPPED, "Stopped — partial answer kept")
    assert delegate.status_line(view.message_model.message_at(3)).text == (
        "Stopped before an answer arrived")
    layout, origin = row_layout(view, 2)
    assert layout.retry_rect is not None
    with qtbot.waitSignal(view.sig_retry_requested) as blocker:
        click(qtbot, view, layout.retry_rect.center() + QPointF(origin))
    assert blocker.args == [2]
    # Painted without the error colour: no pixel of the status line is the error red.
    image = view.viewport().grab().toImage()
    colors = delegate._colors_for(view.palette())
    top = origin.y() + int(layout.status_rect.top())
    bottom = origin.y() + int(layout.status_rect.bottom())
    reds = sum(
        1
        for y in range(top, bottom)
        for x in range(0, int(layout.retry_rect.left()), 2)
        if image.pixelColor(x, y).rgb() == colors.error.rgb()
    )
    assert reds == 0


def test_chips_padding_and_play_mark_grow_with_a_big_font(qtbot: Any, view: ChatView) -> None:
    from PySide6.QtGui import QFont, QFontMetricsF

    from jockey_desktop.ui.message_layout import small_font

    def chip_room() -> tuple[float, float]:
        """(height beyond the text, width beyond the label) of the first chip."""
        settle(qtbot, view)
        layout, _origin = row_layout(view, 2)
        rect, _index, label = layout.chips[0]
        metrics = QFontMetricsF(small_font(view.font()))
        return rect.height() - metrics.height(), rect.width() - metrics.horizontalAdvance(label)

    view.set_messages([answer_with_citations(2)])
    normal_font = QFont(view.font())
    normal_font.setPointSizeF(9)
    view.setFont(normal_font)
    normal = chip_room()
    big_font = QFont(normal_font)
    big_font.setPointSizeF(18)  # a user with low vision
    view.setFont(big_font)
    big = chip_room()
    # Padding, play triangle and number room scale with the text (they were fixed pixels).
    assert big[0] >= normal[0] * 1.7
    assert big[1] >= normal[1] * 1.7


@pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")
def test_tabbing_into_a_long_transcript_puts_the_focus_on_a_row_on_screen(
        qtbot: Any) -> None:
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    window = QWidget()
    qtbot.addWidget(window)
    field = QLineEdit(window)
    view = ChatView(window)
    layout = QVBoxLayout(window)
    layout.addWidget(field)
    layout.addWidget(view)
    window.resize(640, 480)
    window.show()
    qtbot.waitExposed(window)
    messages = []
    for turn in range(8):
        messages.append(make_message(2 * turn + 1, Role.USER, f"Question {turn}?"))
        messages.append(make_message(2 * turn + 2, Role.ASSISTANT, "A long answer. " * 60))
    view.set_messages(messages)
    settle(qtbot, view)
    view.scroll_to_end()
    settle(qtbot, view)
    scrolled = view.verticalScrollBar().value()
    assert scrolled > 0 and 0 not in view.visible_rows()
    window.activateWindow()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5_000)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    qtbot.waitUntil(view.hasFocus, timeout=5_000)
    # The focus frame is drawn on the current row: it must be one the user can see.
    assert view.currentIndex().row() in view.visible_rows()
    assert view.verticalScrollBar().value() == scrolled  # and reading is not disturbed


def test_the_keyboards_menu_plays_each_cited_moment_of_the_current_answer(
        qtbot: Any, view: ChatView) -> None:
    from PySide6.QtGui import QContextMenuEvent

    view.set_messages([make_message(1, Role.USER, "Where?"), answer_with_citations(2)])
    settle(qtbot, view)
    view.setCurrentIndex(view.index_for(2))
    # The Menu key: the menu is for the current row, wherever the event says.
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(1, 1),
                              view.viewport().mapToGlobal(QPoint(1, 1)))
    pos = view.context_menu_pos(event)
    assert view.indexAt(pos) == view.index_for(2)
    menu = view.build_context_menu(pos)
    play = next(a.menu() for a in menu.actions() if a.text() == "Play cited moment")
    labels = [a.text() for a in play.actions()]
    assert labels == ["1  Intro to ML · 01:23–01:45", "2  Lecture 4 · 1:02:03–1:03:20"]
    with qtbot.waitSignal(view.sig_citation_activated, timeout=5_000) as blocker:
        play.actions()[1].trigger()
    message, citation = blocker.args
    assert message.id == 2 and citation["title"] == "Lecture 4"


def test_enter_on_an_answer_plays_its_first_cited_moment(qtbot: Any, view: ChatView) -> None:
    """The chips are painted, out of the keyboard's reach: Enter on the current answer plays
    what a click on its first chip plays; on a question, or an answer whose only citation
    does not play, it does nothing (and types nothing into the question box)."""
    web_only = make_message(3, Role.ASSISTANT, "See the page [1].",
                            citations=[{"title": "A web page", "url": "https://example.com"}])
    view.set_messages([make_message(1, Role.USER, "Where?"), answer_with_citations(2),
                       web_only])
    settle(qtbot, view)
    view.setCurrentIndex(view.index_for(2))
    for key, modifier in ((Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
                          (Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)):
        with qtbot.waitSignal(view.sig_citation_activated, timeout=5_000) as blocker:
            qtbot.keyClick(view, key, modifier)
        message, citation = blocker.args
        assert message.id == 2
        assert (citation["title"], citation["start_sec"]) == ("Intro to ML", 83)
    for quiet in (1, 3):
        view.setCurrentIndex(view.index_for(quiet))
        with qtbot.assertNotEmitted(view.sig_citation_activated), \
                qtbot.assertNotEmitted(view.sig_text_typed):
            qtbot.keyClick(view, Qt.Key.Key_Return)
