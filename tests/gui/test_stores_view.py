"""The stores view in the running app on the sandbox: editing and deleting stores, removing
and playing videos, collections, drops on the main window, the queue's buttons, what a
failed video says, and that nothing of it is built before it is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from jockey_desktop.core.storage.models import UploadState
from jockey_desktop.sandbox import Fault
from jockey_desktop.ui.stores.store_dialog import StoreDialog
from tests.helpers.media import PLAYER_LOG_IGNORE
from tests.helpers.uploads import drop_files, fast_timings, write_video

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def _ready_app(start: Any, qtbot: Any) -> Any:
    desktop = start()
    desktop.store_feature.uploads.timings = fast_timings()
    qtbot.waitUntil(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading(),
                    timeout=10_000)
    return desktop


def _store_with_videos(qtbot: Any, desktop: Any, tmp_path: Path, name: str,
                       files: tuple[str, ...]) -> tuple[Any, str]:
    """Open the view, create a store through the client and upload ``files`` to it."""
    client = desktop.connection.client()
    store_id = client.create_knowledge_store(name).id
    desktop.stores.refresh()
    feature = desktop.store_feature
    view = feature.open(store_id)
    qtbot.waitUntil(lambda: view.current_store_id() == store_id, timeout=10_000)
    paths = [write_video(tmp_path / "v", f) for f in files]
    view.add_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: len(view.items_model.rows()) == len(files)
                    and all(r.raw_status == "ready" for r in view.items_model.rows()),
                    timeout=15_000)
    return view, store_id


def _click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


def test_the_view_is_built_only_when_opened(start: Any, qtbot: Any) -> None:
    desktop = _ready_app(start, qtbot)
    feature = desktop.store_feature
    assert feature._view is None
    qtbot.mouseClick(desktop.window.store_picker.manage_button, Qt.MouseButton.LeftButton)
    assert feature._view is not None and feature.view.isVisible()
    # It opens on the store picked in the main window.
    assert feature.view.current_store_id() == desktop.window.store_picker.current_store().id


def test_editing_a_store_keeps_typed_metadata_and_refuses_bad_values(
        start: Any, qtbot: Any) -> None:
    desktop = _ready_app(start, qtbot)
    client = desktop.connection.client()
    store = client.create_knowledge_store("Drafts", metadata={"team": "ops", "n": 3})
    desktop.stores.refresh()
    view = desktop.store_feature.open(store.id)
    qtbot.waitUntil(lambda: view.current_store_id() == store.id, timeout=10_000)
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(view.active_dialog, StoreDialog), timeout=5_000)
    dialog = view.active_dialog
    assert dialog.values() == ("Drafts", "", {"team": "ops", "n": 3})
    row = dialog.add_field("tags", "List of texts", "a, b")
    dialog.add_field("public", "Yes/No", "maybe")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error_label.text() == "“public” must be yes or no, not “maybe”."
    dialog.table.removeRow(row + 1)
    dialog.add_field("x" * 129, "Text", "too long a name")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert "longer than 128 characters" in dialog.error_label.text()
    dialog.table.removeRow(dialog.table.rowCount() - 1)
    dialog.name_field.setText("Final cuts")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.name_label.text() == "Final cuts", timeout=10_000)
    assert client.get_knowledge_store(store.id).metadata == {"team": "ops", "n": 3,
                                                             "tags": ["a", "b"]}


def test_deleting_a_store_says_every_video_goes(start: Any, qtbot: Any,
                                                tmp_path: Path) -> None:
    desktop = _ready_app(start, qtbot)
    view, store_id = _store_with_videos(qtbot, desktop, tmp_path, "Old trip",
                                        ("a.mp4", "b.mp4"))
    qtbot.waitUntil(lambda: desktop.stores.store(store_id).item_count == 2, timeout=10_000)
    view.set_stores(desktop.stores.stores())
    box = view.confirm_delete_store()
    assert box is not None and box.text() == "Delete “Old trip”?"
    assert box.informativeText().startswith("All 2 videos in it are deleted with it")
    _click(box, "Cancel")
    assert desktop.stores.store(store_id) is not None
    box = view.confirm_delete_store()
    _click(box, "Delete store and videos")
    qtbot.waitUntil(lambda: desktop.stores.store(store_id) is None
                    and not desktop.stores.is_loading(), timeout=10_000)
    assert view.current_store_id() != store_id


# Play starts the player: Qt Multimedia's lines on a machine without audio or GPU, exactly.
@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE, r"^This plugin does not support raise\(\)$")
def test_videos_are_removed_played_and_grouped_in_collections(
        start: Any, qtbot: Any, tmp_path: Path) -> None:
    desktop = _ready_app(start, qtbot)
    view, store_id = _store_with_videos(qtbot, desktop, tmp_path, "Clips",
                                        ("one.mp4", "two.mp4", "three.mp4"))
    rows = {r.title: r.id for r in view.items_model.rows()}
    client = desktop.connection.client()

    played: list[tuple[str, str]] = []
    desktop.store_feature.sig_play_item.connect(lambda s, i, _title: played.append((s, i)))
    view.select_items([rows["two.mp4"]])
    qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    assert played == [(store_id, rows["two.mp4"])]

    # A collection: create, add two videos, remove one, rename, delete.
    dialog = view.open_new_collection_dialog()
    assert isinstance(dialog, QInputDialog)
    dialog.setTextValue("Best of")
    dialog.accept()
    qtbot.waitUntil(lambda: len(view.collections_model.rows()) == 1, timeout=10_000)
    collection = view.collections_model.rows()[0]
    view.select_items([rows["one.mp4"], rows["three.mp4"]])
    action = next(a for a in view.to_collection_menu.actions() if a.text() == "Best of")
    action.trigger()
    qtbot.waitUntil(lambda: view.collections_model.rows()[0].member_count == 2,
                    timeout=10_000)
    view.tabs.setCurrentIndex(1)
    assert view.select_collection(collection.id)
    qtbot.waitUntil(lambda: view.members_list.count() == 2, timeout=10_000)
    assert sorted(view.members_list.item(n).text() for n in range(2)) == ["one.mp4",
                                                                          "three.mp4"]
    view.members_list.item(0).setSelected(True)
    qtbot.mouseClick(view.remove_member_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.members_list.count() == 1, timeout=10_000)
    rename = view.open_rename_collection_dialog()
    rename.setTextValue("Favourites")
    rename.accept()
    qtbot.waitUntil(lambda: view.collections_model.rows()[0].name == "Favourites",
                    timeout=10_000)
    _click(view.confirm_delete_collection(), "Delete collection")
    qtbot.waitUntil(lambda: not view.collections_model.rows(), timeout=10_000)
    assert client.list_collections(store_id) == []

    # Remove a video from the store (after a confirmation).
    view.select_items([rows["one.mp4"]])
    box = view.confirm_remove_items()
    assert box.text() == "Remove “one.mp4” from the store?"
    _click(box, "Remove")
    qtbot.waitUntil(lambda: sorted(r.title for r in view.items_model.rows())
                    == ["three.mp4", "two.mp4"], timeout=10_000)
    assert len(client.list_items(store_id)) == 2


def test_files_dropped_on_the_main_window_go_to_the_picked_store(
        start: Any, qtbot: Any, tmp_path: Path) -> None:
    desktop = _ready_app(start, qtbot)
    picked = desktop.window.store_picker.current_store()
    path = write_video(tmp_path / "v", "dropped.mp4")
    assert drop_files(desktop.window, [path])
    # On the question box too (it takes text drops, not files).
    other = write_video(tmp_path / "v", "on the composer.mp4", size=30_000)
    composer = desktop.window.chat_pane.composer.edit
    assert drop_files(composer.viewport(), [other])
    assert composer.toPlainText() == ""
    feature = desktop.store_feature
    qtbot.waitUntil(lambda: [r.state for r in feature.uploads.uploads()]
                    == [UploadState.READY] * 2, timeout=15_000)
    rows = feature.uploads.uploads()
    assert {r.store_id for r in rows} == {picked.id}
    assert sorted(r.filename for r in rows) == ["dropped.mp4", "on the composer.mp4"]
    qtbot.waitUntil(lambda: desktop.window.status_text().endswith(
        f"ready to ask about in “{picked.name}”."), timeout=5_000)


def test_a_failed_video_says_why_and_the_queue_buttons_act(
        start: Any, qtbot: Any, tmp_path: Path) -> None:
    desktop = _ready_app(start, qtbot)
    feature = desktop.store_feature
    sandbox = desktop.connection.sandbox()
    client = desktop.connection.client()
    store_id = client.create_knowledge_store("Faulty").id
    desktop.stores.refresh()
    view = feature.open(store_id)
    qtbot.waitUntil(lambda: view.current_store_id() == store_id, timeout=10_000)
    sandbox.faults.add(Fault.fail_indexing())
    view.add_paths([str(write_video(tmp_path / "v", "bad.mp4"))])
    panel = view.uploads
    qtbot.waitUntil(lambda: [r.state for r in panel.model.rows()] == [UploadState.FAILED],
                    timeout=15_000)
    [row] = panel.model.rows()
    assert "could not index “bad.mp4”" in panel.model.status_text(row)
    # In the store's list the failed video is marked, and selecting it says why.
    qtbot.waitUntil(lambda: [r.raw_status for r in view.items_model.rows()] == ["failed"],
                    timeout=10_000)
    view.select_items([view.items_model.rows()[0].id])
    assert view.message_label.text() == ("“bad.mp4” failed. Indexing failed; the API gives "
                                         "no reason for failed items.")
    # Retry from the queue: the video is added again and becomes ready.
    panel.select_ids([row.id])
    assert panel.retry_button.isEnabled() and not panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [r.state for r in panel.model.rows()] == [UploadState.READY],
                    timeout=15_000)
    qtbot.waitUntil(lambda: [r.raw_status for r in view.items_model.rows()] == ["ready"],
                    timeout=10_000)

    # Pause and resume a slow multipart upload with the panel's buttons.
    feature.uploads.direct_above = 10_000
    sandbox.faults.add(Fault.latency(0.2, path="/upload-chunks", times=None))
    big = write_video(tmp_path / "v", "long.mp4", size=9 * 1024 * 1024)
    view.add_paths([str(big)])
    qtbot.waitUntil(lambda: any(r.state is UploadState.UPLOADING
                                for r in panel.model.rows()), timeout=10_000)
    long_row = next(r for r in panel.model.rows() if r.filename == "long.mp4")
    panel.select_ids([long_row.id])
    qtbot.waitUntil(panel.pause_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: feature.uploads.upload(long_row.id).state is UploadState.PAUSED,
                    timeout=10_000)
    assert panel.model.status_text(feature.uploads.upload(long_row.id)).startswith("Paused")
    panel.select_ids([long_row.id])
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: feature.uploads.upload(long_row.id).state is UploadState.READY,
                    timeout=20_000)
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5_000)


def test_an_address_that_is_not_http_is_refused_in_words(start: Any, qtbot: Any) -> None:
    desktop = _ready_app(start, qtbot)
    view = desktop.store_feature.open()
    qtbot.waitUntil(lambda: view.current_store_id() is not None, timeout=10_000)
    dialog = view.open_url_dialog()
    dialog.setTextValue("file:///etc/passwd")
    dialog.accept()
    assert view.message_label.text() == "Only http:// and https:// addresses can be added."
    assert desktop.store_feature.uploads.uploads() == []
    # Asked again with what was typed and why it was refused: corrected, not retyped.
    again = view.active_dialog
    assert isinstance(again, QInputDialog) and again is not dialog and again.isVisible()
    assert again.textValue() == "file:///etc/passwd"
    assert again.labelText().startswith("Only http:// and https:// addresses can be added.")
    again.setTextValue("ftp://example.com/clip.mp4")
    again.accept()
    third = view.active_dialog
    assert isinstance(third, QInputDialog) and third.textValue() == "ftp://example.com/clip.mp4"
    third.reject()
    assert desktop.store_feature.uploads.uploads() == []


def test_a_store_the_server_did_not_create_keeps_the_dialog_and_what_was_typed(
        start: Any, qtbot: Any) -> None:
    desktop = _ready_app(start, qtbot)
    view = desktop.store_feature.open()
    desktop.connection.sandbox().faults.add(
        Fault.error(503, code="service_unavailable", message="Down for maintenance.",
                    path="/knowledge-stores", method="POST", times=1))
    dialog = view.open_new_store_dialog()
    qtbot.keyClicks(dialog.name_field, "Holiday clips")
    dialog.description_field.setPlainText("Summer 2026")
    dialog.add_field("year", "Number", "2026")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and not dialog.ok_button.isEnabled()  # "Creating…"
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=10_000)
    assert dialog.error_label.text().startswith("Could not create the knowledge store.")
    assert "Down for maintenance." in dialog.error_label.text()
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    assert dialog.values() == ("Holiday clips", "Summer 2026", {"year": 2026})
    # Sent again as it stands: created, and the dialog closes.
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.name_label.text() == "Holiday clips", timeout=10_000)
    client = desktop.connection.client()
    created = [s for s in client.list_knowledge_stores() if s.name == "Holiday clips"]
    assert len(created) == 1 and created[0].metadata == {"year": 2026}


def test_ask_about_puts_the_selected_videos_or_a_collection_in_the_question_box(
        start: Any, qtbot: Any, tmp_path: Path) -> None:
    desktop = _ready_app(start, qtbot)
    view, store_id = _store_with_videos(qtbot, desktop, tmp_path, "Clips",
                                        ("one.mp4", "two.mp4"))
    rows = {r.title: r.id for r in view.items_model.rows()}
    composer, picker = desktop.window.chat_pane.composer, desktop.window.store_picker
    assert not view.ask_button.isEnabled()  # nothing selected
    view.select_items([rows["one.mp4"], rows["two.mp4"]])
    qtbot.mouseClick(view.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(composer.selections()) == 2, timeout=5_000)
    assert {(s["kind"], s["id"], s["name"]) for s in composer.selections()} == {
        ("item", rows["one.mp4"], "one.mp4"), ("item", rows["two.mp4"], "two.mp4")}
    assert picker.current_store().id == store_id  # the next question goes to that store

    collection = desktop.connection.client().create_collection(store_id, "Best of")
    view.tabs.setCurrentIndex(1)
    desktop.store_feature.manager.load_collections(store_id)
    qtbot.waitUntil(lambda: view.select_collection(collection.id), timeout=10_000)
    qtbot.mouseClick(view.ask_collection_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(composer.selections()) == 3, timeout=5_000)
    assert composer.selections()[-1] == {"kind": "collection", "id": collection.id,
                                         "name": "Best of"}
