"""An answer's steps and web sources as the app keeps and shows them: the web-sources record
in ``Message.steps`` (core.web_sources), the Steps list's lines, the live line under an
answer in progress, numbered web sources (presentation.steps) and the Markdown export."""

from __future__ import annotations

import json
from pathlib import Path

from jockey_desktop.core.api import Step, WebSource
from jockey_desktop.core.storage import open_repository
from jockey_desktop.core.storage.export import export_markdown
from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.web_sources import record_web_sources, split_web_sources, web_url
from jockey_desktop.presentation.status import StatusKind, status_line
from jockey_desktop.presentation.steps import (
    PREVIEW_LINES,
    live_activity,
    step_count,
    step_lines,
    steps_heading,
    web_source_lines,
)

ARGS = json.dumps({"query": "hunting", "item_ids": ["ksi_1", "ksi_2"], "limit": 4})
OUTPUT = json.dumps({"results": [{"item_id": f"ksi_{n}", "title": f"Video {n}"}
                                 for n in range(8)]})
STEPS = [
    Step("commentary", "msg_0", 0, "completed", text="Looking for scenes with hunting."),
    Step("function_call", "fc_1", 1, "completed", name="search_knowledge_store",
         call_id="c1", arguments=ARGS, item_type="function_call"),
    Step("function_call_output", "fco_2", 2, "completed", call_id="c1", output=OUTPUT,
         item_type="function_call_output"),
    Step("web_search", "ws_3", 3, "completed", queries=("wolf packs", "wolf hunting"),
         item_type="jockey:web_search"),
    Step("other", "x_4", 4, "completed", item_type="jockey:future_thing"),
]
SOURCES = [WebSource("https://example.org/a", "Wolves: an overview", 10, 13),
           WebSource("https://www.example.com/b", None, None, None)]


def stored() -> list[dict[str, object]]:
    return record_web_sources([s.to_dict() for s in STEPS], [w.to_dict() for w in SOURCES])


def test_web_sources_ride_with_the_steps_and_come_apart_again() -> None:
    steps, sources = split_web_sources(json.loads(json.dumps(stored())))
    assert [Step.from_dict(s) for s in steps] == STEPS
    assert [WebSource.from_dict(s) for s in sources] == SOURCES
    assert step_count(stored()) == len(STEPS)
    # Recording again replaces the old record instead of adding a second one.
    again = record_web_sources(stored(), [SOURCES[0].to_dict()])
    assert len(split_web_sources(again)[1]) == 1 and step_count(again) == len(STEPS)
    assert record_web_sources([], []) == []


def test_only_http_and_https_pages_are_ever_kept() -> None:
    hostile = [{"kind": "web_sources", "sources": [
        {"url": "javascript:alert(1)"}, {"url": "file:///etc/passwd"}, {"url": "https://"},
        {"url": 42}, "not a dict", {"url": " https://ok.example/x ", "title": "  "}]}]
    assert split_web_sources(hostile)[1] == [
        {"url": "https://ok.example/x", "title": None, "marker_start": None, "marker_end": None}]
    assert web_url("HTTP://Example.org") == "HTTP://Example.org"
    assert web_url("http://[::1") is None  # unparsable, never a crash


def test_the_steps_list_reads_each_kind() -> None:
    lines = step_lines(stored())
    assert [line.kind for line in lines] == ["commentary", "function_call",
                                             "function_call_output", "web_search", "other"]
    commentary, call, output, search, other = lines
    assert commentary.title == "Looking for scenes with hunting." and not commentary.body
    assert call.title == "Tool call · search_knowledge_store"
    assert call.body == json.dumps(json.loads(ARGS), indent=2)  # pretty arguments
    assert not call.truncated and call.preview == call.body
    assert output.title == "Tool output" and output.truncated
    assert output.preview.count("\n") == PREVIEW_LINES - 1 and output.preview.endswith("…")
    assert '"title": "Video 7"' in output.body and "Video 7" not in output.preview
    assert search.body == "“wolf packs”\n“wolf hunting”"
    assert other.title == "jockey:future_thing"
    assert steps_heading(5, False) == "▸ Steps (5)" and steps_heading(5, True) == "▾ Steps (5)"


def test_raw_api_items_from_an_imported_file_read_the_same() -> None:
    raw = [{"type": "message", "phase": "commentary",
            "content": [{"type": "output_text", "text": "Narration"}]},
           {"type": "function_call", "name": "f", "arguments": "not json"},
           {"type": "jockey:web_search", "status": "in_progress",
            "action": {"queries": ["q"]}}]
    lines = step_lines(raw)
    assert [(line.kind, line.title) for line in lines] == [
        ("commentary", "Narration"), ("function_call", "Tool call · f"),
        ("web_search", "Web search")]
    assert lines[1].body == "not json" and lines[2].running


def test_the_live_line_says_what_the_agent_is_doing() -> None:
    assert live_activity([]) is None
    narrated = [STEPS[0].to_dict(), STEPS[1].to_dict()]
    assert live_activity(narrated) == "Looking for scenes with hunting."
    searching = [*narrated, {"kind": "web_search", "status": "in_progress",
                             "queries": ["wolf packs"]}]
    assert live_activity(searching) == "Searching the web for “wolf packs”"
    long = [{"kind": "commentary", "text": "word " * 100}]
    assert len(live_activity(long) or "") <= 160

    answer = Message(1, "u", 1, Role.ASSISTANT, "", MessageStatus.STREAMING, 100.0, 100.0,
                     steps=narrated)
    line = status_line(answer, 112.0)
    assert line.kind is StatusKind.BUSY
    assert line.text == "Looking for scenes with hunting. · 12 s"
    answer.steps = []
    assert status_line(answer, 112.0).text == "Thinking · 12 s"
    answer.text, answer.steps = "The answer begins", narrated
    assert status_line(answer, 112.0).text == "Answering · 12 s"


def test_commentary_reads_without_its_markdown_marks() -> None:
    # The sandbox (and the API) narrate in Markdown; the live line and the Steps list
    # show plain text, so "**Product keynotes**" showed its asterisks.
    narrated = [{"kind": "commentary",
                 "text": "I'll group the moments in **Product keynotes** by _topic_."}]
    assert live_activity(narrated) == "I'll group the moments in Product keynotes by topic."
    assert step_lines(narrated)[0].title == "I'll group the moments in Product keynotes by topic."
    assert live_activity([{"kind": "commentary", "text": "Reading ks_019f_abc"}]) == \
        "Reading ks_019f_abc"  # an id's underscores are not emphasis


def test_web_sources_are_numbered_as_their_markers_read() -> None:
    text = "Wolves hunt [3] in packs [4]."
    marked = record_web_sources([], [
        {"url": "https://example.org/a", "title": "Packs", "marker_start": 25,
         "marker_end": 28},
        {"url": "https://www.example.com/b", "title": None, "marker_start": None,
         "marker_end": None}])
    lines = web_source_lines(marked, text)
    assert [(line.number, line.label, line.url) for line in lines] == [
        (4, "Packs · example.org", "https://example.org/a"),
        (5, "https://www.example.com/b", "https://www.example.com/b")]


def test_the_markdown_export_lists_the_apps_own_step_records(tmp_path: Path) -> None:
    repo = open_repository(tmp_path / "db.sqlite3", tmp_path / "backups")
    try:
        conversation = repo.create_conversation("ks_1", "Store")
        question, answer = repo.start_turn(conversation.id, "How? {{sel:0}}",
                                           selections=[{"kind": "item", "id": "ksi_1",
                                                        "name": "Fox"}])
        repo.complete_turn(question.id, answer.id, text="Packs [1].", steps=stored())
        text = export_markdown(repo, [conversation.id])
    finally:
        repo.close()
    assert "How? Fox" in text and "{{sel:" not in text
    steps = text[text.index("**Steps**"):]
    assert "1. Looking for scenes with hunting.\n" in steps
    assert "2. Tool call: search_knowledge_store(" in steps
    assert "3. Tool output: " in steps
    assert "4. Web search: wolf packs; wolf hunting\n" in steps
    assert "5. jockey:future_thing\n" in steps and "6." not in steps
    web = text[text.index("**From the web**"):]
    assert "1. Wolves: an overview — <https://example.org/a>" in web
    assert "2. https://www.example.com/b — <https://www.example.com/b>" in web
