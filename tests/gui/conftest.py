"""Fixtures for the pytest-qt tests in this folder.

Python's cyclic garbage collector runs only on the GUI thread here, as in the app
(``concurrency.GuiThreadGarbageCollector``): collected in a sandbox or pool thread, garbage
holding a Qt wrapper destroys the C++ object in the wrong thread and crashes the test run.
The shared fixtures themselves live in ``tests/helpers`` and are made available here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.concurrency import GuiThreadGarbageCollector
from tests.helpers.app import start
from tests.helpers.chat import harness, repo, slow_harness, slow_sandbox
from tests.helpers.full_disk import faulty
from tests.helpers.views import opened, view

__all__ = ["faulty", "harness", "opened", "repo", "slow_harness", "slow_sandbox", "start", "view"]


@pytest.fixture(scope="package", autouse=True)
def gui_thread_gc(qapp: QApplication) -> Iterator[GuiThreadGarbageCollector]:
    """Cyclic GC on the GUI thread for the whole GUI package, then back to normal."""
    collector = GuiThreadGarbageCollector(interval_ms=100)
    collector.start()
    yield collector
    collector.stop()
