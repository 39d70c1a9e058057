"""QA fixes in the composition root: base URL safety, env key precedence, focus, empty
conversations, restoring a backup, and log redaction of tracebacks."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from jockey_desktop.__main__ import main
from jockey_desktop.app import _redactor, register_secret
from jockey_desktop.core.secrets import ApiKeyStore
from tests.gui import test_app_window as window_tests
from tests.gui.test_app_window import QUESTION, Started, ask_via_composer, turn_done, wait_for_store

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

start = window_tests.start


# ----------------------------------------------------------------- plain http


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
    desktop._new_client = lambda key, base: built.append(base)  # must never be called
    qtbot.waitUntil(desktop.window.is_welcome_shown, timeout=5_000)
    qtbot.waitUntil(lambda: "unencrypted" in desktop.window.statusBar().currentMessage(),
                    timeout=5_000)
    assert built == [] and desktop.chat.client() is None


# ----------------------------------------------------------------- env key wins


def test_the_env_key_stays_in_use_after_saving_another_key(
    qtbot: Any, start: Started, sandbox: Any, memory_keyring: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWELVELABS_API_KEY", "sandbox")
    desktop = start(sandbox=False, api_base=sandbox.base_url)
    qtbot.waitUntil(lambda: desktop._key == "sandbox", timeout=5_000)
    dialog = desktop.window.settings_dialog
    desktop.settings_controller.save_key("tlk_typed_other_key")
    qtbot.waitUntil(lambda: "still takes precedence" in dialog.location_label.text(),
                    timeout=5_000)
    assert dialog.location_label.text().startswith("Saved to the OS keychain;")
    assert desktop._key == "sandbox"
    assert "tlk_typed_other_key" in memory_keyring.store.values()


# ----------------------------------------------------------------- focus


def _focused(desktop: Any) -> Any:
    return desktop.window.focusWidget()


def test_focus_goes_to_the_composer_after_start_new_and_open(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    window = desktop.window
    composer_edit = window.chat_pane.composer.edit
    assert _focused(desktop) is composer_edit
    wait_for_store(qtbot, desktop)
    first = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, first, 1), timeout=15_000)

    window.sidebar.search_field.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert desktop.current_conversation_id() != first
    assert _focused(desktop) is composer_edit

    window.sidebar.search_field.setFocus()
    window.sidebar.select_conversation(first, notify=True)
    assert desktop.current_conversation_id() == first
    assert _focused(desktop) is composer_edit


def test_focus_stays_in_the_search_field_while_a_search_is_typed(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    first = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, first, 1), timeout=15_000)
    search = desktop.window.sidebar.search_field
    search.setFocus()
    search.setText("themes")
    desktop.open_conversation(first)
    assert _focused(desktop) is search


# ----------------------------------------------------------------- empty conversations


def test_new_conversation_reuses_an_empty_one_on_the_same_store(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    window = desktop.window
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert len(desktop.conversations.summaries()) == 1
    assert _focused(desktop) is window.chat_pane.composer.edit


def test_leaving_an_empty_undrafted_conversation_deletes_it(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    answered = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, answered, 1), timeout=15_000)
    empty = desktop.new_conversation()
    assert empty != answered
    desktop.window.sidebar.select_conversation(answered, notify=True)
    assert desktop.repo.get_conversation(empty) is None
    assert desktop.window.sidebar.model.summary_for(empty) is None
    # With a draft it is kept.
    drafted = desktop.new_conversation()
    desktop.window.chat_pane.composer.edit.insertPlainText("half a question")
    desktop.window.sidebar.select_conversation(answered, notify=True)
    assert desktop.repo.get_conversation(drafted) is not None


# ----------------------------------------------------------------- backups


def test_restore_newest_backup_after_confirmation_reloads_the_window(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    kept = desktop.new_conversation()
    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(turn_done(desktop, kept, 1), timeout=15_000)
    backup = desktop.repo.backup_now("manual")
    desktop.window.sidebar.sig_delete_requested.emit(kept)
    assert desktop.repo.get_conversation(kept) is None

    asked: list[str] = []
    desktop.window.confirm_restore_backup = lambda text: asked.append(text) or True
    desktop.window.sig_restore_backup_requested.emit()
    assert asked and str(backup) in asked[0]
    qtbot.waitUntil(lambda: desktop.window.sidebar.model.summary_for(kept) is not None,
                    timeout=10_000)
    assert desktop.repo.get_conversation(kept) is not None
    assert backup.name in desktop.window.statusBar().currentMessage()


def test_restore_declined_or_without_backup_changes_nothing(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    for path in desktop.repo.backup_dir.glob("*"):
        path.unlink()
    desktop.window.confirm_restore_backup = lambda text: pytest.fail("nothing to confirm")
    desktop.window.sig_restore_backup_requested.emit()
    assert "no backup" in desktop.window.statusBar().currentMessage()

    conversation = desktop.new_conversation()
    desktop.window.chat_pane.composer.edit.insertPlainText("keep me")
    desktop.repo.backup_now("manual")
    desktop.window.confirm_restore_backup = lambda text: False
    desktop.window.sig_restore_backup_requested.emit()
    assert desktop.current_conversation_id() == conversation


def test_the_damaged_database_notice_says_how_to_restore(
    qtbot: Any, start: Started, tmp_path: Path
) -> None:
    data_dir = start.data_dir
    desktop = start()
    start.stop(desktop)
    database = data_dir / "conversations.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(f"{database}{extra}").unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    desktop = start()
    assert "File → Restore newest backup" in desktop._startup_notice
    # It stays on screen in a banner until dismissed (a status-bar message would vanish).
    banner = desktop.window.notice_banner
    assert banner.isVisible()
    assert "File → Restore newest backup" in banner.text()


# ----------------------------------------------------------------- log redaction


def test_a_logged_exception_holding_the_key_is_redacted() -> None:
    secret = "tlk_traceback_secret_777"
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_redactor)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"client(key={secret!r}) failed")
        except RuntimeError:
            logger.exception("request failed")
        logger.warning("where am I", stack_info=True, extra={"k": secret})
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None,
                                   sinfo=f"Stack: {secret}")
        handler.handle(record)
    finally:
        logger.removeHandler(handler)
        _redactor.secrets.discard(secret)
    text = stream.getvalue()
    assert "RuntimeError" in text and "[redacted]" in text
    assert secret not in text


def test_focus_after_start_with_a_shown_window(qtbot: Any, start: Started) -> None:
    desktop = start()
    desktop.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=2_000)
    assert QApplication.focusWidget() is desktop.window.chat_pane.composer.edit
