"""A new user's path, end to end on the sandbox through the real controllers: create a store,
drop three videos on it, watch them upload and index, ask about them in a new conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from jockey_desktop.core.storage.models import UploadState
from jockey_desktop.sandbox import Pace
from jockey_desktop.ui.stores.store_dialog import StoreDialog
from tests.helpers.app import ask_and_wait, pane_messages
from tests.helpers.notifications import FakeNotifier
from tests.helpers.uploads import drop_files, fast_timings, write_video

# The offscreen platform cannot raise windows or propagate size hints.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

#: Indexing long enough to be seen, short enough for a test.
PACE = Pace(indexing_time=0.6, asset_processing_time=0.1)
NAMES = ("beach day.mp4", "mountain hike.mp4", "city night.mp4")


def test_create_a_store_drop_three_videos_watch_them_index_and_ask(
        start: Any, qtbot: Any, tmp_path: Path) -> None:
    desktop = start(sandbox_pace=PACE)
    notifier = FakeNotifier()  # the app's one desktop notifier, answers' and stores' alike
    desktop.notifications.notifier_factory = lambda: notifier
    feature = desktop.store_feature
    feature.uploads.timings = fast_timings()
    qtbot.waitUntil(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading(),
                    timeout=10_000)

    # Stores → Manage knowledge stores…
    feature.action_manage.trigger()
    view = feature.view
    assert view.isVisible()

    # New store…: a name and a typed metadata field.
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    dialog = view.active_dialog
    assert isinstance(dialog, StoreDialog) and dialog.isVisible()
    qtbot.keyClicks(dialog.name_field, "Holiday clips")
    dialog.add_field("year", "Number", "2026")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.name_label.text() == "Holiday clips", timeout=10_000)
    store_id = view.current_store_id()
    assert store_id is not None
    client = desktop.connection.client()
    assert client.get_knowledge_store(store_id).metadata == {"year": 2026}

    # Drop three videos on the store's row.
    files = [write_video(tmp_path / "clips", name) for name in NAMES]
    row = view.store_model.row_for_store(store_id)
    assert row is not None
    rect = view.store_list.visualRect(view.store_model.index(row, 0))
    seen: set[UploadState] = set()
    feature.uploads.sig_rows_changed.connect(lambda rows: seen.update(r.state for r in rows))
    assert drop_files(view.store_list.viewport(), files, rect.center())

    # Upload and indexing progress: the queue view has a row per file that goes through
    # every step, and the picker shows the store's readiness as it changes.
    panel = view.uploads
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=5_000)
    readiness: list[str] = []
    picker = desktop.window.store_picker
    desktop.stores.sig_stores_loaded.connect(
        lambda stores: readiness.extend(s.readiness for s in stores if s.id == store_id))
    qtbot.waitUntil(lambda: all(r.state is UploadState.READY for r in panel.model.rows()),
                    timeout=20_000)
    assert {UploadState.UPLOADING, UploadState.PROCESSING, UploadState.INDEXING,
            UploadState.READY} <= seen
    assert "indexing" in readiness
    qtbot.waitUntil(lambda: readiness[-1:] == ["ready"], timeout=10_000)
    qtbot.waitUntil(lambda: [r.status for r in view.items_model.rows()] == ["Ready"] * 3,
                    timeout=10_000)
    assert sorted(r.title for r in view.items_model.rows()) == sorted(NAMES)
    assert panel.model.status_text(panel.model.rows()[0]) == "Ready"
    # The batch is told: in the status bar, and as a notification (the window is not
    # active offscreen).
    qtbot.waitUntil(lambda: bool(notifier.messages), timeout=5_000)
    assert notifier.messages[0] == (
        "Videos ready", "3 videos are ready to ask about in “Holiday clips”.", None)

    # Ask about them in a new conversation on the store.
    picker.choose(store_id)
    assert picker.current_store().readiness == "ready"
    conversation_id = ask_and_wait(qtbot, desktop, "What are the main themes in these videos?")
    assert desktop.repo.get_conversation(conversation_id).store_id == store_id
    answer = pane_messages(desktop)[-1]
    for title in ("Beach day", "Mountain hike", "City night"):
        assert title in answer.text
    assert len(answer.citations) == 3
    assert desktop.connection.sandbox().chunk_puts_with_key == 0
