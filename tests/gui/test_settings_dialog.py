"""Tests for the Settings dialog (pure UI: signals out, results in)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from jockey_desktop.ui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

SECRET = "tlk_SECRET_123"


@pytest.fixture
def dialog(qtbot) -> SettingsDialog:
    widget = SettingsDialog()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_save_emits_key_and_clears_field(qtbot, dialog, caplog) -> None:
    assert dialog.key_field.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.key_field, f"  {SECRET} ")
    with qtbot.waitSignal(dialog.sig_save_key) as blocker:
        dialog.save_button.click()
    assert blocker.args == [SECRET]
    assert dialog.key_field.text() == ""
    assert SECRET not in caplog.text


def test_show_hide_key(qtbot, dialog) -> None:
    dialog.show_key_button.click()
    assert dialog.key_field.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.show_key_button.text() == "Hide"
    dialog.show_key_button.click()
    assert dialog.key_field.echoMode() == QLineEdit.EchoMode.Password


def test_replace_and_remove(qtbot, dialog) -> None:
    assert dialog.save_button.text() == "Save key"
    assert not dialog.remove_button.isEnabled()
    dialog.set_has_key(True)
    assert dialog.save_button.text() == "Replace key"
    dialog.confirm_remove = lambda: False  # type: ignore[method-assign]
    with qtbot.assertNotEmitted(dialog.sig_remove_key):
        dialog.remove_button.click()
    dialog.confirm_remove = lambda: True  # type: ignore[method-assign]
    with qtbot.waitSignal(dialog.sig_remove_key):
        dialog.remove_button.click()


def test_test_connection_and_result(qtbot, dialog) -> None:
    dialog.base_url_field.setText("http://127.0.0.1:9/v1.3")
    dialog.key_field.setText("k1")
    with qtbot.waitSignal(dialog.sig_test_connection) as blocker:
        dialog.test_button.click()
    assert blocker.args == ["k1", "http://127.0.0.1:9/v1.3"]
    assert dialog.test_result_label.text() == "Testing…"
    assert not dialog.test_button.isEnabled()
    dialog.set_test_result(False, "The API key was rejected.")
    assert dialog.test_result_label.text() == "✗ The API key was rejected."
    assert dialog.test_button.isEnabled()
    dialog.set_test_result(True, "Connected: 3 knowledge stores.")
    assert dialog.test_result_label.text().startswith("✓")


def test_apply_and_url_validation(qtbot, dialog) -> None:
    dialog.set_values("https://example.test/v1.3", False)
    dialog.sandbox_check.setChecked(True)
    with qtbot.waitSignal(dialog.sig_apply) as blocker:
        dialog.apply_button.click()
    assert blocker.args == ["https://example.test/v1.3", True]
    dialog.base_url_field.setText("example.test")
    assert not dialog.apply_button.isHidden() and not dialog.apply_button.isEnabled()
    assert "https://" in dialog.base_url_error.text()
    with qtbot.assertNotEmitted(dialog.sig_apply):
        qtbot.keyClick(dialog.base_url_field, Qt.Key.Key_Return)


def test_labels_and_close_drops_unsaved_key(qtbot, dialog) -> None:
    dialog.set_key_location("Stored in the system keychain.")
    dialog.set_proxy(None)
    assert dialog.proxy_label.text() == "None (direct connection)"
    dialog.set_proxy("http://proxy:3128")
    assert dialog.proxy_label.text() == "http://proxy:3128"
    assert dialog.location_label.text() == "Stored in the system keychain."
    dialog.key_field.setText("unsaved")
    dialog.reject()
    assert dialog.key_field.text() == ""
