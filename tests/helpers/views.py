"""Helpers for tests of the transcript view: a shown ChatView, settling, hit targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QPalette, QTextDocument, QTextLine

from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.message_layout import RowLayout
from jockey_desktop.ui.models.conversation_model import ConversationIdRole, ConversationListModel


@pytest.fixture
def opened() -> list[QUrl]:
    """URLs the view asked the system browser to open."""
    return []


@pytest.fixture
def view(qtbot: Any, opened: list[QUrl]) -> Iterator[ChatView]:
    """A shown ChatView with a fake URL opener."""
    widget = ChatView(open_url=opened.append)
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def settle(qtbot: Any, view: ChatView) -> None:
    """Let delayed layouts and height corrections run, then paint."""
    for _ in range(3):
        qtbot.wait(1)  # processes posted events (zero-timers, delayed layout)
        view.doItemsLayout()
        view.viewport().repaint()
    qtbot.wait(1)


def row_layout(view: ChatView, message_id: int, *,
               scroll: bool = True) -> tuple[RowLayout, QPoint]:
    """The painted layout of a row and the row's top-left in viewport coordinates (the row
    scrolled into view first unless ``scroll`` is False)."""
    index = view.index_for(message_id)
    if scroll:
        view.scrollTo(index)
    view.viewport().repaint()
    message = view.message_model.message_at(index.row())
    assert message is not None, f"message {message_id} is not a row"
    layout = view.message_delegate.cached_layout(message)
    assert layout is not None, "row was not laid out"
    # Layouts are relative to the centred reading column.
    offset = QPoint(view.message_delegate.column_offset(), 0)
    return layout, view.visualRect(index).topLeft() + offset


def click(qtbot: Any, view: ChatView, point: QPointF) -> None:
    """A left click at ``point`` (viewport coordinates)."""
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point.toPoint())


def dark_palette() -> QPalette:
    """A typical dark palette."""
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#252526", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.AlternateBase: "#2d2d2d",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#323234",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#2a82da",
        QPalette.ColorRole.Link: "#2a82da", QPalette.ColorRole.PlaceholderText: "#969696",
        QPalette.ColorRole.Mid: "#3c3c3c",
    }
    for role, value in colors.items():
        palette.setColor(role, QColor(value))
    return palette


def ids(model: ConversationListModel) -> list[int]:
    """The conversation ids of a sidebar model, top to bottom."""
    return [model.index(r, 0).data(ConversationIdRole) for r in range(model.rowCount())]


def anchor_point(layout: RowLayout, href: str, *, in_text: bool = False) -> QPointF | None:
    """The middle of the first character of the anchor ``href`` among a row's extras (or,
    ``in_text``, in its text) in row coordinates, or None when no such document has it."""
    if in_text:
        documents = [(layout.doc_origin + QPointF(0, y), d) for y, d in layout.parts]
    elif layout.extras is None:
        return None
    else:
        documents = list(layout.extras.documents)
    for origin, document in documents:
        block = document.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                if fragment.isValid() and fragment.charFormat().anchorHref() == href:
                    offset = fragment.position() - block.position()
                    box = document.documentLayout().blockBoundingRect(block)  # lays it out
                    line = block.layout().lineForTextPosition(offset)
                    assert line.isValid()
                    x = _cursor_x(line, offset + 1)
                    return QPointF(origin.x() + box.x() + x - 2,
                                   origin.y() + box.y() + line.y() + line.height() / 2)
                it += 1
            block = block.next()
    return None


def anchor_in_view(qtbot: Any, view: ChatView, message_id: int, href: str, *,
                   in_text: bool = False) -> QPointF:
    """Scroll until the anchor ``href`` under a row is on screen; returns where to click it
    (viewport coordinates). A tall answer's toggle may sit below the fold, and a view that
    follows the end scrolls after a layout: the point is taken once everything settled."""
    for _attempt in range(6):
        settle(qtbot, view)
        layout, origin = row_layout(view, message_id)
        point = anchor_point(layout, href, in_text=in_text)
        assert point is not None, f"no {href!r} under message {message_id}"
        at = point + QPointF(origin)
        height = view.viewport().height()
        if 4 <= at.y() <= height - 4:
            return at
        bar = view.verticalScrollBar()
        bar.setValue(bar.value() + int(at.y() - height / 2))
    raise AssertionError(f"{href!r} could not be scrolled into view")


def action_point(view: ChatView, message_id: int, action: str) -> QPointF:
    """The centre of an answer's action-line entry ("version:previous", "ask_again",
    "fork"…) in viewport coordinates, the row scrolled into view."""
    row_layout(view, message_id)
    # The first exact measurement corrects the row's height on the next pass of the loop.
    QCoreApplication.processEvents()
    view.doItemsLayout()
    layout, origin = row_layout(view, message_id)
    for rect, name, _label in layout.actions:
        if name == action:
            point = QPointF(origin) + rect.center()
            if not view.viewport().rect().contains(point.toPoint()):
                # A tall row: bring its action line to the middle of the viewport.
                bar = view.verticalScrollBar()
                bar.setValue(bar.value() + int(point.y()) - view.viewport().height() // 2)
                view.viewport().repaint()
                origin = view.visualRect(view.index_for(message_id)).topLeft() + QPoint(
                    view.message_delegate.column_offset(), 0)
                point = QPointF(origin) + rect.center()
            return point
    raise AssertionError(f"no {action!r} on message {message_id}: "
                         f"{[name for _r, name, _l in layout.actions]}")


def text_point(view: ChatView, message_id: int, position: int, *,
               scroll: bool = True) -> QPointF:
    """Where the character at ``position`` of a row's text is (viewport coordinates, the
    row scrolled into view unless ``scroll`` is False): the middle of its line, just right
    of its left edge."""
    layout, origin = row_layout(view, message_id, scroll=scroll)
    offset = 0
    for y, document in layout.parts:
        count = document.characterCount()
        if position < offset + count:
            return _document_point(document, QPointF(origin) + layout.doc_origin
                                   + QPointF(0, y), position - offset)
        offset += count
    raise AssertionError(f"message {message_id} has no position {position}")


def drag_text(qtbot: Any, view: ChatView, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Drag with the left button from character ``start[1]`` of message ``start[0]`` to
    character ``end[1]`` of message ``end[0]`` (press, move, release), as a user selects."""
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton,
                     pos=text_point(view, *start).toPoint())
    release = text_point(view, *end).toPoint()
    qtbot.mouseMove(viewport, release)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=release)


def extras_text_point(view: ChatView, message_id: int, needle: str,
                      after: int = 0) -> QPointF:
    """Where character ``after`` of the first occurrence of ``needle`` in the documents
    under an answer (web sources, Steps list) is, in viewport coordinates (the row
    scrolled into view): the middle of its line, just right of its left edge."""
    layout, origin = row_layout(view, message_id)
    assert layout.extras is not None, f"message {message_id} has nothing under it"
    for top_left, document in layout.extras.documents:
        found = document.toPlainText().find(needle)
        if found >= 0:
            return _document_point(document, QPointF(origin) + top_left, found + after)
    raise AssertionError(f"{needle!r} is not under message {message_id}")


def _cursor_x(line: QTextLine, position: int) -> float:
    # PySide returns (x, position); the stubs say an int.
    result: Any = line.cursorToX(position)
    return float(result[0] if isinstance(result, tuple) else result)


def _document_point(document: QTextDocument, top_left: QPointF, position: int) -> QPointF:
    block = document.findBlock(position)
    box = document.documentLayout().blockBoundingRect(block)  # lays it out
    line = block.layout().lineForTextPosition(position - block.position())
    x = _cursor_x(line, position - block.position())
    return top_left + QPointF(box.x() + x + 1, box.y() + line.y() + line.height() / 2)
