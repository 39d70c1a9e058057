"""The upload queue (UploadsController) on the real stack: files to ready store items through
the sandbox, direct and multipart, with progress, duplicates, pause, resume and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jockey_desktop.core.storage.models import UploadMethod, UploadState
from jockey_desktop.sandbox import Fault
from tests.helpers.sandbox_resources import tiny_png
from tests.helpers.uploads import CHUNK, Queue, queue, write_video

__all__ = ["queue"]


def test_three_small_videos_become_ready_items(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    files = [write_video(tmp_path / "in", f"clip{n}.mp4", duration=10 + n) for n in range(3)]
    queue.controller.add_paths(store_id, [str(f) for f in files])
    rows = queue.wait_all(UploadState.READY, 3)
    assert {r.filename for r in rows} == {"clip0.mp4", "clip1.mp4", "clip2.mp4"}
    assert all(r.method is UploadMethod.DIRECT and r.item_id and r.asset_id for r in rows)
    items = {i.id: i for i in queue.client.list_items(store_id)}
    assert {r.item_id for r in rows} == set(items)
    assert all(i.status == "ready" and i.asset_type == "video" for i in items.values())
    # One batch, told once, with all three ready; the store was announced as changing.
    queue.qtbot.waitUntil(lambda: len(queue.batches) == 1, timeout=5000)
    outcome = queue.batches[0]
    assert (outcome.store_id, outcome.ready, outcome.failed) == (store_id, 3, 0)
    assert store_id in queue.store_changes
    assert queue.server.chunk_puts_with_key == 0
    assert any("3 files queued" in n for n in queue.notices)


def test_a_large_file_goes_through_the_multipart_flow(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "long.mp4", size=5 * CHUNK + 1000)
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert row.method is UploadMethod.MULTIPART
    assert row.total_chunks == 6 and [c[0] for c in row.chunks] == [1, 2, 3, 4, 5, 6]
    assert row.bytes_done == row.size == path.stat().st_size
    assert queue.client.get_item(store_id, row.item_id).status == "ready"
    assert queue.server.chunk_puts_with_key == 0


def test_images_are_added_as_images(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    image = tmp_path / "in" / "still.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(tiny_png(8, 6))
    queue.controller.add_paths(store_id, [str(image)])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert row.asset_type == "image"
    assert queue.client.get_item(store_id, row.item_id).asset_type == "image"


def test_files_a_store_cannot_take_are_refused_with_reasons(queue: Queue,
                                                             tmp_path: Path) -> None:
    store_id = queue.new_store()
    folder = tmp_path / "drop"
    write_video(folder, "good.mp4")
    (folder / "notes.txt").write_text("not a video")  # in a folder: silently left out
    (folder / ".hidden.mp4").write_bytes(b"x")  # hidden: left out
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    song = tmp_path / "song.mp3"
    song.write_bytes(b"ID3")
    queue.controller.add_paths(store_id, [str(folder), str(empty), str(song),
                                          str(tmp_path / "gone.mov")])
    [row] = queue.wait_all(UploadState.READY, 1)
    assert row.filename == "good.mp4"
    [text] = queue.refused
    assert "“empty.mp4” is empty." in text
    assert "“song.mp3” is not a video or an image" in text
    assert "“gone.mov” no longer exists." in text


def test_files_left_out_are_said_after_the_files_queued(queue: Queue, tmp_path: Path) -> None:
    # The views keep only the last message: "1 file queued" must not hide the refusal.
    said: list[tuple[str, str]] = []
    queue.controller.sig_notice.connect(lambda text: said.append(("notice", text)))
    queue.controller.sig_refused.connect(lambda text: said.append(("refused", text)))
    store_id = queue.new_store()
    good = write_video(tmp_path / "in", "good.mp4")
    notes = tmp_path / "in" / "notes.txt"
    notes.write_text("not a video")
    queue.controller.add_paths(store_id, [str(good), str(notes)])
    queue.wait_all(UploadState.READY, 1)
    kinds = [kind for kind, _text in said]
    assert kinds[:2] == ["notice", "refused"]
    assert said[0][1].startswith("1 file queued")
    assert "“notes.txt” is not a video or an image" in said[1][1]


class Answers:
    """Prompts that answer the duplicate question as told and record what was asked."""

    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, list[str]]] = []

    def confirm_duplicates(self, store_name: str, names: Any) -> bool | None:
        self.asked.append((store_name, list(names)))
        return self.answer


def test_files_already_in_the_store_are_asked_about(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    first = write_video(tmp_path / "a", "same.mp4")
    queue.controller.add_paths(store_id, [str(first)])
    queue.wait_all(UploadState.READY, 1)

    other = write_video(tmp_path / "a", "other.mp4", size=30_000)
    skip = Answers(False)
    queue.controller.prompts = skip
    queue.controller.add_paths(store_id, [str(first), str(other)])
    rows = queue.wait_rows(lambda rows: len(rows) == 2
                           and all(r.state is UploadState.READY for r in rows))
    assert skip.asked == [(store_id, ["same.mp4"])]
    assert sorted(r.filename for r in rows) == ["other.mp4", "same.mp4"]

    stop = Answers(None)
    queue.controller.prompts = stop
    queue.controller.add_paths(store_id, [str(first), str(other)])
    queue.qtbot.waitUntil(lambda: bool(stop.asked), timeout=5000)
    assert sorted(stop.asked[0][1]) == ["other.mp4", "same.mp4"]
    queue.qtbot.wait(100)
    assert len(queue.rows()) == 2  # nothing more was queued

    again = Answers(True)
    queue.controller.prompts = again
    queue.controller.add_paths(store_id, [str(first)])
    queue.wait_rows(lambda rows: len(rows) == 3
                    and all(r.state is UploadState.READY for r in rows))
    assert len(queue.client.list_items(store_id)) == 3


def test_pause_keeps_the_sent_parts_and_resume_sends_only_the_rest(
        queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "big.mp4", size=16 * CHUNK)
    slow = queue.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_rows(lambda rows: len(rows[0].chunks) >= 2)
    queue.controller.pause([row.id])
    [row] = queue.wait_all(UploadState.PAUSED)
    kept = len(row.chunks)
    assert 2 <= kept < 16 and row.bytes_done == kept * CHUNK
    puts_before = slow.fired
    # Paused means paused: nothing more goes out.
    queue.qtbot.wait(300)
    assert slow.fired == puts_before
    queue.controller.resume([row.id])
    [row] = queue.wait_all(UploadState.READY)
    # Only the chunks the server did not have were sent (the two on the wire when the
    # pause came are sent again).
    assert slow.fired - puts_before <= 16 - kept + 2
    assert [c[0] for c in row.chunks] == list(range(1, 17))


def test_cancel_stops_a_file_and_retry_starts_it_again(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "big.mp4", size=6 * CHUNK)
    queue.server.faults.add(Fault.latency(0.15, path="/upload-chunks", times=None))
    queue.controller.add_paths(store_id, [str(path)])
    [row] = queue.wait_rows(lambda rows: len(rows[0].chunks) >= 1)
    queue.controller.cancel([row.id])
    [row] = queue.wait_all(UploadState.CANCELLED)
    assert queue.client.list_items(store_id) == []
    queue.server.faults.clear()
    queue.controller.retry([row.id])
    [row] = queue.wait_all(UploadState.READY)
    assert len(queue.client.list_items(store_id)) == 1
    queue.controller.clear_finished()
    queue.qtbot.waitUntil(lambda: not queue.rows() and not queue.controller.uploads(),
                          timeout=5000)


def test_progress_reports_bytes_speed_and_totals(queue: Queue, tmp_path: Path) -> None:
    store_id = queue.new_store()
    path = write_video(tmp_path / "in", "big.mp4", size=8 * CHUNK)
    queue.server.faults.add(Fault.latency(0.1, path="/upload-chunks", times=None))
    queue.controller.add_paths(store_id, [str(path)])
    queue.wait_all(UploadState.READY)
    during = [p for p in queue.progress if p.transferring]
    assert during, "no progress while sending"
    sent = [p.sent for p in during]
    assert sent == sorted(sent) and 0 < sent[-1] <= path.stat().st_size
    assert all(p.total == path.stat().st_size for p in during)
    assert any(p.speed and p.seconds_left is not None for p in during)
    assert not queue.progress[-1].busy
