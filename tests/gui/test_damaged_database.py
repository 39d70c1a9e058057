"""A damaged database (issue 10.2): at start-up and at run time the app moves the file aside,
keeps running, says so and offers the newest backup; restoring it brings the conversations
back. Real damaged files, the real app."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.app import JockeyDesktop
from jockey_desktop.core.storage.models import Role
from tests.helpers.app import (
    Started,
    ask_and_wait,
    ask_via_composer,
    current,
    open_conversation,
    settled,
    wait_for_store,
)
from tests.helpers.damaged_db import damage_page, database_with_deep_damage
from tests.helpers.faulty_storage import FaultyRepository, inject_faults

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def _restore_from_the_banner(qtbot: Any, desktop: JockeyDesktop,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Click the banner's "Restore newest backup…" and confirm."""
    banner = desktop.window.notice_banner
    assert banner.action() == "Restore newest backup…"
    monkeypatch.setattr(desktop.window, "confirm_restore_backup", lambda text: True)
    banner.action_button.click()
    qtbot.waitUntil(lambda: not desktop.workspace.is_restoring() and settled(desktop),
                    timeout=10_000)


def _titles(desktop: JockeyDesktop) -> list[str]:
    return [s.conversation.title for s in desktop.window.sidebar.model.summaries()]


def test_a_damaged_page_at_start_up_is_moved_aside_and_the_backup_offered(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    desktop.repo.backup_now("test")
    start.stop(desktop)  # a clean quit
    database = start.data_dir / "conversations.sqlite3"
    damage_page(database, 2)  # the reproduction of the report

    desktop = start()  # starts: no exit, no traceback
    banner = desktop.window.notice_banner
    assert banner.isVisible()
    assert banner.text().startswith("The conversation database was damaged: ")
    assert "))" not in banner.text()  # no brackets within brackets
    moved = desktop.repo.open_report.moved_aside
    assert moved is not None and moved.exists() and str(moved) in banner.text()
    assert _titles(desktop) == []  # a new, empty database meanwhile
    _restore_from_the_banner(qtbot, desktop, monkeypatch)
    restored = desktop.repo.get_conversation(conversation_id)
    assert restored is not None and _titles(desktop) == [restored.title]


def test_an_empty_file_with_backups_is_the_same_case(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    qtbot.waitUntil(lambda: desktop.repo.latest_backup() is not None, timeout=5_000)
    start.stop(desktop)
    (start.data_dir / "conversations.sqlite3").write_bytes(b"")
    desktop = start()
    assert "it is empty, but backups exist" in desktop.window.notice_banner.text()
    assert desktop.window.notice_banner.action() == "Restore newest backup…"


def test_a_damaged_page_met_while_running_takes_the_same_path(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    start.data_dir.mkdir(parents=True)
    database = start.data_dir / "conversations.sqlite3"
    built = database_with_deep_damage(database, start.data_dir / "backups")
    desktop = start()
    assert desktop.repo.open_report.moved_aside is None  # the open-time probe saw nothing
    assert "Old conversation" in _titles(desktop)
    open_conversation(desktop, built.damaged_id)  # its long question is on damaged pages
    banner = desktop.window.notice_banner
    qtbot.waitUntil(banner.isVisible, timeout=10_000)
    assert banner.text().startswith("The conversation database was damaged: a damaged page "
                                    "was met while running. It was moved to ")
    moved = desktop.repo.open_report.moved_aside
    assert moved is not None and moved.exists() and not desktop.workspace.is_recovering()
    assert current(desktop) is None and _titles(desktop) == []
    # The app keeps working on the new file...
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    assert len(_titles(desktop)) == 1
    # ...and the backup brings the old conversations back.
    _restore_from_the_banner(qtbot, desktop, monkeypatch)
    assert {"Old conversation", "Recent conversation"} <= set(_titles(desktop))
    messages = desktop.repo.list_messages(built.damaged_id)
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]


@pytest.mark.parametrize("met_by", ["read", "write"])
def test_damage_met_by_a_send_puts_the_question_back_and_recovers(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch, met_by: str
) -> None:
    faulty: list[FaultyRepository] = inject_faults(monkeypatch)
    desktop = start()
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    if met_by == "read":
        faulty[0].damaged = True  # the send's own read of the conversation meets it
    else:
        faulty[0].damaged_writes = True  # the question's write, on the storage runner
    composer = desktop.window.chat_pane.composer
    ask_via_composer(desktop, "Asked while the file is damaged")
    qtbot.waitUntil(lambda: desktop.window.notice_banner.isVisible(), timeout=10_000)
    assert ("start_turn" if met_by == "write" else "get_conversation") in faulty[0].failed
    assert desktop.repo.open_report.moved_aside is not None
    assert desktop.window.notice_banner.action() == "Restore newest backup…"
    # The question is not lost: it is back in the composer, with the reason.
    assert composer.text() == "Asked while the file is damaged"
    assert composer.reason()
