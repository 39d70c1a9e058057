"""Help → Keyboard shortcuts: a sheet of every shortcut, built when first opened.

Menu shortcuts are read from the window's menus (so the sheet can never miss one); keys that
only work in one part of the window come from ``presentation.shortcuts``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.presentation.shortcuts import CONTEXT_SHORTCUTS


def _plain(text: str) -> str:
    """A menu text as read: mnemonics and the trailing "…" dropped."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def menu_shortcuts(window: QMainWindow) -> list[tuple[str, list[tuple[str, str]]]]:
    """(menu name, [(keys, action)]) for every menu item of ``window`` with a shortcut."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for top in window.menuBar().actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        rows = list(_menu_rows(menu))
        if rows:
            sections.append((f"{_plain(top.text())} menu", rows))
    return sections


def _menu_rows(menu: QMenu) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for action in menu.actions():
        sub = action.menu()
        if isinstance(sub, QMenu):
            rows.extend(_menu_rows(sub))
            continue
        keys = action_keys(action)
        if keys and not action.isSeparator():
            rows.append((keys, _plain(action.text())))
    return rows


class ShortcutsDialog(QDialog):
    """A two-column sheet (keys, what they do) grouped by menu and by part of the window."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.resize(560, 620)
        intro = QLabel("Shortcuts of the menus work everywhere in the window; the others "
                       "work in the part of the window named above them.", self)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        intro.setProperty("role", "muted")
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Shortcuts")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Keys", "Does"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self._window = window
        self.refresh()

    def refresh(self) -> None:
        """Read the menus again (a feature may have added a menu since)."""
        self.tree.clear()
        sections = [*menu_shortcuts(self._window),
                    *((name, list(rows)) for name, rows in CONTEXT_SHORTCUTS)]
        for name, rows in sections:
            heading = QTreeWidgetItem(self.tree, [name, ""])
            font = heading.font(0)
            font.setBold(True)
            heading.setFont(0, font)
            heading.setFirstColumnSpanned(True)
            for keys, does in rows:
                QTreeWidgetItem(heading, [keys, does])
            heading.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self._fit_width()

    def _fit_width(self) -> None:
        """Wide enough that no description is cut short ("Esc canc…"), within the screen."""
        self.tree.resizeColumnToContents(1)
        header = self.tree.header()
        needed = (header.sectionSize(0) + header.sectionSize(1)
                  + self.tree.verticalScrollBar().sizeHint().width()
                  + 2 * self.tree.frameWidth())
        layout = self.layout()
        if layout is not None:
            margins = layout.contentsMargins()
            needed += margins.left() + margins.right()
        # A static lookup: PySide adopts the QScreen that ``self.screen()`` returns as a child
        # of this dialog and deletes it with the dialog (tests/gui/test_qt_lifetime.py).
        centre = self.mapToGlobal(self.rect().center())
        screen = QGuiApplication.screenAt(centre) or QGuiApplication.primaryScreen()
        limit = screen.availableGeometry().width() if screen is not None else needed
        if needed > self.width():
            self.resize(min(needed, limit), self.height())

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, keys, does) of every row shown."""
        found: list[tuple[str, str, str]] = []
        for i in range(self.tree.topLevelItemCount()):
            heading = self.tree.topLevelItem(i)
            if heading is None:
                continue
            for j in range(heading.childCount()):
                child = heading.child(j)
                if child is not None:
                    found.append((heading.text(0), child.text(0), child.text(1)))
        return found


def action_keys(action: QAction) -> str:
    """How the sheet writes an action's shortcut(s)."""
    return " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                       for s in action.shortcuts() if not s.isEmpty())
