"""What assistive technology is told about widgets: the name a screen reader speaks, and the
controls a keyboard user can reach that have none."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QLabel, QWidget


def announced_name(widget: QWidget) -> str:
    """The name Qt's accessibility bridge reports for ``widget`` (its accessible name, else
    what the widget derives from its text)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name) if interface is not None else ""


def unnamed_controls(root: QWidget) -> list[str]:
    """The visible widgets under ``root`` (itself included) that take the keyboard focus and
    are announced with no name, described by class and object name."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if (widget.isVisible() and widget.focusPolicy() != Qt.FocusPolicy.NoFocus
                and not announced_name(widget).strip()):
            found.append(f"{type(widget).__name__} {widget.objectName()!r} in "
                         f"{type(widget.parentWidget()).__name__}")
    return found


def hidden_label_texts(root: QWidget) -> list[str]:
    """The visible labels under ``root`` whose text a screen reader never speaks: a name set
    on a label replaces its text ("Video title" instead of the title)."""
    return [f"{label.text()!r} announced as {announced_name(label)!r}"
            for label in root.findChildren(QLabel)
            if label.isVisible() and label.text().strip()
            and label.text().strip() not in announced_name(label)]


def labels_named_over_their_text(root: QWidget) -> list[str]:
    """The labels under ``root`` (shown or not: a status line appears later) that carry an
    accessible name, which a screen reader speaks instead of the text the label shows. A
    picture-only label is left out (its name is its only text), and so is a name that is the
    label's own text."""
    return [f"{type(label.parentWidget()).__name__}: {label.accessibleName()!r}"
            for label in root.findChildren(QLabel)
            if label.accessibleName() not in ("", label.text()) and label.pixmap().isNull()]
