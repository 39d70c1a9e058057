"""What the header says about a conversation's server-side session (Qt-free)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.storage.models import Conversation, Message, MessageStatus, Role


class SessionState(str, Enum):
    """The session line of the chat header; the value is the text shown."""

    NEW = "New conversation"
    ACTIVE = "Session active"
    #: No session, but earlier answers exist: the server forgot it, and the next question
    #: starts a new session seeded with a recap.
    EXPIRED = "Session expired — a new one will start"


def session_state(conversation: Conversation, messages: Iterable[Message] = ()) -> SessionState:
    """The session state of ``conversation`` given (some of) its transcript.

    No session yet but earlier answers (or a seam, or a lost-session failure) means the
    server forgot it.
    """
    if conversation.session_id:
        return SessionState.ACTIVE
    for message in messages:
        if (
            message.role is Role.SEAM
            or message.error_code == ErrorCode.SESSION_LOST
            or (message.role is Role.ASSISTANT and message.status is MessageStatus.COMPLETE)
        ):
            return SessionState.EXPIRED
    return SessionState.NEW
