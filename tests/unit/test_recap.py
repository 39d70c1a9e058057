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


def test_a_fork_from_an_answer_recaps_up_to_that_version() -> None:
    from jockey_desktop.core.recap import fork_pairs
    from jockey_desktop.core.storage.models import MessageStatus, Role
    from tests.helpers.records import make_message

    rows = [
        make_message(1, Role.USER, "Q1 about {{sel:0}}",
                     selections=[{"kind": "item", "id": "ksi_1", "name": "Reef"}]),
        make_message(2, Role.ASSISTANT, "first answer", reply_to=1),
        make_message(3, Role.USER, "Q2"), make_message(4, Role.ASSISTANT, "A2", reply_to=3),
        make_message(5, Role.ASSISTANT, "second answer", reply_to=1),  # Ask again of Q1
        make_message(6, Role.USER, "Q3"),
        make_message(7, Role.ASSISTANT, "half", MessageStatus.FAILED, reply_to=6),
    ]
    # From version 1 of Q1's answer: just that turn, with that version, names resolved.
    assert fork_pairs(rows, 2) == [("Q1 about Reef", "first answer")]
    assert fork_pairs(rows, 5) == [("Q1 about Reef", "second answer")]
    # From Q2's answer: Q1 with its best (latest complete) answer, then Q2.
    assert fork_pairs(rows, 4) == [("Q1 about Reef", "second answer"), ("Q2", "A2")]
    # "Edit and ask" on Q3: the turns before it only.
    assert fork_pairs(rows, 6) == [("Q1 about Reef", "second answer"), ("Q2", "A2")]
    assert fork_pairs(rows, 99) == []
