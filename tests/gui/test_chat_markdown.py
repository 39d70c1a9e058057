"""Tests of safe Markdown rendering: no HTML, no local files, citation markers as links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QImage, QPainter, QTextDocument

from jockey_desktop.presentation.formatting import unique_citations
from jockey_desktop.ui.markdown import (
    SafeTextDocument,
    citation_index,
    link_action,
    link_citation_markers,
    render_markdown,
)


def anchors(document: QTextDocument) -> list[tuple[str, str]]:
    """(visible text, href) of every anchor fragment in a document."""
    found: list[tuple[str, str]] = []
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid() and fragment.charFormat().isAnchor():
                found.append((fragment.text(), fragment.charFormat().anchorHref()))
            it += 1
        block = block.next()
    return found


def cite(text: str, marker: str, start: int = 0, **extra: Any) -> dict[str, Any]:
    """A citation dict whose marker span is the first ``marker`` at or after ``start``."""
    pos = text.index(marker, start)
    base = {"kind": "vref", "marker_start": pos, "marker_end": pos + len(marker),
            "item_id": "v1", "collection_id": None, "start_sec": 83, "end_sec": 105,
            "title": "Intro", "thumbnail_url": None, "hls_url": None}
    base.update(extra)
    return base


def paint(document: QTextDocument) -> None:
    """Lay out and paint a document (image loading happens on paint)."""
    document.setTextWidth(400)
    image = QImage(400, 200, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    document.drawContents(painter)
    painter.end()


def test_html_is_shown_literally(qapp: Any) -> None:
    doc = SafeTextDocument()
    render_markdown(doc, "a <b>bold</b> claim <script>x()</script>", link_color=QColor("blue"))
    assert "<b>bold</b>" in doc.toPlainText()
    assert "<script>" in doc.toPlainText()
    assert all(not fragment_is_bold for fragment_is_bold in _bold_flags(doc))


def _bold_flags(doc: QTextDocument) -> list[bool]:
    flags = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            flags.append(it.fragment().charFormat().fontWeight() > 500)
            it += 1
        block = block.next()
    return flags


@pytest.mark.parametrize("syntax", ["![x]({url})", "<img src='{url}'>"])
def test_local_images_are_never_loaded(qapp: Any, tmp_path: Path, syntax: str) -> None:
    secret = tmp_path / "secret.png"
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    assert image.save(str(secret))
    url = QUrl.fromLocalFile(str(secret)).toString()
    text = "before " + syntax.format(url=url) + " after"

    # Control: a plain QTextDocument really would read the file for Markdown image syntax.
    if syntax.startswith("!"):
        plain = QTextDocument()
        render_markdown(plain, text)
        paint(plain)
        loaded = plain.resource(QTextDocument.ResourceType.ImageResource, QUrl(url))
        assert loaded is not None and loaded.width() == 40

    doc = SafeTextDocument()
    render_markdown(doc, text)
    paint(doc)
    got = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(url))
    assert got is None or got.width() <= 1
    if syntax.startswith("<"):
        assert "<img" in doc.toPlainText()  # raw HTML stays text
    else:
        assert doc.refused_resources  # it was asked for and refused


def test_markers_become_cite_links_even_after_non_bmp_emoji(qapp: Any) -> None:
    text = "🎥🎬 The talk starts here [1] and 😀 ends there [2]."
    citations = [cite(text, "[1]"), cite(text, "[2]", title="Other")]
    doc = SafeTextDocument()
    render_markdown(doc, text, citations, link_color=QColor("blue"))
    assert anchors(doc) == [("[1]", "cite:0"), ("[2]", "cite:1")]
    assert doc.toPlainText() == text  # nothing else changed


def test_marker_linking_skips_bad_offsets_and_guards_images() -> None:
    text = "See![1] then [2] end"
    good = cite(text, "[1]")
    bad = [
        {"marker_start": 5, "marker_end": 999},
        {"marker_start": None, "marker_end": None},
        {"marker_start": good["marker_start"] + 1, "marker_end": good["marker_end"] + 1},
        {"marker_start": True, "marker_end": 3},
    ]
    out = link_citation_markers(text, [good, *bad])
    assert out == "See\\![\\[1\\]](cite:0) then [2] end"


def test_markers_inside_formatting(qapp: Any) -> None:
    text = "**bold [1]** and _it [2]_"
    citations = [cite(text, "[1]"), cite(text, "[2]")]
    doc = SafeTextDocument()
    render_markdown(doc, text, citations)
    assert [href for _t, href in anchors(doc)] == ["cite:0", "cite:1"]


def test_link_policy() -> None:
    assert link_action("cite:3") == "cite" and citation_index("cite:3") == 3
    assert link_action("cite:x") == "ignore"
    assert link_action("https://example.com/a") == "web"
    assert link_action("HTTP://example.com") == "web"
    for url in ("file:///etc/passwd", "javascript:alert(1)", "data:text/html,x", "/relative",
                "http://", "ftp://example.com"):
        assert link_action(url) == "ignore", url


def test_unique_citations_dedupes_identical_moments() -> None:
    same = {"item_id": "a", "title": "Intro", "start_sec": 83, "end_sec": 105}
    other = {"item_id": "b", "title": "Intro", "start_sec": 83, "end_sec": 105}
    chips = unique_citations([same, dict(same), other, {"item_id": "a", "title": "Intro"}])
    assert chips == [(0, "Intro · 01:23–01:45"), (2, "Intro · 01:23–01:45"), (3, "Intro")]
