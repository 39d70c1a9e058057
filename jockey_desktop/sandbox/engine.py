"""The sandbox's answer engine: BM25 retrieval over timed moments plus follow-up resolution.

Every ready video's moments are indexed (description + transcript + tags + video title). A
question is routed to one of four answer shapes:

- "main themes" → moments grouped by tag into named themes (``theme_names`` of the store file,
  otherwise the tag), each with cited example moments;
- "Which videos best represent the first theme?" → the ordinal is resolved against the themes
  of the previous turn (recomputed if there was none), videos ranked by moments on that theme;
- "timestamps … those videos" → the videos of the previous answer, with their key moments;
- anything else → the top BM25 moments, grouped by video. No match → a polite "nothing in the
  store matches", without citations.

Answers are short Markdown. Each cited moment gets an ``[N]`` marker (the same moment keeps its
number) and one ``video_citation`` annotation whose ``start_index``/``end_index`` are the
marker's inclusive code-point offsets. The per-turn ``memory`` (themes, videos cited, theme
tag) is what the server stores in the session for the next follow-up.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.sandbox.data import Moment, Store, Video

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_STOPWORD_TEXT = """
say said says talk talks talked mention mentions mentioned discuss discussed happen happens
happened describe explain anything something know want see seen look looks get got also
a about above after again all am an and any are as at be been before being below between
both but by can could did do does doing down during each few for from further give had has
have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our out over own same she should show shows so
some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your
video videos clip clips moment moments tell find me please
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
             "4th": 3, "fifth": 4, "5th": 4, "last": -1, "final": -1}
_THEME_REF = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|final)\s+(?:main\s+)?"
    r"(?:theme|topic)\b|\b(?:theme|topic)\s*#?\s*(\d)\b", re.IGNORECASE)
_THEMES = re.compile(r"\b(themes?|topics|main ideas|recurring|what (?:is|are) .{0,30}about)\b",
                     re.IGNORECASE)
_THOSE_VIDEOS = re.compile(
    r"\b(?:those|these|the same|both|all three|all two)\s+(?:videos?|clips?|ones|films?)\b"
    r"|\bin (?:them|each of them)\b", re.IGNORECASE)
_SELECTION = re.compile(r"\{\{sel:(\d+)\}\}")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with stop words removed and a light suffix stemmer applied."""
    words = []
    for raw in _WORD.findall(text.casefold()):
        if raw in _STOPWORDS:
            continue
        words.append(_stem(raw))
    return words


def _stem(word: str) -> str:
    # Crude but symmetric: the same stemmer runs on documents and questions.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # "price"/"pricing" → "pric", "dance"/"dancing" → "danc"
    return word


# A few everyday words mapped to the vocabulary of the sample data (applied to questions).
_SYNONYMS = {"cost": "pric", "expensiv": "pric", "cheap": "pric", "kill": "hunt",
             "predator": "predation", "prey": "hunt", "baby": "newborn", "babi": "newborn",
             "young": "parent", "offspring": "parent", "eat": "feed", "eating": "feed",
             "launch": "availability", "ship": "availability", "secur": "privacy"}


def count_tokens(text: str) -> int:
    """Approximate model tokens: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def truncate_to_tokens(text: str, limit: int) -> str:
    """Return the prefix of ``text`` holding at most ``limit`` tokens."""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit:
            return text[:match.start()].rstrip()
    return text


def format_time(seconds: float) -> str:
    """``MM:SS`` (or ``H:MM:SS`` from one hour)."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


@dataclass
class Annotation:
    """A ``video_citation`` on a marker of the answer text."""

    start_index: int
    end_index: int
    item_id: str
    start_sec: float
    end_sec: float
    title: str

    def to_api(self, thumbnail_url: str | None, hls_url: str | None) -> dict[str, Any]:
        """The annotation object of jockey-api.md §3.3."""
        return {
            "type": "video_citation", "start_index": self.start_index,
            "end_index": self.end_index, "item_id": self.item_id,
            "start_sec": self.start_sec, "end_sec": self.end_sec, "title": self.title,
            "thumbnail_url": thumbnail_url, "hls_url": hls_url,
        }


@dataclass
class Answer:
    """One generated answer plus what the session should remember about it."""

    text: str
    annotations: list[Annotation] = field(default_factory=list)
    commentary: str = ""
    tool_query: str = ""
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)


class _Builder:
    """Accumulates Markdown and records each marker's code-point span."""

    def __init__(self, videos: dict[str, Video]) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._numbers: dict[str, int] = {}
        self._videos = videos
        self.annotations: list[Annotation] = []
        self.cited_videos: list[str] = []

    def add(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)  # len() counts code points, which is what the API uses

    def cite(self, moment: Moment) -> None:
        number = self._numbers.setdefault(moment.id, len(self._numbers) + 1)
        marker = f"[{number}]"
        start = self._length
        self.add(marker)
        video = self._videos[moment.item_id]
        self.annotations.append(Annotation(start, start + len(marker) - 1, moment.item_id,
                                           moment.start, moment.end, video.title))
        if moment.item_id not in self.cited_videos:
            self.cited_videos.append(moment.item_id)

    @property
    def text(self) -> str:
        return "".join(self._parts)


def _sentence(text: str) -> str:
    """A description without its final full stop, so a marker can go before it."""
    return text.strip().rstrip(".")


class AnswerEngine:
    """Answers questions about one store; immutable after construction, so thread-safe."""

    k1 = 1.5
    b = 0.75

    def __init__(self, store: Store) -> None:
        self.store = store
        self.videos = {video.id: video for video in store.ready_items}
        self.moments = [m for video in store.ready_items for m in video.moments]
        self._docs: list[Counter[str]] = []
        for moment in self.moments:
            video = self.videos[moment.item_id]
            text = " ".join([moment.description, *moment.transcript, *moment.tags,
                             *(t.replace("-", " ") for t in moment.tags), video.title])
            self._docs.append(Counter(tokenize(text)))
        lengths = [sum(doc.values()) for doc in self._docs]
        self._avg_len = (sum(lengths) / len(lengths)) if lengths else 1.0
        self._lengths = lengths
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(self._docs)
        self._idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    # ----------------------------------------------------------------- retrieval
    def search(self, query: str, limit: int = 5,
               restrict_to: set[str] | None = None) -> list[tuple[Moment, float]]:
        """Top moments by BM25 score (only positive scores)."""
        terms = tokenize(query)
        terms += [_SYNONYMS[t] for t in terms if t in _SYNONYMS]
        scored = []
        for index, (moment, doc) in enumerate(zip(self.moments, self._docs, strict=False)):
            if restrict_to is not None and moment.item_id not in restrict_to:
                continue
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self._lengths[index] / self._avg_len)
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    score += self._idf.get(term, 0.0) * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scored.append((moment, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0].item_id, pair[0].start))
        return scored[:limit]

    def themes(self, limit: int = 4) -> list[dict[str, Any]]:
        """Group moments by tag; the tags spanning the most videos become named themes."""
        by_tag: dict[str, list[Moment]] = {}
        for moment in self.moments:
            for tag in moment.tags:
                by_tag.setdefault(tag, []).append(moment)
        ranked = sorted(
            (tag for tag, ms in by_tag.items() if len(ms) >= 2),
            key=lambda t: (-len({m.item_id for m in by_tag[t]}), -len(by_tag[t]), t))
        themes: list[dict[str, Any]] = []
        covered: set[str] = set()
        for tag in ranked:
            if len(themes) == limit:
                break
            moments = by_tag[tag]
            # Skip a tag whose moments mostly repeat earlier themes ("pricing" vs "launch").
            if len({m.id for m in moments} & covered) * 2 > len(moments):
                continue
            covered.update(m.id for m in moments)
            videos = list(dict.fromkeys(m.item_id for m in moments))
            themes.append({
                "tag": tag,
                "name": self.store.theme_names.get(tag, tag.replace("-", " ").capitalize()),
                "video_ids": videos,
                "moment_ids": [m.id for m in moments],
            })
        return themes

    # ----------------------------------------------------------------- answering
    def answer(self, question: str, history: list[dict[str, Any]] | None = None,
               selections: list[dict[str, str]] | None = None) -> Answer:
        """Answer ``question`` given the session's earlier turns and accumulated selections."""
        history = history or []
        question, restrict = self._resolve_selections(question, selections or [])
        if not self.moments:
            return self._no_match(question)
        ref = _THEME_REF.search(question)
        if ref:
            return self._theme_videos(question, ref, history)
        previous_videos = next((t["video_ids"] for t in reversed(history)
                                if t.get("video_ids")), [])
        if _THOSE_VIDEOS.search(question) and previous_videos:
            previous_tag = history[-1].get("theme_tag") if history else None
            return self._key_moments(question, previous_videos, previous_tag)
        if _THEMES.search(question) and not restrict:
            return self._themes(question)
        return self._generic(question, restrict)

    def _resolve_selections(self, question: str,
                            selections: list[dict[str, str]]) -> tuple[str, set[str] | None]:
        restrict: set[str] = set()

        def substitute(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index < len(selections) and selections[index]["kind"] == "item":
                video = self.videos.get(selections[index]["id"])
                if video is not None:
                    restrict.add(video.id)
                    return video.title
            return match.group(0)

        return _SELECTION.sub(substitute, question), (restrict or None)

    def _moment(self, moment_id: str) -> Moment | None:
        return next((m for m in self.moments if m.id == moment_id), None)

    def _themes(self, question: str) -> Answer:
        themes = self.themes()
        if not themes:
            return self._generic(question, None)
        out = _Builder(self.videos)
        words = {2: "two", 3: "three", 4: "four"}
        out.add(f"Across the {len(self.videos)} ready videos in **{self.store.name}**, "
                f"{words.get(len(themes), str(len(themes)))} themes come up again and "
                "again:\n\n")
        for number, theme in enumerate(themes, start=1):
            n_videos = len(theme["video_ids"])
            out.add(f"{number}. **{theme['name']}** — {len(theme['moment_ids'])} moments in "
                    f"{n_videos} video{'s' if n_videos != 1 else ''}. ")
            examples = [m for m in (self._moment(i) for i in theme["moment_ids"]) if m]
            # One example per video, at most two, so the theme shows its spread.
            shown: list[Moment] = []
            for moment in examples:
                if all(m.item_id != moment.item_id for m in shown):
                    shown.append(moment)
                if len(shown) == 2:
                    break
            for position, moment in enumerate(shown):
                out.add(f"{' ' if position else ''}{_sentence(moment.description)} ")
                out.cite(moment)
                out.add(".")
            out.add("\n")
        out.add("\nAsk about any theme to see the videos that represent it best.")
        # Never post-process out.text: the annotation offsets point into it as built.
        return Answer(
            text=out.text, annotations=out.annotations,
            commentary=f"I'll group the moments in **{self.store.name}** by recurring topic.",
            tool_query="recurring themes",
            tool_results=_results([(m, 1.0) for t in themes for m in
                                   (self._moment(i) for i in t["moment_ids"][:2]) if m]),
            memory={"themes": themes, "video_ids": out.cited_videos},
        )

    def _theme_videos(self, question: str, ref: re.Match[str],
                      history: list[dict[str, Any]]) -> Answer:
        themes = next((t["themes"] for t in reversed(history) if t.get("themes")), None)
        themes = themes or self.themes()
        if not themes:
            return self._generic(question, None)
        index = _ORDINALS[ref.group(1).lower()] if ref.group(1) else int(ref.group(2)) - 1
        ordinal = ref.group(1).lower() if ref.group(1) else f"number {ref.group(2)}"
        if not -len(themes) <= index < len(themes):
            out = _Builder(self.videos)
            out.add(f"I only identified {len(themes)} themes, so there is no {ordinal} one. "
                    "The themes were: " + ", ".join(f"**{t['name']}**" for t in themes) + ".")
            return Answer(text=out.text, memory={"themes": themes})
        theme = themes[index]
        tag = theme["tag"]
        per_video: dict[str, list[Moment]] = {}
        for moment in self.moments:
            if tag in moment.tags:
                per_video.setdefault(moment.item_id, []).append(moment)
        ranked = sorted(per_video, key=lambda v: (-len(per_video[v]), self.videos[v].title))[:3]
        out = _Builder(self.videos)
        out.add(f"The {ordinal} theme was **{theme['name']}**. The videos that represent it "
                "best are:\n\n")
        for video_id in ranked:
            video = self.videos[video_id]
            moments = per_video[video_id]
            out.add(f"- **{video.title}** ({format_time(video.duration)}) — "
                    f"{len(moments)} moment{'s' if len(moments) != 1 else ''} on this theme. "
                    f"{_sentence(moments[0].description)} ")
            out.cite(moments[0])
            out.add(".\n")
        if len(ranked) > 1 and len(per_video[ranked[0]]) > len(per_video[ranked[1]]):
            out.add(f"\n**{self.videos[ranked[0]].title}** is the strongest example.")
        return Answer(
            text=out.text.rstrip("\n"), annotations=out.annotations,
            commentary=f"I'll look for the videos with the most moments about "
                       f"**{theme['name']}**.",
            tool_query=theme["name"],
            tool_results=_results([(per_video[v][0], float(len(per_video[v]))) for v in ranked]),
            memory={"themes": themes, "video_ids": ranked, "theme_tag": tag},
        )

    def _key_moments(self, question: str, video_ids: list[str],
                     tag: str | None) -> Answer:
        videos = [self.videos[v] for v in video_ids if v in self.videos]
        if not videos:
            return self._generic(question, None)
        out = _Builder(self.videos)
        count = len(videos)
        out.add(f"Here are the key moments in the {count if count > 1 else ''}"
                f"{' ' if count > 1 else ''}video{'s' if count > 1 else ''} from my previous "
                "answer:\n\n")
        picked: list[tuple[Moment, float]] = []
        for video in videos:
            out.add(f"**{video.title}**\n\n")
            # Moments on the theme under discussion first, then the rest, shown in time order.
            moments = sorted(video.moments, key=lambda m: (tag not in m.tags if tag else 0,
                                                           m.start))[:3]
            for moment in sorted(moments, key=lambda m: m.start):
                out.add(f"- **{format_time(moment.start)}–{format_time(moment.end)}** — "
                        f"{_sentence(moment.description)} ")
                out.cite(moment)
                out.add("\n")
                picked.append((moment, 1.0))
            out.add("\n")
        return Answer(
            text=out.text.rstrip("\n"), annotations=out.annotations,
            commentary="I'll pull the key moments of the videos from my previous answer.",
            tool_query="key moments",
            tool_results=_results(picked),
            memory={"video_ids": [v.id for v in videos], "theme_tag": tag},
        )

    def _generic(self, question: str, restrict: set[str] | None) -> Answer:
        hits = self.search(question, limit=4, restrict_to=restrict)
        if not hits and restrict:
            # "What happens in {{sel:0}}?" — no keyword hit, so walk the selected video.
            hits = [(m, 0.0) for v in sorted(restrict) for m in self.videos[v].moments][:5]
        if not hits:
            return self._no_match(question)
        out = _Builder(self.videos)
        if restrict and len(restrict) == 1:
            title = self.videos[next(iter(restrict))].title
            out.add(f"Here is what I found in **{title}**:\n\n")
        else:
            out.add(f"Here are the moments in **{self.store.name}** that best match your "
                    "question:\n\n")
        # Videos in order of their best hit; moments of one video in time order.
        video_rank = {}
        for moment, _score in hits:
            video_rank.setdefault(moment.item_id, len(video_rank))
        for moment, _score in sorted(hits, key=lambda h: (video_rank[h[0].item_id],
                                                          h[0].start)):
            video = self.videos[moment.item_id]
            out.add(f"- **{video.title}**, {format_time(moment.start)}–"
                    f"{format_time(moment.end)}: {_sentence(moment.description)} ")
            out.cite(moment)
            if moment.transcript:
                out.add(f". *“{moment.transcript[0]}”*\n")
            else:
                out.add(".\n")
        return Answer(
            text=out.text.rstrip("\n"), annotations=out.annotations,
            commentary=f"I'll search **{self.store.name}** for moments that match your "
                       "question.",
            tool_query=question, tool_results=_results(hits),
            memory={"video_ids": out.cited_videos},
        )

    def _no_match(self, question: str) -> Answer:
        themes = self.themes(limit=3)
        text = (f"I couldn't find anything in **{self.store.name}** that matches your "
                "question.")
        if themes:
            text += (" The videos here cover topics such as "
                     + ", ".join(t["name"].lower() for t in themes)
                     + " — try asking about one of those.")
        return Answer(text=text, commentary=f"I'll search **{self.store.name}** for moments "
                      "that match your question.", tool_query=question, memory={})

    # ----------------------------------------------------------------- structured output
    def structured(self, schema: dict[str, Any], answer: Answer) -> str:
        """A JSON string shaped by ``schema`` and filled from ``answer`` (best effort)."""
        contexts = [{"title": a.title, "item_id": a.item_id, "start": a.start_sec,
                     "end": a.end_sec, "text": _plain(answer.text)} for a in answer.annotations]
        base = {"title": self.store.name, "item_id": "", "start": 0.0, "end": 0.0,
                "text": _plain(answer.text)}
        value = _fill(schema, "", contexts[0] if contexts else base, contexts, 0)
        return json.dumps(value, ensure_ascii=False)


def _plain(markdown: str) -> str:
    text = re.sub(r"\s*\[\d+\]", "", markdown)
    text = re.sub(r"[*_`#>]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _fill(schema: Any, name: str, ctx: dict[str, Any], contexts: list[dict[str, Any]],
          depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _fill(options[0], name, ctx, contexts, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    lname = name.lower()
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {}
        return {k: _fill(v, k, ctx, contexts, depth + 1) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items", {})
        pool = contexts[:5] or [ctx]
        return [_fill(items, name, c, contexts, depth + 1) for c in pool]
    if kind in ("number", "integer"):
        value = ctx["end"] if "end" in lname else ctx["start"] if "start" in lname else (
            len(contexts) if "count" in lname or "num" in lname else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return bool(contexts)
    if kind == "null":
        return None
    if "title" in lname or "video" in lname or "name" in lname:
        return str(ctx["title"])
    if lname == "id" or lname.endswith("_id"):
        return str(ctx["item_id"])
    if "time" in lname or "timestamp" in lname:
        return f"{format_time(ctx['start'])}-{format_time(ctx['end'])}"
    return str(ctx["text"])


def _results(hits: list[tuple[Moment, float]]) -> list[dict[str, Any]]:
    return [{"item_id": m.item_id, "start_sec": m.start, "end_sec": m.end,
             "score": round(score, 3), "description": m.description} for m, score in hits]
