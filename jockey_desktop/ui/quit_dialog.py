"""The question asked when quitting would lose answers a full disk could not take."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from jockey_desktop.presentation.quitting import (
    HELD_QUIT_TITLE,
    QUIT_ANYWAY_TEXT,
    TRY_AGAIN_TEXT,
    QuitChoice,
)


def ask_about_held_writes(parent: QWidget | None, text: str) -> QuitChoice:
    """Show ``text`` (what would be lost) with Try again / Quit anyway / Cancel; returns
    the choice (closing the box is Cancel). Try again is the default: nothing is lost by it."""
    from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

    box = QMessageBox(QMessageBox.Icon.Warning, HELD_QUIT_TITLE, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # a folder path
    try_again = box.addButton(TRY_AGAIN_TEXT, QMessageBox.ButtonRole.AcceptRole)
    quit_anyway = box.addButton(QUIT_ANYWAY_TEXT, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(try_again)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is try_again:
        return QuitChoice.TRY_AGAIN
    if clicked is quit_anyway:
        return QuitChoice.QUIT
    return QuitChoice.CANCEL
