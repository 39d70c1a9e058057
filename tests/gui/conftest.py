"""Fixtures for the pytest-qt tests in this folder.

Python's cyclic garbage collector runs only on the GUI thread here, as in the app
(``concurrency.GuiThreadGarbageCollector``): collected in a sandbox or pool thread, garbage
holding a Qt wrapper destroys the C++ object in the wrong thread and crashes the test run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from jockey_desktop.concurrency import GuiThreadGarbageCollector


@pytest.fixture(scope="package", autouse=True)
def gui_thread_gc(qapp: QApplication) -> Iterator[GuiThreadGarbageCollector]:
    """Cyclic GC on the GUI thread for the whole GUI package, then back to normal."""
    collector = GuiThreadGarbageCollector(interval_ms=100)
    collector.start()
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def _collect_after_each_test(gui_thread_gc: GuiThreadGarbageCollector) -> Iterator[None]:
    """Tests that never spin the event loop still get their garbage collected, here."""
    yield
    gui_thread_gc.collect_due()
