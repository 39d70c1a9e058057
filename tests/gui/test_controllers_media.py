"""ThumbnailLoader: worker fetch, GUI-thread callback, cache, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.media import ThumbnailLoader
from tests.helpers.chat import make_client, ready_store


@pytest.fixture
def loader(qtbot: Any) -> Iterator[ThumbnailLoader]:
    runner = TaskRunner(max_threads=2, name="media-test")
    try:
        yield ThumbnailLoader(runner)
    finally:
        runner.shutdown(2000)


def test_a_thumbnail_arrives_on_the_gui_thread_and_is_cached(
    qtbot: Any, loader: ThumbnailLoader, sandbox: Any
) -> None:
    client = make_client(sandbox)
    item = client.list_items(ready_store(client).id)[0]
    url = sandbox.thumbnail_url(item.id, 12.0)
    results: list[tuple[Any, bool]] = []

    def receive(data: Any) -> None:
        results.append((data, QThread.currentThread() is QApplication.instance().thread()))

    loader.load(url, receive)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    data, on_gui_thread = results[0]
    assert on_gui_thread
    assert isinstance(data, bytes) and QImage.fromData(data).width() > 0
    loader.load(url, receive)  # from the cache: at once, no worker
    assert len(results) == 2 and results[1][0] == data


def test_non_web_urls_and_non_images_give_none(
    qtbot: Any, loader: ThumbnailLoader, sandbox: Any
) -> None:
    results: list[Any] = []
    loader.load("file:///etc/passwd", results.append)
    loader.load("javascript:alert(1)", results.append)
    assert results == [None, None]
    loader.load(f"{sandbox.base_url}/knowledge-stores", results.append)  # JSON, not an image
    qtbot.waitUntil(lambda: len(results) == 3, timeout=5000)
    assert results[2] is None
