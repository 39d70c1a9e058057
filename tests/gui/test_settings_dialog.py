"""Tests for the Settings dialog (pure UI: signals out, results in)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from jockey_desktop.presentation.connection import KeyVerdict
from jockey_desktop.ui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

SECRET = "tlk_SECRET_123"


@pytest.fixture
def dialog(qtbot) -> SettingsDialog:
    widget = SettingsDialog()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_save_emits_key_and_clears_field_once_saved(qtbot, dialog, caplog) -> None:
    assert dialog.key_field.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.key_field, f"  {SECRET} ")
    with qtbot.waitSignal(dialog.sig_save_key) as blocker:
        dialog.save_button.click()
    assert blocker.args == [SECRET, ""]  # checked against the server in use
    assert dialog.is_checking_key() and dialog.key_field.isReadOnly()
    dialog.set_key_check_result(KeyVerdict.ACCEPTED, "The server accepted this key.")
    assert dialog.key_field.text() == "" and not dialog.is_checking_key()
    assert dialog.test_result_label.text() == "✓ The server accepted this key."
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


def test_no_blank_line_for_a_test_result_not_yet_given(qtbot, dialog) -> None:
    qtbot.waitExposed(dialog)

    def gap() -> int:
        # From the buttons row to the line saying where the key is kept.
        below = dialog.save_button.mapTo(dialog, dialog.save_button.rect().bottomLeft()).y()
        return dialog.location_label.mapTo(dialog, dialog.location_label.rect().topLeft()).y() \
            - below

    line = dialog.location_label.fontMetrics().lineSpacing()
    assert not dialog.test_result_label.isVisible()
    assert gap() < line  # only the layout's spacing
    dialog.key_field.setText("k1")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_result_label.isVisible() and gap() >= line,
                    timeout=5_000)
    dialog.key_field.setText("a-new-key-1234567890")
    dialog.save_button.click()  # "Checking…" replaces the result
    dialog.reject()  # closed meanwhile: nothing more to say when it opens again
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.test_result_label.isVisible() and gap() < line,
                    timeout=5_000)


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


@pytest.mark.parametrize(
    ("url", "acceptable"),
    [
        ("", True),
        ("https://api.example.com/v1.3", True),
        ("http://127.0.0.1:8123/v1.3", True),
        ("http://localhost:8123/v1.3", True),
        ("http://api.example.com/v1.3", False),
        ("http://192.168.0.10/v1.3", False),
    ],
)
def test_plain_http_to_another_machine_is_refused(qtbot, dialog, url, acceptable) -> None:
    dialog.base_url_field.setText(url)
    problem = dialog._base_url_problem()
    assert (problem is None) is acceptable
    assert dialog.apply_button.isEnabled() is acceptable
    if not acceptable:
        assert "unencrypted" in problem
        assert dialog.base_url_error.isVisible() and dialog.base_url_error.text() == problem


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [("tlk_abc\ndef", "line break"), ("tlk_abc’def", "non-ASCII character ('’')")],
)
def test_a_malformed_key_is_explained_not_saved_or_tested(qtbot, dialog, pasted, expected) -> None:
    dialog.key_field.setText(pasted)
    with qtbot.assertNotEmitted(dialog.sig_save_key), \
            qtbot.assertNotEmitted(dialog.sig_test_connection):
        dialog.save_button.click()
        assert expected in dialog.test_result_label.text()
        dialog.test_button.click()
    assert expected in dialog.test_result_label.text()
    assert "paste it again from the Playground" in dialog.test_result_label.text()
    assert dialog.key_field.text() == pasted  # kept so the user can see what was pasted


def _fits(label) -> bool:
    return label.isVisible() and label.heightForWidth(label.width()) <= label.height()


def test_long_location_and_result_texts_are_shown_in_full(qtbot, dialog) -> None:
    qtbot.waitExposed(dialog)
    long_text = ("This computer has no secure password store the app can use (such as "
                 "GNOME Keyring or KWallet), so the key is kept in memory for this run only. "
                 * 3)
    dialog.set_key_location(long_text)
    qtbot.waitUntil(lambda: _fits(dialog.location_label))
    dialog.set_test_result(False, "The server could not be reached: " + "details " * 40)
    qtbot.waitUntil(lambda: _fits(dialog.test_result_label))
    assert _fits(dialog.location_label)
    assert dialog.location_label.text() == long_text


def test_an_auth_failure_in_settings_does_not_say_open_settings(qtbot, dialog) -> None:
    dialog.set_test_result(False, "Your API key was rejected — open Settings to replace it.")
    text = dialog.test_result_label.text()
    assert "open Settings" not in text and "rejected" in text
