"""The dialog that creates or edits a knowledge store: name, description and metadata.

Metadata values are typed (text, number, yes/no, a list of texts) and checked against the
API's limits before anything is sent (``validate_metadata``); a problem is said under the
table in one sentence and the dialog stays open. The dialog only collects: it emits
``sig_submitted(name, description, metadata)`` and the view asks the controller; it stays
open ("Creating…") until the view says the server saved it (``saved()``) or why not
(``not_saved(sentence)``: what was typed is still there to correct or send again).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.ui.theme import repolish

#: The value types offered, in order, and how each is written in the table.
TYPES = ("Text", "Number", "Yes/No", "List of texts")
_HINTS = {
    "Text": "Any text",
    "Number": "A number, e.g. 42 or 3.5",
    "Yes/No": "yes or no",
    "List of texts": "Texts separated by commas",
}
_INTEGER = re.compile(r"^[+-]?\d+$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
#: Shown under the table (the API's limits for a store, jockey-api.md §7.1).
LIMITS_TEXT = ("Up to 10 fields. Names up to 128 characters; texts up to 2,048 characters. "
               "Numbers must be whole numbers below 2⁵³ or decimals.")


class MetadataError(ValueError):
    """A metadata value that cannot be read as its type (the message is a sentence)."""


def parse_value(kind: str, text: str, name: str) -> Any:
    """The typed value of one table row; ``MetadataError`` when it does not read as ``kind``."""
    raw = text.strip()
    if kind == "Number":
        if _INTEGER.match(raw):
            return int(raw)
        try:
            number = float(raw)
        except ValueError:
            raise MetadataError(f"“{name}” must be a number, not “{raw}”.") from None
        if not math.isfinite(number):
            raise MetadataError(f"“{name}” must be a finite number.")
        return number
    if kind == "Yes/No":
        if raw.lower() in _YES:
            return True
        if raw.lower() in _NO:
            return False
        raise MetadataError(f"“{name}” must be yes or no, not “{raw}”.")
    if kind == "List of texts":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def kind_of(value: Any) -> str:
    """The table's type for a value read from the server."""
    if isinstance(value, bool):
        return "Yes/No"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, list):
        return "List of texts"
    return "Text"


def text_of(value: Any) -> str:
    """A value as the table writes it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class StoreDialog(QDialog):
    """Create (no ``store``) or edit a store. ``sig_submitted(name, description, metadata)``
    once the input is valid; the caller sends it."""

    sig_submitted = Signal(str, str, object)

    def __init__(self, parent: QWidget | None = None, *, name: str = "",
                 description: str = "", metadata: Mapping[str, Any] | None = None,
                 editing: bool = False) -> None:
        super().__init__(parent)
        self.editing = editing
        self._saving = False
        self.setWindowTitle("Edit knowledge store" if editing else "New knowledge store")
        self.setAccessibleName(self.windowTitle())
        self.name_field = QLineEdit(name, self)
        self.name_field.setAccessibleName("Store name")
        self.name_field.setPlaceholderText("e.g. Game footage")
        self.name_field.setMaxLength(256)
        self.description_field = QPlainTextEdit(self)
        self.description_field.setPlainText(description)
        self.description_field.setAccessibleName("Store description")
        self.description_field.setPlaceholderText("What the videos are about (optional)")
        self.description_field.setFixedHeight(64)
        self.description_field.setTabChangesFocus(True)

        self.table = QTableWidget(0, 3, self)
        self.table.setAccessibleName("Metadata fields")
        self.table.setHorizontalHeaderLabels(["Name", "Type", "Value"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 140)
        self.table.setColumnWidth(1, 130)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(120)
        self.add_button = QPushButton("Add field", self)
        self.add_button.setAccessibleName("Add a metadata field")
        self.remove_button = QPushButton("Remove field", self)
        self.remove_button.setAccessibleName("Remove the selected metadata field")
        self.add_button.clicked.connect(self._add_empty_row)
        self.remove_button.clicked.connect(self._remove_selected)
        self.limits_label = QLabel(LIMITS_TEXT, self)
        self.limits_label.setWordWrap(True)
        self.limits_label.setProperty("role", "muted")
        self.error_label = QLabel(self)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # echoes typed names
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("role", "error")
        self.error_label.setAccessibleDescription("Problem")
        self.error_label.hide()

        self.buttons = QDialogButtonBox(self)
        self.ok_button = self.buttons.addButton(
            "Save" if editing else "Create store", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setProperty("primary", True)
        repolish(self.ok_button)  # polished by addButton already: the property needs a redo
        self.ok_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.name_field.textChanged.connect(self._update_ok)

        form = QFormLayout()
        form.addRow("Name", self.name_field)
        form.addRow("Description", self.description_field)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        metadata_title = QLabel("Metadata", self)
        metadata_title.setAccessibleName("Metadata")
        layout.addWidget(metadata_title)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.limits_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(520, 440)
        for key, value in (metadata or {}).items():
            self.add_field(key, kind_of(value), text_of(value))
        self._update_ok()

    def add_field(self, name: str = "", kind: str = "Text", value: str = "") -> int:
        """Append a metadata row; returns its index."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        combo = QComboBox(self.table)
        combo.addItems(TYPES)
        combo.setCurrentText(kind if kind in TYPES else "Text")
        combo.setAccessibleName("Value type")
        combo.currentTextChanged.connect(self._update_hints)
        self.table.setCellWidget(row, 1, combo)
        self.table.setItem(row, 2, QTableWidgetItem(value))
        self._update_hints()
        return row

    def values(self) -> tuple[str, str, dict[str, Any]]:
        """``(name, description, metadata)`` as typed; ``MetadataError`` for a value that
        does not read as its type or a name given twice."""
        metadata: dict[str, Any] = {}
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, 0), self.table.item(row, 2)
            name = name_item.text().strip() if name_item is not None else ""
            value = value_item.text() if value_item is not None else ""
            if not name and not value.strip():
                continue  # an empty row is no field
            if not name:
                raise MetadataError(f"The value in row {row + 1} needs a name.")
            if name in metadata:
                raise MetadataError(f"“{name}” is given twice.")
            combo = self.table.cellWidget(row, 1)
            kind = combo.currentText() if isinstance(combo, QComboBox) else "Text"
            metadata[name] = parse_value(kind, value, name)
        return (self.name_field.text().strip(), self.description_field.toPlainText().strip(),
                metadata)

    def show_problem(self, text: str) -> None:
        """Say what is wrong under the table (the dialog stays open)."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        repolish(self.error_label)

    @Slot()
    def _submit(self) -> None:
        from jockey_desktop.core.api import InvalidInputError
        from jockey_desktop.core.api.metadata import validate_metadata

        try:
            name, description, metadata = self.values()
            metadata = validate_metadata(metadata, "store")
        except (MetadataError, InvalidInputError) as error:
            self.show_problem(str(error) if isinstance(error, MetadataError)
                              else error.message)
            return
        if not name:
            self.show_problem("A knowledge store needs a name.")
            return
        self.show_problem("")
        self._set_saving(True)
        self.sig_submitted.emit(name, description, metadata)

    def is_saving(self) -> bool:
        """True from a submit until the server's answer."""
        return self._saving

    def saved(self) -> None:
        """The server saved the store: close."""
        self._set_saving(False)
        self.accept()

    def not_saved(self, sentence: str) -> None:
        """The server did not save it: say why and keep everything typed."""
        self._set_saving(False)
        self.show_problem(sentence)

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.ok_button.setText(("Saving…" if self.editing else "Creating…") if saving
                               else ("Save" if self.editing else "Create store"))
        for widget in (self.name_field, self.description_field, self.table, self.add_button,
                       self.remove_button):
            widget.setEnabled(not saving)
        self._update_ok()

    @Slot()
    def _add_empty_row(self) -> None:
        row = self.add_field()
        self.table.setCurrentCell(row, 0)
        item = self.table.item(row, 0)
        if item is not None:
            self.table.editItem(item)

    @Slot()
    def _remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)

    @Slot()
    def _update_hints(self) -> None:
        for row in range(self.table.rowCount()):
            combo = self.table.cellWidget(row, 1)
            item = self.table.item(row, 2)
            if isinstance(combo, QComboBox) and item is not None:
                item.setToolTip(_HINTS[combo.currentText()])

    @Slot()
    def _update_ok(self) -> None:
        self.ok_button.setEnabled(bool(self.name_field.text().strip()) and not self._saving)
