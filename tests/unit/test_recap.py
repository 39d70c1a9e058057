"""The recap that seeds a new session after a session loss: recent pairs, within the limit."""

from __future__ import annotations

from jockey_desktop.core.limits import MAX_INSTRUCTIONS_CHARS
from jockey_desktop.core.recap import build_recap


def test_recap_keeps_recent_pairs_within_the_instructions_limit() -> None:
    pairs = [(f"question {i} " + "q" * 500, f"answer {i} " + "a" * 900) for i in range(20)]
    recap = build_recap(pairs)
    assert recap is not None
    assert len(recap) <= MAX_INSTRUCTIONS_CHARS
    assert "question 19" in recap  # the most recent turn is always there
    assert "question 13" not in recap  # at most six pairs
    assert recap.index("question 18") < recap.index("question 19")


def test_recap_of_nothing_is_none_and_short_history_is_whole() -> None:
    assert build_recap([]) is None
    recap = build_recap([("What are the themes?", "Teamwork [1] and speed [2].")])
    assert recap is not None
    assert "What are the themes?" in recap and "Teamwork [1] and speed [2]." in recap
