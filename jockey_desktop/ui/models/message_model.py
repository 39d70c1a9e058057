"""The Qt list model of one conversation's transcript.

Holds its own shallow copies of :class:`Message` records (so a controller mutating its object
cannot change what a cached layout was built from) and an id → row map so a streamed chunk
finds its row in O(1). Every change emits ``dataChanged`` for exactly one row and bumps the
message's ``revision``: delegates key their cached documents on (id, revision, width).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from jockey_desktop.core.storage.models import Message, MessageStatus
from jockey_desktop.presentation.accessible import accessible_text

_Index = QModelIndex | QPersistentModelIndex

#: ``data(index, MessageRole)`` returns the :class:`Message` of the row.
MessageRole = int(Qt.ItemDataRole.UserRole) + 1
#: ``data(index, RevisionRole)`` returns the row's revision (int).
RevisionRole = int(Qt.ItemDataRole.UserRole) + 2


class MessageListModel(QAbstractListModel):
    """A flat list of transcript rows (user questions, answers, session seams)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self._rows: dict[int, int] = {}

    # -- Qt API -----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        """Number of messages (0 under any valid parent: this is a flat list)."""
        return 0 if parent.isValid() else len(self._messages)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display/accessible text is the raw message text; MessageRole gives the record."""
        if not index.isValid() or not 0 <= index.row() < len(self._messages):
            return None
        message = self._messages[index.row()]
        role = int(role)
        if role == int(Qt.ItemDataRole.DisplayRole):
            return message.text
        if role == int(Qt.ItemDataRole.AccessibleTextRole):
            return accessible_text(message)
        if role == MessageRole:
            return message
        if role == RevisionRole:
            return message.revision
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Rows are selectable (for the keyboard and "Copy message") but never editable."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -- mutation ---------------------------------------------------------------------------
    def set_messages(self, messages: Iterable[Message]) -> None:
        """Replace the whole transcript (switching conversations)."""
        self.beginResetModel()
        self._messages = [dataclasses.replace(m) for m in messages]
        self._reindex()
        self.endResetModel()

    def clear(self) -> None:
        """Remove every row."""
        self.set_messages([])

    def append(self, message: Message) -> None:
        """Add a row at the end; an id already present is replaced instead (idempotent)."""
        if message.id in self._rows:
            self.replace(message)
            return
        row = len(self._messages)
        self.beginInsertRows(QModelIndex(), row, row)
        self._messages.append(dataclasses.replace(message))
        self._rows[message.id] = row
        self.endInsertRows()

    def prepend(self, messages: Iterable[Message]) -> int:
        """Insert older messages (oldest first) above the first row; returns how many.

        Ids already shown are skipped, so an overlapping page can never duplicate a row.
        """
        fresh: list[Message] = []
        seen: set[int] = set()
        for message in messages:
            if message.id in self._rows or message.id in seen:
                continue
            seen.add(message.id)
            fresh.append(dataclasses.replace(message))
        if not fresh:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._messages[:0] = fresh
        self._reindex()
        self.endInsertRows()
        return len(fresh)

    def replace(self, message: Message) -> bool:
        """Swap in a newer version of a row (status, text, citations…); False if unknown."""
        row = self._rows.get(message.id)
        if row is None:
            return False
        old = self._messages[row]
        new = dataclasses.replace(message)
        # The caller's revision may lag ours (we bump on every streamed chunk).
        new.revision = max(message.revision, old.revision + 1)
        self._messages[row] = new
        self._emit_row(row)
        return True

    def set_stream_text(self, message_id: int, text: str) -> bool:
        """Set the partial text of a streaming answer; False if the id is not in this model."""
        row = self._rows.get(message_id)
        if row is None:
            return False
        message = self._messages[row]
        if message.text == text:
            return True
        message.text = text
        message.revision += 1
        self._emit_row(row)
        return True

    def set_stream_steps(self, message_id: int, steps: list[dict[str, Any]]) -> bool:
        """Set the agent's steps so far of a streaming answer (the live line and the Steps
        list read them); False if the id is not in this model."""
        row = self._rows.get(message_id)
        if row is None:
            return False
        message = self._messages[row]
        if message.steps == steps:
            return True
        message.steps = list(steps)
        message.revision += 1
        self._emit_row(row)
        return True

    def remove(self, message_id: int) -> bool:
        """Remove one row; False if unknown."""
        row = self._rows.get(message_id)
        if row is None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._messages[row]
        self._reindex()
        self.endRemoveRows()
        return True

    # -- queries ----------------------------------------------------------------------------
    def message_at(self, row: int) -> Message | None:
        """The message of ``row`` or None."""
        return self._messages[row] if 0 <= row < len(self._messages) else None

    def row_of(self, message_id: int) -> int | None:
        """The row of a message id or None."""
        return self._rows.get(message_id)

    def index_of(self, message_id: int) -> QModelIndex:
        """The model index of a message id (invalid if unknown)."""
        row = self._rows.get(message_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    def messages(self) -> list[Message]:
        """A copy of the row list, in order."""
        return list(self._messages)

    def streaming_rows(self) -> list[int]:
        """Rows whose answer is still arriving (the elapsed-time indicator repaints these)."""
        return [
            row
            for row, message in enumerate(self._messages)
            if message.status is MessageStatus.STREAMING
        ]

    # -- internals --------------------------------------------------------------------------
    def _reindex(self) -> None:
        self._rows = {message.id: row for row, message in enumerate(self._messages)}

    def _emit_row(self, row: int) -> None:
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)
