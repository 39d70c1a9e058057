"""Full-text search and the sanitising of arbitrary Unicode."""

from __future__ import annotations

import logging
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop.core.storage import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MessageStatus,
    Repository,
    open_repository,
)
from jockey_desktop.core.storage.sanitize import REPLACEMENT, sanitize_json_value, sanitize_text
from jockey_desktop.core.storage.search import build_match_query, plain_snippet


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


# --- sanitising ----------------------------------------------------------------------------


def test_sanitize_replaces_lone_surrogates_and_keeps_the_rest() -> None:
    assert sanitize_text("a\ud800b") == f"a{REPLACEMENT}b"
    assert sanitize_text("\udc00") == REPLACEMENT
    assert sanitize_text("\ud83d\ude00") == "😀"  # a valid pair is joined
    assert sanitize_text("nul\x00kept") == "nul\x00kept"
    rtl = "\u202eשלום عربى\u200f"
    assert sanitize_text(rtl) == rtl
    assert sanitize_text(None) == "" and sanitize_text(12) == "12"
    assert sanitize_json_value({"k\ud800": [float("nan"), "x\udfff"]}) == {
        f"k{REPLACEMENT}": [None, f"x{REPLACEMENT}"]}


_ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
_NASTY = st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\u200f", "😀", "👩‍👩‍👧",
                          "עברית", "العربية", "\ufeff", "\r\n", "\U0010ffff"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_ANY_TEXT, _NASTY), max_size=8).map("".join))
def test_arbitrary_unicode_round_trips(repo: Repository, text: str) -> None:
    conv = repo.create_conversation(text, text, title=text, instructions=text)
    msg = repo.add_user_message(conv.id, text)
    reply = repo.start_assistant_message(conv.id, msg.id)
    repo.flush_partial_text(reply.id, text)
    repo.finish_message(reply.id, text=text, status=MessageStatus.COMPLETE,
                        citations=[{"title": text}], session_id=text)
    repo.set_draft(conv.id, text)
    expected = sanitize_text(text)
    assert "\ud800" not in expected
    got = repo.list_messages(conv.id)
    assert [m.text for m in got] == [expected, expected]
    assert got[1].citations[0]["title"] == expected
    stored = repo.get_conversation(conv.id)
    assert stored is not None and stored.draft == expected and stored.store_id == expected
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert expected == text  # nothing but surrogates is ever changed
    repo.search(text)


def test_one_megabyte_message(repo: Repository) -> None:
    unit = "Ünïcödé 😀 \u202eRTL\u202c " + string.ascii_letters + " "
    text = (unit * (1024 * 1024 // len(unit) + 1))[: 1024 * 1024] + "\ud800"
    conv = repo.create_conversation("s", "S")
    msg = repo.add_user_message(conv.id, text)
    assert len(msg.text) == 1024 * 1024 + 1 and msg.text.endswith(REPLACEMENT)
    assert msg.text[:-1] == text[:-1]
    assert repo.search("unicode")  # ~1 s: the snippet tokenises the whole megabyte
    assert repo.integrity_check()


def test_nul_round_trips_through_reopen(db_path: Path, backup_dir: Path) -> None:
    repo = open_repository(db_path, backup_dir)
    conv = repo.create_conversation("s", "S")
    msg = repo.add_user_message(conv.id, "before\x00after")
    repo.close()
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.get_message(msg.id).text == "before\x00after"  # type: ignore[union-attr]
    finally:
        repo.close()


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


def test_snippets_have_no_markdown_syntax_but_keep_highlights(repo: Repository) -> None:
    conv = repo.create_conversation("s1", "S", title="t")
    q = repo.add_user_message(conv.id, "q")
    a = repo.start_assistant_message(conv.id, q.id)
    repo.finish_message(
        a.id, status=MessageStatus.COMPLETE,
        text="## Summary\n**The winning penalty** was `scored` late [1] — see "
             "[the replay](https://example.com/replay) and __extra__ time [2, 3].")
    (hit,) = repo.search("penalty")
    for syntax in ("**", "__", "`", "[1]", "[2, 3]", "](", "https://", "#"):
        assert syntax not in hit.snippet, syntax
    assert f"winning {HIGHLIGHT_START}penalty{HIGHLIGHT_END} was scored late" in hit.snippet
    assert "late — see the replay and" in hit.snippet


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("## Goals\n**The \x02goal\x03** was `scored` [1].", "Goals The \x02goal\x03 was scored."),
        ("x](http://cut.example/a) then [docs](http://exa…", "x then docs"),
        ("- item\n> quote ![alt](img.png) [2,3]", "item quote alt"),
        ("*it* and _em_ but snake_case and 5 * 3", "it and em but snake_case and 5 * 3"),
        ("at [01:02-01:10] <vref id=a start=1 end=2/>clip</vref>", "at [01:02-01:10] clip"),
        ("***\x02bold\x03***", "\x02bold\x03"),
    ],
)
def test_plain_snippet(raw: str, plain: str) -> None:
    assert plain_snippet(raw) == plain
