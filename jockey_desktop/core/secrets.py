"""The API key: kept in the OS keyring, overridable by an environment variable.

Where the key can live (``KeyLocation``):

- ENVIRONMENT: ``TWELVELABS_API_KEY`` is set; it wins for this run and is never written
  anywhere.
- KEYCHAIN: the OS credential store (macOS Keychain, Windows Credential Manager, Secret
  Service) holds it under ``service`` / ``"api-key"``.
- MEMORY: no usable credential store (headless Linux: keyring's ``fail`` backend raises
  ``NoKeyringError``); the key the user typed is kept in this process only. Never a file, and
  ``keyrings.alt`` (plaintext base64 "encryption") is never used.
- NONE: no key anywhere.

Blocking: keyring calls can block for a long time (a locked Secret Service shows an unlock
prompt), so every method except ``location()`` after the first probe may block. Call them
from a worker thread, never the GUI thread. The object is thread-safe (one lock).

The key never appears in logs, ``repr`` or exception text.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from enum import Enum

import keyring
import keyring.errors

log = logging.getLogger(__name__)

#: The keyring "username" under which the key is stored.
KEYRING_USERNAME = "api-key"


_PASTE_AGAIN = "paste it again from the Playground."


def api_key_problem(key: str) -> str | None:
    """Why ``key`` (after stripping surrounding whitespace) cannot be an API key, or None.

    Keys are printable ASCII without spaces. A key copied from a web page or a chat often
    carries a line break, a typographic quote or a non-breaking space; sent as an HTTP header
    it fails with an obscure error (or is refused by requests), so say what is wrong instead.
    The sentence names the offending kind of character, never the key itself.
    """
    key = key.strip()
    if not key:
        return "The API key is empty."
    for char in key:
        if char in "\r\n\u2028\u2029\x85":
            return f"The key contains a line break — {_PASTE_AGAIN}"
        if char.isspace():
            return f"The key contains a space — {_PASTE_AGAIN}"
        if unicodedata.category(char).startswith("C"):
            return f"The key contains a control character — {_PASTE_AGAIN}"
        if not char.isascii():
            # Showing one pasted character is safe and tells the user what went wrong.
            return f"The key contains a non-ASCII character ('{char}') — {_PASTE_AGAIN}"
    return None


class KeyLocation(str, Enum):
    """Where the key in use comes from."""

    KEYCHAIN = "keychain"
    ENVIRONMENT = "environment"
    MEMORY = "memory"
    NONE = "none"


class ApiKeyStore:
    """Get, set and delete the API key; knows when no secure store exists.

    ``service`` is the keyring service name; ``env_var`` the override variable.
    """

    def __init__(self, service: str = "jockey-desktop", env_var: str = "TWELVELABS_API_KEY"):
        self.service = service
        self.env_var = env_var
        self._lock = threading.RLock()
        self._memory_key: str | None = None
        #: None until the keyring has been tried; then "" when it works, else the reason.
        self._failure: str | None = None

    def __repr__(self) -> str:
        return f"ApiKeyStore(service={self.service!r}, env_var={self.env_var!r})"

    # --- internals -----------------------------------------------------------------------

    def _env_key(self) -> str | None:
        value = os.environ.get(self.env_var, "").strip()
        return value or None

    def _mark_unavailable(self, exc: BaseException) -> None:
        # Only the exception type and the backend name: backend messages are not ours to
        # trust with a secret, and the type says enough ("NoKeyringError").
        backend = type(keyring.get_keyring()).__module__
        detail = f"{type(exc).__name__} from {backend}"
        if self._failure != detail:
            log.warning("secure credential store unavailable: %s", detail)
        self._failure = detail

    def _refuse_insecure_backend(self) -> bool:
        """keyrings.alt stores "encrypted" keys as base64 in plain files: never use it, even
        if someone installed it and keyring picked it. Returns True when refused."""
        backend = keyring.get_keyring()
        if type(backend).__module__.startswith("keyrings.alt"):
            detail = f"only the insecure {type(backend).__module__} backend was found"
            if self._failure != detail:
                log.warning("secure credential store unavailable: %s", detail)
            self._failure = detail
            return True
        return False

    def _keyring_get(self) -> str | None:
        if self._refuse_insecure_backend():
            return None
        try:
            value = keyring.get_password(self.service, KEYRING_USERNAME)
        except keyring.errors.KeyringError as exc:  # NoKeyringError, KeyringLocked, InitError
            self._mark_unavailable(exc)
            return None
        except Exception as exc:  # a broken backend (D-Bus errors…) must not crash the app
            self._mark_unavailable(exc)
            return None
        self._failure = ""
        return value or None

    # --- public API ----------------------------------------------------------------------

    def get(self) -> str | None:
        """The key to use: environment, else keyring, else this run's memory. May block."""
        env = self._env_key()
        if env is not None:
            return env
        with self._lock:
            if self._failure:  # known unavailable: do not re-probe a failing backend
                return self._memory_key
            stored = self._keyring_get()
            if stored is not None:
                return stored
            return self._memory_key

    def set(self, key: str) -> KeyLocation:
        """Save ``key`` (stripped) in the keyring, or in memory for this run when no secure
        store exists. Returns where it went. The environment variable, if set, still
        overrides it for this run. May block."""
        key = key.strip()
        problem = api_key_problem(key)
        if problem is not None:
            raise ValueError(problem)
        with self._lock:
            if self._refuse_insecure_backend():
                self._memory_key = key
                return KeyLocation.MEMORY
            try:
                keyring.set_password(self.service, KEYRING_USERNAME, key)
            except Exception as exc:  # see _keyring_get: any backend failure means "no store"
                self._mark_unavailable(exc)
                self._memory_key = key
                return KeyLocation.MEMORY
            self._failure = ""
            self._memory_key = None
            log.info("API key saved in the OS credential store")
            return KeyLocation.KEYCHAIN

    def delete(self) -> None:
        """Forget the stored key (keyring and memory). The environment variable cannot be
        removed from here. May block."""
        with self._lock:
            self._memory_key = None
            if self._failure:
                return
            try:
                keyring.delete_password(self.service, KEYRING_USERNAME)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already deleted
            except Exception as exc:
                self._mark_unavailable(exc)

    def location(self) -> KeyLocation:
        """Where the key in use lives. May block on the first call (it probes the keyring)."""
        if self._env_key() is not None:
            return KeyLocation.ENVIRONMENT
        with self._lock:
            if self._failure:
                return KeyLocation.MEMORY if self._memory_key else KeyLocation.NONE
            if self._keyring_get() is not None:
                return KeyLocation.KEYCHAIN
            if self._memory_key:
                return KeyLocation.MEMORY
            return KeyLocation.NONE

    @property
    def secure_store_available(self) -> bool:
        """Whether the OS credential store works (probes it once; may block)."""
        with self._lock:
            if self._failure is None:
                self._keyring_get()
            return not self._failure

    @property
    def unavailable_reason(self) -> str | None:
        """Text for the settings dialog when no secure store exists, else None."""
        if self.secure_store_available:
            return None
        return (
            f"No secure credential store is available ({self._failure}); the key is kept in "
            "memory for this run only."
        )

    @property
    def environment_override(self) -> bool:
        """True when the environment variable supplies the key."""
        return self._env_key() is not None
