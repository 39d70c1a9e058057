"""Contract: the client's management and upload methods against the real sandbox over
loopback — stores, items and their lifecycle, collections, search, assets (direct, URL,
media, delete), the multipart flow, and every injected fault of these endpoints, each giving
its own error class or the documented recovery. Signed upload and media URLs never get the
API key."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.api import (
    CancelToken,
    CollectionNotFoundError,
    CompletedChunk,
    ConflictError,
    InvalidInputError,
    InvalidRequestError,
    ItemNotFoundError,
    JockeyClient,
    RateLimitedError,
    RequestCancelledError,
    StoreNotFoundError,
    UploadNotFoundError,
    UploadSourceChangedError,
    UploadUrlExpiredError,
)
from jockey_desktop.sandbox import SANDBOX_API_KEY, Fault, Pace, SandboxServer
from jockey_desktop.sandbox.assets import UploadLimits
from tests.helpers.sandbox_resources import FakeClock, Sleeps, file_server, tiny_png
from tests.helpers.uploads import video_bytes

CHUNK = 64 * 1024


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def server(tmp_path: Path, clock: FakeClock) -> Iterator[SandboxServer]:
    """A sandbox with small multipart chunks, a controllable clock and paced indexing."""
    sandbox = SandboxServer(state_dir=tmp_path / "state", clock=clock,
                            pace=Pace(indexing_time=60.0, asset_processing_time=5.0),
                            upload_limits=UploadLimits(chunk_size=CHUNK,
                                                       initial_upload_urls=2),
                            search_token_ttl=30.0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(server: SandboxServer, sleeps: Sleeps) -> Iterator[JockeyClient]:
    with JockeyClient(SANDBOX_API_KEY, server.base_url, sleep=sleeps) as c:
        yield c


def video_file(folder: Path, name: str, size: int = 20_000, duration: float = 30.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(video_bytes(size, duration))
    return path


def ready_asset(client: JockeyClient, clock: FakeClock, path: Path, **kw: Any) -> str:
    """Upload directly and let processing finish."""
    asset = client.upload_asset(path, **kw)
    assert asset.status == "processing"
    clock.advance(6)
    assert client.get_asset(asset.id).status == "ready"
    return asset.id


# --- stores and metadata ---------------------------------------------------------------


def test_store_create_read_update_delete_with_typed_metadata(client: JockeyClient) -> None:
    metadata = {"team": "ops", "games": 12, "ratio": 0.5, "public": False,
                "tags": ["spring", "home"]}
    store = client.create_knowledge_store("Match footage", description="Spring season",
                                          metadata=metadata)
    assert store.id.startswith("ks_") and store.item_count == 0
    assert (store.name, store.description, store.metadata) == ("Match footage",
                                                               "Spring season", metadata)
    assert client.get_knowledge_store(store.id) == store
    assert store.id in [s.id for s in client.list_knowledge_stores()]
    renamed = client.update_knowledge_store(store.id, name="Matches")
    assert (renamed.name, renamed.description, renamed.metadata) == ("Matches",
                                                                     "Spring season", metadata)
    cleared = client.update_knowledge_store(store.id, metadata={})
    assert cleared.metadata == {} and cleared.name == "Matches"
    client.delete_knowledge_store(store.id)
    with pytest.raises(StoreNotFoundError):
        client.get_knowledge_store(store.id)


@pytest.mark.parametrize("metadata", [
    {f"k{n}": n for n in range(11)},
    {"x" * 129: "long name"},
    {"text": "y" * 2049},
    {"nested": {"a": 1}},
    {"big": 2**53},
    {"list": ["ok", 3]},
])
def test_metadata_past_the_limits_is_refused_before_sending(
        client: JockeyClient, server: SandboxServer, metadata: dict[str, Any]) -> None:
    before = len(client.list_knowledge_stores())
    with pytest.raises(InvalidInputError) as refused:
        client.create_knowledge_store("Bad", metadata=metadata)
    assert refused.value.message  # a sentence naming the problem
    assert len(client.list_knowledge_stores()) == before


# --- items ---------------------------------------------------------------------------------


def test_an_item_goes_queued_pending_processing_ready(client: JockeyClient, clock: FakeClock,
                                                      tmp_path: Path) -> None:
    store = client.create_knowledge_store("Lifecycle")
    asset_id = ready_asset(client, clock, video_file(tmp_path, "walk.mp4"),
                           asset_type_hint="video")
    item = client.add_item(store.id, asset_id, asset_type="video")
    assert item.id.startswith("ksi_") and item.status == "queued"
    assert item.asset_type == "video"
    seen = []
    for step in (0, 15, 20, 30):
        clock.advance(step)
        seen.append(client.get_item(store.id, item.id).status)
    assert seen == ["queued", "pending", "processing", "ready"]
    ready = client.get_item(store.id, item.id)
    assert ready.filename == "walk.mp4" and ready.duration == pytest.approx(30.0, abs=0.1)
    assert [i.id for i in client.list_items(store.id, status="ready")] == [item.id]
    assert client.list_items(store.id, status=["queued", "pending"]) == []
    client.delete_item(store.id, item.id)
    with pytest.raises(ItemNotFoundError):
        client.get_item(store.id, item.id)


def test_an_image_is_added_as_an_image(client: JockeyClient, clock: FakeClock,
                                       tmp_path: Path) -> None:
    store = client.create_knowledge_store("Stills")
    path = tmp_path / "still.png"
    path.write_bytes(tiny_png(16, 9))
    asset_id = ready_asset(client, clock, path)
    item = client.add_item(store.id, asset_id, asset_type="image")
    assert item.asset_type == "image"
    with pytest.raises(InvalidInputError):
        client.add_item(store.id, asset_id, asset_type="audio")  # type: ignore[arg-type]


def test_fail_indexing_ends_the_item_failed(client: JockeyClient, server: SandboxServer,
                                            clock: FakeClock, tmp_path: Path) -> None:
    store = client.create_knowledge_store("Failing")
    asset_id = ready_asset(client, clock, video_file(tmp_path, "x.mp4"))
    server.faults.add(Fault.fail_indexing())
    item = client.add_item(store.id, asset_id, asset_type="video")
    clock.advance(61)
    assert client.get_item(store.id, item.id).status == "failed"


# --- collections ---------------------------------------------------------------------------


def test_collections_create_rename_fill_empty_delete(client: JockeyClient, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    store = client.create_knowledge_store("Grouped")
    items = []
    for name in ("a.mp4", "b.mp4"):
        asset_id = ready_asset(client, clock, video_file(tmp_path, name))
        items.append(client.add_item(store.id, asset_id, asset_type="video").id)
    best = client.create_collection(store.id, "Best", description="Picks")
    assert best.id.startswith("ksic_") and best.member_count == 0
    with pytest.raises(InvalidRequestError):
        client.create_collection(store.id, "Best")  # names are unique in a store
    added = client.add_collection_items(store.id, best.id, items)
    assert added.member_count == 2
    assert client.add_collection_items(store.id, best.id, items[:1]).member_count == 2
    assert sorted(i.id for i in client.list_collection_items(store.id, best.id)) == \
        sorted(items)
    client.remove_collection_items(store.id, best.id, items[:1])
    assert [i.id for i in client.list_collection_items(store.id, best.id)] == items[1:]
    assert client.update_collection(store.id, best.id, name="Top").name == "Top"
    assert [c.name for c in client.list_collections(store.id)] == ["Top"]
    client.delete_collection(store.id, best.id)
    with pytest.raises(CollectionNotFoundError):
        client.get_collection(store.id, best.id)
    assert len(client.list_items(store.id)) == 2  # the items stay
    with pytest.raises(InvalidInputError):
        client.add_collection_items(store.id, best.id, [f"ksi_{n}" for n in range(501)])


# --- search --------------------------------------------------------------------------------


def test_search_finds_an_upload_by_its_name_and_pages_expire(
        client: JockeyClient, clock: FakeClock, tmp_path: Path) -> None:
    store = client.create_knowledge_store("Searchable")
    ids = []
    for n in range(3):
        asset_id = ready_asset(client, clock, video_file(tmp_path, f"harbour tour {n}.mp4"))
        ids.append(client.add_item(store.id, asset_id, asset_type="video").id)
    clock.advance(61)
    page = client.search_store(store.id, "harbour tour", page_size=1)
    assert len(page.hits) == 1 and page.hits[0].item_id in ids
    assert page.hits[0].system_metadata["size"] == 20_000
    assert page.next_page_token
    second = client.search_store(store.id, "harbour tour", page_size=1,
                                 page_token=page.next_page_token)
    assert [h.rank for h in second.hits] == [2] and second.hits[0].item_id in ids
    only = client.search_store(store.id, "harbour tour", item_ids=[ids[2]])
    assert only.hits and {h.item_id for h in only.hits} == {ids[2]}
    clock.advance(31)
    with pytest.raises(InvalidRequestError, match="expired; run the search again"):
        client.search_store(store.id, "harbour tour", page_size=1,
                            page_token=second.next_page_token or page.next_page_token)
    with pytest.raises(InvalidInputError):
        client.search_store(store.id, "   ")


# --- assets --------------------------------------------------------------------------------


def test_a_direct_upload_streams_with_progress_and_gets_media(
        client: JockeyClient, server: SandboxServer, clock: FakeClock,
        tmp_path: Path) -> None:
    path = video_file(tmp_path, "clip.mp4", size=3 * 1024 * 1024 + 5)
    seen: list[tuple[int, int]] = []
    asset = client.upload_asset(path, progress=lambda sent, total: seen.append((sent, total)))
    assert asset.filename == "clip.mp4" and len(asset.id) == 24
    sent = [s for s, _t in seen]
    assert sent == sorted(sent) and sent[-1] == path.stat().st_size
    assert {t for _s, t in seen} == {path.stat().st_size}
    detail = client.get_asset(asset.id)
    assert detail.status == "processing" and detail.hls_url is None
    clock.advance(6)
    detail = client.get_asset(asset.id)
    assert detail.status == "ready" and detail.size == path.stat().st_size
    assert detail.hls_url and detail.thumbnail_url
    assert client.fetch_media(detail.thumbnail_url, max_bytes=1 << 20)
    assert server.media_requests_with_key == 0


def test_files_past_the_direct_limit_or_of_no_known_kind_are_refused_before_sending(
        client: JockeyClient, server: SandboxServer, tmp_path: Path) -> None:
    big = tmp_path / "huge.mp4"
    with big.open("wb") as handle:
        handle.truncate(200 * 1000 * 1000 + 1)  # sparse: nothing is read
    with pytest.raises(InvalidInputError, match="multipart"):
        client.upload_asset(big)
    odd = tmp_path / "notes.xyz"
    odd.write_bytes(b"x")
    with pytest.raises(InvalidInputError):
        client.upload_asset(odd)
    with pytest.raises(InvalidInputError):
        client.upload_asset(tmp_path / "missing.mp4")
    with pytest.raises(InvalidInputError):
        client.create_asset_from_url("file:///etc/passwd")
    assert client.list_knowledge_stores()  # still talking: nothing half-sent broke anything


def test_a_url_asset_is_fetched_by_the_server(client: JockeyClient, clock: FakeClock) -> None:
    files = {"/trip.mp4": (200, {"Content-Type": "video/mp4"}, video_bytes(40_000))}
    with file_server(files) as root:
        asset = client.create_asset_from_url(f"{root}/trip.mp4")
        deadline = time.monotonic() + 10
        while client.get_asset(asset.id).status == "processing" and \
                time.monotonic() < deadline:
            clock.advance(6)
            time.sleep(0.02)
    detail = client.get_asset(asset.id)
    assert detail.status == "ready" and detail.filename == "trip.mp4"


def test_an_asset_in_use_is_deleted_only_when_forced(client: JockeyClient, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    store = client.create_knowledge_store("Uses it")
    asset_id = ready_asset(client, clock, video_file(tmp_path, "used.mp4"))
    client.add_item(store.id, asset_id, asset_type="video")
    with pytest.raises(ConflictError):
        client.delete_asset(asset_id)
    client.delete_asset(asset_id, force=True)
    with pytest.raises(Exception) as gone:
        client.get_asset(asset_id)
    assert getattr(gone.value, "status", None) == 404


def test_fail_asset_ends_the_asset_failed_with_the_servers_words(
        client: JockeyClient, server: SandboxServer, clock: FakeClock,
        tmp_path: Path) -> None:
    server.faults.add(Fault.fail_asset("The video has no playable stream."))
    asset = client.upload_asset(video_file(tmp_path, "broken.mp4"))
    clock.advance(6)
    detail = client.get_asset(asset.id)
    assert detail.status == "failed"
    assert detail.error_message == "The video has no playable stream."


def test_a_429_on_post_assets_is_waited_out_then_refused_past_the_retries(
        client: JockeyClient, server: SandboxServer, sleeps: Sleeps, tmp_path: Path) -> None:
    path = video_file(tmp_path, "clip.mp4")
    server.faults.add(Fault.rate_limit(retry_after=7, times=1, path="/assets", method="POST"))
    asset = client.upload_asset(path)
    assert asset.id and sleeps.calls == [7]
    server.faults.add(Fault.rate_limit(retry_after=9, times=None, path="/assets",
                                       method="POST"))
    with pytest.raises(RateLimitedError) as limited:
        client.upload_asset(path)
    assert limited.value.retry_after == 9
    assert sleeps.calls == [7, 9, 9, 9]


def test_a_file_that_changes_during_an_upload_is_refused_in_words(
        client: JockeyClient, tmp_path: Path) -> None:
    path = video_file(tmp_path, "edit.mp4", size=4 * 1024 * 1024)

    def touch(sent: int, _total: int) -> None:
        if sent >= 1024 * 1024 and path.stat().st_size == 4 * 1024 * 1024:
            with path.open("ab") as handle:
                handle.write(b"more")

    with pytest.raises(UploadSourceChangedError):
        client.upload_asset(path, progress=touch)


def test_an_upload_is_cancelled_within_a_second(client: JockeyClient, server: SandboxServer,
                                                tmp_path: Path) -> None:
    path = video_file(tmp_path, "slow.mp4", size=8 * 1024 * 1024)
    server.faults.add(Fault.latency(5.0, path="/assets", method="POST"))
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(RequestCancelledError):
        client.upload_asset(path, cancel=cancel)
    assert time.monotonic() - started < 3.0


# --- multipart -----------------------------------------------------------------------------


def test_the_multipart_flow_end_to_end(client: JockeyClient, server: SandboxServer,
                                       clock: FakeClock, tmp_path: Path) -> None:
    size = 5 * CHUNK + 1234
    path = video_file(tmp_path, "long.mp4", size=size)
    created = client.create_multipart_upload("long.mp4", kind="video", total_size=size)
    assert created.total_chunks == 6 and created.chunk_size == CHUNK
    assert [u.chunk_index for u in created.upload_urls] == [1, 2]
    assert created.upload_headers
    more = client.renew_upload_urls(created.upload_id, 3, 4)
    urls = {u.chunk_index: u.url for u in (*created.upload_urls, *more)}
    assert sorted(urls) == [1, 2, 3, 4, 5, 6]
    listed = {u.upload_id: u for u in client.list_incomplete_uploads()}
    assert listed[created.upload_id].total_chunks == 6
    chunks = []
    for index in (6, 2, 1, 4, 3, 5):  # any order
        offset, length = created.chunk_span(index, size)
        etag = client.upload_chunk(urls[index], created.upload_headers, path, offset, length)
        chunks.append(CompletedChunk(index, etag, length))
    first = client.report_chunks(created.upload_id, chunks[:3])
    assert (first.processed_chunks, first.is_complete) == (3, False)
    status = client.get_multipart_status(created.upload_id)
    assert status.status == "active" and status.completed_indexes() == {1, 2, 6}
    again = client.report_chunks(created.upload_id, chunks[2:])
    assert (again.processed_chunks, again.duplicate_chunks) == (3, 1)
    assert again.is_complete and again.asset_id == created.asset_id
    assert client.get_multipart_status(created.upload_id).status == "completed"
    assert created.upload_id not in {u.upload_id for u in client.list_incomplete_uploads()}
    clock.advance(6)
    assert client.get_asset(created.asset_id).status == "ready"
    assert server.chunk_puts_with_key == 0


def test_chunk_faults_retry_or_ask_for_a_new_url(client: JockeyClient, server: SandboxServer,
                                                 sleeps: Sleeps, tmp_path: Path) -> None:
    size = 3 * CHUNK
    path = video_file(tmp_path, "long.mp4", size=size)
    created = client.create_multipart_upload("long.mp4", kind="video", total_size=size)
    url, headers = created.upload_urls[0].url, created.upload_headers
    # A PUT that fails once: the client sends it again (a PUT is idempotent).
    failing = server.faults.add(Fault.fail_chunk())
    etag = client.upload_chunk(url, headers, path, 0, CHUNK)
    assert failing.fired == 1 and etag and sleeps.calls
    # An expired URL: refused in its own class; renewed, the chunk goes.
    server.faults.add(Fault.expire_upload_url())
    second = created.upload_urls[1].url
    with pytest.raises(UploadUrlExpiredError):
        client.upload_chunk(second, headers, path, CHUNK, CHUNK)
    [fresh] = client.renew_upload_urls(created.upload_id, 2, 1)
    assert client.upload_chunk(fresh.url, headers, path, CHUNK, CHUNK)
    # A used URL is refused the same way (single use).
    with pytest.raises(UploadUrlExpiredError):
        client.upload_chunk(url, headers, path, 0, CHUNK)
    assert server.chunk_puts_with_key == 0


def test_a_restarted_server_keeps_the_session_and_its_chunks(
        tmp_path: Path, clock: FakeClock) -> None:
    limits = UploadLimits(chunk_size=CHUNK, initial_upload_urls=3)
    state = tmp_path / "state"
    size = 3 * CHUNK
    path = video_file(tmp_path, "long.mp4", size=size)
    first = SandboxServer(state_dir=state, clock=clock, pace=Pace.instant(),
                          upload_limits=limits)
    first.start()
    try:
        with JockeyClient(SANDBOX_API_KEY, first.base_url) as client:
            created = client.create_multipart_upload("long.mp4", kind="video",
                                                     total_size=size)
            etag = client.upload_chunk(created.upload_urls[0].url, created.upload_headers,
                                       path, 0, CHUNK)
            client.report_chunks(created.upload_id, [CompletedChunk(1, etag, CHUNK)])
    finally:
        first.stop()
    second = SandboxServer(state_dir=state, clock=clock, pace=Pace.instant(),
                           upload_limits=limits)
    second.start()
    try:
        with JockeyClient(SANDBOX_API_KEY, second.base_url) as client:
            status = client.get_multipart_status(created.upload_id)
            assert status.status == "active" and status.completed_indexes() == {1}
            urls = client.renew_upload_urls(created.upload_id, 2, 2)
            done = [CompletedChunk(u.chunk_index, client.upload_chunk(
                u.url, created.upload_headers, path, *created.chunk_span(u.chunk_index, size)),
                CHUNK) for u in urls]
            assert client.report_chunks(created.upload_id, done).is_complete
            with pytest.raises(UploadNotFoundError):
                client.get_multipart_status("0123456789abcdef01234567")
    finally:
        second.stop()
