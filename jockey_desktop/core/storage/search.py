"""Turn what the user typed into a safe FTS5 MATCH expression.

FTS5 has its own query language (AND/OR/NOT/NEAR, ``column:``, ``^``, ``*``, parentheses,
quotes); raw user input would raise syntax errors or mean something else. Every term is
therefore quoted as a string (``"`` doubled inside), terms are ANDed (FTS5's implicit
operator), and the last term gets ``*`` so "vid" already finds "video" while typing. A last
term shorter than ``MIN_PREFIX_LENGTH`` is matched whole: "t*" or "th*" expands to thousands
of index terms and would make every keystroke slow on a big history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .models import HIGHLIGHT_END, HIGHLIGHT_START, SearchHit
from .sanitize import sanitize_text

#: Characters the unicode61 tokenizer treats as separators anyway; stripping them first means a
#: term made only of punctuation is dropped instead of becoming an empty phrase.
_WORD = re.compile(r"\w", re.UNICODE)
MAX_TERMS = 16
#: How many conversations a search lists (the best ones). The sidebar asks for one more, so it
#: can tell "these are all" from "more match: narrow the search".
SEARCH_SHOWN = 50
MIN_PREFIX_LENGTH = 3
#: bm25 over one short title field is not directly comparable to bm25 over message text; a
#: title match is a strong signal, so its score is scaled up (more negative = better).
TITLE_RANK_WEIGHT = 2.0


def build_match_query(text: str) -> str | None:
    """The MATCH expression for ``text``, or None when it contains no searchable word."""
    clean = sanitize_text(text).replace("\x00", " ")
    terms = [t for t in clean.split() if _WORD.search(t)][:MAX_TERMS]
    if not terms:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    if len(terms[-1]) >= MIN_PREFIX_LENGTH:
        quoted[-1] += "*"
    return " ".join(quoted)


# --- snippets ------------------------------------------------------------------------------
#
# Messages are indexed by their plain text (``messages.plain_text``, Markdown stripped once when
# the message was written), so a snippet needs no syntax stripping: it is cut from the
# highlighted plain text around the first match.

#: Characters of context kept before the first match (then back to a word start): a few words,
#: so a one-line search row shows the match rather than eliding it away.
SNIPPET_LEAD_CHARS = 24
#: Length of a snippet before it is cut (at a word end, never inside a match).
SNIPPET_CHARS = 160
ELLIPSIS = "…"


def make_snippet(highlighted: str, *, lead: int = SNIPPET_LEAD_CHARS,
                 length: int = SNIPPET_CHARS) -> str:
    """One line cut from ``highlighted`` (plain text with matches wrapped in
    ``HIGHLIGHT_START`` / ``HIGHLIGHT_END``): starting at most about ``lead`` characters
    before the first match, about ``length`` characters long, cut only between words (so a
    matched word is always whole), with "…" where text was left out."""
    text = " ".join(highlighted.split())
    first = text.find(HIGHLIGHT_START)
    begin = 0
    if first > lead:
        begin = first - lead
        # Start at a word start: after the first space in the lead (or at the match itself).
        space = text.find(" ", begin, first)
        begin = space + 1 if space != -1 else _word_start(text, first)
    end = begin + length
    if end >= len(text):
        return (ELLIPSIS if begin else "") + text[begin:]
    # Never end inside a highlight, nor before the first match is whole.
    must_keep = text.find(HIGHLIGHT_END, max(first, begin)) + 1 if first >= 0 else begin
    opened = text.rfind(HIGHLIGHT_START, begin, end)
    if opened > text.rfind(HIGHLIGHT_END, begin, end):
        closing = text.find(HIGHLIGHT_END, end)
        end = len(text) if closing == -1 else closing + 1
    end = max(end, must_keep)
    if end < len(text) and text[end] != " " and text[end - 1] != " ":
        # Inside a word: back to the last space after what must be kept, else forward.
        space = text.rfind(" ", must_keep, end)
        if space > begin:
            end = space
        else:
            forward = text.find(" ", end)
            end = len(text) if forward == -1 else forward
    body = text[begin:end].rstrip()
    return (ELLIPSIS if begin else "") + body + (ELLIPSIS if end < len(text) else "")


def _word_start(text: str, index: int) -> int:
    """Where the space-delimited word holding ``text[index]`` starts."""
    space = text.rfind(" ", 0, index)
    return space + 1


def one_hit_per_conversation(title_rows: Iterable[Sequence[Any]],
                             message_rows: Iterable[Sequence[Any]],
                             limit: int) -> list[SearchHit]:
    """Merge title matches ``(conversation_id, highlighted_title, rank, title)`` and message
    matches ``(message_id, conversation_id, title, snippet, rank)`` into at most ``limit``
    hits, one per conversation, best first.

    A conversation shows its best message: the title is on the hit row anyway, so an excerpt
    says more. Its rank is the better of its title and message ranks. Title-only matches keep
    the highlighted title as snippet.
    """
    best: dict[int, SearchHit] = {}
    title_rank: dict[int, float] = {}
    for conv_id, highlighted, rank, title in title_rows:
        title_rank[conv_id] = float(rank) * TITLE_RANK_WEIGHT
        best[conv_id] = SearchHit(conversation_id=conv_id, title=title, snippet=highlighted,
                                  message_id=None, rank=title_rank[conv_id])
    seen_message: set[int] = set()
    for message_id, conv_id, title, snippet, rank in message_rows:
        if conv_id in seen_message:
            continue  # rows come best first: the first one of a conversation wins
        seen_message.add(conv_id)
        rank = min(float(rank), title_rank.get(conv_id, float("inf")))
        best[conv_id] = SearchHit(conversation_id=conv_id, title=title, snippet=snippet,
                                  message_id=message_id, rank=rank)
    hits = sorted(best.values(), key=lambda h: h.rank)
    return hits[:limit]
