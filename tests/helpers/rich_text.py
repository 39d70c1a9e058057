"""Find text Qt would render as rich text: the check behind "user and server text reaches Qt
only as plain text" (issue 10.4). Generic on purpose: it walks whatever widgets exist, so
widgets added later are checked too.

Qt renders a string as HTML when it merely looks like HTML (``Qt.mightBeRichText``) in
labels with the default format, tooltips, what's-this and status tips (widgets, actions and
item roles) and message boxes; it drops ``[*]`` from window titles. The plain-text helpers of
``ui/theme.py`` produce only two rich forms, which are accepted: ``plain_tooltip``'s escaped
``<qt>…</qt>`` and ``text_with_action_links``' (the same, with the app's own ``action:`` links
around the actions a sentence names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtGui import Qt as QtGui_Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from jockey_desktop.ui.theme import plain_tooltip, text_with_action_links

#: Item roles shown as (rich) tooltips or in the status bar.
_TIP_ROLES = (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.WhatsThisRole,
              Qt.ItemDataRole.StatusTipRole)
#: Rows read per model level (the views under test hold a handful).
_MAX_ROWS = 500
_UNPAIRED_PLACEHOLDER = re.compile(r"(?<!\[\*\])\[\*\](?!\[\*\])")


def _might_be_rich(text: str) -> bool:
    # Qt::mightBeRichText lives in QtGui (PySide exposes it on QtGui's Qt namespace).
    return bool(QtGui_Qt.mightBeRichText(text))


def is_plain_tooltip(text: str) -> bool:
    """True for text exactly as ``plain_tooltip`` makes it from some plain string."""
    match = re.fullmatch(r"<qt>(.*)</qt>", text, flags=re.DOTALL)
    if match is None:
        return False
    import html

    original = html.unescape(match.group(1).replace("<br>", "\n"))
    return plain_tooltip(original) == text


def is_action_text(text: str) -> bool:
    """True for text exactly as ``text_with_action_links`` makes it from some plain string."""
    match = re.fullmatch(r"<qt>(.*)</qt>", text, flags=re.DOTALL)
    if match is None:
        return False
    import html

    inner = re.sub(r'<a href="action:[a-z-]+">(.*?)</a>', r"\1", match.group(1))
    original = html.unescape(inner.replace("<br>", "\n"))
    return text_with_action_links(original) == text


def renders_rich(text: str) -> bool:
    """True when Qt would render ``text`` (a tooltip-like string) as HTML of someone else's."""
    return bool(text) and _might_be_rich(text) and not is_plain_tooltip(text)


def rich_text_findings(roots: Iterable[QWidget]) -> list[str]:
    """Every place under ``roots`` (and their children, actions, menus and item views) where
    user or server text would be rendered as rich text; empty when there is none."""
    roots = list(roots)
    findings: list[str] = []
    # The static QApplication.allWidgets(), never root.findChildren(): PySide 6.11 adopts the
    # wrappers a getter returns as Python children of the receiver, and once the receiver is
    # garbage-collected it deletes them (a QSplitterHandle, deleted twice, segfaulted).
    for widget in QApplication.allWidgets():
        if any(widget is root or root.isAncestorOf(widget) for root in roots):
            findings.extend(_widget_findings(widget))
    return findings


def _name(widget: QWidget) -> str:
    return f"{type(widget).__name__}({widget.objectName() or widget.accessibleName()!r})"


def _widget_findings(widget: QWidget) -> Iterator[str]:
    name = _name(widget)
    for kind, text in (("tooltip", widget.toolTip()), ("what's this", widget.whatsThis()),
                       ("status tip", widget.statusTip())):
        if renders_rich(text):
            yield f"{name} {kind}: {text!r}"
    if isinstance(widget, QLabel) and widget.textFormat() != Qt.TextFormat.PlainText \
            and _might_be_rich(widget.text()) and not is_action_text(widget.text()):
        yield f"{name} text in {widget.textFormat().name}: {widget.text()!r}"
    if isinstance(widget, QMessageBox) and widget.textFormat() != Qt.TextFormat.PlainText \
            and _might_be_rich(widget.text()):
        yield f"{name} message box text: {widget.text()!r}"
    if widget.isWindow() and _UNPAIRED_PLACEHOLDER.search(widget.windowTitle()):
        yield f"{name} window title drops '[*]': {widget.windowTitle()!r}"
    if isinstance(widget, QAbstractButton) and widget.text().count("&") % 2 and \
            "&&" not in widget.text() and not re.match(r"^&\w", widget.text()):
        # A lone "&" inside a label from data (mnemonics of our own start the label).
        yield f"{name} button text turns '&' into a mnemonic: {widget.text()!r}"
    for action in widget.actions():
        yield from _action_findings(name, action)
    if isinstance(widget, QAbstractItemView) and widget.model() is not None:
        yield from _model_findings(name, widget.model(), QModelIndex(), 0)
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        yield from _document_findings(name, widget.document())


def _action_findings(owner: str, action: QAction) -> Iterator[str]:
    for kind, text in (("tooltip", action.toolTip()), ("what's this", action.whatsThis()),
                       ("status tip", action.statusTip())):
        if renders_rich(text):
            yield f"{owner} action {action.text()!r} {kind}: {text!r}"


def _model_findings(owner: str, model: QAbstractItemModel, parent: QModelIndex,
                    depth: int) -> Iterator[str]:
    rows = min(model.rowCount(parent), _MAX_ROWS)
    try:
        columns = max(1, model.columnCount(parent))
    except TypeError:  # a list model keeps columnCount private: one column
        columns = 1
    for row in range(rows):
        for column in range(columns):
            index = model.index(row, column, parent)
            for role in _TIP_ROLES:
                value = model.data(index, role)
                if isinstance(value, str) and renders_rich(value):
                    yield f"{owner} row {row} {role.name}: {value!r}"
            if depth < 3 and column == 0 and index.isValid() and model.rowCount(index) > 0:
                yield from _model_findings(owner, model, index, depth + 1)


def _document_findings(owner: str, document: QTextDocument) -> Iterator[str]:
    # An image format in a document means HTML (or Markdown with HTML) was interpreted.
    for text_format in document.allFormats():
        if text_format.isImageFormat():
            yield f"{owner} document holds an image: {document.toPlainText()[:80]!r}"
