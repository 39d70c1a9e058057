"""The upload queue's questions as dialogs (``UploadPrompts`` for people at the screen)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def duplicates_text(store_name: str, names: Sequence[str]) -> tuple[str, str]:
    """The question and its details: which files seem to be in the store already."""
    count = len(names)
    if count == 1:
        lead = f"“{names[0]}” seems to be in “{store_name}” already."
    else:
        lead = f"{count} files seem to be in “{store_name}” already."
    shown = list(names[:8]) + ([f"… and {count - 8} more"] if count > 8 else [])
    details = ("A file with the same name and size is in the store or the upload list:\n"
               + "\n".join(f"• {name}" for name in shown))
    return lead, details


class DialogPrompts:
    """Asks with a message box over ``parent``."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent

    def confirm_duplicates(self, store_name: str, names: Sequence[str]) -> bool | None:
        """True = add them anyway, False = skip them, None = add nothing."""
        lead, details = duplicates_text(store_name, names)
        box = QMessageBox(QMessageBox.Icon.Question, "Add these again?", lead,
                          parent=self._parent)
        box.setTextFormat(Qt.TextFormat.PlainText)  # file and store names
        box.setInformativeText(details)
        skip = box.addButton("Skip them", QMessageBox.ButtonRole.AcceptRole)
        add = box.addButton("Add anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(skip)
        box.exec()
        clicked = box.clickedButton()
        if clicked is skip:
            return False
        if clicked is add:
            return True
        return None
