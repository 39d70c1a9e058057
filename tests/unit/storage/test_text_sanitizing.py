"""Text at the storage boundary: lone surrogates, NUL, RTL marks, huge and nested values."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop.core.storage import MessageStatus, Repository, open_repository
from jockey_desktop.core.storage.sanitize import (
    MAX_JSON_DEPTH,
    REPLACEMENT,
    sanitize_json_value,
    sanitize_text,
)


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




def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_json_values_nested_absurdly_deep_are_cut_not_fatal() -> None:
    kept = sanitize_json_value(_nested(MAX_JSON_DEPTH))
    assert kept == _nested(MAX_JSON_DEPTH)  # every level the app could use is kept
    cut = sanitize_json_value({"steps": _nested(50_000)})
    depth = 0
    node = cut["steps"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert node is None and depth < MAX_JSON_DEPTH


def test_deeply_nested_steps_are_saved_without_losing_the_answer(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "q")
    done = repo.complete_turn(question.id, answer.id, text="the answer",
                              steps=[{"type": "function_call", "arguments": _nested(5_000)}])
    assert done.answer.text == "the answer"
    assert done.answer.steps[0]["type"] == "function_call"
