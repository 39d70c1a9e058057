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

from .sanitize import sanitize_text

#: Characters the unicode61 tokenizer treats as separators anyway; stripping them first means a
#: term made only of punctuation is dropped instead of becoming an empty phrase.
_WORD = re.compile(r"\w", re.UNICODE)
MAX_TERMS = 16
MIN_PREFIX_LENGTH = 3


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
