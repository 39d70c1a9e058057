"""Fixtures for the sandbox tests: a client for the per-test sandbox and its store ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.sandbox_http import EMPTY, KEYNOTES, NATURE, Api
from tests.helpers.sandbox_resources import ResourceApi


@pytest.fixture
def api(sandbox: Any) -> Iterator[Api]:
    client = Api(sandbox.base_url)
    yield client
    client.http.close()


@pytest.fixture
def nature_id(api: Api) -> str:
    return api.store_id(NATURE)


@pytest.fixture
def keynotes_id(api: Api) -> str:
    return api.store_id(KEYNOTES)


@pytest.fixture
def empty_id(api: Api) -> str:
    return api.store_id(EMPTY)


@pytest.fixture
def res(sandbox: Any) -> Iterator[ResourceApi]:
    """The resource endpoints of the ``sandbox`` fixture's server, over ``requests``."""
    client = ResourceApi(sandbox)
    yield client
    client.close()
