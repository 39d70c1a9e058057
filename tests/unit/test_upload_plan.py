"""Which files may be uploaded and how (core.upload_plan), the transfer meter and poll backoff,
and the sentences of upload failures (core.upload_flow) — no Qt, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jockey_desktop.core import api
from jockey_desktop.core.storage.errors import DiskFullError
from jockey_desktop.core.upload_flow import TransferMeter, describe_upload_error, next_delay
from jockey_desktop.core.upload_plan import (
    MAX_FILES,
    KnownFile,
    PlannedFile,
    Refusal,
    check_file,
    find_duplicates,
    format_size,
    item_kind,
    plan_paths,
    source_changed,
)


def _file(path: Path, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.mark.parametrize(("name", "kind"), [
    ("a.mp4", "video"), ("B.MOV", "video"), ("c.mkv", "video"), ("d.webm", "video"),
    ("e.jpg", "image"), ("f.PNG", "image"), ("g.mp3", None), ("h", None), ("i.txt", None),
])
def test_kind_from_the_extension(name: str, kind: str | None) -> None:
    assert item_kind(name) == kind


def test_a_file_gets_its_method_by_size(tmp_path: Path) -> None:
    small = check_file(_file(tmp_path / "small.mp4", 100))
    assert isinstance(small, PlannedFile)
    assert (small.kind, small.method, small.size) == ("video", "direct", 100)
    assert small.mtime_ns == (tmp_path / "small.mp4").stat().st_mtime_ns
    large = check_file(_file(tmp_path / "large.mp4", 100), direct_above=50)
    assert isinstance(large, PlannedFile) and large.method == "multipart"
    row = large.as_row("ks_1")
    assert row == {"store_id": "ks_1", "path": str(tmp_path / "large.mp4"),
                   "filename": "large.mp4", "size": 100, "mtime_ns": large.mtime_ns,
                   "asset_type": "video", "method": "multipart"}


def test_sparse_files_past_the_api_limits_are_refused(tmp_path: Path) -> None:
    video = tmp_path / "huge.mp4"
    with video.open("wb") as handle:
        handle.truncate(10 * 1000**3 + 1)
    refused = check_file(video)
    assert isinstance(refused, Refusal)
    assert refused.reason == "“huge.mp4” is 10 GB; a video can be at most 10 GB."
    image = tmp_path / "poster.png"
    with image.open("wb") as handle:
        handle.truncate(32 * 1000 * 1000 + 1)
    assert check_file(image) == Refusal(image, "“poster.png” is 32 MB; an image can be at "
                                               "most 32 MB.")


def test_refusals_name_the_file_and_the_reason(tmp_path: Path) -> None:
    empty = _file(tmp_path / "empty.mp4", 0)
    song = _file(tmp_path / "song.mp3")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    reasons = {r.path.name: r.reason for r in plan_paths(
        [empty, song, tmp_path / "gone.mov"]).refused}
    assert reasons == {
        "empty.mp4": "“empty.mp4” is empty.",
        "song.mp3": "“song.mp3” is not a video or an image a knowledge store takes (.mp3).",
        "gone.mov": "“gone.mov” no longer exists.",
    }
    assert check_file(folder) == Refusal(folder, "“folder.mp4” is not a regular file.")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    locked = _file(tmp_path / "locked.mp4")
    locked.chmod(0)
    try:
        assert check_file(locked) == Refusal(locked, "“locked.mp4” cannot be read (no "
                                                     "permission).")
    finally:
        locked.chmod(0o600)


def test_folders_are_walked_for_videos_and_images_only(tmp_path: Path) -> None:
    root = tmp_path / "drop"
    _file(root / "b.mp4")
    _file(root / "A.jpg")
    _file(root / "notes.txt")
    _file(root / ".hidden" / "x.mp4")
    _file(root / ".dot.mp4")
    _file(root / "sub" / "c.mov")
    _file(root / "sub" / "deeper" / "d.webm")
    plan = plan_paths([root, root / "b.mp4"])  # the same file twice counts once
    assert [f.path.relative_to(root).as_posix() for f in plan.files] == [
        "A.jpg", "b.mp4", "sub/c.mov", "sub/deeper/d.webm"]
    assert plan.refused == () and not plan.truncated


def test_a_huge_folder_is_cut_short_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for n in range(MAX_FILES + 5):
        (root / f"{n:05d}.mp4").write_bytes(b"x")
    plan = plan_paths([root])
    assert len(plan.files) == MAX_FILES and plan.truncated


def test_duplicates_match_name_and_size_when_known(tmp_path: Path) -> None:
    planned = [check_file(_file(tmp_path / n, s)) for n, s in
               (("a.mp4", 10), ("b.mp4", 20), ("c.mp4", 30))]
    files = [p for p in planned if isinstance(p, PlannedFile)]
    known = [KnownFile("A.MP4", 10), KnownFile("b.mp4", 99), KnownFile("c.mp4", None)]
    assert [d.filename for d in find_duplicates(files, known)] == ["a.mp4", "c.mp4"]
    assert find_duplicates(files, []) == []


def test_a_changed_or_missing_source_is_said(tmp_path: Path) -> None:
    path = _file(tmp_path / "v.mp4", 10)
    info = path.stat()
    assert source_changed(path, 10, info.st_mtime_ns) is None
    assert source_changed(path, 11, info.st_mtime_ns) == ("“v.mp4” changed since it was "
                                                          "queued (its size is different).")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))
    assert source_changed(path, 10, info.st_mtime_ns) == "“v.mp4” was modified since it " \
                                                         "was queued."
    path.unlink()
    assert source_changed(path, 10, None) == "“v.mp4” was moved or deleted."


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1500, "1.5 KB"),
    (48_200_000, "48.2 MB"), (200_000_000, "200 MB"), (3_500_000_000, "3.5 GB"),
])
def test_sizes_are_decimal_like_the_api_limits(n: int, text: str) -> None:
    assert format_size(n) == text


def test_the_meter_gives_speed_and_time_left_from_recent_samples() -> None:
    meter = TransferMeter(window=5.0)
    assert meter.speed() is None and meter.seconds_left(100) is None
    meter.sample(0.0, 0)
    meter.sample(0.1, 50)
    assert meter.speed() is None  # too short to tell
    for second in range(1, 11):
        meter.sample(float(second), second * 1_000_000)
    assert meter.speed() == pytest.approx(1_000_000)
    assert meter.seconds_left(5_000_000) == pytest.approx(5.0)
    meter.sample(11.0, 0)  # a restarted transfer starts the meter again
    assert meter.speed() is None


def test_polls_back_off_to_a_ceiling() -> None:
    delays = []
    delay = None
    for _ in range(8):
        delay = next_delay(delay, 2.0, 30.0)
        delays.append(delay)
    assert delays[0] == 2.0 and delays == sorted(delays) and delays[-1] == 30.0


@pytest.mark.parametrize(("error", "resumable", "text"), [
    (api.NetworkError("reset"), True, "The connection was lost during the upload of “v.mp4”. "
                                      "Retry continues with the parts already sent."),
    (api.NetworkError("reset"), False, "The connection was lost during the upload of "
                                       "“v.mp4”. Retry sends it again."),
    (api.InvalidRequestError("Quota exceeded", status=400), False,
     "The server refused “v.mp4”. The server said: Quota exceeded."),
    (api.ServerError("", status=500), True,
     "The server failed while receiving “v.mp4”. Retry continues with the parts already "
     "sent."),
    (api.UploadSourceChangedError("The file was modified during the upload."), True,
     "“v.mp4” was modified during the upload. Retry uploads the file as it is now."),
    (api.AuthenticationError("", status=401), False,
     "The API key was not accepted — open Settings to replace it, then retry."),
    (api.StoreNotFoundError("", status=404), False,
     "The knowledge store no longer exists on the server."),
    (KeyError("x"), False, "Something went wrong in the app while uploading “v.mp4” "
                           "(KeyError)."),
])
def test_failures_are_told_in_words(error: BaseException, resumable: bool,
                                    text: str) -> None:
    assert describe_upload_error(error, filename="v.mp4", resumable=resumable) == text


def test_a_full_disk_is_told_as_storage_says_it() -> None:
    error = DiskFullError(Path("/data"), "record an uploaded chunk")
    assert describe_upload_error(error, filename="v.mp4", resumable=True) == str(error)
