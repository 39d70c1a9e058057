"""What the chat pane is given when a conversation opens, and what a fork starts with
(Qt-free).

Long conversations are windowed: only the newest :data:`PAGE_SIZE` messages are read when a
conversation opens, and older pages are read through a loader as the user scrolls up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.citation_numbers import source_numbers
from jockey_desktop.core.recap import fork_pairs
from jockey_desktop.core.storage.models import Conversation, Message, Role
from jockey_desktop.core.storage.versions import reading_order
from jockey_desktop.core.web_sources import split_web_sources
from jockey_desktop.presentation.formatting import citation_label
from jockey_desktop.presentation.selections import (
    add_selection,
    mention,
    selections_in_force,
)

#: Rows read when a conversation opens, and rows added per older page.
PAGE_SIZE = 100

#: Why a question typed with no store picked was not sent; it goes once a store is picked.
PICK_A_STORE_TO_ASK = "Pick a knowledge store first, then ask your question."

#: The starter page's intro when the store is gone (the question box says what to do).
STORE_GONE_INTRO = ("This knowledge store no longer exists on the server, so these questions "
                    "cannot be asked here.")


def _store_gone_remedy(empty: bool) -> str:
    if empty:
        return ("Pick another store in the picker above to ask there: this conversation "
                "moves to it, with its recap of the earlier turns and what you typed.")
    return ("This conversation can be read but not continued there. To go on, use "
            "“Continue in a new conversation from here” on an answer and pick another store: "
            "the earlier turns go with it as a recap.")


def store_gone_text(store_name: str, *, empty: bool) -> str:
    """What a conversation on a knowledge store the server no longer has says under its
    question box. ``empty``: nothing asked in it yet (a new conversation, a fork), which
    moves to the store picked next, recap and typed question with it."""
    return (f"The knowledge store “{store_name}” no longer exists on the server. "
            f"{_store_gone_remedy(empty)}")


def store_gone_refusal(store_name: str, *, empty: bool,
                       lead: str = "Your question was not sent") -> str:
    """Why a question (``lead``: or Ask again, Retry) on a store that is gone was not sent
    (it would only fail there)."""
    return (f"{lead}: the knowledge store “{store_name}” no longer exists on the server. "
            f"{_store_gone_remedy(empty)}")


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


@dataclass(frozen=True)
class ForkSeed:
    """What a new conversation forked from a message starts with (Qt-free)."""

    #: (question, answer) pairs the recap in the new session's instructions summarises.
    pairs: list[tuple[str, str]]
    #: The composer's text: the question to edit ("Edit and ask"), else "".
    draft: str
    #: The composer's chips: what the origin's questions asked about up to that point, so
    #: the new session asks about the same videos.
    selections: list[dict[str, Any]]


#: The "(About {{sel:0}} and {{sel:1}}.)" ``compose_question`` adds for chips the text does
#: not mention: the composer adds it again when the question is sent.
_ABOUT_TAIL = re.compile(r"\s*\(About (?:\{\{sel:\d+\}\}(?:, | and )?)+\.\)\s*$")
_PLACEHOLDER = re.compile(r"\{\{sel:(\d+)\}\}")


def editable_question(message: Message) -> str:
    """A question as the composer takes it back: ``@Name`` mentions for its placeholders,
    without the "(About …)" tail the composer adds by itself for chips not mentioned."""
    text = _ABOUT_TAIL.sub("", message.text)

    def named(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if 0 <= index < len(message.selections):
            return mention(message.selections[index])
        return match.group(0)

    return _PLACEHOLDER.sub(named, text)


def fork_seed(messages: Sequence[Message], message_id: int) -> ForkSeed | None:
    """The seed of a fork from ``message_id``: from an answer ("Continue in a new
    conversation from here") the turns up to and including it; from a question ("Edit and
    ask") the turns before it, and the question in the composer. None when the message is
    not among ``messages`` or is a seam."""
    target = next((m for m in messages if m.id == message_id), None)
    if target is None or target.role is Role.SEAM:
        return None
    rows = reading_order(messages, every_version=True)
    if target.role is Role.USER:
        stop = rows.index(target)
        before = rows[:stop]
        chosen = selections_in_force(before)
        for entry in target.selections:
            chosen = add_selection(chosen, entry)
        return ForkSeed(fork_pairs(messages, message_id), editable_question(target), chosen)
    upto = [m for m in rows[:rows.index(target) + 1]
            if m.role is not Role.ASSISTANT or m.id == target.id
            or m.reply_to != target.reply_to]
    return ForkSeed(fork_pairs(messages, message_id), "", selections_in_force(upto))


def chip_numbers(message: Message) -> dict[int, str]:
    """What each citation chip of an answer is numbered, by the index of the chip's first
    citation: the number its ``[N]`` marker shows (``core.citation_numbers``; several when
    the same moment has several markers, "2, 5"), so ``[5]`` in the text is chip 5."""
    if not message.citations:
        return {}
    cited = [*message.citations, *split_web_sources(message.steps)[1]]
    numbers = source_numbers(message.text, cited)[:len(message.citations)]
    first: dict[tuple[Any, str], int] = {}
    grouped: dict[int, list[int]] = {}
    for index, (citation, number) in enumerate(zip(message.citations, numbers, strict=True)):
        key = (citation.get("item_id"), citation_label(citation))
        head = first.setdefault(key, index)
        if number not in grouped.setdefault(head, []):
            grouped[head].append(number)
    return {head: ", ".join(str(n) for n in sorted(found)) for head, found in grouped.items()}


def marker_tooltip(message: Message, index: int) -> str:
    """The tooltip of a ``[N]`` marker or chip: its number, the video's title and the cited
    range, and what a click does ("" when the index is out of range)."""
    if not 0 <= index < len(message.citations):
        return ""
    citation = message.citations[index]
    number = chip_numbers(message).get(index)
    if number is None:
        key = (citation.get("item_id"), citation_label(citation))
        number = next((n for i, n in chip_numbers(message).items()
                       if (message.citations[i].get("item_id"),
                           citation_label(message.citations[i])) == key), "")
    head = f"[{number}] " if number else ""
    return f"{head}{citation_label(citation)}\nClick to play this moment"


#: How often (ms) a drag held past the transcript's top or bottom edge scrolls it on.
EDGE_SCROLL_INTERVAL_MS = 30
#: The slowest and fastest a held drag scrolls (pixels per tick).
EDGE_SCROLL_MIN = 4
EDGE_SCROLL_MAX = 240


def edge_scroll_step(y: int, height: int) -> int:
    """How far (pixels, negative = up) one tick of a text drag held at ``y`` scrolls a
    transcript ``height`` pixels tall: nothing inside it, and past an edge more the farther
    the mouse is (as in every text view: a nudge creeps, a fling races)."""
    if y < 0:
        distance, sign = -y, -1
    elif y >= height:
        distance, sign = y - height + 1, 1
    else:
        return 0
    return sign * min(EDGE_SCROLL_MAX, EDGE_SCROLL_MIN + distance // 2)
