"""What the stores view says: with no store to show, how to make one (not an invitation to
drop videos that would be refused, nor silence when videos are added), also after the last
store (one without a description) is deleted; a store whose videos are still loading is
not said to have none; and why a failed video or upload failed, in full, only while it is
the one selected."""

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


def test_why_a_video_failed_goes_with_its_selection_and_its_store(qtbot: Any) -> None:
    from jockey_desktop.presentation.uploads import ItemRow

    def row(item_id: str, title: str, status: str) -> ItemRow:
        return ItemRow(id=item_id, asset_id=None, title=title, kind="video", duration="",
                       size="", status=status.title(), added="", raw_status=status,
                       detail="Indexing failed; the API gives no reason for failed items.")

    view = StoresView()
    qtbot.addWidget(view)
    stores = [StoreSummary("ks_1", "Nature", "", 2, ready=1, failed=1, counted=True),
              StoreSummary("ks_2", "Drone", "", 0, counted=True)]
    view.set_stores(stores)
    view.show_items("ks_1", [row("ksi_a", "Coral", "failed"), row("ksi_b", "Fox", "ready")])
    view.select_items(["ksi_a"])
    assert view.message_label.text().startswith("“Coral” failed.")
    view.select_items(["ksi_b"])  # another video: the sentence was about Coral
    assert view.message_label.text() == ""
    view.select_items(["ksi_a"])
    assert view.select_store("ks_2")  # another store: nor is it about this one
    assert view.current_store_id() == "ks_2" and view.message_label.text() == ""
    view.show_failure("Could not delete the store. Offline.")  # an outcome stays
    assert view.select_store("ks_1")
    assert view.message_label.text() == "Could not delete the store. Offline."


def test_a_store_whose_videos_are_still_loading_is_not_said_to_have_none(qtbot: Any) -> None:
    from jockey_desktop.presentation.uploads import ItemRow

    view = StoresView()
    qtbot.addWidget(view)
    view.set_stores([StoreSummary("ks_1", "Nature", "", 8, ready=8, counted=True),
                     StoreSummary("ks_2", "Empty one", "", 0, counted=True)])
    assert view.current_store_id() == "ks_1"
    assert view.items_stack.currentWidget() is view.items_empty
    assert "No videos" not in view.items_empty.text()  # 8 videos, not listed yet
    view.show_items("ks_1", [ItemRow(id="ksi_a", asset_id=None, title="Fox", kind="video",
                                     duration="", size="", status="Ready", added="",
                                     detail="", raw_status="ready")])
    assert view.items_stack.currentWidget() is view.items_table
    assert view.select_store("ks_2")
    assert view.items_stack.currentWidget() is view.items_empty
    assert view.items_empty.text().startswith("No videos yet")  # known to be empty


def test_adding_videos_with_no_store_says_to_make_one_first(qtbot: Any) -> None:
    from jockey_desktop.ui.stores.stores_view import NO_STORE_FOR_VIDEOS

    view = StoresView()
    qtbot.addWidget(view)
    view.set_stores([])
    for add in (view.choose_files, view.choose_folder, view.open_url_dialog):
        view.message_label.clear()
        add()  # the Stores menu's "Add videos…" / "Add from URL…" with no store
        assert view.message_label.text() == NO_STORE_FOR_VIDEOS


def test_a_failed_upload_selected_says_why_in_full(qtbot: Any) -> None:
    from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState

    def upload(upload_id: int, state: UploadState, error: str | None) -> Upload:
        return Upload(id=upload_id, uid=f"u{upload_id}", batch_id="b", store_id="ks_1",
                      path="/v/clip.mp4", filename=f"clip{upload_id}.mp4", size=10,
                      mtime_ns=1, asset_type="video", method=UploadMethod.DIRECT, url=None,
                      state=state, upload_id=None, asset_id=None, item_id=None,
                      chunk_size=None, total_chunks=None, chunks=(), bytes_done=0,
                      error_message=error, created_at=1.0, updated_at=1.0)

    why = ("The server could not process “clip1.mp4”: The file is not a video, audio file "
           "or image the server can read. Retry sends it again.")
    view = StoresView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.uploads.set_rows([upload(1, UploadState.FAILED, why),
                           upload(2, UploadState.READY, None)])
    view.uploads.select_ids([1])
    assert view.message_label.text() == why
    view.uploads.select_ids([2])
    assert view.message_label.text() == ""


def test_a_store_says_how_many_videos_index_and_how_many_wait(qtbot: Any) -> None:
    """One video at work and two waiting their turn read "1 indexing · 2 queued" in the
    header, the warning, the row's tooltip and a narrow row, never "3 processing"."""
    from PySide6.QtCore import Qt

    from jockey_desktop.ui.store_picker import fitting_counts_text

    store = StoreSummary("ks_l", "Lectures", "", 13, ready=9, processing=1, queued=2,
                         failed=1, counted=True)
    view = StoresView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.set_stores([store])
    assert view.counts_label.text() == ("13 videos · 9 ready · 1 indexing · 2 queued · "
                                        "1 failed · Indexing")
    assert view.warning_label.text().startswith(
        "1 video is still indexing, 2 are queued for indexing and 1 could not be indexed")
    index = view.store_model.index(0, 0)
    assert "1 indexing · 2 queued" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert "1 indexing · 2 queued" in index.data(Qt.ItemDataRole.AccessibleTextRole)
    metrics = view.store_list.fontMetrics()
    narrow = metrics.horizontalAdvance("9 ready · 1 indexing · 2 queued · 1 failed") + 2
    assert fitting_counts_text(store, metrics, narrow) == ("9 ready · 1 indexing · 2 queued · "
                                                           "1 failed")
    assert fitting_counts_text(store, metrics, 2000).startswith("13 videos · ")
