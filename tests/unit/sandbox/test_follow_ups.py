"""Follow-ups: resolved from the session's own turns; fresh questions get fresh answers;
``instructions`` are only generic context, whatever their layout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.sandbox_engine import ask_in_turn, cited, engine, markers_are_annotated
from tests.helpers.sandbox_http import GUIDE, KEYNOTES, NATURE, Api, answer_part, cited_items

#: The question of issue 13.5, asked after the guide's three turns.
HUNT = "How do the predators hunt in these videos? Describe each hunting strategy in detail."


def _moment_tags(name: str, answer: Any) -> list[tuple[str, ...]]:
    eng = engine(name)
    by_start = {(m.item_id, m.start): m for m in eng.moments}
    return [by_start[(a.item_id, a.start_sec)].tags for a in answer.annotations]


def _clip(text: str, limit: int = 320) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _guide_history(name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    history: list[dict[str, Any]] = []
    answers = [ask_in_turn(engine(name), history, question) for question in GUIDE]
    return history, answers


# ----------------------------------------------------------------- the session's own turns
def test_a_fresh_question_after_the_guide_gets_a_fresh_answer(api: Api, nature_id: str) -> None:
    session = None
    for question in GUIDE:
        fields = {"session_id": session} if session else {}
        session = api.ask(nature_id, question, **fields).json()["session_id"]
    previous = api.ask(nature_id, GUIDE[2], session_id=session).json()
    body = api.ask(nature_id, HUNT, session_id=session).json()
    text = answer_part(body)["text"]
    assert not text.startswith("Here are the key moments")
    assert text != answer_part(previous)["text"]
    # It answers the question asked: hunting moments, from the whole store.
    assert "hunt" in text.lower() or "prey" in text.lower() or "herd" in text.lower()
    eng = engine(NATURE)
    by_start = {(m.item_id, m.start): m for m in eng.moments}
    cited_moments = [by_start[(a["item_id"], a["start_sec"])]
                     for a in answer_part(body)["annotations"]]
    assert len(cited_moments) >= 3 and all("predation" in m.tags for m in cited_moments)


def test_those_videos_without_a_subject_is_a_follow_up() -> None:
    history, answers = _guide_history(NATURE)
    moments = answers[2]
    assert moments.text.startswith("Here are the key moments")
    assert cited(moments) == answers[1].memory["video_ids"]
    # The same request phrased with "these" and without a subject is still a follow-up.
    again = engine(NATURE).answer("Summarize these videos", history)
    assert cited(again) == answers[1].memory["video_ids"]


def test_a_subject_about_those_videos_searches_only_them() -> None:
    history, answers = _guide_history(NATURE)
    earlier = set(answers[1].memory["video_ids"])
    newborns = engine(NATURE).answer("Which of those videos show newborns?", history)
    assert newborns.annotations and set(cited(newborns)) <= earlier
    assert all("newborn" in tags or "parenting" in tags
               for tags in _moment_tags(NATURE, newborns))
    # "those lionesses" is a new question, not a reference to earlier videos.
    lions = engine(NATURE).answer("What do those lionesses do?", history)
    assert "lionesses" in lions.text.lower() and len(set(cited(lions))) <= 2


def test_follow_ups_use_the_right_turn() -> None:
    eng = engine(NATURE)
    history, _ = _guide_history(NATURE)
    # Themes are still known two turns later.
    second = eng.answer("Which videos best represent the second theme?", history)
    assert eng.themes()[1]["name"] in second.text


def test_a_theme_follow_up_without_history_uses_the_stores_themes() -> None:
    eng = engine(KEYNOTES)
    answer = eng.answer("Which videos best represent the second theme?")
    assert answer.annotations and eng.themes()[1]["name"] in answer.text
    too_far = eng.answer("Which videos best represent the fifth theme?")
    assert "no fifth" in too_far.text and not too_far.annotations


# ----------------------------------------------------------------- instructions as context
def _layouts(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """One conversation summarised in several layouts a client might choose."""
    qa = ["Summary of the earlier turns (most recent last):"]
    prose = ["Earlier in this conversation:"]
    bullets = []
    for question, answer in pairs:
        qa += [f"Q: {_clip(question, 160)}", f"A: {_clip(answer)}"]
        prose.append(f"The user asked “{question}” and you replied: {_clip(answer)}")
        bullets += [f"- user → {question}", f"- jockey → {_clip(answer)}"]
    return {"qa": "\n".join(qa), "prose": "\n".join(prose), "bullets": "\n".join(bullets)}


@pytest.mark.parametrize("layout", ["qa", "prose", "bullets"])
@pytest.mark.parametrize("store_name", [NATURE, KEYNOTES])
def test_a_summary_in_instructions_resolves_the_first_theme(store_name: str,
                                                            layout: str) -> None:
    eng = engine(store_name)
    themes = eng.answer(GUIDE[0])
    live = eng.answer(GUIDE[1], [{"question": GUIDE[0], **themes.memory}])
    summary = _layouts([(GUIDE[0], themes.text)])[layout]
    recovered = eng.answer(GUIDE[1], [], None, summary)
    assert recovered.text == live.text and recovered.memory == live.memory
    # Two turns on, "those videos" are the videos of the summarised second answer, even
    # though the summary cut that answer short.
    summary = _layouts([(GUIDE[0], themes.text), (GUIDE[1], live.text)])[layout]
    moments = eng.answer(GUIDE[2], instructions=summary)
    assert cited(moments) == live.memory["video_ids"]


def test_the_themes_named_in_the_text_decide_what_first_means() -> None:
    # An earlier answer that listed the themes in another order: "first" means its first.
    eng = engine(NATURE)
    text = ("You found three themes: 1. **Life on the wing** — herons [1]. 2. **Predators and "
            "the hunt** — wolves [2]. 3. **Camouflage** — octopus [3].")
    first = eng.answer("Which videos best represent the first theme?", instructions=text)
    assert first.text.startswith("The first theme was **Life on the wing**")
    assert first.annotations and first.memory["theme_tag"] == "birds"
    third = eng.answer("Which videos best represent the third theme?", instructions=text)
    assert third.text.startswith("The third theme was **Camouflage**")
    # Without any bold, names are found in running text.
    plain = eng.answer(GUIDE[1], instructions="We talked about camouflage, then feeding.")
    assert plain.text.startswith("The first theme was **Camouflage**")


def test_video_titles_in_the_text_resolve_those_videos() -> None:
    eng = engine(NATURE)
    text = "Mostly **Kelp Forest Nights** [1], and a little of **Ice and the Arctic Fox** [2]."
    answer = eng.answer(GUIDE[2], instructions=text)
    assert [eng.videos[v].title for v in cited(answer)] == ["Kelp Forest Nights",
                                                             "Ice and the Arctic Fox"]


def test_the_latest_mention_wins() -> None:
    eng = engine(NATURE)
    lines = ["1. **Camouflage** [1]. 2. **Feeding** [2]."] * 30
    lines.append("Later: 1. **Life after dark** [1]. 2. **Camouflage** [2].")
    answer = eng.answer(GUIDE[1], instructions="\n".join(lines))
    assert answer.text.startswith("The first theme was **Life after dark**")


def test_instructions_are_ignored_when_the_session_has_turns() -> None:
    eng = engine(NATURE)
    history: list[dict[str, Any]] = []
    ask_in_turn(eng, history, GUIDE[0])
    answer = eng.answer(GUIDE[1], history, None, "1. **Camouflage** [1]. 2. **Feeding** [2].")
    assert answer.memory["theme_tag"] == eng.themes()[0]["tag"]


def test_instructions_without_store_names_change_nothing() -> None:
    eng = engine(NATURE)
    plain = eng.answer("How do otters eat?")
    assert eng.answer("How do otters eat?", instructions="Answer briefly.").text == plain.text
    assert eng.context_from_text("Answer in French.") == {}


@pytest.mark.parametrize("instructions", [
    "", "Answer in French.", "Q:", "A:", "A: **", "Q: \nA: \nQ: first theme\nA: (no answer)",
    "**" * 500, "Q: " + "x" * 30_000, "Q: [(?*\nA: \\1 **(** **Camouflage",
    "\x00\ud7ff\n\r\u2028", "\n" * 20_000,
])
def test_arbitrary_instructions_never_break_an_answer(instructions: str) -> None:
    eng = engine(NATURE)
    assert isinstance(eng.context_from_text(instructions), dict)
    answer = eng.answer("Which videos best represent the first theme?",
                        instructions=instructions)
    assert answer.text and answer.annotations and markers_are_annotated(answer)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from([*GUIDE, HUNT]))
def test_random_instructions_never_crash(instructions: str, question: str) -> None:
    answer = engine(NATURE).answer(question, instructions=instructions)
    assert answer.text and markers_are_annotated(answer)


def test_the_server_reads_instructions_only_as_context(api: Api, nature_id: str) -> None:
    text = "Earlier themes: 1. **Journeys and migration** [1]. 2. **Camouflage** [2]."
    body = api.ask(nature_id, GUIDE[1], instructions=text).json()  # a new session
    part = answer_part(body)
    assert part["text"].startswith("The first theme was **Journeys and migration**")
    assert part["annotations"]
    # The resolved theme is remembered: the next turn in that session needs no context.
    follow = api.ask(nature_id, GUIDE[2], session_id=body["session_id"]).json()
    assert set(cited_items(follow)) == {a["item_id"] for a in part["annotations"]}
