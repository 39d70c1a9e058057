"""What the upload queue and the store's item list say (no Qt).

One spelling of sizes, speeds and times left, of each upload's state and of a store item's
row (title or file name, duration, size, status, added date), used by the queue view, the
status-bar indicator, the notifications and the tests.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jockey_desktop.core.storage.models import Upload, UploadMethod, UploadState
from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.core.upload_plan import format_size
from jockey_desktop.presentation.formatting import format_duration

#: A word per queue state, as the list shows it.
STATE_LABELS = {
    UploadState.QUEUED: "Waiting",
    UploadState.UPLOADING: "Uploading",
    UploadState.PAUSED: "Paused",
    UploadState.PROCESSING: "Processing",
    UploadState.ADDING: "Adding to store",
    UploadState.INDEXING: "Indexing",
    UploadState.READY: "Ready",
    UploadState.FAILED: "Failed",
    UploadState.CANCELLED: "Cancelled",
}
#: What an indexing row says for the store item's own status.
_INDEXING_STEPS = {
    "queued": "Added · waiting to be indexed",
    "pending": "Added · waiting for indexing capacity",
    "processing": "Indexing",
}
#: A store item's statuses as the item list shows them (the API's words, capitalised).
ITEM_STATUS_LABELS = {
    "queued": "Queued",
    "pending": "Pending",
    "processing": "Indexing",
    "ready": "Ready",
    "failed": "Failed",
}


def format_speed(bytes_per_second: float | None) -> str:
    """``"4.2 MB/s"``, or "" when unknown."""
    if not bytes_per_second or not math.isfinite(bytes_per_second):
        return ""
    return f"{format_size(int(bytes_per_second))}/s"


def format_time_left(seconds: float | None) -> str:
    """``"about 2 min 10 s left"``, ``"a few seconds left"``, or "" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 5:
        return "a few seconds left"
    return f"about {format_duration(seconds)} left"


def progress_text(sent: int, total: int | None, speed: float | None,
                  seconds_left: float | None) -> str:
    """``"12.0 MB of 48.0 MB · 4.2 MB/s · about 9 s left"`` (parts left out when unknown)."""
    parts = [f"{format_size(sent)} of {format_size(total)}" if total
             else format_size(sent)]
    for extra in (format_speed(speed), format_time_left(seconds_left)):
        if extra:
            parts.append(extra)
    return " · ".join(parts)


def server_name(server: str) -> str:
    """A server identity as people read it: "the sandbox", or the host (with a port that is
    not the default) — ``https://api.example.com/v1.3`` → ``api.example.com``."""
    from jockey_desktop.core.api.urls import SANDBOX_SERVER

    if server == SANDBOX_SERVER:
        return "the sandbox"
    try:
        parts = urlsplit(server)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return server
    if not host:
        return server
    return f"{host}:{port}" if port is not None else host


def waiting_for_text(server: str, state: UploadState) -> str:
    """What a row of another server says: "Waiting for the sandbox", "Queued for
    api.example.com" (it is left alone until the app talks to that server again)."""
    from jockey_desktop.core.api.urls import SANDBOX_SERVER

    name = server_name(server)
    lead = f"Waiting for {name}" if server == SANDBOX_SERVER else f"Queued for {name}"
    if state is UploadState.PAUSED:
        return f"Paused · {lead[0].lower()}{lead[1:]}"
    return lead


def upload_status_text(upload: Upload, *, sent: int | None = None, speed: float | None = None,
                       seconds_left: float | None = None, waiting: float | None = None,
                       item_status: str | None = None, waiting_for: str | None = None) -> str:
    """The status line of one queue row: what it is doing, or why it failed.
    ``waiting_for``: the server this row belongs to when the app talks to another one."""
    state = upload.state
    if state is UploadState.FAILED:
        return upload.error_message or "Failed."
    if waiting_for is not None and upload.active:
        return waiting_for_text(waiting_for, state)
    if waiting is not None and state in (UploadState.QUEUED, UploadState.UPLOADING):
        return f"Rate limited by the server — sending again in {math.ceil(waiting)} s"
    if state is UploadState.UPLOADING and upload.method is UploadMethod.URL:
        return "The server is fetching the address…"
    if state is UploadState.UPLOADING:
        done = upload.bytes_done if sent is None else sent
        return "Uploading · " + progress_text(done, upload.size, speed, seconds_left)
    if state is UploadState.PAUSED:
        kept = upload.bytes_done if upload.method is UploadMethod.MULTIPART else 0
        if kept and upload.size:
            return f"Paused · {format_size(kept)} of {format_size(upload.size)} sent"
        return "Paused"
    if state is UploadState.INDEXING and item_status in _INDEXING_STEPS:
        return _INDEXING_STEPS[item_status]
    if state is UploadState.QUEUED and upload.size:
        return f"Waiting · {format_size(upload.size)}"
    return STATE_LABELS[state]


def upload_fraction(upload: Upload, sent: int | None = None) -> float:
    """How far one row is, 0..1, for its bar (the transfer; processing and indexing show a
    full bar with their status text)."""
    if upload.state in (UploadState.PROCESSING, UploadState.ADDING, UploadState.INDEXING,
                        UploadState.READY):
        return 1.0
    done = upload.bytes_done if sent is None else sent
    if not upload.size:
        return 0.0
    return max(0.0, min(1.0, done / upload.size))


def queue_summary(sent: int, total: int, speed: float | None, seconds_left: float | None,
                  transferring: int, waiting: int, indexing: int) -> str:
    """The queue's one line: ``"Uploading 2 files (1 waiting) · 40 MB of 90 MB · … "``."""
    if not (transferring or waiting or indexing):
        return "Nothing is uploading."
    parts = []
    if transferring or waiting:
        files = transferring + waiting
        noun = "file" if files == 1 else "files"
        lead = f"Uploading {files} {noun}"
        if waiting and transferring:
            lead += f" ({waiting} waiting)"
        parts.append(lead)
        parts.append(progress_text(sent, total, speed, seconds_left))
    if indexing:
        noun = "video" if indexing == 1 else "videos"
        parts.append(f"{indexing} {noun} processing or indexing")
    return " · ".join(parts)


def batch_message(ready: int, failed: int, store_name: str) -> str:
    """The notification when a batch has finished indexing."""
    noun = "video is" if ready == 1 else "videos are"
    text = f"{ready} {noun} ready to ask about in “{store_name}”."
    if not ready:
        text = f"Nothing new is ready in “{store_name}”."
    if failed:
        text += f" {failed} could not be added — see the uploads list."
    return text


# --------------------------------------------------------------------------- store items


@dataclass(frozen=True)
class ItemRow:
    """One row of a store's item list, ready to show."""

    id: str
    asset_id: str | None
    title: str
    kind: str
    duration: str
    size: str
    status: str
    added: str
    #: What went wrong, for a failed item (the server's words when it gave any).
    detail: str
    raw_status: str
    #: Seconds, bytes and epoch seconds for sorting (None when unknown).
    duration_s: float | None = None
    size_bytes: int | None = None
    added_at: float | None = None


def _parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def item_row(item: Any, detail: str = "") -> ItemRow:
    """The list row of a ``KnowledgeStoreItem`` (with its failure detail, if known)."""
    metadata: Mapping[str, Any] = getattr(item, "metadata", {}) or {}
    system: Mapping[str, Any] = getattr(item, "system_metadata", {}) or {}
    title = metadata.get("title")
    if not isinstance(title, str) or not title.strip():
        title = getattr(item, "filename", None) or system.get("filename") or item.id
    duration = getattr(item, "duration", None)
    size = system.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) else None
    added_at = _parse_time(getattr(item, "created_at", None))
    status = str(getattr(item, "status", "") or "")
    if status == "failed" and not detail:
        detail = "Indexing failed; the API gives no reason for failed items."
    added = ""
    if added_at is not None:
        added = _dt.datetime.fromtimestamp(added_at).strftime("%d %b %Y %H:%M").lstrip("0")
    return ItemRow(
        id=str(item.id), asset_id=getattr(item, "asset_id", None),
        title=" ".join(str(title).split()),
        kind=str(getattr(item, "asset_type", None) or system.get("asset_type") or "video"),
        duration=format_timestamp(duration) if duration is not None else "",
        size=format_size(size) if size is not None else "",
        status=ITEM_STATUS_LABELS.get(status, status.capitalize() or "Unknown"),
        added=added, detail=detail, raw_status=status, duration_s=duration,
        size_bytes=size, added_at=added_at)


__all__ = [
    "ITEM_STATUS_LABELS",
    "STATE_LABELS",
    "ItemRow",
    "batch_message",
    "format_speed",
    "format_time_left",
    "item_row",
    "progress_text",
    "queue_summary",
    "server_name",
    "upload_fraction",
    "upload_status_text",
    "waiting_for_text",
]
