"""The find bar over the transcript (Ctrl+F): a field, "3 of 12", previous / next, close.

Pure UI: it says what was typed and asked (``sig_query_changed``, ``sig_next``,
``sig_previous``, ``sig_closed``) and shows the count it is given. Enter and F3 go to the
next match, Shift+Enter and Shift+F3 to the previous one, Esc closes the bar.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

#: Typing pauses this long before the transcript is searched (a long conversation is read).
FIND_DEBOUNCE_MS = 120


class FindBar(QFrame):
    """Find in the open conversation."""

    #: The words to find changed ("" when cleared).
    sig_query_changed = Signal(str)
    sig_next = Signal()
    sig_previous = Signal()
    #: The bar was closed (Esc or ✕): the highlight goes.
    sig_closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FindBar")
        self.setAccessibleName("Find in conversation")
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Find in this conversation")
        self.field.setAccessibleName("Find in this conversation")
        self.field.setAccessibleDescription(
            "Enter finds the next match, Shift+Enter the previous one, Escape closes")
        self.field.setClearButtonEnabled(True)
        self.field.installEventFilter(self)
        self.count_label = QLabel(self)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setAccessibleDescription("Matches")
        self.count_label.setProperty("role", "muted")
        self.count_label.setMinimumWidth(self.count_label.fontMetrics().horizontalAdvance(
            "888 of 888") + 8)
        self.previous_button = self._button("↑", "Previous match (Shift+F3)", self.sig_previous)
        self.next_button = self._button("↓", "Next match (F3)", self.sig_next)
        self.close_button = self._button("✕", "Close (Esc)", self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 4, 12, 4)
        layout.setSpacing(4)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.count_label)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FIND_DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit_query)
        self.field.textChanged.connect(self._on_text_changed)
        self.set_count("")
        self.hide()

    def _button(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # -- public -----------------------------------------------------------------------------
    def open_bar(self) -> None:
        """Show the bar with the field focused and its text selected (Ctrl+F again too)."""
        self.show()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()
        if self.field.text().strip():
            self._emit_query()  # the conversation may have changed since

    @Slot()
    def close_bar(self) -> None:
        """Hide the bar (the text stays for next time)."""
        if self.isVisible():
            self._timer.stop()
            self.hide()
            self.sig_closed.emit()

    def query(self) -> str:
        """The words being found."""
        return self.field.text().strip()

    def set_count(self, text: str) -> None:
        """Show the count ("3 of 12", "No matches", "")."""
        self.count_label.setText(text)
        self.count_label.setProperty("role", "error" if text == "No matches" else "muted")
        style = self.count_label.style()
        style.unpolish(self.count_label)
        style.polish(self.count_label)
        has_matches = bool(text) and text != "No matches"
        self.previous_button.setEnabled(has_matches)
        self.next_button.setEnabled(has_matches)

    # -- internals ---------------------------------------------------------------------------
    @Slot(str)
    def _on_text_changed(self, _text: str) -> None:
        self._timer.start()

    @Slot()
    def _emit_query(self) -> None:
        self._timer.stop()
        self.sig_query_changed.emit(self.query())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter / Shift+Enter step through matches, Esc closes."""
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            key_event: QKeyEvent = event  # type: ignore[assignment]
            key = key_event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self._timer.isActive():
                    self._emit_query()  # typed and Enter at once: find what was typed
                if key_event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.sig_previous.emit()
                else:
                    self.sig_next.emit()
                return True
            if key == Qt.Key.Key_Escape:
                self.close_bar()
                return True
        return super().eventFilter(watched, event)
