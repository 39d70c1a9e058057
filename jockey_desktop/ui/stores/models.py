"""Item models of the stores view: a store's items, the upload queue, a store's collections.

They hold what they are given (``ItemRow``s, ``Upload`` rows with their live progress,
``ItemCollection``s) and say it through the presentation rules; every text from a server or
a user reaches Qt as plain text (tooltips through ``plain_tooltip``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from jockey_desktop.core.storage.models import Upload, UploadState
from jockey_desktop.presentation.uploads import (
    ItemRow,
    upload_fraction,
    upload_status_text,
)
from jockey_desktop.ui.theme import palette_colors, plain_tooltip

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()

#: The row's record (``ItemRow``, ``Upload``, ``ItemCollection``).
RecordRole = Qt.ItemDataRole.UserRole + 1
#: A value to sort by (numbers for sizes, durations, dates).
SortRole = Qt.ItemDataRole.UserRole + 2
#: An upload row's progress, 0..1.
FractionRole = Qt.ItemDataRole.UserRole + 3


class _FlatTable(QAbstractTableModel):
    """A flat table of records with fixed column titles (``HEADERS``)."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: _Index = _ROOT) -> int:
        """Records (0 under any parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        """One column per header."""
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class ItemsModel(_FlatTable):
    """A store's items: title or file name, duration, size, status, added date."""

    HEADERS = ("Title", "Duration", "Size", "Status", "Added")
    TITLE, DURATION, SIZE, STATUS, ADDED = range(5)

    _rows: list[ItemRow]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Texts per column; the status coloured; a failed item's reason in the tooltip."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.title, row.duration, row.size, row.status, row.added)[column]
        if role == SortRole:
            return (row.title.casefold(), row.duration_s or 0.0, row.size_bytes or 0,
                    row.raw_status, row.added_at or 0.0)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [row.title, f"{row.kind.capitalize()} · {row.status}"]
            if row.detail:
                lines.append(row.detail)
            return plain_tooltip("\n".join(lines))
        if role == Qt.ItemDataRole.ForegroundRole and column == self.STATUS:
            colors = palette_colors()
            return {"ready": colors.success, "failed": colors.error}.get(
                row.raw_status, colors.warning)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == self.TITLE:
            text = f"{row.title}, {row.status}"
            return f"{text}. {row.detail}" if row.detail else text
        if role == RecordRole:
            return row
        return None

    def set_rows(self, rows: Iterable[ItemRow]) -> None:
        """Replace the items."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[ItemRow]:
        """The items in model order."""
        return list(self._rows)

    def row_by_id(self, item_id: str) -> ItemRow | None:
        """One item by id."""
        return next((r for r in self._rows if r.id == item_id), None)


class UploadsModel(_FlatTable):
    """The upload queue: file, store, progress bar, status line. Live progress comes from
    the queue's ticks (``set_progress``) and only repaints what changed."""

    HEADERS = ("File", "Store", "Progress", "Status")
    FILE, STORE, PROGRESS, STATUS = range(4)

    _rows: list[Upload]

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._live: dict[int, Any] = {}
        self._store_names: dict[str, str] = {}

    def status_text(self, upload: Upload) -> str:
        """The status line of one row, with its live progress."""
        live = self._live.get(upload.id)
        if live is None:
            return upload_status_text(upload)
        return upload_status_text(upload, sent=live.sent, speed=live.speed,
                                  seconds_left=live.seconds_left, waiting=live.waiting,
                                  item_status=live.item_status,
                                  waiting_for=live.waiting_for)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """File name, store name, status text; the bar's fraction by ``FractionRole``."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        upload = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.FILE:
                return upload.filename
            if column == self.STORE:
                return self._store_names.get(upload.store_id, upload.store_id)
            if column == self.STATUS:
                return self.status_text(upload)
            return None
        if role == FractionRole:
            live = self._live.get(upload.id)
            return upload_fraction(upload, live.sent if live is not None else None)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = upload.url if upload.url else upload.path
            return plain_tooltip(f"{upload.filename}\n{where}\n{self.status_text(upload)}")
        if role == Qt.ItemDataRole.ForegroundRole and column == self.STATUS:
            colors = palette_colors()
            if upload.state is UploadState.FAILED:
                return colors.error
            if upload.state is UploadState.READY:
                return colors.success
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole and column == self.FILE:
            return f"{upload.filename}: {self.status_text(upload)}"
        if role == RecordRole:
            return upload
        return None

    def set_rows(self, rows: Iterable[Upload]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = sorted(rows, key=lambda r: r.id)
        self.endResetModel()

    def upsert(self, rows: Iterable[Upload]) -> None:
        """Add new rows, replace changed ones."""
        for upload in rows:
            position = self._position(upload.id)
            if position is None:
                at = len(self._rows)
                self.beginInsertRows(_ROOT, at, at)
                self._rows.append(upload)
                self.endInsertRows()
            else:
                self._rows[position] = upload
                self.dataChanged.emit(self.index(position, 0),
                                      self.index(position, self.columnCount() - 1))

    def remove(self, upload_ids: Sequence[int]) -> None:
        """Drop rows."""
        for upload_id in upload_ids:
            position = self._position(upload_id)
            if position is not None:
                self.beginRemoveRows(_ROOT, position, position)
                del self._rows[position]
                self.endRemoveRows()

    def set_progress(self, files: dict[int, Any]) -> None:
        """The live progress of the rows under way (``FileProgress`` by upload id)."""
        changed = {i for i in set(files) | set(self._live)
                   if files.get(i) != self._live.get(i)}
        self._live = dict(files)
        for upload_id in changed:
            position = self._position(upload_id)
            if position is not None:
                self.dataChanged.emit(self.index(position, self.PROGRESS),
                                      self.index(position, self.STATUS))

    def set_store_names(self, names: dict[str, str]) -> None:
        """Names to show in the Store column."""
        self._store_names = dict(names)
        if self._rows:
            self.dataChanged.emit(self.index(0, self.STORE),
                                  self.index(len(self._rows) - 1, self.STORE))

    def rows(self) -> list[Upload]:
        """The rows in order."""
        return list(self._rows)

    def _position(self, upload_id: int) -> int | None:
        return next((n for n, r in enumerate(self._rows) if r.id == upload_id), None)


class CollectionsModel(QAbstractListModel):
    """A store's collections: "Name · 3 items"."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: _Index = _ROOT) -> int:
        """Collections (flat)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Name and member count."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        collection = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            count = collection.member_count
            if count is None:
                return collection.name
            noun = "item" if count == 1 else "items"
            return f"{collection.name} · {count} {noun}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip("\n".join(x for x in (collection.name,
                                                       collection.description or "") if x))
        if role == RecordRole:
            return collection
        return None

    def set_rows(self, rows: Iterable[Any]) -> None:
        """Replace the collections."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        """The collections in order."""
        return list(self._rows)
