"""A message as plain text: the one place Markdown is stripped and ``{{sel:N}}`` resolved.

Storage writes ``messages.plain_text`` with :func:`message_plain_text` whenever it writes a
message's text (at save time, once); full-text search indexes that column and search snippets
are cut from it, so no query ever has to strip Markdown again.

Jockey answers in Markdown (headings, emphasis, lists, tables, links, code, ``[N]`` citation
markers and sometimes ``<vref …>`` tags); those are stripped and their words kept. A user's
question is literal text: only its selection placeholders are replaced by the names of what
was selected. Pure functions, no Qt; they never raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .sanitize import sanitize_text

# --- block level (one line at a time) ---------------------------------------------------------

#: An opening or closing code fence: the fence line goes, the code lines stay verbatim.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
#: A thematic break (---, ***, ___) or a setext heading underline (=== / ---).
_RULE = re.compile(r"^[ \t]{0,3}(?:(?:[-*_][ \t]*){3,}|=+[ \t]*)$")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+|$)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+(?:\[[ xX]\][ \t]+)?")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?[ \t]*)?$")

# --- inline ---------------------------------------------------------------------------------

#: Code spans and backslash escapes: their content is literal (no emphasis stripping inside).
_LITERAL = re.compile(r"(`+)(.+?)\1|\\([!-/:-@\[-`{-~])")
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:[ \t]+\"[^\"\n]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>", re.IGNORECASE)
#: Inline HTML such as ``<vref id=… start=… end=…/>``, ``</vref>``, ``<br>``: the tag goes,
#: text between tags stays. A ``<`` not followed by a letter ("a < b") is not a tag.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
#: ``[1]`` / ``[2, 3]`` citation markers (with the space before them), but not ``x[0]`` and
#: not time ranges such as ``[01:02-01:10]``.
_CITATION = re.compile(r"[ \t]?(?<!\w)\[\d+(?:[ \t]*,[ \t]*\d+)*\](?!\()")
_STRIKE = re.compile(r"~~")
_STRONG = re.compile(r"\*{2,}|(?<!\w)_{2,}|_{2,}(?!\w)")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<!\w)_(?=\S)|(?<=\S)_(?!\w)")
_SPACES = re.compile(r"[ \t\f\v]+")

#: A selection placeholder in a question's text: ``{{sel:0}}`` is the first selection.
SELECTION_PLACEHOLDER = re.compile(r"\{\{sel:(\d{1,6})\}\}")


def _strip_inline(segment: str) -> str:
    """Markdown inline syntax removed from text that holds no code span or escape."""
    text = _TAG.sub("", segment)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _CITATION.sub("", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _STRIKE.sub("", text)
    text = _STRONG.sub("", text)
    text = _EM_STAR.sub("", text)
    return _EM_UNDERSCORE.sub("", text)


def _plain_line(line: str) -> str | None:
    """One line of Markdown (outside code fences) as plain text; None for a line that is
    only syntax and goes entirely (a table's header rule)."""
    if _TABLE_RULE.match(line):
        return None
    if _RULE.match(line):
        return ""  # a thematic break still separates paragraphs
    if _HEADING.match(line):
        line = _CLOSING_HASHES.sub("", _HEADING.sub("", line, count=1))
    line = _QUOTE.sub("", line, count=1)
    line = _BULLET.sub("", line, count=1)
    if _TABLE_ROW.match(line):
        line = line.strip().strip("|").replace("|", "  ")
    parts: list[str] = []
    last = 0
    for match in _LITERAL.finditer(line):
        parts.append(_strip_inline(line[last:match.start()]))
        parts.append(match.group(2) if match.group(2) is not None else match.group(3))
        last = match.end()
    parts.append(_strip_inline(line[last:]))
    return _SPACES.sub(" ", "".join(parts)).strip()


def markdown_to_plain(text: str) -> str:
    """``text`` (Markdown) as plain text: the words without syntax, one paragraph per line
    group, code kept verbatim, citation markers ``[N]`` and ``<vref>`` tags removed, inline
    time ranges such as ``[01:02-01:10]`` and identifiers such as ``snake_case`` kept."""
    lines: list[str] = []
    fence: str | None = None
    for line in sanitize_text(text).splitlines():
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(
                    fence) and not line[opening.end():].strip():
                fence = None
            else:
                lines.append(line.rstrip())
            continue
        if opening:
            fence = opening.group(1)
            continue
        plain = _plain_line(line)
        if plain is not None:
            lines.append(plain)
    # At most one empty line between paragraphs, none at either end.
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def selection_label(selection: Mapping[str, Any]) -> str:
    """What a selection is called in text: its name, else its id."""
    name = str(selection.get("name") or "").strip()
    return name or str(selection.get("id") or "")


def resolve_selection_placeholders(text: str,
                                   selections: Sequence[Mapping[str, Any]]) -> str:
    """``text`` with each ``{{sel:N}}`` replaced by the name of selection N; a placeholder
    without a selection (or without a name or id) stays as written."""
    if "{{sel:" not in text:
        return text

    def name_of(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index < len(selections):
            return selection_label(selections[index]) or match.group(0)
        return match.group(0)

    return SELECTION_PLACEHOLDER.sub(name_of, text)


def message_plain_text(role: str, text: str,
                       selections: Sequence[Mapping[str, Any]] = ()) -> str:
    """The ``plain_text`` stored for a message: an assistant's Markdown stripped by
    :func:`markdown_to_plain`; a question's (or seam's) literal text with its selection
    placeholders resolved to names."""
    text = sanitize_text(text)
    if role == "assistant":
        return markdown_to_plain(text)
    return resolve_selection_placeholders(text, selections)
