"""The one notice banner: a dismissible strip of plain, word-wrapped, selectable text.

The window shows one above its content for notices that must be read in full (a damaged
database was moved aside); the chat pane shows one above the composer for notices about the
conversation on screen (an answer cut short, a session bound to another store).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class NoticeBanner(QFrame):
    """A dismissible notice; ``show_text("")`` hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Styled by the theme's stylesheet (QFrame#NoticeBanner), light and dark.
        self.setObjectName("NoticeBanner")
        self.setAccessibleName("Notice")
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # paths and server text, verbatim
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Notice text")
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setAccessibleName("Dismiss notice")
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str) -> None:
        """Show ``text``, replacing any earlier notice ("" hides the banner)."""
        if not text:
            self.dismiss()
            return
        self.label.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    def text(self) -> str:
        """The notice shown, or "" when dismissed."""
        return self.label.text() if not self.isHidden() else ""

    @Slot()
    def dismiss(self) -> None:
        """Hide the banner."""
        self.hide()
        self.label.clear()
