"""``ui.viewport.viewport_of``: the same widget as ``viewport()``, found by name."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QListView, QPlainTextEdit, QWidget

from jockey_desktop.ui.viewport import viewport_of


def test_it_is_the_scroll_areas_viewport(qtbot: Any) -> None:
    for area in (QListView(), QPlainTextEdit()):
        qtbot.addWidget(area)
        assert viewport_of(area) is area.viewport()


def test_a_viewport_set_later_is_found(qtbot: Any) -> None:
    area = QListView()
    qtbot.addWidget(area)
    custom = QWidget()
    area.setViewport(custom)
    assert viewport_of(area) is custom


def test_a_renamed_viewport_is_still_found(qtbot: Any) -> None:
    area = QListView()
    qtbot.addWidget(area)
    area.viewport().setObjectName("renamed")
    # A grandchild by the usual name is not a direct child: not taken for it.
    QWidget(area.viewport()).setObjectName("qt_scrollarea_viewport")
    assert viewport_of(area) is area.viewport()
