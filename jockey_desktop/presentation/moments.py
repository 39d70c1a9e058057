"""The cited moments of an answer, as the player steps through them (no Qt, no I/O).

An answer's *moments* are its citations that point into a video (an item id, not an image or a
collection), in the order their markers appear in the text, each distinct range once. The
player shows the current one, marks the others of the same video on its seek bar (hovering
one shows its sentence), steps to the previous/next across videos, and exports them for
editors (:func:`export_moments_of`, the writers are ``core.moments_export``).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jockey_desktop.core.storage.models import Message
from jockey_desktop.core.storage.plaintext import markdown_to_plain
from jockey_desktop.core.timecode import format_time_range, format_timestamp
from jockey_desktop.presentation.formatting import citation_title, unique_citations

#: Citation kinds that never play: a whole image, a whole collection, a time with no video.
_NOT_VIDEO = frozenset({"image_citation", "collection_citation", "inline_time"})
#: Where a sentence ends: its punctuation and a space, or a line break.
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
#: A sentence shown on a marker's tooltip is cut here (characters).
MAX_SENTENCE = 280


@dataclass(frozen=True)
class PlayerMoment:
    """One moment of an answer: a range (``end`` None: the whole video) of one video."""

    index: int
    item_id: str
    title: str
    start: float
    end: float | None
    sentence: str
    hls_url: str | None
    thumbnail_url: str | None
    citation: Mapping[str, Any]

    @property
    def range_text(self) -> str:
        """``"01:23–01:45"``, ``"From 01:23"`` (no end given) or ``"Whole video"``."""
        if self.end is not None:
            return format_time_range(self.start, self.end)
        return f"From {format_timestamp(self.start)}" if self.start > 0 else "Whole video"

    @property
    def label(self) -> str:
        """``"Title · 01:23–01:45"`` (what its chip says)."""
        return f"{self.title} · {self.range_text}"

    def key(self) -> tuple[str, float, float | None]:
        """What makes two citations the same moment."""
        return (self.item_id, self.start, self.end)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _cited_range(citation: Mapping[str, Any]) -> tuple[float, float | None]:
    """(start, end) of a citation: no start is the whole video (0, None); no usable end plays
    on from the start."""
    start = _seconds(citation.get("start_sec"))
    end = _seconds(citation.get("end_sec"))
    if start is None:
        return 0.0, None
    return start, end if end is not None and end > start else None


def is_playable(citation: Mapping[str, Any]) -> bool:
    """True when a citation points into a video (it has an item and is not an image or a
    collection)."""
    item = citation.get("item_id")
    return isinstance(item, str) and bool(item) and citation.get("kind") not in _NOT_VIDEO


def first_playable_chip(citations: Sequence[Mapping[str, Any]]) -> int | None:
    """The citation index of an answer's first chip that plays (the first entry of its
    "Play cited moment" menu, what Enter on the answer plays), or None when none does."""
    for index, _label in unique_citations(citations):
        if is_playable(citations[index]):
            return index
    return None


def citation_sentence(text: str, marker_start: object, marker_end: object) -> str:
    """The sentence of ``text`` (an answer's Markdown) that carries a citation's marker, as
    plain text without markers; "" when the offsets do not fit the text."""
    if not isinstance(marker_start, int) or not 0 <= marker_start <= len(text):
        return ""
    end = marker_end if isinstance(marker_end, int) and marker_end >= marker_start \
        else marker_start
    begin = 0
    for match in _SENTENCE_END.finditer(text, 0, marker_start):
        begin = match.end()
    # A marker right after the full stop ("… landing. [2]") belongs to that sentence.
    if not text[begin:marker_start].strip(" \t") and begin > 0:
        previous = 0
        for match in _SENTENCE_END.finditer(text, 0, max(begin - 1, 0)):
            previous = match.end()
        begin = previous
    stop = _SENTENCE_END.search(text, min(end, len(text)))
    sentence = text[begin:stop.end() if stop else len(text)]
    plain = " ".join(markdown_to_plain(sentence).split())
    if len(plain) > MAX_SENTENCE:
        plain = plain[:MAX_SENTENCE - 1].rstrip() + "…"
    return plain


def answer_moments(message: Message) -> list[PlayerMoment]:
    """The playable moments of an answer, by marker position, each distinct range once."""
    cited = [c for c in message.citations if is_playable(c)]
    order = sorted(range(len(cited)), key=lambda i: (
        cited[i].get("marker_start") if isinstance(cited[i].get("marker_start"), int)
        else math.inf, i))
    moments: list[PlayerMoment] = []
    seen: set[tuple[str, float, float | None]] = set()
    for i in order:
        citation = cited[i]
        start, end = _cited_range(citation)
        item_id = str(citation["item_id"])
        if (item_id, start, end) in seen:
            continue
        seen.add((item_id, start, end))
        hls, thumb = citation.get("hls_url"), citation.get("thumbnail_url")
        moments.append(PlayerMoment(
            index=len(moments), item_id=item_id, title=citation_title(citation),
            start=start, end=end,
            sentence=citation_sentence(message.text, citation.get("marker_start"),
                                       citation.get("marker_end")),
            hls_url=hls if isinstance(hls, str) and hls else None,
            thumbnail_url=thumb if isinstance(thumb, str) and thumb else None,
            citation=citation))
    return moments


def moment_of(moments: Sequence[PlayerMoment], citation: Mapping[str, Any]) -> int | None:
    """The index of the moment a clicked citation is (None when it is not playable)."""
    if not is_playable(citation):
        return None
    start, end = _cited_range(citation)
    for moment in moments:
        if moment.key() == (str(citation["item_id"]), start, end):
            return moment.index
    return None


def moments_in_video(moments: Iterable[PlayerMoment], item_id: str) -> list[PlayerMoment]:
    """The moments of one video (the markers of its seek bar)."""
    return [m for m in moments if m.item_id == item_id]


def step(moments: Sequence[PlayerMoment], index: int | None, delta: int) -> int | None:
    """The index ``delta`` moments away from ``index``, or None past either end."""
    if index is None or not moments:
        return None
    target = index + delta
    return target if 0 <= target < len(moments) else None


def position_text(title: str, seconds: float) -> str:
    """What "Copy timestamp" copies: ``"Title 01:23"``."""
    return f"{title} {format_timestamp(max(seconds, 0.0))}"


def sentence_at(starts: Sequence[float], seconds: float) -> int | None:
    """The index of the transcript sentence playing at ``seconds`` (by start times, sorted),
    or None before the first."""
    index = bisect.bisect_right(starts, seconds) - 1
    return index if index >= 0 else None


def export_moments_of(moments: Iterable[PlayerMoment],
                      sources: Mapping[str, Any] | None = None) -> list[Any]:
    """The ``core.moments_export.Moment`` s of player moments, with what is known of each
    video (``core.moments_export.SourceFacts`` by item id: frame rate, file name, length). A
    whole-video moment has no range and is left out; signed media URLs are left out too
    (they expire within hours and carry their own authorisation)."""
    from jockey_desktop.core.moments_export import Moment, SourceFacts

    known = sources or {}
    records = []
    for m in moments:
        if m.end is None:
            continue
        facts = known.get(m.item_id) or SourceFacts()
        records.append(Moment(m.title, m.item_id, m.start, m.end, m.sentence, fps=facts.fps,
                              file_name=facts.file_name, duration_sec=facts.duration_sec))
    return records


def exported_text(path: str, exported: int, left_out: int,
                  untimed_videos: Sequence[str]) -> str:
    """What an export did: how many moments went to which file, how many citations were left
    out for having no end time (nothing to cut), and which videos were timed at the default
    rate because theirs could not be asked (their timecodes may be off in an editor)."""
    from jockey_desktop.core.moments_export import DEFAULT_FPS

    noun = "moment" if exported == 1 else "moments"
    parts = [f"{exported} {noun} exported to {path}."]
    if left_out:
        cites = "citation" if left_out == 1 else "citations"
        parts.append(f"{left_out} {cites} with no end time left out (nothing to cut).")
    if untimed_videos:
        names = ", ".join(untimed_videos[:3]) + (" …" if len(untimed_videos) > 3 else "")
        whose = "its" if len(untimed_videos) == 1 else "their"
        parts.append(f"Frame rate not known for {names} (the server could not be asked): "
                     f"timed at {DEFAULT_FPS:g} fps, so {whose} timecodes may be off; export "
                     "again when connected.")
    return " ".join(parts)


def nothing_to_export_text(scope: str, moments: Sequence[PlayerMoment]) -> str | None:
    """Why there is nothing to export from ``scope`` ("This answer", "This conversation",
    "The selected moments"), or None when some moment has a time range. Said *before* the
    save dialog: asking for a file name and then failing wastes the user's time."""
    if any(m.end is not None for m in moments):
        return None
    if not moments:
        return f"{scope} cites no moments of a video, so there is nothing to export."
    return (f"{scope} cites whole videos only, with no time range to cut, so there is "
            "nothing to export.")


def conversation_moments(messages: Iterable[Message]) -> list[PlayerMoment]:
    """Every answer's moments of a conversation, in order, each distinct range once."""
    found: list[PlayerMoment] = []
    seen: set[tuple[str, float, float | None]] = set()
    for message in messages:
        for moment in answer_moments(message):
            if moment.key() not in seen:
                seen.add(moment.key())
                found.append(moment)
    return [PlayerMoment(i, m.item_id, m.title, m.start, m.end, m.sentence, m.hls_url,
                         m.thumbnail_url, m.citation) for i, m in enumerate(found)]
