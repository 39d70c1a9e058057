"""What the stores view says with no store to show: how to make one, not an invitation to
drop videos that would be refused — also after the last store (one without a description)
is deleted."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.ui.stores.stores_view import StoresView

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


def test_no_store_says_how_to_make_one_and_a_store_invites_videos(qtbot: Any) -> None:
    view = StoresView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.set_stores([StoreSummary("ks_1", "Holiday clips", "", 0, counted=True)])
    assert view.items_stack.currentWidget() is view.items_empty
    assert view.items_empty.text().startswith("No videos yet. Drop video files")
    assert not view.description_label.isVisible()  # the store has no description

    view.set_stores([])  # the last store was deleted
    assert view.name_label.text() == "No knowledge store yet"
    assert view.description_label.isVisible()
    assert "New store…" in view.description_label.text()
    assert "Drop" not in view.items_empty.text()
    assert "New store…" in view.items_empty.text()
