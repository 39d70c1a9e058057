"""Export cited moments for video editors and the web (no Qt).

A *moment* is a cited range of one video (see :class:`Moment`). This module writes a list of
them as:

* OpenTimelineIO (``.otio``), CMX 3600 EDL (``.edl``) and Final Cut Pro 7 XML ("xmeml",
  ``.xml``, which Premiere and DaVinci Resolve import): one video track of clips back to back,
  each clip named after its video, its source range the cited range, with the cited sentence as
  a marker at the clip's start. These go through ``opentimelineio`` and its adapters
  (``otio-cmx3600-adapter``, ``otio-fcp-adapter``), found through OTIO's plugin entry points
  (the frozen app bundles their metadata and sources; ``frozen_checks`` proves it);
* CSV (video, file, item id, start, end, their timecodes, text) and YouTube chapter lines
  (first at 0:00, at least 10 s apart, so YouTube takes them), plain text.

Timing. A clip's frame rate is its video's (``Moment.fps``) when known and a SMPTE timecode
rate (29.97 is read as 30000/1001); otherwise :data:`DEFAULT_FPS` (30, the common web rate; a
rate with no timecode such as 15 fps also falls back to it — positions stay right to 1/30 s).
Cited seconds are rounded to the nearest frame, and a clip is at least one frame long. An EDL
has a single rate, so it is written at the *sequence rate*: the most common clip rate (the
first one seen on a tie). The FCP XML sequence uses that rate too, while each clip keeps its own
in/out at its video's rate. Source timecode starts at 00:00:00:00 (Jockey's seconds count from
the start of the video).

Relinking. No file holds a media address (a signed URL expires within hours and carries its
own authorisation); an editor relinks each clip to the user's own copy of the video by its file
name. When the uploaded file's name is known (``Moment.file_name``) it is the media
reference's name — the ``<file><name>`` Premiere's "Link Media" and Resolve match on, the
OTIO reference's name — and the EDL's ``* FROM CLIP:`` source line; otherwise the video's
title stands in. When the video's length is known (``Moment.duration_sec``) it is the
reference's available range, and a cited range running past the end is cut at the last frame
(an editor shows frames past the media as offline); the CSV and chapters keep the cited times.

``export_moments(moments, fmt, path)`` writes any format atomically with mode 0600, like the
conversation exports (:func:`jockey_desktop.core.storage.export.write_file_atomically`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from jockey_desktop.core.storage.export import write_file_atomically
from jockey_desktop.core.timecode import format_timestamp

#: Frame rate used when a video's rate is unknown or has no SMPTE timecode.
DEFAULT_FPS = 30.0

#: Name of the timeline / sequence / EDL title when the caller gives none.
DEFAULT_TIMELINE_NAME = "Jockey moments"

#: Key of this app's entries in OTIO metadata dictionaries.
METADATA_KEY = "jockey_desktop"

#: Header row of the CSV export: seconds for scripts and spreadsheets, the uploaded file and
#: SMPTE timecodes at the video's rate (drop-frame for 29.97/59.94) for logging in an editor.
CSV_HEADER = ("video", "file", "item id", "start", "end", "start timecode", "end timecode",
              "text")

#: A CMX 3600 reel name holds at most 8 characters.
_REEL_LENGTH = 8


class MomentFormat(str, Enum):
    """The export formats; the value is the file suffix without the dot."""

    OTIO = "otio"
    EDL = "edl"
    FCP_XML = "xml"
    CSV = "csv"
    CHAPTERS = "txt"

    @property
    def label(self) -> str:
        """The format's name as a file dialog shows it."""
        return _LABELS[self]


_LABELS: dict[MomentFormat, str] = {
    MomentFormat.OTIO: "OpenTimelineIO",
    MomentFormat.EDL: "CMX 3600 EDL",
    MomentFormat.FCP_XML: "Final Cut Pro / Premiere XML",
    MomentFormat.CSV: "CSV",
    MomentFormat.CHAPTERS: "YouTube chapters",
}


@dataclass(frozen=True)
class Moment:
    """One cited range of a video: what every export format is made of.

    ``start_sec``/``end_sec`` count from the start of the video; ``fps`` is the video's frame
    rate when known; ``media_url`` (a stable address of the media, never a signed one)
    becomes the clip's media reference in editor formats; ``file_name`` (the uploaded file's
    name) and ``duration_sec`` (the video's length) let an editor relink to the user's copy.
    """

    video_title: str
    item_id: str
    start_sec: float
    end_sec: float
    text: str
    fps: float | None = None
    media_url: str | None = None
    file_name: str | None = None
    duration_sec: float | None = None

    def __post_init__(self) -> None:
        # A bad range would only surface later as a garbled editor file: refuse it here, with
        # the moment named, so the caller can say which citation was wrong.
        where = f"the moment of {self.video_title!r} ({self.item_id})"
        if not _finite(self.start_sec) or self.start_sec < 0:
            raise ValueError(f"The start of {where} is not a time in the video: "
                             f"{self.start_sec!r}.")
        if not _finite(self.end_sec) or self.end_sec < self.start_sec:
            raise ValueError(f"The end of {where} is before its start or not a time: "
                             f"{self.end_sec!r}.")
        if self.fps is not None and (not _finite(self.fps) or self.fps <= 0):
            raise ValueError(f"The frame rate of {where} is not a positive number: "
                             f"{self.fps!r}.")
        if self.duration_sec is not None and (not _finite(self.duration_sec)
                                              or self.duration_sec <= 0):
            raise ValueError(f"The length of the video of {where} is not a positive number: "
                             f"{self.duration_sec!r}.")


@dataclass(frozen=True)
class SourceFacts:
    """What the exports can know of one video besides its citations (all optional): its
    frame rate, the uploaded file's name and its length in seconds."""

    fps: float | None = None
    file_name: str | None = None
    duration_sec: float | None = None


def file_name_of(name: str | None) -> str | None:
    """The file name an editor relinks by: the last part of a path, on one line (None when
    there is none)."""
    if not name:
        return None
    base = one_line(re.split(r"[\\/]", name)[-1])
    return base or None


def _finite(value: object) -> bool:
    """True for a real, finite int or float (bool is not a time)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def one_line(text: str) -> str:
    """Collapse all whitespace (newlines included) to single spaces: EDL comment lines,
    chapter lines and clip names must not break across lines."""
    return " ".join(text.split())


def _otio() -> Any:
    """The ``opentimelineio`` module, imported on first use (it is only needed for editor
    formats, and importing it costs start-up time); it ships no type information."""
    import opentimelineio  # type: ignore[import-untyped]

    return opentimelineio


# --- timing -----------------------------------------------------------------------------------


def timecode_rate(fps: float | None) -> float:
    """The SMPTE timecode rate for a video's frame rate (see the module docstring)."""
    if fps is None:
        return DEFAULT_FPS
    nearest = float(_otio().opentime.RationalTime.nearest_valid_timecode_rate(fps))
    # Within 0.01: 29.97 → 30000/1001, 23.976 → 24000/1001; anything further off (15, 12)
    # has no timecode of its own.
    return nearest if nearest > 0 and abs(nearest - fps) < 0.01 else DEFAULT_FPS


def sequence_rate(moments: Sequence[Moment]) -> float:
    """The one rate of a sequence: the most common clip rate, the first seen on a tie."""
    if not moments:
        return DEFAULT_FPS
    counts = Counter(timecode_rate(m.fps) for m in moments)
    best = max(counts.values())
    return next(rate for rate in (timecode_rate(m.fps) for m in moments)
                if counts[rate] == best)


def frame_range(moment: Moment, rate: float) -> tuple[int, int]:
    """(first frame, frame after the last) of a moment at ``rate``: nearest frames, >= 1 long,
    and within the video when its length is known (a range past the end is cut there; one
    wholly past it becomes the last frame)."""
    start = round(moment.start_sec * rate)
    end = round(moment.end_sec * rate)
    if moment.duration_sec is not None:
        last = max(round(moment.duration_sec * rate), 1)
        start, end = min(start, last - 1), min(end, last)
    return start, max(end, start + 1)


# --- OpenTimelineIO ---------------------------------------------------------------------------


def _reel_names(moments: Sequence[Moment]) -> dict[str, str]:
    """A distinct CMX reel name (<= 8 letters/digits) per item id, in order of appearance.

    The tail of the id is used (the head of a hex object id is its creation second, shared by
    items uploaded together); a clash or an id with no letters or digits gets ``VID<n>``.
    """
    reels: dict[str, str] = {}
    used: set[str] = set()
    for moment in moments:
        if moment.item_id in reels:
            continue
        reel = re.sub(r"[^A-Za-z0-9]", "", moment.item_id)[-_REEL_LENGTH:].upper()
        counter = len(reels) + 1
        while not reel or reel in used:
            reel = f"VID{counter:05d}"
            counter += 1
        reels[moment.item_id] = reel
        used.add(reel)
    return reels


def moments_timeline(moments: Sequence[Moment], name: str = DEFAULT_TIMELINE_NAME,
                     *, rate: float | None = None) -> Any:
    """An ``opentimelineio.schema.Timeline`` of the moments, one clip each, in order.

    ``rate`` forces every clip onto one rate (what an EDL needs); by default each clip is at
    its own video's rate. Each clip's media reference is named by the video's file name (see
    "Relinking" above) and covers the video from 0 to its length, or to the furthest cited end
    when the length is not known; all clips of one video share the same reference, so editors
    see one source per video.
    """
    otio = _otio()
    if not moments:
        raise ValueError("There are no moments to export.")
    seq_rate = rate if rate is not None else sequence_rate(moments)
    time = otio.opentime.RationalTime
    span = otio.opentime.TimeRange
    timeline = otio.schema.Timeline(name=one_line(name) or DEFAULT_TIMELINE_NAME,
                                    global_start_time=time(0, seq_rate))
    track = otio.schema.Track(name="Moments", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    reels = _reel_names(moments)
    furthest: dict[str, float] = {}
    for moment in moments:
        furthest[moment.item_id] = max(furthest.get(moment.item_id, 0.0), moment.end_sec)
    for moment in moments:
        clip_rate = rate if rate is not None else timecode_rate(moment.fps)
        first, after = frame_range(moment, clip_rate)
        if moment.duration_sec is not None:
            video_end = max(round(moment.duration_sec * clip_rate), after)
        else:
            video_end = max(round(furthest[moment.item_id] * clip_rate), after)
        title = one_line(moment.video_title) or moment.item_id
        file_name = file_name_of(moment.file_name)
        available = span(time(0, clip_rate), time(video_end, clip_rate))
        ref_metadata: dict[str, Any] = {METADATA_KEY: {"item_id": moment.item_id}}
        if file_name:
            ref_metadata[METADATA_KEY]["file_name"] = file_name
        reference: Any
        if moment.media_url:
            reference = otio.schema.ExternalReference(
                target_url=moment.media_url, available_range=available, metadata=ref_metadata)
            reference.name = file_name or title
        else:
            reference = otio.schema.MissingReference(
                name=file_name or title, available_range=available, metadata=ref_metadata)
        clip = otio.schema.Clip(
            name=title,
            media_reference=reference,
            source_range=span(time(first, clip_rate), time(after - first, clip_rate)),
            metadata={
                METADATA_KEY: {"item_id": moment.item_id, "start_sec": moment.start_sec,
                               "end_sec": moment.end_sec, "text": moment.text},
                "cmx_3600": {"reel": reels[moment.item_id]},
            },
        )
        label = one_line(moment.text)
        if label:
            clip.markers.append(otio.schema.Marker(
                name=label, marked_range=span(time(first, clip_rate), time(0, clip_rate))))
        track.append(clip)
    return timeline


def to_otio(moments: Sequence[Moment], name: str = DEFAULT_TIMELINE_NAME) -> str:
    """The moments as an OpenTimelineIO JSON document (``.otio``)."""
    otio = _otio()
    return str(otio.core.serialize_json_to_string(moments_timeline(moments, name), indent=2))


def to_edl(moments: Sequence[Moment], name: str = DEFAULT_TIMELINE_NAME) -> str:
    """The moments as a CMX 3600 EDL at the sequence rate (reels named from the item ids)."""
    otio = _otio()
    rate = sequence_rate(moments)
    timeline = moments_timeline(moments, name, rate=rate)
    for clip in timeline.find_clips():
        # The adapter writes a reference's address as the "* FROM CLIP:" source line, which
        # Avid and Resolve match media on: the file name, when known, is that address here.
        reference = clip.media_reference
        file_name = reference.metadata.get(METADATA_KEY, {}).get("file_name")
        if file_name and not isinstance(reference, otio.schema.ExternalReference):
            clip.media_reference = otio.schema.ExternalReference(
                target_url=file_name, available_range=reference.available_range,
                metadata=reference.metadata)
            clip.media_reference.name = reference.name
    return str(otio.adapters.write_to_string(timeline, "cmx_3600", rate=rate))


def is_drop_frame_rate(rate: float) -> bool:
    """True for the NTSC rates whose timecode is drop-frame (29.97 and 59.94), as the EDL
    and the CSV write it."""
    return any(abs(rate - ntsc) < 1e-6 for ntsc in (30000 / 1001, 60000 / 1001))


def to_fcp_xml(moments: Sequence[Moment], name: str = DEFAULT_TIMELINE_NAME) -> str:
    """The moments as Final Cut Pro 7 XML (xmeml v4), which Premiere imports; the timecode of
    a 29.97 or 59.94 source and sequence is shown drop-frame, as the EDL and CSV give it."""
    otio = _otio()
    timeline = moments_timeline(moments, name)
    drop_frame = {"fcp_xml": {"timecode": {"displayformat": "DF"}}}
    if is_drop_frame_rate(timeline.global_start_time.rate):
        timeline.metadata.update(drop_frame)
    for clip in timeline.find_clips():
        reference = clip.media_reference
        if is_drop_frame_rate(reference.available_range.start_time.rate):
            reference.metadata.update(drop_frame)
    return str(otio.adapters.write_to_string(timeline, "fcp_xml"))


# --- plain text -------------------------------------------------------------------------------


def _seconds_text(seconds: float) -> str:
    """Seconds for a spreadsheet: up to millisecond precision, no trailing zeros."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run: titles and answers come from the server, and a
    leading =, +, -, @ (or tab/CR) makes Excel/LibreOffice treat the cell as a formula."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def source_timecode(seconds: float, fps: float | None) -> str:
    """The SMPTE timecode of a position in a video, at its timecode rate (drop-frame, with
    ``;``, at 29.97 and 59.94), counting from 00:00:00:00 as the editor formats do."""
    otio = _otio()
    rate = timecode_rate(fps)
    return str(otio.opentime.to_timecode(otio.opentime.RationalTime(round(seconds * rate),
                                                                     rate), rate))


def to_csv(moments: Sequence[Moment]) -> str:
    """The moments as CSV (:data:`CSV_HEADER`): the cited seconds and their timecodes at the
    video's rate; CRLF rows (RFC 4180)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for moment in moments:
        writer.writerow((_cell(moment.video_title), _cell(file_name_of(moment.file_name) or ""),
                         _cell(moment.item_id),
                         _seconds_text(moment.start_sec), _seconds_text(moment.end_sec),
                         source_timecode(moment.start_sec, moment.fps),
                         source_timecode(moment.end_sec, moment.fps), _cell(moment.text)))
    return out.getvalue()


#: YouTube takes chapters only when the first starts at 0:00 and each lasts this long (s).
CHAPTER_MIN_SECONDS = 10


def _video_chapters(group: Sequence[Moment], title: str) -> list[tuple[int, str]]:
    """(start second, label) chapters of one video that YouTube accepts: the first at 0:00 (a
    first moment within the first 10 s is moved there, else the video's title opens at 0:00),
    each at least 10 s after the one before (moments starting sooner join its label)."""
    chapters: list[tuple[int, list[str]]] = []
    for moment in sorted(group, key=lambda m: m.start_sec):
        second = int(moment.start_sec)  # the second the line shows (timestamps truncate)
        label = one_line(moment.text) or title
        if not chapters:
            if second >= CHAPTER_MIN_SECONDS:
                chapters.append((0, [title]))
            else:
                second = 0
        if chapters and second - chapters[-1][0] < CHAPTER_MIN_SECONDS:
            if label not in chapters[-1][1]:
                chapters[-1][1].append(label)
            continue
        chapters.append((second, [label]))
    return [(second, " · ".join(labels)) for second, labels in chapters]


def to_chapters(moments: Sequence[Moment]) -> str:
    """YouTube chapter lines: ``MM:SS text`` per moment, by start time, per video.

    Videos come in the order they are first cited; with more than one video, each group is
    headed by the video's title and groups are separated by a blank line. A moment without
    text is labelled with its video's title. Each group is a list YouTube takes as chapters
    (see :func:`_video_chapters`); the CSV keeps every moment's exact times.
    """
    groups: dict[str, list[Moment]] = {}
    for moment in moments:
        groups.setdefault(moment.item_id, []).append(moment)
    blocks: list[str] = []
    for group in groups.values():
        title = one_line(group[0].video_title) or group[0].item_id
        lines = [title] if len(groups) > 1 else []
        lines.extend(f"{format_timestamp(second)} {label}"
                     for second, label in _video_chapters(group, title))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


# --- files ------------------------------------------------------------------------------------


def render_moments(moments: Sequence[Moment], fmt: MomentFormat | str,
                   name: str = DEFAULT_TIMELINE_NAME) -> str:
    """The text of one export format (``fmt`` is a :class:`MomentFormat` or its suffix)."""
    try:
        chosen = MomentFormat(fmt)
    except ValueError:
        known = ", ".join(f.value for f in MomentFormat)
        raise ValueError(f"Moments cannot be exported as {fmt!r}; the formats are {known}.") \
            from None
    if not moments:
        raise ValueError("There are no moments to export.")
    if chosen is MomentFormat.OTIO:
        return to_otio(moments, name)
    if chosen is MomentFormat.EDL:
        return to_edl(moments, name)
    if chosen is MomentFormat.FCP_XML:
        return to_fcp_xml(moments, name)
    if chosen is MomentFormat.CSV:
        return to_csv(moments)
    return to_chapters(moments)


def export_moments(moments: Sequence[Moment], fmt: MomentFormat | str, path: Path | str,
                   name: str = DEFAULT_TIMELINE_NAME) -> Path:
    """Write the moments in ``fmt`` to ``path`` atomically (mode 0600); return the path.

    Raises ValueError with a sentence for no moments or an unknown format (before touching
    the file system) and OSError when the file cannot be written.
    """
    return write_file_atomically(path, render_moments(moments, fmt, name))
