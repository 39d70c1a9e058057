"""The answer engine: the guide's three turns, citations, offsets, retrieval, edge cases."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jockey_desktop.sandbox.data import load_stores
from jockey_desktop.sandbox.engine import (
    AnswerEngine,
    count_tokens,
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


# ----------------------------------------------------------------- recaps in instructions
_HEADER = ("This conversation continues from an earlier session that is no longer available. "
           "Summary of the earlier turns (most recent last):")


def _recap(pairs: list[tuple[str, str]], answer_limit: int = 320) -> str:
    """The desktop app's recap format (controllers/chat.py build_recap): clipped, one line."""
    lines = [_HEADER]
    for question, answer in pairs:
        flat = re.sub(r"\s+", " ", answer).strip()
        if len(flat) > answer_limit:
            flat = flat[:answer_limit - 1].rstrip() + "…"
        lines += [f"Q: {question}", f"A: {flat}"]
    return "\n".join(lines)


@pytest.mark.parametrize("store_name", [NATURE, KEYNOTES])
def test_recap_resolves_the_first_theme_like_a_live_session(store_name: str) -> None:
    engine = _engine(store_name)
    themes = engine.answer(GUIDE[0])
    live = engine.answer(GUIDE[1], [{"question": GUIDE[0], **themes.memory}])
    recovered = engine.answer(GUIDE[1], [], None, _recap([(GUIDE[0], themes.text)]))
    assert recovered.text == live.text and recovered.memory == live.memory
    # And "those videos" two turns on: the clipped recap names only some of the videos, the
    # replay restores them all.
    recap = _recap([(GUIDE[0], themes.text), (GUIDE[1], live.text)])
    moments = engine.answer(GUIDE[2], instructions=recap)
    assert list(dict.fromkeys(a.item_id for a in moments.annotations)) == \
        live.memory["video_ids"]


def test_recap_with_the_real_app_format() -> None:
    from jockey_desktop.controllers.chat import build_recap

    engine = _engine(NATURE)
    themes = engine.answer(GUIDE[0])
    # The live answer's themes, with its first two swapped: only the recap can tell.
    names = [t["name"] for t in engine.themes()]
    swapped = themes.text.replace(names[0], "@").replace(names[1], names[0]).replace("@",
                                                                                    names[1])
    recap = build_recap([("Hello", "Hi! Ask me about the videos."), (GUIDE[0], swapped)])
    assert recap is not None
    answer = engine.answer(GUIDE[1], instructions="Be concise.\n\n" + recap)
    assert answer.text.startswith(f"The first theme was **{names[1]}**")


def test_recap_order_wins_over_the_stores_own_ranking() -> None:
    # An earlier answer that listed the themes in another order: "first" means its first.
    engine = _engine(NATURE)
    recap = _recap([("What are the main themes?",
                     "Three themes: 1. **Life on the wing** — herons [1]. 2. **Predators and "
                     "the hunt** — wolves [2]. 3. **Camouflage** — octopus [3].")])
    first = engine.answer("Which videos best represent the first theme?", instructions=recap)
    assert first.text.startswith("The first theme was **Life on the wing**")
    assert first.annotations and first.memory["theme_tag"] == "birds"
    third = engine.answer("Which videos best represent the third theme?", instructions=recap)
    assert third.text.startswith("The third theme was **Camouflage**")


def test_recap_videos_resolve_those_videos() -> None:
    engine = _engine(NATURE)
    recap = _recap([("Which films show hunting at night?",
                     "Mostly **Kelp Forest Nights** [1], and a little of **Ice and the Arctic "
                     "Fox** [2].")])
    answer = engine.answer("Give me timestamps for the key moments in those videos",
                           instructions=recap)
    titles = {engine.videos[a.item_id].title for a in answer.annotations}
    assert titles == {"Kelp Forest Nights", "Ice and the Arctic Fox"}
    assert answer.text.index("Kelp Forest Nights") < answer.text.index("Ice and the Arctic")


def test_instructions_are_ignored_when_the_session_has_turns() -> None:
    engine = _engine(NATURE)
    history: list[dict[str, Any]] = []
    themes = engine.answer(GUIDE[0])
    history.append({"question": GUIDE[0], "answer": themes.text, **themes.memory})
    recap = _recap([("Themes?", "1. **Camouflage** [1]. 2. **Life on the wing** [2].")])
    answer = engine.answer(GUIDE[1], history, None, recap)
    assert answer.memory["theme_tag"] == engine.themes()[0]["tag"]


@pytest.mark.parametrize("instructions", [
    "", "Answer in French.", "Q:", "A:", "A: **", "Q: \nA: \nQ: first theme\nA: (no answer)",
    "**" * 500, "Q: " + "x" * 30_000, "Q: [(?*\nA: \\1 **(** **Camouflage", "\x00\ud7ff\n\r\u2028",
])
def test_arbitrary_instructions_never_break_an_answer(instructions: str) -> None:
    engine = _engine(NATURE)
    assert isinstance(engine.history_from_recap(instructions), list)
    answer = engine.answer("Which videos best represent the first theme?",
                           instructions=instructions)
    assert answer.text and answer.annotations


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from([*GUIDE, "How do the predators hunt?"]))
def test_random_instructions_never_crash(instructions: str, question: str) -> None:
    engine = _ENGINES[NATURE]
    answer = engine.answer(question, instructions=instructions)
    assert answer.text
    for a in answer.annotations:
        assert re.fullmatch(r"\[\d+\]", answer.text[a.start_index:a.end_index + 1])


def test_server_passes_instructions_to_the_engine(api: Api, nature_id: str) -> None:
    recap = _recap([(GUIDE[0], "1. **Journeys and migration** [1]. 2. **Camouflage** [2].")])
    body = api.ask(nature_id, GUIDE[1], instructions=recap).json()  # a new session
    part = answer_part(body)
    assert part["text"].startswith("The first theme was **Journeys and migration**")
    assert part["annotations"]
    # The resolved theme is remembered: the next turn in that session needs no recap.
    follow = api.ask(nature_id, GUIDE[2], session_id=body["session_id"]).json()
    assert {a["item_id"] for a in answer_part(follow)["annotations"]} == \
        {a["item_id"] for a in part["annotations"]}


def test_the_latest_themes_in_a_long_recap_win() -> None:
    engine = _engine(NATURE)
    pairs = [("Themes?", "1. **Camouflage** [1]. 2. **Feeding** [2].")] * 30
    pairs.append(("Themes again?", "1. **Life after dark** [1]. 2. **Camouflage** [2]."))
    history = engine.history_from_recap(_recap(pairs))
    assert len(history) <= 12  # bounded work however long the instructions are
    answer = engine.answer(GUIDE[1], instructions=_recap(pairs))
    assert answer.text.startswith("The first theme was **Life after dark**")
