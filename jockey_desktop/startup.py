"""Start-up plumbing around the composition root: the QApplication, telling the user why the
app cannot start, the first-paint hook, parts built after it (:class:`Deferred`), the daily
backup, and quitting on Ctrl+C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from jockey_desktop import APP_NAME
from jockey_desktop.core.ports import ConversationStore, Runner
from jockey_desktop.options import AppOptions

if TYPE_CHECKING:
    from jockey_desktop.controllers.connection import Connection

log = logging.getLogger(__name__)

T = TypeVar("T")
Owner = TypeVar("Owner")


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
        from PySide6.QtWidgets import QMessageBox  # here: its type costs ms at start

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


class Deferred(Generic[T]):
    """A part of the app the first paint does not show: built once, by :meth:`get` — at its
    first use, or just after the first paint (the composition root asks for every deferred
    part then, so background work such as the upload queue's resume starts on its own).

    The build function imports its feature's modules itself: importing them is most of what
    deferring saves.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._building = False

    def get(self) -> T:
        """The part, built now if it was not yet (a build that failed is tried again)."""
        if self._value is None:
            if self._building:
                raise RuntimeError("a deferred part was asked for by its own build")
            self._building = True
            try:
                self._value = self._build()
            finally:
                self._building = False
        return self._value

    def built(self) -> T | None:
        """The part if it was built, else None (for shutdown: nothing is built to stop it)."""
        return self._value


class DeferredPart(Generic[Owner, T]):
    """A class attribute whose value, per instance, is a :class:`Deferred` built by
    ``build(instance)``: reading the attribute builds the part (once) and returns it;
    ``Class.attribute.of(instance)`` gives the :class:`Deferred` itself (to build the part
    after the first paint, or to stop it at quit only if it was built)."""

    def __init__(self, build: Callable[[Owner], T]) -> None:
        self._build = build
        self._slot = ""

    def __set_name__(self, owner: type[Owner], name: str) -> None:
        self._slot = f"_deferred_{name}"

    @overload
    def __get__(self, instance: None, owner: type[Owner]) -> DeferredPart[Owner, T]: ...

    @overload
    def __get__(self, instance: Owner, owner: type[Owner]) -> T: ...

    def __get__(self, instance: Owner | None, owner: type[Owner]) -> DeferredPart[Owner, T] | T:
        return self if instance is None else self.of(instance).get()

    def of(self, instance: Owner) -> Deferred[T]:
        """This part of ``instance`` (not built by asking)."""
        state: dict[str, Any] = vars(instance)
        part = state.get(self._slot)
        if part is None:
            build = self._build
            part = state[self._slot] = Deferred(lambda: build(instance))
        return part


def follow_client(connection: Connection, slot: Callable[[Any], object]) -> None:
    """``slot`` gets every client ``connection`` announces, starting with the current one: a
    part built after the connection was made must not wait for the next change."""
    connection.sig_client_changed.connect(slot)
    client = connection.client()
    if client is not None:
        slot(client)


def quit_on_signals(qapp: QApplication,
                    before_quit: Callable[[], object] | None = None) -> None:
    """Ctrl+C / SIGTERM quit through the normal path (streams saved, database closed).

    ``before_quit`` runs first (the quit guard: nobody is there to answer a question).
    Python only runs signal handlers when it gets control, which a Qt event loop rarely
    gives it; a cheap timer hands control back a few times a second.
    """
    def request_quit(_signum: int, _frame: FrameType | None) -> None:
        if before_quit is not None:
            before_quit()
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
