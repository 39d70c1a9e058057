"""The header's session line: new, asked but not answered yet, active, or expired (a new
session will start)."""

from __future__ import annotations

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.presentation.session import SessionState, session_state
from tests.helpers.records import make_conversation, make_message


def test_session_states() -> None:
    new, with_session = make_conversation(), make_conversation(session_id="s-9")
    question = make_message(1)
    lost = make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED, error_code="session_lost")
    answered = make_message(3, Role.ASSISTANT, "answer")
    first_streaming = make_message(4, Role.ASSISTANT, "", MessageStatus.STREAMING)
    seam = make_message(5, Role.SEAM, "New session started")
    assert session_state(new, []) == SessionState.NEW
    assert session_state(new, [question, first_streaming]) == SessionState.NO_ANSWER
    failed = make_message(6, Role.ASSISTANT, "", MessageStatus.FAILED, error_code="no_videos")
    assert session_state(new, [question, failed]) == SessionState.NO_ANSWER
    assert SessionState.NO_ANSWER.value == "No answer yet"
    assert session_state(new, [question, lost]) == SessionState.EXPIRED
    assert session_state(new, [question, answered]) == SessionState.EXPIRED
    assert session_state(new, [question, lost, seam, first_streaming]) == SessionState.EXPIRED
    assert session_state(with_session, [question, lost, seam]) == SessionState.ACTIVE
