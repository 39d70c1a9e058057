"""Exports of cited moments: OTIO round trip, EDL and FCP XML source ranges read back with the
adapters and from the text, exact CSV and chapter lines, atomic 0600 files, clear refusals."""

from __future__ import annotations

import csv
import errno
import io
import itertools
import os
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from jockey_desktop.core.moments_export import (
    DEFAULT_FPS,
    Moment,
    MomentFormat,
    export_moments,
    moments_timeline,
    sequence_rate,
    timecode_rate,
    to_chapters,
    to_csv,
    to_edl,
    to_fcp_xml,
    to_otio,
)
from jockey_desktop.core.storage import export as storage_export
from jockey_desktop.core.storage.export import write_failure_text

NTSC = 30000 / 1001
OCEAN = "66f1a2b3c4d5e6f7a8b9c0d1"
FOREST = "66f1a2b3c4d5e6f7a8b9c0d2"

#: Same-rate moments (25 fps), two of one video: what most exports look like.
PAL = [
    Moment("Ocean life", OCEAN, 12.5, 20.25, "A whale surfaces\nnear the boat.", fps=25,
           media_url="http://127.0.0.1:9/media/ocean.m3u8?expires=1&sig=ab"),
    Moment("Forest walk", FOREST, 60.0, 75.0, "Moss on every trunk.", fps=25),
    Moment("Ocean life", OCEAN, 3.0, 4.0, "", fps=25,
           media_url="http://127.0.0.1:9/media/ocean.m3u8?expires=1&sig=ab"),
]

#: Mixed rates: 25 fps, NTSC 29.97 (given as 29.97) and an unknown rate.
MIXED = [
    Moment("Ocean life", OCEAN, 12.5, 20.25, "Whale.", fps=25),
    Moment("Forest walk", FOREST, 60.0, 75.0, "Moss.", fps=29.97),
    Moment("City at night", "city-3", 1.0, 2.0, "Lights.", fps=None),
]


def _frames(seconds: float, rate: float) -> int:
    return round(seconds * rate)


def test_frame_rates_follow_the_video_with_a_documented_default() -> None:
    assert timecode_rate(25) == 25
    assert timecode_rate(29.97) == pytest.approx(NTSC, abs=1e-9)
    assert timecode_rate(None) == DEFAULT_FPS
    assert timecode_rate(15) == DEFAULT_FPS  # no SMPTE timecode at 15 fps
    assert sequence_rate(MIXED) == 25  # each rate once: the first wins
    assert sequence_rate([*MIXED, MIXED[1]]) == pytest.approx(NTSC)


def test_otio_round_trips_with_names_ranges_and_metadata() -> None:
    text = to_otio(PAL, "Answer 3")
    back = otio.adapters.read_from_string(text, "otio_json")
    assert back.name == "Answer 3"
    assert otio.core.serialize_json_to_string(back, indent=2) == text
    clips = list(back.find_clips())
    assert [c.name for c in clips] == ["Ocean life", "Forest walk", "Ocean life"]
    for clip, moment in zip(clips, PAL, strict=True):
        assert clip.source_range.start_time == otio.opentime.RationalTime(
            _frames(moment.start_sec, 25), 25)
        assert clip.source_range.end_time_exclusive() == otio.opentime.RationalTime(
            _frames(moment.end_sec, 25), 25)
        assert clip.metadata["jockey_desktop"]["item_id"] == moment.item_id
        assert clip.metadata["jockey_desktop"]["text"] == moment.text
    assert clips[0].media_reference.target_url == PAL[0].media_url
    assert isinstance(clips[1].media_reference, otio.schema.MissingReference)
    assert [m.name for m in clips[0].markers] == ["A whale surfaces near the boat."]
    assert not clips[2].markers  # no text, no marker


def test_otio_keeps_each_clip_at_its_own_rate() -> None:
    clips = list(moments_timeline(MIXED).find_clips())
    rates = [c.source_range.start_time.rate for c in clips]
    assert rates == [25, pytest.approx(NTSC), DEFAULT_FPS]
    assert clips[1].source_range.start_time.value == _frames(60.0, NTSC)
    assert clips[1].source_range.duration.value == _frames(75.0, NTSC) - _frames(60.0, NTSC)


def test_edl_carries_the_source_ranges() -> None:
    edl = to_edl(PAL)
    events = re.findall(r"^(\d{3})\s+(\S+)\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)$", edl, re.M)
    assert [(e[2], e[3]) for e in events] == [
        ("00:00:12:12", "00:00:20:06"),  # 12.5 s and 20.25 s at 25 fps
        ("00:01:00:00", "00:01:15:00"),
        ("00:00:03:00", "00:00:04:00"),
    ]
    # Record side: the clips back to back from 00:00:00:00.
    assert [(e[4], e[5]) for e in events] == [
        ("00:00:00:00", "00:00:07:19"), ("00:00:07:19", "00:00:22:19"),
        ("00:00:22:19", "00:00:23:19"),
    ]
    # One reel per video, the same for both moments of the ocean video.
    assert events[0][1] == events[2][1] != events[1][1]
    assert "* FROM CLIP NAME:  Ocean life" in edl
    assert edl.startswith("TITLE: Jockey moments")

    back = otio.adapters.read_from_string(edl, "cmx_3600", rate=25)
    clips = list(back.find_clips())
    assert [c.name for c in clips] == ["Ocean life", "Forest walk", "Ocean life"]
    for clip, moment in zip(clips, PAL, strict=True):
        assert clip.source_range.start_time.value == _frames(moment.start_sec, 25)
        assert clip.source_range.end_time_exclusive().value == _frames(moment.end_sec, 25)


def test_edl_of_mixed_rates_uses_one_sequence_rate_and_reads_back() -> None:
    edl = to_edl(MIXED)
    back = otio.adapters.read_from_string(edl, "cmx_3600", rate=25)
    starts = [c.source_range.start_time.to_seconds() for c in back.find_clips()]
    assert starts == [12.48, 60.0, 1.0]  # 12.5 s is frame 312 at 25 fps


def test_edl_keeps_a_multi_line_title_on_one_line() -> None:
    edl = to_edl([Moment("Line one\nLine two", "x1", 0, 1, "a\nb", fps=25)])
    assert "* FROM CLIP NAME:  Line one Line two" in edl
    assert "\nLine two" not in edl


def _clipitems(xml_text: str) -> list[dict[str, object]]:
    root = ET.fromstring(xml_text)
    items: list[dict[str, object]] = []
    for clipitem in root.iter("clipitem"):
        items.append({
            "name": clipitem.findtext("name") or "",
            "in": int(clipitem.findtext("in") or -1),
            "out": int(clipitem.findtext("out") or -1),
            "timebase": int(clipitem.findtext("rate/timebase") or -1),
            "ntsc": clipitem.findtext("rate/ntsc") or "",
        })
    return items


def test_fcp_xml_carries_the_source_ranges() -> None:
    xml_text = to_fcp_xml(PAL)
    assert ET.fromstring(xml_text).tag == "xmeml"
    assert _clipitems(xml_text) == [
        {"name": "Ocean life", "in": 312, "out": 506, "timebase": 25, "ntsc": "FALSE"},
        {"name": "Forest walk", "in": 1500, "out": 1875, "timebase": 25, "ntsc": "FALSE"},
        {"name": "Ocean life", "in": 75, "out": 100, "timebase": 25, "ntsc": "FALSE"},
    ]
    root = ET.fromstring(xml_text)
    assert root.findtext("project/children/sequence/rate/timebase") == "25"
    # The ocean video is one file, referenced again by id by its second clip.
    files = [f for f in root.iter("file") if f.find("name") is not None]
    assert len(files) == 2
    assert files[0].findtext("pathurl") == PAL[0].media_url

    back = otio.adapters.read_from_string(xml_text, "fcp_xml")
    clips = list(back.find_clips())
    assert [c.name for c in clips] == ["Ocean life", "Forest walk", "Ocean life"]
    for clip, moment in zip(clips, PAL, strict=True):
        assert clip.source_range.start_time == otio.opentime.RationalTime(
            _frames(moment.start_sec, 25), 25)
        assert clip.source_range.end_time_exclusive() == otio.opentime.RationalTime(
            _frames(moment.end_sec, 25), 25)
    assert [m.name for m in clips[0].markers] == ["A whale surfaces near the boat."]


def test_fcp_xml_gives_each_clip_its_own_rate() -> None:
    items = _clipitems(to_fcp_xml(MIXED))
    assert [(i["in"], i["out"], i["timebase"], i["ntsc"]) for i in items] == [
        (312, 506, 25, "FALSE"),
        (_frames(60, NTSC), _frames(75, NTSC), 30, "TRUE"),
        (30, 60, 30, "FALSE"),
    ]


def test_csv_is_exact_and_neutralises_formulas() -> None:
    moments = [*PAL, Moment("=HYPERLINK(\"x\")", "id,2", 1.0, 2.5, "@sum", fps=None)]
    assert to_csv(moments) == (
        "video,file,item id,start,end,start timecode,end timecode,text\r\n"
        "Ocean life,,66f1a2b3c4d5e6f7a8b9c0d1,12.5,20.25,00:00:12:12,00:00:20:06,"
        "\"A whale surfaces\nnear the boat.\"\r\n"
        "Forest walk,,66f1a2b3c4d5e6f7a8b9c0d2,60,75,00:01:00:00,00:01:15:00,"
        "Moss on every trunk.\r\n"
        "Ocean life,,66f1a2b3c4d5e6f7a8b9c0d1,3,4,00:00:03:00,00:00:04:00,\r\n"
        "\"'=HYPERLINK(\"\"x\"\")\",,\"id,2\",1,2.5,00:00:01:00,00:00:02:15,'@sum\r\n"
    )
    rows = list(csv.reader(io.StringIO(to_csv(PAL), newline="")))
    assert rows[1][7] == "A whale surfaces\nnear the boat."


def test_csv_names_the_file_and_gives_timecodes_at_the_videos_rate() -> None:
    """An editor logging the moments needs the file to relink and the timecode the editor
    shows (drop-frame at 29.97); the CSV had seconds and an item id only."""
    rows = list(csv.reader(io.StringIO(to_csv(SAVANNA), newline="")))
    assert rows[1][:7] == ["Savanna at first light", "savanna_first_light.mp4", OCEAN,
                           "612.5", "620", "00:10:12;15", "00:10:19;29"]
    assert rows[3][1] == "" and rows[3][5] == "00:00:10;00"  # the file is not known
    assert to_csv([Moment("Film", "f", 3605.0, 3609.0, "", fps=23.976)]).splitlines()[1] \
        == "Film,,f,3605,3609,01:00:01:10,01:00:05:09,"


def test_chapters_are_exact_per_video_in_time_order() -> None:
    assert to_chapters(PAL) == (
        "Ocean life\n"
        "00:00 Ocean life\n"  # cited at 00:03: the first chapter starts at 0:00
        "00:12 A whale surfaces near the boat.\n"
        "\n"
        "Forest walk\n"
        "00:00 Forest walk\n"
        "01:00 Moss on every trunk.\n"
    )
    one_video = [Moment("Talk", "t", 3725.0, 3730.0, "Q&A", fps=None),
                 Moment("Talk", "t", 5.0, 9.0, "Intro", fps=None)]
    assert to_chapters(one_video) == "00:00 Intro\n1:02:05 Q&A\n"


def _youtube_takes(lines: list[str]) -> bool:
    """YouTube's rules for chapters in a description: the first at 0:00, ascending, each at
    least 10 seconds long."""
    seconds = []
    for line in lines:
        stamp = line.split(" ", 1)[0]
        value = 0
        for part in stamp.split(":"):
            value = value * 60 + int(part)
        seconds.append(value)
    return seconds[0] == 0 and all(b - a >= 10 for a, b in itertools.pairwise(seconds))


def test_chapters_are_a_list_youtube_takes() -> None:
    """A first moment at 10:10 left no 0:00 chapter, and two moments starting in the same
    few seconds gave chapters YouTube refuses: it then shows none of them."""
    talk = [Moment("Keynote", "k", 610.0, 842.0, "Night mode."),
            Moment("Keynote", "k", 615.5, 640.0, "A candle-lit dinner."),
            Moment("Keynote", "k", 615.9, 700.0, "A candle-lit dinner."),
            Moment("Keynote", "k", 1320.0, 1500.0, "")]
    text = to_chapters(talk)
    assert text == ("00:00 Keynote\n"
                    "10:10 Night mode. · A candle-lit dinner.\n"
                    "22:00 Keynote\n")
    assert _youtube_takes(text.splitlines())
    assert ",615.5,640," in to_csv(talk)  # the CSV keeps every moment's exact times


@pytest.mark.parametrize("fmt", list(MomentFormat))
def test_export_moments_writes_each_format_privately(tmp_path: Path, fmt: MomentFormat) -> None:
    target = tmp_path / "out" / f"moments.{fmt.value}"
    written = export_moments(PAL, fmt, target)
    assert written == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left
    text = target.read_text("utf-8")
    assert "Ocean life" in text
    assert export_moments(PAL, fmt.value, target) == target  # the suffix works as well


def test_export_moments_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "moments.csv"
    target.write_text("old", encoding="utf-8")
    export_moments(PAL[:1], "csv", target)
    assert target.read_text("utf-8").startswith("video,file,item id")


def test_refusals_say_what_is_wrong(tmp_path: Path) -> None:
    target = tmp_path / "x.edl"
    with pytest.raises(ValueError, match="no moments"):
        export_moments([], MomentFormat.EDL, target)
    with pytest.raises(ValueError, match="cannot be exported as 'pdf'"):
        export_moments(PAL, "pdf", target)
    assert not target.exists()
    with pytest.raises(ValueError, match="end of the moment of 'Ocean life'"):
        Moment("Ocean life", OCEAN, 10.0, 5.0, "")
    with pytest.raises(ValueError, match="start"):
        Moment("Ocean life", OCEAN, float("nan"), 5.0, "")
    with pytest.raises(ValueError, match="frame rate"):
        Moment("Ocean life", OCEAN, 1.0, 5.0, "", fps=0)


def test_a_zero_length_moment_is_one_frame_long() -> None:
    clip = next(iter(moments_timeline([Moment("A", "a", 7.0, 7.0, "", fps=25)]).find_clips()))
    assert clip.source_range.start_time.value == 175
    assert clip.source_range.duration.value == 1


#: A 29.97 video whose uploaded file and length are known; its second moment runs past the end.
SAVANNA = [
    Moment("Savanna at first light", OCEAN, 612.5, 620.0, "Lions wake.", fps=29.97,
           file_name="footage/savanna_first_light.mp4", duration_sec=1122.4),
    Moment("Savanna at first light", OCEAN, 1120.0, 1130.0, "Dusk.", fps=29.97,
           file_name="footage/savanna_first_light.mp4", duration_sec=1122.4),
    Moment("Kelp forest", FOREST, 10.0, 20.0, "Kelp.", fps=29.97),
]


def test_editor_formats_name_the_uploaded_file_so_an_editor_can_relink() -> None:
    # FCP XML: the <file> name is what Premiere's Link Media and Resolve match on; one file
    # per video, its length the video's.
    root = ET.fromstring(to_fcp_xml(SAVANNA))
    files = [f for f in root.iter("file") if f.find("name") is not None]
    assert [(f.findtext("name"), f.findtext("duration")) for f in files] == [
        ("savanna_first_light.mp4", str(_frames(1122.4, NTSC))), ("Kelp forest", "599")]
    assert "pathurl" not in to_fcp_xml(SAVANNA)  # no address that would point nowhere
    # EDL: the source line Avid and Resolve read, and the adapter reads back.
    edl = to_edl(SAVANNA)
    assert edl.count("* FROM CLIP: savanna_first_light.mp4") == 2
    back = otio.adapters.read_from_string(edl, "cmx_3600", rate=NTSC)
    assert [getattr(c.media_reference, "target_url", None) for c in back.find_clips()] == [
        "savanna_first_light.mp4", "savanna_first_light.mp4", None]
    # OTIO: the reference's name and this app's metadata.
    clip = next(iter(otio.adapters.read_from_string(to_otio(SAVANNA), "otio_json")
                     .find_clips()))
    assert clip.name == "Savanna at first light"
    assert clip.media_reference.name == "savanna_first_light.mp4"
    assert clip.media_reference.metadata["jockey_desktop"]["file_name"] == \
        "savanna_first_light.mp4"
    assert clip.media_reference.available_range.duration.value == _frames(1122.4, NTSC)


def test_a_moment_running_past_the_videos_end_stops_at_its_last_frame() -> None:
    last = _frames(1122.4, NTSC)
    clips = list(moments_timeline(SAVANNA).find_clips())
    assert clips[1].source_range.start_time.value == _frames(1120.0, NTSC)
    assert clips[1].source_range.end_time_exclusive().value == last
    beyond = Moment("Savanna at first light", OCEAN, 1200.0, 1210.0, "", fps=29.97,
                    duration_sec=1122.4)
    clip = next(iter(moments_timeline([beyond]).find_clips()))
    assert (clip.source_range.start_time.value, clip.source_range.duration.value) == (last - 1, 1)
    # The plain-text formats keep the cited times.
    assert ",1120,1130," in to_csv(SAVANNA)
    with pytest.raises(ValueError, match="length of the video"):
        Moment("A", "a", 1.0, 2.0, "", duration_sec=0)


@pytest.mark.parametrize(("errno_code", "said"), [
    (errno.ENOSPC, "the disk holding {folder} is full. The file that was there is unchanged. "
                   "Free some space there"),
    (errno.EACCES, "you cannot write in the folder {folder} (permission denied). The file "
                   "that was there is unchanged. Choose another folder"),
    (errno.EROFS, "the folder {folder} is on a read-only disk."),
])
def test_a_failed_save_keeps_the_old_file_and_says_why_in_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_code: int, said: str) -> None:
    target = tmp_path / "cut.edl"
    target.write_text("the editor's earlier cut", encoding="utf-8")

    def refuse(_fd: int) -> None:
        raise OSError(errno_code, os.strerror(errno_code))

    monkeypatch.setattr(storage_export.os, "fsync", refuse)
    with pytest.raises(OSError) as raised:
        export_moments(PAL, MomentFormat.EDL, target)
    assert target.read_text(encoding="utf-8") == "the editor's earlier cut"
    assert [p.name for p in tmp_path.iterdir()] == ["cut.edl"]  # no temporary file left
    sentence = write_failure_text(target, raised.value)
    assert sentence.startswith("cut.edl could not be saved: " + said.format(folder=tmp_path))
    assert ".tmp" not in sentence and "Errno" not in sentence
    assert write_failure_text(tmp_path / "new.edl", raised.value).count("unchanged") == 0


def test_fcp_xml_shows_ntsc_timecode_drop_frame_as_the_edl_and_csv_do() -> None:
    """A 29.97 source in Premiere showed 00:21:58:20 (non-drop) where the EDL and the CSV
    said 00:21:59;28 for the same frame."""
    moments = [Moment("Savanna", OCEAN, 1320.0, 1330.0, "", fps=29.97),
               Moment("Drone", "d", 5.0, 6.0, "", fps=59.94),
               Moment("Ocean", FOREST, 12.5, 20.0, "", fps=25)]
    root = ET.fromstring(to_fcp_xml(moments))
    shown = {f.findtext("name"): f.findtext("timecode/displayformat")
             for f in root.iter("file") if f.find("name") is not None}
    assert shown == {"Savanna": "DF", "Drone": "DF", "Ocean": "NDF"}
    assert root.findtext("project/children/sequence/timecode/displayformat") == "DF"
    assert ";" in to_csv(moments[:1]) and ";" in to_edl(moments[:1])
    assert root.findtext("project/children/sequence/timecode/string") == "00:00:00;00"
    pal = ET.fromstring(to_fcp_xml(PAL))
    assert pal.findtext("project/children/sequence/timecode/displayformat") == "NDF"
