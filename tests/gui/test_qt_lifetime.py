"""Guards against a PySide 6.11 lifetime trap that segfaulted the window tests.

A non-static getter that returns an object Qt owns — ``QObject.thread()``, ``QWidget.screen()``
— goes through shiboken's return-value heuristic: the returned wrapper becomes a Python "child"
of the object it was called on. When that object is later freed by the cyclic garbage
collector, shiboken deletes the C++ object too: the main thread's ``QThread`` (after which
``QThread.currentThread()`` is None and the next plugin load crashes in ``moveToThread``) or a
``QScreen``. The app must reach such objects through static calls only
(``QThread.currentThread()``, ``QGuiApplication.primaryScreen()``/``screenAt()``).
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

import jockey_desktop
from jockey_desktop.concurrency import TaskRunner

#: Getters whose result Qt owns and PySide would wrongly adopt as a child of the receiver.
QT_OWNED_GETTERS = {"thread", "screen"}


def test_app_code_never_calls_qt_owned_getters() -> None:
    package = Path(jockey_desktop.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and not node.args and not node.keywords
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in QT_OWNED_GETTERS):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == [], f"use a static Qt call instead of .thread()/.screen(): {offenders}"


def test_a_collected_task_runner_leaves_the_main_thread_alive(
    qtbot: Any, qapp: QApplication
) -> None:
    main_thread = QThread.currentThread()
    assert main_thread is not None
    qapp.thread()  # as the GUI tests do: the wrapper's first Python "parent" is the app
    del main_thread

    results: list[int] = []
    runner = TaskRunner(name="lifetime")
    runner.submit(lambda: 7, on_success=results.append)
    qtbot.waitUntil(lambda: results == [7], timeout=5_000)
    assert runner.shutdown(1_000)
    runner.cycle = runner  # type: ignore[attr-defined]  # freed only by the cyclic GC
    del runner
    gc.collect()

    # With the old self.thread() check the C++ main QThread was deleted right here.
    assert QThread.currentThread() is not None
    assert QThread.currentThread() is qapp.thread()
