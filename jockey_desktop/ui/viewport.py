"""The viewport of a scroll area, without PySide's slow path.

``QAbstractScrollArea.viewport()`` returns a ``QWidget*`` that Python has no wrapper for yet;
PySide then searches the widget's most derived Python type and, on the first such search,
initialises some twenty ``QWidget`` subclasses (their enums included: ~60 Python enums, about
10 ms before the first paint). Looking the same child up as a ``QObject`` by its fixed name
finds its type from its meta-object instead. Use :func:`viewport_of` on the start-up path
(later calls of ``viewport()`` are cheap either way).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

#: The object name Qt gives every scroll area's viewport (``setViewport`` included).
VIEWPORT_NAME = "qt_scrollarea_viewport"


def viewport_of(area: QAbstractScrollArea) -> QWidget:
    """``area.viewport()``, found by name (see the module doc)."""
    found = area.findChild(QWidget, VIEWPORT_NAME, Qt.FindChildOption.FindDirectChildrenOnly)
    return found if found is not None else area.viewport()
