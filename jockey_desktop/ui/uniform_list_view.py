"""A ``QListView`` for long lists whose rows all have one height (the conversation list).

Qt lays out *every* row of a ``QListView`` again after a row is inserted, removed or moved
(and, in Qt 6's list mode, even after one row's data changed), asking the model for an index
of each row twice. A Python model answers each of those through its Python ``rowCount``:
about 40 ms on the GUI thread for 10,000 conversations — and a conversation's row changes and
moves whenever an answer starts and ends in it, which the benchmark saw as the worst
event-loop gaps while an answer streamed. So this view

- shows its Python model through a ``QSortFilterProxyModel`` (no sorting, no filter): the
  proxy's indexes and row count live in C++, so a full layout costs ~3 ms instead of ~40;
  the data still comes from the Python model, for the rows on screen only;
- only repaints rows whose data changed: rows of one height cannot move when their data
  changes, so there is nothing to lay out.

Indexes of the view (``currentIndex()``, ``indexAt()``, its selection) are the proxy's; use
:meth:`index_for_row` to turn a row of the Python model into one.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

_Index = QModelIndex | QPersistentModelIndex


class UniformListView(QListView):
    """A list view of one-height rows over a Python list model, cheap to lay out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)
        self._rows = QSortFilterProxyModel(self)
        self._rows.setDynamicSortFilter(False)  # the Python model keeps its own order

    def set_list_model(self, model: QAbstractItemModel) -> None:
        """Show ``model``'s rows, in its order, through the C++ proxy."""
        self._rows.setSourceModel(model)
        self.setModel(self._rows)

    def index_for_row(self, row: int) -> QModelIndex:
        """The view's index of row ``row`` of the Python model (invalid when out of range)."""
        return self._rows.index(row, 0)

    def dataChanged(self, topLeft: _Index, bottomRight: _Index,  # noqa: N803 (Qt API)
                    roles: Sequence[int] = ()) -> None:
        """Repaint the changed rows; their sizes (all one) and positions stay."""
        QAbstractItemView.dataChanged(self, topLeft, bottomRight, list(roles))
