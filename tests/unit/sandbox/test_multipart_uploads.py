"""Multipart uploads: sessions, presigned single-use expiring chunk URLs without the API key,
ETags, batched reports with duplicates, renewing URLs, status, incomplete listing, faults,
restarts and expiry."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.sandbox import Fault
from jockey_desktop.sandbox.assets import UploadLimits
from tests.helpers.sandbox_resources import (
    FakeClock,
    ResourceApi,
    chunk_of,
    multipart_upload,
    put_chunk,
    running,
    tiny_mp4,
)

CHUNK = 64 * 1024
LIMITS = UploadLimits(chunk_size=CHUNK, initial_upload_urls=2, upload_url_ttl=600.0)
DATA = tiny_mp4(75.0, padding=4 * CHUNK)  # 5 chunks, the last one short
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def create(api: ResourceApi, data: bytes = DATA, **fields: Any) -> dict[str, Any]:
    body = {"filename": "long.mp4", "type": "video", "total_size": len(data), **fields}
    result: dict[str, Any] = api.ok("POST", "/assets/multipart-uploads", body, status=201)
    return result


def report(api: ResourceApi, upload_id: str, entries: list[dict[str, Any]]) -> Any:
    return api.call("POST", f"/assets/multipart-uploads/{upload_id}",
                    {"completed_chunks": entries})


def entry(index: int, etag: str, data: bytes = DATA) -> dict[str, Any]:
    return {"chunk_index": index, "proof": etag, "proof_type": "etag",
            "chunk_size": len(chunk_of(data, index, CHUNK))}


def urls_for(api: ResourceApi, upload_id: str, start: int, count: int) -> dict[int, str]:
    more = api.ok("POST", f"/assets/multipart-uploads/{upload_id}/presigned-urls",
                  {"start": start, "count": count})
    assert (more["upload_id"], more["start_index"], more["count"]) == (upload_id, start, count)
    return {u["chunk_index"]: u["url"] for u in more["upload_urls"]}


def test_whole_flow() -> None:
    with running(upload_limits=LIMITS) as (server, api):
        created = create(api, user_metadata={"camera": "drone"})
        signed = created["upload_headers"]
        assert re.match(r"^[0-9a-f]{24}$", created["upload_id"])
        assert re.match(r"^[0-9a-f]{24}$", created["asset_id"])
        assert created["chunk_size"] == CHUNK
        assert created["total_chunks"] == math.ceil(len(DATA) / CHUNK) == 5
        # The session's own headers: the content type and a tag no other session has.
        assert set(signed) == {"Content-Type", "x-sandbox-upload-tag"}
        assert signed["Content-Type"] == "application/octet-stream"
        assert re.fullmatch(r"[0-9a-f]{16}", signed["x-sandbox-upload-tag"])
        assert create(api)["upload_headers"]["x-sandbox-upload-tag"] != \
            signed["x-sandbox-upload-tag"]
        assert RFC3339.match(created["expires_at"])
        assert [u["chunk_index"] for u in created["upload_urls"]] == [1, 2]
        for url in created["upload_urls"]:
            assert url["url"].startswith(api.root + "/upload-chunks/")
            assert RFC3339.match(url["expires_at"])
        upload_id, asset_id = created["upload_id"], created["asset_id"]
        assert api.ok("GET", f"/assets/{asset_id}")["status"] == "processing"

        urls = {u["chunk_index"]: u["url"] for u in created["upload_urls"]}
        urls.update(urls_for(api, upload_id, 3, 3))
        etags = {}
        for index in (5, 3, 1, 4, 2):  # any order
            piece = chunk_of(DATA, index, CHUNK)
            response = put_chunk(api, urls[index], piece, signed)
            assert response.status_code == 200, response.text
            assert response.headers["ETag"] == f'"{hashlib.md5(piece).hexdigest()}"'
            etags[index] = response.headers["ETag"]
        first = report(api, upload_id, [entry(2, etags[2]), entry(4, etags[4]),
                                        entry(2, etags[2])]).json()
        assert (first["processed_chunks"], first["duplicate_chunks"],
                first["total_completed"]) == (2, 1, 2)
        assert "url" not in first and first["asset_id"] == asset_id
        assert api.ok("GET", f"/assets/{asset_id}")["status"] == "processing"
        last = report(api, upload_id, [entry(i, etags[i]) for i in (5, 4, 3, 1)]).json()
        assert (last["processed_chunks"], last["duplicate_chunks"],
                last["total_completed"]) == (3, 1, 5)
        assert last["url"].startswith(api.root + "/media/")
        status = api.ok("GET", f"/assets/multipart-uploads/{upload_id}")
        assert (status["status"], status["chunks_completed"], status["chunks_pending"],
                status["uploaded_size"], status["total_size"]) == (
            "completed", 5, 0, len(DATA), len(DATA))
        detail = api.ok("GET", f"/assets/{asset_id}")
        assert (detail["status"], detail["method"], detail["size"], detail["duration"]) == (
            "ready", "multipart", len(DATA), 75.0)
        assert detail["user_metadata"] == {"camera": "drone"}
        # HLS and thumbnails default to off for multipart uploads.
        assert "hls" not in detail and "thumbnail" not in detail
        assert server.assets.data_path(asset_id).read_bytes() == DATA
        assert server.chunk_puts_with_key == 0
        # The completed upload becomes usable like any asset.
        store = api.create_store("From parts")
        api.add_item(store["_id"], asset_id)
        assert api.items(store["_id"])[0]["status"] == "ready"


def test_urls_are_single_use_and_need_no_key() -> None:
    with running(upload_limits=LIMITS) as (server, api):
        created = create(api)
        signed = created["upload_headers"]
        url = created["upload_urls"][0]["url"]
        piece = chunk_of(DATA, 1, CHUNK)
        assert put_chunk(api, url, piece, signed).status_code == 200
        again = put_chunk(api, url, piece, signed)
        assert (again.status_code, again.json()["code"]) == (403, "access_denied")
        assert put_chunk(api, api.root + "/upload-chunks/forged", piece, signed).status_code == 403
        # A client that leaks its key to the upload host is counted (and still served).
        with_key = put_chunk(api, created["upload_urls"][1]["url"], chunk_of(DATA, 2, CHUNK),
                             signed,
                             headers={"x-api-key": "sandbox"})
        assert with_key.status_code == 200 and server.chunk_puts_with_key == 1


def test_urls_expire_and_can_be_renewed() -> None:
    clock = FakeClock()
    with running(upload_limits=LIMITS, clock=clock) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        upload_id = created["upload_id"]
        clock.advance(601)
        expired = put_chunk(api, created["upload_urls"][0]["url"], chunk_of(DATA, 1, CHUNK), signed)
        assert (expired.status_code, expired.json()["code"]) == (403, "request_expired")
        fresh = urls_for(api, upload_id, 1, 1)
        assert put_chunk(api, fresh[1], chunk_of(DATA, 1, CHUNK), signed).status_code == 200


def test_expire_upload_url_fault() -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        api.server.faults.add(Fault.expire_upload_url())
        url = created["upload_urls"][0]["url"]
        assert put_chunk(api, url, chunk_of(DATA, 1, CHUNK), signed).status_code == 403
        assert put_chunk(api, url, chunk_of(DATA, 1, CHUNK), signed).status_code == 403  # for good
        fresh = urls_for(api, created["upload_id"], 1, 1)
        assert put_chunk(api, fresh[1], chunk_of(DATA, 1, CHUNK), signed).status_code == 200


def test_a_chunk_put_that_fails_once() -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        upload_id = created["upload_id"]
        fault = api.server.faults.add(Fault.fail_chunk(status=503))
        url = created["upload_urls"][0]["url"]
        failed = put_chunk(api, url, chunk_of(DATA, 1, CHUNK), signed)
        assert failed.status_code == 503 and fault.fired == 1
        status = api.ok("GET", f"/assets/multipart-uploads/{upload_id}")
        assert status["chunks_failed"] == 1 and status["chunks_pending"] == 4
        info = status["uploaded_chunks"][0]
        assert (info["index"], info["status"]) == (1, "failed") and info["error"]
        retried = put_chunk(api, url, chunk_of(DATA, 1, CHUNK), signed)  # the URL was not used up
        assert retried.status_code == 200
        status = api.ok("GET", f"/assets/multipart-uploads/{upload_id}")
        assert status["chunks_failed"] == 0
        assert status["uploaded_chunks"][0]["status"] == "pending"  # uploaded, not reported
        assert status["uploaded_size"] == CHUNK


def test_chunk_of_the_wrong_size() -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        short = put_chunk(api, created["upload_urls"][0]["url"], b"x" * 10, signed)
        assert short.status_code == 400
        status = api.ok("GET", f"/assets/multipart-uploads/{created['upload_id']}")
        assert status["chunks_failed"] == 1


def test_report_errors_change_nothing() -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        upload_id = created["upload_id"]
        response = put_chunk(api, created["upload_urls"][0]["url"], chunk_of(DATA, 1, CHUNK),
                             signed)
        etag = response.headers["ETag"]
        bad_batches = [
            [entry(2, etag)],  # not uploaded
            [entry(1, '"0000"')],  # wrong proof
            [{**entry(1, etag), "chunk_size": 5}],
            [{**entry(1, etag), "proof_type": "md5"}],
            [{**entry(1, etag), "chunk_index": 6}],
            [{**entry(1, etag), "chunk_index": 0}],
            [{"chunk_index": 1, "proof": etag}],
            [],
            [entry(1, etag), entry(2, etag)],  # one bad entry spoils the batch
        ]
        for batch in bad_batches:
            response = report(api, upload_id, batch)
            assert (response.status_code, response.json()["code"]) == (
                400, "parameter_invalid"), batch
        assert api.ok("GET", f"/assets/multipart-uploads/{upload_id}")[
            "chunks_completed"] == 0
        ok = report(api, upload_id, [entry(1, etag.strip('"').upper())]).json()
        assert ok["processed_chunks"] == 1  # ETags compare without quotes or case
        again = put_chunk(api, urls_for(api, upload_id, 1, 1)[1], chunk_of(DATA, 1, CHUNK), signed)
        assert (again.status_code, again.json()["code"]) == (409, "chunk_already_completed")


@pytest.mark.parametrize(("body", "expected"), [
    ({"start": 1, "count": 51}, (400, "parameter_invalid")),
    ({"start": 0, "count": 1}, (400, "parameter_invalid")),
    ({"start": 4, "count": 3}, (400, "parameter_invalid")),
    ({"start": 1}, (400, "parameter_not_provided")),
    ({"start": "1", "count": 1}, (400, "parameter_invalid")),
])
def test_presigned_url_errors(body: dict[str, Any], expected: tuple[int, str]) -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        upload_id = create(api)["upload_id"]
        assert api.error("POST", f"/assets/multipart-uploads/{upload_id}/presigned-urls",
                         body) == expected


@pytest.mark.parametrize(("body", "expected"), [
    ({"type": "video", "total_size": 10}, (400, "parameter_not_provided")),
    ({"filename": "a.mp4", "total_size": 10}, (400, "parameter_not_provided")),
    ({"filename": "a.mp4", "type": "video"}, (400, "parameter_not_provided")),
    ({"filename": "a.mp4", "type": "document", "total_size": 10}, (400, "parameter_invalid")),
    ({"filename": "a.mp4", "type": "video", "total_size": 0}, (400, "parameter_invalid")),
    ({"filename": "a.png", "type": "image", "total_size": 33 * 1024 * 1024},
     (400, "parameter_invalid")),
    ({"filename": "a.mp4", "type": "video", "total_size": 11 * 1024 ** 3},
     (400, "parameter_invalid")),
    ({"filename": "a.mp4", "type": "video", "total_size": 10, "size": 1},
     (400, "parameter_unknown")),
    ({"filename": "a.mp4", "type": "video", "total_size": 10, "enable_hls": "yes"},
     (400, "parameter_invalid")),
])
def test_create_errors(res: ResourceApi, body: dict[str, Any],
                       expected: tuple[int, str]) -> None:
    assert res.error("POST", "/assets/multipart-uploads", body) == expected


def test_unknown_and_malformed_ids(res: ResourceApi) -> None:
    assert res.error("GET", "/assets/multipart-uploads/" + "a" * 24) == (
        404, "resource_not_exist")
    assert res.error("GET", "/assets/multipart-uploads/nope") == (400, "parameter_invalid")
    assert res.error("GET", "/assets/multipart-uploads", key=None) == (401, "unauthorized")


def test_incomplete_uploads_are_listed_and_status_pages() -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        done = multipart_upload(api, tiny_mp4(3.0), "small.mp4")
        waiting = create(api)
        listed = api.ok("GET", "/assets/multipart-uploads")
        assert [u["upload_id"] for u in listed["data"]] == [waiting["upload_id"]]
        summary = listed["data"][0]
        assert (summary["status"], summary["total_size"], summary["chunk_size"],
                summary["total_chunks"]) == ("active", len(DATA), CHUNK, 5)
        assert done["upload_id"] != waiting["upload_id"]
        for url in waiting["upload_urls"]:
            piece = chunk_of(DATA, url["chunk_index"], CHUNK)
            assert put_chunk(api, url["url"], piece, waiting["upload_headers"]).status_code == 200
        page = api.ok("GET", f"/assets/multipart-uploads/{waiting['upload_id']}",
                      params={"page_limit": 1, "page": 2})
        assert [c["index"] for c in page["uploaded_chunks"]] == [2]
        assert page["page_info"]["total_results"] == 2


def test_a_restart_resumes_the_upload(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running(state_dir=state, upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        upload_id = created["upload_id"]
        urls = {u["chunk_index"]: u["url"] for u in created["upload_urls"]}
        first = put_chunk(api, urls[1], chunk_of(DATA, 1, CHUNK), signed).headers["ETag"]
        assert report(api, upload_id, [entry(1, first)]).status_code == 200
        unused_url = urls[2]
    with running(state_dir=state, upload_limits=LIMITS) as (server, api):
        assert [u["upload_id"] for u in api.ok("GET", "/assets/multipart-uploads")["data"]] \
            == [upload_id]
        status = api.ok("GET", f"/assets/multipart-uploads/{upload_id}")
        assert status["chunks_completed"] == 1
        # Unused URLs survive the restart (the new server listens on another port, so the
        # token is taken to it).
        token = unused_url.rsplit("/", 1)[-1]
        etags = {1: first}
        response = put_chunk(api, f"{api.root}/upload-chunks/{token}",
                             chunk_of(DATA, 2, CHUNK), signed)
        assert response.status_code == 200
        etags[2] = response.headers["ETag"]
        for index, url in urls_for(api, upload_id, 3, 3).items():
            etags[index] = put_chunk(api, url, chunk_of(DATA, index, CHUNK), signed).headers["ETag"]
        done = report(api, upload_id, [entry(i, etags[i]) for i in range(1, 6)]).json()
        assert (done["processed_chunks"], done["duplicate_chunks"]) == (4, 1)
        assert api.wait_asset(created["asset_id"])["status"] == "ready"
        assert server.assets.data_path(created["asset_id"]).read_bytes() == DATA


def test_an_expired_session_fails_its_asset() -> None:
    clock = FakeClock()
    limits = UploadLimits(chunk_size=CHUNK, upload_session_ttl=3600.0)
    with running(upload_limits=limits, clock=clock) as (server, api):
        created = create(api)
        clock.advance(3601)
        status = api.ok("GET", f"/assets/multipart-uploads/{created['upload_id']}")
        assert status["status"] == "expired"
        assert api.ok("GET", "/assets/multipart-uploads")["data"] == []
        detail = api.ok("GET", f"/assets/{created['asset_id']}")
        assert detail["status"] == "failed" and "expired" in detail["error"]["message"]
        assert report(api, created["upload_id"], [entry(1, '"x"')]).status_code == 400
        assert not server.uploads.part_path(created["upload_id"]).exists()


@pytest.mark.parametrize("change", [
    {"x-sandbox-upload-tag": None},  # left out
    {"x-sandbox-upload-tag": "0123456789abcdef"},  # another session's value
    {"Content-Type": "video/mp4"},
])
def test_a_chunk_put_without_its_sessions_headers_is_refused_like_a_bad_signature(
        change: dict[str, str | None]) -> None:
    with running(upload_limits=LIMITS) as (_server, api):
        created = create(api)
        signed = created["upload_headers"]
        sent = {k: v for k, v in {**signed, **change}.items() if v is not None}
        url = created["upload_urls"][0]["url"]
        refused = api.http.put(url, data=chunk_of(DATA, 1, CHUNK), headers=sent, timeout=30)
        assert (refused.status_code, refused.json()["code"]) == (403, "signature_mismatch")
        assert next(iter(change)) in refused.json()["message"]
        status = api.ok("GET", f"/assets/multipart-uploads/{created['upload_id']}")
        assert status["uploaded_size"] == 0  # nothing was written
        # The URL was not used up: with the session's headers it works.
        assert put_chunk(api, url, chunk_of(DATA, 1, CHUNK), signed).status_code == 200
