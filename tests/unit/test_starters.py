"""Starter questions: the guide's three, then ones drawn from the store's own videos."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.presentation.starters import (
    GUIDE_QUESTIONS,
    item_title,
    starter_questions,
    store_questions,
)


@dataclass
class _Item:
    filename: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "ready"


def test_titles_come_from_metadata_or_the_file_name() -> None:
    assert item_title(_Item("a.mp4", {"title": "  Lions   at dusk "})) == "Lions at dusk"
    assert item_title(_Item("clips/elephant_herd-crossing.mp4")) == "elephant herd crossing"
    assert item_title(_Item()) == ""


def test_questions_name_the_stores_videos_and_a_shared_subject() -> None:
    items = [
        _Item("lions.mp4", {"title": "Lions at dusk", "region": "East Africa"}),
        _Item("whales.mp4", {"title": "Humpback whales", "region": "East Africa"}),
        _Item("bees.mp4", {"title": "Bees", "region": "Europe"}),
        _Item("late.mp4", {"title": "Still indexing"}, status="indexing"),
    ]
    questions = store_questions(items, limit=4)
    assert questions == [
        "What happens in “Lions at dusk”?",
        "What do the videos with region “East Africa” show?",
        "How do “Lions at dusk” and “Humpback whales” differ?",
        "Summarise “Bees” with timestamps of its key moments",
    ]
    assert len(store_questions(items)) == 3
    assert all("Still indexing" not in q for q in store_questions(items, limit=10))


def test_long_titles_are_cut_at_a_word_and_no_ready_video_means_none() -> None:
    long = _Item(metadata={"title": "word " * 30})
    (question,) = store_questions([long], limit=1)
    assert question.endswith("…”?") and len(question) < 90
    assert store_questions([_Item(status="failed", metadata={"title": "x"})]) == []
    assert store_questions([long], limit=0) == []


def test_the_guide_comes_first_and_duplicates_go() -> None:
    assert starter_questions() == list(GUIDE_QUESTIONS)
    assert starter_questions([GUIDE_QUESTIONS[0], "Own?"]) == [*GUIDE_QUESTIONS, "Own?"]
