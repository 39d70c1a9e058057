"""Composition root: builds every service, wires them to the window, starts, shuts down.

Nothing else constructs services and nothing here decides anything (docs/ARCHITECTURE.md, "The
application layer"). Signals are connected to bound ``@Slot`` methods, never to a lambda: a
lambda connected to a cross-thread signal would run in the sender's thread.
"""

from __future__ import annotations

import logging
import sys
from functools import partial
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from jockey_desktop import APP_NAME, __version__, deferred_wiring, wiring
from jockey_desktop.ask_wiring import wire_ask
from jockey_desktop.concurrency import GuiThreadGarbageCollector, TaskRunner, create_storage_runner
from jockey_desktop.controllers.changes import ChangeFeed
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.connection import Connection
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.controllers.damage import DamageGuard
from jockey_desktop.controllers.quitting import QuitGuard
from jockey_desktop.controllers.settings import LazyApiKeyStore, SettingsController
from jockey_desktop.controllers.stores import StoresController
from jockey_desktop.controllers.workspace import RESTORE_HINT, Workspace
from jockey_desktop.core.storage import Repository
from jockey_desktop.logs import close_logging, setup_logging
from jockey_desktop.options import AppOptions
from jockey_desktop.paths import AppPaths, configure_application_identity, resolve_paths
from jockey_desktop.settings import AppSettings
from jockey_desktop.startup import (
    DeferredPart,
    FirstPaintHook,
    ensure_qapp,
    quit_on_signals,
    start_daily_backup,
    tell,
)
from jockey_desktop.transcript_wiring import wire_transcript
from jockey_desktop.ui.main_window import MainWindow
from jockey_desktop.ui.quit_dialog import ask_about_held_writes
from jockey_desktop.ui.viewport import viewport_of

if TYPE_CHECKING:
    from jockey_desktop.single_instance import SingleInstanceGuard

__all__ = ["AppOptions", "JockeyDesktop", "run"]

log = logging.getLogger(__name__)


class JockeyDesktop(QObject):
    """The running application: services, controllers and the wired main window.

    Build with :meth:`create` (None when the app must not start, e.g. another instance holds
    the data dir), :meth:`start` it, and :meth:`shutdown` once before exit (also connected to
    ``QApplication.aboutToQuit``).
    """

    #: Sidebar rows read before the window shows; the rest are read on the storage runner
    #: once it has painted (a screenful is ~20 rows; 60 fill a 4K-tall sidebar).
    STARTUP_PAGE = 60
    #: Why the last :meth:`create` returned None: "already-running" (the running instance
    #: was asked to come forward — not an error), "already-running-unreachable", "data-dir",
    #: "database"; None after a successful create.
    last_start_failure: str | None = None

    guard: SingleInstanceGuard | None
    repo: Repository
    window: MainWindow

    # What the first paint does not show, built just after it (``_after_first_paint``) or at
    # its first use; ``deferred_wiring`` imports each feature's modules only then.
    #: The player's feature (its dock is built on the first citation click).
    player = DeferredPart(deferred_wiring.player)
    #: Uploads (the last run's queue resumes), store management, the stores view, drops.
    store_feature = DeferredPart(deferred_wiring.stores)
    #: One question asked of several stores (its view is built when opened).
    compare = DeferredPart(deferred_wiring.compare)
    #: Tells what finished while the window was in the background.
    notifications = DeferredPart(deferred_wiring.notifications)
    #: Starter questions of an empty conversation, drawn from its store's videos.
    starters = DeferredPart(deferred_wiring.starters)
    #: The ``@`` candidates: a store's ready videos and collections.
    mentions = DeferredPart(deferred_wiring.mentions)

    def __init__(self, qapp: QApplication, options: AppOptions, paths: AppPaths) -> None:
        super().__init__()
        self.qapp = qapp
        self.options = options
        self.paths = paths
        self.guard = None
        self.first_paint: FirstPaintHook | None = None
        #: A sentence about what happened when the database opened (recovered, migrated…).
        self.startup_notice: str | None = None
        self._log_handler: logging.Handler | None = None
        self._list_complete = True
        self._shut_down = False

    # ----------------------------------------------------------------- build

    @classmethod
    def create(cls, options: AppOptions, qapp: QApplication | None = None) -> JockeyDesktop | None:
        """Build everything; None when the app must exit (reason shown/logged already)."""
        JockeyDesktop.last_start_failure = None
        qapp = qapp or ensure_qapp()
        configure_application_identity(qapp)
        try:
            paths = resolve_paths(options.data_dir)
        except Exception as exc:  # DataDirError: a sentence for the user
            return cls._fail("data-dir", options, "Cannot start", str(exc))
        self = cls(qapp, options, paths)
        self._log_handler = setup_logging(paths)
        log.info("%s %s starting; data dir %s", APP_NAME, __version__, paths.data_dir)
        if (options.single_instance and not self._acquire_instance()) \
                or not self._open_repository():
            self._release()
            return None
        self._build()
        self._wire()
        qapp.aboutToQuit.connect(self.shutdown)
        return self

    @staticmethod
    def _fail(reason: str, options: AppOptions, title: str, text: str) -> None:
        JockeyDesktop.last_start_failure = reason
        log.error("%s: %s", title, text)
        tell(options, title, text, critical=True)

    def _acquire_instance(self) -> bool:
        # QtNetwork is imported only when the guard is used (not by the self-test or probes).
        from jockey_desktop.single_instance import SingleInstanceGuard, server_name_for_data_dir

        self.guard = SingleInstanceGuard(self.paths.lock_file,
                                         server_name_for_data_dir(self.paths.data_dir), self)
        if self.guard.try_acquire():
            return True
        if not self.guard.held_by_another():
            # The lock file could not be written (a read-only folder): not "already running".
            self._fail("data-dir", self.options, "Cannot start", self.guard.lock_error_text())
            return False
        if self.guard.notify_running_instance():
            JockeyDesktop.last_start_failure = "already-running"
            log.info("another instance is running; asked it to come forward")
            print(f"{APP_NAME} is already running; its window was brought forward.",
                  file=sys.stderr)
        else:
            self._fail("already-running-unreachable", self.options,
                       f"{APP_NAME} is already running",
                       f"Another {APP_NAME} is using {self.paths.data_dir}. "
                       f"{self.guard.lock_error_text()}")
        return False

    def _open_repository(self) -> bool:
        from jockey_desktop.core import storage
        from jockey_desktop.core.storage import database

        try:
            # The daily backup waits until the window is up (``_after_first_paint``); a
            # backup before a migration still happens here, before the upgrade.
            with database.deferring_daily_backup():
                repo = storage.open_repository(self.paths.database, self.paths.backups)
        except Exception as exc:
            too_new = isinstance(exc, storage.DatabaseTooNewError)
            # A too-new database's sentence already names the file and says it was left
            # untouched; saying it twice read as two different problems.
            self._fail("database", self.options,
                       "Conversations saved by a newer version" if too_new
                       else "Cannot open the conversation history",
                       str(exc) if too_new else
                       f"{exc}\n\nThe file was left untouched: {self.paths.database}")
            return False
        # A damaged page met later takes the same path as one met here (controllers.damage).
        self.damage_guard = DamageGuard(repo)
        self.repo = cast(Repository, self.damage_guard)
        report = self.repo.open_report
        notice = report.user_message() if report is not None else None
        if notice and report.moved_aside and self.repo.latest_backup() is not None:
            notice = f"{notice} {RESTORE_HINT}"
        self.startup_notice = notice or None
        return True

    def _build(self) -> None:
        options = self.options
        # Python's cyclic GC runs here, on the GUI thread, never in a worker (see concurrency).
        self.collector = GuiThreadGarbageCollector(parent=self)
        self.collector.start()
        self.settings = AppSettings(self.paths.settings_file, self)
        # Network and keyring calls; a stream does not use it (the chat has its own pool).
        self.runner = TaskRunner(parent=self)
        # Every SQLite write and slow read, in order, on one thread.
        self.storage_runner = create_storage_runner(self)
        self.feed = ChangeFeed(self)
        # keyring is imported by the first key lookup, on a worker (not before the first paint).
        self.keys = SettingsController(LazyApiKeyStore(), self.runner, parent=self)
        self.connection = Connection(
            self.settings, self.keys, sandbox_requested=options.sandbox,
            api_base=options.api_base, sandbox_pace=options.sandbox_pace,
            sandbox_state_dir=self.paths.sandbox_state, parent=self)
        self.conversations = ConversationsController(self.repo, self.storage_runner, self.feed,
                                                     parent=self)
        self.chat = ChatController(self.repo, self.storage_runner, self.feed, parent=self)
        self.stores = StoresController(self.runner, settings=self.settings, parent=self)

        from jockey_desktop.ui import theme

        preference = self.settings.theme
        theme.apply_theme(self.qapp, None if preference == "system" else preference)
        self.window = MainWindow(settings=self.settings)
        self.window.interactive = options.interactive
        self.workspace = Workspace(self.repo, self.storage_runner, self.feed,
                                   self.conversations, self.chat, self.stores, self.settings,
                                   self.window, parent=self)
        self.damage_guard.listener = self.workspace.report_damage
        self.quit_guard = QuitGuard(self.chat, self.conversations,
                                    partial(ask_about_held_writes, self.window),
                                    interactive=options.interactive,
                                    folder=self.paths.database.parent, parent=self)
        self.window.set_folders(self.paths.data_dir, self.paths.logs)

    def _wire(self) -> None:
        wiring.wire_connection(self)
        wiring.wire_conversation(self)
        wiring.wire_changes(self)
        wiring.wire_chat(self)
        wiring.wire_stores(self)
        # Selections (chips), "Also search the web", the agent's steps; the turn actions.
        self.ask = wire_ask(self)
        wire_transcript(self)

    # ----------------------------------------------------------------- start

    def start(self, show: bool = True) -> None:
        """Fill the sidebar's first page, reopen the last conversation, show the window.

        Everything the first paint does not show waits until it is over
        (``_after_first_paint``): the server connection, the rest of the list, the backup.
        """
        first_page = self.conversations.summaries(limit=self.STARTUP_PAGE)
        self.window.sidebar.set_summaries(first_page)
        self._list_complete = len(first_page) < self.STARTUP_PAGE
        if show:
            self.window.show()
        w = self.window
        self.first_paint = FirstPaintHook(
            [w, viewport_of(w.sidebar.list_view)], self._after_first_paint,
            wait=show, parent=self)
        # The sandbox, the HTTP client (requests) and keyring cost 20–80 ms of imports each:
        # connected after the first paint, but what the user will see is shown now.
        self.connection.prepare()
        self.workspace.restore_last()
        # Typing right after start-up goes to the question box (a hidden window remembers
        # the focus widget and gives it focus when shown).
        self.window.focus_composer()
        if self.startup_notice:
            # A damaged file moved aside deserves a banner that stays (and a dialog when
            # interactive); interrupted answers are visible and retryable in their
            # conversations, so the status bar is enough for them.
            damaged = self.repo.open_report.moved_aside is not None
            if damaged:
                self.window.show_damaged_notice(self.startup_notice,
                                                self.repo.latest_backup() is not None)
            else:
                self.window.show_notice(self.startup_notice)

    @Slot()
    def _after_first_paint(self) -> None:
        """The window is on screen: build the rest, connect, read the rest of the list, take
        the backup."""
        if self._shut_down:
            return
        self.window.apply_app_icon()
        for part in (JockeyDesktop.player, JockeyDesktop.store_feature, JockeyDesktop.compare,
                     JockeyDesktop.notifications, JockeyDesktop.starters,
                     JockeyDesktop.mentions):
            part.of(self).get()
        if self.options.freeze_gc:
            # What start-up built lives as long as the app: out of the collector's sight, so
            # the full collections while an answer streams stay short.
            self.collector.freeze()
        self.connection.connect_now()
        from jockey_desktop.ui.warm_up import warm_up_transcript_types

        # Its own pass of the event loop: this one is long enough already.
        QTimer.singleShot(0, warm_up_transcript_types)
        if not self._list_complete:
            self.conversations.load_all_summaries()
        # After the list on the same one-thread runner: the user sees every row first.
        start_daily_backup(self.storage_runner, self.repo)

    # ----------------------------------------------------------------- quit

    @Slot()
    def shutdown(self) -> None:
        """Stop streams (partial text saved), write pending drafts, stop the sandbox, close
        the database. Bounded: well under 2 s even with streams in flight."""
        if self._shut_down:
            return
        self._shut_down = True
        log.info("shutting down")
        self.quit_guard.quit_without_asking()  # a window closed from now on just closes
        if self.first_paint is not None:
            self.first_paint.cancel()  # nothing more to start; and no filter outlives the app
        self.window.flush_draft()
        self.conversations.shutdown()
        self.chat.shutdown(timeout_s=1.0)
        for feature in (JockeyDesktop.player.of(self).built(),
                        JockeyDesktop.store_feature.of(self).built(),
                        JockeyDesktop.notifications.of(self).built()):
            if feature is not None:
                feature.shutdown()
        # The drafts and the ends of interrupted turns are queued on the storage runner:
        # let them reach the disk before the database closes.
        if not self.storage_runner.drain(3000):
            log.warning("writes were still running at quit; they are recovered at next start")
        self.chat.log_writes_lost_at_quit()
        for runner in (self.runner, self.storage_runner):
            runner.shutdown(300)
        self.connection.shutdown()
        self.settings.sync()
        self.feed.close()
        self.repo.close()
        self.collector.stop()
        self._release()

    def _release(self) -> None:
        if self.guard is not None:
            self.guard.release()
            self.guard = None
        close_logging(self._log_handler)
        self._log_handler = None


def run(options: AppOptions) -> int:
    """Build and run the app until the window closes; returns the exit code."""
    qapp = ensure_qapp()
    desktop = JockeyDesktop.create(options, qapp)
    if desktop is None:
        # A second launch that brought the first window forward did what the user wanted.
        return 0 if JockeyDesktop.last_start_failure == "already-running" else 1
    desktop.start()
    quit_on_signals(qapp, before_quit=desktop.quit_guard.quit_without_asking)
    try:
        return int(qapp.exec())
    finally:
        desktop.shutdown()
