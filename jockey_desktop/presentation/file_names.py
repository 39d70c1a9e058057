"""The file name an export suggests, from a conversation's title (no Qt).

Titles are usually questions ("What are the main themes in these videos?"): every character
that is not a letter or a digit became "_", so the dialog offered "What are the main themes
in these videos_.md", cut mid-word at 80 characters. Here characters no file system likes are
dropped (as spaces), the name is cut between words, and names Windows reserves are avoided.
"""

from __future__ import annotations

import re
from pathlib import PurePath

#: Punctuation kept in a suggested name: safe on every file system and common in titles.
_KEPT = frozenset(" -_,.'()&+!#")
#: Names Windows refuses whatever their extension.
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                       *(f"LPT{n}" for n in range(1, 10))})
#: The longest suggested name before its suffix (titles can be a whole question).
NAME_LIMIT = 80
FALLBACK_NAME = "conversation"
#: A file name's own extension: ".md", ".txt", ".json" (not ". zebras" in "Lions vs. zebras").
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def export_file_name(title: str, suffix: str, limit: int = NAME_LIMIT, *,
                     fallback: str = FALLBACK_NAME) -> str:
    """``title`` as a file name ending in ``suffix`` (".md"), at most ``limit`` characters
    before it, cut between words; ``fallback`` ("conversation") when nothing of the title is
    usable. The one rule for every name an export offers (conversations and moments)."""
    words = "".join(c if c.isalnum() or c in _KEPT else " " for c in title).split()
    name = ""
    for word in words:
        longer = f"{name} {word}" if name else word
        if len(longer) > limit:
            break
        name = longer
    if not name and words:
        name = words[0][:limit]  # one word longer than the limit
    # A leading or trailing dot hides the file or is dropped by Windows.
    name = name.strip(" .")
    if not name or name.split(".")[0].upper() in _RESERVED:
        name = f"{fallback} {name}".strip() if name else fallback
    return name + suffix


def with_export_suffix(path: str, suffix: str) -> str:
    """``path`` with ``suffix`` added when its name has no extension of its own: a name typed
    as "notes" in the save dialog was written as "notes", which nothing opens as Markdown."""
    name = PurePath(path).name
    return path if _EXTENSION.search(name) else path + suffix
