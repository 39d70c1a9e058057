"""The upload queue when things go wrong: every fault says why in words, loses nothing, and
the queue resumes — injected sandbox faults, a 429, a changed or removed file, a lost
network, a restarted server or app, a full disk, a refused file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.storage.errors import DiskFullError
from jockey_desktop.core.storage.models import UploadState
from jockey_desktop.sandbox import Fault
from tests.helpers.sandbox_resources import file_server
from tests.helpers.uploads import CHUNK, Queue, queue, video_bytes, write_video

__all__ = ["queue"]


def test_a_failed_chunk_put_is_sent_again(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    fault = queue.server.faults.add(Fault.fail_chunk())
    path = write_video(tmp_path / "in", "big.mp4", size=4 * CHUNK)
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert fault.fired == 1 and len(row.chunks) == 4


def test_an_expired_upload_url_is_renewed(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    fault = queue.server.faults.add(Fault.expire_upload_url(times=2))
    path = write_video(tmp_path / "in", "big.mp4", size=4 * CHUNK)
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert fault.fired == 2 and len(row.chunks) == 4


def test_a_file_the_server_cannot_process_says_what_the_server_said(
        queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    queue.server.faults.add(Fault.fail_asset("The video failed the playability check."))
    path = write_video(tmp_path / "in", "broken.mp4")
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert row.error_message == ("The server could not process “broken.mp4”: The video "
                                 "failed the playability check.")
    assert row.asset_id is None  # a retry uploads the file again
    queue.qtbot.waitUntil(lambda: len(queue.batches) == 1, timeout=5000)
    assert (queue.batches[0].ready, queue.batches[0].failed) == (0, 1)
    queue.controller.retry([row.id])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert row.error_message is None


def test_an_item_that_fails_indexing_is_shown_and_retry_adds_it_again(
        queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    queue.server.faults.add(Fault.fail_indexing())
    path = write_video(tmp_path / "in", "clip.mp4")
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert "could not index “clip.mp4”" in (row.error_message or "")
    failed_item = row.item_id
    assert queue.client.get_item(store_id, failed_item).status == "failed"
    queue.controller.retry([row.id])
    [row] = queue.wait_all(UploadState.READY, 1)
    items = queue.client.list_items(store_id)
    # The failed item was replaced by a ready one (not left beside it).
    assert [i.status for i in items] == ["ready"] and items[0].id == row.item_id != failed_item


def test_a_rate_limited_upload_waits_for_retry_after(qtbot: Any, tmp_path: Path) -> None:
    # A client that does not wait itself: the queue's own wait is what is tested.
    stack = Queue(qtbot, tmp_path, client_options={"max_retries": 0})
    stack.start()
    try:
        store_id = stack.new_store()
        limit = stack.server.faults.add(Fault.rate_limit(retry_after=1, times=1,
                                                         path="/assets", method="POST"))
        path = write_video(tmp_path / "in", "clip.mp4")
        stack.controller.add_paths(store_id, [str(path)])
        qtbot.waitUntil(lambda: any(f.waiting for p in stack.progress
                                    for f in p.files.values()), timeout=5000)
        [row] = stack.wait_all(UploadState.READY, 1)
        assert limit.fired == 1 and row.error_message is None
        waits = [f.waiting for p in stack.progress for f in p.files.values() if f.waiting]
        assert 0 < max(waits) <= 1.0
    finally:
        stack.close()


def test_a_file_changed_during_the_upload_fails_in_words_and_retry_sends_it_anew(
        queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "edit.mp4", size=16 * CHUNK)
    queue.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
    queue.controller.add_paths(store_id, [str(path)])
    queue.wait_rows(lambda rows: len(rows[0].chunks) >= 1)
    path.write_bytes(video_bytes(17 * CHUNK))
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert "edit.mp4" in (row.error_message or "") and "Retry" in (row.error_message or "")
    assert row.upload_id is None and row.chunks == ()
    queue.server.faults.clear()
    queue.controller.retry([row.id])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert row.size == 17 * CHUNK and len(row.chunks) == 17


def test_a_file_removed_before_it_is_sent_fails_in_words(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "gone.mp4")
    queue.controller.pause_all()
    queue.controller.direct_above = 10  # any size: multipart
    slow = queue.server.faults.add(Fault.latency(0.3, path="/knowledge-stores", times=1))
    # Listing the store's items (for duplicates) is slowed: the file goes meanwhile.
    queue.controller.add_paths(store_id, [str(path)])
    queue.qtbot.waitUntil(lambda: slow.fired == 1, timeout=5000)
    path.unlink()
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert row.error_message == "“gone.mp4” was moved or deleted. Retry uploads the file as " \
                                "it is now."
    queue.controller.retry([row.id])
    queue.qtbot.wait(100)
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert "cannot be read any more" in (row.error_message or "")


def test_a_lost_network_fails_in_words_and_retry_continues_where_it_stopped(
        queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "big.mp4", size=16 * CHUNK)
    slow = queue.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
    queue.controller.add_paths(store_id, [str(path)])
    queue.wait_rows(lambda rows: len(rows[0].chunks) >= 2)
    queue.server.stop()  # the network is gone
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert row.error_message is not None
    assert row.error_message.startswith("The connection was lost during the upload of "
                                        "“big.mp4”. Retry continues with the parts already "
                                        "sent.")
    kept = len(row.chunks)
    assert kept >= 2 and row.upload_id
    queue.restart_server()
    slow = queue.server.faults.add(Fault.latency(0.0, path="/upload-chunks", times=None))
    queue.controller.set_client(queue.client)
    queue.controller.retry([row.id])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert slow.fired <= 16 - kept + 2  # the rest (and two cut short), not the whole file
    assert [c[0] for c in row.chunks] == list(range(1, 17))


def test_a_restart_mid_upload_resumes_from_the_servers_chunks(qtbot: Any,
                                                              tmp_path: Path) -> None:
    from jockey_desktop.controllers.uploads import UploadsController
    from tests.helpers.uploads import DIRECT_ABOVE, fast_timings

    stack = Queue(qtbot, tmp_path)
    stack.start()
    try:
        store_id = stack.new_store()
        path = write_video(tmp_path / "in", "big.mp4", size=16 * CHUNK)
        stack.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
        stack.controller.add_paths(store_id, [str(path)])
        stack.wait_rows(lambda rows: len(rows[0].chunks) >= 2)
        # The app quits mid-upload, then the server restarts too.
        stack.controller.shutdown()
        stack.storage.drain(3000)
        qtbot.wait(50)
        [row] = stack.rows()
        assert row.state is UploadState.UPLOADING and row.upload_id
        # The session's own headers were saved with it: the sandbox refuses (403) a chunk
        # PUT without its tag, so finishing below proves they were used after the restart.
        tag = dict(row.upload_headers).get("x-sandbox-upload-tag")
        assert tag and dict(row.upload_headers)["Content-Type"] == "application/octet-stream"
        kept = len(row.chunks)
        stack.restart_server()
        counted = stack.server.faults.add(Fault.latency(0.0, path="/upload-chunks",
                                                        times=None))
        again = UploadsController(stack.repo, stack.storage, stack.network,
                                  timings=fast_timings())
        again.direct_above = DIRECT_ABOVE
        stack.controller = again
        again.set_client(stack.client)
        [row] = stack.wait_all(UploadState.READY, 1)
        assert counted.fired <= 16 - kept + 2
        assert len(stack.client.list_items(store_id)) == 1
        assert dict(row.upload_headers)["x-sandbox-upload-tag"] == tag  # the same session
    finally:
        stack.close()


class _FullDiskOnce:
    """The repository, except that recording a chunk finds the disk full once."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def record_chunk(self, *args: Any) -> Any:
        if not self.failed:
            self.failed += 1
            raise DiskFullError(Path("/data"), "record an uploaded chunk")
        return self._repo.record_chunk(*args)


def test_a_full_disk_halts_the_queue_in_words_and_resume_continues(
        queue: Queue, tmp_path: Path) -> None:
    queue.controller._repo = _FullDiskOnce(queue.repo)  # type: ignore[assignment]
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "big.mp4", size=4 * CHUNK)
    queue.controller.add_paths(store_id, [str(path)])
    queue.qtbot.waitUntil(lambda: bool(queue.errors), timeout=5000)
    assert "disk" in queue.errors[0].lower() and "Uploads are paused" in queue.errors[0]
    assert queue.controller.halted()
    [row] = queue.rows()
    assert row.state is UploadState.UPLOADING  # nothing lost: the row waits
    queue.controller.resume_all()
    [row] = queue.wait_all(UploadState.READY, 1)
    assert queue.controller.halted() is None and len(row.chunks) == 4


def test_a_refused_file_says_what_the_server_said(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    queue.server.faults.add(Fault.error(400, "parameter_invalid",
                                        "Your plan's storage is full.", path="/assets",
                                        method="POST"))
    path = write_video(tmp_path / "in", "clip.mp4")
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.FAILED, 1)
    assert row.error_message == ("The server refused “clip.mp4”. The server said: Your "
                                 "plan's storage is full.")


@pytest.mark.parametrize("name", ["clip.mp4"])
def test_a_url_is_fetched_by_the_server_and_added(queue: Queue, name: str) -> None:
    store_id = queue.new_store()
    files = {f"/{name}": (200, {"Content-Type": "video/mp4"}, video_bytes(30_000))}
    with file_server(files) as root:
        assert queue.controller.add_url(store_id, "ftp://example.com/x.mp4") is not None
        assert queue.controller.add_url(store_id, f"{root}/{name}") is None
        [row] = queue.wait_all(UploadState.READY, 1)
    assert row.filename == name and row.asset_type == "video"
    assert queue.client.get_item(store_id, row.item_id).status == "ready"
