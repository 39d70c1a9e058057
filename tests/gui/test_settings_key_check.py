"""Saving a key in Settings asks the server first, and the dialog itself says what came of it:
"Checking…", then accepted, refused (nothing saved, the typed key kept to correct) or saved
without a verdict (the server down, failing, or not a Jockey API), with the reason."""

from __future__ import annotations

import socket
from typing import Any

import keyring
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from jockey_desktop.presentation.connection import KEY_CHECKING_TEXT, ConnectionMode
from jockey_desktop.sandbox import Fault
from tests.helpers.app import Started, wait_for_store
from tests.helpers.keyrings import LockableKeyring

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

WRONG_KEY = "tlk_NOT_THE_RIGHT_KEY_0123456789"
GOOD_KEY = "sandbox"  # what the sandbox accepts


def _settings_on(qtbot: Any, start: Started, sandbox: Any) -> tuple[Any, Any]:
    """The app on the sandbox server with no key yet, its Settings dialog open."""
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    dialog = window.open_settings()
    qtbot.waitUntil(lambda: "No API key" in dialog.location_label.text(), timeout=5_000)
    return desktop, dialog


def _result(dialog: Any) -> str:
    label = dialog.test_result_label
    return label.text() if label.isVisible() else ""


def _save(qtbot: Any, dialog: Any, key: str) -> None:
    """Type ``key`` and press Save; while the server is asked the dialog says so."""
    dialog.key_field.setText(key)
    with qtbot.waitSignal(dialog.sig_save_key, timeout=5_000):
        dialog.save_button.click()
        # Said at once, before any answer: the window never waits for the server.
        assert _result(dialog) == KEY_CHECKING_TEXT
        assert dialog.key_field.isReadOnly() and not dialog.save_button.isEnabled()
        assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_a_key_the_server_refuses_is_said_next_to_it_and_kept_to_correct(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    desktop, dialog = _settings_on(qtbot, start, sandbox)

    _save(qtbot, dialog, WRONG_KEY)
    qtbot.waitUntil(lambda: _result(dialog).startswith("✗"), timeout=10_000)
    assert "The server refused this key" in _result(dialog)
    assert "Nothing was saved" in _result(dialog)
    assert dialog.key_field.text() == WRONG_KEY and not dialog.key_field.isReadOnly()
    assert dialog.key_field.selectedText() == WRONG_KEY  # ready to paste over
    assert memory_keyring.store == {}
    assert desktop.window.is_welcome_shown() and desktop.chat.client() is None

    # Corrected: accepted, saved, used.
    _save(qtbot, dialog, GOOD_KEY)
    qtbot.waitUntil(lambda: _result(dialog).startswith("✓"), timeout=10_000)
    assert "The server accepted this key" in _result(dialog)
    assert dialog.key_field.text() == ""
    assert GOOD_KEY in memory_keyring.store.values()
    qtbot.waitUntil(lambda: desktop.connection.uses_key(GOOD_KEY), timeout=5_000)
    assert dialog.save_button.text() == "Replace key"

    # Replacing the working key by a refused one keeps the working key in use.
    _save(qtbot, dialog, WRONG_KEY)
    qtbot.waitUntil(lambda: _result(dialog).startswith("✗"), timeout=10_000)
    assert "The key saved before stays in use" in _result(dialog)
    assert list(memory_keyring.store.values()) == [GOOD_KEY]
    assert desktop.connection.uses_key(GOOD_KEY)
    wait_for_store(qtbot, desktop)


def test_ok_waits_for_the_verdict_and_closes_only_on_an_accepted_key(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    desktop, dialog = _settings_on(qtbot, start, sandbox)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)

    dialog.key_field.setText(WRONG_KEY)
    ok.click()
    qtbot.waitUntil(lambda: _result(dialog).startswith("✗"), timeout=10_000)
    assert dialog.isVisible() and dialog.key_field.text() == WRONG_KEY
    assert memory_keyring.store == {}

    dialog.key_field.setText(GOOD_KEY)
    ok.click()
    assert dialog.isVisible()  # until the server has answered
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert dialog.key_field.text() == ""
    qtbot.waitUntil(lambda: desktop.connection.mode is ConnectionMode.API, timeout=5_000)
    assert GOOD_KEY in memory_keyring.store.values()


def test_closing_while_the_key_is_checked_saves_nothing(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    desktop, dialog = _settings_on(qtbot, start, sandbox)
    _save(qtbot, dialog, GOOD_KEY)
    dialog.reject()  # before the server's answer can have been delivered
    assert not dialog.isVisible() and dialog.key_field.text() == ""
    # Every job done or dropped: the check (and no save after it).
    qtbot.waitUntil(lambda: desktop.runner.pending_count == 0
                    and desktop.runner.pool.activeThreadCount() == 0, timeout=10_000)
    assert memory_keyring.store == {}
    assert desktop.chat.client() is None


def _dead_port() -> int:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("case", "said"), [
    ("unreachable", "Can't reach the server"),
    ("5xx", "The server failed to answer"),
    ("not a Jockey API", "does not offer the Jockey API"),
])
def test_a_key_the_server_could_not_check_is_saved_with_the_reason(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any, case: str, said: str
) -> None:
    _desktop, dialog = _settings_on(qtbot, start, sandbox)
    if case == "unreachable":
        dialog.base_url_field.setText(f"http://127.0.0.1:{_dead_port()}/v1.3")
    elif case == "5xx":
        sandbox.faults.add(Fault.error(503, "service_unavailable", times=None,
                                       path="/knowledge-stores", method="GET"))
    else:
        sandbox.faults.add(Fault.error(404, "not_found", "File not found", times=None,
                                       path="/knowledge-stores", method="GET"))
    _save(qtbot, dialog, GOOD_KEY)
    qtbot.waitUntil(lambda: _result(dialog).startswith("⚠"), timeout=10_000)
    text = _result(dialog)
    assert "The key is saved, but the server could not check it" in text and said in text
    assert "open Settings" not in text  # we are in it
    assert dialog.test_result_label.property("role") == "warning"
    assert GOOD_KEY in memory_keyring.store.values()
    assert dialog.key_field.text() == ""


def test_a_locked_keychain_on_save_is_said_in_the_dialog(
    qtbot: Any, start: Started, sandbox: Any
) -> None:
    previous = keyring.get_keyring()
    locked = LockableKeyring()
    locked.locked = True
    keyring.set_keyring(locked)
    try:
        desktop = start(sandbox=False, api_base=sandbox.base_url)
        dialog = desktop.window.open_settings()
        qtbot.waitUntil(lambda: "could not be read" in dialog.location_label.text(),
                        timeout=5_000)
        _save(qtbot, dialog, GOOD_KEY)
        qtbot.waitUntil(lambda: _result(dialog).startswith("✓"), timeout=10_000)
        qtbot.waitUntil(lambda: "kept in memory for this run only"
                        in dialog.location_label.text(), timeout=5_000)
        assert "unlock the keychain" in dialog.location_label.text().lower()
        assert locked.store == {}
        assert desktop.connection.uses_key(GOOD_KEY)
    finally:
        keyring.set_keyring(previous)


def test_settings_opened_from_a_refused_saved_key_says_so_by_the_key_field(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    """The key saved earlier is refused now (revoked): the main window's notice says "open
    Settings to replace it", and Settings itself says why it was opened."""
    from jockey_desktop.core.secrets import ApiKeyStore

    ApiKeyStore().set(WRONG_KEY)
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(lambda: "rejected" in window.store_picker.warning_label.text(),
                    timeout=10_000)
    dialog = window.open_settings()
    assert _result(dialog).startswith("✗ The server refuses the saved key")
    assert dialog.key_field.text() == ""  # the saved key is never shown

    _save(qtbot, dialog, GOOD_KEY)
    qtbot.waitUntil(lambda: _result(dialog).startswith("✓"), timeout=10_000)
    wait_for_store(qtbot, desktop)
    assert _result(dialog).startswith("✓ The server accepted this key")

    desktop.connection.remove_key()
    qtbot.waitUntil(lambda: desktop.chat.client() is None, timeout=5_000)
    dialog.reject()
    window.open_settings()
    assert "refuses the saved key" not in _result(dialog)
