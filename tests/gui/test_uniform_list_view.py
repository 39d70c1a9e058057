"""The conversation list's view: a row whose data changes is repainted, never relaid out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication, QListView

from jockey_desktop.ui.sidebar import ConversationSidebar
from jockey_desktop.ui.uniform_list_view import UniformListView

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

ROWS = 3000


class _CountingModel(QAbstractListModel):
    """``ROWS`` rows; counts ``rowCount`` calls (a full layout makes one per row)."""

    def __init__(self) -> None:
        super().__init__()
        self.row_count_calls = 0
        self.titles = [f"Conversation {n}" for n in range(ROWS)]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        self.row_count_calls += 1
        return 0 if parent.isValid() else len(self.titles)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return self.titles[index.row()] if role == Qt.ItemDataRole.DisplayRole else None

    def retitle(self, row: int, title: str) -> None:
        self.titles[row] = title
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)


def _calls_for_one_change(qtbot, view: QListView) -> tuple[int, QModelIndex]:
    model = _CountingModel()
    view.setModel(model)
    view.setUniformItemSizes(True)
    view.resize(300, 400)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.visualRect(model.index(0, 0)).height() > 0, timeout=5000)
    QApplication.processEvents()
    model.row_count_calls = 0
    model.retitle(5, "Renamed")
    QApplication.processEvents()
    return model.row_count_calls, model.index(5, 0)


def test_a_plain_list_view_relays_out_every_row_on_one_change(qtbot) -> None:
    """The cost this view exists to avoid (if Qt ever stops doing this, the view can go)."""
    calls, _index = _calls_for_one_change(qtbot, QListView())
    assert calls >= ROWS


def test_a_uniform_list_view_repaints_a_changed_row_without_a_relayout(qtbot) -> None:
    view = UniformListView()
    calls, index = _calls_for_one_change(qtbot, view)
    assert calls < 50
    # The change is still shown: the row's place is unchanged and it reads the new title.
    assert view.visualRect(index).top() == 5 * view.visualRect(index).height()
    assert index.data() == "Renamed"


def test_the_sidebar_lists_conversations_in_a_uniform_list_view(qtbot) -> None:
    sidebar = ConversationSidebar()
    qtbot.addWidget(sidebar)
    assert isinstance(sidebar.list_view, UniformListView)
    assert sidebar.list_view.uniformItemSizes()
