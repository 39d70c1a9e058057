"""A keychain that is locked, then unlocked, as the app meets it: the failed lookup is not a
verdict for the run, the app never says "No API key is set" while the keychain may hold one,
and Remove removes the key or says it could not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.settings import SettingsController
from jockey_desktop.core.secrets import ApiKeyStore
from jockey_desktop.presentation.connection import ConnectionMode
from tests.helpers.app import Started, start_on
from tests.helpers.keyrings import LockableKeyring, installed_keyring

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

KEY = "tlk_LOCKED_KEYCHAIN_TEST_KEY_0001"
NO_KEY = "No API key is set"


@pytest.fixture
def locked_keychain() -> Iterator[LockableKeyring]:
    """A keychain holding KEY under the app's service, locked."""
    yield from installed_keyring(KEY, locked=True)


def test_the_app_finds_the_key_after_an_unlock_and_removes_it_only_when_it_can(
    qtbot: Any, start: Started, sandbox: Any, locked_keychain: LockableKeyring
) -> None:
    desktop = start_on(start, sandbox.base_url)
    window = desktop.window
    dialog = window.settings_dialog
    status = window.statusBar()
    qtbot.waitUntil(lambda: "could not be read" in status.currentMessage(), timeout=5_000)
    assert "it may be locked" in dialog.location_label.text()
    assert "KeyringLocked" not in dialog.location_label.text()  # no class names
    assert NO_KEY not in dialog.location_label.text() + status.currentMessage()
    assert desktop.chat.client() is None

    locked_keychain.locked = False
    # The next use looks again: a send (even one refused for want of a store) does.
    window.chat_pane.sig_send_requested.emit("hello")
    qtbot.waitUntil(lambda: desktop.connection.uses_key(KEY), timeout=5_000)
    assert desktop.connection.mode is ConnectionMode.API
    qtbot.waitUntil(lambda: dialog.location_label.text() == "Stored in the OS keychain.",
                    timeout=5_000)

    locked_keychain.locked = True
    window.sig_remove_key.emit()
    qtbot.waitUntil(lambda: "could not be removed" in dialog.location_label.text(),
                    timeout=5_000)
    assert dialog.remove_button.isEnabled()  # the key is still there: Remove stays offered
    assert locked_keychain.store  # nothing was lost, nothing claimed
    assert desktop.connection.uses_key(KEY)

    locked_keychain.locked = False
    window.sig_remove_key.emit()
    qtbot.waitUntil(lambda: dialog.location_label.text() == "No API key is set.",
                    timeout=5_000)
    assert locked_keychain.store == {}
    assert not desktop.connection.uses_key(KEY) and desktop.chat.client() is None


def test_a_send_while_the_keychain_is_unreadable_says_so(
    qtbot: Any, locked_keychain: LockableKeyring, repo: Any
) -> None:
    """The chat's refusal names the unreadable keychain, not a missing key."""
    from jockey_desktop.concurrency import create_storage_runner
    from jockey_desktop.controllers.changes import ChangeFeed
    from jockey_desktop.controllers.connection import Connection
    from jockey_desktop.settings import AppSettings

    runner = TaskRunner(max_threads=2, name="test")
    storage = create_storage_runner()
    try:
        keys = SettingsController(ApiKeyStore(), runner)
        settings = AppSettings(repo.db_path.parent / "settings.ini")
        connection = Connection(settings, keys, environ={})
        chat = ChatController(repo, storage, ChangeFeed())
        connection.sig_no_client_reason.connect(chat.set_no_client_reason)
        connection.prepare()
        with qtbot.waitSignal(keys.sig_key_loaded, timeout=5_000):
            connection.connect_now()
        conversation = repo.create_conversation("store-1", "Store")
        refusal = chat.send(conversation.id, "hello") or ""
        assert "could not be read; it may be locked" in refusal and NO_KEY not in refusal
    finally:
        runner.shutdown(2000)
        storage.shutdown(2000)


def test_the_welcome_page_says_the_keychain_could_not_be_read_for_as_long_as_it_is_shown(
    qtbot: Any, start: Started, sandbox: Any, locked_keychain: LockableKeyring
) -> None:
    desktop = start_on(start, sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    problem = window.welcome.problem_label
    # On the page itself, not only in the status bar (whose copy is gone after seconds):
    # without it the page reads as a first run, as if no key had ever been saved.
    qtbot.waitUntil(lambda: problem.isVisibleTo(window) and "could not be read"
                    in problem.text(), timeout=5_000)
    assert NO_KEY not in problem.text()
    window.show_status("", 0)  # the status bar's copy gone
    assert problem.isVisibleTo(window)

    locked_keychain.locked = False
    window.welcome.key_button.click()  # opens Settings, which looks again
    qtbot.waitUntil(lambda: desktop.connection.uses_key(KEY), timeout=5_000)
    assert not problem.isVisibleTo(window) and problem.text() == ""


def test_without_a_secure_store_the_welcome_page_says_a_key_is_kept_for_this_run_only(
    qtbot: Any, start: Started
) -> None:
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # headless Linux: no Secret Service
    try:
        desktop = start(sandbox=False)
        window = desktop.window
        qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
        problem = window.welcome.problem_label
        # Else the key entered yesterday is asked for again today with no word why.
        qtbot.waitUntil(lambda: "no secure password store" in problem.text(), timeout=5_000)
        assert problem.isVisibleTo(window)
        assert "memory for this run only" in problem.text()
    finally:
        keyring.set_keyring(previous)
