"""What a screen reader says for a transcript row (Qt-free)."""

from __future__ import annotations

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.plaintext import markdown_to_plain
from jockey_desktop.presentation.formatting import unique_citations
from jockey_desktop.presentation.moments import first_playable_chip
from jockey_desktop.presentation.selections import question_text
from jockey_desktop.presentation.steps import step_count

#: What a seam row says when it carries no reason of its own.
SEAM_TEXT = "New session started"


def accessible_text(message: Message) -> str:
    """Who, the text, and any problem: "Jockey: … (failed: The server failed to answer.)".

    An answer is read as plain words (a screen reader spoke its Markdown, "star star"), and
    its chips are named ("2 cited moments: Intro · 00:05–00:09; Demo · 01:00–01:30"): they
    are painted, so this is the only place a screen reader learns what they are, and that
    Enter plays the first of those that play."""
    if message.role is Role.SEAM:
        return message.text or SEAM_TEXT
    who = "You" if message.role is Role.USER else "Jockey"
    text = (question_text(message) if message.role is Role.USER
            else " ".join(markdown_to_plain(message.text).split()))
    parts = [f"{who}: {text}" if text else f"{who}:"]
    if message.status is MessageStatus.STREAMING:
        parts.append("(answer in progress)")
    elif message.status in (
        MessageStatus.FAILED, MessageStatus.INTERRUPTED, MessageStatus.CANCELLED
    ):
        parts.append(f"({message.status.value}: {message.error_message or 'no reason given'})")
    chips = unique_citations(message.citations) if message.citations else []
    if chips:
        count = f"{len(chips)} cited moment{'s' if len(chips) != 1 else ''}"
        parts.append(f"{count}: " + "; ".join(label for _index, label in chips))
        if first_playable_chip(message.citations) is not None:
            # The chips are painted: the keyboard's way to play one must be said.
            parts.append("(Enter plays the first)")
    steps = step_count(message.steps)
    if steps:
        parts.append(f"{steps} agent step{'s' if steps != 1 else ''}")
    return " ".join(parts)
