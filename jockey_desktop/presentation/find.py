"""Finding words in the open conversation (Ctrl+F): which messages match, in order (Qt-free).

Matching is case-insensitive over what the user reads: a message's plain text (Markdown
stripped, selections named: ``Message.plain_text``), its raw text when no plain text was
stored. Seams (the "new session" rows) are not searched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jockey_desktop.core.storage.models import Message, Role


@dataclass(frozen=True)
class FindMatch:
    """One occurrence of the query: in which message, and which occurrence in it (0-based)."""

    message_id: int
    occurrence: int


def searchable_text(message: Message) -> str:
    """The text of ``message`` that Find looks in."""
    return message.plain_text or message.text or ""


def count_occurrences(text: str, query: str) -> int:
    """How many times ``query`` occurs in ``text``, ignoring case, not overlapping."""
    needle = query.casefold()
    if not needle:
        return 0
    return text.casefold().count(needle)


def find_matches(messages: Iterable[Message], query: str) -> list[FindMatch]:
    """Every occurrence of ``query`` in ``messages`` (oldest first), in reading order."""
    query = query.strip()
    if not query:
        return []
    matches: list[FindMatch] = []
    for message in messages:
        if message.role is Role.SEAM:
            continue
        for occurrence in range(count_occurrences(searchable_text(message), query)):
            matches.append(FindMatch(message.id, occurrence))
    return matches


def match_label(position: int | None, total: int) -> str:
    """The find bar's count: "3 of 12", "No matches", or "" before anything is typed."""
    if total == 0:
        return "No matches"
    if position is None:
        return f"{total} match{'es' if total != 1 else ''}"
    return f"{position + 1} of {total}"
