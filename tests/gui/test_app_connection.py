"""The connection as the app makes it: a refused plain-http base URL, the environment's key
winning over a saved one, the sandbox, a saved key and the welcome page."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.__main__ import main
from jockey_desktop.core.secrets import ApiKeyStore
from jockey_desktop.presentation.connection import ConnectionMode
from tests.helpers.app import Started, wait_for_store

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def test_api_base_over_plain_http_to_another_machine_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--api-base", "http://api.example.com/v1.3", "--data-dir", "/nonexistent/x"])
    assert exited.value.code == 2
    assert "unencrypted" in capsys.readouterr().err


def test_a_stored_plain_http_base_url_builds_no_client(
    qtbot: Any, start: Started, memory_keyring: Any
) -> None:
    from jockey_desktop.paths import AppPaths
    from jockey_desktop.settings import AppSettings

    settings = AppSettings(AppPaths.under(start.data_dir).settings_file)
    start.data_dir.mkdir(parents=True)
    settings.api_base_url = "http://api.example.com/v1.3"
    settings.sync()
    ApiKeyStore().set("tlk_stored_key_1234")
    built: list[Any] = []
    desktop = start(sandbox=False)
    desktop.connection.client_factory = lambda key, base: built.append(base)  # never called
    qtbot.waitUntil(desktop.window.is_welcome_shown, timeout=5_000)
    qtbot.waitUntil(lambda: "unencrypted" in desktop.window.statusBar().currentMessage(),
                    timeout=5_000)
    assert built == [] and desktop.chat.client() is None


def test_the_env_key_stays_in_use_after_saving_another_key(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWELVELABS_API_KEY", "sandbox")
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    qtbot.waitUntil(lambda: desktop.connection.uses_key("sandbox"), timeout=5_000)
    dialog = desktop.window.settings_dialog
    desktop.connection.save_key("tlk_typed_other_key")
    qtbot.waitUntil(lambda: "still takes precedence" in dialog.location_label.text(),
                    timeout=5_000)
    assert dialog.location_label.text().startswith("Saved to the OS keychain;")
    assert desktop.connection.uses_key("sandbox")
    assert desktop.connection.mode is ConnectionMode.API
    assert "tlk_typed_other_key" in memory_keyring.store.values()


def test_welcome_page_without_a_key_then_try_the_sandbox(qtbot: Any, start: Started) -> None:
    desktop = start(sandbox=False)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    window.welcome.sig_try_sandbox_requested.emit()
    assert not window.is_welcome_shown()
    assert window.connection_label.text() == "Sandbox"
    wait_for_store(qtbot, desktop)
    assert desktop.settings.use_sandbox  # remembered for the next start


def test_a_saved_key_and_api_base_connect_without_the_welcome_page(
    qtbot: Any, start: Started, sandbox: Any
) -> None:
    from jockey_desktop.core.secrets import ApiKeyStore

    ApiKeyStore().set("sandbox")
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(lambda: window.connection_label.text().startswith("127.0.0.1:"),
                    timeout=5_000)
    assert not window.is_welcome_shown()
    assert desktop.connection.sandbox() is None  # the external server, not in-process
    wait_for_store(qtbot, desktop)
    # Removing the key goes back to the welcome page.
    desktop.connection.remove_key()
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    assert desktop.chat.client() is None


def test_enter_a_key_from_the_welcome_page(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    window.welcome.sig_enter_key_requested.emit()
    dialog = window.settings_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: "No API key" in dialog.location_label.text(), timeout=5_000)
    dialog.key_field.setText("sandbox")
    dialog.save_button.click()
    # The dialog keeps the key only until the server has accepted it.
    qtbot.waitUntil(lambda: dialog.key_field.text() == "", timeout=5_000)
    qtbot.waitUntil(lambda: not window.is_welcome_shown(), timeout=5_000)
    assert "sandbox" in memory_keyring.store.values()
    assert "keychain" in dialog.location_label.text()
    wait_for_store(qtbot, desktop)
    # "Test connection" with an empty field tests the key in use.
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Connected" in dialog.test_result_label.text(), timeout=5_000)


def test_a_pasted_key_is_kept_by_ok(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any
) -> None:
    """Welcome → "Enter an API key…", paste, OK: the key is saved and used (issue 14.1); it
    was thrown away unless "Save key" was pressed first."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QDialogButtonBox

    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    qtbot.waitUntil(window.is_welcome_shown, timeout=5_000)
    qtbot.mouseClick(window.welcome.key_button, Qt.MouseButton.LeftButton)
    dialog = window.settings_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.key_field.hasFocus, timeout=5_000)  # ready for the paste
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)

    # Not a key: the dialog stays open and says why; nothing is stored.
    QGuiApplication.clipboard().setText("not a key\n")
    qtbot.keyClick(dialog.key_field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.test_result_label.text().startswith("✗")
    assert memory_keyring.store == {}

    dialog.key_field.clear()
    QGuiApplication.clipboard().setText("sandbox")
    qtbot.keyClick(dialog.key_field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.key_field.text() == "sandbox"
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    # Closed once the server has accepted the key.
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
    assert dialog.key_field.text() == ""
    qtbot.waitUntil(lambda: not window.is_welcome_shown(), timeout=5_000)
    assert "sandbox" in memory_keyring.store.values()
    qtbot.waitUntil(lambda: window.connection_label.text().startswith("127.0.0.1:"),
                    timeout=5_000)
    wait_for_store(qtbot, desktop)
    window.open_settings()
    qtbot.waitUntil(lambda: "keychain" in dialog.location_label.text(), timeout=5_000)
    assert dialog.save_button.text() == "Replace key"
