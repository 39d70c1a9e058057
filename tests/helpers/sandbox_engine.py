"""The sandbox's answer engine on the sample stores, without a server (engines are immutable)."""

from __future__ import annotations

import functools
import re
from typing import Any

from jockey_desktop.sandbox.data import Store, load_stores
from jockey_desktop.sandbox.engine import Answer, AnswerEngine


@functools.cache
def sample_store(name: str) -> Store:
    """The bundled sample store called ``name``."""
    return next(s for s in load_stores().values() if s.name == name)


@functools.cache
def engine(name: str) -> AnswerEngine:
    """One shared engine per sample store."""
    return AnswerEngine(sample_store(name))


def ask_in_turn(eng: AnswerEngine, history: list[dict[str, Any]], question: str,
                **kwargs: Any) -> Answer:
    """Answer ``question`` and record the turn in ``history`` the way the server does."""
    answer = eng.answer(question, history, **kwargs)
    history.append({"question": question, "answer": answer.text, **answer.memory})
    return answer


def cited(answer: Answer) -> list[str]:
    """Item ids the answer cites, in order of first citation."""
    return list(dict.fromkeys(a.item_id for a in answer.annotations))


def markers_are_annotated(answer: Answer) -> bool:
    """Every annotation sits exactly on an ``[N]`` marker of the text."""
    spans = [(a.start_index, a.end_index) for a in answer.annotations]
    spans += [(w.start_index, w.end_index) for w in answer.web_citations]
    return all(re.fullmatch(r"\[\d+\]", answer.text[s:e + 1]) for s, e in spans)
