"""The API key in a real Secret Service (gnome-keyring), not the in-memory stand-in.

Skipped unless ``JOCKEY_REAL_KEYCHAIN=1``; then a Secret Service must answer on the session
bus, ``secret-tool`` (libsecret-tools) must exist and ``JOCKEY_KEYCHAIN_PASSWORD`` must hold
the login keyring's password, or the tests fail. ``.ci/run`` runs them inside
``dbus-run-session`` with ``gnome-keyring-daemon --unlock`` fed that password on stdin (an
empty password would make the daemon open a dialog). Every test uses its own service name and
removes what it stored; locking and unlocking go to the default collection, which is unlocked
again afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from jockey_desktop.core.secrets import KEYRING_USERNAME, ApiKeyStore, KeyLocation

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("JOCKEY_REAL_KEYCHAIN") != "1",
        reason="real keychain tests: set JOCKEY_REAL_KEYCHAIN=1 in a D-Bus session with an "
               "unlocked gnome-keyring (.ci/run does)"),
    # keyring's SecretService backend opens a D-Bus connection per call and never closes it;
    # the socket's "unclosed" ResourceWarning is keyring's, not a fault of the code under test.
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
]

KEY_1 = "tlk_REALKEYCHAINTEST1AAAAAAAAAAAAAA"
KEY_2 = "tlk_REALKEYCHAINTEST2BBBBBBBBBBBBBB"


def secret_tool_lookup(service: str) -> str | None:
    """What ``secret-tool lookup`` (libsecret, not Python keyring) finds for the key."""
    result = subprocess.run(["secret-tool", "lookup", "service", service,
                             "username", KEYRING_USERNAME],
                            capture_output=True, text=True, timeout=30, check=False)
    return result.stdout if result.returncode == 0 else None


def default_collection_path() -> str:
    """D-Bus object path of the default collection (gnome-keyring: the login keyring)."""
    from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped, unused-ignore]
    from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped, unused-ignore]

    service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    with open_dbus_connection(bus="SESSION") as connection:
        reply = connection.send_and_get_reply(
            new_method_call(service, "ReadAlias", "s", ("default",)))
    return str(reply.body[0])


def lock_default_collection() -> None:
    """Lock the login keyring, as the screen locker or ``secret-tool lock`` would."""
    import secretstorage

    with secretstorage.dbus_init() as connection:
        collection = secretstorage.get_default_collection(connection)
        collection.lock()
        assert collection.is_locked()


def unlock_default_collection() -> None:
    """Unlock the login keyring without a prompt: gnome-keyring's own unlock-with-password
    call (the Secret Service API can only unlock through a dialog, which needs a display)."""
    from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped, unused-ignore]
    from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped, unused-ignore]

    password = os.environ["JOCKEY_KEYCHAIN_PASSWORD"].encode()
    service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    internal = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                           interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
    with open_dbus_connection(bus="SESSION") as connection:
        session = connection.send_and_get_reply(
            new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))).body[1]
        reply = connection.send_and_get_reply(new_method_call(
            internal, "UnlockWithMasterPassword", "o(oayays)",
            (default_collection_path(), (session, b"", password, "text/plain"))))
    assert reply.header.message_type.name == "method_return", reply.body


@pytest.fixture
def service() -> Iterator[str]:
    """A fresh service name in the real Secret Service, as keyring's backend; cleaned up."""
    import keyring.backends.SecretService
    import secretstorage

    if shutil.which("secret-tool") is None:
        pytest.fail("secret-tool is missing (Debian: apt-get install libsecret-tools)")
    if "JOCKEY_KEYCHAIN_PASSWORD" not in os.environ:
        pytest.fail("JOCKEY_KEYCHAIN_PASSWORD must hold the login keyring's password")
    with secretstorage.dbus_init() as connection:
        if not secretstorage.check_service_availability(connection):
            pytest.fail("JOCKEY_REAL_KEYCHAIN=1 but no Secret Service answers on the session "
                        "bus (start gnome-keyring-daemon --components=secrets)")
    backend = keyring.backends.SecretService.Keyring()  # type: ignore[no-untyped-call]
    keyring.set_keyring(backend)  # the conftest fixture puts its own back afterwards
    name = f"jockey-desktop-test-{uuid.uuid4().hex[:12]}"
    yield name
    unlock_default_collection()
    subprocess.run(["secret-tool", "clear", "service", name, "username", KEYRING_USERNAME],
                   capture_output=True, timeout=30, check=False)


def test_store_read_replace_and_remove(service: str) -> None:
    store = ApiKeyStore(service=service)
    assert store.get() is None
    assert store.location() is KeyLocation.NONE
    assert store.secure_store_available

    assert store.set(KEY_1) is KeyLocation.KEYCHAIN
    assert store.get() == KEY_1
    assert secret_tool_lookup(service) == KEY_1
    assert ApiKeyStore(service=service).get() == KEY_1  # a new run finds it
    assert store.location() is KeyLocation.KEYCHAIN

    assert store.set(f"  {KEY_2}\n") is KeyLocation.KEYCHAIN  # replaced, stripped
    assert secret_tool_lookup(service) == KEY_2
    assert ApiKeyStore(service=service).get() == KEY_2

    store.delete()
    assert secret_tool_lookup(service) is None
    assert store.get() is None
    assert ApiKeyStore(service=service).location() is KeyLocation.NONE
    store.delete()  # removing nothing is fine


def test_a_locked_keychain_reads_as_unreadable_without_losing_the_key(service: str) -> None:
    """A locked login keyring (the unlock prompt cannot open here) is "could not be read",
    never "no key"; the key stays in the keychain."""
    ApiKeyStore(service=service).set(KEY_1)
    lock_default_collection()
    store = ApiKeyStore(service=service)
    found = store.lookup()
    assert found.key is None
    assert found.location is KeyLocation.UNREADABLE
    assert not store.secure_store_available
    assert "could not be read; it may be locked" in (found.problem or "")
    assert KEY_1 not in (found.problem or "")
    unlock_default_collection()
    assert secret_tool_lookup(service) == KEY_1  # nothing was lost


def test_after_unlock_the_same_store_reads_the_key_again(service: str) -> None:
    ApiKeyStore(service=service).set(KEY_1)
    lock_default_collection()
    store = ApiKeyStore(service=service)
    assert store.get() is None
    unlock_default_collection()
    assert store.get() == KEY_1


def test_remove_while_locked_says_so_and_after_unlock_removes_the_key(service: str) -> None:
    from jockey_desktop.core.secrets import KeyStoreError

    ApiKeyStore(service=service).set(KEY_1)
    lock_default_collection()
    store = ApiKeyStore(service=service)
    assert store.get() is None
    with pytest.raises(KeyStoreError, match="could not be removed"):
        store.delete()
    unlock_default_collection()
    assert secret_tool_lookup(service) == KEY_1  # not removed, and not claimed to be
    store.delete()
    assert secret_tool_lookup(service) is None
