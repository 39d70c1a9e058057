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
