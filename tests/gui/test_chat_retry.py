"""Retrying a turn: the question is reused and the new answer is a version of its answer,
a rate-limited turn is locked until the server's Retry-After, and the client's own wait before
a resend is shown and can be stopped."""

from __future__ import annotations

import re
import time
from typing import Any

from PySide6.QtCore import QPointF

from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.core import api
from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.presentation.status import StatusKind, retry_label
from jockey_desktop.sandbox import SANDBOX_API_KEY
from jockey_desktop.sandbox.faults import Fault
from jockey_desktop.ui.chat_view import ChatView
from tests.helpers.chat import ChatHarness, ChatStack, make_client, ready_store
from tests.helpers.views import click, row_layout, settle

Q1 = "What are the main themes in these videos?"
Q2 = "Which videos best represent the first theme?"
Q3 = "Who speaks in the second video?"


def test_retry_of_an_older_turn_files_a_version_without_a_second_question(
    harness: ChatHarness, sandbox: Any, view: ChatView, qtbot: Any
) -> None:
    h = harness
    conversation = h.new_conversation()
    h.ask(conversation.id, Q1)
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    failed = h.ask(conversation.id, Q2)
    assert failed.status == MessageStatus.FAILED
    h.ask(conversation.id, Q3)  # a later turn: the failed one is no longer the latest

    assert h.chat.retry(failed.id) is None
    h.qtbot.waitUntil(lambda: h.finished_count(conversation.id) == 4, timeout=15_000)
    rows = h.repo.list_messages(conversation.id)
    questions = [m for m in rows if m.role == Role.USER]
    assert [m.text for m in questions] == [Q1, Q2, Q3], "no second question row"
    # The new answer replies to the old question: a second version of its answer.
    newest = rows[-1]
    assert newest.role == Role.ASSISTANT and newest.reply_to == questions[1].id
    assert newest.status == MessageStatus.COMPLETE
    assert h.repo.get_message(failed.id).error_code == ErrorCode.SERVER  # unchanged
    assert "already been answered" in h.chat.retry(failed.id)

    # The transcript shows the question with its newest answer right under it (version
    # 2 of 2); the failed attempt is behind ‹ and offers no Retry there.
    view.set_messages(rows)
    settle(qtbot, view)
    shown = [m.id for m in view.message_model.messages()]
    assert shown.index(newest.id) == shown.index(questions[1].id) + 1
    assert failed.id not in shown
    view.show_version(failed.id)
    settle(qtbot, view)
    layout, _origin = row_layout(view, failed.id)
    assert layout.retry_rect is None


def test_retry_of_the_latest_turn_still_reuses_its_question(
    harness: ChatHarness, sandbox: Any
) -> None:
    h = harness
    conversation = h.new_conversation()
    h.ask(conversation.id, Q1)
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    failed = h.ask(conversation.id, Q2)
    assert h.chat.retry(failed.id) is None
    h.qtbot.waitUntil(lambda: h.finished_count(conversation.id) == 3, timeout=15_000)
    rows = h.repo.list_messages(conversation.id)
    assert [m.text for m in rows if m.role == Role.USER] == [Q1, Q2]
    assert h.repo.get_message(failed.id).error_code == ErrorCode.SERVER  # unchanged


def test_retry_is_refused_and_shown_locked_until_retry_after(
    qtbot: Any, repo: Any, sandbox: Any, view: ChatView
) -> None:
    wall = [time.time()]
    client = make_client(sandbox)
    stack = ChatStack()
    chat = ChatController(repo, stack.storage, stack.feed, client, wall_clock=lambda: wall[0])
    finished: list[int] = []
    chat.sig_turn_finished.connect(lambda _c, mid, _s: finished.append(mid))
    try:
        store = ready_store(client)
        conversation = repo.create_conversation(store.id, store.name)
        sandbox.faults.add(Fault.rate_limit(retry_after=12, times=None, path="/responses"))
        assert chat.send(conversation.id, Q1) is None
        qtbot.waitUntil(lambda: bool(finished), timeout=15_000)
        answer = repo.get_message(finished[-1])
        assert answer.error_code == ErrorCode.RATE_LIMITED
        assert "try again after" in answer.error_message
        # The retry time is saved as data with the row (the sentence is only for people).
        assert answer.retry_at is not None and 11.0 <= answer.retry_at - wall[0] <= 12.0
        wall[0] = answer.retry_at - 10
        assert chat.retry(answer.id) == "Still rate limited — retry in 10 s."

        # The view counts down "Retry in 10 s" from the same rule, ticking every second.
        view.message_delegate._clock = lambda: wall[0]
        view.set_messages(repo.list_messages(conversation.id))
        settle(qtbot, view)
        assert view.is_ticking(), "the countdown repaints every second"
        layout, origin = row_layout(view, answer.id)
        assert layout.retry_rect is not None
        assert retry_label(answer, wall[0]) == "Retry in 10 s"
        # The controller is the one place the lock is enforced: a click asks, it refuses.
        with qtbot.waitSignal(view.sig_retry_requested) as blocker:
            click(qtbot, view, layout.retry_rect.center() + QPointF(origin))
        assert chat.retry(blocker.args[0]) == "Still rate limited — retry in 10 s."

        wall[0] = answer.retry_at + 1
        assert retry_label(answer, wall[0]) == "Retry"
        sandbox.faults.clear()
        assert chat.retry(answer.id) is None
        qtbot.waitUntil(lambda: len(finished) == 2, timeout=15_000)
        assert repo.get_message(finished[-1]).status == MessageStatus.COMPLETE
    finally:
        chat.shutdown(1.5)
        stack.close()
        client.close()


def test_a_client_wait_shows_in_the_status_line_and_stop_ends_it(
    qtbot: Any, repo: Any, sandbox: Any, view: ChatView
) -> None:
    client = api.JockeyClient(SANDBOX_API_KEY, sandbox.base_url)  # real, cancellable pause
    stack = ChatStack()
    chat = ChatController(repo, stack.storage, stack.feed, client)
    try:
        store = ready_store(client)
        conversation = repo.create_conversation(store.id, store.name)
        sandbox.faults.add(Fault.rate_limit(retry_after=18, times=1, path="/responses"))
        assert chat.send(conversation.id, Q1) is None
        qtbot.waitUntil(lambda: any(m.error_code == ErrorCode.RETRY_WAIT
                                    for m in stack.shown()), timeout=10_000)
        waiting = next(m for m in stack.shown() if m.error_code == ErrorCode.RETRY_WAIT)
        assert waiting.status == MessageStatus.STREAMING
        # Never saved: the stored row is a plain streaming answer.
        assert repo.get_message(waiting.id).error_code is None
        assert repo.get_message(waiting.id).retry_at is None

        view.set_messages(repo.list_messages(conversation.id))
        view.message_model.replace(waiting)
        line = view.message_delegate.status_line(view.message_model.message_at(1))
        assert line.kind is StatusKind.BUSY
        assert re.fullmatch(r"Rate limited — retrying in 1[78] s", line.text), line.text

        chat.stop(conversation.id)
        qtbot.waitUntil(lambda: chat._runner.stream_count == 0, timeout=5_000)
        stack.storage.drain(5_000)
        assert repo.get_message(waiting.id).status == MessageStatus.CANCELLED
    finally:
        chat.shutdown(1.5)
        stack.close()
        client.close()
