"""Start-up plumbing around the composition root: the QApplication, telling the user why the
app cannot start, the first-paint hook, the daily backup, and quitting on Ctrl+C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from jockey_desktop import APP_NAME
from jockey_desktop.core.ports import ConversationStore, Runner
from jockey_desktop.options import AppOptions

log = logging.getLogger(__name__)


def ensure_qapp() -> QApplication:
    """The running QApplication, created when there is none yet."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    return QApplication(sys.argv[:1])


def tell(options: AppOptions, title: str, text: str, *, critical: bool = False) -> None:
    """A start-up problem: a dialog for people, stderr for scripts (the caller logs it)."""
    print(f"{APP_NAME}: {title}: {text}", file=sys.stderr)
    if options.interactive and QApplication.instance() is not None:
        icon = QMessageBox.Icon.Critical if critical else QMessageBox.Icon.Information
        box = QMessageBox(icon, title, text)
        box.setTextFormat(Qt.TextFormat.PlainText)  # paths, OS and storage sentences
        box.addButton(QMessageBox.StandardButton.Ok)
        box.exec()


def start_daily_backup(storage: Runner, repo: ConversationStore) -> None:
    """Queue the daily backup on the storage runner (a failure is logged, not shown: not
    worth interrupting the user, tomorrow's start tries again)."""
    storage.submit(daily_backup_if_due, repo, on_success=_backup_done, on_error=_backup_failed)


def _backup_done(path: Path | None) -> None:
    if path is not None:
        log.info("daily backup written after start-up")


def _backup_failed(error: BaseException) -> None:
    log.warning("the daily backup failed: %s", error)


def daily_backup_if_due(repo: ConversationStore) -> Path | None:
    """Take the daily backup when the newest is over a day old (runs on the storage runner).

    Returns the new backup's path, or None when none was due.
    """
    from jockey_desktop.core.storage import database

    if not database.backup_is_due(repo.backup_dir, repo.db_path):
        return None
    return repo.backup_now("daily")


class FirstPaintHook(QObject):
    """Calls ``callback`` once, just after the first paint of any of ``widgets``.

    "Just after": a zero timer started from the paint fires once the paint pass is over.
    ``wait=False`` (the window is not shown) or no paint within ``FALLBACK_MS`` (a window
    started minimised, a platform that never exposes it) calls it anyway.
    """

    FALLBACK_MS = 1000
    #: True once fired or cancelled. The class value also answers for a wrapper whose
    #: Python state is already gone while Qt still delivers an event to the filter.
    done = True

    def __init__(self, widgets: list[QWidget], callback: Callable[[], object], *,
                 wait: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._widgets = list(widgets)
        self._callback = callback
        self.done = False
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.timeout.connect(self.fire)
        if wait:
            for widget in self._widgets:
                widget.installEventFilter(self)
            self._fallback.start(self.FALLBACK_MS)
        else:
            self._fallback.start(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """On the first Paint event: call back once the event loop is free again."""
        if not self.done and event.type() == QEvent.Type.Paint:
            self._fallback.start(0)
        return False

    @Slot()
    def fire(self) -> None:
        """Call the callback (once) and stop watching."""
        if self.cancel():
            self._callback()

    def cancel(self) -> bool:
        """Stop watching without calling back; False if that was done already."""
        if self.done:
            return False
        self.done = True
        self._fallback.stop()
        for widget in self._widgets:
            with contextlib.suppress(RuntimeError):  # a widget already deleted
                widget.removeEventFilter(self)
        self._widgets = []
        return True


def quit_on_signals(qapp: QApplication) -> None:
    """Ctrl+C / SIGTERM quit through the normal path (streams saved, database closed).

    Python only runs signal handlers when it gets control, which a Qt event loop rarely
    gives it; a cheap timer hands control back a few times a second.
    """
    def request_quit(_signum: int, _frame: FrameType | None) -> None:
        qapp.quit()

    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, request_quit)
    timer = QTimer(qapp)
    timer.setInterval(250)
    timer.timeout.connect(_let_python_run)
    timer.start()


def _let_python_run() -> None:
    """Nothing: the call itself lets the interpreter run pending signal handlers."""
