"""Item models for the knowledge-store picker: the store list and its filter proxy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.store_counts import store_counts_text
from jockey_desktop.ui.theme import plain_tooltip

_Index = QModelIndex | QPersistentModelIndex

#: The whole StoreSummary of a row.
StoreRole = Qt.ItemDataRole.UserRole + 1
#: The store id (str) of a row.
StoreIdRole = Qt.ItemDataRole.UserRole + 2


class StoreListModel(QAbstractListModel):
    """One row per StoreSummary, in the order given (the server's order)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._stores: list[StoreSummary] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Number of stores (0 for any valid parent: this is a flat list)."""
        return 0 if parent.isValid() else len(self._stores)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Name for display, counts in the tooltip, the summary for StoreRole."""
        if not index.isValid() or not 0 <= index.row() < len(self._stores):
            return None
        store = self._stores[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return store.name
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{store.name}, {store_counts_text(store)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [store.name, store_counts_text(store)]
            if store.description:
                lines.append(store.description)
            # Server-supplied names/descriptions: never let Qt read them as HTML.
            return plain_tooltip("\n".join(lines))
        if role == StoreRole:
            return store
        if role == StoreIdRole:
            return store.id
        return None

    def set_stores(self, stores: Iterable[StoreSummary]) -> None:
        """Replace the list."""
        self.beginResetModel()
        self._stores = list(stores)
        self.endResetModel()

    def stores(self) -> list[StoreSummary]:
        """A copy of the stores in display order."""
        return list(self._stores)

    def row_for_store(self, store_id: str) -> int | None:
        """The row of a store id, or None."""
        for row, store in enumerate(self._stores):
            if store.id == store_id:
                return row
        return None


class StoreFilterModel(QSortFilterProxyModel):
    """Case-insensitive substring filter over the store name and description."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._needle = ""

    def set_filter_text(self, text: str) -> None:
        """Show only stores whose name or description contains ``text`` (any case)."""
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9: the non-deprecated way
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._needle = needle
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Keep the row when the needle is empty or found in name/description."""
        if not self._needle:
            return True
        model = self.sourceModel()
        store = model.data(model.index(source_row, 0, source_parent), StoreRole)
        if store is None:
            return False
        return self._needle in f"{store.name}\n{store.description}".casefold()
