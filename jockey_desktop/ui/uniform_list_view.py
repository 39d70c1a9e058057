"""A ``QListView`` for long lists whose rows all have one height (the conversation list).

Qt 6's ``QListView.dataChanged`` lays out *every* row again, even with
``uniformItemSizes`` set: it asks the model for an index per row, and each of those calls
the Python model's ``rowCount``. With 10,000 conversations that is about 40 ms on the GUI
thread for a one-row change — and a conversation's row changes twice per answer (its badge
says "answering…", then not), which the benchmark saw as the worst event-loop gaps while an
answer streamed. Rows of one height cannot move when their data changes, so this view only
repaints the changed rows (``QAbstractItemView.dataChanged``: editors, accessibility and the
repaint, without the relayout). Insertions, removals, moves and resets still lay out as Qt
does.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

_Index = QModelIndex | QPersistentModelIndex


class UniformListView(QListView):
    """A list view with ``uniformItemSizes`` on, where a data change never relays out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)

    def dataChanged(self, topLeft: _Index, bottomRight: _Index,  # noqa: N803 (Qt API)
                    roles: Sequence[int] = ()) -> None:
        """Repaint the changed rows; their sizes (all one) and positions stay."""
        QAbstractItemView.dataChanged(self, topLeft, bottomRight, list(roles))
