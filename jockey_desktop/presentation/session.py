"""What the header says about a conversation's server-side session (Qt-free)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from jockey_desktop.core.errors import ErrorCode
from jockey_desktop.core.storage.models import Conversation, Message, MessageStatus, Role


class SessionState(str, Enum):
    """The session line of the chat header; the value is the text shown.

    Words for people: "session" is the API's word; the user cares whether follow-up
    questions can build on the earlier answers.
    """

    NEW = "Nothing asked yet"
    #: Asked, but no answer has started a session yet (the first is on its way, or failed).
    NO_ANSWER = "No answer yet"
    ACTIVE = "Jockey remembers this conversation"
    #: No session, but earlier answers exist: the server forgot it, and the next question
    #: starts a new session seeded with a recap.
    EXPIRED = "Jockey forgot this conversation — your next question brings a summary"


#: What each state means, for the header's tooltip.
SESSION_HINTS = {
    SessionState.NEW: "Your first question starts the conversation on this knowledge store.",
    SessionState.NO_ANSWER: (
        "Jockey starts remembering this conversation with its first answer; follow-up "
        "questions can then refer to it."),
    SessionState.ACTIVE: (
        "Follow-up questions can refer to earlier answers (“those videos”, “the first "
        "theme”). Jockey keeps a conversation for a limited time; if it forgets it, the app "
        "starts afresh with a summary of the earlier questions and answers."),
    SessionState.EXPIRED: (
        "Jockey no longer has the earlier turns of this conversation. Your next question "
        "starts afresh, with a short summary of the earlier questions and answers so "
        "follow-ups still make sense."),
}


def session_state(conversation: Conversation, messages: Iterable[Message] = ()) -> SessionState:
    """The session state of ``conversation`` given (some of) its transcript.

    No session yet but earlier answers (or a seam, or a lost-session failure) means the
    server forgot it.
    """
    if conversation.session_id:
        return SessionState.ACTIVE
    asked = False
    for message in messages:
        if (
            message.role is Role.SEAM
            or message.error_code == ErrorCode.SESSION_LOST
            or (message.role is Role.ASSISTANT and message.status is MessageStatus.COMPLETE)
        ):
            return SessionState.EXPIRED
        asked = asked or message.role is Role.USER
    # "Nothing asked yet" under a question that failed read as if it had not been asked.
    return SessionState.NO_ANSWER if asked else SessionState.NEW
