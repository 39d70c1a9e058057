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

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.versions import (
    VersionInfo,
    answer_versions,
    reading_order,
    version_info,
)
from jockey_desktop.presentation.accessible import accessible_text

_Index = QModelIndex | QPersistentModelIndex

#: ``data(index, MessageRole)`` returns the :class:`Message` of the row.
MessageRole = int(Qt.ItemDataRole.UserRole) + 1
#: ``data(index, RevisionRole)`` returns the row's revision (int).
RevisionRole = int(Qt.ItemDataRole.UserRole) + 2


class MessageListModel(QAbstractListModel):
    """The transcript's rows: questions, answers and session seams in reading order.

    An answer's versions (every answer to the same question, ``core.storage.versions``) make
    one row: the newest, or the one the user picked with ‹ ›; the others are held here,
    updated like rows, and shown when picked. A new version (Retry, Ask again) takes its
    question's row at once, so a failed or stopped attempt never stays stacked above it.
    """

    #: (answer id) — a new version of an answer took its question's row (Retry, Ask again).
    sig_version_added = Signal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self._rows: dict[int, int] = {}
        #: Every message held (shown or not) by id; rows share these objects.
        self._all: dict[int, Message] = {}
        #: Question id → the answer version the user picked (absent: the newest).
        self._chosen: dict[int, int] = {}
        self._versions: dict[int, list[Message]] = {}
        #: Answer id → (number, count) it was last shown with (a change re-lays it out).
        self._shown_info: dict[int, tuple[int, int]] = {}

    # -- Qt API -----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        """Number of rows (0 under any valid parent: this is a flat list)."""
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
        self._all = {m.id: dataclasses.replace(m) for m in messages}
        self._chosen = {}
        self._versions = answer_versions(self._all.values())
        self._messages = reading_order(self._all.values())
        self._shown_info = {}
        self._note_versions()
        self._reindex()
        self.endResetModel()

    def clear(self) -> None:
        """Remove every row."""
        self.set_messages([])

    def append(self, message: Message) -> None:
        """Add a message (a question, an answer or a new version of one, a seam); an id
        already held is replaced instead (idempotent). A new version is shown at once."""
        if message.id in self._all:
            self.replace(message)
            return
        self._all[message.id] = dataclasses.replace(message)
        replaces = (message.role is Role.ASSISTANT and message.reply_to is not None
                    and bool(self._versions.get(message.reply_to)))
        if message.reply_to is not None:
            self._chosen.pop(message.reply_to, None)  # the newest attempt is shown
        self._restructure()
        if replaces:
            self.sig_version_added.emit(message.id)

    def prepend(self, messages: Iterable[Message]) -> int:
        """Add older messages (oldest first) above the rows; returns how many were new.

        Ids already held are skipped, so an overlapping page can never duplicate a row.
        """
        fresh = [m for m in messages if m.id not in self._all]
        for message in fresh:
            self._all[message.id] = dataclasses.replace(message)
        if fresh:
            self._restructure()
        return len({m.id for m in fresh})

    def replace(self, message: Message) -> bool:
        """Swap in a newer version of a row (status, text, citations…) or of a held answer
        version; False if unknown."""
        old = self._all.get(message.id)
        if old is None:
            return False
        new = dataclasses.replace(message)
        # The caller's revision may lag ours (we bump on every streamed chunk).
        new.revision = max(message.revision, old.revision + 1)
        self._all[message.id] = new
        group = self._versions.get(new.reply_to) if new.reply_to is not None else None
        if group is not None:
            group[:] = [new if m.id == new.id else m for m in group]
        row = self._rows.get(message.id)
        if row is not None:
            self._messages[row] = new
            self._emit_row(row)
        return True

    def set_stream_text(self, message_id: int, text: str) -> bool:
        """Set the partial text of a streaming answer; False if the id is not held."""
        message = self._all.get(message_id)
        if message is None:
            return False
        if message.text == text:
            return True
        message.text = text
        message.revision += 1
        self._emit_id(message_id)
        return True

    def set_stream_steps(self, message_id: int, steps: list[dict[str, Any]]) -> bool:
        """Set the agent's steps so far of a streaming answer (the live line and the Steps
        list read them); False if the id is not held."""
        message = self._all.get(message_id)
        if message is None:
            return False
        if message.steps == steps:
            return True
        message.steps = list(steps)
        message.revision += 1
        self._emit_id(message_id)
        return True

    def remove(self, message_id: int) -> bool:
        """Remove one message (its row, or a held version); False if unknown."""
        if self._all.pop(message_id, None) is None:
            return False
        self._restructure()
        return True

    # -- versions ---------------------------------------------------------------------------
    def version_of(self, message_id: int) -> VersionInfo | None:
        """Where an answer stands among its question's answers (None for other rows)."""
        message = self._all.get(message_id)
        return version_info(self._versions, message) if message is not None else None

    def show_version(self, answer_id: int) -> bool:
        """Show this answer version in its question's row; False if it is not held."""
        answer = self._all.get(answer_id)
        if answer is None or answer.role is not Role.ASSISTANT or answer.reply_to is None:
            return False
        self._chosen[answer.reply_to] = answer_id
        self._restructure()
        return True

    def shown_version(self, question_id: int) -> int | None:
        """The id of the answer shown for a question, or None."""
        group = self._versions.get(question_id)
        if not group:
            return None
        chosen = self._chosen.get(question_id)
        return chosen if chosen in {m.id for m in group} else group[-1].id

    # -- queries ----------------------------------------------------------------------------
    def message_at(self, row: int) -> Message | None:
        """The message of ``row`` or None."""
        return self._messages[row] if 0 <= row < len(self._messages) else None

    def row_of(self, message_id: int) -> int | None:
        """The row of a message id or None (also None for an answer version not shown)."""
        return self._rows.get(message_id)

    def index_of(self, message_id: int) -> QModelIndex:
        """The model index of a message id (invalid if unknown or not shown)."""
        row = self._rows.get(message_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    def messages(self) -> list[Message]:
        """A copy of the row list, in order (the versions shown)."""
        return list(self._messages)

    def all_messages(self) -> list[Message]:
        """Every message held, versions not shown included, oldest first."""
        return [self._all[i] for i in sorted(self._all)]

    def message(self, message_id: int) -> Message | None:
        """A held message by id (shown or not)."""
        return self._all.get(message_id)

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

    def _emit_id(self, message_id: int) -> None:
        row = self._rows.get(message_id)
        if row is not None:
            self._emit_row(row)

    def _note_versions(self) -> list[int]:
        """Bump the revision of every shown answer whose "‹ n/m ›" changed (its cached
        layout is stale); returns their ids."""
        changed = []
        for message in self._messages:
            info = version_info(self._versions, message)
            if info is None:
                continue
            now = (info.number, info.count)
            if self._shown_info.get(message.id) != now:
                if message.id in self._shown_info or info.count > 1:
                    message.revision += 1
                    changed.append(message.id)
                self._shown_info[message.id] = now
        return changed

    def _restructure(self) -> None:
        """Recompute the rows from the held messages and tell the view the least it must
        know: rows inserted or removed in one place, rows swapped (a version), else a
        reset."""
        self._versions = answer_versions(self._all.values())
        new = reading_order(self._all.values(), self._chosen)
        old = self._messages
        old_ids = [m.id for m in old]
        new_ids = [m.id for m in new]
        prefix = 0
        while prefix < min(len(old_ids), len(new_ids)) and old_ids[prefix] == new_ids[prefix]:
            prefix += 1
        suffix = 0
        while (suffix < min(len(old_ids), len(new_ids)) - prefix
               and old_ids[-1 - suffix] == new_ids[-1 - suffix]):
            suffix += 1
        old_mid = len(old_ids) - prefix - suffix
        new_mid = len(new_ids) - prefix - suffix
        if old_mid == 0 and new_mid > 0:
            self.beginInsertRows(QModelIndex(), prefix, prefix + new_mid - 1)
            self._messages = new
            self._reindex()
            self.endInsertRows()
        elif new_mid == 0 and old_mid > 0:
            self.beginRemoveRows(QModelIndex(), prefix, prefix + old_mid - 1)
            self._messages = new
            self._reindex()
            self.endRemoveRows()
        elif old_mid == new_mid:
            self._messages = new
            self._reindex()
            for row in range(prefix, prefix + new_mid):
                new[row].revision += 1  # another message in this row: no stale layout
                self._shown_info.pop(new[row].id, None)
        else:
            self.beginResetModel()
            self._messages = new
            self._reindex()
            self.endResetModel()
        for message_id in set(self._note_versions()) | {
                m.id for m in new[prefix:prefix + new_mid] if old_mid == new_mid}:
            self._emit_id(message_id)
