"""Tests for the conversation list model and the sidebar widget."""

from __future__ import annotations

import random
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from jockey_desktop.core.storage.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MessageStatus,
    SearchHit,
)
from jockey_desktop.ui.models.conversation_model import (
    BadgeRole,
    ConversationIdRole,
    ConversationListModel,
    SummaryRole,
)
from jockey_desktop.ui.sidebar import SEARCH_PLACEHOLDER, ConversationSidebar, split_highlights
from tests.helpers.records import make_summary
from tests.helpers.views import ids

# The offscreen platform cannot raise windows, grab the keyboard or propagate size hints.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


# -- model ------------------------------------------------------------------------------------

def test_model_sorts_pinned_first_then_newest(qtmodeltester) -> None:
    model = ConversationListModel()
    model.set_summaries([make_summary(1, 100), make_summary(2, 300), make_summary(3, 200),
                         make_summary(4, 50, pinned=True)])
    assert ids(model) == [4, 2, 3, 1]
    assert model.index(0, 0).data() == "Conversation 4"
    assert model.index(0, 0).data(SummaryRole).conversation.pinned
    qtmodeltester.check(model, force_py=True)


def test_model_upsert_moves_inserts_and_remove(qtmodeltester) -> None:
    model = ConversationListModel()
    qtmodeltester.check(model, force_py=True)  # the tester watches every later change
    model.set_summaries([make_summary(i, float(i)) for i in range(1, 6)])
    assert ids(model) == [5, 4, 3, 2, 1]
    moves: list[tuple[int, int]] = []
    model.rowsMoved.connect(lambda _p, start, _e, _d, dest: moves.append((start, dest)))
    assert model.upsert(make_summary(2, 10.0)) == 0  # new activity: to the top
    assert ids(model) == [2, 5, 4, 3, 1]
    assert moves == [(3, 0)]
    assert model.upsert(make_summary(5, 0.5)) == 4  # older than everything: to the bottom
    assert ids(model) == [2, 4, 3, 1, 5]
    assert model.upsert(make_summary(9, 3.5)) == 2  # a new conversation lands in order
    assert ids(model) == [2, 4, 9, 3, 1, 5]
    renamed = make_summary(9, 3.5, title="Renamed")
    assert model.upsert(renamed) == 2  # same place: data changed only
    assert model.index(2, 0).data() == "Renamed"
    assert model.remove(4) and not model.remove(4)
    assert ids(model) == [2, 9, 3, 1, 5]
    assert [model.row_for_conversation(i) for i in (2, 9, 3, 1, 5, 4)] == [0, 1, 2, 3, 4, None]


def test_model_random_upserts_match_sorted_order() -> None:
    rng = random.Random(7)
    model = ConversationListModel()
    model.set_summaries([make_summary(i, rng.random() * 100) for i in range(50)])
    for _ in range(300):
        model.upsert(make_summary(rng.randrange(60), rng.random() * 100,
                                  pinned=rng.random() < 0.1))
    rows = [model.index(r, 0).data(SummaryRole) for r in range(model.rowCount())]
    keys = [(not s.conversation.pinned, -s.conversation.updated_at, -s.conversation.id)
            for s in rows]
    assert keys == sorted(keys)
    assert all(model.row_for_conversation(s.conversation.id) == r for r, s in enumerate(rows))


def test_model_10000_rows_upsert(qtbot) -> None:
    model = ConversationListModel()
    started = time.perf_counter()
    model.set_summaries([make_summary(i, float(i)) for i in range(10_000)])
    set_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    model.upsert(make_summary(17, 1e9))
    upsert_ms = (time.perf_counter() - started) * 1000
    print(f"10,000 rows: set {set_ms:.1f} ms, upsert-to-top {upsert_ms:.2f} ms")
    assert model.rowCount() == 10_000
    assert ids(model)[:3] == [17, 9999, 9998]
    assert model.row_for_conversation(0) == 9999


# -- sidebar ----------------------------------------------------------------------------------

@pytest.fixture
def sidebar(qtbot) -> ConversationSidebar:
    widget = ConversationSidebar()
    qtbot.addWidget(widget)
    widget.resize(320, 500)
    widget.set_summaries([make_summary(1, 100), make_summary(2, 300, pinned=True),
                          make_summary(3, 200, status=MessageStatus.FAILED)])
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_sidebar_empty_state_and_placeholder(qtbot) -> None:
    widget = ConversationSidebar()
    qtbot.addWidget(widget)
    assert widget.search_field.placeholderText() == SEARCH_PLACEHOLDER
    assert widget.pages.currentIndex() == widget.PAGE_EMPTY
    widget.upsert_summary(make_summary(1, 1))
    assert widget.pages.currentIndex() == widget.PAGE_LIST


def test_sidebar_sort_and_upsert_keeps_selection_silently(qtbot, sidebar) -> None:
    assert ids(sidebar.model) == [2, 3, 1]
    assert sidebar.select_conversation(1)
    with qtbot.assertNotEmitted(sidebar.sig_conversation_selected):
        sidebar.upsert_summary(make_summary(1, 999))
    assert ids(sidebar.model) == [2, 1, 3]
    assert sidebar.current_conversation_id() == 1
    assert sidebar.list_view.currentIndex().data(ConversationIdRole) == 1
    with qtbot.assertNotEmitted(sidebar.sig_conversation_selected):
        sidebar.remove_conversation(1)
    assert sidebar.current_conversation_id() is None


def test_sidebar_select_with_notify_emits(qtbot, sidebar) -> None:
    with qtbot.waitSignal(sidebar.sig_conversation_selected) as blocker:
        assert sidebar.select_conversation(3, notify=True)
    assert blocker.args == [3]
    assert not sidebar.select_conversation(42)


def test_sidebar_keyboard_navigation(qtbot, sidebar) -> None:
    sidebar.select_conversation(2)
    sidebar.list_view.setFocus()
    with qtbot.waitSignal(sidebar.sig_conversation_selected) as blocker:
        qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Down)
    assert blocker.args == [3]
    with qtbot.waitSignal(sidebar.sig_conversation_selected) as blocker:
        qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Return)
    assert blocker.args == [3]
    # F2 renames in place: an editor over the row, its title selected; Enter keeps it.
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_F2)
    editor = sidebar.rename_editor
    assert editor is not None and editor.isVisible() and editor.hasFocus()
    assert editor.text() == "Conversation 3" and editor.selectedText() == "Conversation 3"
    qtbot.keyClick(editor, Qt.Key.Key_End)
    qtbot.keyClicks(editor, "!")
    with qtbot.waitSignal(sidebar.sig_rename_requested) as blocker:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert blocker.args == [3, "Conversation 3!"]
    assert not editor.isVisible() and sidebar.list_view.hasFocus()
    sidebar.confirm_delete = lambda title: True  # type: ignore[method-assign]
    with qtbot.waitSignal(sidebar.sig_delete_requested) as blocker:
        qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)
    assert blocker.args == [3]


def test_sidebar_tab_order_follows_the_screen(qtbot, sidebar) -> None:
    sidebar.activateWindow()
    qtbot.waitUntil(sidebar.isActiveWindow, timeout=5_000)
    sidebar.new_button.setFocus()
    # Top to bottom as drawn: the New button, the search field, then the list.
    qtbot.keyClick(sidebar.new_button, Qt.Key.Key_Tab)
    assert sidebar.search_field.hasFocus()
    qtbot.keyClick(sidebar.search_field, Qt.Key.Key_Tab)
    assert sidebar.list_view.hasFocus()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Backtab)
    assert sidebar.search_field.hasFocus()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_rename_editor_covers_the_title_line_only(qtbot, qapp, sidebar, scheme) -> None:
    from PySide6.QtGui import QFontMetrics

    from jockey_desktop.ui.theme import apply_theme

    palette, style, sheet = qapp.palette(), qapp.style().name(), qapp.styleSheet()
    try:
        apply_theme(qapp, scheme)  # the theme's padding made the editor too tall
        sidebar.rename(3)
        editor = sidebar.rename_editor
        assert editor is not None and editor.isVisible()
        row = sidebar.model.row_for_conversation(3)
        rect = sidebar.list_view.visualRect(sidebar.list_view.index_for_row(row))
        line = QFontMetrics(sidebar.list_view.font()).height()
        second_line_top = rect.top() + 8 + line + 2  # the delegate's padding, one line, gap
        assert editor.geometry().bottom() < second_line_top  # "store · age" stays readable
        assert editor.geometry().top() >= rect.top()
        # …and the title still fits inside it.
        assert editor.contentsRect().height() >= editor.fontMetrics().height()
    finally:
        if style:
            qapp.setStyle(style)
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)


def test_sidebar_delete_declined_emits_nothing(qtbot, sidebar) -> None:
    asked: list[str] = []
    sidebar.confirm_delete = lambda title: asked.append(title) or False  # type: ignore
    with qtbot.assertNotEmitted(sidebar.sig_delete_requested):
        sidebar.delete(1)
    assert asked == ["Conversation 1"]


def test_deleting_the_selected_conversation_opens_the_next_one(qtbot, sidebar) -> None:
    # Rows: 2, 3, 1. A delete is removed from the list later, when storage says so.
    sidebar.confirm_delete = lambda title: True  # type: ignore[method-assign]
    events: list[tuple[str, int]] = []
    sidebar.sig_delete_requested.connect(lambda cid: events.append(("delete", cid)))
    sidebar.sig_conversation_selected.connect(lambda cid: events.append(("open", cid)))
    sidebar.select_conversation(3)
    sidebar.list_view.setFocus()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)
    assert events == [("delete", 3), ("open", 1)]  # the row below, once deleted
    sidebar.remove_conversation(3)
    assert sidebar.current_conversation_id() == 1
    assert sidebar.list_view.currentIndex().data(ConversationIdRole) == 1
    # The last row: the one above it opens, and a second Del goes on from there.
    events.clear()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)
    assert events == [("delete", 1), ("open", 2)]
    sidebar.remove_conversation(1)
    # A conversation that is not the selected one: the selection stays where it is.
    sidebar.upsert_summary(make_summary(4, 50))
    events.clear()
    sidebar.delete(4)
    assert events == [("delete", 4)]
    assert sidebar.current_conversation_id() == 2


def test_the_menu_key_opens_the_current_rows_menu_not_the_middle_ones(qtbot, sidebar) -> None:
    for n in range(4, 30):  # enough rows that the view's middle holds another one
        sidebar.upsert_summary(make_summary(n, 100 - n))
    asked: list[int] = []
    sidebar.build_context_menu = lambda cid: asked.append(cid) or None  # type: ignore
    viewport = sidebar.list_view.viewport()
    middle = viewport.rect().center()
    assert sidebar.list_view.indexAt(middle).data(ConversationIdRole) not in (None, 3)
    sidebar.select_conversation(3)
    sidebar.list_view.setFocus()
    # As Qt sends the Menu key / Shift+F10: the view's middle as the point.
    QApplication.sendEvent(viewport, QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, middle, viewport.mapToGlobal(middle)))
    assert asked == [3]
    # The mouse: the row under it.
    QApplication.sendEvent(viewport, QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, middle, viewport.mapToGlobal(middle)))
    assert asked == [3, sidebar.list_view.indexAt(middle).data(ConversationIdRole)]


def test_sidebar_context_menu_actions_emit(qtbot, sidebar) -> None:
    menu = sidebar.build_context_menu(2)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert list(actions) == ["Rename", "Unpin", "Export as Markdown…", "Export as JSON…",
                             "Delete…"]
    with qtbot.waitSignal(sidebar.sig_pin_requested) as blocker:
        actions["Unpin"].trigger()
    assert blocker.args == [2, False]
    with qtbot.waitSignal(sidebar.sig_export_requested) as blocker:
        actions["Export as Markdown…"].trigger()
    assert blocker.args == [2, "markdown"]
    with qtbot.waitSignal(sidebar.sig_export_requested) as blocker:
        actions["Export as JSON…"].trigger()
    assert blocker.args == [2, "json"]
    sidebar.confirm_delete = lambda title: True  # type: ignore[method-assign]
    with qtbot.waitSignal(sidebar.sig_delete_requested) as blocker:
        actions["Delete…"].trigger()
    assert blocker.args == [2]
    with qtbot.assertNotEmitted(sidebar.sig_rename_requested):
        actions["Rename"].trigger()  # in place; Esc keeps the old title
        assert sidebar.renaming_id() == 2
        qtbot.keyClick(sidebar.rename_editor, Qt.Key.Key_Escape)
    assert sidebar.renaming_id() is None
    pin_menu = sidebar.build_context_menu(1)
    pin = next(a for a in pin_menu.actions() if a.text() == "Pin to top")
    with qtbot.waitSignal(sidebar.sig_pin_requested) as blocker:
        pin.trigger()
    assert blocker.args == [1, True]


def test_confirm_delete_text_says_it_cannot_be_undone(qtbot, sidebar, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    seen: dict[str, str] = {}

    def fake_exec(box: QMessageBox) -> int:
        seen["text"] = box.text() + " " + box.informativeText()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert sidebar.confirm_delete("Trip") is False
    assert "cannot be undone" in seen["text"]
    assert "session cannot be recovered" in seen["text"]


def test_search_is_debounced_and_results_highlight(qtbot, sidebar) -> None:
    emitted: list[str] = []
    sidebar.sig_search_requested.connect(emitted.append)
    sidebar.focus_search()
    qtbot.keyClicks(sidebar.search_field, "goal")
    assert emitted == []  # nothing until typing pauses
    qtbot.waitUntil(lambda: emitted == ["goal"], timeout=2000)
    assert sidebar.pages.currentIndex() == sidebar.PAGE_RESULTS
    snippet = f"the {HIGHLIGHT_START}goal{HIGHLIGHT_END} in minute 12"
    sidebar.show_search_results("old query", [SearchHit(1, "stale", "x", None, 0.0)])
    assert sidebar.results_model.rowCount() == 0  # a late answer to another query is dropped
    sidebar.show_search_results("goal", [SearchHit(3, "Conversation 3", snippet, 7, 1.0)])
    assert sidebar.results_model.rowCount() == 1
    assert "1 match" in sidebar.results_status.text()
    assert split_highlights(snippet) == [("the ", False), ("goal", True),
                                         (" in minute 12", False)]
    sidebar.results_view.grab()  # paint the highlight delegate once
    with qtbot.waitSignal(sidebar.sig_conversation_selected) as blocker:
        qtbot.keyClick(sidebar.search_field, Qt.Key.Key_Return)
    assert blocker.args == [3]
    assert sidebar.current_conversation_id() == 3
    qtbot.keyClick(sidebar.search_field, Qt.Key.Key_Escape)
    assert sidebar.search_field.text() == ""
    assert sidebar.pages.currentIndex() == sidebar.PAGE_LIST


def test_esc_or_up_from_the_results_goes_back_to_the_query(qtbot, sidebar) -> None:
    sidebar.activateWindow()
    qtbot.waitUntil(sidebar.isActiveWindow, timeout=5_000)
    sidebar.focus_search()
    qtbot.keyClicks(sidebar.search_field, "goal")
    hits = [SearchHit(3, "Conversation 3", "goal", 7, 1.0),
            SearchHit(1, "Conversation 1", "goal", 2, 0.5)]
    sidebar.show_search_results("goal", hits)
    qtbot.keyClick(sidebar.search_field, Qt.Key.Key_Down)
    assert sidebar.results_view.hasFocus()
    qtbot.keyClick(sidebar.results_view, Qt.Key.Key_Escape)
    assert sidebar.search_field.hasFocus() and sidebar.search_field.text() == "goal"
    assert sidebar.pages.currentIndex() == sidebar.PAGE_RESULTS  # the query is kept
    # Up walks the results, and from the first one back to the query.
    qtbot.keyClick(sidebar.search_field, Qt.Key.Key_Down)
    qtbot.keyClick(sidebar.results_view, Qt.Key.Key_Down)
    assert sidebar.results_view.currentIndex().row() == 1
    qtbot.keyClick(sidebar.results_view, Qt.Key.Key_Up)
    assert sidebar.results_view.hasFocus() and sidebar.results_view.currentIndex().row() == 0
    qtbot.keyClick(sidebar.results_view, Qt.Key.Key_Up)
    assert sidebar.search_field.hasFocus()


def test_search_no_results_message(qtbot, sidebar) -> None:
    sidebar.search_field.setText("zzz")
    sidebar.show_search_results("zzz", [])
    assert sidebar.results_status.text() == "No conversations match “zzz”."


def test_delegate_paints_badges_and_pins(qtbot, sidebar) -> None:
    sidebar.upsert_summary(make_summary(5, 400, status=MessageStatus.STREAMING, pinned=True))
    sidebar.upsert_summary(make_summary(6, 50, status=MessageStatus.INTERRUPTED))
    image = sidebar.list_view.grab().toImage()
    assert not image.isNull()
    # Rows are two lines tall (title + "store · age").
    hint = sidebar.list_view.sizeHintForRow(0)
    assert hint > 2 * sidebar.list_view.fontMetrics().height()


# -- rich-text injection ----------------------------------------------------------------------

EVIL = '<h1>Evil</h1><img src="file:///etc/passwd">'


def shown_as(tooltip: str) -> str:
    """What Qt displays for a tooltip (it renders anything that looks like HTML)."""
    from PySide6.QtGui import Qt as GuiQt  # mightBeRichText lives in QtGui's Qt namespace
    from PySide6.QtGui import QTextDocument

    if not GuiQt.mightBeRichText(tooltip):
        return tooltip
    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText()


def test_confirm_delete_shows_an_html_title_as_plain_text(qtbot, sidebar, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    seen: list[QMessageBox] = []

    def fake_exec(box: QMessageBox) -> int:
        seen.append(box)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert sidebar.confirm_delete(EVIL) is False
    (box,) = seen
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert EVIL in box.text()


def test_confirm_delete_names_a_question_title_without_a_doubled_question_mark(
        qtbot, sidebar, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    seen: list[str] = []

    def fake_exec(box: QMessageBox) -> int:
        seen.append(box.text())
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    sidebar.confirm_delete("What are the main themes?")
    (text,) = seen
    assert "“What are the main themes?”" in text
    assert "?”?" not in text and text.startswith("Delete")


def test_search_results_never_render_html(qtbot, sidebar) -> None:
    sidebar.search_field.setText(EVIL)
    sidebar.show_search_results(EVIL, [])
    assert sidebar.results_status.textFormat() == Qt.TextFormat.PlainText
    assert EVIL in sidebar.results_status.text()
    sidebar.show_search_results(EVIL, [SearchHit(1, EVIL, f"see {EVIL} here", 3, 1.0)])
    tip = sidebar.results_model.item(0).toolTip()
    assert shown_as(tip) == f"see {EVIL} here"


def test_conversation_tooltip_is_escaped(qtbot) -> None:
    model = ConversationListModel()
    model.set_summaries([make_summary(1, 10.0, title=EVIL)])
    tip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert shown_as(tip) == f"{EVIL}\nStore: Games"


def test_model_held_conversations_read_not_saved_and_repaint(qtmodeltester) -> None:
    model = ConversationListModel()
    qtmodeltester.check(model, force_py=True)
    model.set_summaries([make_summary(1, 1.0, status=MessageStatus.STREAMING),
                         make_summary(2, 2.0, status=MessageStatus.COMPLETE)])
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))

    def badge(cid: int) -> str | None:
        row = model.row_for_conversation(cid)
        assert row is not None
        found = model.index(row, 0).data(BadgeRole)
        return None if found is None else found.text

    assert [badge(1), badge(2)] == ["answering…", None]
    model.set_held([1, 7])  # 7 is not listed: nothing to repaint for it
    assert [badge(1), badge(2)] == ["not saved — disk full", None]
    assert model.index(model.row_for_conversation(1), 0).data(
        Qt.ItemDataRole.AccessibleTextRole) == "Conversation 1, not saved — disk full"
    assert model.index(model.row_for_conversation(2), 0).data(
        Qt.ItemDataRole.AccessibleTextRole) == "Conversation 2"
    assert changed == [model.row_for_conversation(1)]
    changed.clear()
    model.set_held([1])  # no change: no repaint
    assert changed == []
    model.set_held([])
    assert badge(1) == "answering…" and changed == [model.row_for_conversation(1)]


def test_sidebar_paints_the_held_badge(qtbot) -> None:
    sidebar = ConversationSidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(300, 200)
    sidebar.set_summaries([make_summary(1, time.time(), status=MessageStatus.STREAMING)])
    sidebar.show()
    before = sidebar.list_view.viewport().grab().toImage()
    sidebar.set_held_conversations(frozenset({1}))
    qtbot.waitUntil(lambda: sidebar.list_view.viewport().grab().toImage() != before,
                    timeout=5_000)


def test_a_narrow_row_elides_the_store_name_and_keeps_the_age(qtbot) -> None:
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    from jockey_desktop.ui.sidebar import fit_meta

    metrics = QFontMetrics(QApplication.font())
    age = "just now"
    store = "Nature documentaries"
    whole = f"{store} · {age}"
    assert fit_meta(store, age, metrics, metrics.horizontalAdvance(whole) + 2) == whole
    narrow = metrics.horizontalAdvance(f"Natu… · {age}") + 2
    shown = fit_meta(store, age, metrics, narrow)
    assert shown.endswith(f" · {age}")
    assert shown.startswith("Nat") and "…" in shown
    assert metrics.horizontalAdvance(shown) <= narrow
    # Too narrow for anything but the age: the age, never a stray dot.
    assert fit_meta(store, age, metrics, metrics.horizontalAdvance(age) + 2) == age



def test_new_conversation_is_elided_not_cut_in_a_narrow_sidebar(qtbot) -> None:
    from PySide6.QtGui import QFont

    sidebar = ConversationSidebar()
    qtbot.addWidget(sidebar)
    big = QFont(sidebar.font())
    big.setPointSizeF(16)
    sidebar.setFont(big)  # a user with low vision; the sidebar at its narrowest (220)
    button = sidebar.new_button
    # Narrower than the button's text whatever font a style sheet left behind.
    sidebar.setFixedWidth(min(220, button.sizeHint().width() - 40))
    sidebar.show()
    qtbot.waitExposed(sidebar)
    assert button.width() < button.sizeHint().width()
    shown = button.shown_text()
    assert shown != button.text() and shown.endswith("…")
    assert button.accessibleName() == "New conversation"
    sidebar.setFixedWidth(button.sizeHint().width() + 60)
    qtbot.waitUntil(lambda: button.shown_text() == button.text(), timeout=5_000)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focused_list_shows_its_focus_on_the_current_row(qtbot, qapp, sidebar,
                                                             scheme) -> None:
    from PySide6.QtCore import QRect

    from tests.helpers.look import themed

    with themed(qapp, scheme):
        view = sidebar.list_view
        sidebar.select_conversation(2, notify=False)
        sidebar.window().activateWindow()
        sidebar.search_field.setFocus()
        qtbot.waitUntil(sidebar.search_field.hasFocus, timeout=5_000)
        row = view.visualRect(view.currentIndex())
        assert row.isValid()
        without = view.viewport().grab(QRect(row)).toImage()
        view.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(view.hasFocus, timeout=5_000)
        qtbot.waitUntil(lambda: view.viewport().grab(QRect(row)).toImage() != without,
                        timeout=5_000)
