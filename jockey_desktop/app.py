"""Composition root: builds every service, injects them, connects the window, cleans up.

Nothing else in the app constructs services. ``JockeyDesktop`` owns, in order of creation:
the data paths, the log file, the single-instance guard, the repository, the settings, two
task runners (network/keyring work, and a one-thread storage runner), the optional in-process
sandbox, the controllers and the main window. Widgets never talk to the core: every widget
signal is connected here to a bound ``@Slot`` method (never a lambda — a lambda connected to a
cross-thread signal would run in the sender's thread).

Routing rule: the ChatController reports every conversation; only the current conversation's
updates reach the ChatPane, while the sidebar hears about all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from jockey_desktop import APP_NAME, __version__
from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.controllers.media import ThumbnailLoader
from jockey_desktop.controllers.settings import LazyApiKeyStore, SettingsController
from jockey_desktop.controllers.stores import StoresController
from jockey_desktop.paths import AppPaths, configure_application_identity, resolve_paths
from jockey_desktop.settings import AppSettings

log = logging.getLogger(__name__)

_LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


@dataclass(frozen=True)
class AppOptions:
    """What the command line asked for (see ``__main__``)."""

    sandbox: bool = False
    api_base: str | None = None
    data_dir: str | None = None
    #: The sandbox's pace: "realistic" for people, "fast" for the self-test, or a
    #: ``sandbox.Pace`` (tests).
    sandbox_pace: Any = "realistic"
    #: Skip the single-instance guard (the self-test runs in a private data dir).
    single_instance: bool = True
    #: Show modal dialogs (False in tests and the self-test: report to the log instead).
    interactive: bool = True


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of ``python -m jockey_desktop``."""
    parser = argparse.ArgumentParser(
        prog="jockey-desktop",
        description=f"{APP_NAME} {__version__} — explore video collections with TwelveLabs "
                    "Jockey.")
    parser.add_argument("--sandbox", action="store_true",
                        help="run against the built-in sandbox server (no API key needed)")
    parser.add_argument("--api-base", metavar="URL",
                        help="use another Jockey-compatible server (base URL ending in /v1.3)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="keep conversations, settings and logs in DIR")
    parser.add_argument("--self-test", action="store_true",
                        help="hold a three-turn conversation offscreen and exit 0 on success")
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--frozen-checks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser


# --------------------------------------------------------------------------- logging


class _RedactingFilter(logging.Filter):
    """Replaces any registered secret in log records (defence in depth: nobody logs the key)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        """``text`` with every registered secret replaced."""
        for secret in self.secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        redacted = self.redact(text)
        if redacted != text:
            record.msg, record.args = redacted, None
        # A formatted traceback can hold the key too (an exception's repr, a local shown by
        # a frame line): format it here, redact it, and hand the handler the text only. The
        # Formatter uses ``exc_text`` as is; ``exc_info`` is dropped so no handler
        # re-formats the original.
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_EXC_FORMATTER = logging.Formatter()


_redactor = _RedactingFilter()


def register_secret(secret: str | None) -> None:
    """Never let ``secret`` reach the log file, whoever logs it."""
    if secret:
        _redactor.secrets.add(secret)


def setup_logging(paths: AppPaths) -> logging.Handler | None:
    """Log INFO and up to a rotating file in the data dir's logs/ (never to the console)."""
    try:
        # Created 0600 whatever the umask: it names conversations and servers.
        os.close(os.open(paths.log_file, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
        handler = logging.handlers.RotatingFileHandler(
            paths.log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        print(f"{APP_NAME}: cannot write the log file {paths.log_file}: {exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(_redactor)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # urllib3 logs request lines at DEBUG only; keep it quiet regardless of the root level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler


# --------------------------------------------------------------------------- the root


class JockeyDesktop(QObject):
    """The running application: services, controllers and the wired main window.

    Build with :meth:`create` (returns None and explains when the app must not start, e.g.
    another instance holds the data dir). Call :meth:`shutdown` once before exit (it is also
    connected to ``QApplication.aboutToQuit``).
    """

    def __init__(self, qapp: QApplication, options: AppOptions, paths: AppPaths) -> None:
        super().__init__()
        self.qapp = qapp
        self.options = options
        self.paths = paths
        self.guard: Any = None
        self.repo: Any = None
        self.sandbox: Any = None
        self.window: Any = None
        self._log_handler: logging.Handler | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._key: str | None = None
        self._base_url: str | None = None
        self._mode = "none"  # "sandbox" | "api" | "none" (no key yet)
        self._shut_down = False
        #: A sentence about what happened when the database opened (recovered, migrated…).
        self._startup_notice: str | None = None

    # ----------------------------------------------------------------- construction

    #: Why the last :meth:`create` returned None: "already-running" (the running instance
    #: was asked to come forward — not an error), "already-running-unreachable", "data-dir",
    #: "database"; None after a successful create.
    last_start_failure: str | None = None

    @classmethod
    def create(cls, options: AppOptions, qapp: QApplication | None = None) -> JockeyDesktop | None:
        """Build everything; None when the app must exit (reason shown/logged already)."""
        JockeyDesktop.last_start_failure = None
        qapp = qapp or _ensure_qapp()
        configure_application_identity(qapp)
        try:
            paths = resolve_paths(options.data_dir)
        except Exception as exc:  # DataDirError: a sentence for the user
            JockeyDesktop.last_start_failure = "data-dir"
            _tell(options, "Cannot start", str(exc), critical=True)
            return None
        self = cls(qapp, options, paths)
        self._log_handler = setup_logging(paths)
        log.info("%s %s starting; data dir %s", APP_NAME, __version__, paths.data_dir)
        if options.single_instance and not self._acquire_instance():
            self._close_log()
            return None
        if not self._open_repository():
            self._release_instance()
            self._close_log()
            return None
        self._collector = _GuiThreadCollector(self)
        self._build_services()
        self._build_window()
        self._connect()
        qapp.aboutToQuit.connect(self.shutdown)
        return self

    def _acquire_instance(self) -> bool:
        from jockey_desktop.single_instance import SingleInstanceGuard, server_name_for_data_dir

        self.guard = SingleInstanceGuard(self.paths.lock_file,
                                         server_name_for_data_dir(self.paths.data_dir), self)
        if self.guard.try_acquire():
            return True
        if self.guard.notify_running_instance():
            JockeyDesktop.last_start_failure = "already-running"
            log.info("another instance is running; asked it to come forward")
            print(f"{APP_NAME} is already running; its window was brought forward.",
                  file=sys.stderr)
        else:
            JockeyDesktop.last_start_failure = "already-running-unreachable"
            _tell(self.options, f"{APP_NAME} is already running",
                  f"Another {APP_NAME} is using {self.paths.data_dir}. "
                  f"{self.guard.lock_error_text()}", critical=True)
        return False

    def _release_instance(self) -> None:
        if self.guard is not None:
            self.guard.release()
            self.guard = None

    def _open_repository(self) -> bool:
        from jockey_desktop.core import storage
        from jockey_desktop.core.storage import database

        try:
            # The daily backup waits until the window is up (``_after_first_paint``); a
            # backup before a migration still happens here, before the upgrade.
            with database.deferring_daily_backup():
                self.repo = storage.open_repository(self.paths.database, self.paths.backups)
        except Exception as exc:
            JockeyDesktop.last_start_failure = "database"
            too_new = type(exc).__name__ == "DatabaseTooNewError"
            log.error("cannot open the conversation database: %s", exc)
            title = ("Conversations saved by a newer version" if too_new
                     else "Cannot open the conversation history")
            _tell(self.options, title,
                  f"{exc}\n\nThe file was left untouched: {self.paths.database}", critical=True)
            return False
        report = self.repo.open_report
        self._startup_notice = _describe_open_report(report)
        if self._startup_notice and report.moved_aside:
            self._startup_notice = f"{self._startup_notice} {self.RESTORE_HINT}"
        return True

    def _build_services(self) -> None:
        self.settings = AppSettings(self.paths.settings_file, self)
        # Network and keyring calls; a stream does not use it (the chat has its own pool).
        self.runner = TaskRunner(parent=self)
        # Slow SQLite work (search, export), serialised on one thread.
        self.storage_runner = TaskRunner(max_threads=1, parent=self)
        # keyring is imported by the first key lookup, on a worker (not before the first paint).
        self.key_store = LazyApiKeyStore()
        self.chat = ChatController(self.repo, parent=self)
        self.conversations = ConversationsController(self.repo, self.storage_runner, parent=self)
        self.stores = StoresController(self.runner, settings=self.settings, parent=self)
        self.settings_controller = SettingsController(
            self.key_store, self.runner, client_factory=self._new_client, parent=self)
        self.thumbnails = ThumbnailLoader(self.runner, parent=self)

    def _build_window(self) -> None:
        from jockey_desktop.ui import theme
        from jockey_desktop.ui.main_window import MainWindow

        preference = self.settings.theme
        theme.apply_theme(self.qapp, None if preference == "system" else preference)
        self.window = MainWindow(settings=self.settings)
        self.window.setWindowTitle(APP_NAME)

    # ----------------------------------------------------------------- wiring

    def _connect(self) -> None:
        w = self.window
        pane, sidebar, picker = w.chat_pane, w.sidebar, w.store_picker
        chat, conv = self.chat, self.conversations

        pane.sig_send_requested.connect(self.on_send_requested)
        pane.sig_stop_requested.connect(self.on_stop_requested)
        pane.sig_retry_requested.connect(self.on_retry_requested)
        pane.sig_draft_changed.connect(self.on_draft_changed)
        pane.sig_copy_conversation_requested.connect(self.copy_conversation)
        pane.set_thumbnail_loader(self.thumbnails.load)

        chat.sig_message_added.connect(self.on_message_added)
        chat.sig_message_changed.connect(self.on_message_changed)
        chat.sig_stream_text.connect(self.on_stream_text)
        chat.sig_busy_changed.connect(self.on_busy_changed)
        chat.sig_conversation_changed.connect(self.on_conversation_changed)
        chat.sig_notice.connect(self.on_notice)

        sidebar.sig_conversation_selected.connect(self.open_conversation)
        sidebar.sig_new_requested.connect(self.new_conversation)
        sidebar.sig_rename_requested.connect(conv.rename)
        sidebar.sig_pin_requested.connect(conv.set_pinned)
        sidebar.sig_delete_requested.connect(self.delete_conversation)
        sidebar.sig_export_requested.connect(self.export_conversation)
        sidebar.sig_search_requested.connect(conv.search)

        conv.sig_conversation_added.connect(sidebar.upsert_summary)
        conv.sig_conversation_updated.connect(sidebar.upsert_summary)
        conv.sig_conversation_updated.connect(self.on_summary_updated)
        conv.sig_conversation_removed.connect(sidebar.remove_conversation)
        conv.sig_search_results.connect(sidebar.show_search_results)
        conv.sig_summaries_loaded.connect(sidebar.add_summaries)
        conv.sig_export_done.connect(self.on_export_done)
        conv.sig_error.connect(self.on_error_message)

        picker.sig_store_chosen.connect(self.on_store_chosen)
        picker.sig_refresh_requested.connect(self.stores.refresh)
        self.stores.sig_loading.connect(picker.set_loading)
        self.stores.sig_stores_loaded.connect(self.on_stores_loaded)
        self.stores.sig_stores_failed.connect(picker.set_error)

        self.settings_controller.sig_key_loaded.connect(self.on_key_loaded)
        self.settings_controller.sig_key_saved.connect(self.on_key_saved)
        self.settings_controller.sig_key_removed.connect(self.on_key_removed)
        self.settings_controller.sig_error.connect(self.on_error_message)

        w.sig_new_conversation.connect(self.new_conversation)
        w.sig_export_requested.connect(self.export_current)
        w.sig_settings_requested.connect(self.on_settings_opened)
        w.sig_copy_conversation.connect(self.copy_conversation)
        w.sig_enter_key_requested.connect(w.open_settings)
        w.sig_try_sandbox_requested.connect(self.on_try_sandbox)
        w.sig_restore_backup_requested.connect(self.on_restore_backup_requested)

        dialog = w.settings_dialog
        dialog.sig_save_key.connect(self.settings_controller.save_key)
        dialog.sig_remove_key.connect(self.settings_controller.remove_key)
        dialog.sig_test_connection.connect(self.on_test_connection)
        dialog.sig_apply.connect(self.on_settings_applied)
        self.settings_controller.sig_test_result.connect(dialog.set_test_result)
        if self.guard is not None:
            self.guard.sig_activate_requested.connect(self.bring_to_front)

    # ----------------------------------------------------------------- start

    #: Sidebar rows read before the window shows; the rest are read on the storage runner
    #: once it has painted (a screenful is ~20 rows; 200 leave room to scroll meanwhile).
    STARTUP_PAGE = 200

    def start(self, show: bool = True) -> None:
        """Choose the mode (sandbox / API / welcome), fill the sidebar, show the window.

        Work the first paint does not need waits until it is over (``_after_first_paint``):
        the rest of the conversation list and the daily backup, both on the storage runner.
        """
        self._list_complete = self.window_set_summaries(limit=self.STARTUP_PAGE)
        if show:
            self.window.show()
        self._first_paint_hook = _FirstPaintHook(
            [self.window, self.window.sidebar.list_view.viewport(), self.window.welcome],
            self._after_first_paint, wait=show, parent=self)
        # The server connection is made just after the first paint (``_connect_server``):
        # the sandbox, the HTTP client (requests) and keyring cost 20–80 ms of imports each.
        # What the user will see is set now, so the first paint already shows it.
        self._env_key = os.environ.get("TWELVELABS_API_KEY") if self.options.api_base else None
        if self.options.sandbox or (not self.options.api_base and self.settings.use_sandbox):
            self._pending_connection = "sandbox"
            self.window.show_main()
            self.window.set_connection("Sandbox")
        elif self._env_key:
            self._pending_connection = "env-key"
            self.window.show_main()
        else:
            self._pending_connection = "keyring"
        last = self.settings.last_conversation_id
        if last is not None and self.repo.get_conversation(last) is not None:
            self.open_conversation(last)
            self.window.sidebar.select_conversation(last)
        # Typing right after start-up goes to the question box (a hidden window remembers
        # the focus widget and gives it focus when shown).
        self.focus_composer()
        notice = self._startup_notice
        if notice:
            # A damaged file moved aside deserves a banner that stays (and a dialog when
            # interactive); interrupted answers are visible and retryable in their
            # conversations, so the status bar is enough for them.
            damaged = self.repo.open_report.moved_aside is not None
            self.window.show_notice(notice, important=damaged)
            if self.options.interactive and damaged:
                QTimer.singleShot(0, self._show_startup_notice)

    @Slot()
    def _show_startup_notice(self) -> None:
        QMessageBox.warning(self.window, APP_NAME, self._startup_notice)

    #: How to restore, added to the damaged-database notice.
    RESTORE_HINT = "To do that, use File → Restore newest backup…"

    def window_set_summaries(self, limit: int | None = None) -> bool:
        """Load the sidebar from the repository (the newest ``limit`` rows when given);
        returns True when every conversation is now listed."""
        summaries = self.conversations.summaries(limit=limit)
        self.window.sidebar.set_summaries(summaries)
        return limit is None or len(summaries) < limit

    @Slot()
    def _after_first_paint(self) -> None:
        """The window is on screen: read the rest of the list, then take the daily backup."""
        if self._shut_down:
            return
        self._connect_server()
        if not getattr(self, "_list_complete", True):
            self.conversations.load_all_summaries()
        # After the list on the same one-thread runner: the user sees every row first.
        self.storage_runner.submit(_daily_backup_if_due, self.repo,
                                   on_success=self._on_daily_backup_done,
                                   on_error=self._on_daily_backup_failed)

    def _connect_server(self) -> None:
        """Start the sandbox, use the server named on the command line, or look up the key
        (on a worker) — whichever ``start`` chose."""
        pending, self._pending_connection = getattr(self, "_pending_connection", None), None
        if pending == "sandbox":
            if self._mode != "sandbox":  # not already chosen meanwhile
                self.start_sandbox_mode()
        elif pending == "env-key":
            key, self._env_key = self._env_key, None  # kept once, in the client's owner
            if self._mode == "none" and key:
                self._use_api(key, self.options.api_base)
        elif pending == "keyring":
            self.settings_controller.load_key()

    @Slot(object)
    def _on_daily_backup_done(self, path: object) -> None:
        if path is not None:
            log.info("daily backup written after start-up")

    @Slot(object)
    def _on_daily_backup_failed(self, error: object) -> None:
        # Not worth interrupting the user: tomorrow's start tries again; the log says why.
        log.warning("the daily backup failed: %s", error)

    @Slot()
    def start_sandbox_mode(self) -> None:
        """Start the in-process sandbox (once) and use it as the server."""
        from jockey_desktop.sandbox import SANDBOX_API_KEY, Pace, SandboxServer

        if self.sandbox is None:
            pace = self.options.sandbox_pace
            if isinstance(pace, str):
                pace = Pace.instant() if pace == "fast" else Pace.realistic()
            self.sandbox = SandboxServer(state_dir=self.paths.sandbox_state, pace=pace)
            base_url = self.sandbox.start()
            log.info("sandbox started at %s", base_url)
        self._mode = "sandbox"
        self._use_api(SANDBOX_API_KEY, self.sandbox.base_url, mode="sandbox")

    def _use_api(self, key: str, base_url: str | None, mode: str = "api") -> None:
        from jockey_desktop.core.api import DEFAULT_BASE_URL
        from jockey_desktop.core.api.urls import base_url_problem

        problem = base_url_problem(base_url or DEFAULT_BASE_URL)
        if problem is not None:
            # A stored (or hand-edited) base URL that would send the key in clear text: no
            # client is built, the user is told why and where to fix it.
            log.warning("refusing the configured API base URL: %s", problem)
            self._mode = "none"
            self.window.set_connection("Not connected")
            self.window_notice(f"{problem} Change the API base URL in Settings.")
            self.window.show_welcome()
            return
        register_secret(key if mode != "sandbox" else None)
        self._key = key
        self._base_url = base_url or DEFAULT_BASE_URL
        self._mode = mode
        client = self._client_for(key, self._base_url)
        self.chat.set_client(client)
        self.stores.set_client(client)
        self.window.show_main()
        if mode == "sandbox":
            self.window.set_connection("Sandbox")
        else:
            host = self._base_url.split("://", 1)[-1].split("/", 1)[0]
            self.window.set_connection(host, _proxy_of(client))
        self.stores.refresh()

    def _new_client(self, key: str, base_url: str | None) -> Any:
        from jockey_desktop.core.api import DEFAULT_BASE_URL, JockeyClient

        return JockeyClient(key, base_url or DEFAULT_BASE_URL)

    def _client_for(self, key: str, base_url: str) -> Any:
        """One client per (base_url, key): its connection pool is reused across turns."""
        import hashlib

        # The cache key holds a digest, not the key: nothing keeps the secret twice.
        cache_key = (base_url, hashlib.sha256(key.encode()).hexdigest())
        client = self._clients.get(cache_key)
        if client is None:
            client = self._new_client(key, base_url)
            self._clients[cache_key] = client
        return client

    # ----------------------------------------------------------------- key and settings

    @Slot(object, str)
    def on_key_loaded(self, key: object, where: str) -> None:
        """Start on the API when a key exists, else show the welcome page."""
        self.window.settings_dialog.set_key_location(where)
        self.window.settings_dialog.set_has_key(bool(key))
        if self._mode == "sandbox" or (self._mode == "api" and key == self._key):
            return
        if key:
            self._use_api(str(key), self.options.api_base or self.settings.api_base_url)
        elif self._mode == "none":
            self.window.show_welcome()

    @Slot(object, str)
    def on_key_saved(self, key: object, where: str) -> None:
        """A new key: use it (unless the sandbox was chosen) and say where it is kept."""
        self.window.settings_dialog.set_key_location(where)
        self.window.settings_dialog.set_has_key(bool(key))
        if self._mode == "api" and key == self._key:
            # TWELVELABS_API_KEY is set: the controller reports the env key as the key in use
            # (it wins for the whole run); nothing to switch.
            return
        if key and self._mode != "sandbox":
            self._use_api(str(key), self.options.api_base or self.settings.api_base_url)

    @Slot(str)
    def on_key_removed(self, where: str) -> None:
        """The key is gone: API mode stops (back to the welcome page); the sandbox goes on."""
        self.window.settings_dialog.set_key_location(where)
        self.window.settings_dialog.set_has_key(False)
        if self._mode == "api":
            self._mode = "none"
            self._key = None
            self.chat.set_client(None)
            self.stores.set_client(None)
            self.window.set_connection("Not connected")
            self.window.show_welcome()

    @Slot()
    def show_settings(self) -> None:
        """Open the settings dialog (the window refreshes it through ``on_settings_opened``)."""
        self.window.open_settings()

    @Slot()
    def on_settings_opened(self) -> None:
        """Fill the dialog with the current choices and where the key is stored."""
        dialog = self.window.settings_dialog
        dialog.set_values(self.settings.api_base_url, self._mode == "sandbox")
        client = self.chat.client()
        dialog.set_proxy(_proxy_of(client) if client is not None and self._mode == "api"
                         else None)
        self.settings_controller.load_key()

    @Slot(str, str)
    def on_test_connection(self, key: str, base_url: str) -> None:
        """Test the typed key (or the key in use) against the typed server (or the one in
        use, which may come from --api-base)."""
        in_use = self._mode == "api"
        if not key.strip() and in_use and self._key:
            key = self._key
        server = (base_url or (self._base_url if in_use else None)
                  or self.options.api_base or self.settings.api_base_url
                  or self._default_base_url())
        self.settings_controller.test_connection(key, server)

    @staticmethod
    def _default_base_url() -> str:
        from jockey_desktop.core.api import DEFAULT_BASE_URL

        return DEFAULT_BASE_URL

    @Slot()
    def on_try_sandbox(self) -> None:
        """The welcome page's "Try the sandbox": remembered for the next start."""
        self.settings.use_sandbox = True
        self.start_sandbox_mode()

    @Slot(str, bool)
    def on_settings_applied(self, base_url: str, use_sandbox: bool) -> None:
        """Save the server choice and switch to it."""
        changed = (base_url or None) != self.settings.api_base_url
        self.settings.api_base_url = base_url or None
        self.settings.use_sandbox = bool(use_sandbox)
        if use_sandbox:
            if self._mode != "sandbox":
                self.start_sandbox_mode()
        elif self._mode == "sandbox" or changed:
            self._mode = "none"
            self.chat.set_client(None)
            self.stores.set_client(None)
            self.window.set_connection("Not connected")
            self.settings_controller.load_key()

    # ----------------------------------------------------------------- conversations

    @property
    def _current_id(self) -> int | None:
        # The pane is the single source of truth for "the conversation on screen": it still
        # names the previous conversation while it flushes that one's draft on a switch.
        return self.window.chat_pane.current_conversation_id()  # type: ignore[no-any-return]

    def current_conversation_id(self) -> int | None:
        """The conversation shown in the chat pane."""
        return self._current_id

    def focus_composer(self) -> None:
        """Put the keyboard focus in the question box, unless the user is typing a search."""
        search = self.window.sidebar.search_field
        if self.window.focusWidget() is search and search.text().strip():
            return  # a search is active and being typed: do not steal its keystrokes
        self.window.chat_pane.composer.edit.setFocus()

    def _is_empty_and_undrafted(self, conversation_id: int) -> bool:
        """No message, nothing typed, nothing streaming: a conversation worth nothing."""
        pane = self.window.chat_pane
        if pane.current_conversation_id() == conversation_id and pane.composer_text().strip():
            return False
        if self.conversations.draft(conversation_id).strip():
            return False
        return (not self.chat.is_busy(conversation_id)
                and not self.conversations.messages_page(conversation_id, 1))

    @Slot(int)
    def open_conversation(self, conversation_id: int) -> None:
        """Show a conversation: its transcript, its own draft, its live stream state.

        Leaving a conversation that has no message and no draft deletes it, so empty
        conversations never pile up in the sidebar (the user made it and typed nothing).
        """
        conversation = self.conversations.conversation(conversation_id)
        if conversation is None:
            return
        pane = self.window.chat_pane
        previous = pane.current_conversation_id()
        drop_previous = (previous is not None and previous != conversation_id
                         and self._is_empty_and_undrafted(previous))
        # The newest page only; older pages are read as the user scrolls up, so opening (and
        # reopening the last conversation at start) costs the same for 10 or 1,000 messages.
        from jockey_desktop.ui.chat_view import PAGE_SIZE

        page = self.conversations.messages_page(conversation_id, PAGE_SIZE)
        older = (partial(self.conversations.older_messages, conversation_id)
                 if len(page) >= PAGE_SIZE else None)
        # Flushes the previous conversation's draft (to that one), then loads this one's.
        pane.show_conversation(conversation, page, load_older=older)
        pane.set_busy(self.chat.is_busy(conversation_id))
        for message_id, text in self.chat.live_texts(conversation_id):
            pane.set_stream_text(message_id, text)
        self.window.store_picker.select_store(conversation.store_id)
        self.window.set_conversation_title(conversation.title)
        self.settings.last_conversation_id = conversation_id
        if drop_previous and previous is not None:
            self.conversations.delete(previous)
        self.focus_composer()

    @Slot()
    def new_conversation(self) -> int | None:
        """Start a conversation on the picked store; returns its id (None: no store yet).

        When the conversation on screen is already empty (no message, no draft) and on that
        store, it is the new conversation: the composer gets the focus and no second empty
        row is made. (A typed draft is kept: its conversation stays, a new one is made.)
        """
        store = self.window.store_picker.current_store()
        if store is None:
            self.window_notice("Pick a knowledge store first (the picker above the chat).")
            return None
        current_id = self._current_id
        if current_id is not None:
            current = self.conversations.conversation(current_id)
            if (current is not None and current.store_id == store.id
                    and self._is_empty_and_undrafted(current_id)):
                self.focus_composer()
                return int(current_id)
        conversation = self.conversations.create(store.id, store.name)
        self.open_conversation(conversation.id)
        self.window.sidebar.select_conversation(conversation.id)
        return int(conversation.id)

    @Slot(int)
    def delete_conversation(self, conversation_id: int) -> None:
        """Delete (already confirmed by the sidebar); a stream in it is stopped first."""
        self.chat.stop(conversation_id)
        self.conversations.delete(conversation_id)
        if conversation_id == self._current_id:
            self.window.chat_pane.clear()
            self.settings.last_conversation_id = None

    # ----------------------------------------------------------------- backups

    @Slot()
    def on_restore_backup_requested(self) -> None:
        """File → "Restore newest backup…": confirm, stop streams, restore on the storage
        runner (the current state is backed up first), then reload what is on screen."""
        if getattr(self, "_restoring", False):
            return
        latest = self.repo.latest_backup()
        if latest is None:
            self._tell_user("No backup to restore",
                            "There is no backup of your conversations yet. A backup is taken "
                            "once a day while the app runs, and before every upgrade.")
            return
        text = (f"Replace all conversations with the newest backup?\n\n{latest}\n\n"
                "Answers in progress are stopped. The current conversations are backed up "
                "first, so this can be undone by restoring again.")
        if not self._confirm_restore_backup(text):
            return
        self._restoring = True
        for conversation_id in self.chat.busy_conversations():
            self.chat.stop(conversation_id)
        # Nothing typed before the restore may be written into the restored conversations
        # (ids are reused): write pending drafts now, then show no conversation.
        self.window.chat_pane.composer.flush_draft()
        self.conversations.flush_drafts()
        self._restore_reopen = self._current_id
        self.window.chat_pane.clear()
        self.conversations.flush_drafts()
        self.window_notice("Restoring the newest backup…")
        self.storage_runner.submit(self.repo.restore_backup, latest,
                                   on_success=self._on_backup_restored,
                                   on_error=self._on_backup_restore_failed)

    def _confirm_restore_backup(self, text: str) -> bool:
        return self.window.confirm_restore_backup(text)

    @Slot(object)
    def _on_backup_restored(self, path: object) -> None:
        self._restoring = False
        if self._shut_down:
            return
        name = getattr(path, "name", str(path))
        log.info("restored the backup %s", name)
        self._list_complete = self.window_set_summaries()
        reopen = getattr(self, "_restore_reopen", None)
        if reopen is not None and self.repo.get_conversation(reopen) is not None:
            self.open_conversation(reopen)
            self.window.sidebar.select_conversation(reopen)
        else:
            self.settings.last_conversation_id = None
        self._tell_user("Backup restored",
                        f"Restored the backup {name}. The conversations from before the "
                        "restore were saved as a backup too.")

    @Slot(object)
    def _on_backup_restore_failed(self, error: object) -> None:
        self._restoring = False
        if self._shut_down:
            return
        log.error("restoring the backup failed: %s", error)
        self._list_complete = self.window_set_summaries()
        self._tell_user("Could not restore the backup", f"The backup was not restored: {error}",
                        warning=True)

    def _tell_user(self, title: str, text: str, *, warning: bool = False) -> None:
        """The status bar always; a dialog too when people (not tests) are watching."""
        self.window_notice(text)
        if self.options.interactive:
            box = QMessageBox.warning if warning else QMessageBox.information
            box(self.window, title, text)

    @Slot(str)
    def on_send_requested(self, text: str) -> None:
        """The composer's Send: a new conversation is made on the picked store if needed.

        The composer has already cleared itself and cleared the stored draft.
        """
        # Faster than the first paint (a script, a test): connect now rather than refuse.
        self._connect_server()
        conversation_id = self._current_id
        if conversation_id is None:
            conversation_id = self.new_conversation()
            if conversation_id is None:
                self.window.chat_pane.show_refusal(
                    "Pick a knowledge store first, then ask your question.")
                return
        refusal = self.chat.send(conversation_id, text)
        if refusal:
            # The composer cleared itself on send; this puts the text back with the reason.
            self.window.chat_pane.show_refusal(refusal)

    @Slot()
    def on_stop_requested(self) -> None:
        """Stop the current conversation's answer."""
        if self._current_id is not None:
            self.chat.stop(self._current_id)

    @Slot(int)
    def on_retry_requested(self, message_id: int) -> None:
        """Retry a failed turn; a refusal is shown in the pane."""
        self._connect_server()
        refusal = self.chat.retry(message_id)
        if refusal:
            self.window.chat_pane.show_refusal(refusal)

    @Slot(str)
    def on_draft_changed(self, text: str) -> None:
        """Save the draft of the conversation on screen (and only that one)."""
        if self._current_id is not None:
            self.conversations.save_draft(self._current_id, text)

    # ----------------------------------------------------------------- chat routing

    @Slot(int, object)
    def on_message_added(self, conversation_id: int, message: object) -> None:
        """A new row: shown only if it belongs to the conversation on screen."""
        if conversation_id == self._current_id:
            self.window.chat_pane.append_message(message)

    @Slot(int, object)
    def on_message_changed(self, conversation_id: int, message: object) -> None:
        """A row changed (status, text, citations, error)."""
        if conversation_id == self._current_id:
            self.window.chat_pane.replace_message(message)

    @Slot(int, int, str)
    def on_stream_text(self, conversation_id: int, message_id: int, text: str) -> None:
        """Throttled partial text of a streaming answer."""
        if conversation_id == self._current_id:
            self.window.chat_pane.set_stream_text(message_id, text)

    @Slot(int, bool)
    def on_busy_changed(self, conversation_id: int, busy: bool) -> None:
        """Streaming started/ended: the composer's Stop, and the sidebar's badge."""
        if conversation_id == self._current_id:
            self.window.chat_pane.set_busy(busy)
        self.conversations.refresh(conversation_id)

    @Slot(int)
    def on_conversation_changed(self, conversation_id: int) -> None:
        """Title/session/activity changed: sidebar row, and the header if on screen."""
        # The refreshed summary also updates the header (``on_summary_updated``).
        self.conversations.refresh(conversation_id)

    @Slot(object)
    def on_summary_updated(self, summary: object) -> None:
        """A renamed (or otherwise changed) conversation on screen: refresh its header."""
        conversation = summary.conversation  # type: ignore[attr-defined]
        if conversation.id == self._current_id:
            self.window.chat_pane.update_header(conversation)
            self.window.set_conversation_title(conversation.title)

    @Slot(int, str)
    def on_notice(self, conversation_id: int, text: str) -> None:
        """A notice about one conversation: in the pane if on screen, else the status bar."""
        if conversation_id == self._current_id:
            self.window.chat_pane.show_notice(text)
        else:
            self.window_notice(text)

    # ----------------------------------------------------------------- stores

    @Slot(object)
    def on_stores_loaded(self, stores: object) -> None:
        """Show the stores and choose one: the open conversation's, else the one chosen last
        time, else (once readiness is known) the first store with ready videos."""
        picker = self.window.store_picker
        wanted: str | None = None
        if self._current_id is not None:
            conversation = self.repo.get_conversation(self._current_id)
            wanted = conversation.store_id if conversation is not None else None
        wanted = wanted or self.stores.last_store_id()
        if wanted is None and not self.stores.is_loading():
            # The first list arrives before item counts; only the complete one knows which
            # stores can answer, so a store still indexing is not chosen by accident.
            first = self.stores.first_ready_store()
            wanted = first.id if first is not None else None
        picker.set_stores(stores)
        if wanted and any(s.id == wanted for s in stores):  # type: ignore[attr-defined]
            picker.select_store(wanted)

    @Slot(str)
    def on_store_chosen(self, store_id: str) -> None:
        """Remember the store; a conversation bound to another store → offer a new one."""
        self.stores.remember_store(store_id)
        if self._current_id is None:
            return
        conversation = self.repo.get_conversation(self._current_id)
        if conversation is None or conversation.store_id == store_id:
            return
        if not self.conversations.messages(self._current_id):
            # Nothing asked yet: replace the empty conversation by one on the chosen store,
            # carrying over whatever was typed, instead of sending it to the old store.
            self._replace_empty_conversation(self._current_id)
            return
        store = self.stores.store(store_id)
        name = store.name if store is not None else store_id
        if self.window.confirm_new_conversation_on(name):
            self.new_conversation()
        else:
            self.window.store_picker.select_store(conversation.store_id)

    def _replace_empty_conversation(self, old_id: int) -> None:
        pane = self.window.chat_pane
        draft = pane.composer_text()
        new_id = self.new_conversation()
        if new_id is None:
            return
        if self.conversations.conversation(old_id) is not None:  # not already dropped
            self.conversations.delete(old_id)
        if draft:
            pane.set_composer_text(draft)
            self.conversations.save_draft(new_id, draft)

    # ----------------------------------------------------------------- export / copy

    @Slot(int, str)
    def export_conversation(self, conversation_id: int, fmt: str) -> None:
        """Ask where, then export one conversation off the GUI thread."""
        conversation = self.repo.get_conversation(conversation_id)
        name = conversation.title if conversation and conversation.title else "conversation"
        path = self.window.ask_export_path(fmt, name)
        if path:
            self.conversations.export([conversation_id], fmt, path)

    @Slot(str)
    def export_current(self, fmt: str) -> None:
        """The window's Export menu: the conversation on screen."""
        if self._current_id is not None:
            self.export_conversation(self._current_id, fmt or "markdown")

    @Slot(str)
    def on_export_done(self, path: str) -> None:
        """Tell the user where the export went."""
        self.window_notice(f"Exported to {path}")

    @Slot()
    def copy_conversation(self) -> None:
        """Copy the conversation on screen as Markdown."""
        if self._current_id is None:
            return
        from jockey_desktop.core.storage import export as storage_export

        text = storage_export.export_markdown(self.repo, [self._current_id])
        QGuiApplication.clipboard().setText(text)
        self.window_notice("Conversation copied.")

    @Slot(str)
    def on_error_message(self, text: str) -> None:
        """A controller error with no better place: the status bar."""
        self.window_notice(text)

    def window_notice(self, text: str) -> None:
        """A short message in the window's status bar."""
        if self.window is not None:
            self.window.show_status(text, 8000)

    @Slot()
    def bring_to_front(self) -> None:
        """Another launch asked us to show ourselves."""
        window = self.window
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()

    # ----------------------------------------------------------------- quit

    @Slot()
    def shutdown(self) -> None:
        """Stop streams (partial text saved), flush drafts, stop the sandbox, close the DB.

        Bounded: the whole thing takes well under 2 s even with streams in flight.
        """
        if self._shut_down:
            return
        self._shut_down = True
        log.info("shutting down")
        hook = getattr(self, "_first_paint_hook", None)
        if hook is not None:
            hook.cancel()  # nothing more to start; and no filter outlives the app
        if self.window is not None and self._current_id is not None:
            self.settings.last_conversation_id = self._current_id
            self.window.chat_pane.composer.flush_draft()
        self.conversations.shutdown()
        self.chat.shutdown(timeout_s=1.0)
        for runner in (self.runner, self.storage_runner):
            runner.shutdown(300)
        if self.sandbox is not None:
            self.sandbox.stop()
        for client in self._clients.values():
            try:
                client.close()
            except Exception:
                log.debug("closing a client failed", exc_info=True)
        self.settings.sync()
        self.repo.close()
        self._release_instance()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None


# --------------------------------------------------------------------------- helpers


def _daily_backup_if_due(repo: Any) -> Any:
    """Take the daily backup when the newest is over a day old (runs on the storage runner).

    Returns the new backup's path, or None when none was due.
    """
    from jockey_desktop.core.storage import database

    if not database.backup_is_due(repo.backup_dir, repo.db_path):
        return None
    return repo.backup_now("daily")


class _FirstPaintHook(QObject):
    """Calls ``callback`` once, just after the first paint of any of ``widgets``.

    "Just after": a zero timer started from the paint fires once the paint pass is over.
    ``wait=False`` (the window is not shown) or no paint within ``FALLBACK_MS`` (a window
    started minimised, a platform that never exposes it) calls it anyway.
    """

    FALLBACK_MS = 1000
    #: True once fired or cancelled. The class value also answers for a wrapper whose
    #: Python state is already gone while Qt still delivers an event to the filter.
    _done = True

    def __init__(self, widgets: list[Any], callback: Any, *, wait: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._widgets = [w for w in widgets if w is not None]
        self._callback = callback
        self._done = False
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
        if not self._done and event.type() == QEvent.Type.Paint:
            self._fallback.start(0)
        return False

    @Slot()
    def fire(self) -> None:
        """Call the callback (once) and stop watching."""
        if self.cancel():
            self._callback()

    def cancel(self) -> bool:
        """Stop watching without calling back; False if that was done already."""
        if self._done:
            return False
        self._done = True
        self._fallback.stop()
        for widget in self._widgets:
            with contextlib.suppress(RuntimeError):  # a widget already deleted
                widget.removeEventFilter(self)
        self._widgets = []
        return True


def _ensure_qapp() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    return QApplication(sys.argv[:1])


def _proxy_of(client: Any) -> str | None:
    try:
        return client.proxy_for_base_url()  # type: ignore[no-any-return]
    except Exception:  # an odd proxy setting must not stop the window from showing
        log.debug("could not determine the proxy", exc_info=True)
        return None


def _tell(options: AppOptions, title: str, text: str, *, critical: bool = False) -> None:
    """A startup problem: a dialog for people, stderr for scripts."""
    log.error("%s: %s", title, text)
    print(f"{APP_NAME}: {title}: {text}", file=sys.stderr)
    if options.interactive and QApplication.instance() is not None:
        box = QMessageBox.critical if critical else QMessageBox.information
        box(None, title, text)


def _describe_open_report(report: Any) -> str | None:
    """A sentence about what happened when the database was opened, if worth telling."""
    if report is None:
        return None
    message = report.user_message() if hasattr(report, "user_message") else None
    return str(message) if message else None


class _GuiThreadCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    Automatic collection runs in whichever thread happens to allocate; if that is a worker
    and the garbage holds a Qt object, Qt deletes it off its thread and the process can
    crash. So automatic collection is switched off and this timer collects instead.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ticks = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.collect)
        gc.disable()
        self._timer.start()

    @Slot()
    def collect(self) -> None:
        """Young generations every second, everything every 30 s (as cheap as the default)."""
        self._ticks += 1
        gc.collect(2 if self._ticks % 30 == 0 else 1)


def run(options: AppOptions) -> int:
    """Build and run the app until the window closes; returns the exit code."""
    qapp = _ensure_qapp()
    desktop = JockeyDesktop.create(options, qapp)
    if desktop is None:
        # A second launch that brought the first window forward did what the user wanted.
        return 0 if JockeyDesktop.last_start_failure == "already-running" else 1
    desktop.start()
    _quit_on_signals(qapp)
    try:
        return int(qapp.exec())
    finally:
        desktop.shutdown()


def _quit_on_signals(qapp: QApplication) -> None:
    """Ctrl+C / SIGTERM quit through the normal path (streams saved, database closed).

    Python only runs signal handlers when it gets control, which a Qt event loop rarely
    gives it; a cheap timer hands control back a few times a second.
    """
    import signal

    def request_quit(_signum: int, _frame: Any) -> None:
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
