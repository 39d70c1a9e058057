"""The stores view's layout: a store row's counts fit whole at the size it opens with, and
in a small window the videos get more of the height than the upload queue."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.store_counts import store_counts_text
from jockey_desktop.ui.stores.stores_view import StoresView

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

NATURE = StoreSummary("ks_n", "Nature documentaries", "", 8, ready=6, processing=1, failed=1,
                      counted=True)


def test_a_store_rows_counts_fit_in_the_list_it_opens_with(qtbot: Any) -> None:
    view = StoresView()
    qtbot.addWidget(view)
    view.set_stores([NATURE])
    view.show()
    qtbot.waitExposed(view)
    metrics = view.store_list.fontMetrics()
    needed = metrics.horizontalAdvance(store_counts_text(NATURE)) + 20  # the row's padding
    assert "1 failed" in store_counts_text(NATURE)
    assert view.store_list.viewport().width() >= needed


def test_in_a_small_window_the_videos_get_more_room_than_the_queue(qtbot: Any) -> None:
    view = StoresView()
    qtbot.addWidget(view)
    view.set_stores([NATURE])
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    videos, queue = view.splitter.sizes()
    assert videos >= 1.8 * queue
