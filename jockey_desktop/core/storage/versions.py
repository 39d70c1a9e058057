"""Versions of an answer: every answer row that replies to the same question (no Qt).

A question is stored once; each attempt at answering it — a Retry after a failure or Stop,
an "Ask again" of an answered question, the re-send after a lost session — is another
assistant row with the same ``reply_to``. Those rows are the *versions* of the question's
answer, oldest first; the newest is the one shown unless the user picks another.

The transcript (and the Markdown export) read a conversation in *reading order*: each question
followed by its answers, whatever their ids (an older question asked again gets an answer row
newer than later turns), seams where they are. An answer whose question is not among the rows
(an older page not loaded yet) stays where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import Message, Role


@dataclass(frozen=True)
class VersionInfo:
    """Where one answer stands among its question's answers: ``number`` of ``count``
    (1-based), and the ids of all of them, oldest first."""

    number: int
    count: int
    ids: tuple[int, ...]

    @property
    def previous_id(self) -> int | None:
        """The version before this one, or None for the first."""
        return self.ids[self.number - 2] if self.number > 1 else None

    @property
    def next_id(self) -> int | None:
        """The version after this one, or None for the newest."""
        return self.ids[self.number] if self.number < self.count else None


def answer_versions(messages: Iterable[Message]) -> dict[int, list[Message]]:
    """Question id → its answers (the versions), oldest first."""
    groups: dict[int, list[Message]] = {}
    for message in sorted(messages, key=lambda m: m.id):
        if message.role is Role.ASSISTANT and message.reply_to is not None:
            groups.setdefault(message.reply_to, []).append(message)
    return groups


def version_info(versions: Mapping[int, list[Message]], answer: Message) -> VersionInfo | None:
    """``answer``'s place among its question's answers (None for a question or a seam)."""
    if answer.role is not Role.ASSISTANT or answer.reply_to is None:
        return None
    group = versions.get(answer.reply_to) or [answer]
    ids = tuple(m.id for m in group)
    if answer.id not in ids:
        return None
    return VersionInfo(ids.index(answer.id) + 1, len(ids), ids)


def reading_order(messages: Iterable[Message],
                  chosen: Mapping[int, int] | None = None,
                  *, every_version: bool = False) -> list[Message]:
    """The rows as read: each question followed by its answer, seams in place.

    With ``every_version`` all answers of a question follow it (oldest first); otherwise
    only one does: ``chosen[question id]`` when that is one of them, else the newest. A seam
    written between a question and its answers (a session lost during that turn: its
    re-send went into a new session) stays between them.
    """
    ordered = sorted(messages, key=lambda m: m.id)
    versions = answer_versions(ordered)
    questions = {m.id for m in ordered if m.role is Role.USER}
    chosen = chosen or {}
    inside = _seams_inside_turns(ordered, versions)

    def group(question_id: int) -> list[Message]:
        answers = versions.get(question_id, [])
        seams = inside.get(question_id, [])
        if every_version or not answers:
            return sorted([*answers, *seams], key=lambda m: m.id)
        pick = chosen.get(question_id)
        return [*seams, next((m for m in answers if m.id == pick), answers[-1])]

    inner_seams = {m.id for seams in inside.values() for m in seams}
    result: list[Message] = []
    placed: set[int] = set()  # questions whose answers are placed
    for message in ordered:
        if message.role is Role.USER:
            result.append(message)
            result.extend(group(message.id))
            placed.add(message.id)
        elif message.role is Role.ASSISTANT and message.reply_to is not None:
            question_id = message.reply_to
            if question_id in questions or question_id in placed:
                continue  # placed under its question (or with the first of its group)
            # An orphan (its question not among the rows): the group sits where it starts.
            result.extend(group(question_id))
            placed.add(question_id)
        elif message.id not in inner_seams:
            result.append(message)
    return result


def _seams_inside_turns(ordered: list[Message],
                        versions: Mapping[int, list[Message]]) -> dict[int, list[Message]]:
    """Question id → the seams written after it and before its last answer, with no other
    question in between."""
    inside: dict[int, list[Message]] = {}
    last_question: Message | None = None
    for message in ordered:
        if message.role is Role.USER:
            last_question = message
        elif message.role is Role.SEAM and last_question is not None:
            answers = versions.get(last_question.id, [])
            if answers and answers[-1].id > message.id:
                inside.setdefault(last_question.id, []).append(message)
    return inside
