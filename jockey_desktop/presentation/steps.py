"""What an answer's Steps list and its live line say (Qt-free).

An answer's stored ``steps`` are ``Step.to_dict()`` records (``kind``: ``commentary``,
``function_call``, ``function_call_output``, ``web_search``, ``other``), followed by the
app's record of the web sources (:mod:`jockey_desktop.core.web_sources`). Imported
conversations may also hold raw API output items (``type``: ``message``, …): both are read.
Only the ``final_answer`` message is ever the answer; everything here is a step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from jockey_desktop.core.web_sources import WEB_SOURCES_KIND, split_web_sources, web_source_host
from jockey_desktop.presentation.formatting import plain_line

COMMENTARY = "commentary"
TOOL_CALL = "function_call"
TOOL_OUTPUT = "function_call_output"
WEB_SEARCH = "web_search"
OTHER = "other"

#: A raw API item's ``type`` → the step kind it is.
_ITEM_KINDS = {"message": COMMENTARY, "function_call": TOOL_CALL,
               "function_call_output": TOOL_OUTPUT, "jockey:web_search": WEB_SEARCH}
_KINDS = frozenset({COMMENTARY, TOOL_CALL, TOOL_OUTPUT, WEB_SEARCH, OTHER})

#: A tool output (or very long arguments) is shown up to this many lines / characters until
#: the user expands it.
PREVIEW_LINES = 6
PREVIEW_CHARS = 480
#: Nothing is laid out beyond this, even expanded: a megabyte of tool output would freeze
#: the transcript, and the export keeps the whole of it anyway.
EXPANDED_CHARS = 20_000
#: The live line shows at most this much of the latest commentary.
LIVE_CHARS = 160


@dataclass(frozen=True)
class StepLine:
    """One step as the Steps list shows it."""

    kind: str
    #: The heading: "Tool call · search_knowledge_store", "Web search", the commentary text…
    title: str
    #: The detail under the heading (pretty arguments, an output, the queries), "" if none.
    body: str = ""
    #: ``body`` cut to the preview limits (== ``body`` when it fits).
    preview: str = ""
    #: True when ``preview`` leaves something out: the list offers "Show all".
    truncated: bool = False
    #: The step was still running when it was last seen.
    running: bool = False


def step_kind(step: Mapping[str, Any]) -> str:
    """The kind of a stored step (the app's ``kind``, or a raw API item's ``type``)."""
    kind = step.get("kind")
    if isinstance(kind, str) and kind in _KINDS:
        return kind
    item_type = step.get("type")
    if isinstance(item_type, str):
        return _ITEM_KINDS.get(item_type, OTHER)
    return OTHER


def _text_of(step: Mapping[str, Any]) -> str:
    text = step.get("text")
    if isinstance(text, str):
        return text
    content = step.get("content")  # a raw message item
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content
                       if isinstance(part, Mapping))
    return ""


def _queries_of(step: Mapping[str, Any]) -> list[str]:
    queries = step.get("queries")
    if queries is None:
        action = step.get("action")
        queries = action.get("queries") if isinstance(action, Mapping) else None
    return [q for q in queries if isinstance(q, str) and q.strip()] \
        if isinstance(queries, list) else []


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def pretty_json(text: str) -> str:
    """``text`` indented when it is JSON (tool arguments and outputs are JSON strings),
    else as it came."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return text
    try:
        return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def preview(text: str, *, lines: int = PREVIEW_LINES,
            chars: int = PREVIEW_CHARS) -> tuple[str, bool]:
    """(the first ``lines`` lines / ``chars`` characters of ``text``, whether it was cut)."""
    cut = text
    parts = cut.split("\n")
    if len(parts) > lines:
        cut = "\n".join(parts[:lines])
    if len(cut) > chars:
        cut = cut[:chars].rstrip()
    if cut == text:
        return text, False
    return cut.rstrip() + " …", True


def _bounded(text: str) -> str:
    if len(text) <= EXPANDED_CHARS:
        return text
    return text[:EXPANDED_CHARS].rstrip() + f" … ({len(text) - EXPANDED_CHARS:,} more characters)"


def step_line(step: Mapping[str, Any]) -> StepLine:
    """One stored step as the list shows it."""
    kind = step_kind(step)
    running = step.get("status") == "in_progress"
    if kind == COMMENTARY:
        return StepLine(kind, plain_line(_text_of(step)) or "…", running=running)
    if kind == TOOL_CALL:
        name = step.get("name") if isinstance(step.get("name"), str) else None
        body = _bounded(pretty_json(_json_text(step.get("arguments"))))
        shown, cut = preview(body, lines=PREVIEW_LINES * 2, chars=PREVIEW_CHARS * 2)
        return StepLine(kind, f"Tool call · {name or 'tool'}", body, shown, cut, running)
    if kind == TOOL_OUTPUT:
        body = _bounded(pretty_json(_json_text(step.get("output"))))
        shown, cut = preview(body)
        return StepLine(kind, "Tool output", body, shown, cut, running)
    if kind == WEB_SEARCH:
        queries = _queries_of(step)
        body = "\n".join(f"“{q}”" for q in queries)
        return StepLine(kind, "Web search", body, body, False, running)
    item_type = step.get("item_type") or step.get("type")
    label = item_type if isinstance(item_type, str) and item_type else "Step"
    text = " ".join(_text_of(step).split())
    shown, cut = preview(text)
    return StepLine(OTHER, label, text, shown, cut, running)


def step_lines(stored: Sequence[Any]) -> list[StepLine]:
    """The Steps list of an answer (its web-sources record left out)."""
    steps, _sources = split_web_sources(stored)
    return [step_line(step) for step in steps]


def step_count(stored: Sequence[Any]) -> int:
    """How many steps an answer has (its web-sources record left out)."""
    return len(split_web_sources(stored)[0])


def steps_heading(count: int, expanded: bool) -> str:
    """The toggle that opens and closes the list: "▸ Steps (5)" / "▾ Steps (5)"."""
    return f"{'▾' if expanded else '▸'} Steps ({count})"


def live_activity(stored: Sequence[Any]) -> str | None:
    """What the agent is doing now, for the line under an answer in progress: a web search
    that is running ("Searching the web for “…”"), else the latest commentary ("Looking for
    scenes with…"); None when there is nothing to say (the line then says "Thinking")."""
    # Read from the end: the line is painted on every update of a long list.
    steps = (entry for entry in reversed(stored)
             if isinstance(entry, Mapping) and entry.get("kind") != WEB_SOURCES_KIND)
    last = next(steps, None)
    if last is None:
        return None
    if step_kind(last) == WEB_SEARCH and last.get("status") == "in_progress":
        queries = _queries_of(last)
        return f"Searching the web for “{queries[0]}”" if queries else "Searching the web"
    for step in chain((last,), steps):
        if step_kind(step) == COMMENTARY:
            text = plain_line(_text_of(step))
            if text:
                return text if len(text) <= LIVE_CHARS else text[:LIVE_CHARS - 1].rstrip() + "…"
    return None


@dataclass(frozen=True)
class WebSourceLine:
    """One numbered web source under an answer."""

    number: int
    url: str
    #: "Predators hunt: an overview · example.org"
    label: str


def web_source_lines(stored: Sequence[Any], answer_text: str = "") -> list[WebSourceLine]:
    """The answer's web sources, numbered as their markers in ``answer_text`` read ("[5]")
    when they have one, else counting on from the highest number used."""
    return number_web_sources(split_web_sources(stored)[1], answer_text)


def number_web_sources(sources: Sequence[Mapping[str, Any]],
                       answer_text: str = "") -> list[WebSourceLine]:
    """:func:`web_source_lines` of sources already split from the stored steps
    (``core.web_sources.split_web_sources``)."""
    lines: list[WebSourceLine] = []
    used: set[int] = set()
    numbers: list[int | None] = []
    for source in sources:
        numbers.append(_marker_number(answer_text, source))
    used.update(n for n in numbers if n is not None)
    next_number = max(used, default=0)
    for source, number in zip(sources, numbers, strict=True):
        if number is None:
            next_number += 1
            number = next_number
        title = " ".join(str(source.get("title") or "").split())
        host = web_source_host(source["url"])
        label = f"{title} · {host}" if title and host else title or source["url"]
        lines.append(WebSourceLine(number, source["url"], label))
    return lines


def _marker_number(text: str, source: Mapping[str, Any]) -> int | None:
    start, end = source.get("marker_start"), source.get("marker_end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
        return None
    marker = text[start:end].strip()
    if marker.startswith("[") and marker.endswith("]") and marker[1:-1].isdigit():
        return int(marker[1:-1])
    return None
