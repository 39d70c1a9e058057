"""The upload queue's table drawn: a file that will not move on by itself (cancelled,
failed, paused) has a greyed bar, not one that looks like it is still sending."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState
from jockey_desktop.ui.stores.models import UploadsModel
from jockey_desktop.ui.stores.uploads_panel import UploadsPanel
from tests.helpers.look import themed

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


def upload(upload_id: int, state: UploadState) -> Upload:
    return Upload(id=upload_id, uid=f"u{upload_id}", batch_id="b", store_id="ks_1",
                  path=f"/videos/{upload_id}.mp4", filename=f"{upload_id}.mp4",
                  size=1_000_000, mtime_ns=1, asset_type="video", method=UploadMethod.DIRECT,
                  url=None, state=state, upload_id=None, asset_id=None, item_id=None,
                  chunk_size=None, total_chunks=None, chunks=(), bytes_done=500_000,
                  error_message=None, created_at=1.0, updated_at=1.0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_cancelled_files_bar_is_greyed_and_a_sending_ones_is_not(
    qtbot: Any, qapp: Any, scheme: str
) -> None:
    with themed(qapp, scheme):
        panel = UploadsPanel()
        qtbot.addWidget(panel)
        panel.resize(700, 300)
        panel.set_rows([upload(1, UploadState.UPLOADING), upload(2, UploadState.CANCELLED)])
        panel.show()
        qtbot.waitExposed(panel)

        def highlighted_in_bar(row: int) -> int:
            """Pixels of the bar in a strong colour (the highlight's fill, not grey)."""
            table = panel.table
            rect = table.visualRect(panel.model.index(row, UploadsModel.PROGRESS))
            image = table.viewport().grab(rect).toImage()
            return sum(1 for x in range(image.width()) for y in range(image.height())
                       if image.pixelColor(x, y).hsvSaturation() > 120)

        assert highlighted_in_bar(0) > 50  # sending: the bar is filled half way
        assert highlighted_in_bar(1) == 0
