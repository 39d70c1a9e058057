"""The sandbox's answer engine: BM25 retrieval over timed moments plus follow-up resolution.

Every ready video's moments are indexed by field (tags with their theme names, description,
transcript, video title; BM25F-style weights). Documents and questions go through the same
normaliser: case-folding, punctuation and stop words out, then a small suffix stemmer so that
"predators"/"predation" and "hunt"/"hunting" meet. A question is routed to one of four answer
shapes:

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
tag) is what the server stores in the session for the next follow-up. A new session without
turns can instead carry a recap of a lost session in ``instructions`` (the desktop app's "Q: …"
/ "A: …" lines): the themes and videos it names are recovered as if they were earlier turns.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.timecode import format_timestamp
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
# A recap line of the desktop app ("Q: …" / "A: …", see controllers/chat.py build_recap).
_RECAP_LINE = re.compile(r"^[ \t]*([QA])[ \t]*:[ \t]*(.*)$", re.MULTILINE)
#: Instructions longer than this are only read up to here (the API allows 2,000 characters).
MAX_RECAP_CHARS = 20_000
#: Only the most recent recap pairs are read (the app sends six): each one may be replayed.
MAX_RECAP_PAIRS = 12


def normalise(text: str) -> list[str]:
    """Lower-cased word forms without punctuation, possessives or stop words (not stemmed).

    Hyphens and apostrophes split words ("wind-swept" → "wind", "swept"; "fox's" → "fox").
    """
    words = []
    for raw in _WORD.findall(text.casefold().replace("_", " ")):
        if raw in _STOPWORDS or raw == "s":
            continue
        words.append(raw)
    return words


def tokenize(text: str) -> list[str]:
    """Index terms: :func:`normalise` then :func:`stem`; identical for documents and queries."""
    return [stem(word) for word in normalise(text)]


_VOWEL = re.compile(r"[aeiouy]")
# Derivational endings, longest first, each with its replacement and the shortest stem left.
_DERIVATIONAL = (
    ("ibility", "ibl", 3), ("ability", "abl", 3), ("ations", "at", 3), ("ation", "at", 3),
    ("ators", "at", 3), ("ator", "at", 3), ("itions", "it", 3), ("ition", "it", 3),
    ("tions", "t", 3), ("tion", "t", 3), ("sions", "s", 3), ("sion", "s", 3),
    ("ness", "", 4), ("ity", "", 3), ("fully", "ful", 3), ("ly", "", 4), ("ers", "", 4),
    ("er", "", 4),
    ("tors", "t", 3), ("tor", "t", 3),
)
# Words the suffix rules would mangle: kept as they are ("lioness", not "lion").
_KEEP_TEXT = """lioness business witness species series news always perhaps
bus gas yes this thus was has his its is us plus less unless across chassis"""
_KEEP = frozenset(_KEEP_TEXT.split())
# Irregular plurals the suffix rules can't reach.
_IRREGULAR = {"wolves": "wolf", "calves": "calf", "halves": "half", "knives": "knife",
              "lives": "life", "leaves": "leaf", "shelves": "shelf", "children": "child",
              "geese": "goose", "mice": "mouse", "people": "person", "women": "woman",
              "men": "man", "teeth": "tooth", "feet": "foot", "fish": "fish"}


def stem(word: str) -> str:
    """A small deterministic English suffix stemmer (Porter-style, far fewer rules).

    "predators", "predator" and "predation" → "predat"; "hunting", "hunts", "hunter" →
    "hunt"; "price"/"pricing" → "pric". Stems must keep a vowel so "spring" stays whole.
    Precision matters more than recall here: a stem is an index term, never shown.
    """
    word = _IRREGULAR.get(word, word)
    if len(word) <= 3 or word in _KEEP or not word.isalpha():
        return word
    # Inflection: plural / third person ("foxes", "matches" lose "es"; "horses" only "s").
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    # Inflection: -ing / -ed, undoubling "swapped" → "swap" (but "falling" → "fall").
    for suffix in ("ing", "ied", "ed"):
        if word.endswith(suffix) and not word.endswith("eed"):
            base = word[: -len(suffix)]
            if suffix == "ied":
                base += "y"
            if len(base) >= 3 and _VOWEL.search(base[:-1] if base.endswith("y") else base):
                if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                    base = base[:-1]
                word = base
            break
    # Derivation: one ending at most, keeping a stem of a sensible length.
    for suffix, replacement, min_stem in _DERIVATIONAL:
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            if len(base) >= min_stem and _VOWEL.search(base):
                word = base + replacement
            break
    # A final silent e: "dance"/"dancing" → "danc", "predate"/"predation" → "predat".
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if word.endswith("y") and len(word) > 4 and word[-2] not in "aeiou":
        word = word[:-1] + "i"  # "baby"/"babies" and "carry"/"carried" meet at "babi"/"carri"
    return word


# Everyday words mapped to the vocabulary of the sample data; both sides are stemmed when the
# table is built, and the mapping only ever adds query terms (the original term stays).
_SYNONYM_WORDS = {
    "cost": "price", "expensive": "price", "cheap": "price", "kill": "hunt",
    "predator": "predation", "prey": "hunt", "baby": "newborn", "young": "parent",
    "offspring": "parent", "eat": "feeding", "food": "feeding", "launch": "availability",
    "ship": "availability", "release": "availability", "secure": "privacy",
    "security": "privacy", "private": "privacy", "mother": "parent", "father": "parent",
    "charge": "battery", "cub": "newborn", "chick": "parent",
    "storm": "weather thunderstorm", "rain": "weather", "snow": "weather", "cold": "weather",
}


def _build_synonyms() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for word, target in _SYNONYM_WORDS.items():
        key = stem(word)
        extra = tuple(t for t in tokenize(target.replace("-", " ")) if t != key)
        if extra:
            table[key] = tuple(dict.fromkeys(table.get(key, ()) + extra))
    return table


_SYNONYMS = _build_synonyms()


def count_tokens(text: str) -> int:
    """Approximate model tokens: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def truncate_to_tokens(text: str, limit: int) -> str:
    """Return the prefix of ``text`` holding at most ``limit`` tokens."""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit:
            return text[:match.start()].rstrip()
    return text


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
    #: Field weights (BM25F-style: a term's frequency is the weighted sum over fields). Tags
    #: are curated, so a tag hit beats a passing word in a transcript; a title hit applies to
    #: every moment of the video, so it only breaks ties between otherwise similar moments.
    tag_weight = 2.0
    description_weight = 1.5
    transcript_weight = 1.0
    title_weight = 0.5

    def __init__(self, store: Store) -> None:
        self.store = store
        self.videos = {video.id: video for video in store.ready_items}
        self.moments = [m for video in store.ready_items for m in video.moments]
        self._docs: list[dict[str, float]] = []
        for moment in self.moments:
            video = self.videos[moment.item_id]
            # Tags carry their theme's display name too ("predation" → "Predators and the
            # hunt"), so everyday words reach the curated vocabulary.
            tag_text = " ".join([*moment.tags, *(store.theme_names.get(t, "")
                                                 for t in moment.tags)])
            fields = ((tag_text, self.tag_weight), (moment.description, self.description_weight),
                      (" ".join(moment.transcript), self.transcript_weight),
                      (video.title, self.title_weight))
            doc: dict[str, float] = {}
            for text, weight in fields:
                for term in tokenize(text):
                    doc[term] = doc.get(term, 0.0) + weight
            self._docs.append(doc)
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
        terms = list(dict.fromkeys(tokenize(query)))
        # Synonym expansions count half: they widen recall without outvoting the user's words.
        weighted = [(t, 1.0) for t in terms]
        weighted += [(extra, 0.5) for t in terms for extra in _SYNONYMS.get(t, ())
                     if extra not in terms]
        scored = []
        for index, (moment, doc) in enumerate(zip(self.moments, self._docs, strict=False)):
            if restrict_to is not None and moment.item_id not in restrict_to:
                continue
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self._lengths[index] / self._avg_len)
            for term, weight in weighted:
                tf = doc.get(term, 0.0)
                if tf:
                    score += weight * self._idf.get(term, 0.0) * tf * (self.k1 + 1) / (tf + norm)
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
               selections: list[dict[str, str]] | None = None,
               instructions: str | None = None) -> Answer:
        """Answer ``question`` given the session's earlier turns and accumulated selections.

        ``instructions`` only matter for a session without earlier turns: a client that lost
        its session sends a recap of the earlier conversation there, and follow-ups ("the first
        theme", "those videos") are resolved against what :meth:`history_from_recap` recovers.
        """
        history = history or []
        if not history and instructions:
            history = self.history_from_recap(instructions)
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

    # ----------------------------------------------------------------- recaps
    def history_from_recap(self, text: str) -> list[dict[str, Any]]:
        """Pseudo-turns (question, answer and follow-up memory) recovered from a recap.

        Best effort and total: any string gives a list, possibly empty. The recap's "Q:"/"A:"
        lines are paired up (text without such lines counts as one answer); each answer's
        theme names and video titles from this store, in order of appearance, become the
        ``themes``/``video_ids``/``theme_tag`` memory a live turn would have stored.

        The recap clips long answers, so each question is also replayed against the history
        recovered so far; when the replay agrees with everything the recap still shows (same
        themes and videos, in the same order), its complete memory is used instead.
        """
        text = text[:MAX_RECAP_CHARS] if isinstance(text, str) else ""
        pairs: list[list[str]] = []
        for match in _RECAP_LINE.finditer(text):
            if match.group(1) == "Q":
                pairs.append([match.group(2), ""])
            elif pairs:
                pairs[-1][1] = match.group(2)
            else:
                pairs.append(["", match.group(2)])
        if not pairs:
            pairs = [["", text]]
        history: list[dict[str, Any]] = []
        for question, answer in pairs[-MAX_RECAP_PAIRS:]:
            memory = self._memory_from_text(question, answer)
            if not memory:
                continue
            if question.strip():
                replayed = self.answer(question, list(history)).memory
                if _agrees(memory, replayed):
                    memory = replayed
            history.append({"question": question, "answer": answer, **memory})
        return history

    def _memory_from_text(self, question: str, answer: str) -> dict[str, Any]:
        flat = _flat(answer)
        if not flat:
            return {}
        memory: dict[str, Any] = {}
        tags = self._tags_in_order(answer)
        if tags and _THEME_REF.search(question):
            memory["theme_tag"] = tags[0]  # "The first theme was **…**. The videos …"
        elif tags and (len(tags) >= 2 or _THEMES.search(question)):
            # A themes answer. The recap may have clipped its tail, so themes past the last
            # one named are taken from this store's own ranking (which produced the list).
            found = [t for t in (self._theme_for_tag(tag) for tag in tags) if t]
            memory["themes"] = found + [t for t in self.themes()
                                        if t["tag"] not in {f["tag"] for f in found}]
        elif tags:
            memory["theme_tag"] = tags[0]
        videos = self._titles_in_order(flat)
        if videos:
            memory["video_ids"] = videos
        return memory

    def _tags_in_order(self, answer: str) -> list[str]:
        names = {_flat(self.store.theme_names.get(tag, tag.replace("-", " ").capitalize())): tag
                 for tag in sorted({t for m in self.moments for t in m.tags})}
        # Theme names are written in bold; a bare word ("a camera demo") is not a theme. Only
        # when the recap carries no bold at all are names matched in running text.
        bold = [_flat(span) for span in re.findall(r"\*\*(.+?)\*\*", answer)]
        if bold:
            return list(dict.fromkeys(names[span] for span in bold if span in names))
        flat = _flat(answer)
        positions: dict[str, int] = {}
        for name, tag in names.items():
            found = re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", flat)
            if found:
                positions[tag] = found.start()
        return sorted(positions, key=lambda tag: (positions[tag], tag))

    def _titles_in_order(self, flat: str) -> list[str]:
        positions = {}
        for video in self.videos.values():
            at = flat.find(_flat(video.title))
            if at >= 0:
                positions[video.id] = at
        return sorted(positions, key=lambda vid: (positions[vid], vid))

    def _theme_for_tag(self, tag: str) -> dict[str, Any] | None:
        moments = [m for m in self.moments if tag in m.tags]
        if not moments:
            return None
        return {"tag": tag,
                "name": self.store.theme_names.get(tag, tag.replace("-", " ").capitalize()),
                "video_ids": list(dict.fromkeys(m.item_id for m in moments)),
                "moment_ids": [m.id for m in moments]}

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
            out.add(f"- **{video.title}** ({format_timestamp(video.duration)}) — "
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
                out.add(f"- **{format_timestamp(moment.start)}–{format_timestamp(moment.end)}** — "
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
            out.add(f"- **{video.title}**, {format_timestamp(moment.start)}–"
                    f"{format_timestamp(moment.end)}: {_sentence(moment.description)} ")
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


def _agrees(recovered: dict[str, Any], replayed: dict[str, Any]) -> bool:
    """Whether a replayed turn's memory extends what a (clipped) recap answer still shows."""
    if not replayed:
        return False
    videos = recovered.get("video_ids", [])
    if videos != replayed.get("video_ids", [])[:len(videos)]:
        return False
    if "theme_tag" in recovered and recovered["theme_tag"] != replayed.get("theme_tag"):
        return False
    tags = [t["tag"] for t in recovered.get("themes", [])]
    replayed_tags = [t["tag"] for t in replayed.get("themes", [])]
    return not tags or tags == replayed_tags


def _flat(text: str) -> str:
    """Case-folded text without Markdown emphasis and with single spaces, for matching."""
    return re.sub(r"\s+", " ", re.sub(r"[*_`]", "", text)).casefold().strip()


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
        return f"{format_timestamp(ctx['start'])}-{format_timestamp(ctx['end'])}"
    return str(ctx["text"])


def _results(hits: list[tuple[Moment, float]]) -> list[dict[str, Any]]:
    return [{"item_id": m.item_id, "start_sec": m.start, "end_sec": m.end,
             "score": round(score, 3), "description": m.description} for m, score in hits]
