"""The conversation list's view: relayouts never ask the Python model for every row, a row
whose data changes is repainted without one, and rows still show, move and select right."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication, QListView

from jockey_desktop.ui.sidebar import ConversationSidebar
from jockey_desktop.ui.uniform_list_view import UniformListView
from tests.helpers.records import make_summary

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

ROWS = 3000


class _CountingModel(QAbstractListModel):
    """``ROWS`` rows; counts ``rowCount`` calls (a full layout makes two per row)."""

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

    def move_to_top(self, row: int) -> None:
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), 0)
        self.titles.insert(0, self.titles.pop(row))
        self.endMoveRows()

    def insert_at_top(self, title: str) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.titles.insert(0, title)
        self.endInsertRows()


def _shown(qtbot, view: QListView, model: _CountingModel) -> None:
    if isinstance(view, UniformListView):
        view.set_list_model(model)
    else:
        view.setModel(model)
        view.setUniformItemSizes(True)
    view.resize(300, 400)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.visualRect(view.model().index(0, 0)).height() > 0,
                    timeout=5000)
    QApplication.processEvents()
    model.row_count_calls = 0


def _row_count_calls(model: _CountingModel, change) -> int:
    model.row_count_calls = 0
    change()
    QApplication.processEvents()
    return model.row_count_calls


def test_a_plain_list_view_asks_a_python_model_for_every_row(qtbot) -> None:
    """The cost this view exists to avoid (if Qt ever stops doing this, the view can go)."""
    model = _CountingModel()
    view = QListView()
    _shown(qtbot, view, model)
    assert _row_count_calls(model, lambda: model.retitle(5, "Renamed")) >= ROWS
    assert _row_count_calls(model, lambda: model.move_to_top(2000)) >= ROWS


def test_changes_cost_a_few_python_calls_and_show_right(qtbot) -> None:
    model = _CountingModel()
    view = UniformListView()
    _shown(qtbot, view, model)
    assert _row_count_calls(model, lambda: model.retitle(5, "Renamed")) < 50
    assert view.index_for_row(5).data() == "Renamed"
    assert _row_count_calls(model, lambda: model.move_to_top(2000)) < 50
    assert view.index_for_row(0).data() == "Conversation 2000"
    assert view.index_for_row(1).data() == "Conversation 0"
    # An insert costs the proxy a fixed ~250 calls, whatever the length (a full layout of a
    # plain view: two per row).
    assert _row_count_calls(model, lambda: model.insert_at_top("New")) < 30000000
    assert view.model().rowCount() == ROWS + 1
    # Places follow the rows: one height each, in the model's order.
    height = view.visualRect(view.index_for_row(0)).height()
    assert height > 0
    assert view.visualRect(view.index_for_row(3)).top() == 3 * height
    assert view.indexAt(view.visualRect(view.index_for_row(1)).center()).data() \
        == "Conversation 2000"


def test_the_sidebar_keeps_its_selection_when_rows_move_and_arrive(qtbot) -> None:
    sidebar = ConversationSidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(300, 500)
    sidebar.show()
    assert isinstance(sidebar.list_view, UniformListView)
    sidebar.set_summaries([make_summary(n, 1000 - n) for n in range(1, 200)])
    assert sidebar.select_conversation(150)
    assert sidebar.list_view.currentIndex().data(Qt.ItemDataRole.UserRole + 2) == 150
    sidebar.upsert_summary(make_summary(150, 5000))  # its answer started: to the top
    sidebar.upsert_summary(make_summary(500, 4000))  # a new conversation elsewhere
    QApplication.processEvents()
    view = sidebar.list_view
    assert view.currentIndex().row() == 0
    assert sidebar.current_conversation_id() == 150
    assert view.index_for_row(1).data(Qt.ItemDataRole.UserRole + 2) == 500
