"""What the chat pane is given when a conversation opens (Qt-free).

Long conversations are windowed: only the newest :data:`PAGE_SIZE` messages are read when a
conversation opens, and older pages are read through a loader as the user scrolls up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.storage.models import Conversation, Message

#: Rows read when a conversation opens, and rows added per older page.
PAGE_SIZE = 100

#: ``(before_id, limit) -> messages`` older than ``before_id``, oldest first (at most
#: ``limit``; fewer means the start of the conversation was reached).
OlderLoader = Callable[[int, int], list[Message]]


@dataclass(frozen=True)
class OpenedConversation:
    """One conversation as the chat pane shows it when it opens."""

    conversation: Conversation
    #: The newest page of the transcript, oldest first.
    page: list[Message]
    #: Reads older pages; None when ``page`` is the whole transcript.
    load_older: OlderLoader | None = None
    #: An answer is streaming in it: the composer offers Stop.
    busy: bool = False
    #: (answer id, text so far) of a streaming answer: newer than the saved partial text.
    live_texts: list[tuple[int, str]] = field(default_factory=list)
    #: (answer id, the agent's steps so far) of a streaming answer (never saved until it
    #: ends): its live line and Steps list.
    live_steps: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)
