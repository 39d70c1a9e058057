"""The recap that seeds a new server-side session when the old one is gone (no Qt).

Jockey keeps a conversation's history server-side under its session; when the server no
longer has the session, the app starts a new one and sends a short summary of the earlier
turns as plain ``instructions`` (any client could send such text), so the answer keeps the
conversation's context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from jockey_desktop.core.limits import MAX_INSTRUCTIONS_CHARS
from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.plaintext import resolve_selection_placeholders
from jockey_desktop.core.storage.versions import reading_order

#: How many earlier question/answer pairs a recap carries.
RECAP_PAIRS = 6

#: Heads the recap that seeds a fork ("Continue in a new conversation from here", "Edit and
#: ask"): the new session starts with the earlier conversation's turns up to that point.
FORK_RECAP_HEADER = (
    "This conversation continues an earlier one. "
    "Summary of its turns up to this point (most recent last):"
)

_RECAP_HEADER = (
    "This conversation continues from an earlier session that is no longer available. "
    "Summary of the earlier turns (most recent last):"
)


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_recap(
    pairs: Sequence[tuple[str, str]],
    limit: int = MAX_INSTRUCTIONS_CHARS,
    max_pairs: int = RECAP_PAIRS,
    header: str = _RECAP_HEADER,
) -> str | None:
    """A compact recap of earlier (question, answer) pairs for a new session's instructions.

    Keeps the last ``max_pairs`` pairs, each truncated, and drops the oldest ones until the
    whole text fits ``limit`` (the API rejects longer instructions). None when there is
    nothing to recap.
    """
    recent = [p for p in pairs if p[0].strip()][-max_pairs:]
    if not recent:
        return None
    q_limit, a_limit = 160, 320
    while True:
        lines = [header]
        for question, answer in recent:
            lines.append(f"Q: {_clip(question, q_limit)}")
            lines.append(f"A: {_clip(answer, a_limit) if answer.strip() else '(no answer)'}")
        text = "\n".join(lines)
        if len(text) <= limit:
            return text
        if len(recent) > 1:
            recent = recent[1:]
            continue
        if a_limit > 60 or q_limit > 60:
            q_limit, a_limit = max(60, q_limit // 2), max(60, a_limit // 2)
            continue
        return text[:limit]


def combine_instructions(base: str | None, recap: str | None) -> str | None:
    """The conversation's own instructions followed by the recap, within the API's limit."""
    parts = [p for p in (base, recap) if p and p.strip()]
    if not parts:
        return None
    return "\n\n".join(parts)[:MAX_INSTRUCTIONS_CHARS]


def earlier_pairs(messages: Iterable[Message], before_message_id: int) -> list[tuple[str, str]]:
    """(question, best answer) pairs of the turns before ``before_message_id``."""
    rows = list(messages)
    return _best_pairs(rows, [m for m in rows
                              if m.role == Role.USER and m.id < before_message_id])


def _best_pairs(messages: Iterable[Message],
                questions: Iterable[Message]) -> list[tuple[str, str]]:
    """(question, best answer) of each of ``questions``, the answers read from
    ``messages``: a complete answer wins over partial text of a failed attempt, and a
    later complete version over an earlier one."""
    answers: dict[int, str] = {}
    for m in sorted(messages, key=lambda m: m.id):
        if (m.role == Role.ASSISTANT and m.reply_to is not None and m.text.strip()
                and (m.status == MessageStatus.COMPLETE or m.reply_to not in answers)):
            answers[m.reply_to] = m.text
    return [(_asked(q), answers.get(q.id, "")) for q in questions]


def _asked(question: Message) -> str:
    """A question as a person reads it: ``{{sel:N}}`` replaced by the names (a placeholder
    means nothing outside its own request)."""
    return resolve_selection_placeholders(question.text, question.selections)


def fork_pairs(messages: Iterable[Message], message_id: int) -> list[tuple[str, str]]:
    """The (question, answer) pairs a fork from ``message_id`` is seeded with, in reading
    order (each question with its answers, whatever their ids).

    From an answer: every turn up to and including its question, that question paired with
    *this* answer (the version the user continues from). From a question ("Edit and ask"):
    the turns before it. Other questions get their best answer, as in :func:`earlier_pairs`.
    """
    rows = reading_order(messages, every_version=True)
    target = next((m for m in rows if m.id == message_id), None)
    if target is None or target.role is Role.SEAM:
        return []
    stop_at = target.reply_to if target.role is Role.ASSISTANT else target.id
    before: list[Message] = []
    for m in rows:
        if m.role is Role.USER and m.id == stop_at:
            break
        before.append(m)
    pairs = _best_pairs(before, [m for m in before if m.role is Role.USER])
    question = next((m for m in rows if m.role is Role.USER and m.id == stop_at), None)
    if target.role is Role.ASSISTANT and question is not None:
        pairs.append((_asked(question), target.text))
    return pairs
