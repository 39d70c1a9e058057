"""Assets and uploads (jockey-api.md §7): direct uploads streamed from disk, assets by URL,
asset details and transcriptions, and the multipart flow whose chunk PUTs go to presigned
URLs on another host without the API key."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.api import (
    AssetDetail,
    AssetNotFoundError,
    CancelToken,
    CompletedChunk,
    ConflictError,
    InvalidInputError,
    JockeyClient,
    ProtocolError,
    RateLimitedError,
    RequestCancelledError,
    ServerError,
    TranscriptSentence,
    UploadNotFoundError,
    UploadSourceChangedError,
    UploadUrlExpiredError,
)
from jockey_desktop.core.api.uploads import UPLOAD_PIECE

from .fakeserver import KEY, FakeServer, Request, Sleeps, error_body, make_client

ASSET = "6a074cc69bcc9263a999d3a8"
ASSET_JSON = {"_id": ASSET, "method": "direct", "status": "processing", "filename": "clip.mp4",
              "file_type": "video/mp4", "created_at": "2026-07-01T10:00:00Z",
              "user_metadata": {"team": "ops"}}


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(3 * UPLOAD_PIECE + 123))
    return path


# --- direct upload ------------------------------------------------------------------------


def test_upload_asset_streams_a_multipart_form_with_progress(
    server: FakeServer, sleeps: Sleeps, video: Path
) -> None:
    server.handle = lambda req: req.json(201, ASSET_JSON)
    seen: list[tuple[int, int]] = []
    asset = make_client(server, sleeps).upload_asset(
        video, progress=lambda sent, total: seen.append((sent, total)),
        user_metadata={"team": "ops"})
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1.3/assets")
    assert sent.headers["x-api-key"] == KEY
    assert "transfer-encoding" not in sent.headers
    assert int(sent.headers["content-length"]) == sent.body_size
    form = sent.form()
    assert {k: v.text for k, v in form.items() if k != "file"} == {
        "method": "direct", "filename": "clip.mp4", "enable_hls": "true",
        "enable_thumbnail": "true", "user_metadata": '{"team": "ops"}'}
    assert form["file"].filename == "clip.mp4"
    assert form["file"].content_type == "video/mp4"
    assert form["file"].data == video.read_bytes()
    size = video.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    assert (asset.id, asset.status, asset.filename) == (ASSET, "processing", "clip.mp4")
    assert asset.user_metadata == {"team": "ops"} and not asset.is_ready


def test_upload_memory_stays_flat_whatever_the_file_size(
    server: FakeServer, sleeps: Sleeps, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        handle.truncate(150 * 1000 * 1000)  # sparse: nothing written to disk
    server.keep_body_limit = 0
    server.handle = lambda req: req.json(201, ASSET_JSON)
    tracemalloc.start()
    try:
        make_client(server, sleeps).upload_asset(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    received = server.requests[0]
    assert received.body_size > 150 * 1000 * 1000
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes for a 150 MB upload"


def test_upload_refuses_what_the_api_would_before_sending(
    server: FakeServer, sleeps: Sleeps, tmp_path: Path
) -> None:
    client = make_client(server, sleeps)
    image = tmp_path / "poster.png"
    with image.open("wb") as handle:
        handle.truncate(33 * 1000 * 1000)
    with pytest.raises(InvalidInputError) as info:
        client.upload_asset(image)
    assert info.value.message == ("'poster.png' is larger than 32 MB, the most a single image "
                                  "upload takes; it needs the multipart upload.")
    odd = tmp_path / "notes.xyz"
    odd.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match=r"Can't tell whether 'notes\.xyz'"):
        client.upload_asset(odd)
    with pytest.raises(InvalidInputError, match="does not exist"):
        client.upload_asset(tmp_path / "gone.mp4")
    assert server.requests == []


def test_asset_type_hint_covers_an_unknown_extension(
    server: FakeServer, sleeps: Sleeps, tmp_path: Path
) -> None:
    server.handle = lambda req: req.json(201, ASSET_JSON)
    odd = tmp_path / "take1.raw"
    odd.write_bytes(b"frames")
    make_client(server, sleeps).upload_asset(odd, filename="Take 1 \u201cfinal\u201d.raw",
                                             asset_type_hint="video")
    form = server.requests[0].form()
    assert form["file"].content_type == "application/octet-stream"
    assert form["filename"].text == "Take 1 \u201cfinal\u201d.raw"
    assert form["file"].data == b"frames"


def test_upload_is_not_resent_after_a_500_but_is_after_a_429(
    server: FakeServer, sleeps: Sleeps, video: Path
) -> None:
    server.handle = lambda req: req.json(500, error_body("internal_error", "Boom"))
    with pytest.raises(ServerError):
        make_client(server, sleeps).upload_asset(video)
    assert len(server.requests) == 1

    server.requests.clear()
    server.handle = lambda req: (
        req.json(429, error_body("too_many_requests", "60 uploads a minute."),
                 {"Retry-After": "7"}) if req.index == 0 else req.json(201, ASSET_JSON))
    make_client(server, sleeps).upload_asset(video)
    assert sleeps.calls == [7.0]
    first, second = server.requests
    assert first.body_sha256 == second.body_sha256 and second.body_size == first.body_size


def test_cancel_stops_an_upload_between_pieces(
    server: FakeServer, sleeps: Sleeps, video: Path
) -> None:
    server.handle = lambda req: req.json(201, ASSET_JSON)
    token = CancelToken()

    def progress(sent: int, _total: int) -> None:
        if sent >= UPLOAD_PIECE:
            token.cancel()

    with pytest.raises(RequestCancelledError):
        make_client(server, sleeps).upload_asset(video, progress=progress, cancel=token)
    assert all(r.body_size < video.stat().st_size for r in server.requests)


def test_a_file_changed_during_the_upload_stops_it(
    server: FakeServer, sleeps: Sleeps, video: Path
) -> None:
    server.handle = lambda req: req.json(201, ASSET_JSON)

    def progress(sent: int, _total: int) -> None:
        if sent == UPLOAD_PIECE:
            with video.open("ab") as handle:
                handle.write(b"more")

    with pytest.raises(UploadSourceChangedError) as info:
        make_client(server, sleeps).upload_asset(video, progress=progress)
    assert str(info.value) == ("The file changed or disappeared while it was being uploaded; "
                               "add it again. The file was modified during the upload.")


def test_create_asset_from_url_sends_a_form(server: FakeServer, sleeps: Sleeps) -> None:
    server.handle = lambda req: req.json(201, ASSET_JSON | {"method": "url"})
    asset = make_client(server, sleeps).create_asset_from_url(
        "https://cdn.example.org/match.m3u8", filename="match")
    form = server.requests[0].form()
    assert {k: v.text for k, v in form.items()} == {
        "method": "url", "url": "https://cdn.example.org/match.m3u8", "filename": "match",
        "enable_hls": "true", "enable_thumbnail": "true"}
    assert asset.method == "url"
    with pytest.raises(InvalidInputError, match="Only http:// and https://"):
        make_client(server, sleeps).create_asset_from_url("file:///etc/passwd")
    assert len(server.requests) == 1


# --- asset details, deletion, transcription -------------------------------------------------


def test_get_asset_reads_media_and_failure_details(server: FakeServer, sleeps: Sleeps) -> None:
    detail = ASSET_JSON | {
        "status": "failed", "hls": {"manifest_url": "https://media.example/a.m3u8",
                                    "status": "ready"},
        "thumbnail": {"representative_url": "https://media.example/t.jpg", "status": "ready"},
        "size": 48211042, "duration": 93.4, "error": {"message": "Unsupported codec"},
        "technical_metadata": {"video_codec": "h264"}}
    server.handle = lambda req: req.json(200, detail)
    asset = make_client(server, sleeps).get_asset(ASSET)
    assert server.requests[0].path == f"/v1.3/assets/{ASSET}"
    assert isinstance(asset, AssetDetail)
    assert (asset.hls_url, asset.hls_status) == ("https://media.example/a.m3u8", "ready")
    assert asset.thumbnail_url == "https://media.example/t.jpg"
    assert (asset.size, asset.duration) == (48211042, 93.4)
    assert asset.error_message == "Unsupported codec" and asset.status == "failed"
    assert asset.technical_metadata == {"video_codec": "h264"}
    server.handle = lambda req: req.json(404, error_body("resource_not_exist", "No asset."))
    with pytest.raises(AssetNotFoundError):
        make_client(server, sleeps).get_asset(ASSET)


def test_delete_asset_sends_force_only_when_asked_and_maps_409(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.raw(204, b"")
    client = make_client(server, sleeps)
    client.delete_asset(ASSET)
    client.delete_asset(ASSET, force=True)
    assert [(r.method, r.query) for r in server.requests] == [
        ("DELETE", {}), ("DELETE", {"force": ["true"]})]
    server.handle = lambda req: req.json(409, error_body("asset_in_use", "Indexed items use it."))
    with pytest.raises(ConflictError):
        client.delete_asset(ASSET)


def test_get_transcription_reads_sentences_and_none_without_one(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(200, {"status": "ready", "sentences": [
        {"start": 0.0, "end": 2.5, "value": "Kick-off."},
        {"start": 2.5, "end": 4, "value": "A shot!"}, {"start": None, "value": "x"}]})
    client = make_client(server, sleeps)
    transcription = client.get_transcription(ASSET)
    assert server.requests[0].path == f"/v1.3/assets/{ASSET}/transcription"
    assert server.requests[0].query == {"include": ["sentences"]}
    assert transcription is not None and transcription.status == "ready"
    assert transcription.sentences == (TranscriptSentence(0.0, 2.5, "Kick-off."),
                                       TranscriptSentence(2.5, 4.0, "A shot!"))
    server.handle = lambda req: req.json(404, error_body("resource_not_exist", "None."))
    assert client.get_transcription(ASSET) is None


# --- multipart ----------------------------------------------------------------------------


def _session_json(other_host: FakeServer) -> dict[str, Any]:
    return {"upload_id": "up_1", "asset_id": ASSET, "chunk_size": 2 * UPLOAD_PIECE,
            "total_chunks": 2, "expires_at": "2026-07-02T10:00:00Z",
            "upload_headers": {"Content-Type": "application/octet-stream",
                               "x-amz-server-side-encryption": "AES256"},
            "upload_urls": [{"chunk_index": 2, "url": f"{other_host.origin}/up/2?sig=b"},
                            {"chunk_index": 1, "url": f"{other_host.origin}/up/1?sig=a"}]}


def test_create_multipart_upload_asks_for_hls_and_reads_the_session(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer
) -> None:
    server.handle = lambda req: req.json(201, _session_json(other_host))
    session = make_client(server, sleeps).create_multipart_upload(
        "clip.mp4", kind="video", total_size=3 * UPLOAD_PIECE)
    assert server.requests[0].json() == {"filename": "clip.mp4", "type": "video",
                                         "total_size": 3 * UPLOAD_PIECE, "enable_hls": True,
                                         "enable_thumbnail": True}
    assert server.requests[0].path == "/v1.3/assets/multipart-uploads"
    assert [u.chunk_index for u in session.upload_urls] == [1, 2]
    assert session.chunk_span(2, 3 * UPLOAD_PIECE) == (2 * UPLOAD_PIECE, UPLOAD_PIECE)
    assert session.upload_headers["x-amz-server-side-encryption"] == "AES256"
    assert (session.upload_id, session.asset_id, session.total_chunks) == ("up_1", ASSET, 2)


def test_upload_chunk_sends_only_the_upload_headers_to_the_presigned_host(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer, video: Path
) -> None:
    other_host.handle = lambda req: req.raw(200, b"", {"ETag": '"etag-1"'})
    headers = _session_json(other_host)["upload_headers"]
    seen: list[int] = []
    etag = make_client(server, sleeps).upload_chunk(
        f"{other_host.origin}/up/1?sig=a", headers, video, UPLOAD_PIECE, UPLOAD_PIECE + 5,
        progress=lambda sent, _total: seen.append(sent))
    assert etag == '"etag-1"'
    put = other_host.requests[0]
    assert (put.method, put.path, put.query) == ("PUT", "/up/1", {"sig": ["a"]})
    assert put.body == video.read_bytes()[UPLOAD_PIECE : 2 * UPLOAD_PIECE + 5]
    sent_headers = set(put.headers) - {"host", "content-length", "accept-encoding"}
    assert "user-agent" not in put.headers
    assert sent_headers == {"content-type", "x-amz-server-side-encryption"}
    assert KEY not in str(put.headers)
    assert seen[-1] == UPLOAD_PIECE + 5
    assert server.requests == [], "nothing went to the API host"


def test_a_presigned_url_on_the_api_origin_still_gets_no_key(
    server: FakeServer, sleeps: Sleeps, video: Path
) -> None:
    server.handle = lambda req: req.raw(200, b"", {"ETag": "e"})
    make_client(server, sleeps).upload_chunk(f"{server.origin}/upload/1", {}, video, 0, 10)
    assert "x-api-key" not in server.requests[0].headers


def test_upload_chunk_is_retried_with_the_same_bytes(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer, video: Path
) -> None:
    other_host.handle = lambda req: (req.raw(500, b"<Error/>") if req.index == 0
                                      else req.raw(200, b"", {"ETag": "e2"}))
    etag = make_client(server, sleeps).upload_chunk(f"{other_host.origin}/up/2", {}, video,
                                                    0, UPLOAD_PIECE)
    assert etag == "e2" and sleeps.calls == [1.0]
    first, second = other_host.requests
    assert first.body_sha256 == second.body_sha256 == hashlib.sha256(
        video.read_bytes()[:UPLOAD_PIECE]).hexdigest()


@pytest.mark.parametrize("status", [403, 404, 410])
def test_an_expired_upload_url_says_so(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer, video: Path, status: int
) -> None:
    other_host.handle = lambda req: req.raw(status, b"<Error>AccessDenied</Error>",
                                             {"Content-Type": "application/xml"})
    with pytest.raises(UploadUrlExpiredError) as info:
        make_client(server, sleeps).upload_chunk(f"{other_host.origin}/up/1", {}, video, 0, 10)
    assert str(info.value) == ("The upload address has expired or was already used; a new "
                               "one is needed.")
    assert len(other_host.requests) == 1


def test_other_host_faults_map_to_clear_errors(
    server: FakeServer, sleeps: Sleeps, other_host: FakeServer, video: Path
) -> None:
    client = make_client(server, sleeps, max_retries=0)
    other_host.handle = lambda req: req.raw(200, b"")
    with pytest.raises(ProtocolError, match="no ETag"):
        client.upload_chunk(f"{other_host.origin}/up/1", {}, video, 0, 10)
    other_host.handle = lambda req: req.raw(429, b"", {"Retry-After": "3"})
    with pytest.raises(RateLimitedError) as limited:
        client.upload_chunk(f"{other_host.origin}/up/1", {}, video, 0, 10)
    assert limited.value.retry_after == 3.0
    with pytest.raises(UploadSourceChangedError):
        client.upload_chunk(f"{other_host.origin}/up/1", {}, video, 0, 10**9)


def test_report_renew_status_and_list(server: FakeServer, sleeps: Sleeps,
                                      other_host: FakeServer) -> None:
    def handle(req: Request) -> None:
        path, method = req.recorded.path, req.recorded.method
        if path.endswith("/presigned-urls"):
            req.json(200, {"upload_id": "up_1", "start_index": 2, "count": 1,
                           "upload_urls": [{"chunk_index": 2, "url": f"{other_host.origin}/n",
                                            "expires_at": "2026-07-01T11:00:00Z"}]})
        elif method == "POST":
            req.json(200, {"asset_id": ASSET, "processed_chunks": 2, "duplicate_chunks": 0,
                           "total_completed": 2, "url": "https://api.example/assets/x"})
        elif path.endswith("/multipart-uploads"):
            req.json(200, {"data": [{"upload_id": "up_1", "status": "active",
                                     "total_size": 10, "chunk_size": 5, "total_chunks": 2}],
                           "page_info": {"page": 1, "total_page": 1}})
        else:
            page = int(req.recorded.query["page"][0])
            req.json(200, {"upload_id": "up_1", "status": "active", "total_size": 10,
                           "uploaded_size": 5, "chunks_completed": 1, "chunks_failed": 1,
                           "chunks_pending": 0,
                           "uploaded_chunks": [{"index": page, "status": ["completed",
                                                                          "failed"][page - 1],
                                                "error": None if page == 1 else "Bad ETag"}],
                           "page_info": {"page": page, "total_page": 2}})

    server.handle = handle
    client = make_client(server, sleeps)
    result = client.report_chunks("up_1", [CompletedChunk(1, '"e1"', 5), CompletedChunk(2, "e2",
                                                                                         5)])
    assert server.requests[0].json() == {"completed_chunks": [
        {"chunk_index": 1, "proof": '"e1"', "proof_type": "etag", "chunk_size": 5},
        {"chunk_index": 2, "proof": "e2", "proof_type": "etag", "chunk_size": 5}]}
    assert result.is_complete and result.total_completed == 2
    (url,) = client.renew_upload_urls("up_1", 2, 1)
    assert server.requests[1].json() == {"start": 2, "count": 1}
    assert (url.chunk_index, url.url) == (2, f"{other_host.origin}/n")
    status = client.get_multipart_status("up_1")
    assert [(c.index, c.status, c.error) for c in status.chunks] == [
        (1, "completed", None), (2, "failed", "Bad ETag")]
    assert status.completed_indexes() == frozenset({1})
    assert (status.status, status.uploaded_size, status.chunks_failed) == ("active", 5, 1)
    (incomplete,) = client.list_incomplete_uploads()
    assert (incomplete.upload_id, incomplete.chunk_size, incomplete.total_chunks) == (
        "up_1", 5, 2)
    with pytest.raises(InvalidInputError, match="1 to 50 at a time"):
        client.renew_upload_urls("up_1", 1, 51)


def test_reporting_is_retried_but_creating_a_session_is_not(
    server: FakeServer, sleeps: Sleeps
) -> None:
    server.handle = lambda req: req.json(500, error_body("internal_error", "Boom"))
    client = make_client(server, sleeps)
    with pytest.raises(ServerError):
        client.create_multipart_upload("clip.mp4", kind="video", total_size=10)
    assert len(server.requests) == 1
    with pytest.raises(ServerError):
        client.report_chunks("up_1", [CompletedChunk(1, "e", 10)])
    assert len(server.requests) == 1 + 4, "reported again after each 500"
    server.handle = lambda req: req.json(404, error_body("resource_not_exist", "Expired."))
    with pytest.raises(UploadNotFoundError):
        client.get_multipart_status("up_1")


def test_a_concurrent_cancel_ends_a_stalled_chunk_upload(
    server: FakeServer, other_host: FakeServer, video: Path
) -> None:
    other_host.handle = lambda req: req.stall()
    token = CancelToken()
    client = JockeyClient(KEY, server.url, read_timeout=30, response_timeout=30)
    threading.Timer(0.3, token.cancel).start()
    with pytest.raises(RequestCancelledError):
        client.upload_chunk(f"{other_host.origin}/up/1", {}, video, 0, 10, cancel=token)


def test_a_cancel_ends_an_upload_the_server_stopped_reading(
    server: FakeServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # far more than the socket buffers hold
    with socket.create_server(("127.0.0.1", 0)) as deaf:  # accepts, never reads
        url = f"http://localhost:{deaf.getsockname()[1]}/up/1"
        token = CancelToken()
        threading.Timer(0.5, token.cancel).start()
        client = JockeyClient(KEY, server.url, read_timeout=60, response_timeout=60)
        started = time.monotonic()
        with pytest.raises(RequestCancelledError):
            client.upload_chunk(url, {}, big, 0, 64 * 1024 * 1024, cancel=token)
        assert time.monotonic() - started < 10


def test_an_unknown_kind_of_upload_is_refused(server: FakeServer, sleeps: Sleeps,
                                              video: Path) -> None:
    client = make_client(server, sleeps)
    with pytest.raises(InvalidInputError) as info:
        client.create_multipart_upload("a.pdf", kind="document",  # type: ignore[arg-type]
                                       total_size=10)
    assert info.value.message == ("An upload must be a video, an audio file or an image, not "
                                  "'document'.")
    with pytest.raises(InvalidInputError, match="larger than 10 GB, the most a video upload"):
        client.create_multipart_upload("a.mp4", kind="video", total_size=10 * 1000**3 + 1)
    assert server.requests == []
