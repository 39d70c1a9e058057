"""The player's dock: beside the chat, resizable, can float ("popped out"); closing it pauses."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QWidget

#: The object name the window's saved state knows the dock by (keep it: it carries the size).
DOCK_NAME = "playerDock"


class PlayerDock(QDockWidget):
    """A dock that says when the user closed it (a hidden player must not play on)."""

    sig_closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Player", parent)
        self.setObjectName(DOCK_NAME)
        self.setAccessibleName("Player")
        self.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea
                             | Qt.DockWidgetArea.LeftDockWidgetArea
                             | Qt.DockWidgetArea.BottomDockWidgetArea)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closed by its button (or a shortcut): tell the owner, then hide."""
        super().closeEvent(event)
        if event.isAccepted():
            self.sig_closed.emit()
