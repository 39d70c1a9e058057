"""Markdown and JSON export, JSON import, atomic export files."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jockey_desktop import __version__
from jockey_desktop.core.storage import ImportFormatError, MessageStatus, Repository, Role
from jockey_desktop.core.storage.export import (
    EXPORT_FORMAT_VERSION,
    ImportResult,
    export_json,
    export_markdown,
    format_citation,
    import_json,
    local_time_text,
    write_file_atomically,
)


def _cite(title: str | None, start: float | None, end: float | None) -> dict:
    return {"kind": "inline_time", "item_id": "item-7", "title": title, "start_sec": start,
            "end_sec": end}


@pytest.fixture
def conversation_id(repo: Repository) -> int:
    conv = repo.create_conversation("store-9", "Match archive", instructions="cite times")
    repo.set_pinned(conv.id, True)
    repo.set_draft(conv.id, "unsent follow-up")
    q = repo.add_user_message(conv.id, "When is the goal?")
    a = repo.start_assistant_message(conv.id, q.id)
    repo.set_session_id(conv.id, "sess-old")
    repo.finish_message(
        a.id, text="At 01:23 and later.", status=MessageStatus.COMPLETE,
        citations=[_cite("Final", 83, 105), _cite("Final", 83, 105), _cite("Highlights", None,
                                                                           None),
                   _cite("Long match", 3723, 3800.5)],
        input_tokens=120, output_tokens=30, response_id="resp-1", session_id="sess-old",
    )
    repo.add_session_seam(conv.id, "sess-old", "The session expired; continued with a recap.")
    q2 = repo.add_user_message(conv.id, "And the second half?")
    a2 = repo.start_assistant_message(conv.id, q2.id)
    repo.set_session_id(conv.id, "sess-new")
    repo.fail_message(a2.id, status=MessageStatus.FAILED, error_code="rate_limited",
                      error_message="Too many requests.", text="partial", retry_at=RETRY_AT)
    repo.set_web_search(conv.id, True)
    q3, a3 = repo.start_turn(conv.id, "Compare {{sel:0}} with {{sel:1}}.",
                             selections=SELECTIONS)
    repo.complete_turn(q3.id, a3.id, text="Both show **late** goals.", steps=STEPS)
    return conv.id


RETRY_AT = 1_767_225_630.5
SELECTIONS = [{"kind": "item", "id": "ksi_7", "name": "Final"},
              {"kind": "collection", "id": "ksic_2", "name": "Derbies"}]
#: Steps as the API's output items (storage keeps them as given).
STEPS = [
    {"type": "message", "phase": "commentary",
     "content": [{"type": "output_text", "text": "Looking at both videos"}]},
    {"type": "function_call", "name": "search_videos", "call_id": "c1",
     "arguments": '{"query": "late goal"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "3 scenes " + "x" * 400},
    {"type": "jockey:web_search", "id": "ws_1", "action": {"queries": ["derby late goals"]}},
    {"type": "some_future_item", "id": "f_1"},
]


def test_timestamps_and_citations() -> None:
    assert format_citation(_cite("Final", 83, 105)) == "Final 01:23–01:45"
    assert format_citation(_cite("Whole", None, None)) == "Whole"
    assert format_citation(_cite("Start only", 5, None)) == "Start only 00:05"
    assert format_citation(_cite(None, 1, 2)) == "item-7 00:01–00:02"


def test_export_times_are_local_with_their_offset() -> None:
    paris = ZoneInfo("Europe/Paris")
    summer = datetime(2026, 6, 2, 9, 20, tzinfo=UTC).timestamp()
    winter = datetime(2026, 1, 2, 9, 20, tzinfo=UTC).timestamp()
    # Each moment gets the offset of its own season, not today's.
    assert local_time_text(summer, paris) == "2026-06-02 11:20 +02:00"
    assert local_time_text(winter, paris) == "2026-01-02 10:20 +01:00"
    assert local_time_text(summer, ZoneInfo("Asia/Kolkata")) == "2026-06-02 14:50 +05:30"
    assert local_time_text(summer, ZoneInfo("America/St_Johns")) == "2026-06-02 06:50 -02:30"


def test_markdown(repo: Repository, conversation_id: int) -> None:
    text = export_markdown(repo, [conversation_id, 999])
    assert text.startswith("# When is the goal?\n")
    assert "Match archive (`store-9`)" in text
    assert "## You" in text and "## Jockey" in text
    # Numbered (no markers here: in order, one number per moment, duplicates collapse).
    assert text.count("Final 01:23–01:45") == 1
    assert "1. Final 01:23–01:45\n2. Highlights\n3. Long match 1:02:03–1:03:20\n" in text
    assert "New session: The session expired" in text
    assert "(failed)" in text and "> Too many requests." in text
    # A question shows the names of what it asked about, never the placeholders.
    assert "Compare Final with Derbies." in text and "{{sel:" not in text
    assert "*Asked about: Final (item), Derbies (collection)*" in text
    steps = text[text.index("**Steps**"):]
    assert "1. Looking at both videos\n" in steps
    assert '2. Tool call: search_videos({"query": "late goal"})\n' in steps
    assert "3. Tool output: 3 scenes xxx" in steps and "x" * 400 not in steps
    assert "4. Web search: derby late goals\n" in steps
    assert "5. some_future_item" in steps


def test_markdown_never_says_not_answered_above_an_answer(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S", title="t")
    _question, answer = repo.start_turn(conv.id, "Still going?")
    repo.flush_partial_text(answer.id, "Half of the ans")
    text = export_markdown(repo, [conv.id])
    assert "(not answered)" not in text and "(incomplete)" in text
    lonely = repo.create_conversation("s", "S", title="u")
    repo.add_user_message(lonely.id, "Anyone?")
    assert "(not answered)" in export_markdown(repo, [lonely.id])


def test_json_has_every_field(repo: Repository, conversation_id: int) -> None:
    data = export_json(repo, [conversation_id])
    json.dumps(data, allow_nan=False)  # strict JSON
    assert data["format_version"] == EXPORT_FORMAT_VERSION and data["app_version"] == __version__
    (conv,) = data["conversations"]
    assert (conv["store_id"], conv["store_name"], conv["session_id"], conv["pinned"],
            conv["draft"], conv["instructions"]) == ("store-9", "Match archive", "sess-new",
                                                     True, "unsent follow-up", "cite times")
    roles = [m["role"] for m in conv["messages"]]
    assert roles == ["user", "assistant", "seam", "user", "assistant", "user", "assistant"]
    answer, seam, failed = conv["messages"][1], conv["messages"][2], conv["messages"][4]
    asked, stepped = conv["messages"][5], conv["messages"][6]
    assert conv["web_search"] is True
    assert conv["origin_conversation_uid"] is None and conv["origin_message_uid"] is None
    assert asked["selections"] == SELECTIONS and stepped["steps"] == STEPS
    assert failed["retry_at"] == RETRY_AT and answer["retry_at"] is None
    assert answer["reply_to_uid"] == conv["messages"][0]["uid"]
    assert (answer["input_tokens"], answer["output_tokens"], answer["response_id"],
            answer["session_id"]) == (120, 30, "resp-1", "sess-old")
    assert answer["citations"][0]["start_sec"] == 83 and len(answer["citations"]) == 4
    assert (seam["old_session_id"], seam["session_id"]) == ("sess-old", "sess-new")
    assert (failed["status"], failed["error_code"]) == ("failed", "rate_limited")


def _comparable(data: dict) -> list[dict]:
    """The conversations, with in-flight statuses as import stores them (interrupted)."""
    conversations = json.loads(json.dumps(data["conversations"]))
    for conv in conversations:
        for message in conv["messages"]:
            if message["status"] in ("pending", "streaming"):
                message["status"] = "interrupted"
    return conversations


def test_round_trip_and_no_duplicates(
    repo: Repository, conversation_id: int, tmp_path: Path
) -> None:
    from jockey_desktop.core.storage import open_repository

    data = export_json(repo, [conversation_id])
    path = write_file_atomically(tmp_path / "out" / "export.json", data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text("utf-8")

    other = open_repository(tmp_path / "other.sqlite3", tmp_path / "other-backups")
    try:
        assert import_json(other, text) == ImportResult(imported=1, skipped=0)
        assert import_json(other, json.loads(text)) == ImportResult(imported=0, skipped=1)
        assert other.count_conversations() == 1
        new_id = other.list_conversations()[0].conversation.id
        again = export_json(other, [new_id])
        assert _comparable(again) == _comparable(data)
        messages = other.list_messages(new_id)
        assert messages[1].reply_to == messages[0].id
        assert messages[2].role is Role.SEAM
        assert other.search("recap") == [] and other.search("second half")
    finally:
        other.close()
    # Importing into the source itself: same uid, skipped.
    assert import_json(repo, data) == ImportResult(imported=0, skipped=1)


def test_a_fork_links_back_after_import_when_its_origin_comes_too(
    repo: Repository, conversation_id: int, tmp_path: Path
) -> None:
    from jockey_desktop.core.storage import open_repository

    origin_message = repo.list_messages(conversation_id)[1]
    fork = repo.create_conversation("store-9", "Match archive",
                                    origin_message_id=origin_message.id)
    assert fork.origin_conversation_id == conversation_id
    data = export_json(repo, [fork.id, conversation_id])  # the fork first in the file
    fork_record = data["conversations"][0]
    assert fork_record["origin_message_uid"] == origin_message.uid
    other = open_repository(tmp_path / "other.sqlite3", tmp_path / "other-backups")
    try:
        alone = {**data, "conversations": [fork_record]}
        assert import_json(other, alone).imported == 1
        linked = other.get_conversation_by_uid(fork.uid)
        assert linked is not None and linked.origin_conversation_id is None  # origin absent
        other.delete_conversation(linked.id)
        assert import_json(other, data) == ImportResult(imported=2, skipped=0)
        origin = other.get_conversation_by_uid(data["conversations"][1]["uid"])
        linked = other.get_conversation_by_uid(fork.uid)
        assert origin is not None and linked is not None
        assert linked.origin_conversation_id == origin.id
        origin_row = other.get_message(linked.origin_message_id or 0)
        assert origin_row is not None and origin_row.uid == origin_message.uid
    finally:
        other.close()


def test_version_1_exports_still_import(repo: Repository, conversation_id: int) -> None:
    data = export_json(repo, [conversation_id])
    data["format_version"] = 1
    conv = data["conversations"][0]
    conv["uid"] = "from-v1"
    for key in ("web_search", "origin_conversation_uid", "origin_message_uid"):
        del conv[key]
    for message in conv["messages"]:
        for key in ("retry_at", "selections", "steps"):
            del message[key]
    assert import_json(repo, data).imported == 1
    imported = repo.get_conversation_by_uid("from-v1")
    assert imported is not None and not imported.web_search
    assert all(m.steps == [] and m.selections == [] for m in repo.list_messages(imported.id))


def test_deeply_nested_json_is_a_format_error(repo: Repository) -> None:
    deep = '{"format": "jockey-desktop-conversations", "format_version": 1, ' \
           '"conversations": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    with pytest.raises(ImportFormatError, match="nested too deeply"):
        import_json(repo, deep)
    nested: object = {}
    for _ in range(5_000):
        nested = {"x": nested}
    record = {"uid": "u", "store_id": "s", "messages": [
        {"uid": "m", "role": "assistant", "status": "complete", "steps": [nested]}]}
    document = {"format": "jockey-desktop-conversations", "format_version": 2,
                "conversations": [record]}
    assert import_json(repo, document).imported == 1  # the steps are cut, the rest kept
    assert repo.count_conversations() == 1


def test_import_normalises_in_flight_statuses(repo: Repository, conversation_id: int) -> None:
    data = export_json(repo, [conversation_id])
    conv = data["conversations"][0]
    conv["uid"] = "another-uid"
    conv["messages"][1]["status"] = "streaming"
    conv["messages"][0]["text"] = "bad \ud800 text"
    assert import_json(repo, data).imported == 1
    imported = repo.get_conversation_by_uid("another-uid")
    assert imported is not None
    messages = repo.list_messages(imported.id)
    assert messages[1].status is MessageStatus.INTERRUPTED
    assert messages[0].text == "bad \ufffd text"
    # Message uids collided with the originals: fresh ones were given.
    originals = {m.uid for m in repo.list_messages(conversation_id)}
    assert not originals & {m.uid for m in messages}


@pytest.mark.parametrize("bad", [
    "not json", "[]", {"format": "other"}, {"format": "jockey-desktop-conversations"},
    {"format": "jockey-desktop-conversations", "format_version": 99, "conversations": []},
    {"format": "jockey-desktop-conversations", "format_version": 1, "conversations": [1]},
    {"format": "jockey-desktop-conversations", "format_version": 1,
     "conversations": [{"uid": "u", "store_id": "s", "messages": [{"uid": "m", "role": "x",
                                                                   "status": "complete"}]}]},
    {"format": "jockey-desktop-conversations", "format_version": 1,
     "conversations": [{"uid": "u", "store_id": 5}]},
])
def test_bad_imports_are_refused_without_writing(repo: Repository, bad: object) -> None:
    with pytest.raises(ImportFormatError):
        import_json(repo, bad)  # type: ignore[arg-type]
    assert repo.count_conversations() == 0


def test_an_unreadable_conversation_is_left_out_and_the_others_imported(
    repo: Repository, conversation_id: int, tmp_path: Path
) -> None:
    from jockey_desktop.core.storage import open_repository

    data = export_json(repo, [conversation_id])
    data["conversations"].append({"uid": "damaged", "store_id": 5})  # a hand-edited record
    data["conversations"].append("not a conversation")
    other = open_repository(tmp_path / "other.sqlite3", tmp_path / "other-backups")
    try:
        result = import_json(other, data)
        assert (result.imported, result.skipped, result.unreadable) == (1, 0, 2)
        assert result.problem == "The field 'store_id' has the wrong type."
        assert other.count_conversations() == 1
        assert other.get_conversation_by_uid("damaged") is None
    finally:
        other.close()


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    write_file_atomically(target, "first")
    write_file_atomically(target, "second ✓")
    assert target.read_text("utf-8") == "second ✓"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]  # no temp files left


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_survives_export_and_import(tmp_path: Path, text: str) -> None:
    import uuid

    from jockey_desktop.core.storage import open_repository
    from jockey_desktop.core.storage.sanitize import sanitize_text

    folder = tmp_path / uuid.uuid4().hex
    source = open_repository(folder / "a.sqlite3", folder / "a-backups")
    target = open_repository(folder / "b.sqlite3", folder / "b-backups")
    try:
        conv = source.create_conversation("s", text, title=text)
        q = source.add_user_message(conv.id, text)
        a = source.start_assistant_message(conv.id, q.id)
        source.finish_message(a.id, text=text, status=MessageStatus.COMPLETE,
                              citations=[_cite(text, 1, 2)])
        export_markdown(source, [conv.id])
        document = json.dumps(export_json(source, [conv.id]), ensure_ascii=False)
        assert import_json(target, document.encode("utf-8")).imported == 1
        (summary,) = target.list_conversations()
        expected = sanitize_text(text)
        assert summary.conversation.store_name == expected
        assert [m.text for m in target.list_messages(summary.conversation.id)] == [expected] * 2
    finally:
        source.close()
        target.close()


def test_markdown_sources_are_numbered_as_their_markers(repo: Repository) -> None:
    conv = repo.create_conversation("store-9", "Match archive")
    text = "The save [2] came after the goal [1]; the goal again [1]."
    save, goal, again = text.index("[2]"), text.index("[1]"), text.rindex("[1]")
    citations = [
        dict(_cite("Save", 10, 12), marker_start=save, marker_end=save + 3),
        dict(_cite("Goal", 83, 105), marker_start=goal, marker_end=goal + 3),
        dict(_cite("Goal", 83, 105), marker_start=again, marker_end=again + 3),
    ]
    q, a = repo.start_turn(conv.id, "When?")
    web = {"kind": "web_sources", "sources": [
        {"url": "https://example.org/a", "title": "Match report"}]}
    repo.complete_turn(q.id, a.id, text=text, citations=citations, steps=[web])
    exported = export_markdown(repo, [conv.id])
    sources = exported[exported.index("**Sources**"):]
    # [1] is the goal and [2] the save, as the markers in the text say; the web page, with
    # no marker, takes the next number.
    assert "1. Goal 01:23–01:45\n2. Save 00:10–00:12\n" in sources
    assert "3. Match report — <https://example.org/a>" in sources
    assert "- " not in sources


def test_markdown_lists_every_version_under_its_question(repo: Repository) -> None:
    conv = repo.create_conversation("store-9", "Match archive")
    q1, a1 = repo.start_turn(conv.id, "First?")
    repo.end_turn(q1.id, a1.id, status=MessageStatus.FAILED, error_code="server_error",
                  error_message="The server failed.")
    q2, a2 = repo.start_turn(conv.id, "Second?")
    repo.complete_turn(q2.id, a2.id, text="Two.")
    _q, a1b = repo.restart_turn(q1.id)  # asked again after the later turn
    repo.complete_turn(q1.id, a1b.id, text="One.")
    exported = export_markdown(repo, [conv.id])
    order = [exported.index(s) for s in ("First?", "The server failed.", "One.", "Second?",
                                         "Two.")]
    assert order == sorted(order), "each question is followed by its versions"
    assert exported.count("— version 1 of 2") == 1 and exported.count("— version 2 of 2") == 1
    assert exported.count("## You") == 2
