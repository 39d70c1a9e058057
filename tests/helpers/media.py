"""Shared helpers for the player's tests: a sandbox whose media clock can be moved forward (so
signed media URLs expire on demand), a real client for it, and the first playable video."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core import api
from jockey_desktop.sandbox import SANDBOX_API_KEY, Pace, SandboxServer


class ShiftableClock:
    """Real time plus an offset a test moves forward (media URLs then expire at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the server's time forward."""
        self.offset += seconds


@dataclass
class MediaSandbox:
    """A running sandbox, its clock, a client and one playable video of a store."""

    server: SandboxServer
    clock: ShiftableClock
    client: api.JockeyClient
    store_id: str
    items: list[Any]

    @property
    def item(self) -> Any:
        """The first ready video of the store."""
        return self.items[0]

    def expire_media(self) -> None:
        """Every media URL signed so far is refused from now on."""
        self.clock.advance(self.server.media.ttl + 5)


def _no_sleep(_seconds: float) -> None:
    """Retry back-off without waiting."""


def playable_items(client: api.JockeyClient) -> tuple[str, list[Any]]:
    """The first store with at least two ready videos, and those videos."""
    for store in client.list_knowledge_stores():
        videos = [i for i in client.list_items(store.id)
                  if i.is_ready and i.asset_type in (None, "video") and i.asset_id]
        if len(videos) >= 2:
            return store.id, videos
    raise AssertionError("the sandbox has no store with two ready videos")


@pytest.fixture
def media_sandbox(tmp_path: Path) -> Iterator[MediaSandbox]:
    """A sandbox (instant pace) with a shiftable clock, and a real client for it."""
    clock = ShiftableClock()
    server = SandboxServer(state_dir=tmp_path / "media-sandbox", pace=Pace.instant(),
                           clock=clock)
    server.start()
    client = api.JockeyClient(SANDBOX_API_KEY, server.base_url, sleep=_no_sleep)
    try:
        store_id, items = playable_items(client)
        yield MediaSandbox(server, clock, client, store_id, items)
    finally:
        client.close()
        server.stop()
