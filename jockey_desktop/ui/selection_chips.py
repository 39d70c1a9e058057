"""What the next question asks about, in the composer: removable chips, and ``@`` completion.

:class:`SelectionChipsBar` shows the selections (``{"kind", "id", "name"}`` dicts) as chips
that wrap onto more lines, each with a remove button; it says which one to remove, the owner
decides. :class:`MentionCompleter` offers the store's ready videos and collections when
``@`` is typed in the question (a popup driven by the keyboard: arrows, Enter or Tab to pick,
Esc to close) and writes the pick as ``@Name``. Names are server text: they reach Qt as plain
text only (labels ``Qt.PlainText``, tooltips through ``plain_tooltip``, item-view text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPoint, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QListView,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
    QWidgetItem,
)

from jockey_desktop.presentation.selections import COLLECTION, mention, mention_query
from jockey_desktop.ui.theme import plain_tooltip

#: A chip's name is elided beyond this width (the tooltip has it whole).
CHIP_MAX_WIDTH = 260
#: The popup lists at most this many rows before it scrolls.
POPUP_ROWS = 8
#: ``data(index, SELECTION_ROLE)`` of a completion row: its selection dict.
SELECTION_ROLE = int(Qt.ItemDataRole.UserRole) + 11
#: What completion matches against: the name alone (the row shows "… · collection").
NAME_ROLE = int(Qt.ItemDataRole.UserRole) + 12
#: The one row ``@`` shows when the store has nothing to pick (no ready video, no
#: collection): without it the list simply did not open, as if ``@`` were broken.
NOTHING_TO_PICK = "Nothing here is ready to ask about yet"


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping onto new lines (chips)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        """Qt API: keep the item."""
        self._items.append(item)

    def count(self) -> int:
        """Qt API: number of items."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """Qt API: the item at ``index`` or None."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Qt API: remove and return the item at ``index``."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Qt API: never expands."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """Qt API: the height depends on the width (wrapping)."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Qt API: the height the items take at ``width``."""
        return self._place(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        """Qt API: place the items."""
        super().setGeometry(rect)
        self._place(rect, apply=True)

    def sizeHint(self) -> QSize:
        """Qt API: the size of the widest item, one line."""
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        """Qt API: room for the largest item."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, *, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:
                x, y, line = rect.x(), y + line + self._spacing, 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y()


class SelectionChip(QFrame):
    """One chip: the name (elided, whole in the tooltip) and a remove button."""

    sig_remove = Signal()

    def __init__(self, chosen: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("selectionChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        name = str(chosen.get("name") or chosen.get("id") or "")
        kind = "Collection" if chosen.get("kind") == COLLECTION else "Video"
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                              CHIP_MAX_WIDTH))
        self.label.setToolTip(plain_tooltip(f"{kind}: {name}"))
        self.setAccessibleName(f"Asking about {kind.lower()} {name}")
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setAccessibleName(f"Remove {name}")
        self.remove_button.setToolTip(plain_tooltip(f"Don't ask about {name}"))
        self.remove_button.clicked.connect(self.sig_remove)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.remove_button)


class SelectionChipsBar(QWidget):
    """The composer's chips; hidden while there are none."""

    #: The chip at this index should go (its remove button was pressed).
    sig_remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("What the question asks about")
        self._flow = FlowLayout(self)
        self._chips: list[SelectionChip] = []
        self._selections: list[dict[str, Any]] = []
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.hide()

    def set_selections(self, selections: Sequence[Mapping[str, Any]]) -> None:
        """Show these chips (in order)."""
        wanted = [dict(s) for s in selections]
        if wanted == self._selections:
            return
        self._selections = wanted
        for chip in self._chips:
            self._flow.removeWidget(chip)
            chip.deleteLater()
        self._chips = []
        for index, chosen in enumerate(wanted):
            chip = SelectionChip(chosen, self)
            chip.sig_remove.connect(lambda i=index: self.sig_remove_requested.emit(i))
            self._flow.addItem(QWidgetItem(chip))
            self._chips.append(chip)
            # A child made after its parent is shown stays hidden until shown itself (and
            # a hidden chip takes no room in the flow): a second pick hid every chip.
            chip.show()
        self.setVisible(bool(wanted))
        self.updateGeometry()

    def selections(self) -> list[dict[str, Any]]:
        """The chips shown, in order."""
        return [dict(s) for s in self._selections]

    def chips(self) -> list[SelectionChip]:
        """The chip widgets (for tests and focus order)."""
        return list(self._chips)

    def hasHeightForWidth(self) -> bool:
        """Chips wrap: the height follows the width."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height the chips take at ``width``."""
        return self._flow.heightForWidth(width)

    def sizeHint(self) -> QSize:
        """One line of chips at the current width."""
        width = max(self.width(), 200)
        return QSize(width, self._flow.heightForWidth(width))


class MentionCompleter(QObject):
    """``@`` completion in a question field (see module doc)."""

    #: The field wants candidates and has none yet (the owner fetches them).
    sig_wanted = Signal()
    #: A candidate was picked: (kind, id, name); ``@Name`` is already in the text.
    sig_picked = Signal(str, str, str)

    def __init__(self, edit: QPlainTextEdit, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edit = edit
        self._model = QStandardItemModel(self)
        self._completer = QCompleter(self._model, self)
        self._completer.setWidget(edit)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self._completer.setCompletionRole(NAME_ROLE)
        self._completer.setMaxVisibleItems(POPUP_ROWS)
        self._popup = QListView()
        self._popup.setAccessibleName("Videos and collections to ask about")
        self._popup.setUniformItemSizes(True)
        self._completer.setPopup(self._popup)  # the completer owns it from here
        # The index overload: the row's selection, not its (display) text.
        self._completer.activated[QModelIndex].connect(  # type: ignore[index]
            self._on_activated)
        self._has_candidates = False
        self._query: str | None = None
        edit.textChanged.connect(self.update)
        edit.cursorPositionChanged.connect(self.update)

    def set_candidates(self, candidates: Sequence[Mapping[str, Any]] | None) -> None:
        """What ``@`` offers (None: not known yet); an open popup is refreshed."""
        self._model.clear()
        self._has_candidates = candidates is not None
        if candidates is not None and not candidates:
            row = QStandardItem(NOTHING_TO_PICK)
            row.setFlags(Qt.ItemFlag.NoItemFlags)  # shown greyed, never picked
            row.setData("", NAME_ROLE)  # matches "@" alone, not "@name"
            self._model.appendRow(row)
        for chosen in candidates or []:
            name = str(chosen.get("name") or chosen.get("id") or "")
            shown = f"{name} · collection" if chosen.get("kind") == COLLECTION else name
            row = QStandardItem(shown)
            row.setEditable(False)
            row.setData(dict(chosen), SELECTION_ROLE)
            row.setData(name, NAME_ROLE)
            self._model.appendRow(row)
        self.update()

    def has_candidates(self) -> bool:
        """True once candidates were given (possibly none)."""
        return self._has_candidates

    def is_open(self) -> bool:
        """True while the popup shows."""
        return self._popup.isVisible()

    def popup(self) -> QListView:
        """The popup list."""
        return self._popup

    def handles_key(self, key: int) -> bool:
        """True when the open popup owns ``key`` (the field must ignore it: Enter picks
        instead of sending, Esc closes the popup instead of stopping an answer)."""
        return self.is_open() and key in (
            Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab)

    @Slot()
    def update(self) -> None:
        """Open, refresh or close the popup for the text before the cursor."""
        cursor = self._edit.textCursor()
        if cursor.hasSelection():
            self._close()
            return
        block = cursor.block().text()
        query = mention_query(block[:cursor.positionInBlock()])
        self._query = query
        if query is None:
            self._close()
            return
        if not self._has_candidates:
            self.sig_wanted.emit()
            return
        self._completer.setCompletionPrefix(query)
        if self._completer.completionCount() == 0:
            self._close()
            return
        popup = self._popup
        popup.setCurrentIndex(self._completer.completionModel().index(0, 0))
        rect = self._edit.cursorRect()
        rect.setWidth(min(420, max(240, popup.sizeHintForColumn(0)
                                   + popup.verticalScrollBar().sizeHint().width() + 8)))
        self._completer.complete(rect)

    def _close(self) -> None:
        if self._popup.isVisible():
            self._popup.hide()

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        chosen = index.data(SELECTION_ROLE)
        query = self._query
        if not isinstance(chosen, dict) or query is None:
            return
        cursor = self._edit.textCursor()
        # Replace "@query" (just before the cursor) by the whole "@Name ".
        cursor.movePosition(cursor.MoveOperation.Left, cursor.MoveMode.KeepAnchor,
                            len(query) + 1)
        cursor.insertText(mention(chosen) + " ")
        self._edit.setTextCursor(cursor)
        self._close()
        self.sig_picked.emit(str(chosen["kind"]), str(chosen["id"]), str(chosen["name"]))
