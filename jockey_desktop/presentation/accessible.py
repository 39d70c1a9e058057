"""What a screen reader says for a transcript row (Qt-free)."""

from __future__ import annotations

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.presentation.selections import question_text
from jockey_desktop.presentation.steps import step_count

#: What a seam row says when it carries no reason of its own.
SEAM_TEXT = "New session started"


def accessible_text(message: Message) -> str:
    """Who, the text, and any problem: "Jockey: … (failed: The server failed to answer.)"."""
    if message.role is Role.SEAM:
        return message.text or SEAM_TEXT
    who = "You" if message.role is Role.USER else "Jockey"
    text = question_text(message) if message.role is Role.USER else message.text
    parts = [f"{who}: {text}" if text else f"{who}:"]
    if message.status is MessageStatus.STREAMING:
        parts.append("(answer in progress)")
    elif message.status in (
        MessageStatus.FAILED, MessageStatus.INTERRUPTED, MessageStatus.CANCELLED
    ):
        parts.append(f"({message.status.value}: {message.error_message or 'no reason given'})")
    if message.citations:
        parts.append(f"{len(message.citations)} cited moments")
    steps = step_count(message.steps)
    if steps:
        parts.append(f"{steps} agent steps")
    return " ".join(parts)
