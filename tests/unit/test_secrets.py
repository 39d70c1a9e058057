"""ApiKeyStore: keyring round trip, no secure store, environment override, no leaks."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.errors
import pytest

from jockey_desktop.core.secrets import KEYRING_USERNAME, ApiKeyStore, KeyLocation

KEY = "tlk_SECRET_0123456789abcdef"


def test_round_trip_in_keyring(memory_keyring: object) -> None:
    store = ApiKeyStore()
    assert store.get() is None and store.location() is KeyLocation.NONE
    assert store.set(f"  {KEY}\n") is KeyLocation.KEYCHAIN
    assert memory_keyring.store == {("jockey-desktop", KEYRING_USERNAME): KEY}  # type: ignore
    assert store.get() == KEY and store.location() is KeyLocation.KEYCHAIN
    assert store.secure_store_available and store.unavailable_reason is None
    # A second instance (next app start) finds it.
    assert ApiKeyStore().get() == KEY
    store.delete()
    assert store.get() is None and store.location() is KeyLocation.NONE
    store.delete()  # deleting nothing is fine


def test_empty_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        ApiKeyStore().set("   ")


def test_no_secure_store_keeps_key_in_memory(caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    caplog.set_level(logging.DEBUG)
    store = ApiKeyStore()
    assert not store.secure_store_available
    reason = store.unavailable_reason
    assert reason is not None
    # Words for people in the dialog; the exception and backend names only in the log.
    assert reason.startswith("This computer has no secure password store")
    assert "the key is kept in memory for this run only." in reason
    assert reason.endswith("To keep it across runs, set the TWELVELABS_API_KEY environment "
                           "variable.")
    assert "NoKeyringError" not in reason and "keyring." not in reason
    assert "NoKeyringError from keyring.backends.fail" in caplog.text
    assert store.location() is KeyLocation.NONE
    assert store.set(KEY) is KeyLocation.MEMORY
    assert store.get() == KEY and store.location() is KeyLocation.MEMORY
    assert ApiKeyStore().get() is None  # memory only: the next run has nothing
    store.delete()
    assert store.get() is None
    assert KEY not in caplog.text and KEY not in repr(store)


class _LockedKeyring(keyring.backends.fail.Keyring):
    """A backend whose every call fails like a locked store whose prompt was dismissed."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked(f"could not store {password}")


def test_failing_backend_never_leaks_key() -> None:
    keyring.set_keyring(_LockedKeyring())
    store = ApiKeyStore()
    assert store.set(KEY) is KeyLocation.MEMORY
    assert KEY not in (store.unavailable_reason or "")
    assert "could not be used just now" in (store.unavailable_reason or "")
    # What to do about it, so the key is not lost at the next start.
    assert (store.unavailable_reason or "").endswith("unlock the keychain, then save the key "
                                                     "again.")


def test_environment_overrides_and_is_not_persisted(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    store = ApiKeyStore()
    store.set("stored-key")
    monkeypatch.setenv("TWELVELABS_API_KEY", " env-key ")
    assert store.get() == "env-key" and store.location() is KeyLocation.ENVIRONMENT
    assert store.environment_override
    assert memory_keyring.store == {  # type: ignore[attr-defined]
        ("jockey-desktop", KEYRING_USERNAME): "stored-key"}
    monkeypatch.delenv("TWELVELABS_API_KEY")
    assert store.get() == "stored-key"


def test_environment_with_no_secure_store(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("TWELVELABS_API_KEY", KEY)
    store = ApiKeyStore()
    assert store.get() == KEY and store.location() is KeyLocation.ENVIRONMENT


def test_scripted_session_leaves_key_in_no_file(tmp_path: Path) -> None:
    """Key set, conversations written, exported, backed up: the key is in no file."""
    from jockey_desktop.core.storage import MessageStatus, open_repository
    from jockey_desktop.core.storage.export import (
        export_json,
        export_markdown,
        write_file_atomically,
    )

    data_dir = tmp_path / "appdata"
    store = ApiKeyStore()
    store.set(KEY)
    repo = open_repository(data_dir / "conversations.sqlite3", data_dir / "backups")
    conv = repo.create_conversation("store", "Store")
    q = repo.add_user_message(conv.id, "hello")
    a = repo.start_assistant_message(conv.id, q.id)
    repo.set_session_id(conv.id, "sess")
    repo.finish_message(a.id, text="hi", status=MessageStatus.COMPLETE)
    write_file_atomically(data_dir / "export.json", export_json(repo, [conv.id]))
    write_file_atomically(data_dir / "export.md", export_markdown(repo, [conv.id]))
    repo.backup_now()
    repo.close()
    assert store.get() == KEY
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path


def test_keyrings_alt_style_backend_is_refused(memory_keyring: object) -> None:
    """A plaintext-file backend (keyrings.alt) is never used, even if keyring chose it."""
    import keyring.backend

    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]
        written: dict[str, str] = {}  # noqa: RUF012 - test double

        def get_password(self, service: str, username: str) -> str | None:
            return self.written.get(username)

        def set_password(self, service: str, username: str, password: str) -> None:
            self.written[username] = password

        def delete_password(self, service: str, username: str) -> None:
            self.written.pop(username, None)

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    keyring.set_keyring(PlaintextKeyring())
    store = ApiKeyStore()
    assert store.set(KEY) is KeyLocation.MEMORY
    assert PlaintextKeyring.written == {}
    assert not store.secure_store_available
    assert "keeps passwords in a plain file" in (store.unavailable_reason or "")
    assert "keyrings" not in (store.unavailable_reason or "")
    assert store.get() == KEY


def test_api_key_problem_accepts_printable_ascii_and_names_the_bad_character() -> None:
    from jockey_desktop.core.secrets import api_key_problem

    assert api_key_problem("  tlk_ABC-123_xyz \n") is None
    assert api_key_problem("") == "The API key is empty."
    assert "line break" in (api_key_problem("tlk_a\r\nb") or "")
    assert "a space" in (api_key_problem("tlk_a\u00a0b") or "")
    assert "control character" in (api_key_problem("tlk_a\u200bb") or "")
    assert "('é')" in (api_key_problem("tlk_é") or "")


def test_set_refuses_a_malformed_key(memory_keyring: object) -> None:
    with pytest.raises(ValueError, match="line break"):
        ApiKeyStore().set("tlk_a\nb")


def test_a_locked_keychain_is_asked_again_and_found_after_unlock() -> None:
    from tests.helpers.keyrings import LockableKeyring

    backend = LockableKeyring()
    keyring.set_keyring(backend)
    ApiKeyStore().set(KEY)
    backend.locked = True
    store = ApiKeyStore()
    found = store.lookup()
    assert found.key is None and found.location is KeyLocation.UNREADABLE
    # Not "no key": the sentence says the keychain could not be read and how to go on.
    assert found.problem is not None and "could not be read; it may be locked" in found.problem
    assert "KeyringLocked" not in found.problem
    assert "Unlock it" in found.problem and KEY not in repr(found)
    assert not store.secure_store_available

    backend.locked = False
    assert store.get() == KEY  # the failure was not a verdict for the run
    assert store.location() is KeyLocation.KEYCHAIN
    assert store.secure_store_available and store.unavailable_reason is None


def test_one_lookup_is_one_keyring_call() -> None:
    """A locked Secret Service prompts once per call: a lookup must not prompt thrice."""
    from tests.helpers.keyrings import LockableKeyring

    backend = LockableKeyring(locked=True)
    keyring.set_keyring(backend)
    ApiKeyStore().lookup()
    assert backend.calls == 1


def test_remove_on_a_locked_keychain_says_it_could_not() -> None:
    from jockey_desktop.core.secrets import KeyStoreError
    from tests.helpers.keyrings import LockableKeyring

    backend = LockableKeyring()
    keyring.set_keyring(backend)
    store = ApiKeyStore()
    store.set(KEY)
    backend.locked = True
    with pytest.raises(KeyStoreError) as refused:
        store.delete()
    assert str(refused.value).startswith(
        "The API key could not be removed from the OS keychain; it may be locked.")
    assert "KeyringLocked" not in str(refused.value)
    assert KEY not in str(refused.value)
    assert backend.store == {("jockey-desktop", KEYRING_USERNAME): KEY}  # still there

    backend.locked = False
    store.delete()  # after the unlock, Remove removes
    assert backend.store == {}
    assert store.location() is KeyLocation.NONE


def test_a_key_typed_while_locked_stays_in_use_after_unlock() -> None:
    """The key typed this run is the user's latest choice: an older keychain entry found
    after the unlock does not replace it."""
    from tests.helpers.keyrings import LockableKeyring

    backend = LockableKeyring()
    keyring.set_keyring(backend)
    ApiKeyStore().set("tlk_older_key_in_keychain")
    backend.locked = True
    store = ApiKeyStore()
    assert store.set(KEY) is KeyLocation.MEMORY
    assert "could not be used just now" in (store.unavailable_reason or "")
    backend.locked = False
    assert store.get() == KEY and store.location() is KeyLocation.MEMORY


def test_remove_with_no_secure_store_forgets_the_memory_key() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = ApiKeyStore()
    store.set(KEY)
    store.delete()  # nothing can be stored in a keychain that does not exist: no error
    assert store.get() is None and store.location() is KeyLocation.NONE
