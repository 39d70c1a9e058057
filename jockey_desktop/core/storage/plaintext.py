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

#: Every inline construct in one pattern, each alternative starting with its own literal
#: character, so one scan per line finds them all and the engine skips straight from one
#: candidate to the next; the context rules (what precedes and follows a marker) are checked
#: in Python for the few candidates instead of by look-behinds tried at every position. This
#: runs on every message written and, once, over a whole history in the v3 migration.
_INLINE = re.compile(
    # Each alternative starts with a literal character outside any group: that is what lets
    # the engine build the set of first characters and skip from candidate to candidate.
    r"`(?P<ticks>`*)(?P<code_text>.+?)`(?P=ticks)"  # a code span: its text stays verbatim
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])"  # a backslash escape: the character stays
    r"|<(?P<autolink>(?:https?|mailto):[^<>\s]+)>"
    # Inline HTML such as <vref id=… start=… end=…/>, </vref>, <br>: the tag goes, the text
    # between tags stays. A "<" not followed by a letter ("a < b") is not a tag.
    r"|<(?P<tag>/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?)>"
    r"|!\[(?P<image>[^\]\n]*)\]\([^)\n]*\)"
    r"|\[(?P<link>[^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:[ \t]+\"[^\"\n]*\")?\)"
    # [1] / [2, 3] citation markers (not time ranges such as [01:02-01:10]).
    r"|\[(?P<citation>\d+(?:[ \t]*,[ \t]*\d+)*)\](?!\()"
    r"|\[(?P<ref>[^\]\n]+)\]\[[^\]\n]*\]"
    r"|~(?P<strike>~)"
    r"|\*(?P<stars>\**)"
    r"|_(?P<underscores>_*)"
)
#: Marks where a citation was removed so the space before it goes too; a lone surrogate can
#: never be in sanitised text.
_CUT = "\ud800"

#: A selection placeholder in a question's text: ``{{sel:0}}`` is the first selection.
SELECTION_PLACEHOLDER = re.compile(r"\{\{sel:(\d{1,6})\}\}")


def _is_word(char: str) -> bool:
    """Whether ``char`` is a regex word character; "" (the edge of the text) is not."""
    return bool(char) and (char.isalnum() or char == "_")


def _emphasis_edge(before: str, after: str) -> bool:
    """Whether a single ``*`` or ``_`` between these characters opens or closes emphasis:
    it opens before a non-space after a non-word, or closes after a non-space before a
    non-word (so ``snake_case`` and ``5 * 3`` stay)."""
    opens = not _is_word(before) and bool(after) and not after.isspace()
    closes = bool(before) and not before.isspace() and not _is_word(after)
    return opens or closes


def _inline(match: re.Match[str]) -> str:
    """The plain text of one inline construct found by ``_INLINE``."""
    kind = match.lastgroup
    if kind in ("ticks", "code_text"):
        return match.group("code_text")
    if kind in ("escaped", "autolink"):
        return match.group(kind)
    if kind in ("tag", "strike"):
        return ""
    if kind in ("image", "link", "ref"):
        return _strip_inline(match.group(kind))  # a link's text may hold emphasis
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    run = match.group()
    if kind == "citation":
        return run if _is_word(before) else _CUT  # items[0] is not a marker
    if kind == "stars":
        return "" if len(run) >= 2 or _emphasis_edge(before, after) else run
    # underscores
    if len(run) >= 2:
        return "" if not _is_word(before) or not _is_word(after) else run
    return "" if _emphasis_edge(before, after) else run


def _strip_inline(text: str) -> str:
    """Markdown inline syntax removed from one line (code spans and escapes kept literal)."""
    text = _INLINE.sub(_inline, text)
    if _CUT in text:
        text = text.replace(" " + _CUT, "").replace("\t" + _CUT, "").replace(_CUT, "")
    return text


#: First characters (after indentation) of a line that may be block syntax; other lines skip
#: the block patterns.
_BLOCK_START = frozenset("#>-*+_=|:")


def _plain_line(line: str) -> str | None:
    """One line of Markdown (outside code fences) as plain text; None for a line that is
    only syntax and goes entirely (a table's header rule)."""
    if line.lstrip(" \t")[:1] in _BLOCK_START:
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
    return " ".join(_strip_inline(line).split())


def markdown_to_plain(text: str) -> str:
    """``text`` (Markdown) as plain text: the words without syntax, one paragraph per line
    group, code kept verbatim, citation markers ``[N]`` and ``<vref>`` tags removed, inline
    time ranges such as ``[01:02-01:10]`` and identifiers such as ``snake_case`` kept."""
    lines: list[str] = []
    fence: str | None = None
    for line in sanitize_text(text).splitlines():
        opening = _FENCE.match(line) if "`" in line or "~" in line else None
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
