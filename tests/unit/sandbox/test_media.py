"""Playable media: HLS playlists of the stated duration built from the committed segments,
continuous timestamps (checked with ffprobe), thumbnails per moment, signed expiring URLs
that need no API key, re-resolution through GET /assets, transcripts and original files."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.resources import resource_path
from jockey_desktop.sandbox.data import load_stores
from tests.helpers.sandbox_resources import (
    FakeClock,
    ResourceApi,
    citations,
    multipart_upload,
    running,
    tiny_mp4,
)

MEDIA_BUDGET = 2 * 1024 * 1024


def video(api: ResourceApi, title_start: str) -> tuple[str, dict[str, Any]]:
    """(store id, item) of a sample video by the start of its title."""
    for store in api.ok("GET", "/knowledge-stores", params={"page_limit": 50})["data"]:
        for item in api.items(store["_id"]):
            if item["metadata"].get("title", "").startswith(title_start):
                return store["_id"], item
    raise AssertionError(title_start)


def get(api: ResourceApi, url: str, **kw: Any) -> Any:
    return api.http.get(url, timeout=30, **kw)


def test_committed_media_fit_the_budget() -> None:
    folder = resource_path("sandbox", "media")
    files = {p.stem: p.stat().st_size for p in folder.glob("*.ts")}
    assert sum(files.values()) <= MEDIA_BUDGET
    assets = {str(i.api["asset_id"]) for s in load_stores().values() for i in s.items}
    assert assets | {"uploaded"} == set(files)  # one picture per video, one for uploads


def test_citations_carry_playable_media(res: ResourceApi) -> None:
    store_id, savanna = video(res, "Savanna")
    answer = res.ask(store_id, "cheetah")
    cited = next(c for c in citations(answer) if c["item_id"] == savanna["_id"])
    playlist = get(res, cited["hls_url"])  # no key needed
    assert playlist.status_code == 200
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    text = playlist.text
    assert text.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in text
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-TARGETDURATION:60" in text
    durations = [float(v) for v in re.findall(r"#EXTINF:([0-9.]+),", text)]
    assert math.isclose(sum(durations), savanna["system_metadata"]["duration"], abs_tol=0.01)
    assert durations[-1] == pytest.approx(1122.4 - 18 * 60)
    segments = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert segments == [f"seg/{n}.ts" for n in range(19)]
    base = cited["hls_url"].rsplit("/", 1)[0]
    first = get(res, f"{base}/{segments[0]}")
    assert first.headers["Content-Type"] == "video/mp2t"
    assert len(first.content) % 188 == 0 and first.content[0] == 0x47
    last = get(res, f"{base}/{segments[-1]}")
    assert 0 < len(last.content) < len(first.content)  # cut short at the end
    assert get(res, f"{base}/seg/19.ts").status_code == 404
    assert get(res, f"{base}/seg/x.ts").status_code == 404
    head = res.http.head(cited["hls_url"], timeout=10)
    assert head.status_code == 200 and head.content == b""
    thumb = get(res, cited["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert res.server.media_requests_with_key == 0


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_a_continuous_stream_of_the_stated_length(res: ResourceApi) -> None:
    _store_id, tide = video(res, "Tide Pools")
    url = res.ok("GET", f"/assets/{tide['asset_id']}")["hls"]["manifest_url"]
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
         "-show_entries", "stream=nb_read_frames,codec_name,width,height:format=duration",
         "-of", "json", url], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    probe = json.loads(result.stdout)
    stream = probe["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 180)
    assert float(probe["format"]["duration"]) == pytest.approx(845.0)
    # Two frames a second with no gaps or repeats: every one of them decodes in order.
    assert int(stream["nb_read_frames"]) == 845 * 2
    segment = url.rsplit("/", 1)[0] + "/seg/13.ts"
    packets = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "packet=pts_time", "-of", "csv=p=0", segment],
        capture_output=True, text=True, timeout=60, check=True).stdout.split()
    start = float(packets[0].split(",")[0])
    first = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "packet=pts_time", "-of", "csv=p=0", url.rsplit("/", 1)[0] + "/seg/0.ts"],
        capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert start - float(first[0].split(",")[0]) == pytest.approx(13 * 60)


def test_thumbnails_per_moment_and_bad_times(res: ResourceApi) -> None:
    _store_id, savanna = video(res, "Savanna")
    detail = res.ok("GET", f"/assets/{savanna['asset_id']}")
    url = detail["thumbnail"]["representative_url"].split("?")[0]
    starts = [42.0, 203.0, 388.0]
    images = [get(res, url, params={"t": str(t)}).content for t in starts]
    assert all(i.startswith(b"\x89PNG") for i in images)
    assert len(set(images)) == len(starts)
    for bad in ("inf", "-inf", "nan", "NaN", "1e3", "-1", "9" * 400, "", "1122.5x",
                "1124", "0x10"):
        response = get(res, url, params={"t": bad})
        assert (response.status_code, response.json()["code"]) == (400, "parameter_invalid"), bad
    assert get(res, url, params={"t": "1122.4"}).status_code == 200


def test_signed_urls_expire_and_re_resolve() -> None:
    clock = FakeClock()
    with running(clock=clock, media_url_ttl=30.0) as (server, api):
        _store_id, fox = video(api, "Ice and the Arctic Fox")
        path = f"/assets/{fox['asset_id']}"
        old = api.ok("GET", path)["hls"]["manifest_url"]
        assert get(api, old).status_code == 200
        clock.advance(31)
        expired = get(api, old)
        assert (expired.status_code, expired.json()["code"]) == (403, "media_url_expired")
        fresh = api.ok("GET", path)
        assert fresh["hls"]["manifest_url"] != old
        assert get(api, fresh["hls"]["manifest_url"]).status_code == 200
        assert get(api, fresh["thumbnail"]["representative_url"]).status_code == 200
        forged = re.sub(r"/[0-9a-f]{32}/", "/" + "0" * 32 + "/", fresh["hls"]["manifest_url"])
        assert (get(api, forged).status_code, get(api, forged).json()["code"]) == (
            403, "media_url_invalid")
        other = fresh["hls"]["manifest_url"].replace(fox["asset_id"], "a" * 24)
        assert get(api, other).status_code == 403  # a signature is for one asset only
        # The key is never needed; a client that sends it anyway is counted.
        assert get(api, fresh["hls"]["manifest_url"],
                   headers={"x-api-key": "sandbox"}).status_code == 200
        assert server.media_requests_with_key == 1


def test_sample_asset_detail(res: ResourceApi) -> None:
    _store_id, keynote = video(res, "Lumen Phone 9")
    detail = res.ok("GET", f"/assets/{keynote['asset_id']}")
    system = keynote["system_metadata"]
    assert (detail["status"], detail["duration"], detail["size"]) == (
        "ready", system["duration"], system["size"])
    assert detail["filename"] == system["filename"]
    assert detail["hls"]["status"] == "ready" and detail["thumbnail"]["status"] == "ready"
    assert detail["technical_metadata"]["video_width"] == system["width"]


def test_transcription(res: ResourceApi) -> None:
    _store_id, savanna = video(res, "Savanna")
    path = f"/assets/{savanna['asset_id']}/transcription"
    body = res.ok("GET", path)
    assert body["status"] == "ready" and set(body) == {"status", "sentences"}
    first = body["sentences"][0]
    assert first == {"start": 42.0, "end": 80.25,
                     "value": "They never run straight at the herd; each one takes a side."}
    starts = [s["start"] for s in body["sentences"]]
    assert starts == sorted(starts) and len(starts) == 12
    full = res.ok("GET", path, params={"include": "words,utterances"})
    assert set(full) == {"status", "words", "utterances"}
    assert [w["value"] for w in full["words"][:3]] == ["They", "never", "run"]
    assert full["words"][0]["start"] == 42.0
    assert full["utterances"][0]["speaker"] and full["utterances"][0]["value"] == first["value"]
    assert res.error("GET", path, params={"include": "captions"}) == (400, "parameter_invalid")
    upload = res.upload_ready(tiny_mp4(), "mine.mp4")
    assert res.error("GET", f"/assets/{upload['_id']}/transcription") == (
        404, "resource_not_exist")
    assert res.error("GET", path, key=None) == (401, "unauthorized")


def test_uploaded_video_plays_the_stand_in(res: ResourceApi) -> None:
    detail = res.upload_ready(tiny_mp4(75.5), "walk.mp4")
    text = get(res, detail["hls"]["manifest_url"]).text
    assert re.findall(r"#EXTINF:([0-9.]+),", text) == ["60.000", "15.500"]
    segment = get(res, detail["hls"]["manifest_url"].rsplit("/", 1)[0] + "/seg/1.ts")
    assert segment.status_code == 200 and segment.content[0] == 0x47


def test_original_bytes_with_ranges(tmp_path: Path) -> None:
    data = tiny_mp4(20.0, padding=300_000)
    with running() as (_server, api):
        done = multipart_upload(api, data, "whole.mp4")
        url = done["url"]
        whole = get(api, url)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["Accept-Ranges"] == "bytes"
        part = get(api, url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        tail = get(api, url, headers={"Range": "bytes=-10"})
        assert tail.content == data[-10:]
        assert get(api, url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
