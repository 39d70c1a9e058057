"""The workspace through the wired window: focus after start, new and open; empty
conversations never pile up; restoring the newest backup; the damaged-database notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.helpers.app import (
    QUESTION,
    Started,
    ask_and_wait,
    current,
    new_conversation,
    open_conversation,
    settled,
    wait_for_store,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


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
    first = new_conversation(qtbot, desktop)
    ask_and_wait(qtbot, desktop, QUESTION)

    window.sidebar.search_field.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: current(desktop) != first, timeout=5_000)
    assert _focused(desktop) is composer_edit

    window.sidebar.search_field.setFocus()
    window.sidebar.select_conversation(first, notify=True)
    assert current(desktop) == first
    assert _focused(desktop) is composer_edit


def test_focus_stays_in_the_search_field_while_a_search_is_typed(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    first = new_conversation(qtbot, desktop)
    ask_and_wait(qtbot, desktop, QUESTION)
    search = desktop.window.sidebar.search_field
    search.setFocus()
    search.setText("themes")
    desktop.workspace.open(first)
    assert _focused(desktop) is search


def test_new_conversation_reuses_an_empty_one_on_the_same_store(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    window = desktop.window
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    for _ in range(2):
        qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert len(desktop.conversations.summaries()) == 1
    assert _focused(desktop) is window.chat_pane.composer.edit


def test_leaving_an_empty_undrafted_conversation_deletes_it(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    answered = ask_and_wait(qtbot, desktop, QUESTION)
    empty = new_conversation(qtbot, desktop)
    assert empty != answered
    open_conversation(desktop, answered)
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert desktop.repo.get_conversation(empty) is None
    assert desktop.window.sidebar.model.summary_for(empty) is None
    # With a draft it is kept.
    drafted = new_conversation(qtbot, desktop)
    desktop.window.chat_pane.composer.edit.insertPlainText("half a question")
    open_conversation(desktop, answered)
    # Kept, and its draft written once the typing pause is over.
    qtbot.waitUntil(lambda: desktop.repo.get_conversation(drafted).draft == "half a question",
                    timeout=5_000)


def test_restore_newest_backup_after_confirmation_reloads_the_window(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    kept = ask_and_wait(qtbot, desktop, QUESTION)
    backup = desktop.repo.backup_now("manual")
    desktop.window.sidebar.sig_delete_requested.emit(kept)
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert desktop.repo.get_conversation(kept) is None

    asked: list[str] = []
    desktop.window.confirm_restore_backup = lambda text: asked.append(text) or True
    desktop.window.sig_restore_backup_requested.emit()
    assert asked and str(backup) in asked[0]
    qtbot.waitUntil(lambda: desktop.window.sidebar.model.summary_for(kept) is not None,
                    timeout=10_000)
    assert desktop.repo.get_conversation(kept) is not None
    assert backup.name in desktop.window.statusBar().currentMessage()
    assert not desktop.workspace.is_restoring()


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

    conversation = new_conversation(qtbot, desktop)
    desktop.window.chat_pane.composer.edit.insertPlainText("keep me")
    desktop.repo.backup_now("manual")
    desktop.window.confirm_restore_backup = lambda text: False
    desktop.window.sig_restore_backup_requested.emit()
    assert current(desktop) == conversation


def test_the_damaged_database_notice_says_how_to_restore(
    qtbot: Any, start: Started, tmp_path: Path
) -> None:
    data_dir = start.data_dir
    desktop = start()
    # The daily backup is taken after the first paint.
    qtbot.waitUntil(lambda: desktop.repo.latest_backup() is not None, timeout=5_000)
    start.stop(desktop)
    database = data_dir / "conversations.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(f"{database}{extra}").unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    desktop = start()
    assert "File → Restore newest backup" in desktop.startup_notice
    # It stays on screen in a banner until dismissed (a status-bar message would vanish),
    # with the restore offered right there.
    banner = desktop.window.notice_banner
    assert banner.isVisible()
    assert "File → Restore newest backup" in banner.text()
    assert banner.action() == "Restore newest backup…"


def test_with_no_backup_the_damaged_database_notice_offers_no_restore(
    qtbot: Any, start: Started
) -> None:
    database = start.data_dir / "conversations.sqlite3"
    start.data_dir.mkdir(parents=True)
    database.write_bytes(b"this is not a database" * 100)
    desktop = start()
    banner = desktop.window.notice_banner
    assert banner.isVisible() and "moved to" in banner.text()
    assert "Restore newest backup" not in banner.text() and banner.action() == ""


def test_focus_after_start_with_a_shown_window(qtbot: Any, start: Started) -> None:
    desktop = start()
    desktop.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=2_000)
    assert QApplication.focusWidget() is desktop.window.chat_pane.composer.edit


def test_a_refused_retry_says_why_and_leaves_the_composer_alone(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop, QUESTION)
    answer = desktop.window.chat_pane.chat_view.message_model.message_at(1)
    composer = desktop.window.chat_pane.composer
    assert composer.text() == ""
    desktop.window.chat_pane.sig_retry_requested.emit(answer.id)  # answered: refused
    assert "already been answered" in composer.reason()
    assert composer.text() == ""  # the question sent earlier does not come back
