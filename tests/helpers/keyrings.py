"""Keyring backends for tests: one that can be locked and unlocked like a Secret Service
login collection (every call raises ``KeyringLocked`` while locked)."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.errors


class LockableKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring whose ``locked`` flag makes every call fail as a locked keychain
    whose unlock prompt was dismissed. ``calls`` counts the calls made (locked or not)."""

    priority = 1

    def __init__(self, *, locked: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.locked = locked
        self.store: dict[tuple[str, str], str] = {}
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        """The stored password, or None."""
        self._check()
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store a password."""
        self._check()
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        """Remove a password (``PasswordDeleteError`` when there is none)."""
        self._check()
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("No such password!")
        del self.store[(service, username)]


def installed_keyring(key: str, *, locked: bool = False) -> Iterator[LockableKeyring]:
    """A keychain holding ``key`` under the app's service (locked or not), installed for the
    test and the previous backend put back after it (a fixture body: ``yield from``)."""
    from jockey_desktop.core.secrets import KEYRING_USERNAME

    previous = keyring.get_keyring()
    backend = LockableKeyring()
    backend.store[("jockey-desktop", KEYRING_USERNAME)] = key
    backend.locked = locked
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
