"""SelectionCandidates: what ``@`` offers, listed on the network runner through the real
client and sandbox, cached per store, refreshed when old, forgotten with the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.selections import SelectionCandidates
from jockey_desktop.core.api import NetworkError
from tests.helpers.chat import make_client, ready_store


class Counting:
    """The real client, counting the item listings (and failing them on demand)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.listings = 0
        self.fail = False

    def list_items(self, store_id: str, status: Any = None) -> Any:
        self.listings += 1
        if self.fail:
            raise NetworkError("The server could not be reached.")
        return self.real.list_items(store_id, status=status)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def client(sandbox: Any) -> Iterator[Any]:
    real = make_client(sandbox)
    try:
        yield real
    finally:
        real.close()


@pytest.fixture
def runner(qtbot: Any) -> Iterator[TaskRunner]:
    tasks = TaskRunner(max_threads=2, name="candidates-test")
    try:
        yield tasks
    finally:
        tasks.shutdown(2000)


def test_a_stores_ready_videos_and_collections_listed_once_then_cached(
    qtbot: Any, client: Any, runner: TaskRunner
) -> None:
    store = ready_store(client)
    ready = client.list_items(store.id, status="ready")
    collection = client.create_collection(store.id, "Night shoots")
    client.add_collection_items(store.id, collection.id, [ready[0].id])
    counting = Counting(client)
    now = [100.0]
    candidates = SelectionCandidates(runner, counting, clock=lambda: now[0])
    got: list[tuple[str, list[dict[str, Any]]]] = []
    candidates.sig_candidates.connect(lambda sid, found: got.append((sid, found)))

    candidates.request(store.id)
    candidates.request(store.id)  # while the first is on its way: not listed twice
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert counting.listings == 1
    store_id, found = got[0]
    assert store_id == store.id
    items = [c for c in found if c["kind"] == "item"]
    assert {c["id"] for c in items} == {i.id for i in ready}
    assert all(c["name"] and not c["name"].startswith("ksi_") for c in items)  # titles
    assert found[-1] == {"kind": "collection", "id": collection.id, "name": "Night shoots"}

    candidates.request(store.id)  # from the cache, at once
    assert len(got) == 2 and got[1][1] == found and counting.listings == 1
    now[0] += SelectionCandidates.MAX_AGE_S + 1  # old: shown at once, refreshed behind
    candidates.request(store.id)
    assert len(got) == 3
    qtbot.waitUntil(lambda: len(got) == 4, timeout=5_000)
    assert counting.listings == 2

    candidates.set_client(counting)  # another key or server: nothing of the old one stays
    assert candidates.cached(store.id) is None


def test_a_failed_listing_is_said_and_not_asked_again_on_every_key(
    qtbot: Any, client: Any, runner: TaskRunner
) -> None:
    store = ready_store(client)
    counting = Counting(client)
    counting.fail = True
    now = [0.0]
    candidates = SelectionCandidates(runner, counting, clock=lambda: now[0])
    failures: list[tuple[str, str]] = []
    got: list[Any] = []
    candidates.sig_failed.connect(lambda sid, text: failures.append((sid, text)))
    candidates.sig_candidates.connect(lambda sid, found: got.append(found))
    candidates.request(store.id)
    qtbot.waitUntil(lambda: bool(failures), timeout=5_000)
    assert failures[0][0] == store.id
    assert failures[0][1].startswith("The videos of this store could not be listed:")
    candidates.request(store.id)
    assert counting.listings == 1  # a few keys later: not again yet
    counting.fail = False
    now[0] += SelectionCandidates.RETRY_AFTER_S + 0.5
    candidates.request(store.id)
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert counting.listings == 2 and got[0]


def test_results_of_a_replaced_client_are_dropped(qtbot: Any, client: Any,
                                                  runner: TaskRunner) -> None:
    store = ready_store(client)
    candidates = SelectionCandidates(runner, client)
    got: list[Any] = []
    candidates.sig_candidates.connect(lambda sid, found: got.append(found))
    candidates.request(store.id)
    candidates.set_client(None)  # e.g. the key was removed while the listing ran
    assert runner.drain(5000)
    # The listing's outcome was posted before this one: once this arrives, so did that.
    after: list[bool] = []
    runner.submit(bool, on_success=lambda _r: after.append(True))
    qtbot.waitUntil(lambda: bool(after), timeout=5_000)
    assert got == [] and candidates.cached(store.id) is None
    candidates.request(store.id)  # no client: nothing to ask with
    assert got == []
