"""The running app on a full disk: the ``faulty`` fixture (every app started in the test
opens its database through a ``FaultyRepository``; held writes and drafts are retried
quickly) and the steps the full-disk tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.core.storage.models import Message, Role
from tests.helpers.app import ask_via_composer, current, wait_for_store
from tests.helpers.faulty_storage import FaultyRepository, inject_faults

#: A question with a long answer (the slow sandbox streams it for seconds).
LONG_QUESTION = "What are the main themes in these videos?"


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FaultyRepository]]:
    """Apps started in the test open their database through a FaultyRepository; held
    writes are retried quickly."""
    monkeypatch.setattr(ChatController, "HELD_RETRY_MS", 100)
    monkeypatch.setattr(ConversationsController, "DRAFT_RETRY_MS", 100)
    yield inject_faults(monkeypatch)


def stored_answers(repo: FaultyRepository, conversation_id: int) -> list[Message]:
    """The conversation's answers as the file holds them (past the fault injection)."""
    return [m for m in repo.real.list_messages(conversation_id) if m.role == Role.ASSISTANT]


def fill_disk_mid_answer(qtbot: Any, desktop: Any, repo: FaultyRepository) -> int:
    """Ask (slow pace), and fill the disk once part of the answer was flushed to it;
    returns the conversation id."""
    wait_for_store(qtbot, desktop)
    ask_via_composer(desktop, LONG_QUESTION)
    qtbot.waitUntil(lambda: current(desktop) is not None, timeout=5_000)
    conversation_id = current(desktop)
    assert conversation_id is not None
    qtbot.waitUntil(lambda: any(a.text for a in stored_answers(repo, conversation_id)),
                    timeout=10_000)
    repo.disk_full = True
    return conversation_id


def settle_held_retries(qtbot: Any, desktop: Any) -> None:
    """Stop the timed retries of held writes and drafts and wait until no try is in flight,
    so that a test counting tries counts only its own (a retry the timer had started would
    answer the next ``try_held_writes`` / ``try_held_drafts`` instead of a new try)."""
    done: list[str] = []
    desktop.chat._held_retry.stop()
    desktop.chat.try_held_writes(lambda: done.append("writes"))
    desktop.conversations.try_held_drafts(lambda: done.append("drafts"))
    qtbot.waitUntil(lambda: len(done) == 2, timeout=10_000)
    desktop.chat._held_retry.stop()
    desktop.conversations._draft_retry.stop()  # a draft refused again restarted it
