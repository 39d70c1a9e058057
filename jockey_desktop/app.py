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

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication

from jockey_desktop import APP_NAME, __version__, deferred_wiring
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
    #: once it has painted (a screenful is ~20 rows; 200 leave room to scroll meanwhile).
    STARTUP_PAGE = 200
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
            self._fail("database", self.options,
                       "Conversations saved by a newer version" if too_new
                       else "Cannot open the conversation history",
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
        w, feed, conn, ws = self.window, self.feed, self.connection, self.workspace
        pane, sidebar, picker = w.chat_pane, w.sidebar, w.store_picker
        chat, conv, stores = self.chat, self.conversations, self.stores

        # The connection: one announcement of the client, every user of it subscribed.
        conn.sig_client_changed.connect(chat.set_client)
        conn.sig_client_changed.connect(stores.set_client)
        conn.sig_status_changed.connect(w.show_connection)
        conn.sig_key_state_changed.connect(w.set_key_state)
        conn.sig_settings_values.connect(w.set_settings_values)
        conn.sig_notice.connect(w.show_transient)
        conn.sig_no_client_reason.connect(chat.set_no_client_reason)
        self.keys.sig_test_result.connect(w.set_test_result)
        self.keys.sig_error.connect(w.show_transient)
        w.sig_settings_requested.connect(conn.refresh_settings)
        w.sig_save_key.connect(conn.save_key)
        w.sig_remove_key.connect(conn.remove_key)
        w.sig_test_connection.connect(conn.test_connection)
        w.sig_apply_settings.connect(conn.apply_settings)
        w.sig_try_sandbox_requested.connect(conn.try_sandbox)

        # The conversation on screen.
        ws.sig_opened.connect(pane.show_opened)
        ws.sig_cleared.connect(pane.clear)
        ws.sig_lost.connect(pane.clear_keeping_typed)
        ws.sig_current_changed.connect(sidebar.select_conversation)
        ws.sig_store_selected.connect(picker.select_store)
        ws.sig_focus_composer.connect(w.focus_composer)
        ws.sig_notice.connect(w.show_transient)
        ws.sig_refused.connect(pane.show_refusal)
        ws.sig_retry_refused.connect(pane.show_reason)
        ws.sig_message.connect(w.show_message)
        ws.sig_damaged.connect(w.show_damaged_notice)
        sidebar.sig_conversation_selected.connect(ws.open)
        sidebar.sig_new_requested.connect(ws.new_conversation)
        sidebar.sig_delete_requested.connect(ws.delete)
        w.sig_new_conversation.connect(ws.new_conversation)
        w.sig_restore_backup_requested.connect(ws.restore_newest_backup)
        picker.sig_current_changed.connect(ws.on_store_shown)
        picker.sig_current_changed.connect(pane.on_store_picked)
        picker.sig_store_chosen.connect(ws.choose_store)
        # A send or retry faster than the first paint connects first instead of refusing.
        pane.sig_send_requested.connect(conn.connect_now)
        pane.sig_send_requested.connect(ws.send)
        pane.sig_retry_requested.connect(conn.connect_now)
        pane.sig_retry_requested.connect(ws.retry)
        pane.sig_stop_requested.connect(ws.stop)
        pane.sig_draft_changed.connect(ws.save_draft)

        # One change path: the feed, read once per change by each view.
        feed.sig_changed.connect(pane.apply_changes)
        conv.sig_conversation_updated.connect(sidebar.upsert_summary)
        conv.sig_conversation_updated.connect(pane.on_summary_updated)
        conv.sig_conversation_removed.connect(sidebar.remove_conversation)
        conv.sig_summaries_loaded.connect(sidebar.add_summaries)
        conv.sig_summaries_reset.connect(sidebar.set_summaries)
        conv.sig_search_results.connect(sidebar.show_search_results)
        conv.sig_notice.connect(w.show_transient)
        conv.sig_markdown_ready.connect(w.copy_conversation_text)
        conv.sig_error.connect(w.show_transient)
        sidebar.sig_rename_requested.connect(conv.rename)
        sidebar.sig_pin_requested.connect(conv.set_pinned)
        sidebar.sig_search_requested.connect(conv.search)
        # After sidebar.sig_conversation_selected (ws.open): the hit's conversation is shown.
        sidebar.sig_search_hit_opened.connect(pane.reveal_search_hit)
        w.sig_import_chosen.connect(conv.import_file)
        sidebar.sig_export_requested.connect(w.export_conversation)
        w.sig_export_chosen.connect(conv.export_one)
        w.sig_copy_conversation.connect(conv.copy_markdown)

        # The chat's live state (not stored): each view keeps its own conversation's.
        chat.sig_stream_text.connect(pane.on_stream_text)
        chat.sig_busy_changed.connect(pane.on_busy_changed)
        chat.sig_refused.connect(pane.on_refused)
        chat.sig_notice.connect(w.on_chat_notice)
        chat.sig_held_changed.connect(sidebar.set_held_conversations)
        # Closing with answers a full disk could not take tries them, then asks.
        w.close_guard = self.quit_guard.may_close
        self.quit_guard.sig_close_approved.connect(w.close)
        self.quit_guard.sig_notice.connect(w.show_transient)

        # The store list.
        picker.sig_refresh_requested.connect(stores.refresh)
        stores.sig_loading.connect(picker.set_loading)
        stores.sig_stores_loaded.connect(picker.set_stores)
        stores.sig_stores_loaded.connect(ws.on_stores_loaded)
        stores.sig_stores_failed.connect(picker.set_error)
        if self.guard is not None:
            self.guard.sig_activate_requested.connect(w.bring_to_front)
        # Selections (chips), "Also search the web", the agent's steps.
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
            [w, w.sidebar.list_view.viewport()], self._after_first_paint,
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
        for part in (JockeyDesktop.player, JockeyDesktop.store_feature, JockeyDesktop.compare,
                     JockeyDesktop.notifications, JockeyDesktop.starters,
                     JockeyDesktop.mentions):
            part.of(self).get()
        if self.options.freeze_gc:
            # What start-up built lives as long as the app: out of the collector's sight, so
            # the full collections while an answer streams stay short.
            self.collector.freeze()
        self.connection.connect_now()
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
