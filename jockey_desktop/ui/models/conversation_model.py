"""The sidebar's list model: one row per conversation, pinned first, then newest activity.

Built to stay fast with 10,000 conversations: the rows live in a Python list kept in sort
order, with an id → row dict for O(1) lookups. An upsert moves a single row with
``beginMoveRows`` (so views keep the selection and scroll position) instead of resetting.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt

from jockey_desktop.core.storage.models import ConversationSummary
from jockey_desktop.presentation.conversation_row import row_badge
from jockey_desktop.ui.theme import plain_tooltip

_Index = QModelIndex | QPersistentModelIndex

#: The whole ConversationSummary of a row.
SummaryRole = Qt.ItemDataRole.UserRole + 1
#: The conversation id (int) of a row.
ConversationIdRole = Qt.ItemDataRole.UserRole + 2
#: The row's state badge (``presentation.conversation_row.Badge``) or None.
BadgeRole = Qt.ItemDataRole.UserRole + 3


def sort_key(summary: ConversationSummary) -> tuple[bool, float, int]:
    """Ascending key: pinned first, then most recent ``updated_at``, then newest id."""
    conv = summary.conversation
    return (not conv.pinned, -conv.updated_at, -conv.id)


class ConversationListModel(QAbstractListModel):
    """Rows of ConversationSummary in sidebar order (read-only for views).

    Renaming goes through the sidebar's dialog and the controller; the updated summary comes
    back through ``upsert``, which keeps the storage the single source of truth.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ConversationSummary] = []
        self._keys: list[tuple[bool, float, int]] = []
        self._row_of: dict[int, int] = {}
        #: Conversations whose answer waits in memory for disk space (not in the summaries:
        #: their stored answer still says "streaming").
        self._held: frozenset[int] = frozenset()

    # -- Qt model API -------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Number of conversations (0 for any valid parent: this is a flat list)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Title for display/tooltip, the summary for SummaryRole, the id for IdRole."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        summary = self._rows[index.row()]
        conv = summary.conversation
        if role == Qt.ItemDataRole.DisplayRole:
            return conv.title or "New conversation"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # The badge is painted: a screen reader hears it with the title.
            badge = row_badge(summary.last_status, held=conv.id in self._held)
            title = conv.title or "New conversation"
            return f"{title}, {badge.text}" if badge is not None else title
        if role == Qt.ItemDataRole.ToolTipRole:
            # Titles and store names are user/server text: never let Qt read them as HTML.
            return plain_tooltip(f"{conv.title or 'New conversation'}\nStore: {conv.store_name}")
        if role == SummaryRole:
            return summary
        if role == ConversationIdRole:
            return conv.id
        if role == BadgeRole:
            return row_badge(summary.last_status, held=conv.id in self._held)
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names (for QML and debugging)."""
        names = dict(super().roleNames())
        names[SummaryRole] = QByteArray(b"summary")
        names[ConversationIdRole] = QByteArray(b"conversationId")
        names[BadgeRole] = QByteArray(b"badge")
        return names

    # -- mutations ----------------------------------------------------------------------------

    def set_summaries(self, summaries: Iterable[ConversationSummary]) -> None:
        """Replace every row (sorted here; the caller's order does not matter)."""
        unique = {s.conversation.id: s for s in summaries}
        rows = sorted(unique.values(), key=sort_key)
        self.beginResetModel()
        self._rows = rows
        self._keys = [sort_key(s) for s in rows]
        self._row_of = {s.conversation.id: i for i, s in enumerate(rows)}
        self.endResetModel()

    def add_summaries(self, summaries: Iterable[ConversationSummary]) -> int:
        """Insert the conversations not listed yet at their sorted places; returns how many.

        For the rest of the list loaded after start-up: a listed conversation is never
        replaced (the row already shown was read later, so it is at least as fresh), and no
        reset happens, so views keep their selection and scroll position. New rows that land
        next to each other go in with one ``beginInsertRows`` (usually a single block at the
        end), so 10,000 rows cost one insert notification, not 10,000.
        """
        fresh: dict[int, ConversationSummary] = {}
        for summary in summaries:
            conv_id = summary.conversation.id
            if conv_id not in self._row_of:
                fresh[conv_id] = summary
        if not fresh:
            return 0
        new_rows = sorted(fresh.values(), key=sort_key)
        new_keys = [sort_key(s) for s in new_rows]
        # Group the new rows by the existing row they go before; insert the groups from the
        # bottom up so the positions of the groups still to insert stay valid.
        groups: list[tuple[int, int, int]] = []  # (position, first new, last new + 1)
        start = 0
        while start < len(new_rows):
            position = bisect.bisect_left(self._keys, new_keys[start])
            end = start + 1
            limit = self._keys[position] if position < len(self._keys) else None
            while end < len(new_rows) and (limit is None or new_keys[end] < limit):
                end += 1
            groups.append((position, start, end))
            start = end
        for position, first, stop in reversed(groups):
            self.beginInsertRows(QModelIndex(), position, position + (stop - first) - 1)
            self._rows[position:position] = new_rows[first:stop]
            self._keys[position:position] = new_keys[first:stop]
            self.endInsertRows()
        self._reindex(groups[0][0], len(self._rows) - 1)
        return len(new_rows)

    def upsert(self, summary: ConversationSummary) -> int:
        """Insert or update one conversation and move it to its sorted place; returns its row."""
        conv_id = summary.conversation.id
        key = sort_key(summary)
        old = self._row_of.get(conv_id)
        if old is None:
            row = bisect.bisect_left(self._keys, key)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, summary)
            self._keys.insert(row, key)
            self._reindex(row, len(self._rows) - 1)
            self.endInsertRows()
            return row
        # Where would it go among the other rows (the list without the old one)?
        old_key = self._keys.pop(old)
        new = bisect.bisect_left(self._keys, key)
        self._keys.insert(old, old_key)
        if new != old:
            # Qt's destination is an index in the list *before* the move.
            destination = new + 1 if new > old else new
            self.beginMoveRows(QModelIndex(), old, old, QModelIndex(), destination)
            del self._rows[old]
            del self._keys[old]
            self._rows.insert(new, summary)
            self._keys.insert(new, key)
            self._reindex(min(old, new), max(old, new))
            self.endMoveRows()
        else:
            self._rows[old] = summary
            self._keys[old] = key
        index = self.index(new, 0)
        self.dataChanged.emit(index, index)
        return new

    def set_held(self, conversation_ids: Iterable[int]) -> None:
        """The conversations whose answer waits for disk space now; their rows (and the
        rows that no longer wait) are repainted."""
        held = frozenset(conversation_ids)
        changed, self._held = held ^ self._held, held
        for conversation_id in changed:
            row = self._row_of.get(conversation_id)
            if row is not None:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [BadgeRole])

    def remove(self, conversation_id: int) -> bool:
        """Remove one conversation; returns False when it was not in the list."""
        row = self._row_of.get(conversation_id)
        if row is None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        del self._keys[row]
        del self._row_of[conversation_id]
        self._reindex(row, len(self._rows) - 1)
        self.endRemoveRows()
        return True

    # -- lookups ------------------------------------------------------------------------------

    def row_for_conversation(self, conversation_id: int) -> int | None:
        """The row of a conversation, or None when it is not listed."""
        return self._row_of.get(conversation_id)

    def summary_at(self, row: int) -> ConversationSummary | None:
        """The summary at ``row``, or None when out of range."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def summary_for(self, conversation_id: int) -> ConversationSummary | None:
        """The summary of a conversation, or None when it is not listed."""
        row = self._row_of.get(conversation_id)
        return None if row is None else self._rows[row]

    def summaries(self) -> list[ConversationSummary]:
        """A copy of every row in display order."""
        return list(self._rows)

    def _reindex(self, first: int, last: int) -> None:
        for i in range(first, last + 1):
            self._row_of[self._rows[i].conversation.id] = i
