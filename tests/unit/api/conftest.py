"""Fixtures of the client tests: a scripted loopback server and a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fakeserver import FakeServer, Sleeps


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def other_host() -> Iterator[FakeServer]:
    """A second server, named ``localhost`` (another host than the API's 127.0.0.1), for
    presigned upload URLs and signed media."""
    with FakeServer(url_host="localhost") as srv:
        yield srv
