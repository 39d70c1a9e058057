"""Builders of storage records with sensible defaults (messages, conversations, summaries)."""

from __future__ import annotations

import time
from typing import Any

from jockey_desktop.core.storage.models import (
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
)


def make_message(
    message_id: int,
    role: Role = Role.USER,
    text: str | None = None,
    status: MessageStatus = MessageStatus.COMPLETE,
    *,
    conversation_id: int = 1,
    created_at: float | None = None,
    **extra: Any,
) -> Message:
    """A Message with sensible defaults."""
    now = time.time() if created_at is None else created_at
    return Message(
        id=message_id,
        uid=f"uid-{message_id}",
        conversation_id=conversation_id,
        role=role,
        text=f"message {message_id}" if text is None else text,
        status=status,
        created_at=now,
        updated_at=extra.pop("updated_at", now),
        **extra,
    )


def make_conversation(conversation_id: int = 1, **extra: Any) -> Conversation:
    """A Conversation with defaults."""
    now = time.time()
    values: dict[str, Any] = {
        "id": conversation_id, "uid": f"c{conversation_id}", "title": "Gradient descent",
        "store_id": "st_1", "store_name": "ML Lectures", "session_id": None,
        "instructions": None, "created_at": now, "updated_at": now,
    }
    values.update(extra)
    return Conversation(**values)


def make_summary(cid: int, updated: float, *, pinned: bool = False, title: str = "",
                 status: MessageStatus | None = None) -> ConversationSummary:
    """A sidebar row of a conversation on the "Games" store."""
    conv = Conversation(id=cid, uid=f"u{cid}", title=title or f"Conversation {cid}",
                        store_id="ks_1", store_name="Games", session_id=None,
                        instructions=None, created_at=updated, updated_at=updated,
                        pinned=pinned)
    return ConversationSummary(conversation=conv, message_count=2, last_status=status)


def answer_with_citations(message_id: int, **extra: Any) -> Message:
    """An assistant answer citing two moments (one of them twice)."""
    text = "It is shown early [1] and again later [2], then once more [1]."
    first = text.index("[1]")
    second = text.index("[2]")
    third = text.index("[1]", first + 1)
    base = {"kind": "vref", "item_id": "a", "collection_id": None, "thumbnail_url": None,
            "hls_url": None}
    citations = [
        {**base, "marker_start": first, "marker_end": first + 3, "start_sec": 83,
         "end_sec": 105, "title": "Intro to ML"},
        {**base, "marker_start": second, "marker_end": second + 3, "item_id": "b",
         "start_sec": 3723, "end_sec": 3800, "title": "Lecture 4"},
        {**base, "marker_start": third, "marker_end": third + 3, "start_sec": 83,
         "end_sec": 105, "title": "Intro to ML"},
    ]
    return make_message(message_id, Role.ASSISTANT, text, citations=citations,
                        input_tokens=1234, output_tokens=210, **extra)
