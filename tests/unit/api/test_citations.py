"""The three citation conventions of jockey-api.md §3.4, and Citation <-> storage dicts."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.core.api import Citation, Response, WebSource
from jockey_desktop.core.api.citations import (
    citations_for_part,
    parse_inline_citations,
    parse_timestamp,
    resolve_asset_ids,
    utf16_offset,
)
from jockey_desktop.core.storage.models import CITATION_KEYS

ITEM = "ksi_069e9870-3c4d-7abc-9012-3456789abcde"


def sdk_example_text() -> str:
    tail = "…restrained by a teammate "
    return "x" * (211 - len(tail)) + tail + "[1]."


def test_sdk_example_inclusive_end() -> None:
    text = sdk_example_text()
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [
            {"type": "video_citation", "start_index": 211, "end_index": 213,
             "item_id": ITEM, "start_sec": 0.0, "end_sec": 9.0, "title": "Match 1",
             "thumbnail_url": None, "hls_url": "https://h/x.m3u8"}
        ],
    }
    [c] = citations_for_part(part)
    assert text[c.marker_start : c.marker_end] == "[1]"
    assert (c.marker_start, c.marker_end) == (211, 214)
    assert (c.item_id, c.start_sec, c.end_sec, c.title) == (ITEM, 0.0, 9.0, "Match 1")
    assert c.hls_url == "https://h/x.m3u8" and c.thumbnail_url is None
    assert c.kind == "video_citation"


def test_non_bmp_emoji_offsets_are_code_points() -> None:
    text = "🎬 Goal [1] and 🎉🎉 save [2]"
    anns = [
        {"type": "video_citation", "start_index": 7, "end_index": 9, "item_id": ITEM},
        {"type": "video_citation", "start_index": 23, "end_index": 25, "item_id": ITEM,
         "start_sec": 5, "end_sec": 8},
    ]
    c1, c2 = citations_for_part({"text": text, "annotations": anns})
    assert text[c1.marker_start : c1.marker_end] == "[1]"
    assert text[c2.marker_start : c2.marker_end] == "[2]"
    assert c1.start_sec is None and c1.end_sec is None  # whole video
    # Qt positions count UTF-16 units: each emoji before the marker adds one.
    assert utf16_offset(text, c1.marker_start) == 8
    assert utf16_offset(text, c2.marker_start) == 26


def test_unknown_annotation_type_skipped_and_bad_offsets_give_no_span() -> None:
    text = "A [1] B [2] C [3]"
    anns = [
        {"type": "audio_citation", "start_index": 2, "end_index": 4},
        {"type": "image_citation", "start_index": 8, "end_index": 10, "item_id": ITEM},
        {"type": "collection_citation", "start_index": 14, "end_index": 99,
         "collection_id": "ksic_1"},
        "not a dict",
    ]
    cits = citations_for_part({"text": text, "annotations": anns})
    assert [c.kind for c in cits] == ["image_citation", "collection_citation"]
    assert cits[0].span == (8, 11)
    assert cits[1].span is None and cits[1].collection_id == "ksic_1"


def test_annotations_win_over_text_conventions() -> None:
    text = "See [1] and [00:10-00:20]."
    anns = [{"type": "video_citation", "start_index": 4, "end_index": 6, "item_id": ITEM}]
    cits = citations_for_part({"text": text, "annotations": anns})
    assert len(cits) == 1 and cits[0].kind == "video_citation"


@pytest.mark.parametrize(
    ("marker", "start", "end"),
    [
        ("[00:00-00:09]", 0.0, 9.0),
        ("[01:05–02:10]", 65.0, 130.0),
        ("[1:02:03-1:02:30]", 3723.0, 3750.0),
        ("[0:01:00 – 0:01:30]", 60.0, 90.0),
    ],
)
def test_inline_time_ranges(marker: str, start: float, end: float) -> None:
    text = f"…restrained by a teammate {marker}."
    [c] = citations_for_part({"text": text, "annotations": []})
    assert c.kind == "inline_time" and c.item_id is None
    assert text[c.marker_start : c.marker_end] == marker
    assert (c.start_sec, c.end_sec) == (start, end)


def test_missing_annotations_key_counts_as_empty() -> None:
    [c] = citations_for_part({"text": "x [00:01-00:02]"})
    assert c.kind == "inline_time"


@pytest.mark.parametrize(
    "tag",
    [
        f'<vref id="{ITEM}" start="00:12" end="00:30"/>',
        f"<vref id='{ITEM}' start='00:12' end='00:30'></vref>",
        f'<vref start="00:12" id="{ITEM[4:]}" end="00:30" />',
        f'<vref id="{ITEM[4:]}" start="00:12" end="00:30">the tackle</vref>',
    ],
)
def test_vref_tags(tag: str) -> None:
    text = f"Look at {tag} closely."
    [c] = parse_inline_citations(text)
    assert c.kind == "vref"
    assert c.item_id == ITEM  # the ksi_ prefix is restored
    assert (c.start_sec, c.end_sec) == (12.0, 30.0)
    assert text[c.marker_start : c.marker_end] == tag


def test_vref_without_id_stays_literal() -> None:
    assert parse_inline_citations('<vref start="00:01" end="00:02"/>') == []


def test_bare_asset_id_with_range_and_resolution() -> None:
    text = "In 6a074cc69bcc9263a999d3a8 (01:00–01:15) the keeper dives; [00:05-00:06]."
    cits = parse_inline_citations(text, offset=100)
    assert [c.kind for c in cits] == ["vref", "inline_time"]
    asset = cits[0]
    assert asset.item_id == "6a074cc69bcc9263a999d3a8"
    assert (asset.start_sec, asset.end_sec) == (60.0, 75.0)
    assert text[asset.marker_start - 100 : asset.marker_end - 100] == (
        "6a074cc69bcc9263a999d3a8 (01:00–01:15)"
    )
    resolved = resolve_asset_ids(cits, {"6a074cc69bcc9263a999d3a8": ITEM})
    assert resolved[0].item_id == ITEM and resolved[1] == cits[1]


def test_plain_text_has_no_citations() -> None:
    assert parse_inline_citations("Scores were [1] 3:2 and 10:00 - 11:00 roughly.") == []


def test_citation_dict_round_trip_uses_storage_keys() -> None:
    c = Citation("video_citation", 3, 6, ITEM, None, 1.5, 9.0, "T", None, "h")
    d = c.to_dict()
    assert tuple(d) == CITATION_KEYS
    assert Citation.from_dict(d) == c
    # tolerant of extra and missing keys
    assert Citation.from_dict({"kind": "vref", "item_id": ITEM, "extra": 1}).item_id == ITEM


def test_timestamp_helpers() -> None:
    assert parse_timestamp("1:02:05") == 3725.0
    assert parse_timestamp("00:09.5") == 9.5
    assert parse_timestamp("x") is None


def test_response_offsets_span_several_final_parts_and_skip_commentary() -> None:
    data = {
        "id": "resp_1", "status": "completed", "session_id": "sess_1",
        "output": [
            {"type": "message", "phase": "commentary",
             "content": [{"type": "output_text", "text": "Searching [00:01-00:02]"}]},
            {"type": "function_call", "name": "search", "arguments": "{}"},
            {"type": "message",
             "content": [{"type": "output_text", "text": "First [1]. ",
                          "annotations": [{"type": "video_citation", "start_index": 6,
                                           "end_index": 8, "item_id": ITEM}]},
                         {"type": "output_text", "text": "Second [2].",
                          "annotations": [{"type": "video_citation", "start_index": 7,
                                           "end_index": 9, "item_id": ITEM}]}]},
            {"type": "message", "phase": "future_phase",
             "content": [{"type": "output_text", "text": "ignored"}]},
        ],
    }
    r = Response.from_json(data)
    assert r.text == "First [1]. Second [2]."
    assert [r.text[c.marker_start : c.marker_end] for c in r.citations] == ["[1]", "[2]"]
    assert r.commentary == ("Searching [00:01-00:02]", "ignored")
    assert [s.kind for s in r.steps] == ["commentary", "function_call", "commentary"]


# --- web sources -------------------------------------------------------------------------


def _answer_with(annotations: list[dict[str, Any]], text: str = "Per the rules [1] and [2].",
                 phase: str = "final_answer") -> Response:
    return Response.from_json({
        "id": "resp_1", "status": "completed",
        "output": [{"type": "message", "phase": phase,
                    "content": [{"type": "output_text", "text": text,
                                 "annotations": annotations}]}],
    })


def test_an_annotation_with_an_http_url_is_a_web_source_whatever_its_type() -> None:
    response = _answer_with([
        {"type": "url_citation", "url": "https://example.org/rules", "title": "Rules",
         "start_index": 14, "end_index": 16},
        {"type": "web_citation", "url": "http://news.example.com/a?b=c",
         "start_index": 22, "end_index": 24},
    ])
    assert [(w.url, w.title) for w in response.web_sources] == [
        ("https://example.org/rules", "Rules"), ("http://news.example.com/a?b=c", None)]
    assert [response.text[w.marker_start : w.marker_end] for w in response.web_sources
            if w.marker_start is not None and w.marker_end is not None] == ["[1]", "[2]"]
    assert response.citations == [], "a web page is not a video citation"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "ftp://example.org/x", "https://", "", 42,
     None, "data:text/html,<b>x</b>"],
)
def test_only_http_and_https_urls_are_kept(url: Any) -> None:
    response = _answer_with([{"type": "url_citation", "url": url, "start_index": 14,
                              "end_index": 16}])
    assert response.web_sources == ()


def test_web_source_offsets_outside_the_text_keep_the_source_without_a_marker() -> None:
    (source,) = _answer_with([{"type": "url_citation", "url": "https://example.org",
                               "start_index": 90, "end_index": 99}]).web_sources
    assert (source.marker_start, source.marker_end) == (None, None)


def test_web_annotations_on_narration_are_not_sources_of_the_answer() -> None:
    response = _answer_with([{"type": "url_citation", "url": "https://example.org",
                              "start_index": 14, "end_index": 16}], phase="commentary")
    assert response.web_sources == ()


def test_web_source_dict_round_trip_and_refusal() -> None:
    source = WebSource("https://example.org/a", "A", 3, 6)
    assert WebSource.from_dict(source.to_dict()) == source
    assert WebSource.from_dict({"url": "javascript:void(0)"}) is None
