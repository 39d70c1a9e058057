"""Each upload belongs to the server it was queued for: after a switch to another server the
queue leaves those rows exactly as they are (not failed, not resumed there) and says which
server they wait for; switching back finishes them in their own session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from jockey_desktop.core.api.urls import server_identity
from jockey_desktop.core.storage.models import UploadState
from jockey_desktop.sandbox import Fault, Pace, SandboxServer
from jockey_desktop.ui.stores.models import UploadsModel
from tests.helpers.chat import make_client
from tests.helpers.uploads import CHUNK, Queue, write_video


def _status_line(rows: list[Any], progress: Any, upload_id: int) -> str:
    """What the queue view's Status column says for one row."""
    model = UploadsModel()
    model.set_rows(rows)
    model.set_progress(progress.files)
    position = next(i for i, r in enumerate(model.rows()) if r.id == upload_id)
    return str(model.data(model.index(position, UploadsModel.STATUS),
                          Qt.ItemDataRole.DisplayRole))


def test_rows_of_another_server_wait_untouched_and_say_for_which(
        qtbot: Any, tmp_path: Path) -> None:
    stack = Queue(qtbot, tmp_path)
    other_server = SandboxServer(pace=Pace.instant(), upload_limits=stack.limits)
    other_server.start()
    other = make_client(other_server)
    other_id = server_identity(other.base_url)
    controller = stack.controller
    try:
        controller.set_client(stack.client, "sandbox")
        store_id = stack.new_store()
        path = write_video(tmp_path / "in", "big.mp4", size=16 * CHUNK)
        stack.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
        controller.add_paths(store_id, [str(path)])
        stack.wait_rows(lambda rows: len(rows[0].chunks) >= 2)

        # The user switches to another API: the sandbox's upload stops where it is.
        controller.set_client(other, other_id)
        # The stopped transfer may still report its last chunks: wait for it to end and for
        # what it reported to be saved.
        qtbot.waitUntil(controller.transfers_idle, timeout=10_000)
        qtbot.wait(20)  # delivers its queued "chunk acknowledged" signals
        stack.storage.drain(3000)
        [parked] = stack.wait_rows(lambda rows: True)
        qtbot.wait(300)  # many ticks of the queue (20 ms): nothing may happen to the row
        [row] = stack.rows()
        assert row == parked and controller.upload(row.id) == row
        assert row.server == "sandbox" and row.state is UploadState.UPLOADING
        assert row.upload_id and len(row.chunks) >= 2 and row.error_message is None
        # Nothing of it reached the other server.
        assert other.list_incomplete_uploads() == []
        assert not any(a.method == "multipart" for a in other_server.assets.all())
        progress = controller.progress()
        assert progress.files[row.id].waiting_for == "sandbox"
        assert (progress.transferring, progress.waiting, progress.indexing) == (0, 0, 0)
        assert _status_line(stack.rows(), progress, row.id) == "Waiting for the sandbox"

        # The queue still works for the current server: a file queued now goes there.
        other_store = str(other.create_knowledge_store("Elsewhere").id)
        small = write_video(tmp_path / "in", "small.mp4")
        controller.add_paths(other_store, [str(small)])
        stack.wait_rows(lambda rows: len(rows) == 2
                        and rows[1].state is UploadState.READY)
        [row, small_row] = stack.rows()
        assert small_row.server == other_id and row == parked
        assert [i.filename for i in other.list_items(other_store)] == ["small.mp4"]

        # Back on the sandbox: the parked upload finishes in its own session, and a
        # failed or finished row of the other server keeps its words.
        controller.set_client(stack.client, "sandbox")
        rows = stack.wait_rows(lambda rows: rows[0].state is UploadState.READY)
        assert rows[0].upload_id == parked.upload_id
        assert len(stack.client.list_items(store_id)) == 1
        assert _status_line(rows, controller.progress(), small_row.id) == "Ready"
    finally:
        stack.close()
        other.close()
        other_server.stop()


def test_a_row_of_another_server_queued_earlier_says_so_and_a_row_without_one_is_adopted(
        qtbot: Any, tmp_path: Path) -> None:
    stack = Queue(qtbot, tmp_path)
    try:
        store_id = stack.new_store()
        small = write_video(tmp_path / "in", "old.mp4")
        away = write_video(tmp_path / "in", "away.mp4")
        # Saved before servers were recorded (server NULL), and one for a real API.
        old, elsewhere = stack.repo.add_uploads([
            {"store_id": store_id, "method": "direct", "path": str(small), "size": 20_000,
             "mtime_ns": small.stat().st_mtime_ns},
            {"store_id": "ks_far", "method": "direct", "path": str(away), "size": 20_000,
             "mtime_ns": away.stat().st_mtime_ns, "server": "https://api.example.com/v1.3"},
        ])
        assert old.server is None
        stack.controller.set_client(stack.client, "sandbox")
        rows = stack.wait_rows(lambda rows: rows[0].state is UploadState.READY)
        assert rows[0].server == "sandbox"  # adopted by the server it ran with
        assert rows[1] == elsewhere  # untouched
        progress = stack.controller.progress()
        assert progress.files[elsewhere.id].waiting_for == "https://api.example.com/v1.3"
        assert _status_line(rows, progress, elsewhere.id) == "Queued for api.example.com"
    finally:
        stack.close()
