"""The answer engine: the guide's three turns, citations and offsets, retrieval, stemming."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from jockey_desktop.sandbox.data import load_stores
from jockey_desktop.sandbox.engine import (
    AnswerEngine,
    count_tokens,
    tokenize,
    truncate_to_tokens,
)
from tests.helpers.sandbox_http import GUIDE, KEYNOTES, NATURE, Api, answer_part


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


def test_offsets_are_code_points_with_inclusive_end() -> None:
    # Sample titles are plain text (an emoji drew an empty box on machines without an emoji
    # font), so a title with a character outside the BMP (2 UTF-16 units) is made here.
    store = next(s for s in load_stores().values() if s.name == NATURE)
    items = tuple(dataclasses.replace(item, title=item.title.replace("Tide Pools",
                                                                      "Tide Pools 🌊"))
                  for item in store.items)
    assert any("🌊" in item.title for item in items)
    answer = AnswerEngine(dataclasses.replace(store, items=items)).answer(
        "hermit crabs swap shells in the tide pools")
    assert "🌊" in answer.text
    emoji_at = answer.text.index("🌊")
    assert [a for a in answer.annotations if a.start_index > emoji_at]
    for a in answer.annotations:
        assert answer.text[a.start_index] == "[" and answer.text[a.end_index] == "]"


def test_sample_titles_are_plain_text() -> None:
    """No sample title needs an emoji font (issue 14.15)."""
    for store in load_stores().values():
        for item in store.items:
            assert all(ord(ch) < 0x2000 or ch in "–—‘’“”…" for ch in item.title), item.title


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


def test_processing_and_failed_items_are_never_cited() -> None:
    store = next(s for s in load_stores().values() if s.name == NATURE)
    engine = AnswerEngine(store)
    not_ready = {i.id for i in store.items if not i.ready}
    assert len(not_ready) == 2
    for question in [*GUIDE, "rainforest canopy", "coral spawning"]:
        assert not {a.item_id for a in engine.answer(question).annotations} & not_ready


def test_text_helpers() -> None:
    assert tokenize("The Lionesses are hunting") == ["lioness", "hunt"]
    assert tokenize("price") == tokenize("pricing")
    assert count_tokens("Hello, world [1].") == 7
    assert truncate_to_tokens("one two three four", 2) == "one two"
    assert truncate_to_tokens("one two", 5) == "one two"


# ----------------------------------------------------------------- normaliser and retrieval
# Engines are immutable, so one per sample store serves every test.
_ENGINES = {s.name: AnswerEngine(s) for s in load_stores().values()}


def _engine(name: str) -> AnswerEngine:
    return _ENGINES[name]


@pytest.mark.parametrize("words", [
    ("predators", "predator", "predation", "predate"),
    ("hunt", "hunts", "hunting", "hunted", "hunter", "hunters"),
    ("migration", "migrating", "migrate", "migrates"),
    ("availability", "available"), ("sustainability", "sustainable"),
    ("parents", "parenting", "parent"), ("fox", "foxes", "fox's", "Fox’s"),
    ("swapped", "swap", "swapping"), ("wolves", "wolf"), ("dance", "dancing", "dances"),
])
def test_word_forms_share_a_stem(words: tuple[str, ...]) -> None:
    stems = {tuple(tokenize(word)) for word in words}
    assert len(stems) == 1 and all(stems), stems


@pytest.mark.parametrize(("word", "expected"), [
    ("spring", "spring"), ("speed", "speed"), ("lioness", "lioness"), ("species", "species"),
    ("water", "water"), ("falling", "fall"), ("feeding", "feed")])
def test_stemmer_keeps_words_recognisable(word: str, expected: str) -> None:
    # "spring" must not become "spr", nor "speed" "spe": a stem keeps its vowel and "eed".
    assert tokenize(word) == [expected]


def test_normaliser_drops_punctuation_and_stop_words() -> None:
    assert tokenize("What did they say about the wind-swept, ice-choked river?!") == [
        "wind", "swept", "ice", "chok", "river"]
    assert tokenize("") == [] and tokenize("?!… — the and of") == []


# (store, question, what every one of the top ``n`` moments must have: a tag or a phrase)
NATURAL_QUESTIONS = [
    (NATURE, "How do the predators hunt?", 3, "tag:predation"),
    (NATURE, "Which animals hunt together in packs?", 2, "tag:teamwork"),
    (NATURE, "Show me scavengers feeding on leftovers", 3, "tag:scavengers"),
    (NATURE, "How do the caribou cross the river?", 1, "ice-choked river"),
    (NATURE, "Which animals use tools?", 2, "tag:tool-use"),
    (NATURE, "When does the storm hit?", 1, "thunderstorm"),
    (NATURE, "How does the octopus catch its prey?", 1, "octopus"),
    (NATURE, "Where do the birds migrate?", 1, "snow geese"),
    (KEYNOTES, "How much does the phone cost?", 1, "base model holds last year's price"),
    (KEYNOTES, "What did they say about privacy?", 3, "tag:privacy"),
    (KEYNOTES, "How long does the battery last?", 3, "tag:battery"),
    (KEYNOTES, "Which demos failed on stage?", 1, "Wi-Fi drops"),
    (KEYNOTES, "Is there a free tier?", 1, "free tier"),
    (KEYNOTES, "How does sleep tracking work?", 1, "Sleep tracking"),
    (KEYNOTES, "What is recycled?", 2, "recycled"),
]


@pytest.mark.parametrize(("store", "question", "n", "expect"), NATURAL_QUESTIONS)
def test_natural_questions_find_the_right_moments(store: str, question: str, n: int,
                                                   expect: str) -> None:
    hits = _engine(store).search(question)
    assert len(hits) >= n
    for moment, _score in hits[:n]:
        if expect.startswith("tag:"):
            assert expect[4:] in moment.tags, (question, moment.description)
        else:
            assert expect in moment.description, (question, moment.description)


def test_predators_question_cites_the_hunts() -> None:
    # The lead's report: this question used to cite an urchin barren first, and fox kits.
    engine = _engine(NATURE)
    answer = engine.answer("How do the predators hunt?")
    by_start = {(m.item_id, m.start): m for m in engine.moments}
    cited = [by_start[(a.item_id, a.start_sec)] for a in answer.annotations]
    assert len(cited) >= 3 and all("predation" in m.tags for m in cited)
    top = [m for m, _score in engine.search("How do the predators hunt?", limit=3)]
    assert {engine.videos[m.item_id].title for m in top} == {
        "Savanna at First Light", "The Long Walk North: Caribou Migration"}
    assert not any("kits" in m.description for m in cited)
