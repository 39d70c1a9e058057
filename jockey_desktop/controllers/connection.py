"""Connection: which server the app talks to, with which key, through which client.

One object owns the connection state the rest of the app reads: the mode
(:class:`ConnectionMode`), the key in use, the base URL, the cached clients, the in-process
sandbox's lifecycle, the precedence of ``TWELVELABS_API_KEY`` with ``--api-base``, and the
label (host and proxy) shown in the status bar. Whenever the client to use changes it says so
once, with ``sig_client_changed(client or None)``; the chat, the stores (and whatever needs
the API next) subscribe to that instead of being told one by one.

Start-up is split in two so the first paint waits for nothing: :meth:`prepare` decides what to
do and announces what the window should show (cheap), :meth:`connect_now` does it (starts the
sandbox, imports the HTTP client, or asks the key store on a worker) once the window is up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.controllers.settings import SettingsController
from jockey_desktop.core.ports import FullApiClient
from jockey_desktop.logs import register_secret
from jockey_desktop.presentation.connection import (
    NOT_CONNECTED,
    SANDBOX_LABEL,
    ConnectionMode,
    ConnectionStatus,
)
from jockey_desktop.settings import AppSettings

if TYPE_CHECKING:
    from jockey_desktop.sandbox import Pace, SandboxServer

log = logging.getLogger(__name__)

#: The environment variable holding an API key (used as is with ``--api-base``).
ENV_KEY = "TWELVELABS_API_KEY"

#: ``(key, base_url) -> client``; tests inject one that builds fakes.
ClientFactory = Callable[[str, str], FullApiClient]


class _Plan(Enum):
    """What :meth:`Connection.connect_now` will do, as decided by :meth:`Connection.prepare`."""

    NOTHING = "nothing"
    SANDBOX = "sandbox"
    ENV_KEY = "env-key"
    KEY_STORE = "key-store"


#: Why "Try the sandbox" did nothing: ``why`` is ": <OS reason>." or ".".
SANDBOX_NOT_STARTED_TEXT = ("The sandbox could not be started{why} The details are in the log "
                            "(Help → Open logs).")


def _default_factory(key: str, base_url: str) -> FullApiClient:
    from jockey_desktop.core.api import JockeyClient

    return JockeyClient(key, base_url)


def _default_base_url() -> str:
    from jockey_desktop.core.api import DEFAULT_BASE_URL

    return DEFAULT_BASE_URL


def _proxy_of(client: FullApiClient) -> str | None:
    try:
        proxy = client.proxy_for_base_url()
    except Exception:  # an odd proxy setting must not stop the window from showing
        log.debug("could not determine the proxy", exc_info=True)
        return None
    return str(proxy) if proxy else None


def _host_of(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0]


class Connection(QObject):
    """The connection state machine; see the module docstring."""

    #: The client new work must use changed (JockeyClient, or None: nothing to talk to).
    #: Emitted once per change.
    sig_client_changed = Signal(object)
    #: What the window shows changed: a ``presentation.connection.ConnectionStatus``.
    sig_status_changed = Signal(object)
    #: Where the key is kept (a sentence) and whether there is one; never the key itself.
    sig_key_state_changed = Signal(str, bool)
    #: The settings dialog's values: API base URL (or None), sandbox on, proxy (or None).
    sig_settings_values = Signal(object, bool, object)
    #: A problem the user must read (a refused base URL, a keychain that could not be read).
    sig_notice = Signal(str)
    #: Why there is no client, when it is not simply "no key" ("" otherwise): the chat says
    #: it instead of "No API key is set" while a locked keychain may hold one.
    sig_no_client_reason = Signal(str)
    #: Why a key could not be read from, or kept in, the keychain while there is none ("" once
    #: there is a key): the welcome page says it, so a key asked for again is not a mystery.
    sig_key_problem = Signal(str)

    def __init__(
        self,
        settings: AppSettings,
        keys: SettingsController,
        *,
        sandbox_requested: bool = False,
        api_base: str | None = None,
        sandbox_pace: Pace | str = "realistic",
        sandbox_state_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        client_factory: ClientFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._keys = keys
        self._sandbox_requested = sandbox_requested
        self._api_base = api_base
        self._sandbox_pace = sandbox_pace
        self._sandbox_state_dir = sandbox_state_dir
        self._environ = environ if environ is not None else os.environ
        #: Builds the clients (key, base URL); tests replace it to see what would be built.
        self.client_factory: ClientFactory = client_factory or _default_factory
        self._mode = ConnectionMode.NONE
        self._key: str | None = None
        self._base_url: str | None = None
        self._client: FullApiClient | None = None
        # One client per (base URL, key digest): its connection pool is reused across turns.
        # The digest, not the key: nothing keeps the secret twice.
        self._clients: dict[tuple[str, str], FullApiClient] = {}
        self._sandbox: SandboxServer | None = None
        self._plan = _Plan.NOTHING
        self._env_key: str | None = None
        self._status = ConnectionStatus(ConnectionMode.NONE, NOT_CONNECTED)
        keys.sig_key_loaded.connect(self._on_key_loaded)
        keys.sig_key_saved.connect(self._on_key_saved)
        keys.sig_key_removed.connect(self._on_key_removed)
        keys.sig_key_not_removed.connect(self._on_key_not_removed)

    # ----------------------------------------------------------------- state

    @property
    def mode(self) -> ConnectionMode:
        """What the app is connected to now."""
        return self._mode

    @property
    def status(self) -> ConnectionStatus:
        """What the window shows about the connection now."""
        return self._status

    def client(self) -> FullApiClient | None:
        """The client new work uses (None: no key and no sandbox)."""
        return self._client

    def sandbox(self) -> SandboxServer | None:
        """The in-process sandbox server, once started."""
        return self._sandbox

    def server_identity(self) -> str | None:
        """Which API the current client talks to, as data that belongs to one server (the
        upload queue) records it: ``"sandbox"`` for the in-process sandbox (its port changes
        every run), else the normalised base URL; None without a client. Never the key."""
        from jockey_desktop.core.api.urls import SANDBOX_SERVER, server_identity

        if self._client is None or self._base_url is None:
            return None
        if self._mode is ConnectionMode.SANDBOX:
            return SANDBOX_SERVER
        return server_identity(self._base_url)

    def uses_key(self, key: str) -> bool:
        """True when ``key`` is the API key in use (for tests and the settings flow)."""
        return self._mode is ConnectionMode.API and self._key == key

    # ----------------------------------------------------------------- start-up

    def prepare(self) -> None:
        """Decide how to connect and announce what the first paint shows; builds nothing.

        The sandbox wins when asked for (``--sandbox``, or the saved choice without
        ``--api-base``); with ``--api-base`` the environment's key is used as is; otherwise
        the key store is asked (on a worker) by :meth:`connect_now`.
        """
        self._env_key = self._environ.get(ENV_KEY) if self._api_base else None
        if self._sandbox_requested or (not self._api_base and self._settings.use_sandbox):
            self._plan = _Plan.SANDBOX
            self._announce(ConnectionStatus(ConnectionMode.NONE, SANDBOX_LABEL))
        elif self._env_key:
            self._plan = _Plan.ENV_KEY
            self._announce(ConnectionStatus(ConnectionMode.NONE, NOT_CONNECTED))
        else:
            self._plan = _Plan.KEY_STORE

    @Slot()
    def connect_now(self) -> None:
        """Carry out what :meth:`prepare` decided (once). Later calls (every send does one)
        only look in the keychain again when it could not be read last time: a failed
        keyring call is not a verdict for the run, and after an unlock the key is found."""
        plan, self._plan = self._plan, _Plan.NOTHING
        if plan is _Plan.NOTHING:
            if self._mode is ConnectionMode.NONE and self._keys.keychain_unreadable:
                self._keys.load_key()
        elif plan is _Plan.SANDBOX:
            if self._mode is not ConnectionMode.SANDBOX:  # not already chosen meanwhile
                self.use_sandbox()
        elif plan is _Plan.ENV_KEY:
            key, self._env_key = self._env_key, None  # kept once, in the client's owner
            if self._mode is ConnectionMode.NONE and key:
                self._use_api(key, self._api_base)
        elif plan is _Plan.KEY_STORE:
            self._keys.load_key()

    # ----------------------------------------------------------------- switching

    @Slot()
    def use_sandbox(self) -> None:
        """Start the in-process sandbox (once) and use it as the server."""
        from jockey_desktop.sandbox import SANDBOX_API_KEY, Pace, SandboxServer

        if self._sandbox is None:
            pace = self._sandbox_pace
            if isinstance(pace, str):
                pace = Pace.instant() if pace == "fast" else Pace.realistic()
            try:
                sandbox = SandboxServer(state_dir=self._sandbox_state_dir, pace=pace)
                log.info("sandbox started at %s", sandbox.start())
            except Exception as exc:  # a port it cannot bind, its sample data unreadable…
                # Said, not raised out of a button's slot (the click then did nothing
                # visible); the window stays as it was.
                log.exception("the sandbox could not be started")
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else ""
                self.sig_notice.emit(SANDBOX_NOT_STARTED_TEXT.format(
                    why=f": {why.rstrip('.')}." if why else "."))
                if self._mode is ConnectionMode.NONE:
                    # At start-up the first paint already said "Sandbox": take it back, and
                    # offer the welcome page's choices.
                    self._announce(ConnectionStatus(ConnectionMode.NONE, NOT_CONNECTED,
                                                    needs_setup=True))
                return
            self._sandbox = sandbox
        self._use_api(SANDBOX_API_KEY, self._sandbox.base_url, mode=ConnectionMode.SANDBOX)

    @Slot()
    def try_sandbox(self) -> None:
        """The welcome page's "Try the sandbox": used now and remembered for the next start."""
        self._settings.use_sandbox = True
        self.use_sandbox()

    @Slot(str, bool)
    def apply_settings(self, base_url: str, use_sandbox: bool) -> None:
        """Save the server choice from the settings dialog and switch to it."""
        changed = (base_url or None) != self._settings.api_base_url
        self._settings.api_base_url = base_url or None
        self._settings.use_sandbox = bool(use_sandbox)
        if use_sandbox:
            if self._mode is not ConnectionMode.SANDBOX:
                self.use_sandbox()
        elif self._mode is ConnectionMode.SANDBOX or changed:
            self._disconnect(needs_setup=False)
            self._keys.load_key()

    def _use_api(self, key: str, base_url: str | None,
                 mode: ConnectionMode = ConnectionMode.API) -> None:
        from jockey_desktop.core.api.urls import base_url_problem

        url = base_url or _default_base_url()
        problem = base_url_problem(url)
        if problem is not None:
            # A stored (or hand-edited) base URL that would send the key in clear text: no
            # client is built, the user is told why and where to fix it.
            log.warning("refusing the configured API base URL: %s", problem)
            self._disconnect(needs_setup=True)
            self.sig_notice.emit(f"{problem} Change the API base URL in Settings.")
            return
        if mode is ConnectionMode.API:
            register_secret(key)
        self._key = key
        self._base_url = url
        self._mode = mode
        client = self._client_for(key, url)
        self._set_client(client)
        if mode is ConnectionMode.SANDBOX:
            self._announce(ConnectionStatus(mode, SANDBOX_LABEL))
        else:
            self._announce(ConnectionStatus(mode, _host_of(url), _proxy_of(client)))

    def _disconnect(self, *, needs_setup: bool) -> None:
        self._mode = ConnectionMode.NONE
        self._key = None
        self._set_client(None)
        self._announce(ConnectionStatus(ConnectionMode.NONE, NOT_CONNECTED,
                                        needs_setup=needs_setup))

    def _set_client(self, client: FullApiClient | None) -> None:
        if client is self._client:
            return
        self._client = client
        self.sig_client_changed.emit(client)

    def _client_for(self, key: str, base_url: str) -> FullApiClient:
        # hashlib (OpenSSL) is imported by the first connection, after the first paint.
        import hashlib

        cache_key = (base_url, hashlib.sha256(key.encode()).hexdigest())
        client = self._clients.get(cache_key)
        if client is None:
            client = self.client_factory(key, base_url)
            self._clients[cache_key] = client
        return client

    def _announce(self, status: ConnectionStatus) -> None:
        self._status = status
        self.sig_status_changed.emit(status)

    # ----------------------------------------------------------------- the key

    @Slot()
    def load_key(self) -> None:
        """Ask the key store (on a worker) for the key; the answer may switch to the API."""
        self._keys.load_key()

    @Slot(str)
    def save_key(self, key: str) -> None:
        """Store a new key; once stored it is used (unless the sandbox was chosen)."""
        self._keys.save_key(key)

    @Slot()
    def remove_key(self) -> None:
        """Forget the stored key; API mode stops, the sandbox goes on."""
        self._keys.remove_key()

    @Slot(object, str)
    def _on_key_loaded(self, key: object, where: str) -> None:
        self.sig_key_state_changed.emit(where, bool(key))
        unreadable = self._keys.keychain_unreadable and not key
        self.sig_no_client_reason.emit(where if unreadable else "")
        self.sig_key_problem.emit("" if key else (self._keys.keychain_problem or ""))
        if unreadable and self._mode is ConnectionMode.NONE:
            self.sig_notice.emit(where)
        if self._mode is ConnectionMode.SANDBOX or (
                self._mode is ConnectionMode.API and key == self._key):
            return
        if key:
            self._use_api(str(key), self._api_base or self._settings.api_base_url)
        elif self._mode is ConnectionMode.NONE:
            self._announce(ConnectionStatus(ConnectionMode.NONE, NOT_CONNECTED,
                                            needs_setup=True))

    @Slot(object, str)
    def _on_key_saved(self, key: object, where: str) -> None:
        self.sig_key_state_changed.emit(where, bool(key))
        if self._mode is ConnectionMode.API and key == self._key:
            # TWELVELABS_API_KEY is set: the key store reports the env key as the key in use
            # (it wins for the whole run); nothing to switch.
            return
        if key and self._mode is not ConnectionMode.SANDBOX:
            self._use_api(str(key), self._api_base or self._settings.api_base_url)

    @Slot(str)
    def _on_key_removed(self, where: str) -> None:
        self.sig_key_state_changed.emit(where, False)
        self.sig_no_client_reason.emit("")
        if self._mode is ConnectionMode.API:
            self._disconnect(needs_setup=True)

    @Slot(str)
    def _on_key_not_removed(self, sentence: str) -> None:
        # The key is still in the keychain: the dialog says so and keeps Remove enabled; the
        # key in use stays in use (removing it here would claim what did not happen).
        self.sig_key_state_changed.emit(sentence, True)

    # ----------------------------------------------------------------- the settings dialog

    @Slot()
    def refresh_settings(self) -> None:
        """The settings dialog opens: announce its values, then where the key is kept."""
        proxy = _proxy_of(self._client) if (
            self._client is not None and self._mode is ConnectionMode.API) else None
        self.sig_settings_values.emit(self._settings.api_base_url,
                                      self._mode is ConnectionMode.SANDBOX, proxy)
        self._keys.load_key()

    @Slot(str, str)
    def test_connection(self, key: str, base_url: str) -> None:
        """Test the typed key (or the key in use) against the typed server (or the one in
        use, which may come from ``--api-base``)."""
        in_use = self._mode is ConnectionMode.API
        if not key.strip() and in_use and self._key:
            key = self._key
        self._keys.test_connection(key, self._server_to_test(base_url))

    @Slot(str, str)
    def check_and_save_key(self, key: str, base_url: str) -> None:
        """The dialog's Save: the typed key is checked against the typed server (or the one
        in use), then saved unless the server refuses it; the dialog hears the verdict."""
        self._keys.check_and_save_key(key, self._server_to_test(base_url))

    @Slot()
    def cancel_key_check(self) -> None:
        """The dialog closed while its key was being checked: that key is not saved."""
        self._keys.cancel_key_check()

    def _server_to_test(self, base_url: str) -> str:
        in_use = self._mode is ConnectionMode.API
        return (base_url or (self._base_url if in_use else None) or self._api_base
                or self._settings.api_base_url or _default_base_url())

    # ----------------------------------------------------------------- quit

    def shutdown(self) -> None:
        """Stop the sandbox and close every client (bounded; called once on quit)."""
        self._plan = _Plan.NOTHING
        if self._sandbox is not None:
            self._sandbox.stop()
        for client in self._clients.values():
            try:
                client.close()
            except Exception:
                log.debug("closing a client failed", exc_info=True)
        self._clients.clear()
