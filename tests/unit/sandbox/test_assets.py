"""POST /assets (direct and by URL), GET /assets, GET/DELETE /assets/{id}: shapes, limits,
streaming to disk, processing outcomes, faults, persistence, and uploads becoming answerable."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from jockey_desktop.sandbox import Fault, Pace
from jockey_desktop.sandbox.assets import UploadLimits
from tests.helpers.sandbox_resources import (
    ResourceApi,
    citations,
    file_server,
    running,
    tiny_mp4,
    tiny_png,
)

ASSET_ID = re.compile(r"^[0-9a-f]{24}$")
SMALL = UploadLimits(direct_bytes=64 * 1024, image_bytes=16 * 1024, url_bytes=64 * 1024)


def test_direct_upload_shape_and_detail(res: ResourceApi) -> None:
    response = res.upload(tiny_mp4(12.5), "harbour_walk.mp4",
                          user_metadata={"site": "Pier 4", "take": 3})
    assert response.status_code == 201, response.text
    asset = response.json()
    assert ASSET_ID.match(asset["_id"])
    assert {k: asset[k] for k in ("method", "status", "filename", "file_type")} == {
        "method": "direct", "status": "processing", "filename": "harbour_walk.mp4",
        "file_type": "video/mp4"}
    assert asset["user_metadata"] == {"site": "Pier 4", "take": 3}
    assert "source" not in asset
    detail = res.wait_asset(asset["_id"])
    assert detail["status"] == "ready"
    assert detail["duration"] == 12.5 and detail["size"] == len(tiny_mp4(12.5))
    assert detail["hls"]["status"] == "ready"
    assert detail["hls"]["manifest_url"].startswith(res.root + "/media/")
    assert detail["thumbnail"]["status"] == "ready"
    thumb = res.http.get(detail["thumbnail"]["representative_url"], timeout=10)
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    tech = detail["technical_metadata"]
    assert (tech["video_width"], tech["video_height"], tech["file_size_bytes"]) == (
        320, 180, detail["size"])
    assert "error" not in detail


def test_processing_takes_the_paced_time() -> None:
    with running(pace=Pace(asset_processing_time=60.0)) as (_server, api):
        asset = api.upload(tiny_mp4(), "a.mp4").json()
        detail = api.ok("GET", f"/assets/{asset['_id']}")
        assert detail["status"] == "processing" and "technical_metadata" not in detail
        assert detail["hls"] == {"status": "processing"}
        store = api.create_store("Early")
        assert api.error("POST", f"/knowledge-stores/{store['_id']}/items",
                         {"asset_id": asset["_id"]}) == (400, "parameter_invalid")


def test_form_options(res: ResourceApi) -> None:
    plain = res.upload_ready(tiny_mp4(), "x.mp4", filename="Renamed clip.mp4",
                             enable_hls=False, enable_thumbnail=False)
    assert plain["filename"] == "Renamed clip.mp4"
    assert "hls" not in plain and "thumbnail" not in plain and "user_metadata" not in plain


def test_image_upload(res: ResourceApi) -> None:
    png = tiny_png(7, 5)
    detail = res.upload_ready(png, "board.png", content_type="image/png")
    assert (detail["status"], detail["file_type"]) == ("ready", "image/png")
    assert "hls" not in detail and "duration" not in detail
    assert detail["technical_metadata"]["image_width"] == 7
    image = res.http.get(detail["thumbnail"]["representative_url"], timeout=10)
    assert image.content == png


def test_unreadable_file_fails_with_a_reason(res: ResourceApi) -> None:
    detail = res.upload_ready(b"not a video at all" * 100, "notes.mp4")
    assert detail["status"] == "failed"
    assert "not a video, audio file or image" in detail["error"]["message"]
    assert detail["hls"] == {"status": "error"}


@pytest.mark.parametrize(("form", "files", "expected"), [
    ({}, True, (400, "parameter_not_provided")),
    ({"method": "direct"}, False, (400, "parameter_not_provided")),
    ({"method": "direct", "filename": "x" * 256}, True, (400, "parameter_invalid")),
    ({"method": "upload"}, True, (400, "parameter_invalid")),
    ({"method": "direct", "colour": "red"}, True, (400, "parameter_unknown")),
    ({"method": "direct", "enable_hls": "maybe"}, True, (400, "parameter_invalid")),
    ({"method": "direct", "user_metadata": "{"}, True, (400, "parameter_invalid")),
    ({"method": "direct", "user_metadata": '{"a": {"b": 1}}'}, True,
     (400, "parameter_invalid")),
    ({"method": "direct", "url": "http://x/y.mp4"}, True, (400, "parameter_invalid")),
    ({"method": "url"}, False, (400, "parameter_not_provided")),
    ({"method": "url", "url": "ftp://example.com/a.mp4"}, False, (400, "parameter_invalid")),
    ({"method": "url", "url": "file:///etc/passwd"}, False, (400, "parameter_invalid")),
])
def test_form_errors(res: ResourceApi, form: dict[str, str], files: bool,
                     expected: tuple[int, str]) -> None:
    if files:
        assert res.error("POST", "/assets", data=form,
                         files={"file": ("a.mp4", tiny_mp4(), "video/mp4")}) == expected
    else:
        response = res.form(**form)
        assert (response.status_code, response.json()["code"]) == expected


def test_not_a_form_and_no_key(res: ResourceApi) -> None:
    assert res.error("POST", "/assets", {"method": "direct"}) == (400, "invalid_request")
    assert res.error("POST", "/assets", key=None, data={"method": "direct"},
                     files={"file": ("a.mp4", tiny_mp4(), "video/mp4")}) == (401, "unauthorized")
    # The server still answers after refusing a body it did not read.
    assert res.upload(tiny_mp4(), "ok.mp4").status_code == 201


def test_size_limits() -> None:
    with running(upload_limits=SMALL) as (_server, api):
        big_video = tiny_mp4(padding=70 * 1024)
        response = api.upload(big_video, "big.mp4")
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
        assert "64 KB" in response.json()["message"] or "0.0625 MB" in response.json()[
            "message"]
        assert api.upload(tiny_png(80, 80) + b"\x00" * 17 * 1024, "big.png",
                          content_type="image/png").status_code == 413
        assert api.upload(tiny_mp4(padding=40 * 1024), "fits.mp4").status_code == 201

        # Without a Content-Length (chunked), the limit is enforced as the bytes arrive.
        def chunks() -> Iterator[bytes]:
            yield (b"--B\r\nContent-Disposition: form-data; name=\"method\"\r\n\r\ndirect\r\n"
                   b"--B\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"c.mp4\"\r\n\r\n")
            for _ in range(100):
                yield b"\x00" * 4096
            yield b"\r\n--B--\r\n"

        response = api.call("POST", "/assets", data=chunks(),
                            headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert response.status_code == 413


def test_direct_upload_streams_to_disk(tmp_path: Path) -> None:
    limits = UploadLimits(direct_bytes=64 * 1024 * 1024)
    with running(state_dir=tmp_path / "state", upload_limits=limits) as (server, api):
        files_dir = server.assets.files_dir
        released = threading.Event()
        seen_on_disk: list[int] = []
        head = tiny_mp4(5.0)

        def body() -> Iterator[bytes]:
            yield (b"--B\r\nContent-Disposition: form-data; name=\"method\"\r\n\r\ndirect\r\n"
                   b"--B\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"long.mp4\"\r\nContent-Type: video/mp4\r\n\r\n")
            yield head
            yield b"\x00" * (4 * 1024 * 1024)
            # Before the rest is sent, the first megabytes are already in a file.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                sizes = [p.stat().st_size for p in files_dir.glob(".*.part")]
                if sizes and max(sizes) >= 1024 * 1024:
                    seen_on_disk.append(max(sizes))
                    break
                time.sleep(0.01)
            released.set()
            yield b"\x00" * (1024 * 1024)
            yield b"\r\n--B--\r\n"

        response = api.call("POST", "/assets", data=body(),
                            headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert response.status_code == 201, response.text
        assert released.is_set() and seen_on_disk, "nothing reached the disk before the end"
        detail = api.wait_asset(response.json()["_id"])
        assert detail["size"] == len(head) + 5 * 1024 * 1024
        assert detail["duration"] == 5.0


def test_rate_limit_fault_on_post_assets(res: ResourceApi) -> None:
    fault = res.server.faults.add(Fault.rate_limit(retry_after=3, path="/assets",
                                                   method="POST"))
    response = res.upload(tiny_mp4(), "a.mp4")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["code"] == "too_many_requests" and fault.fired == 1
    assert res.upload(tiny_mp4(), "a.mp4").status_code == 201


def test_an_early_error_reaches_a_client_still_sending() -> None:
    limits = UploadLimits(direct_bytes=64 * 1024 * 1024)
    with running(upload_limits=limits) as (server, api):
        server.faults.add(Fault.rate_limit(retry_after=5, path="/assets", method="POST"))
        # A plain client that sends its whole request before reading (far more than the
        # socket buffers hold): it must get the 429, not a reset connection.
        body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\""
                b"\r\n\r\n" + b"\x00" * (24 * 1024 * 1024) + b"\r\n--B--\r\n")
        head = (f"POST /v1.3/assets HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
                f"Content-Type: multipart/form-data; boundary=B\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection((server.host, server.port), timeout=30) as sock:
            sock.sendall(head + body)
            reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 429"), reply[:100]
        assert b"Retry-After: 5" in reply
        # requests gets the answer too, and the connection stays usable afterwards.
        big = tiny_mp4(padding=24 * 1024 * 1024)
        assert api.upload(big, "big.mp4", key=None).status_code == 401
        assert api.upload(big, "big.mp4").status_code == 201


def test_fail_asset_fault(res: ResourceApi) -> None:
    res.server.faults.add(Fault.fail_asset(message="The video failed the playability check."))
    detail = res.upload_ready(tiny_mp4(), "a.mp4")
    assert detail["status"] == "failed"
    assert detail["error"] == {"message": "The video failed the playability check."}
    assert res.upload_ready(tiny_mp4(), "b.mp4")["status"] == "ready"


def test_url_uploads() -> None:
    mp4 = tiny_mp4(42.0)
    vod = (b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\na.ts\n#EXTINF:7.5,\nb.ts\n"
           b"#EXT-X-ENDLIST\n")
    live = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\na.ts\n"
    files = {
        "/clip.mp4": (200, {"Content-Type": "video/mp4"}, mp4),
        "/moved.mp4": (302, {"Location": "/clip.mp4"}, b""),
        "/ftp.mp4": (302, {"Location": "ftp://example.com/clip.mp4"}, b""),
        "/big.mp4": (200, {}, tiny_mp4(padding=100 * 1024)),
        "/vod.m3u8": (200, {}, vod),
        "/live.m3u8": (200, {}, live),
    }
    with file_server(files) as root, running(upload_limits=SMALL) as (_server, api):
        def upload(path: str) -> requests.Response:
            return api.form(method="url", url=root + path)

        first = upload("/clip.mp4")
        assert first.status_code == 201
        assert (first.json()["method"], first.json()["filename"]) == ("url", "clip.mp4")
        ready = api.wait_asset(first.json()["_id"])
        assert (ready["status"], ready["duration"], ready["size"]) == ("ready", 42.0, len(mp4))
        assert api.wait_asset(upload("/moved.mp4").json()["_id"])["status"] == "ready"
        for path, reason in (("/missing.mp4", "HTTP 404"), ("/ftp.mp4", "non-http"),
                             ("/big.mp4", "limit")):
            failed = api.wait_asset(upload(path).json()["_id"])
            assert failed["status"] == "failed", path
            assert reason in failed["error"]["message"], failed
        playlist = api.wait_asset(upload("/vod.m3u8").json()["_id"])
        assert (playlist["status"], playlist["duration"]) == ("ready", 17.5)
        refused = upload("/live.m3u8")
        assert refused.status_code == 400 and "Live" in refused.json()["message"]


def test_list_assets(res: ResourceApi) -> None:
    video = res.upload_ready(tiny_mp4(), "Alpha.mp4")
    image = res.upload_ready(tiny_png(), "beta.png", content_type="image/png")
    listed = res.ok("GET", "/assets", params={"page_limit": 50})
    ids = [a["_id"] for a in listed["data"]]
    assert ids.index(image["_id"]) < ids.index(video["_id"])  # newest first
    assert listed["page_info"]["total_results"] >= 2 + 13  # the sample videos are assets too
    only = res.ok("GET", "/assets", params={"filename": "alpha"})["data"]
    assert [a["_id"] for a in only] == [video["_id"]]
    images = res.ok("GET", "/assets", params={"asset_types": "image"})["data"]
    assert [a["_id"] for a in images] == [image["_id"]]
    by_id = res.ok("GET", "/assets", params={"asset_ids": f"{video['_id']},{image['_id']}"})
    assert {a["_id"] for a in by_id["data"]} == {video["_id"], image["_id"]}
    assert res.error("GET", "/assets", params={"asset_types": "pdf"}) == (
        400, "parameter_invalid")


def test_delete_asset(res: ResourceApi) -> None:
    asset = res.upload_ready(tiny_mp4(), "d.mp4")
    path = f"/assets/{asset['_id']}"
    store = res.create_store("Uses it")
    item = res.add_item(store["_id"], asset["_id"])
    assert res.error("DELETE", path) == (409, "resource_conflict")
    assert res.error("DELETE", path, params={"force": "maybe"}) == (400, "parameter_invalid")
    assert res.call("DELETE", path, params={"force": "true"}).status_code == 204
    assert res.error("GET", path) == (404, "resource_not_exist")
    assert not list(res.server.assets.files_dir.glob(f"{asset['_id']}*"))
    # The item stays, without media.
    assert res.ok("GET", f"/knowledge-stores/{store['_id']}/items/{item['_id']}")
    unused = res.upload_ready(tiny_mp4(), "e.mp4")
    assert res.call("DELETE", f"/assets/{unused['_id']}").status_code == 204
    assert res.error("DELETE", "/assets/xyz") == (400, "parameter_invalid")


def test_uploaded_video_becomes_answerable(res: ResourceApi) -> None:
    asset = res.upload_ready(tiny_mp4(93.0), "harbour_inspection.mp4")
    store = res.create_store("Harbour")
    item = res.add_item(store["_id"], asset["_id"], metadata={"site": "Pier four"})
    assert item["system_metadata"] == {"asset_type": "video", "filename":
                                       "harbour_inspection.mp4", "duration": 93.0,
                                       "width": 320, "height": 180,
                                       "size": asset["size"]}
    answer = res.ask(store["_id"], "What happens in the harbour inspection at pier four?")
    cited = citations(answer)
    assert cited and {c["item_id"] for c in cited} == {item["_id"]}
    assert all(0 <= c["start_sec"] < c["end_sec"] <= 93.0 for c in cited)
    assert cited[0]["title"] == "Harbour inspection"
    assert cited[0]["hls_url"] and cited[0]["thumbnail_url"]
    text = next(o for o in answer["output"] if o["type"] == "message")["content"][0]["text"]
    assert "has not watched" in text and "harbour_inspection.mp4" in text


def test_assets_persist_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    png = tiny_png(9, 9)
    with running(state_dir=state) as (_server, api):
        image = api.upload_ready(png, "keep.png", content_type="image/png",
                                 user_metadata={"kept": True})
    with running(state_dir=state) as (_server, api):
        again = api.ok("GET", f"/assets/{image['_id']}")
        assert (again["status"], again["user_metadata"]) == ("ready", {"kept": True})
        fetched = api.http.get(again["thumbnail"]["representative_url"], timeout=10)
        assert fetched.content == png
