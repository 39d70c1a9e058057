"""The first-run page: what the app does and the two ways on (an API key, or the sandbox)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from jockey_desktop import APP_NAME

TAGLINE = ("Ask questions about your video collections and jump straight to the moments "
           "Jockey cites.")
# Truthful on every system: without a keychain the key lives only in memory (or comes from
# the environment), and it is never written to a file either way.
KEY_NOTE = ("Your key is kept in your system's keychain when one is available — never in a "
            "file. You can change or remove it at any time in Settings.")
SANDBOX_NOTE = ("The sandbox is a built-in practice server with sample video collections. "
                "It runs on this computer only and needs no account.")


class WelcomePage(QWidget):
    """Friendly first-run page with two large buttons."""

    sig_enter_key_requested = Signal()
    sig_try_sandbox_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, icon: QIcon | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomePage")
        self.setAccessibleName("Welcome")

        self.icon_label = QLabel(self)
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.icon_label.setAccessibleName(f"{APP_NAME} logo")
        if icon is not None and not icon.isNull():
            self.icon_label.setPixmap(icon.pixmap(96, 96))
        else:
            self.icon_label.hide()
        self.title_label = QLabel(f"Welcome to {APP_NAME}", self)
        self.title_label.setProperty("role", "title")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tagline_label = QLabel(TAGLINE, self)
        self.tagline_label.setWordWrap(True)
        self.tagline_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.key_button = QPushButton("Enter an API key…", self)
        self.key_button.setAccessibleName("Enter an API key")
        self.key_button.setToolTip("Use your TwelveLabs API key to ask about your own stores")
        self.key_button.setProperty("primary", True)
        self.key_button.setProperty("big", True)
        self.key_button.setDefault(True)
        self.key_button.clicked.connect(self.sig_enter_key_requested)
        self.sandbox_button = QPushButton("Try the sandbox (no key needed)", self)
        self.sandbox_button.setAccessibleName("Try the sandbox")
        self.sandbox_button.setToolTip(SANDBOX_NOTE)
        self.sandbox_button.setProperty("big", True)
        self.sandbox_button.clicked.connect(self.sig_try_sandbox_requested)

        # Why a key the user has may not be found (a locked keychain): it stays on the page
        # (the status bar's copy is gone after seconds, and this page reads as a first run).
        self.problem_label = QLabel(self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problem_label.setProperty("role", "error")
        self.problem_label.setAccessibleDescription("Why no API key was found")
        self.problem_label.hide()

        self.note_label = QLabel(f"{KEY_NOTE}\n\n{SANDBOX_NOTE}", self)
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note_label.setProperty("role", "muted")

        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        buttons.addStretch(1)
        buttons.addWidget(self.key_button)
        buttons.addWidget(self.sandbox_button)
        buttons.addStretch(1)

        column = QVBoxLayout()
        column.setSpacing(14)
        column.addStretch(2)
        column.addWidget(self.icon_label)
        column.addWidget(self.title_label)
        column.addWidget(self.tagline_label)
        column.addSpacing(16)
        column.addWidget(self.problem_label)
        column.addLayout(buttons)
        column.addSpacing(16)
        column.addWidget(self.note_label)
        column.addStretch(3)

        # Keep the text column readable on wide windows.
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        holder = QWidget(self)
        holder.setLayout(column)
        holder.setMaximumWidth(620)
        outer.addWidget(holder, 4)
        outer.addStretch(1)

    def set_problem(self, text: str) -> None:
        """Say why a stored key could not be read ("" hides the line)."""
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))
