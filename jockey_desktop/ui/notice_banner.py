"""The one notice banner: a dismissible strip of plain, word-wrapped, selectable text.

The window shows one above its content for notices that must be read in full (a damaged
database was moved aside); the chat pane shows one above the composer for notices about the
conversation on screen (an answer cut short, a session bound to another store).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from jockey_desktop.ui.theme import set_text_with_actions


class NoticeBanner(QFrame):
    """A dismissible notice; ``show_text("")`` hides it. A notice may offer one action (a
    button beside Dismiss): ``sig_action`` is emitted when it is clicked."""

    #: The notice's action button was clicked (the banner is dismissed).
    sig_action = Signal()
    #: An action named in the text was clicked (its ``action:`` address; see
    #: ``presentation.text_actions``).
    sig_link = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Styled by the theme's stylesheet (QFrame#NoticeBanner), light and dark.
        self.setObjectName("NoticeBanner")
        self.setAccessibleName("Notice")
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # paths and server text, verbatim
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleDescription("Notice text")
        self.label.linkActivated.connect(self.sig_link)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setAccessibleName("Dismiss notice")
        self.dismiss_button.clicked.connect(self.dismiss)
        self.action_button = QPushButton(self)
        self.action_button.setAccessibleName("Notice action")  # named per notice when shown
        self.action_button.clicked.connect(self._on_action)
        self.action_button.hide()
        self._text = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str, action: str = "") -> None:
        """Show ``text``, replacing any earlier notice ("" hides the banner); ``action`` is
        the label of a button offering what the notice suggests ("" for none)."""
        if not text:
            self.dismiss()
            return
        # Verbatim, except that actions the sentence names ("open Settings") are links.
        set_text_with_actions(self.label, text)
        self._text = text
        self.setAccessibleDescription(text)
        self.action_button.setText(action)
        self.action_button.setAccessibleName(action)
        self.action_button.setVisible(bool(action))
        self.show()

    def action(self) -> str:
        """The label of the action offered now ("" when none)."""
        return self.action_button.text() if self.action_button.isVisibleTo(self) else ""

    @Slot()
    def _on_action(self) -> None:
        self.dismiss()
        self.sig_action.emit()

    def text(self) -> str:
        """The notice shown, or "" when dismissed."""
        return self._text if not self.isHidden() else ""

    @Slot()
    def dismiss(self) -> None:
        """Hide the banner."""
        self.hide()
        self._text = ""
        self.label.clear()
        self.action_button.hide()
