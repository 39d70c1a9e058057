"""Helpers for tests of the transcript view: a shown ChatView, settling, hit targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QPalette

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


def row_layout(view: ChatView, message_id: int) -> tuple[RowLayout, QPoint]:
    """The painted layout of a row and the row's top-left in viewport coordinates."""
    index = view.index_for(message_id)
    view.scrollTo(index)
    view.viewport().repaint()
    message = view.message_model.message_at(index.row())
    layout = view.message_delegate.cached_layout(message)
    assert layout is not None, "row was not laid out"
    return layout, view.visualRect(index).topLeft()


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


def anchor_point(layout: RowLayout, href: str) -> QPointF | None:
    """The middle of the first character of the anchor ``href`` among a row's extras (row
    coordinates), or None when no extras document has it."""
    if layout.extras is None:
        return None
    for origin, document in layout.extras.documents:
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
                    x, _position = line.cursorToX(offset + 1)
                    return QPointF(origin.x() + box.x() + x - 2,
                                   origin.y() + box.y() + line.y() + line.height() / 2)
                it += 1
            block = block.next()
    return None


def anchor_in_view(qtbot: Any, view: ChatView, message_id: int, href: str) -> QPointF:
    """Scroll until the anchor ``href`` under a row is on screen; returns where to click it
    (viewport coordinates). A tall answer's toggle may sit below the fold, and a view that
    follows the end scrolls after a layout: the point is taken once everything settled."""
    for _attempt in range(6):
        settle(qtbot, view)
        layout, origin = row_layout(view, message_id)
        point = anchor_point(layout, href)
        assert point is not None, f"no {href!r} under message {message_id}"
        at = point + QPointF(origin)
        height = view.viewport().height()
        if 4 <= at.y() <= height - 4:
            return at
        bar = view.verticalScrollBar()
        bar.setValue(bar.value() + int(at.y() - height / 2))
    raise AssertionError(f"{href!r} could not be scrolled into view")
