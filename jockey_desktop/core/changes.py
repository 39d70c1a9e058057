"""What changed in the stored conversations during one pass of the event loop (no Qt).

The record the change feed (``controllers.changes.ChangeFeed``) hands to every view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jockey_desktop.core.storage.models import Message


@dataclass(frozen=True)
class Changes:
    """What changed during one pass of the event loop."""

    #: New or changed transcript rows, oldest announcement first, one (the newest) per id.
    messages: tuple[Message, ...] = ()
    #: Conversations whose row (title, order, badge) or header (session) must be re-read.
    conversations: frozenset[int] = field(default_factory=frozenset)
    #: Conversations deleted.
    removed: frozenset[int] = field(default_factory=frozenset)
    #: Everything may have changed (a backup was restored): re-read all.
    everything: bool = False

    def messages_of(self, conversation_id: int) -> list[Message]:
        """The changed rows of one conversation, in announcement order."""
        return [m for m in self.messages if m.conversation_id == conversation_id]
