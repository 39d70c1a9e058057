"""The answer engine: the guide's three turns, citations, offsets, retrieval, edge cases."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jockey_desktop.sandbox.data import load_stores
from jockey_desktop.sandbox.engine import (
    AnswerEngine,
    count_tokens,
    format_time,
    tokenize,
    truncate_to_tokens,
)

from .conftest import KEYNOTES, NATURE, Api, answer_part

GUIDE = ["What are the main themes across these videos?",
         "Which videos best represent the first theme?",
         "Give me timestamps for the key moments in those videos"]


def _check_citations(part: dict[str, Any], durations: dict[str, float]) -> None:
    text = part["text"]
    assert part["annotations"], text
    previous_end = -1
    for a in part["annotations"]:
        marker = text[a["start_index"]:a["end_index"] + 1]
        assert re.fullmatch(r"\[\d+\]", marker), marker
        assert a["start_index"] > previous_end  # sorted, not overlapping
        previous_end = a["end_index"]
        assert a["type"] == "video_citation" and a["item_id"] in durations
        assert 0 <= a["start_sec"] < a["end_sec"] <= durations[a["item_id"]]
        assert isinstance(a["start_sec"], float) and isinstance(a["end_sec"], float)
        assert a["title"] and "thumbnail_url" in a and "hls_url" in a
    # Every [N] in the text is annotated.
    assert len(re.findall(r"\[\d+\]", text)) == len(part["annotations"])


@pytest.mark.parametrize("store_name", [NATURE, KEYNOTES])
def test_guide_three_turns(api: Api, store_name: str) -> None:
    store = api.store_id(store_name)
    items = api.get(f"/knowledge-stores/{store}/items", params={"page_limit": 50}).json()["data"]
    durations = {i["_id"]: i["system_metadata"]["duration"] for i in items
                 if i["status"] == "ready"}
    titles = {i["_id"]: i["metadata"]["title"] for i in items}
    session = None
    parts = []
    for question in GUIDE:
        fields = {"session_id": session} if session else {}
        body = api.ask(store, question, **fields).json()
        assert body["status"] == "completed"
        session = session or body["session_id"]
        assert body["session_id"] == session
        part = answer_part(body)
        _check_citations(part, durations)
        parts.append(part)
    themes, videos, moments = parts
    assert "themes" in themes["text"]
    first_theme = re.search(r"1\. \*\*(.+?)\*\*", themes["text"]).group(1)
    assert first_theme in videos["text"]
    theme_videos = list(dict.fromkeys(a["item_id"] for a in videos["annotations"]))
    assert len(theme_videos) >= 2
    # "those videos" are exactly the videos of the previous answer, with timestamps.
    assert list(dict.fromkeys(a["item_id"] for a in moments["annotations"])) == theme_videos
    for video in theme_videos:
        assert titles[video] in moments["text"]
    assert re.search(r"\d\d:\d\d–\d\d:\d\d", moments["text"])


def test_offsets_are_code_points_with_inclusive_end(api: Api, nature_id: str) -> None:
    # The tide-pool video's title holds an emoji outside the BMP (2 UTF-16 units).
    part = answer_part(api.ask(nature_id, "hermit crabs swap shells in the tide pools").json())
    assert "🌊" in part["text"]
    emoji_at = part["text"].index("🌊")
    later = [a for a in part["annotations"] if a["start_index"] > emoji_at]
    assert later
    for a in part["annotations"]:
        assert part["text"][a["start_index"]] == "[" and part["text"][a["end_index"]] == "]"


def test_same_moment_keeps_its_number() -> None:
    store = next(s for s in load_stores().values() if s.name == NATURE)
    answer = AnswerEngine(store).answer(GUIDE[0])
    seen: dict[str, tuple[str, float]] = {}
    for a in answer.annotations:
        marker = answer.text[a.start_index:a.end_index + 1]
        if marker in seen:
            assert seen[marker] == (a.item_id, a.start_sec)
        seen[marker] = (a.item_id, a.start_sec)


def test_bm25_ranks_the_obvious_moment_first() -> None:
    store = next(s for s in load_stores().values() if s.name == NATURE)
    engine = AnswerEngine(store)
    hits = engine.search("otter cracks urchin with a stone")
    assert "stone" in hits[0][0].description
    assert hits == sorted(hits, key=lambda h: -h[1])
    assert engine.search("zzzz qqqq") == []


def test_follow_up_without_history_still_answers() -> None:
    store = next(s for s in load_stores().values() if s.name == KEYNOTES)
    engine = AnswerEngine(store)
    answer = engine.answer("Which videos best represent the second theme?")
    assert answer.annotations and engine.themes()[1]["name"] in answer.text
    too_far = engine.answer("Which videos best represent the fifth theme?")
    assert "no fifth" in too_far.text and not too_far.annotations


def test_processing_and_failed_items_are_never_cited() -> None:
    store = next(s for s in load_stores().values() if s.name == NATURE)
    engine = AnswerEngine(store)
    not_ready = {i.id for i in store.items if not i.ready}
    assert len(not_ready) == 2
    for question in [*GUIDE, "rainforest canopy", "coral spawning"]:
        assert not {a.item_id for a in engine.answer(question).annotations} & not_ready


def test_text_helpers() -> None:
    assert format_time(65) == "01:05" and format_time(3725) == "1:02:05"
    assert tokenize("The Lionesses are hunting") == ["lioness", "hunt"]
    assert tokenize("price") == tokenize("pricing")
    assert count_tokens("Hello, world [1].") == 7
    assert truncate_to_tokens("one two three four", 2) == "one two"
    assert truncate_to_tokens("one two", 5) == "one two"


def test_follow_ups_use_the_right_turn() -> None:
    store = next(s for s in load_stores().values() if s.name == NATURE)
    engine = AnswerEngine(store)
    history: list[dict[str, Any]] = []
    for question in GUIDE:
        answer = engine.answer(question, history)
        history.append({"question": question, "answer": answer.text, **answer.memory})
    # Themes are still known two turns later.
    second = engine.answer("Which videos best represent the second theme?", history)
    assert engine.themes()[1]["name"] in second.text
    # "those lionesses" is a new question, not a reference to earlier videos.
    lions = engine.answer("What do those lionesses do?", history)
    assert "lionesses" in lions.text.lower()
    assert len({a.item_id for a in lions.annotations}) <= 2
