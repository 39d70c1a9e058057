"""The upload queue: rows that survive quit and restart, chunk records to resume from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    NotFoundError,
    Repository,
    StorageError,
    UploadMethod,
    UploadState,
    open_repository,
)
from tests.helpers.storage_fixtures import raw_query


def _file(path: str, **extra: object) -> dict[str, object]:
    return {"store_id": "ks_1", "method": "multipart", "path": path, "size": 300_000_000,
            "mtime_ns": 1_700_000_000_123_456_789, **extra}


def test_add_uploads_queues_a_batch_in_order(repo: Repository) -> None:
    added = repo.add_uploads([
        _file("/videos/lion hunt.mp4"),
        {"store_id": "ks_1", "method": "direct", "path": "/videos/cub.mov", "size": 5,
         "asset_type": "video"},
        {"store_id": "ks_1", "method": "url", "url": "https://cdn.example/a/zebra.mp4"},
    ])
    assert [u.filename for u in added] == ["lion hunt.mp4", "cub.mov", "zebra.mp4"]
    assert [u.method for u in added] == [UploadMethod.MULTIPART, UploadMethod.DIRECT,
                                         UploadMethod.URL]
    assert all(u.state is UploadState.QUEUED and u.active for u in added)
    assert len({u.batch_id for u in added}) == 1 and len({u.uid for u in added}) == 3
    first = added[0]
    assert (first.size, first.mtime_ns, first.bytes_done, first.chunks) == (
        300_000_000, 1_700_000_000_123_456_789, 0, ())
    assert added[2].path == "" and added[2].url == "https://cdn.example/a/zebra.mp4"
    assert repo.list_uploads() == added
    # A second batch gets its own batch id unless one is given.
    (other,) = repo.add_uploads([_file("/videos/b.mp4")])
    (joined,) = repo.add_uploads([_file("/videos/c.mp4", batch_id=first.batch_id)])
    assert other.batch_id != first.batch_id and joined.batch_id == first.batch_id


@pytest.mark.parametrize("bad", [
    {"method": "direct", "path": "/x.mp4"},  # no store
    {"store_id": "ks_1", "path": "/x.mp4"},  # no method
    {"store_id": "ks_1", "method": "carrier pigeon", "path": "/x.mp4"},
    {"store_id": "ks_1", "method": "url"},  # no url
    {"store_id": "ks_1", "method": "direct"},  # no path
    {"store_id": "ks_1", "method": "direct", "path": "/x.mp4", "state": "lost"},
    {"store_id": "ks_1", "method": "direct", "path": "/x.mp4", "size": -1},
    {"store_id": "ks_1", "method": "direct", "path": "/x.mp4", "colour": "red"},
    {"store_id": "ks_1", "method": "direct", "path": "/x.mp4", "id": 7},
])
def test_a_bad_row_queues_nothing(repo: Repository, bad: dict[str, object]) -> None:
    with pytest.raises(StorageError):
        repo.add_uploads([_file("/videos/good.mp4"), bad])
    assert repo.list_uploads() == []


def test_update_upload_and_active_only(repo: Repository) -> None:
    a, b, c = repo.add_uploads([_file(f"/v/{n}.mp4") for n in "abc"])
    updated = repo.update_upload(a.id, state="uploading", upload_id="up_1", chunk_size=1024,
                                 total_chunks=3, asset_id="asset_1")
    assert (updated.state, updated.upload_id, updated.chunk_size, updated.total_chunks,
            updated.asset_id) == (UploadState.UPLOADING, "up_1", 1024, 3, "asset_1")
    assert updated.updated_at >= a.updated_at and updated.created_at == a.created_at
    failed = repo.update_upload(b.id, state=UploadState.FAILED,
                                error_message="The file changed while it was uploading.")
    assert not failed.active and failed.error_message.startswith("The file changed")  # type: ignore[union-attr]
    repo.update_upload(c.id, state="ready", item_id="ksi_9")
    assert [u.id for u in repo.list_uploads(active_only=True)] == [a.id]
    assert [u.id for u in repo.list_uploads()] == [a.id, b.id, c.id]
    assert repo.get_upload(a.id) == updated and repo.get_upload(999) is None
    with pytest.raises(StorageError, match="Unknown upload field"):
        repo.update_upload(a.id, created_at=0)
    with pytest.raises(StorageError):
        repo.update_upload(a.id, state="exploded")
    with pytest.raises(NotFoundError):
        repo.update_upload(999, state="paused")
    assert repo.get_upload(a.id) == updated  # refused updates changed nothing


def test_chunks_are_recorded_once_each_and_add_up(repo: Repository) -> None:
    (upload,) = repo.add_uploads([_file("/v/big.mp4")])
    repo.record_chunk(upload.id, 2, '"etag-2"', 1000)
    repo.record_chunk(upload.id, 1, '"etag-1"', 1000)
    again = repo.record_chunk(upload.id, 2, '"etag-2b"', 1000)  # a retried PUT
    assert again.chunks == ((1, '"etag-1"', 1000), (2, '"etag-2b"', 1000))
    assert again.bytes_done == 2000
    reset = repo.update_upload(upload.id, chunks=[])  # the file changed: start over
    assert reset.chunks == () and reset.bytes_done == 0
    with pytest.raises(StorageError):
        repo.record_chunk(upload.id, -1, "e", 10)
    with pytest.raises(NotFoundError):
        repo.record_chunk(999, 1, "e", 10)


def test_the_queue_survives_a_restart_and_resumes_from_its_chunks(
    db_path: Path, backup_dir: Path
) -> None:
    repo = open_repository(db_path, backup_dir)
    (upload,) = repo.add_uploads([_file("/v/big.mp4")])
    repo.update_upload(upload.id, state="uploading", upload_id="up_7")
    repo.record_chunk(upload.id, 1, "e1", 4096)
    # Durable on return: another connection sees it before the repository is closed.
    assert raw_query(db_path, "SELECT state, upload_id, bytes_done FROM uploads") == [
        ("uploading", "up_7", 4096)]
    repo.close()
    repo = open_repository(db_path, backup_dir)
    try:
        (resumed,) = repo.list_uploads(active_only=True)
        assert (resumed.upload_id, resumed.chunks, resumed.bytes_done) == (
            "up_7", ((1, "e1", 4096),), 4096)
        repo.delete_upload(resumed.id)
        repo.delete_upload(resumed.id)  # already gone: fine
        assert repo.list_uploads() == []
    finally:
        repo.close()


def test_a_path_that_is_not_utf8_is_kept_exactly(repo: Repository) -> None:
    path = os.fsdecode(b"/videos/caf\xe9 \xff.mp4")  # lone surrogates, as Linux gives them
    (upload,) = repo.add_uploads([_file(path)])
    assert upload.path == path and os.fsencode(upload.path) == b"/videos/caf\xe9 \xff.mp4"
    assert "\ufffd" in upload.filename  # the shown name is safe text
    assert repo.update_upload(upload.id, path=path).path == path


def test_a_session_keeps_its_headers_and_server_until_it_is_cleared(
        db_path: Path, backup_dir: Path, repo: Repository) -> None:
    (row,) = repo.add_uploads([_file("/videos/a.mp4", server="https://api.example.com/v1.3")])
    assert row.upload_headers == () and row.server == "https://api.example.com/v1.3"
    headers = {"Content-Type": "application/octet-stream",
               "x-amz-server-side-encryption": "AES256", "x-tag": " exact value "}
    repo.update_upload(row.id, upload_id="up_1", asset_id="as_1", chunk_size=8, total_chunks=3,
                       upload_headers=headers)
    repo.record_chunk(row.id, 1, '"e1"', 8)
    repo.close()
    reopened = open_repository(db_path, backup_dir)
    try:
        (saved,) = reopened.list_uploads()
        assert dict(saved.upload_headers) == headers  # values exactly, order kept
        assert [name for name, _ in saved.upload_headers] == list(headers)
        assert saved.server == "https://api.example.com/v1.3"
        # A new session replaces them; clearing the session clears them too.
        renewed = reopened.update_upload(row.id, upload_id="up_2", upload_headers={"x": "2"})
        assert renewed.upload_headers == (("x", "2"),)
        cleared = reopened.update_upload(row.id, upload_id=None, chunks=[])
        assert cleared.upload_headers == () and cleared.server == row.server
        kept = reopened.update_upload(row.id, state="paused")
        assert kept.upload_headers == ()
    finally:
        reopened.close()


@pytest.mark.parametrize("bad", ["x-tag: 1", {"x-tag": 1}, {"": "v"}, [("only name",)]])
def test_upload_headers_must_be_text_names_and_values(repo: Repository, bad: object) -> None:
    (row,) = repo.add_uploads([_file("/videos/a.mp4")])
    with pytest.raises(StorageError):
        repo.update_upload(row.id, upload_headers=bad)
    assert repo.list_uploads() == [row]


def test_damaged_stored_headers_read_as_none(repo: Repository, db_path: Path) -> None:
    import sqlite3

    (row,) = repo.add_uploads([_file("/videos/a.mp4")])
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("UPDATE uploads SET upload_headers = '[1, 2' WHERE id = ?", (row.id,))
        conn.commit()
    finally:
        conn.close()
    (read,) = repo.list_uploads()
    assert read.upload_headers == ()
