"""Fixtures for the storage tests: a fresh repository in tmp, and copies of the committed
fixture databases (their helpers live in ``tests/helpers/storage_fixtures.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jockey_desktop.core.storage import Repository, open_repository
from tests.helpers.storage_fixtures import V1_FIXTURE, V2_FIXTURE, copy_fixture


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def db_path(data_dir: Path) -> Path:
    """Where the database lives inside ``data_dir``."""
    return data_dir / "conversations.sqlite3"


@pytest.fixture
def backup_dir(data_dir: Path) -> Path:
    """Where backups go inside ``data_dir``."""
    return data_dir / "backups"


@pytest.fixture
def repo(db_path: Path, backup_dir: Path) -> Iterator[Repository]:
    """A freshly created repository, closed after the test."""
    repository = open_repository(db_path, backup_dir)
    try:
        yield repository
    finally:
        repository.close()


@pytest.fixture
def v1_copy(db_path: Path) -> Path:
    """A writable copy of the committed schema-v1 fixture at ``db_path``."""
    return copy_fixture(V1_FIXTURE, db_path)


@pytest.fixture
def v2_copy(db_path: Path) -> Path:
    """A writable copy of the committed schema-v2 fixture at ``db_path``."""
    return copy_fixture(V2_FIXTURE, db_path)
