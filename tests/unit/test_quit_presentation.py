"""What quitting with writes held on a full disk says (``presentation.quitting``) and what a
sidebar row says about its answer (``presentation.conversation_row``)."""

from __future__ import annotations

import pytest

from jockey_desktop.core.storage.models import MessageStatus
from jockey_desktop.presentation.conversation_row import (
    HELD_BADGE_TEXT,
    Badge,
    BadgeTone,
    row_badge,
)
from jockey_desktop.presentation.quitting import held_writes_text


@pytest.mark.parametrize(("answers", "sessions", "expected"), [
    (1, 0, "1 answer could not be saved: the disk holding /d is full. Free some space and "
           "choose Try again, or quit and lose it."),
    (2, 0, "2 answers could not be saved: the disk holding /d is full. Free some space and "
           "choose Try again, or quit and lose them."),
    (0, 1, "Jockey's memory of 1 conversation could not be saved: the disk holding /d is "
           "full. Free some space and choose Try again, or quit and lose it."),
    (1, 2, "1 answer and Jockey's memory of 2 conversations could not be saved: the disk "
           "holding /d is full. Free some space and choose Try again, or quit and lose them."),
])
def test_the_quit_question_says_what_would_be_lost(answers: int, sessions: int,
                                                   expected: str) -> None:
    assert held_writes_text(answers, sessions, "/d") == expected


@pytest.mark.parametrize(("answers", "sessions", "drafts", "expected"), [
    (0, 0, 1, "1 unsent draft could not be saved: the disk holding /d is full. Free some "
              "space and choose Try again, or quit and lose it."),
    (1, 0, 2, "1 answer and 2 unsent drafts could not be saved: the disk holding /d is full. "
              "Free some space and choose Try again, or quit and lose them."),
    (1, 1, 1, "1 answer, Jockey's memory of 1 conversation and 1 unsent draft could not be "
              "saved: the disk holding /d is full. Free some space and choose Try again, or "
              "quit and lose them."),
])
def test_the_quit_question_names_unsent_drafts(answers: int, sessions: int, drafts: int,
                                               expected: str) -> None:
    assert held_writes_text(answers, sessions, "/d", drafts=drafts) == expected


def test_a_held_answer_reads_not_saved_whatever_the_stored_row_says() -> None:
    held = Badge(HELD_BADGE_TEXT, BadgeTone.ERROR)
    assert HELD_BADGE_TEXT == "not saved — disk full"
    # The stored answer of a held turn still says "streaming": the held state wins.
    assert row_badge(MessageStatus.STREAMING, held=True) == held
    assert row_badge(None, held=True) == held
    assert row_badge(MessageStatus.STREAMING) == Badge("answering…", BadgeTone.BUSY)
    assert row_badge(MessageStatus.PENDING) == Badge("answering…", BadgeTone.BUSY)
    assert row_badge(MessageStatus.FAILED) == Badge("failed", BadgeTone.ERROR)
    assert row_badge(MessageStatus.INTERRUPTED) == Badge("interrupted", BadgeTone.WARNING)
    assert row_badge(MessageStatus.COMPLETE) is None
    assert row_badge(MessageStatus.CANCELLED) is None
    assert row_badge(None) is None
