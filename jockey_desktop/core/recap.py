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

#: How many earlier question/answer pairs a recap carries.
RECAP_PAIRS = 6

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
        lines = [_RECAP_HEADER]
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
    answers: dict[int, str] = {}
    questions: list[Message] = []
    for m in messages:
        if m.role == Role.USER and m.id < before_message_id:
            questions.append(m)
        elif (m.role == Role.ASSISTANT and m.reply_to is not None and m.text.strip()
              and (m.status == MessageStatus.COMPLETE or m.reply_to not in answers)):
            # A complete answer wins over partial text of a failed attempt.
            answers[m.reply_to] = m.text
    return [(q.text, answers.get(q.id, "")) for q in questions]
