"""What the upload queue and the store's item list say (presentation.uploads), no Qt."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from jockey_desktop.core.api import KnowledgeStoreItem
from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState
from jockey_desktop.presentation.uploads import (
    batch_message,
    format_speed,
    format_time_left,
    item_row,
    progress_text,
    queue_summary,
    server_name,
    upload_fraction,
    upload_status_text,
)

_BASE = Upload(id=1, uid="u", batch_id="b", store_id="ks_1", path="/v/clip.mp4",
               filename="clip.mp4", size=48_000_000, mtime_ns=1, asset_type="video",
               method=UploadMethod.MULTIPART, url=None, state=UploadState.QUEUED,
               upload_id=None, asset_id=None, item_id=None, chunk_size=None,
               total_chunks=None, chunks=(), bytes_done=0, error_message=None,
               created_at=0.0, updated_at=0.0)


def upload(**changes: Any) -> Upload:
    return dataclasses.replace(_BASE, **changes)


def test_speed_and_time_left() -> None:
    assert format_speed(4_200_000) == "4.2 MB/s"
    assert format_speed(None) == "" and format_speed(0) == ""
    assert format_time_left(3) == "a few seconds left"
    assert format_time_left(130) == "about 2 min 10 s left"
    assert format_time_left(None) == ""
    assert progress_text(12_000_000, 48_000_000, 4_000_000, 9) == \
        "12 MB of 48 MB · 4 MB/s · about 9 s left"
    assert progress_text(500, None, None, None) == "500 bytes"


@pytest.mark.parametrize(("changes", "live", "text"), [
    ({}, {}, "Waiting · 48 MB"),
    ({"state": UploadState.UPLOADING}, {"sent": 12_000_000, "speed": 4_000_000.0,
                                        "seconds_left": 9.0},
     "Uploading · 12 MB of 48 MB · 4 MB/s · about 9 s left"),
    ({"state": UploadState.UPLOADING}, {"waiting": 6.2},
     "Rate limited by the server — sending again in 7 s"),
    ({"state": UploadState.UPLOADING, "method": UploadMethod.URL, "size": None}, {},
     "The server is fetching the address…"),
    ({"state": UploadState.PAUSED, "bytes_done": 16_000_000}, {},
     "Paused · 16 MB of 48 MB sent"),
    ({"state": UploadState.PAUSED, "method": UploadMethod.DIRECT, "bytes_done": 5}, {},
     "Paused"),
    ({"state": UploadState.PROCESSING}, {}, "Processing"),
    ({"state": UploadState.INDEXING}, {"item_status": "pending"},
     "Added · waiting for indexing capacity"),
    ({"state": UploadState.INDEXING}, {"item_status": "processing"}, "Indexing"),
    ({"state": UploadState.READY}, {}, "Ready"),
    ({"state": UploadState.FAILED, "error_message": "The server refused “clip.mp4”."}, {},
     "The server refused “clip.mp4”."),
    ({"state": UploadState.CANCELLED}, {}, "Cancelled"),
])
def test_each_state_says_what_it_is_doing(changes: dict[str, Any], live: dict[str, Any],
                                          text: str) -> None:
    assert upload_status_text(upload(**changes), **live) == text


def test_the_bar_is_the_transfer_then_full() -> None:
    assert upload_fraction(upload()) == 0.0
    assert upload_fraction(upload(state=UploadState.UPLOADING), sent=12_000_000) == 0.25
    assert upload_fraction(upload(state=UploadState.PAUSED, bytes_done=24_000_000)) == 0.5
    assert upload_fraction(upload(state=UploadState.INDEXING)) == 1.0
    assert upload_fraction(upload(size=None)) == 0.0


def test_the_queue_line() -> None:
    assert queue_summary(0, 0, None, None, 0, 0, 0) == "Nothing is uploading."
    assert queue_summary(40_000_000, 90_000_000, 5_000_000, 10, 2, 1, 0) == \
        "Uploading 3 files (1 waiting) · 40 MB of 90 MB · 5 MB/s · about 10 s left"
    assert queue_summary(90_000_000, 90_000_000, None, None, 0, 0, 1) == \
        "1 video processing or indexing"


def test_the_batch_notification() -> None:
    assert batch_message(3, 0, "Trips") == "3 videos are ready to ask about in “Trips”."
    assert batch_message(1, 2, "Trips") == ("1 video is ready to ask about in “Trips”. 2 could "
                                            "not be added — see the uploads list.")
    assert batch_message(0, 1, "Trips") == ("Nothing new is ready in “Trips”. 1 could not be "
                                            "added — see the uploads list.")


def test_an_item_row_prefers_a_title_then_the_file_name() -> None:
    item = KnowledgeStoreItem.from_json({
        "_id": "ksi_1", "asset_id": "a" * 24, "asset_type": "video", "status": "processing",
        "metadata": {}, "created_at": "2026-03-12T09:30:00Z",
        "system_metadata": {"filename": "harbour.mp4", "duration": 93.4, "size": 48_211_042}})
    row = item_row(item)
    assert (row.title, row.duration, row.size, row.status) == ("harbour.mp4", "01:33",
                                                               "48.2 MB", "Indexing")
    assert row.added.startswith("12 Mar 2026") and row.detail == ""
    titled = item_row(dataclasses.replace(item, metadata={"title": "  Harbour   tour "}))
    assert titled.title == "Harbour tour"
    failed = item_row(dataclasses.replace(item, status="failed", system_metadata={}))
    assert (failed.title, failed.status, failed.size, failed.duration) == ("ksi_1", "Failed",
                                                                            "", "")
    assert failed.detail == "Indexing failed; the API gives no reason for failed items."
    told = item_row(dataclasses.replace(item, status="failed"), "The server said: no video.")
    assert told.detail == "The server said: no video."


def test_a_row_of_another_server_says_which_server_it_waits_for() -> None:
    api = "https://api.example.com/v1.3"
    assert server_name("sandbox") == "the sandbox"
    assert server_name(api) == "api.example.com"
    assert server_name("http://127.0.0.1:8123/v1.3") == "127.0.0.1:8123"
    sending = upload(state=UploadState.UPLOADING, bytes_done=16_000_000)
    assert upload_status_text(sending, waiting_for="sandbox") == "Waiting for the sandbox"
    assert upload_status_text(upload(), waiting_for=api) == "Queued for api.example.com"
    assert upload_status_text(upload(state=UploadState.INDEXING), waiting_for=api) == \
        "Queued for api.example.com"
    assert upload_status_text(upload(state=UploadState.PAUSED), waiting_for="sandbox") == \
        "Paused · waiting for the sandbox"
    # Finished rows say what happened to them, wherever they were sent.
    failed = upload(state=UploadState.FAILED, error_message="The server refused “clip.mp4”.")
    assert upload_status_text(failed, waiting_for=api) == "The server refused “clip.mp4”."
    assert upload_status_text(upload(state=UploadState.READY), waiting_for=api) == "Ready"
    # Without it, the row's own status.
    assert upload_status_text(sending).startswith("Uploading · ")
