"""Safe Markdown rendering for chat messages.

Server text is untrusted. It is rendered with ``MarkdownNoHTML`` so ``<b>`` or ``<img>`` show up
literally, and through :class:`SafeTextDocument`, which refuses every resource request, so even
Markdown image syntax (``![x](file:///etc/passwd)``) cannot make Qt read a local file.

Citation markers such as ``[1]`` are turned into ``cite:K`` links by rewriting the Markdown
*source* before parsing (:func:`link_citation_markers`): the dict offsets are Python ``str``
indices into the raw text, while positions in a laid-out ``QTextDocument`` are UTF-16 code units
of the *rendered* text, so mapping after parsing would be wrong for emoji and any formatting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QByteArray, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from jockey_desktop.core.storage.models import Message, Role
from jockey_desktop.core.storage.plaintext import resolve_selection_placeholders, selection_label
from jockey_desktop.core.web_sources import web_url
from jockey_desktop.presentation.selections import question_text

#: Markdown flavour for every message: GitHub tables/strikethrough, raw HTML shown as text.
MARKDOWN_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)

CITE_SCHEME = "cite"
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape_markdown(text: str) -> str:
    """Backslash-escape ASCII punctuation (CommonMark allows it for every such character) so
    ``text`` shows literally inside link text."""
    return "".join("\\" + ch if ch in _ASCII_PUNCTUATION else ch for ch in text)


def _valid_spans(text: str, citations: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, int]]:
    """(start, end, citation index) of usable marker spans, sorted and non-overlapping."""
    spans: list[tuple[int, int, int]] = []
    for index, citation in enumerate(citations):
        start, end = citation.get("marker_start"), citation.get("marker_end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        if isinstance(start, bool) or isinstance(end, bool):
            continue
        if not 0 <= start < end <= len(text):
            continue
        # A marker is a short inline token; a span over a line break would splice block
        # structure (lists, code fences) into link text.
        if "\n" in text[start:end]:
            continue
        spans.append((start, end, index))
    spans.sort()
    result: list[tuple[int, int, int]] = []
    last_end = -1
    for start, end, index in spans:
        if start < last_end:
            continue  # overlapping: the server's offsets are inconsistent; keep the first
        # Several citations may share one marker (same span): link it to the first of them.
        result.append((start, end, index))
        last_end = end
    return result


def _marker_href(citation: Mapping[str, Any], index: int) -> str:
    """``cite:K`` for a citation; a web source (a dict with an http(s) ``url``) links to its
    page, in the angle-bracket form so no character of the address can end the link."""
    url = web_url(citation.get("url"))
    if url is None:
        return f"{CITE_SCHEME}:{index}"
    return "<" + url.replace("<", "%3C").replace(">", "%3E").replace("\n", "") + ">"


def link_citation_markers(text: str, citations: Sequence[Mapping[str, Any]]) -> str:
    """Return ``text`` with each citation's ``[marker_start, marker_end)`` span replaced by a
    Markdown link ``[<marker>](cite:K)``, K being the citation's index in ``citations`` (a
    web source's marker links to its page instead).

    Offsets are Python ``str`` indices (code points), which is exactly what slicing uses, so
    non-BMP characters (emoji) before a marker need no correction. Invalid, out-of-range or
    overlapping spans are skipped rather than trusted.
    """
    spans = _valid_spans(text, citations)
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end, index in spans:
        chunk = text[pos:start]
        # An unescaped "!" right before our "[" would turn the link into an image.
        if chunk.endswith("!") and not chunk.endswith("\\!"):
            chunk = chunk[:-1] + "\\!"
        parts.append(chunk)
        href = _marker_href(citations[index], index)
        parts.append(f"[{escape_markdown(text[start:end])}]({href})")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


class SafeTextDocument(QTextDocument):
    """A ``QTextDocument`` that never loads a resource (image, stylesheet) from anywhere.

    Messages come from a server. A plain ``QTextDocument`` reads local files for ``file:``
    image URLs, and Qt's image handler *also* falls back to loading the file itself when
    ``loadResource`` returns nothing — so every request is answered with a blank 1×1 image
    (a non-null answer stops the fallback) and remembered in ``refused_resources``.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.refused_resources: list[str] = []

    def loadResource(self, type_: int, name: QUrl | str) -> Any:
        """Answer every resource request with a blank image (never the real file)."""
        name = QUrl(name) if isinstance(name, str) else name
        self.refused_resources.append(name.toString())
        if int(type_) == int(QTextDocument.ResourceType.ImageResource):
            image = _blank_image()
            self.addResource(int(type_), name, image)  # answer repeats from the cache
            return image
        return QByteArray()


def _blank_image() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    return image


def polish_document(
    document: QTextDocument, link_color: QColor, code_background: QColor | None = None
) -> None:
    """Post-process a parsed message for the current palette.

    ``cite:`` anchors get a compact, bold, non-underlined look so ``[1]`` reads as a reference
    mark; other links get ``link_color`` (the importer bakes in the palette at parse time, which
    is too dark on a dark background); code blocks and inline code get a faint background.
    """
    cursor = QTextCursor(document)
    block = document.begin()
    while block.isValid():
        block_format = block.blockFormat()
        if code_background is not None and (
            block_format.hasProperty(QTextFormat.Property.BlockCodeFence)
            or block_format.hasProperty(QTextFormat.Property.BlockCodeLanguage)
        ):
            change_block = QTextBlockFormat()
            change_block.setBackground(code_background)
            cursor.setPosition(block.position())
            cursor.mergeBlockFormat(change_block)
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid():
                fmt = fragment.charFormat()
                change: QTextCharFormat | None = None
                if fmt.isAnchor() and fmt.anchorHref().startswith(CITE_SCHEME + ":"):
                    change = QTextCharFormat()
                    change.setFontUnderline(False)
                    change.setFontWeight(QFont.Weight.DemiBold)
                    change.setForeground(link_color)
                elif fmt.isAnchor():
                    change = QTextCharFormat()
                    change.setForeground(link_color)
                elif (
                    code_background is not None
                    and fmt.fontFixedPitch()
                    and not block_format.hasProperty(QTextFormat.Property.BlockCodeFence)
                ):
                    change = QTextCharFormat()
                    change.setBackground(code_background)
                if change is not None:
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(
                        fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor
                    )
                    cursor.mergeCharFormat(change)
            it += 1
        block = block.next()


def render_markdown(
    document: QTextDocument,
    text: str,
    citations: Sequence[Mapping[str, Any]] = (),
    *,
    link_color: QColor | None = None,
    code_background: QColor | None = None,
) -> None:
    """Fill ``document`` with ``text`` as safe GitHub Markdown, markers linked to citations."""
    document.setMarkdown(link_citation_markers(text, citations), MARKDOWN_FEATURES)
    if link_color is not None:
        polish_document(document, link_color, code_background)


def link_action(url: str) -> str:
    """What a click on ``url`` may do: ``"cite"`` (open the moment), ``"web"`` (http/https in
    the system browser) or ``"ignore"`` (file:, javascript:, data:, relative, anything else)."""
    parsed = QUrl(url)
    scheme = parsed.scheme().lower()
    if scheme == CITE_SCHEME:
        return "cite" if citation_index(url) is not None else "ignore"
    if scheme in ("http", "https") and parsed.isValid() and parsed.host():
        return "web"
    return "ignore"


def citation_index(url: str) -> int | None:
    """The citation index K of a ``cite:K`` URL, or None."""
    prefix = CITE_SCHEME + ":"
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix):]
    return int(rest) if rest.isdigit() else None


def question_markdown(message: Message) -> str:
    """A question's Markdown as the transcript shows it: each ``{{sel:N}}`` replaced by the
    name of what it asks about (escaped: a video title is not Markdown)."""
    if not message.selections:
        return message.text
    named = [dict(s, name=escape_markdown(selection_label(s))) for s in message.selections]
    return resolve_selection_placeholders(message.text, named)


def message_as_markdown(message: Message) -> str:
    """One message as plain Markdown for the clipboard (the raw text as the user saw it: a
    question with the names of what it asked about, never placeholders)."""
    if message.role is Role.USER:
        return question_text(message)
    return message.text
