"""Citations and the three ways Jockey text refers to video moments (jockey-api.md §3.4).

1. ``[N]`` markers located by ``annotations`` (inclusive code-point ``end_index``);
2. inline ``[MM:SS-MM:SS]`` / ``[H:MM:SS–H:MM:SS]`` time ranges (no item);
3. ``<vref id=… start=… end=…/>`` tags (optionally closed by ``</vref>``) and a bare 24-hex
   asset id followed by ``(MM:SS–MM:SS)``.

A part with annotations uses them and leaves its text alone; otherwise the text is scanned
for conventions 2 and 3. Python ``str`` indices are code points, so annotation offsets map
directly; only the inclusive end becomes exclusive. (Qt wants UTF-16 units: see
:func:`utf16_offset`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from jockey_desktop.core.api.jsonfields import opt_float, opt_str
from jockey_desktop.core.storage.models import CITATION_KEYS
from jockey_desktop.core.web_sources import web_url

#: Annotation types the client understands; any other type is skipped (marker stays text).
KNOWN_ANNOTATION_TYPES = ("video_citation", "image_citation", "collection_citation")
KIND_INLINE_TIME = "inline_time"
KIND_VREF = "vref"

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_ASSET_RE = re.compile(r"^[0-9a-f]{24}$")

# A time: MM:SS or H:MM:SS, optional fraction. Dashes: hyphen, en dash, em dash, minus.
_TIME = r"\d{1,3}:\d{2}(?::\d{2})?(?:\.\d+)?"
_DASH = r"\s*[-\u2013\u2014\u2212]\s*"
_INLINE_RE = re.compile(rf"\[\s*({_TIME}){_DASH}({_TIME})\s*\]")
_VREF_RE = re.compile(
    r"<vref\b(?P<attrs>[^<>]*?)(?P<selfclose>/?)>(?:(?P<inner>(?:(?!<vref\b)[^<]|<(?!/?vref\b))*?)</vref\s*>)?",
    re.I,
)
_ATTR_RE = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+))""")
_ASSET_REF_RE = re.compile(rf"\b([0-9a-f]{{24}})\b\s*\(\s*({_TIME}){_DASH}({_TIME})\s*\)")


@dataclass(frozen=True)
class Citation:
    """One reference from answer text to a video moment, image or collection.

    ``marker_start``/``marker_end`` are Python ``str`` indices into the answer text (end
    exclusive) or None; ``start_sec``/``end_sec`` None means the whole video. ``kind`` is the
    annotation type, or ``"inline_time"`` / ``"vref"`` for the text conventions. For the bare
    asset-id convention ``item_id`` holds the 24-hex asset id until
    :func:`resolve_asset_ids` maps it to an item.
    """

    kind: str
    marker_start: int | None = None
    marker_end: int | None = None
    item_id: str | None = None
    collection_id: str | None = None
    start_sec: float | None = None
    end_sec: float | None = None
    title: str | None = None
    thumbnail_url: str | None = None
    hls_url: str | None = None

    @property
    def span(self) -> tuple[int, int] | None:
        """``(start, end)`` of the marker in the text, or None."""
        if self.marker_start is None or self.marker_end is None:
            return None
        return (self.marker_start, self.marker_end)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict with exactly ``CITATION_KEYS`` (what storage persists)."""
        return {key: getattr(self, key) for key in CITATION_KEYS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Citation:
        """Inverse of :meth:`to_dict`; missing keys become None, unknown keys are ignored."""
        def num(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        def idx(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            kind=str(data.get("kind") or "video_citation"),
            marker_start=idx("marker_start"),
            marker_end=idx("marker_end"),
            item_id=text("item_id"),
            collection_id=text("collection_id"),
            start_sec=num("start_sec"),
            end_sec=num("end_sec"),
            title=text("title"),
            thumbnail_url=text("thumbnail_url"),
            hls_url=text("hls_url"),
        )


# The dataclass and the storage contract must never drift apart.
assert tuple(f.name for f in fields(Citation)) == tuple(CITATION_KEYS)


def parse_timestamp(value: str) -> float | None:
    """``"MM:SS"``, ``"H:MM:SS"`` (optional ``.fraction``) or plain seconds → seconds."""
    value = value.strip()
    if not value:
        return None
    parts = value.split(":")
    if len(parts) > 3:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    seconds = 0.0
    for number in numbers:
        if number < 0:
            return None
        seconds = seconds * 60 + number
    return seconds


def citation_from_annotation(
    annotation: Mapping[str, Any], text: str, offset: int = 0
) -> Citation | None:
    """Build a citation from one annotation of a part whose text is ``text``.

    ``offset`` is where that part starts inside the whole answer. Unknown types give None;
    offsets outside the text give a citation without a marker span.
    """
    kind = annotation.get("type")
    if kind not in KNOWN_ANNOTATION_TYPES:
        return None
    span = _marker_span(annotation, text, offset)
    marker_start, marker_end = span if span else (None, None)
    return Citation(
        kind=str(kind),
        marker_start=marker_start,
        marker_end=marker_end,
        item_id=opt_str(annotation.get("item_id")),
        collection_id=opt_str(annotation.get("collection_id")),
        start_sec=opt_float(annotation.get("start_sec")),
        end_sec=opt_float(annotation.get("end_sec")),
        title=opt_str(annotation.get("title")),
        thumbnail_url=opt_str(annotation.get("thumbnail_url")),
        hls_url=opt_str(annotation.get("hls_url")),
    )


def citations_from_annotations(
    annotations: Iterable[Any], text: str, offset: int = 0
) -> list[Citation]:
    """All understood annotations of one part, in the order given."""
    result = []
    for annotation in annotations:
        if isinstance(annotation, Mapping):
            citation = citation_from_annotation(annotation, text, offset)
            if citation is not None:
                result.append(citation)
    return result


@dataclass(frozen=True)
class WebSource:
    """A web page the answer cites (hosted web search): ``url`` is always http or https.

    ``marker_start``/``marker_end`` locate its marker in the answer text like a
    :class:`Citation`'s (end exclusive), or are None when the server gave no usable offsets.
    """

    url: str
    title: str | None = None
    marker_start: int | None = None
    marker_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-safe dict."""
        return {"url": self.url, "title": self.title, "marker_start": self.marker_start,
                "marker_end": self.marker_end}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebSource | None:
        """Inverse of :meth:`to_dict`; None when ``url`` is not an http(s) address."""
        url = web_url(data.get("url"))
        if url is None:
            return None
        start, end = data.get("marker_start"), data.get("marker_end")
        return cls(url, opt_str(data.get("title")), _opt_index(start), _opt_index(end))


def web_source_from_annotation(
    annotation: Mapping[str, Any], text: str, offset: int = 0
) -> WebSource | None:
    """A web source from one annotation, or None. Their exact shape is not public yet, so
    any annotation with an http(s) ``url`` counts, whatever its ``type``; offsets are read
    as for citations (inclusive end), and dropped when they do not fit the text."""
    url = web_url(annotation.get("url"))
    if url is None:
        return None
    span = _marker_span(annotation, text, offset)
    title = opt_str(annotation.get("title"))
    return WebSource(url, title, *(span if span else (None, None)))


def web_sources_for_part(part: Mapping[str, Any], offset: int = 0) -> list[WebSource]:
    """The web sources among one ``output_text`` part's annotations, in the order given."""
    text = part.get("text")
    annotations = part.get("annotations")
    if not isinstance(text, str) or not isinstance(annotations, list):
        return []
    found = (web_source_from_annotation(a, text, offset) for a in annotations
             if isinstance(a, Mapping))
    return [source for source in found if source is not None]


def normalize_item_id(raw: str) -> str:
    """Give a bare UUID its ``ksi_`` prefix; other ids (asset ids, ksi_…) stay as they are."""
    raw = raw.strip()
    if _UUID_RE.match(raw):
        return "ksi_" + raw.lower()
    return raw


def parse_inline_citations(text: str, offset: int = 0) -> list[Citation]:
    """Find conventions 2 and 3 in ``text``; results are sorted by marker position."""
    found: list[Citation] = []
    taken: list[tuple[int, int]] = []

    for match in _VREF_RE.finditer(text):
        attrs = _parse_attrs(match.group("attrs"))
        raw_id = attrs.get("id") or attrs.get("item_id") or attrs.get("video_id")
        if not raw_id:
            continue  # unresolvable: stays literal
        start = parse_timestamp(attrs["start"]) if "start" in attrs else None
        end = parse_timestamp(attrs["end"]) if "end" in attrs else None
        found.append(
            Citation(
                kind=KIND_VREF,
                marker_start=offset + match.start(),
                marker_end=offset + match.end(),
                item_id=normalize_item_id(raw_id),
                start_sec=start,
                end_sec=end,
                title=opt_str(attrs.get("title"))
                or opt_str((match.group("inner") or "").strip()),
            )
        )
        taken.append(match.span())

    for match in _ASSET_REF_RE.finditer(text):
        if _overlaps(match.span(), taken):
            continue
        found.append(
            Citation(
                kind=KIND_VREF,
                marker_start=offset + match.start(),
                marker_end=offset + match.end(),
                item_id=match.group(1),
                start_sec=parse_timestamp(match.group(2)),
                end_sec=parse_timestamp(match.group(3)),
            )
        )
        taken.append(match.span())

    for match in _INLINE_RE.finditer(text):
        if _overlaps(match.span(), taken):
            continue
        found.append(
            Citation(
                kind=KIND_INLINE_TIME,
                marker_start=offset + match.start(),
                marker_end=offset + match.end(),
                start_sec=parse_timestamp(match.group(1)),
                end_sec=parse_timestamp(match.group(2)),
            )
        )
    found.sort(key=lambda c: (c.marker_start or 0, c.marker_end or 0))
    return found


def citations_for_part(part: Mapping[str, Any], offset: int = 0) -> list[Citation]:
    """Citations of one ``output_text`` part: annotations if any, else the text conventions."""
    text = part.get("text")
    if not isinstance(text, str):
        return []
    annotations = part.get("annotations")
    if isinstance(annotations, list) and annotations:
        return citations_from_annotations(annotations, text, offset)
    return parse_inline_citations(text, offset)


def resolve_asset_ids(
    citations: Iterable[Citation], asset_to_item: Mapping[str, str]
) -> list[Citation]:
    """Replace 24-hex asset ids in ``item_id`` by item ids where the mapping knows them."""
    from dataclasses import replace

    result = []
    for citation in citations:
        if citation.item_id and _ASSET_RE.match(citation.item_id):
            item = asset_to_item.get(citation.item_id)
            if item:
                citation = replace(citation, item_id=item)
        result.append(citation)
    return result


def utf16_offset(text: str, index: int) -> int:
    """Convert a Python (code-point) index into ``text`` to a UTF-16 offset, for Qt."""
    prefix = text[:index]
    return len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF)


def _marker_span(
    annotation: Mapping[str, Any], text: str, offset: int
) -> tuple[int, int] | None:
    """An annotation's marker as ``(start, end)`` in the whole answer (end exclusive), or
    None when its offsets are missing or outside ``text``."""
    start = _opt_index(annotation.get("start_index"))
    end = _opt_index(annotation.get("end_index"))
    if start is None or end is None or not 0 <= start <= end < len(text):
        return None
    return (offset + start, offset + end + 1)  # the API's end is inclusive


def _opt_index(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_attrs(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        value = next(v for v in match.groups()[1:] if v is not None)
        attrs[match.group(1).lower()] = value
    return attrs


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)
