"""Thumbnails cached on disk by item and time (never by URL): fetched without the key, a
refused URL resolved through the asset, images only, private files, a bounded folder."""

from __future__ import annotations

import stat
from pathlib import Path

from jockey_desktop.core.media_cache import ThumbnailCache, load_thumbnail, looks_like_image
from tests.helpers.media import MediaSandbox, media_sandbox

__all__ = ["media_sandbox"]

PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 100


def test_the_key_is_the_item_and_the_time_not_the_url(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    first = cache.path_for("ksi_1", 83.04)
    assert first == cache.path_for("ksi_1", 83.0)  # tenths of a second
    assert first != cache.path_for("ksi_1", 83.2) != cache.path_for("ksi_2", 83.0)
    assert "ksi_1" not in str(first) and first.parent.parent == tmp_path / "thumbnails"
    assert cache.path_for("ksi_1", None).name == "poster.img"
    assert cache.put("ksi_1", 83.0, PNG) == first
    assert cache.get("ksi_1", 83.04) == PNG
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    first.write_bytes(b"<html>not an image</html>")
    assert cache.get("ksi_1", 83.0) is None


def test_the_oldest_images_go_once_the_budget_is_passed(tmp_path: Path) -> None:
    import os

    cache = ThumbnailCache(tmp_path, budget_bytes=250)
    for n in range(3):
        path = cache.put("item", float(n), PNG)
        assert path is not None
        os.utime(path, (1000 + n, 1000 + n))
    cache.put("item", 9.0, PNG)
    assert cache.get("item", 0.0) is None and cache.get("item", 1.0) is None
    assert cache.get("item", 2.0) == PNG and cache.get("item", 9.0) == PNG
    assert cache.size() <= 250


def test_a_thumbnail_is_fetched_once_then_read_from_disk(
    tmp_path: Path, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    cache = ThumbnailCache(tmp_path / "thumbs")
    url = sb.server.thumbnail_url(sb.item.id, 42.0)
    data = load_thumbnail(sb.client, cache, store_id=sb.store_id, item_id=sb.item.id,
                          seconds=42.0, url=url)
    assert data is not None and looks_like_image(data)
    assert cache.get(sb.item.id, 42.0) == data
    sb.server.stop()  # offline: still there
    assert load_thumbnail(sb.client, cache, store_id=sb.store_id, item_id=sb.item.id,
                          seconds=42.0, url=url) == data
    assert sb.server.media_requests_with_key == 0


def test_an_expired_thumbnail_url_falls_back_to_the_assets_poster(
    tmp_path: Path, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    cache = ThumbnailCache(tmp_path / "thumbs")
    url = sb.server.thumbnail_url(sb.item.id, 42.0)
    sb.expire_media()
    data = load_thumbnail(sb.client, cache, store_id=sb.store_id, item_id=sb.item.id,
                          seconds=42.0, url=url)
    assert data is not None and looks_like_image(data)
    assert cache.get(sb.item.id, None) == data and cache.get(sb.item.id, 42.0) is None
    assert load_thumbnail(None, cache, store_id=None, item_id="ksi_unknown", seconds=1.0,
                          url=url) is None


def test_what_is_not_an_image_is_not_kept(tmp_path: Path, media_sandbox: MediaSandbox) -> None:
    sb = media_sandbox
    cache = ThumbnailCache(tmp_path / "thumbs")
    manifest = sb.server.hls_url(sb.item.id)
    assert load_thumbnail(sb.client, cache, store_id=sb.store_id, item_id=sb.item.id,
                          seconds=3.0, url=manifest) is None
    assert cache.size() == 0


def test_a_file_url_is_never_read_and_the_asset_is_asked_instead(
    tmp_path: Path, media_sandbox: MediaSandbox
) -> None:
    sb = media_sandbox
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    cache = ThumbnailCache(tmp_path / "thumbs")
    data = load_thumbnail(sb.client, cache, store_id=sb.store_id, item_id=sb.item.id,
                          seconds=5.0, url=secret.as_uri())
    assert data is not None and data != PNG  # the asset's poster, not the local file
