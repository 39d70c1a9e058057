"""The stores view by keyboard alone: Tab leaves the videos table and the upload queue (it
used to walk their cells for ever), Enter plays the selected video and Delete asks to remove
it, as a double click and the buttons do."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.uploads import ItemRow
from jockey_desktop.ui.stores.stores_view import StoresView

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

STORE = StoreSummary("ks_1", "Holiday clips", "", 2, ready=2, counted=True)


def row(item_id: str, title: str) -> ItemRow:
    return ItemRow(id=item_id, asset_id=None, title=title, kind="video", duration="00:12",
                   size="30 KB", status="Ready", added="3 Dec 2026", detail="",
                   raw_status="ready")


def upload(upload_id: int, name: str) -> Upload:
    return Upload(id=upload_id, uid=f"u{upload_id}", batch_id="b", store_id="ks_1",
                  path=f"/videos/{name}", filename=name, size=30_000, mtime_ns=1,
                  asset_type="video", method=UploadMethod.DIRECT, url=None,
                  state=UploadState.READY, upload_id=None, asset_id="a", item_id=None,
                  chunk_size=None, total_chunks=None, chunks=(), bytes_done=30_000,
                  error_message=None, created_at=1.0, updated_at=1.0)


@pytest.fixture
def view(qtbot: Any) -> StoresView:
    widget = StoresView()
    qtbot.addWidget(widget)
    widget.set_stores([STORE])
    widget.show_items("ks_1", [row("ksi_a", "beach day.mp4"), row("ksi_b", "city night.mp4")])
    widget.uploads.set_rows([upload(1, "beach day.mp4"), upload(2, "city night.mp4")])
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def focused() -> QWidget | None:
    return QApplication.focusWidget()


@pytest.mark.parametrize("table", ["items_table", "uploads"])
def test_tab_leaves_the_table(qtbot: Any, view: StoresView, table: str) -> None:
    widget = view.items_table if table == "items_table" else view.uploads.table
    widget.setFocus()
    widget.selectRow(0)
    qtbot.waitUntil(lambda: focused() is widget, timeout=2000)
    qtbot.keyClick(widget, Qt.Key.Key_Tab)
    assert focused() is not widget


def test_enter_plays_the_selected_video_and_delete_asks_to_remove_it(
    qtbot: Any, view: StoresView
) -> None:
    table = view.items_table
    table.setFocus()
    view.select_items(["ksi_b"])
    with qtbot.waitSignal(view.sig_play_item, timeout=2000) as played:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert played.args == ["ks_1", "ksi_b", "city night.mp4"]
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    box = view.active_dialog
    assert isinstance(box, QMessageBox) and box.text() == "Remove “city night.mp4” from the store?"
    with qtbot.waitSignal(view.sig_remove_items, timeout=2000) as removed:
        next(b for b in box.buttons() if b.text() == "Remove").click()
    assert removed.args == ["ks_1", ["ksi_b"]]
