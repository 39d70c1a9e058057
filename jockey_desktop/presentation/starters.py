"""Starter questions for an empty conversation (Qt-free).

An empty conversation should not be a blank page (issue 14.14): it offers the getting-started
guide's three questions, which work on any store, and a few drawn from the store's own videos
— their titles and their metadata — once those have been read (off the GUI thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: The Jockey guide's three-turn walk through a store (the self-test asks them too).
GUIDE_QUESTIONS = (
    "What are the main themes in these videos?",
    "Which videos best represent the first theme?",
    "Give me timestamps for the key moments in those videos",
)

#: Questions drawn from a store's videos, at most.
MAX_STORE_QUESTIONS = 3
#: A title longer than this is cut at a word (a question must read as one line).
_TITLE_ROOM = 60
#: Metadata keys that are not a subject to ask about.
_SKIP_KEYS = frozenset({"title", "filename", "description", "source", "url", "id"})


def item_title(item: Any) -> str:
    """A video's title: ``metadata.title``, else its file name without the extension."""
    metadata = getattr(item, "metadata", None) or {}
    title = metadata.get("title") if isinstance(metadata, Mapping) else None
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())
    filename = getattr(item, "filename", None)
    if isinstance(filename, str) and filename.strip():
        stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return " ".join(stem.replace("_", " ").replace("-", " ").split())
    return ""


def _short(title: str) -> str:
    if len(title) <= _TITLE_ROOM:
        return title
    cut = title[:_TITLE_ROOM].rsplit(" ", 1)[0] or title[:_TITLE_ROOM]
    return cut.rstrip(" ,;:-–—") + "…"


def _subjects(items: list[Any]) -> list[tuple[str, str]]:
    """(key, value) metadata pairs shared by several videos, most common first: "region" →
    "East Africa" reads as a subject ("the videos from East Africa")."""
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        metadata = getattr(item, "metadata", None) or {}
        if not isinstance(metadata, Mapping):
            continue
        for key, value in metadata.items():
            if (isinstance(key, str) and isinstance(value, str) and key.lower() not in _SKIP_KEYS
                    and 0 < len(value.strip()) <= 40):
                pair = (key, " ".join(value.split()))
                counts[pair] = counts.get(pair, 0) + 1
    return [pair for pair, _n in sorted(counts.items(), key=lambda kv: -kv[1])]


def store_questions(items: Iterable[Any], limit: int = MAX_STORE_QUESTIONS) -> list[str]:
    """Questions about this store's own ready videos (titles and metadata), at most
    ``limit``; empty when the store has no ready video with a title."""
    ready = [item for item in items
             if getattr(item, "status", "ready") == "ready" and item_title(item)]
    if not ready or limit <= 0:
        return []
    titles = list(dict.fromkeys(_short(item_title(item)) for item in ready))
    questions = [f"What happens in “{titles[0]}”?"]
    subjects = _subjects(ready)
    if subjects:
        key, value = subjects[0]
        questions.append(f"What do the videos with {key.replace('_', ' ')} “{value}” show?")
    if len(titles) >= 2:
        questions.append(f"How do “{titles[0]}” and “{titles[1]}” differ?")
    if len(titles) >= 3:
        questions.append(f"Summarise “{titles[2]}” with timestamps of its key moments")
    return questions[:limit]


def starter_questions(store_drawn: Iterable[str] = ()) -> list[str]:
    """What an empty conversation offers: the guide's questions, then the store's own."""
    return list(dict.fromkeys([*GUIDE_QUESTIONS, *store_drawn]))
