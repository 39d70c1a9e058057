"""Words for people (issue 14.10): no class names in the window, a session line a person
understands, and actions named in sentences are links that do them."""

from __future__ import annotations

from typing import Any

import keyring
import keyring.backends.fail
import pytest

from jockey_desktop.core.secrets import ApiKeyStore
from jockey_desktop.presentation.session import SessionState
from tests.helpers.app import Started, ask_and_wait, wait_for_store
from tests.helpers.keys import click_link

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

CLASS_NAMES = ("Error", "keyring.", "Exception", "backends")


def test_settings_say_where_the_key_is_without_class_names(qtbot: Any, start: Started) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # no secure store on this machine
    desktop = start()
    window = desktop.window
    dialog = window.open_settings()
    label = dialog.location_label
    qtbot.waitUntil(lambda: label.text() == "No API key is set.", timeout=5_000)
    # The key is checked against this server (the sandbox's), never the real API.
    qtbot.waitUntil(lambda: desktop.connection.sandbox() is not None, timeout=5_000)
    dialog.base_url_field.setText(desktop.connection.sandbox().base_url)
    dialog.key_field.setText("sandbox")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "password store" in label.text(), timeout=5_000)
    assert not any(name in label.text() for name in CLASS_NAMES), label.text()
    assert "kept in memory for this run only" in label.text()
    dialog.close()


def test_the_session_line_says_what_follow_ups_can_do(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    pane = desktop.window.chat_pane
    ask_and_wait(qtbot, desktop)
    assert pane.session_label.text() == SessionState.ACTIVE.value
    assert "Session" not in pane.session_label.text()
    assert "Follow-up questions can refer to earlier answers" in pane.session_label.toolTip()
    assert all("session" not in state.value.lower() for state in SessionState)


def test_open_settings_in_a_rejected_key_sentence_is_a_link(
    qtbot: Any, start: Started, sandbox: Any
) -> None:
    ApiKeyStore().set("tlk_this_key_is_wrong_123")
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    window = desktop.window
    warning = window.store_picker.warning_label
    qtbot.waitUntil(lambda: warning.isVisible() and "rejected" in warning.text(),
                    timeout=10_000)
    assert window._settings_dialog is None or not window.settings_dialog.isVisible()
    assert click_link(qtbot, warning) == "action:settings"
    assert window.settings_dialog.isVisible()
    window.settings_dialog.close()


def test_a_notice_naming_a_menu_action_links_to_it(qtbot: Any, start: Started) -> None:
    window = start().window
    asked: list[bool] = []
    window.sig_restore_backup_requested.connect(lambda: asked.append(True))
    window.show_notice("The damaged file was moved aside. To do that, use File → Restore "
                       "newest backup…", important=True)
    assert click_link(qtbot, window.notice_banner.label) == "action:restore-backup"
    assert asked == [True]
