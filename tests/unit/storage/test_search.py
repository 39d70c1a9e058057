"""Full-text search: safe queries, ranking, one hit per conversation, snippets."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop.core.storage import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MessageStatus,
    Repository,
)
from jockey_desktop.core.storage.search import build_match_query, make_snippet
from tests.helpers.storage_fixtures import answered_turn


@pytest.fixture
def filled(repo: Repository) -> Repository:
    football = repo.create_conversation("s1", "Sports", title="Penalty shootout analysis")
    q = repo.add_user_message(football.id, "Who scored the winning goal?")
    a = repo.start_assistant_message(football.id, q.id)
    repo.finish_message(a.id, text="The striker scored the goal in extra time; goal goal goal.",
                        status=MessageStatus.COMPLETE)
    cooking = repo.create_conversation("s2", "Cooking", title="Soup recipes")
    repo.add_user_message(cooking.id, "How long should the goal of simmering be? Crème brûlée")
    repo.add_session_seam(cooking.id, None, "goal seam text is not searchable")
    return repo


def test_finds_words_in_titles(filled: Repository) -> None:
    hits = filled.search("shootout")
    assert len(hits) == 1 and hits[0].message_id is None
    assert hits[0].title == "Penalty shootout analysis"
    assert hits[0].snippet == f"Penalty {HIGHLIGHT_START}shootout{HIGHLIGHT_END} analysis"


def test_finds_words_in_messages_ranked_and_highlighted(filled: Repository) -> None:
    hits = filled.search("goal")
    assert all(h.message_id is not None for h in hits)
    # One hit per conversation (football's question and answer both match; the seam row is
    # never searchable).
    assert len(hits) == 2
    assert len({h.conversation_id for h in hits}) == 2
    ranks = [h.rank for h in hits]
    assert ranks == sorted(ranks)
    # The answer repeating "goal" ranks above the question mentioning it once.
    assert "striker" in hits[0].snippet
    assert f"{HIGHLIGHT_START}goal{HIGHLIGHT_END}" in hits[0].snippet
    assert hits[0].title == "Penalty shootout analysis"


def test_prefix_on_last_term_and_diacritics(filled: Repository) -> None:
    assert filled.search("shoo")  # as you type
    assert not filled.search("shoo analysis")  # only the last term is a prefix
    assert filled.search("creme brulee")  # diacritics folded
    assert filled.search("SOUP")  # case-insensitive


def test_search_follows_updates_and_deletes(filled: Repository) -> None:
    conv = filled.list_conversations()[0].conversation
    filled.rename_conversation(conv.id, "Gazpacho")
    assert filled.search("gazpacho") and not filled.search("recipes")
    filled.delete_conversation(conv.id)
    assert not filled.search("gazpacho") and not filled.search("simmering")


@pytest.mark.parametrize("query", [
    "", "   ", '"', '""', "*", "AND", "NOT goal", "goal OR", "NEAR(goal striker)", "title:goal",
    "^goal", "(goal", "goal)", "-goal", "+", "\x00", "\ud800", "goal\x00striker", "'; DROP",
])
def test_odd_queries_never_raise(filled: Repository, query: str) -> None:
    hits = filled.search(query)
    assert isinstance(hits, list)
    if query in ("^goal", "(goal", "goal)", "-goal"):
        assert hits  # syntax characters are ignored, the word still matches
    if query in ("NOT goal", "goal OR", "title:goal"):
        assert hits == []  # operators are plain words that must also occur: they do not


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_any_query_is_safe(filled: Repository, query: str) -> None:
    assert isinstance(filled.search(query), list)


def test_match_query_quotes_terms() -> None:
    assert build_match_query('say "hi" now') == '"say" """hi""" "now"*'
    assert build_match_query("!!! ...") is None


def test_short_last_term_is_not_a_prefix() -> None:
    assert build_match_query("go") == '"go"'
    assert build_match_query("goa") == '"goa"*'


def test_search_falls_back_to_newest_when_ranking_is_too_slow(
    filled: Repository, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import jockey_desktop.core.storage.repository as repository_module

    ranked = filled.search("goal")
    monkeypatch.setattr(repository_module, "SEARCH_RANK_BUDGET_S", -1.0)  # always too slow
    monkeypatch.setattr(repository_module, "_PROGRESS_STEPS", 1)
    caplog.set_level(logging.DEBUG, logger="jockey_desktop.core.storage.repository")
    fallback = filled.search("goal")
    assert "over budget" in caplog.text
    assert {h.message_id for h in fallback} == {h.message_id for h in ranked}
    assert [h.rank for h in fallback] == sorted(h.rank for h in fallback)


def test_one_hit_per_conversation_prefers_the_message_when_the_title_matches_too(
        repo: Repository) -> None:
    conv = repo.create_conversation("s1", "Sports", title="Goal of the season")
    q = repo.add_user_message(conv.id, "Which goal was the best?")
    a = repo.start_assistant_message(conv.id, q.id)
    repo.finish_message(a.id, text="The **best goal** came late [1].",
                        status=MessageStatus.COMPLETE)
    other = repo.create_conversation("s1", "Sports", title="Goal kicks only")
    hits = repo.search("goal")
    assert sorted(h.conversation_id for h in hits) == sorted([conv.id, other.id])
    by_conv = {h.conversation_id: h for h in hits}
    assert by_conv[conv.id].message_id is not None  # the excerpt, not the title again
    assert by_conv[other.id].message_id is None  # title-only match still listed
    assert by_conv[other.id].snippet == f"{HIGHLIGHT_START}Goal{HIGHLIGHT_END} kicks only"
    ranks = [h.rank for h in hits]
    assert ranks == sorted(ranks)


def test_many_matching_messages_still_fill_the_limit(repo: Repository) -> None:
    # The first conversation's 20 messages all match; dedup must not starve the others.
    busy = repo.create_conversation("s1", "S", title="busy")
    for i in range(20):
        repo.add_user_message(busy.id, f"gazpacho gazpacho gazpacho {i}")
    quiet = [repo.create_conversation("s1", "S", title=f"quiet {i}") for i in range(4)]
    for conv in quiet:
        repo.add_user_message(conv.id, "a gazpacho recipe among many other words here")
    hits = repo.search("gazpacho", limit=5)
    assert len(hits) == 5
    assert len({h.conversation_id for h in hits}) == 5




# --- plain text and snippets -----------------------------------------------------------------

_S, _E = HIGHLIGHT_START, HIGHLIGHT_END


def test_messages_are_searched_by_their_plain_text(repo: Repository) -> None:
    conv = repo.create_conversation("s1", "S", title="t")
    answered_turn(
        repo, conv.id, "q",
        "## Summary\n**The winning penalty** was `scored` late [1] — see "
        "[the replay](https://replays.example/final) and __extra__ time [2, 3].")
    (hit,) = repo.search("penalty")
    for syntax in ("**", "__", "`", "[1]", "[2, 3]", "](", "https://", "#"):
        assert syntax not in hit.snippet, syntax
    assert f"winning {_S}penalty{_E} was scored late" in hit.snippet
    assert "late — see the replay and extra time" in hit.snippet
    # Link targets and citation numbers are not words of the message.
    assert repo.search("replays") == [] and repo.search("https") == []


def test_a_question_is_found_by_the_names_of_what_it_asked_about(repo: Repository) -> None:
    conv = repo.create_conversation("s1", "S", title="t")
    repo.start_turn(conv.id, "What happens in {{sel:0}}?",
                    selections=[{"kind": "item", "id": "ksi_1", "name": "Serengeti crossing"}])
    (hit,) = repo.search("serengeti")
    assert f"What happens in {_S}Serengeti{_E} crossing?" == hit.snippet
    assert repo.search("sel") == []


def test_snippet_starts_near_the_match_and_keeps_it_whole(repo: Repository) -> None:
    conv = repo.create_conversation("s1", "S", title="t")
    lead = " ".join(f"word{i}" for i in range(60))
    tail = " ".join(f"tail{i}" for i in range(60))
    answered_turn(repo, conv.id, "q",
                  f"{lead} a ring-tailed **lemur** jumped onto a lemur tree {tail}")
    for query in ("lem", "lemur"):
        (hit,) = repo.search(query)
        snippet = hit.snippet
        assert snippet.startswith("…") and snippet.endswith("…")
        first = snippet.index(_S)
        assert first <= 30  # a few words of lead-in: a one-line row shows the match
        assert snippet[first:].startswith(f"{_S}lemur{_E}")
        assert f"onto a {_S}lemur{_E} tree" in snippet
        assert len(snippet) <= 200


@pytest.mark.parametrize(
    ("highlighted", "expected"),
    [
        # Short text: unchanged.
        (f"a {_S}lemur{_E} here", f"a {_S}lemur{_E} here"),
        # Long lead: cut to a word start a few words before the match.
        ("alpha " * 20 + f"ring-tailed {_S}lemur{_E} jumps",
         f"…alpha ring-tailed {_S}lemur{_E} jumps"),
        # No match highlighted (a prefix term can match inside a word): the start.
        ("one two three", "one two three"),
    ],
)
def test_make_snippet(highlighted: str, expected: str) -> None:
    assert make_snippet(highlighted) == expected


def test_make_snippet_never_cuts_a_match_or_a_word() -> None:
    words = " ".join(f"w{i:03d}" for i in range(200))
    text = f"{words[:300]} {_S}verylongmatchedword{_E} {_S}second{_E} {words}"
    snippet = make_snippet(text, lead=10, length=30)
    assert f"{_S}verylongmatchedword{_E}" in snippet
    assert snippet.count(_S) == snippet.count(_E)
    body = snippet.strip("…")
    for word in body.replace(_S, "").replace(_E, "").split():
        assert word in ("verylongmatchedword", "second") or word in words.split()
    # A highlight straddling the cut is kept whole.
    straddle = make_snippet("x " * 5 + f"{_S}" + "y" * 50 + f"{_E} z z", lead=4, length=12)
    assert f"{_S}{'y' * 50}{_E}" in straddle
