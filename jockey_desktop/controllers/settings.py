"""SettingsController: the API key and "test connection", always off the GUI thread.

A locked Secret Service can block on an unlock prompt, so every ``ApiKeyStore`` call runs on a
worker and reports back by signal. The key travels only inside this process (signals to the
composition root, which builds the client); it is never logged or put in a message.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from jockey_desktop.core.errors import describe_error
from jockey_desktop.core.ports import FullApiClient, Handle, KeyStore, Runner
from jockey_desktop.presentation.connection import (
    KeyVerdict,
    key_accepted_text,
    key_refused_text,
    key_unchecked_text,
)

if TYPE_CHECKING:
    from jockey_desktop.core.secrets import ApiKeyStore, KeyLocation, KeyLookup

#: ``(key, base_url or None) -> client`` for "Test connection" (closed after one call).
TestClientFactory = Callable[[str, str | None], FullApiClient]

log = logging.getLogger(__name__)

_LOCATION_TEXT = {
    "KEYCHAIN": "Stored in the OS keychain.",
    "ENVIRONMENT": "Taken from the TWELVELABS_API_KEY environment variable (not saved).",
    "MEMORY": "Kept in memory for this run only.",
    "UNREADABLE": ("The OS keychain could not be read just now; a key stored there is kept. "
                   "Unlock it, then open Settings again."),
    "NONE": "No API key is set.",
}


def describe_location(location: object, unavailable_reason: str | None = None) -> str:
    """A sentence saying where the key lives, with the reason when the credential store
    could not be used (no secure store, or a keychain that could not be read just now)."""
    name = getattr(location, "name", None) or str(location).rsplit(".", 1)[-1].upper()
    text = _LOCATION_TEXT.get(name, str(location))
    if name in ("MEMORY", "UNREADABLE") and unavailable_reason:
        text = unavailable_reason
    return text


def location_is_unreadable(location: object) -> bool:
    """True for ``KeyLocation.UNREADABLE``: a key may be stored where it could not be read."""
    return getattr(location, "name", None) == "UNREADABLE"


class LazyApiKeyStore:
    """An ``ApiKeyStore`` built on first use, which is on a worker thread.

    Importing ``core.secrets`` imports keyring and its backends (~20 ms); the window's first
    paint does not need them, the first key lookup runs on a worker anyway. Attribute access
    is forwarded to the real store (``get``, ``set``, ``delete``, ``location``, …).
    """

    def __init__(self, **options: str) -> None:
        self._options = options
        self._store: ApiKeyStore | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LazyApiKeyStore({self._options!r})"

    def real(self) -> ApiKeyStore:
        """The ``ApiKeyStore`` (created, and keyring imported, on the first call)."""
        with self._lock:
            if self._store is None:
                from jockey_desktop.core.secrets import ApiKeyStore

                self._store = ApiKeyStore(**self._options)
            return self._store

    def get(self) -> str | None:
        """The key in use, or None."""
        return self.real().get()

    def set(self, key: str) -> KeyLocation:
        """Store ``key``; returns where it went."""
        return self.real().set(key)

    def delete(self) -> None:
        """Forget the stored key."""
        self.real().delete()

    def location(self) -> KeyLocation:
        """Where the key in use comes from."""
        return self.real().location()

    def lookup(self) -> KeyLookup:
        """The key, where it comes from and what went wrong, with one keyring call."""
        return self.real().lookup()

    @property
    def unavailable_reason(self) -> str | None:
        """Why no secure store exists (for the settings dialog), or None."""
        return self.real().unavailable_reason

    @property
    def environment_override(self) -> bool:
        """True while ``TWELVELABS_API_KEY`` overrides the stored key."""
        return self.real().environment_override


def _load(key_store: KeyStore) -> tuple[str | None, str, bool, str | None]:
    """(key or None, where it is, whether the keychain could not be read, why the keychain
    could not be used or None): one keyring call when the store can say all at once (a locked
    keychain prompts once, not thrice)."""
    lookup = getattr(key_store, "lookup", None)
    if lookup is not None:
        found = lookup()
        key, location, problem = found.key, found.location, found.problem
    else:
        key = key_store.get()
        location = key_store.location()
        problem = getattr(key_store, "unavailable_reason", None)
    where = describe_location(location, problem)
    unreadable = location_is_unreadable(location)
    if key:
        # A key means a client is built next, on the GUI thread: import its module (requests,
        # ~50 ms) here on the worker so the window does not stall for it.
        import jockey_desktop.core.api.client  # noqa: F401
    return key, where, unreadable, problem


_SAVED_TO = {"KEYCHAIN": "the OS keychain", "MEMORY": "memory for this run only"}

#: Appended to "where the key was saved" while the environment variable overrides it.
ENV_PRECEDENCE_NOTE = (
    "the TWELVELABS_API_KEY environment variable still takes precedence for this run."
)


def _save(key_store: KeyStore, key: str) -> tuple[str, str]:
    """Store ``key``; returns (the key now in use, a sentence saying where it was saved).

    With ``TWELVELABS_API_KEY`` set the environment wins for the whole run (README,
    core.secrets): the saved key is kept for later runs, the app keeps the env key.
    """
    saved_to = key_store.set(key)
    where = describe_location(saved_to, getattr(key_store, "unavailable_reason", None))
    if getattr(key_store, "environment_override", False):
        in_use = key_store.get() or key
        name = getattr(saved_to, "name", str(saved_to))
        place = _SAVED_TO.get(name, "this computer")
        return in_use, f"Saved to {place}; {ENV_PRECEDENCE_NOTE}"
    return key, where


def _delete(key_store: KeyStore) -> str:
    """Remove the key; returns where a key would now come from. The store raises when the
    keychain could not be reached, so "removed" is never claimed for a key still stored."""
    key_store.delete()
    return _load(key_store)[1]


def _test_connection(client_factory: TestClientFactory, key: str, base_url: str | None) -> int:
    client = client_factory(key, base_url)
    try:
        return len(list(client.list_knowledge_stores()))
    finally:
        client.close()


class SettingsController(QObject):
    """Get, set, delete the key and test a connection; results by signals."""

    #: The key (or None) and where it is stored. Carries the secret: connect it only to the
    #: composition root, never to anything that logs or displays.
    sig_key_loaded = Signal(object, str)
    sig_key_saved = Signal(object, str)  # key, location text
    sig_key_removed = Signal(str)  # location text
    #: Remove did not happen (the keychain could not be reached): the sentence says so.
    sig_key_not_removed = Signal(str)
    sig_test_result = Signal(bool, str)
    #: What became of a key handed to :meth:`check_and_save_key`: a
    #: ``presentation.connection.KeyVerdict`` and the sentence the dialog shows.
    sig_key_checked = Signal(object, str)
    sig_error = Signal(str)

    def __init__(
        self,
        key_store: KeyStore,
        runner: Runner,
        client_factory: TestClientFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._key_store = key_store
        self._runner = runner
        self._client_factory = client_factory
        self._pending_key: str | None = None
        self._test_handle: Handle | None = None
        self._check_handle: Handle | None = None
        #: The last lookup met a keychain it could not read (locked…): ask again on next use.
        self.keychain_unreadable = False
        #: Why the last lookup could not use the keychain (locked, or no secure store at
        #: all: a key entered is then forgotten at quit), or None.
        self.keychain_problem: str | None = None
        #: The last lookup, save or removal left a key in use (the refusal says whether the
        #: key saved before stays).
        self.has_key = False
        # Key-store operations run one at a time, in the order asked. On a multi-thread pool a
        # load started before a save could otherwise finish after it and report the old state
        # ("No API key is set") over the new one.
        self._key_ops: deque[tuple[Callable[..., Any], tuple[Any, ...],
                                   Callable[[Any], None],
                                   Callable[[BaseException], None] | None]] = deque()
        self._key_op_running = False

    def _queue_key_op(self, fn: Callable[..., Any], *args: Any,
                      on_success: Callable[[Any], None],
                      on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._key_ops.append((fn, args, on_success, on_failure))
        self._next_key_op()

    def _next_key_op(self) -> None:
        if self._key_op_running or not self._key_ops:
            return
        fn, args, on_success, on_failure = self._key_ops.popleft()
        self._key_op_running = True

        def succeeded(result: object) -> None:
            self._key_op_running = False
            try:
                on_success(result)
            finally:
                self._next_key_op()

        def failed(error: BaseException) -> None:
            self._key_op_running = False
            try:
                self._on_failed(error)
                if on_failure is not None:
                    on_failure(error)
            finally:
                self._next_key_op()

        try:
            self._runner.submit(fn, self._key_store, *args, on_success=succeeded,
                                on_error=failed)
        except RuntimeError:
            # The runner is shut down (the app is closing): nothing more will run.
            self._key_op_running = False
            self._key_ops.clear()
            raise

    def load_key(self) -> None:
        """Read the stored key → ``sig_key_loaded(key or None, location text)``."""
        self._queue_key_op(_load, on_success=self._on_loaded)

    def save_key(self, key: str) -> None:
        """Store a new key → ``sig_key_saved(key in use, location text)``.

        The key in use is the environment's while ``TWELVELABS_API_KEY`` is set. A malformed
        key (inner whitespace, control or non-ASCII characters) is refused with
        ``sig_error(reason)`` and never stored.
        """
        key = key.strip()
        problem = _key_problem(key)
        if problem is not None:
            self.sig_error.emit(problem)
            return
        self._pending_key = key
        self._queue_key_op(_save, key, on_success=self._on_saved)

    def remove_key(self) -> None:
        """Forget the stored key → ``sig_key_removed(location text)``."""
        self._queue_key_op(_delete, on_success=self._on_removed)

    def test_connection(self, key: str, base_url: str | None = None) -> None:
        """List the stores with ``key`` → ``sig_test_result(ok, sentence)``."""
        if self._test_handle is not None:
            self._test_handle.cancel()
        if not key.strip():
            self.sig_test_result.emit(False, "Enter an API key first.")
            return
        problem = _key_problem(key) or _url_problem(base_url)
        if problem is not None:
            self.sig_test_result.emit(False, problem)
            return
        factory = self._client_factory or _default_client_factory
        self._test_handle = self._runner.submit(
            _test_connection, factory, key.strip(), base_url or None,
            on_success=self._on_test_ok, on_error=self._on_test_failed)

    def check_and_save_key(self, key: str, base_url: str | None = None) -> None:
        """Ask the server about ``key`` (its list of stores, on a worker), then save it:
        ``sig_key_checked(verdict, sentence)``. A key the server refuses (401) is not saved;
        one it could not judge (unreachable, failing, another address) is saved, with the
        reason. A save that follows also gives ``sig_key_saved`` as :meth:`save_key` does."""
        self.cancel_key_check()
        key = key.strip()
        problem = _key_problem(key) or _url_problem(base_url)
        if problem is not None:
            self.sig_key_checked.emit(KeyVerdict.REFUSED, problem)
            return
        factory = self._client_factory or _default_client_factory
        self._check_handle = self._runner.submit(
            _test_connection, factory, key, base_url or None,
            on_success=partial(self._on_key_check_ok, key),
            on_error=partial(self._on_key_check_failed, key))

    def cancel_key_check(self) -> None:
        """Forget a check still under way (the dialog was closed): its key is not saved."""
        if self._check_handle is not None:
            self._check_handle.cancel()
            self._check_handle = None

    def _on_key_check_ok(self, key: str, count: int) -> None:
        self._check_handle = None
        self._save_then_tell(key, KeyVerdict.ACCEPTED, key_accepted_text(count))

    def _on_key_check_failed(self, key: str, error: BaseException) -> None:
        self._check_handle = None
        from jockey_desktop.core.api import AuthenticationError, ForbiddenError

        if isinstance(error, AuthenticationError) and not isinstance(error, ForbiddenError):
            # Refused by the server: storing it would replace a working key with a dead one.
            self.sig_key_checked.emit(KeyVerdict.REFUSED, key_refused_text(
                had_key=self.has_key))
            return
        # The server could not judge it (down, 5xx, another service at that address, a
        # 403 that says the key is known): the user meant to save it, so it is saved.
        self._save_then_tell(key, KeyVerdict.UNCHECKED,
                             key_unchecked_text(describe_error(error).message))

    def _save_then_tell(self, key: str, verdict: KeyVerdict, sentence: str) -> None:
        def saved(result: tuple[str, str]) -> None:
            self._on_saved(result)
            self.sig_key_checked.emit(verdict, sentence)

        def not_saved(error: BaseException) -> None:
            # The dialog waits for a verdict: "Checking…" must not stay forever.
            self.sig_key_checked.emit(KeyVerdict.NOT_SAVED,
                                      f"The key could not be saved: {error}")

        self._pending_key = key
        self._queue_key_op(_save, key, on_success=saved, on_failure=not_saved)

    def _on_loaded(self, result: tuple[str | None, str, bool, str | None]) -> None:
        key, where, unreadable, problem = result
        self.has_key = bool(key)
        self.keychain_unreadable = unreadable
        self.keychain_problem = problem
        self.sig_key_loaded.emit(key, where)

    def _on_saved(self, result: tuple[str, str]) -> None:
        self._pending_key = None
        self.has_key = True
        key, where = result
        self.sig_key_saved.emit(key, str(where))

    def _on_removed(self, where: str) -> None:
        self.keychain_unreadable = False
        self.has_key = False
        self.sig_key_removed.emit(str(where))

    def _on_failed(self, error: BaseException) -> None:
        self._pending_key = None
        # Keyring errors do not contain the key; say what failed without a traceback.
        log.warning("API key store operation failed: %s", type(error).__name__)
        if _is_key_store_error(error):
            self.sig_key_not_removed.emit(str(error))
            self.sig_error.emit(str(error))
            return
        self.sig_error.emit(f"Could not access the key store: {error}")

    def _on_test_ok(self, n: int) -> None:
        self._test_handle = None
        noun = "knowledge store" if n == 1 else "knowledge stores"
        self.sig_test_result.emit(True, f"Connected — {n} {noun} available.")

    def _on_test_failed(self, error: BaseException) -> None:
        self._test_handle = None
        info = describe_error(error)
        self.sig_test_result.emit(False, info.message)


def _is_key_store_error(error: BaseException) -> bool:
    from jockey_desktop.core.secrets import KeyStoreError

    return isinstance(error, KeyStoreError)


def _key_problem(key: str) -> str | None:
    # Imported on use: core.secrets imports keyring (not needed before the first paint).
    from jockey_desktop.core.secrets import api_key_problem

    return api_key_problem(key)


def _url_problem(base_url: str | None) -> str | None:
    # Said before a client is made: the client refuses such a URL with a ValueError, which
    # the test's result then called a bug ("Something went wrong in the app").
    from jockey_desktop.core.api.urls import base_url_problem

    return base_url_problem(base_url) if base_url else None


def _default_client_factory(key: str, base_url: str | None) -> FullApiClient:
    from jockey_desktop.core.api import DEFAULT_BASE_URL, JockeyClient

    # No retries: the user pressed Test and waits for the answer of now (a refused
    # connection was retried with back-off, leaving "Testing…" for seconds); pressing Test
    # again is the retry.
    return JockeyClient(key, base_url or DEFAULT_BASE_URL, max_retries=0)
