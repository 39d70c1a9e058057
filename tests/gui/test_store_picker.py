"""Tests for the knowledge-store picker and its models."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.store_counts import store_counts_text
from jockey_desktop.ui.models.store_model import (
    StoreFilterModel,
    StoreListModel,
    StoreRole,
)
from jockey_desktop.ui.store_picker import StorePicker, store_button_text

# The offscreen platform cannot raise windows, grab the keyboard or propagate size hints.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

STORES = [
    StoreSummary("ks_a", "Football highlights", "Match clips", 12, ready=12),
    StoreSummary("ks_b", "Cooking shows", "Recipes", 5, ready=3, processing=2),
    StoreSummary("ks_c", "Drone footage", "", 2, failed=2),
]


def test_store_models(qtmodeltester) -> None:
    model = StoreListModel()
    model.set_stores(STORES)
    qtmodeltester.check(model, force_py=True)
    proxy = StoreFilterModel()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.set_filter_text("RECIPE")  # description matches too, any case
    assert proxy.rowCount() == 1
    assert proxy.index(0, 0).data(StoreRole).id == "ks_b"
    proxy.set_filter_text("")
    assert proxy.rowCount() == 3
    assert model.row_for_store("ks_c") == 2 and model.row_for_store("nope") is None
    assert store_counts_text(STORES[1]) == "5 videos · 3 ready · 2 indexing"
    assert store_counts_text(STORES[2]) == "2 videos · 0 ready · 2 failed"


@pytest.fixture
def picker(qtbot) -> StorePicker:
    widget = StorePicker()
    qtbot.addWidget(widget)
    widget.resize(500, 80)
    widget.show()
    return widget


def test_loading_then_auto_selects_first_ready_without_emitting(qtbot, picker) -> None:
    picker.set_loading()
    assert "Loading" in picker.button.text()
    assert not picker.popup.refresh_button.isEnabled()
    with qtbot.assertNotEmitted(picker.sig_store_chosen):
        picker.set_stores([STORES[2], STORES[0]])
    assert picker.current_store().id == "ks_a"
    assert picker.button.text().startswith("Football highlights · 12 videos · Ready")
    assert picker.warning_label.isHidden()


def test_select_store_before_load_is_restored(qtbot, picker) -> None:
    assert picker.select_store("ks_b") is False  # not loaded yet: remembered
    picker.set_stores(STORES)
    assert picker.current_store().id == "ks_b"
    assert not picker.warning_label.isHidden()
    assert "2 videos are still indexing" in picker.warning_label.text()
    assert picker.select_store("ks_c")
    assert "No videos in “Drone footage” are ready" in picker.warning_label.text()
    assert store_button_text(STORES[2]) == "Drone footage · 2 videos · None ready"


def test_vanished_store_falls_back_and_reports_current(qtbot, picker) -> None:
    shown: list[object] = []
    picker.sig_current_changed.connect(shown.append)
    picker.select_store("ks_gone")
    with qtbot.assertNotEmitted(picker.sig_store_chosen):
        picker.set_stores(STORES)
    assert picker.current_store().id == "ks_a"  # the first one with ready videos
    assert shown == [STORES[0]]
    picker.set_stores(STORES)  # same store again: no change reported
    assert shown == [STORES[0]]
    picker.set_stores([])
    assert shown == [STORES[0], None]


def test_popup_filter_and_choose_with_keyboard(qtbot, picker) -> None:
    picker.set_stores(STORES)
    picker.show_popup()
    assert picker.popup.isVisible()
    qtbot.keyClicks(picker.popup.filter_field, "dro")
    assert picker.filter_model.rowCount() == 1
    with qtbot.waitSignal(picker.sig_store_chosen) as blocker:
        qtbot.keyClick(picker.popup.filter_field, Qt.Key.Key_Return)
    assert blocker.args == ["ks_c"]
    assert not picker.popup.isVisible()
    assert picker.current_store().id == "ks_c"


def test_popup_arrow_keys_and_click(qtbot, picker) -> None:
    picker.set_stores(STORES)
    picker.show_popup()
    qtbot.keyClick(picker.popup.filter_field, Qt.Key.Key_Down)
    qtbot.keyClick(picker.popup.filter_field, Qt.Key.Key_Down)
    assert picker.popup.list_view.currentIndex().row() == 2
    qtbot.keyClick(picker.popup.filter_field, Qt.Key.Key_Up)
    with qtbot.waitSignal(picker.sig_store_chosen) as blocker:
        qtbot.keyClick(picker.popup.filter_field, Qt.Key.Key_Enter)
    assert blocker.args == ["ks_b"]


def test_refresh_and_error_state(qtbot, picker) -> None:
    picker.set_stores(STORES)
    with qtbot.waitSignal(picker.sig_refresh_requested):
        picker.popup.refresh_button.click()
    assert "Loading" in picker.button.text()
    picker.set_error("The network is unreachable.")
    assert "Could not load" in picker.button.text()
    assert "The network is unreachable." in picker.warning_label.text()
    assert "The network is unreachable." in picker.popup.status_label.text()
    assert picker.popup.refresh_button.isEnabled()
    picker.set_stores([])
    assert picker.current_store() is None
    assert picker.button.text().startswith("No knowledge stores")


def test_store_rows_paint(qtbot, picker) -> None:
    picker.set_stores(STORES)
    picker.show_popup()
    assert picker.popup.list_view.sizeHintForRow(0) > picker.fontMetrics().height() * 2
    assert not picker.popup.grab().toImage().isNull()


# -- rich-text injection and the no-match state --------------------------------------------

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


def test_store_names_and_errors_are_plain_text(qtbot, picker) -> None:
    evil = StoreSummary("ks_evil", EVIL, EVIL, 1, ready=0, processing=1)
    picker.set_stores([evil])
    assert picker.current_store().id == "ks_evil"
    assert picker.warning_label.textFormat() == Qt.TextFormat.PlainText
    assert picker.popup.status_label.textFormat() == Qt.TextFormat.PlainText
    assert EVIL in picker.button.text()  # QToolButton text is never rich text
    assert EVIL in shown_as(picker.button.toolTip())
    tip = picker.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert shown_as(tip).splitlines()[0] == EVIL
    picker.set_error(f"Server said {EVIL}")
    assert f"Server said {EVIL}" in picker.warning_label.text()
    assert f"Server said {EVIL}" in picker.popup.status_label.text()


def test_filter_without_match_says_so_and_counts(qtbot, picker) -> None:
    picker.set_stores(STORES)
    picker.show_popup()
    popup = picker.popup
    assert popup.status_label.text() == "3 stores"
    assert not popup.empty_label.isVisible()
    qtbot.keyClicks(popup.filter_field, "dro")
    assert popup.status_label.text() == "1 of 3 stores"
    qtbot.keyClicks(popup.filter_field, "zzz")
    assert picker.filter_model.rowCount() == 0
    assert popup.empty_label.isVisible() and not popup.list_view.isVisible()
    assert popup.empty_label.text() == "No store matches “drozzz”"
    assert popup.empty_label.textFormat() == Qt.TextFormat.PlainText
    assert popup.status_label.text() == "0 of 3 stores"
    popup.filter_field.clear()
    assert popup.list_view.isVisible() and not popup.empty_label.isVisible()
    assert popup.status_label.text() == "3 stores"
    popup.hide()


def test_a_long_store_name_is_elided_and_does_not_widen_the_picker(qtbot, picker) -> None:
    name = "Raw aerial survey footage & interviews from " + "the northern coast " * 8
    store = StoreSummary("ks_long", name, "", 3, ready=3)
    picker.set_stores([store])
    picker.choose("ks_long")
    whole = store_button_text(store).replace("&", "&&") + "  ▾"
    assert picker.button.text() == whole  # what the tooltip and screen readers get
    # The window's minimum width is the sum of its parts': the picker stays small.
    assert picker.minimumSizeHint().width() < 500
    picker.resize(500, 80)
    qtbot.waitUntil(lambda: picker.button.width() <= 500 - picker.caption.width(), timeout=2000)
    shown = picker.button.shown_text()
    assert shown.startswith("Raw aerial survey") and shown.endswith("…  ▾")
    width = picker.button.fontMetrics().horizontalAdvance(shown.replace("&&", "&"))
    assert width < picker.button.width()
    picker.resize(2400, 80)
    qtbot.waitUntil(lambda: picker.button.shown_text() == whole, timeout=2000)
