"""The sandbox's sample stores as a new user meets them (issue 14.15): every video title
draws with the window's own font (no empty box for a missing emoji glyph), and the
Nature documentaries warning names the video that failed as well as the one indexing."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QFontMetrics

from jockey_desktop.presentation.starters import item_title
from tests.helpers.app import Started, wait_for_store

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


def test_sample_titles_draw_and_the_nature_warning_names_every_missing_video(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    window = desktop.window
    client = desktop.connection.client()
    metrics = QFontMetrics(window.font())
    for store in desktop.stores.stores():
        for item in client.list_items(store.id):
            title = item_title(item)
            missing = [ch for ch in title if not metrics.inFontUcs4(ord(ch))]
            assert missing == [], f"{title!r} needs a font for {missing}"

    nature = next(s for s in desktop.stores.stores() if s.name == "Nature documentaries")
    window.store_picker.select_store(nature.id)
    warning = window.store_picker.warning_label
    assert warning.isVisible()
    assert warning.text() == ("1 video is still indexing and 1 could not be indexed in "
                              "“Nature documentaries”; answers only cover the 6 ready.")
