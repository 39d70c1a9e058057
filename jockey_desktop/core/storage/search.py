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
# Messages are stored as the Markdown Jockey wrote; a search snippet is shown as one line of
# plain text, so the syntax is stripped. Snippets are fragments (FTS5 cuts them anywhere), so
# every pattern also copes with a construct cut at either end. The highlight markers
# (HIGHLIGHT_START/END, control characters) are never removed except inside a dropped URL,
# where FTS5 puts both of a token's markers.
_HL = HIGHLIGHT_START + HIGHLIGHT_END
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)?")  # [text](url…  -> text
_LINK_TAIL = re.compile(r"\]\([^)\s]*\)?")  # text](url)  (opening "[" cut off)
_CITATION = re.compile(rf"\s?\[[{_HL}]?\d+[{_HL}]?(?:\s*,\s*[{_HL}]?\d+[{_HL}]?)*\]")
_VREF_TAG = re.compile(r"</?vref\b[^<>]*>", re.IGNORECASE)
_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")
_QUOTE_OR_BULLET = re.compile(r"(?m)^[ \t]*(?:>[ \t]?|[-*+][ \t]+)")
_STRONG = re.compile(r"\*{2,}|(?<!\w)_{2,}|_{2,}(?!\w)")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<!\w)_(?=\S)|(?<=\S)_(?!\w)")
_BACKTICKS = re.compile(r"`+")
_EMPTY_HIGHLIGHT = re.compile(re.escape(HIGHLIGHT_START + HIGHLIGHT_END))
_SPACE = re.compile(r"\s+")


def plain_snippet(snippet: str) -> str:
    """``snippet`` without Markdown syntax (emphasis, code ticks, headings, quotes, bullets,
    link/image syntax, ``[N]`` citation markers, ``<vref>`` tags), on one line, highlight
    markers kept. Plain words, inline time ranges such as ``[01:02-01:10]`` and identifiers
    like ``snake_case`` stay as they are."""
    text = _VREF_TAG.sub("", snippet)
    text = _IMAGE_OR_LINK.sub(r"\1", text)
    text = _LINK_TAIL.sub("", text)
    text = _CITATION.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE_OR_BULLET.sub("", text)
    text = _BACKTICKS.sub("", text)
    text = _STRONG.sub("", text)
    text = _EM_STAR.sub("", text)
    text = _EM_UNDERSCORE.sub("", text)
    text = _EMPTY_HIGHLIGHT.sub("", text)
    return _SPACE.sub(" ", text).strip()


def one_hit_per_conversation(title_rows: Iterable[Sequence[Any]],
                             message_rows: Iterable[Sequence[Any]],
                             limit: int) -> list[SearchHit]:
    """Merge title matches ``(conversation_id, highlighted_title, rank, title)`` and message
    matches ``(message_id, conversation_id, title, snippet, rank)`` into at most ``limit``
    hits, one per conversation, best first.

    A conversation shows its best message (snippet made plain by :func:`plain_snippet`): the
    title is on the hit row anyway, so an excerpt says more. Its rank is the better of its
    title and message ranks. Title-only matches keep the highlighted title as snippet.
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
        best[conv_id] = SearchHit(conversation_id=conv_id, title=title,
                                  snippet=plain_snippet(snippet), message_id=message_id,
                                  rank=rank)
    hits = sorted(best.values(), key=lambda h: h.rank)
    return hits[:limit]
