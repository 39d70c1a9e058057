"""Web pages an answer cites (hosted web search), and how the app keeps them with the answer.

No Qt, no HTTP client: the storage export, the presentation rules and the controller all use
it, and none of them should pay for importing ``core.api`` to read a stored answer.

The API gives web sources as annotations on the answer's text (jockey-api.md §3.3). The app
keeps them in the answer's ``Message.steps`` list — the one opaque, per-answer JSON list the
schema has — as a single trailing record ``{"kind": "web_sources", "sources": [...]}``;
:func:`split_web_sources` separates it from the agent's steps again, so the Steps list, the
exports and the sources list each see only their own part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

#: ``kind`` of the record holding an answer's web sources inside ``Message.steps``.
WEB_SOURCES_KIND = "web_sources"


def web_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL with a host, else None (a ``javascript:``
    or ``file:`` address must never become a link the user can open)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def _index(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clean_web_source(data: Any) -> dict[str, Any] | None:
    """One web source as a plain dict (``url``, ``title``, ``marker_start``, ``marker_end``),
    or None when it has no http(s) ``url``. Lenient about everything else: stored data may
    come from an imported file."""
    if not isinstance(data, Mapping):
        return None
    url = web_url(data.get("url"))
    if url is None:
        return None
    title = data.get("title")
    return {"url": url, "title": title.strip() or None if isinstance(title, str) else None,
            "marker_start": _index(data.get("marker_start")),
            "marker_end": _index(data.get("marker_end"))}


def record_web_sources(steps: Iterable[Mapping[str, Any]],
                       sources: Iterable[Any]) -> list[dict[str, Any]]:
    """``steps`` followed by one record of the web ``sources`` (none when there are none):
    what the controller saves as an answer's ``steps``."""
    kept = [dict(step) for step in steps if step.get("kind") != WEB_SOURCES_KIND]
    clean = [c for c in (clean_web_source(s) for s in sources) if c is not None]
    if clean:
        kept.append({"kind": WEB_SOURCES_KIND, "sources": clean})
    return kept


def split_web_sources(
    stored: Sequence[Any],
) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
    """(the agent's steps, the web sources) of an answer's stored ``steps``; entries that
    are not dicts are dropped, sources without an http(s) URL too."""
    steps: list[Mapping[str, Any]] = []
    sources: list[dict[str, Any]] = []
    for entry in stored:
        if not isinstance(entry, Mapping):
            continue
        if entry.get("kind") != WEB_SOURCES_KIND:
            steps.append(entry)
            continue
        listed = entry.get("sources")
        for source in listed if isinstance(listed, list) else []:
            clean = clean_web_source(source)
            if clean is not None:
                sources.append(clean)
    return steps, sources


def web_source_host(url: str) -> str:
    """The host a source is on, without ``www.`` ("" when the URL has none)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host
