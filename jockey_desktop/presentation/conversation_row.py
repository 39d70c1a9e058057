"""What a sidebar row says about its conversation's newest answer: the state badge.

Decided once here (Qt-free) and read by the sidebar's model and delegate, and by tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from jockey_desktop.core.storage.models import MessageStatus

#: The badge of a conversation whose answer ended but waits in memory for disk space.
HELD_BADGE_TEXT = "not saved — disk full"


class BadgeTone(str, Enum):
    """How a badge is coloured (the delegate maps each tone to a theme colour)."""

    #: An answer on its way.
    BUSY = "busy"
    #: Something needs the user: a failure, an answer the disk could not take.
    ERROR = "error"
    #: Something to know, nothing lost: an interrupted answer.
    WARNING = "warning"


@dataclass(frozen=True)
class Badge:
    """The short state label on the right of a row's second line."""

    text: str
    tone: BadgeTone


_BY_STATUS = {
    MessageStatus.STREAMING: Badge("answering…", BadgeTone.BUSY),
    MessageStatus.PENDING: Badge("answering…", BadgeTone.BUSY),
    MessageStatus.FAILED: Badge("failed", BadgeTone.ERROR),
    MessageStatus.INTERRUPTED: Badge("interrupted", BadgeTone.WARNING),
}

_HELD = Badge(HELD_BADGE_TEXT, BadgeTone.ERROR)


def row_badge(last_status: MessageStatus | None, *, held: bool = False) -> Badge | None:
    """The badge of a row whose newest stored answer is ``last_status`` (None: no answer);
    ``held`` = its answer ended but the disk could not take it yet (the chat controller's
    held state). The stored row then still says "streaming", which must not read as
    "answering…" once the answer is over. None = no badge (a complete or stopped answer)."""
    if held:
        return _HELD
    return _BY_STATUS.get(last_status) if last_status is not None else None
