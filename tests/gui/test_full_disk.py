"""A full disk in the running app (issue 10.1), with ``DiskFullError`` injected into the real
repository under the real controllers and window: nothing typed or answered is lost, the user
is told the disk is full and where, Stop works, and everything is saved once there is space."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.app import (
    SLOW,
    Started,
    ask_and_wait,
    ask_via_composer,
    current,
    pane_messages,
    settled,
    turn_done,
    wait_for_store,
)
from tests.helpers.faulty_storage import FaultyRepository
from tests.helpers.full_disk import fill_disk_mid_answer, settle_held_retries, stored_answers
from tests.helpers.private_mount import mount_unavailable_reason, run_with_private_mounts

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def _stored_draft(repo: FaultyRepository, conversation_id: int) -> str | None:
    conversation = repo.real.get_conversation(conversation_id)
    return conversation.draft if conversation is not None else None


def test_enter_on_a_full_disk_keeps_the_question_and_its_draft(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start()
    repo = faulty[0]
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    composer = desktop.window.chat_pane.composer
    repo.disk_full = True
    ask_via_composer(desktop, "Asked on a full disk")
    qtbot.waitUntil(lambda: bool(composer.reason()), timeout=5_000)
    assert composer.text() == "Asked on a full disk"  # back in the composer
    folder = desktop.paths.database.parent
    assert composer.reason().startswith("Your question was not sent: it could not be saved. "
                                        f"The disk holding {folder} is full")
    assert not desktop.chat.is_busy(conversation_id)
    # The draft (refused by the disk too) is kept in memory...
    # (The composer's clearing on send is a draft write too: wait for the one that puts the
    # question back, not just the first refusal.)
    qtbot.waitUntil(lambda: "set_draft" in repo.failed
                    and desktop.conversations.draft(conversation_id) == "Asked on a full disk",
                    timeout=5_000)
    assert "Your draft is kept" in desktop.window.statusBar().toolTip()  # the full text
    # ...and saved once there is space, without the user doing anything.
    repo.disk_full = False
    qtbot.waitUntil(lambda: _stored_draft(repo, conversation_id) == "Asked on a full disk",
                    timeout=5_000)
    # Sending works again.
    composer.submit()
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=15_000)
    questions = [m.text for m in repo.real.list_messages(conversation_id) if m.role == Role.USER]
    assert questions[-1] == "Asked on a full disk"


def test_the_first_question_on_a_full_disk_goes_back_to_the_composer(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    faulty[0].disk_full = True  # the conversation itself cannot be written
    composer = desktop.window.chat_pane.composer
    ask_via_composer(desktop, "The very first question")
    qtbot.waitUntil(lambda: bool(composer.reason()), timeout=5_000)
    assert composer.text() == "The very first question"
    assert "is full" in composer.reason() and current(desktop) is None
    faulty[0].disk_full = False
    composer.submit()
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    assert conversation_id is not None
    qtbot.waitUntil(turn_done(desktop, conversation_id, 1), timeout=15_000)


def test_an_answer_finishing_on_a_full_disk_is_kept_and_saved_when_space_returns(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start(sandbox_pace=SLOW)
    repo = faulty[0]
    pane = desktop.window.chat_pane
    conversation_id = fill_disk_mid_answer(qtbot, desktop, repo)
    # The partial flush fails: said once, the answer keeps arriving.
    qtbot.waitUntil(lambda: "keeps arriving" in pane.notice.text(), timeout=10_000)
    # Nothing for the user to try again: the answer is written by itself once there is space.
    assert "try again" not in pane.notice.text() and "Free some space" in pane.notice.text()
    qtbot.waitUntil(lambda: not desktop.chat.is_busy(conversation_id), timeout=20_000)
    assert not pane.is_busy()  # Send again, not a Stop that does nothing
    qtbot.waitUntil(lambda: desktop.chat.held_write_count() == 1, timeout=5_000)
    shown = pane_messages(desktop)[-1]
    stored = stored_answers(repo, conversation_id)[-1]
    assert stored.status is MessageStatus.STREAMING  # nothing on disk yet...
    assert shown.status is MessageStatus.COMPLETE  # ...the whole answer on screen
    assert shown.error_code == ErrorCode.NOT_SAVED and len(shown.text) > len(stored.text)
    assert "kept in memory" in pane.notice.text()
    assert "try again" not in pane.notice.text()
    assert str(desktop.paths.database.parent) in pane.notice.text()
    # Reopened (as from the sidebar), the answer is still shown from memory.
    desktop.workspace.open(conversation_id)
    assert pane_messages(desktop)[-1].text == shown.text
    repo.disk_full = False
    qtbot.waitUntil(lambda: stored_answers(repo, conversation_id)[-1].status
                    is MessageStatus.COMPLETE, timeout=5_000)
    saved = stored_answers(repo, conversation_id)[-1]
    assert saved.text == shown.text and saved.citations == shown.citations
    qtbot.waitUntil(lambda: settled(desktop) and desktop.chat.held_write_count() == 0,
                    timeout=5_000)
    assert pane_messages(desktop)[-1].error_code is None  # the saved row replaced it
    assert "saved" in pane.notice.text()
    conversation = repo.real.get_conversation(conversation_id)
    assert conversation is not None and conversation.session_id == saved.session_id


def test_stop_on_a_full_disk_works_and_the_stopped_answer_is_saved_later(
    qtbot: Any, start: Started, faulty: list[FaultyRepository]
) -> None:
    desktop = start(sandbox_pace=SLOW)
    repo = faulty[0]
    pane = desktop.window.chat_pane
    conversation_id = fill_disk_mid_answer(qtbot, desktop, repo)
    qtbot.waitUntil(lambda: len(pane_messages(desktop)[-1].text) > 20, timeout=10_000)
    pane.composer.send_button.click()  # Stop
    assert not desktop.chat.is_busy(conversation_id) and not pane.is_busy()
    qtbot.waitUntil(lambda: desktop.chat.held_write_count() == 1, timeout=5_000)
    shown = pane_messages(desktop)[-1]
    assert shown.status is MessageStatus.CANCELLED and shown.error_code == ErrorCode.NOT_SAVED
    # A question asked meanwhile is refused (no space), with its text back.
    ask_via_composer(desktop, "Next question")
    qtbot.waitUntil(lambda: bool(pane.composer.reason()), timeout=5_000)
    assert pane.composer.text() == "Next question"
    repo.disk_full = False
    pane.composer.submit()  # sending works again: the held end is written first
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=20_000)
    answers = stored_answers(repo, conversation_id)
    assert answers[0].status is MessageStatus.CANCELLED and answers[0].text == shown.text
    assert answers[1].status is MessageStatus.COMPLETE


CHILD = Path(__file__).with_name("full_disk_app_child.py")


@pytest.mark.slow
def test_the_whole_app_on_a_real_full_tmpfs(tmp_path: Path) -> None:
    """Issue 10.1 as reported: the app on a 2 MB disk, filled before a question and again
    mid-answer."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    reason = mount_unavailable_reason(mount_point)
    if reason is not None:
        pytest.skip(reason)
    run = run_with_private_mounts(
        f"mount -t tmpfs -o size=2m tmpfs '{mount_point}'",
        [sys.executable, str(CHILD), str(mount_point)],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    data = mount_point / "data"
    assert report["refused_text"] == "Asked on a full disk"
    assert report["refused_reason"].startswith(
        f"Your question was not sent: it could not be saved. The disk holding {data} is full")
    assert report["second_saved"] == "complete"  # asking works again once there is space
    assert report["held"] >= 1 and report["busy_after"] is False
    assert report["shown_status"] == "complete" and report["shown_error_code"] == "not_saved"
    assert report["stored_while_full"][0] == "streaming"
    assert report["stored_while_full"][1] < report["shown_len"]
    assert "kept in memory" in report["notice"]
    assert report["saved"] == ["complete", report["shown_len"]] and report["integrity"]
    # Closing while it was held asked (once, naming the disk), and Try again saved it.
    assert report["closed_at_once"] is False and len(report["quit_asked"]) == 1
    assert f"could not be saved: the disk holding {data} is full" in report["quit_asked"][0]
    assert report["held_at_close"] == 0


def test_an_answer_held_until_quit_is_tried_once_more_and_logged_as_lost(
    qtbot: Any, start: Started, faulty: list[FaultyRepository],
    caplog: pytest.LogCaptureFixture,
) -> None:
    desktop = start(sandbox_pace=SLOW)
    repo = faulty[0]
    conversation_id = fill_disk_mid_answer(qtbot, desktop, repo)
    qtbot.waitUntil(lambda: desktop.chat.held_write_count() == 1, timeout=20_000)
    settle_held_retries(qtbot, desktop)
    tries = repo.failed.count("complete_turn")
    partial = stored_answers(repo, conversation_id)[-1]  # what the disk kept
    assert partial.status is MessageStatus.STREAMING and partial.text
    start.stop(desktop)  # the disk never freed up
    assert repo.failed.count("complete_turn") == tries + 1  # one last try at quit
    assert "lost at quit, the disk is still full: end" in caplog.text
    # The next start settles what the disk kept: the partial answer, interrupted.
    again = start()
    answer = stored_answers(faulty[1], conversation_id)[-1]
    assert answer.status is MessageStatus.INTERRUPTED and answer.text == partial.text
    assert again.repo.open_report.interrupted_messages == 1
