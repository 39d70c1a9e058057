"""The API key: kept in the OS keyring, overridable by an environment variable.

Where the key can live (``KeyLocation``):

- ENVIRONMENT: ``TWELVELABS_API_KEY`` is set; it wins for this run and is never written
  anywhere.
- KEYCHAIN: the OS credential store (macOS Keychain, Windows Credential Manager, Secret
  Service) holds it under ``service`` / ``"api-key"``.
- MEMORY: the key the user typed while no credential store could take it; kept in this
  process only. Never a file, and ``keyrings.alt`` (plaintext base64 "encryption") is never
  used.
- UNREADABLE: the credential store exists but could not be read just now (a locked Secret
  Service whose unlock prompt was dismissed or cannot open, a D-Bus error): a key may well be
  stored there, so the app must not say there is none.
- NONE: no key anywhere.

A failed keyring call is never a verdict for the run: every call asks the keyring again, so
after the user unlocks the keychain the next lookup finds the key, and Remove removes it (or
raises ``KeyStoreError`` saying it could not). Only the absence of any secure backend
(``NoKeyringError``, or nothing but ``keyrings.alt``) means "no secure store".

Blocking: keyring calls can block for a long time (a locked Secret Service shows an unlock
prompt), so every method may block. Call them from a worker thread, never the GUI thread. The
object is thread-safe (one lock). :meth:`ApiKeyStore.lookup` answers "which key, from where,
and what went wrong" with one keyring call (one prompt at most).

The key never appears in logs, ``repr`` or exception text.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from dataclasses import dataclass, field
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
    UNREADABLE = "unreadable"
    NONE = "none"


class KeyStoreError(Exception):
    """A key-store operation the user asked for did not happen (e.g. Remove while the
    keychain is locked). ``str()`` is a sentence for the user; it never holds the key."""


@dataclass(frozen=True)
class KeyLookup:
    """The answer of one lookup: the key in use (never in the repr), where it comes from,
    and a sentence when the credential store could not be used (else None)."""

    key: str | None = field(repr=False)
    location: KeyLocation
    problem: str | None = None


@dataclass(frozen=True)
class _Failure:
    """Why the last keyring call failed: ``detail`` names the exception type and backend
    (never a backend message: not ours to trust with a secret); ``permanent`` when no secure
    backend exists at all (asking again cannot help)."""

    detail: str
    permanent: bool
    #: Only a store that writes passwords to plain files was found (refused).
    insecure: bool = False


class ApiKeyStore:
    """Get, set and delete the API key; knows when no secure store exists.

    ``service`` is the keyring service name; ``env_var`` the override variable.
    """

    def __init__(self, service: str = "jockey-desktop", env_var: str = "TWELVELABS_API_KEY"):
        self.service = service
        self.env_var = env_var
        self._lock = threading.RLock()
        self._memory_key: str | None = None
        #: The outcome of the last keyring call: None when it worked (or none was made yet).
        self._failure: _Failure | None = None
        self._probed = False

    def __repr__(self) -> str:
        return f"ApiKeyStore(service={self.service!r}, env_var={self.env_var!r})"

    # --- internals -----------------------------------------------------------------------

    def _env_key(self) -> str | None:
        value = os.environ.get(self.env_var, "").strip()
        return value or None

    def _record(self, failure: _Failure | None) -> None:
        """Remember the outcome of a keyring call (logged when it changes)."""
        self._probed = True
        if failure is not None and failure != self._failure:
            log.warning("secure credential store %s: %s",
                        "unavailable" if failure.permanent else "could not be used",
                        failure.detail)
        elif failure is None and self._failure is not None:
            log.info("secure credential store reachable again")
        self._failure = failure

    def _mark_failed(self, exc: BaseException) -> None:
        backend = type(keyring.get_keyring()).__module__
        self._record(_Failure(f"{type(exc).__name__} from {backend}",
                              permanent=isinstance(exc, keyring.errors.NoKeyringError)))

    def _refuse_insecure_backend(self) -> bool:
        """keyrings.alt stores "encrypted" keys as base64 in plain files: never use it, even
        if someone installed it and keyring picked it. Returns True when refused."""
        backend = keyring.get_keyring()
        if type(backend).__module__.startswith("keyrings.alt"):
            self._record(_Failure(
                f"only the insecure {type(backend).__module__} backend was found",
                permanent=True, insecure=True))
            return True
        return False

    def _keyring_get(self) -> str | None:
        """The stored key, asking the keyring now; None when absent or on failure (the
        failure is recorded)."""
        if self._refuse_insecure_backend():
            return None
        try:
            value = keyring.get_password(self.service, KEYRING_USERNAME)
        except Exception as exc:  # NoKeyringError, KeyringLocked, D-Bus errors…: never crash
            self._mark_failed(exc)
            return None
        self._record(None)
        return value or None

    def _location_after_probe(self, stored: str | None) -> KeyLocation:
        if self._memory_key:
            return KeyLocation.MEMORY
        if stored is not None:
            return KeyLocation.KEYCHAIN
        if self._failure is not None and not self._failure.permanent:
            return KeyLocation.UNREADABLE
        return KeyLocation.NONE

    def _problem(self) -> str | None:
        # Words for people: the exception and backend names stay in the log (``detail``).
        failure = self._failure
        if failure is None:
            return None
        if failure.insecure:
            return ("The only password store found on this computer keeps passwords in a "
                    "plain file, which the app does not use, so the key is kept in memory "
                    "for this run only.")
        if failure.permanent:
            # With the way to keep it: asked for at every start, the user needs one.
            return ("This computer has no secure password store the app can use (such as "
                    "GNOME Keyring or KWallet), so the key is kept in memory for this run "
                    f"only. To keep it across runs, set the {self.env_var} environment "
                    "variable.")
        if self._memory_key:
            # What to do, not only what happened: without it a user who unlocks later
            # still finds the older key (or none) at the next start.
            return ("The OS keychain could not be used just now (it may be locked), so the "
                    "key is kept in memory for this run only. To keep it, unlock the "
                    "keychain, then save the key again.")
        return ("The OS keychain could not be read; it may be locked. Unlock it: the app "
                "looks again when you open Settings or send a question. A key stored there "
                "is kept.")

    # --- public API ----------------------------------------------------------------------

    def lookup(self) -> KeyLookup:
        """The key in use, where it comes from and what went wrong, with one keyring call.

        A key typed this run while the keychain could not take it (MEMORY) wins over an
        older one in the keychain: it is the user's latest choice. May block.
        """
        env = self._env_key()
        if env is not None:
            return KeyLookup(env, KeyLocation.ENVIRONMENT)
        with self._lock:
            stored = self._keyring_get()
            location = self._location_after_probe(stored)
            key = self._memory_key or stored
            return KeyLookup(key, location, self._problem())

    def get(self) -> str | None:
        """The key to use: environment, else this run's typed key, else the keyring (asked
        again on every call). May block."""
        return self.lookup().key

    def set(self, key: str) -> KeyLocation:
        """Save ``key`` (stripped) in the keyring, or in memory for this run when the keyring
        cannot take it now. Returns where it went. The environment variable, if set, still
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
            except Exception as exc:  # see _keyring_get: any backend failure
                self._mark_failed(exc)
                self._memory_key = key
                return KeyLocation.MEMORY
            self._record(None)
            self._memory_key = None
            log.info("API key saved in the OS credential store")
            return KeyLocation.KEYCHAIN

    def delete(self) -> None:
        """Forget the stored key (keyring and memory), asking the keyring now.

        Raises ``KeyStoreError`` when the keychain could not be reached (locked, D-Bus
        error): the key it holds is still there and the user must hear so. With no secure
        store at all there is nothing to remove there. The environment variable cannot be
        removed from here. May block."""
        with self._lock:
            self._memory_key = None
            if self._refuse_insecure_backend():
                return
            try:
                keyring.delete_password(self.service, KEYRING_USERNAME)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already deleted
            except Exception as exc:
                self._mark_failed(exc)
                assert self._failure is not None
                if self._failure.permanent:
                    return  # no keychain: nothing can be stored there
                raise KeyStoreError(
                    "The API key could not be removed from the OS keychain; it may be "
                    "locked. Unlock the keychain, then remove the key again.") from None
            self._record(None)
            log.info("API key removed from the OS credential store")

    def location(self) -> KeyLocation:
        """Where the key in use lives (asks the keyring again). May block."""
        return self.lookup().location

    @property
    def secure_store_available(self) -> bool:
        """Whether the last keyring call worked (probes once if none was made; may block)."""
        with self._lock:
            if not self._probed:
                self._keyring_get()
            return self._failure is None

    @property
    def unavailable_reason(self) -> str | None:
        """Text for the settings dialog when the last keyring call failed, else None."""
        with self._lock:
            if not self._probed:
                self._keyring_get()
            return self._problem()

    @property
    def environment_override(self) -> bool:
        """True when the environment variable supplies the key."""
        return self._env_key() is not None
