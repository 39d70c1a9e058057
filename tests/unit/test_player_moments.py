"""An answer's moments as the player steps through them: playable citations only, in marker
order, each range once; the sentence each marker belongs to; stepping; transcript lookup; the
export records."""

from __future__ import annotations

from typing import Any

from jockey_desktop.core.moments_export import SourceFacts
from jockey_desktop.core.storage.models import Role
from jockey_desktop.presentation.moments import (
    answer_moments,
    citation_sentence,
    conversation_moments,
    export_moments_of,
    exported_text,
    moment_of,
    moments_in_video,
    position_text,
    sentence_at,
    step,
)
from tests.helpers.records import answer_with_citations, make_message


def _cite(text: str, marker: str, item: str | None, start: float | None, end: float | None,
          kind: str = "video_citation", title: str = "Video", nth: int = 0) -> dict[str, Any]:
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(marker, pos + 1)
    return {"kind": kind, "marker_start": pos, "marker_end": pos + len(marker),
            "item_id": item, "collection_id": None, "start_sec": start, "end_sec": end,
            "title": title, "thumbnail_url": None, "hls_url": None}


def test_moments_are_playable_citations_in_marker_order_each_once() -> None:
    text = ("The drone **takes off** over the river [2]. A heron lands [1]! "
            "The same take-off [2], a photo [3] and a whole film [4]; no time [5].")
    citations = [
        _cite(text, "[1]", "ksi_b", 30, 42, title="Heron"),
        _cite(text, "[2]", "ksi_a", 10, 20.5, title="Drone"),
        _cite(text, "[2]", "ksi_a", 10, 20.5, title="Drone", nth=1),
        _cite(text, "[3]", "ksi_c", None, None, kind="image_citation"),
        _cite(text, "[4]", "ksi_d", None, None, title="Film"),
        _cite(text, "[5]", None, 5, 6, kind="inline_time"),
    ]
    message = make_message(2, Role.ASSISTANT, text, citations=citations)
    moments = answer_moments(message)
    assert [(m.item_id, m.start, m.end) for m in moments] == [
        ("ksi_a", 10.0, 20.5), ("ksi_b", 30.0, 42.0), ("ksi_d", 0.0, None)]
    assert [m.index for m in moments] == [0, 1, 2]
    assert moments[0].sentence == "The drone takes off over the river."
    assert moments[1].sentence == "A heron lands!"
    assert moments[0].label == "Drone · 00:10–00:20"
    assert moments[2].range_text == "Whole video"
    assert moment_of(moments, citations[2]) == 0  # the second [2] is the same moment
    assert moment_of(moments, citations[3]) is None
    assert [m.index for m in moments_in_video(moments, "ksi_a")] == [0]


def test_stepping_stops_at_both_ends() -> None:
    moments = answer_moments(answer_with_citations(2))
    assert len(moments) == 2  # [1] cited twice
    assert step(moments, 0, 1) == 1 and step(moments, 1, -1) == 0
    assert step(moments, 1, 1) is None and step(moments, 0, -1) is None
    assert step(moments, None, 1) is None and step([], 0, 1) is None


def test_a_sentence_is_found_around_its_marker() -> None:
    text = "First point.\n\n- A bullet about `code` [1]\n- Another [2]. Then more."
    first = text.index("[1]")
    assert citation_sentence(text, first, first + 3) == "A bullet about code"
    second = text.index("[2]")
    assert citation_sentence(text, second, second + 3) == "Another."
    assert citation_sentence(text, 999, 1002) == "" and citation_sentence(text, None, 3) == ""
    long = "word " * 100 + "[1]."
    assert len(citation_sentence(long, long.index("[1]"), len(long) - 1)) == 280


def test_transcript_lookup_and_copied_position() -> None:
    starts = [0.0, 4.5, 9.0, 15.0]
    assert sentence_at(starts, 0.0) == 0 and sentence_at(starts, 4.49) == 0
    assert sentence_at(starts, 9.0) == 2 and sentence_at(starts, 400.0) == 3
    assert sentence_at([2.0], 1.0) is None
    assert position_text("Drone", 83.9) == "Drone 01:23"
    assert position_text("Drone", 3723) == "Drone 1:02:03"


def test_export_records_carry_ranges_sentences_and_known_rates() -> None:
    answer = answer_with_citations(2)
    answer.citations[0]["hls_url"] = "https://cdn.example/v.m3u8?sig=secret"
    moments = answer_moments(answer)
    records = export_moments_of(moments, {"a": SourceFacts(25.0, "intro.mov", 600.0)})
    assert [(r.video_title, r.item_id, r.start_sec, r.end_sec, r.fps) for r in records] == [
        ("Intro to ML", "a", 83.0, 105.0, 25.0), ("Lecture 4", "b", 3723.0, 3800.0, None)]
    assert [(r.file_name, r.duration_sec) for r in records] == [("intro.mov", 600.0),
                                                                 (None, None)]
    assert records[0].text == "It is shown early and again later, then once more."
    assert all(r.media_url is None for r in records)  # no signed address in a shared file


def test_a_conversation_gathers_every_answers_moments_once() -> None:
    first = answer_with_citations(2)
    second = answer_with_citations(4)
    second.citations[1]["start_sec"] = 10
    moments = conversation_moments([make_message(1), first, second])
    assert [(m.item_id, m.start) for m in moments] == [("a", 83.0), ("b", 3723.0),
                                                       ("b", 10.0)]
    assert [m.index for m in moments] == [0, 1, 2]


def test_a_start_without_an_end_plays_on_from_the_start() -> None:
    text = "From here on [1], and the whole film [2]."
    citations = [_cite(text, "[1]", "ksi_a", 75, None), _cite(text, "[2]", "ksi_b", None, None)]
    moments = answer_moments(make_message(2, Role.ASSISTANT, text, citations=citations))
    assert [(m.start, m.end, m.range_text) for m in moments] == [
        (75.0, None, "From 01:15"), (0.0, None, "Whole video")]
    assert moment_of(moments, citations[0]) == 0
    assert export_moments_of(moments) == []  # no range to cut


def test_the_first_chip_that_plays_is_the_one_enter_plays() -> None:
    """Enter on an answer plays the first entry of its "Play cited moment" menu: chips in
    order of first appearance, skipping those that are no video (an image, a web page)."""
    from jockey_desktop.presentation.moments import first_playable_chip

    image = {"item_id": "img", "kind": "image_citation", "title": "Poster"}
    video = {"item_id": "v", "kind": "vref", "title": "Talk", "start_sec": 5, "end_sec": 9}
    other = {"item_id": "w", "kind": "vref", "title": "Demo", "start_sec": 1, "end_sec": 2}
    assert first_playable_chip([image, video, other, video]) == 1
    assert first_playable_chip([other, video]) == 0
    assert first_playable_chip([image, {"title": "A web page"}]) is None
    assert first_playable_chip([]) is None


def test_the_export_sentence_counts_what_was_left_out_and_names_guessed_rates() -> None:
    assert exported_text("/x/cut.edl", 1, 0, []) == "1 moment exported to /x/cut.edl."
    assert exported_text("/x/cut.edl", 3, 2, ["Ocean", "Forest", "City", "Desert"]) == (
        "3 moments exported to /x/cut.edl. 2 citations with no end time left out (nothing to "
        "cut). Frame rate not known for Ocean, Forest, City … (the server could not be "
        "asked): timed at 30 fps, so their timecodes may be off; export again when connected.")
