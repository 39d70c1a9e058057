"""One follow-up turn through the whole app takes one path: written on the storage runner,
announced once on the change feed, and each view re-reads at most once — counted."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.app import (
    QUESTION,
    Started,
    ask_and_wait,
    ask_via_composer,
    pane_messages,
    settled,
    wait_for_store,
)
from tests.helpers.counting import counting_calls

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

FOLLOW_UP = "Which videos best represent the first theme?"


def test_a_follow_up_turn_reads_each_row_once_and_writes_off_the_gui_thread(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop, QUESTION)
    changes: list[Any] = []
    desktop.feed.sig_changed.connect(changes.append)

    writes = ("start_turn", "complete_turn", "flush_partial_text", "set_session_id",
              "end_turn")
    finished: list[int] = []
    desktop.chat.sig_turn_finished.connect(lambda _c, mid, _s: finished.append(mid))
    with counting_calls(desktop.repo) as reads, \
            counting_calls(desktop.repo, writes) as written:
        ask_via_composer(desktop, FOLLOW_UP)
        # Waiting reads nothing itself: the turn's end, then every view told.
        qtbot.waitUntil(lambda: bool(finished) and settled(desktop), timeout=15_000)

    # Writes: none on the GUI thread; the turn is two transactions on the storage runner.
    assert sum(written.gui.values()) == 0
    assert written.workers["start_turn"] == 1 and written.workers["complete_turn"] == 1
    assert written.workers["set_session_id"] == 0  # the session was already saved
    # Reads on the GUI thread: the conversation once (to send), the sidebar row once per
    # announcement (the start and the end of the turn); no message is ever read back.
    assert reads.gui_reads() == {"get_conversation": 1, "get_summary": 2}
    # Two announcements, each carrying the rows its write returned.
    turn_changes = [c for c in changes if c.messages_of(conversation_id)]
    assert len(turn_changes) == 2
    assert [m.status for m in turn_changes[-1].messages_of(conversation_id)] == [
        MessageStatus.COMPLETE, MessageStatus.COMPLETE]
    # And the views show the result.
    shown = pane_messages(desktop)
    assert [m.role for m in shown] == [Role.USER, Role.ASSISTANT] * 2
    assert shown[-1].status == MessageStatus.COMPLETE and shown[-1].text.strip()
    row = desktop.window.sidebar.model.summary_for(conversation_id)
    assert row.message_count == 4 and row.last_status == MessageStatus.COMPLETE
