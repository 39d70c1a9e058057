"""The sandbox's answer engine: BM25 retrieval over timed moments, follow-ups from the session.

Every ready video's moments are indexed by field (tags with their theme names, description,
transcript, video title; BM25F-style weights). Documents and questions go through the same
normaliser: case-folding, punctuation and stop words out, then a small suffix stemmer so that
"predators"/"predation" and "hunt"/"hunting" meet.

A question is answered within its *scope*: the whole store, or the items and collections
selected in the session (``selections``; a ``{{sel:N}}`` in the question narrows it to the
entries it names). It is routed to one of four answer shapes:

- "Which videos best represent the first theme?" → the ordinal is resolved against the themes
  of the latest earlier turn that listed some (the store's own ranking if none did), videos
  ranked by moments on that theme;
- "timestamps … those videos" → the videos of the previous answer with their key moments,
  but only when the question has no subject of its own: "How do the predators hunt in these
  videos?" is a fresh question, answered fresh;
- "main themes" → moments grouped by tag into named themes (``theme_names`` of the store
  file, otherwise the tag), each with cited example moments;
- anything else → the top BM25 moments, grouped by video. No match → a polite "nothing
  matches", without citations.

Follow-ups are resolved from the turns the server stored in the session (each turn's
``memory``: themes, videos cited, theme tag). ``instructions`` are plain text any client may
send; when the session has no turns yet they are read only as generic context — which of this
store's theme names and video titles they mention, line by line, the latest mention winning —
whatever their layout (:meth:`AnswerEngine.context_from_text`).

Answers are short Markdown. Each cited moment gets an ``[N]`` marker (the same moment keeps its
number) and one ``video_citation`` annotation whose ``start_index``/``end_index`` are the
marker's inclusive code-point offsets. With web search on, a closing "From the web" line adds
``url_citation`` annotations to example.org/example.com pages (the sandbox is offline, so
nothing is fetched). Each answer also carries the steps an agent would have taken
(:class:`ToolStep`, :class:`WebSearchStep`), which the server turns into intermediate outputs.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.sandbox.data import Moment, Store, Video
from jockey_desktop.sandbox.validation import MAX_SELECTION_INDEX_DIGITS, SELECTION_TOKEN

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
# A reference back to the videos of an earlier answer.
_THOSE = re.compile(
    r"\b(?:those|the same|both(?: of (?:the|those))?|all (?:two|three|four|five|six))\s+"
    r"(?:videos?|clips?|ones|films?)\b"
    r"|\b(?:in|of|from|about|across|for|between|compare)\s+"
    r"(?:them|each of them|both of them|both)\b", re.IGNORECASE)
# "These videos" usually means the videos at hand (the store or the selection); only a
# question without a subject of its own uses it to point back at the previous answer.
_THESE = re.compile(r"\bthese\s+(?:videos?|clips?|ones|films?)\b", re.IGNORECASE)
#: Context text longer than this is only read up to here (the API allows 2,000 characters).
MAX_CONTEXT_CHARS = 20_000
#: Tool names the narrated steps use (the API publishes none).
SEARCH_TOOL = "search_knowledge_store"
ITEMS_TOOL = "get_knowledge_store_items"
#: How many videos "Which videos best represent the … theme?" lists.
THEME_VIDEOS = 3


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


# Pure and called for every word of every sample store each time a server builds its index
# (tests start hundreds of servers): cached, thread-safe, bounded.
@functools.lru_cache(maxsize=65_536)
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


# Words that ask for a shape of answer ("timestamps", "key moments", "summary") or glue words
# that descriptions happen to contain: a question made only of these has no subject of its own.
_FORMAT_TEXT = """timestamps timestamp times time key main important highlights highlight
summary summarize summarise summaries list detail details detailed more overview scenes scene
parts part points point best represent representative theme themes topic topics recurring
idea ideas each every everything all again across among within throughout between into onto
upon via per versus first second third fourth fifth last final one ones"""
_FORMAT_TERMS = frozenset(tokenize(_FORMAT_TEXT))


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
class WebCitation:
    """A ``url_citation`` on a marker: a web page the (offline, pretend) web search found."""

    start_index: int
    end_index: int
    url: str
    title: str

    def to_api(self) -> dict[str, Any]:
        """The annotation object: §3.3's common fields plus ``url`` (end index inclusive)."""
        return {"type": "url_citation", "start_index": self.start_index,
                "end_index": self.end_index, "url": self.url, "title": self.title,
                "thumbnail_url": None, "hls_url": None}


@dataclass(frozen=True)
class ToolStep:
    """One narrated tool use: a commentary line, a function call and its output."""

    commentary: str
    name: str
    arguments: dict[str, Any]
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class WebSearchStep:
    """One narrated hosted web search: a commentary line and the queries sent."""

    commentary: str
    queries: tuple[str, ...]


Step = ToolStep | WebSearchStep


@dataclass
class Answer:
    """One generated answer, the steps that led to it, and what the session should remember."""

    text: str
    annotations: list[Annotation] = field(default_factory=list)
    web_citations: list[WebCitation] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)

    @property
    def web_queries(self) -> tuple[str, ...]:
        """The queries of the web search, if one ran."""
        return tuple(q for s in self.steps if isinstance(s, WebSearchStep) for q in s.queries)


@dataclass(frozen=True)
class _Scope:
    """What a question may cite: the whole store (``item_ids`` None) or selected videos."""

    item_ids: frozenset[str] | None = None
    #: How the answer names the scope ("**Kelp Forest Nights**", "the 3 selected videos").
    label: str = ""
    #: Why the selection leaves nothing to search (unknown ids, nothing ready), if it does.
    problem: str = ""

    def narrow(self, video_ids: Sequence[str], label: str) -> _Scope:
        """The part of this scope that is also in ``video_ids``."""
        ids = frozenset(video_ids) if self.item_ids is None else \
            self.item_ids & frozenset(video_ids)
        return _Scope(ids, label)


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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


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

    def themes(self, limit: int = 4,
               restrict_to: frozenset[str] | set[str] | None = None) -> list[dict[str, Any]]:
        """Group moments by tag; the tags spanning the most videos become named themes.

        With ``restrict_to``, only moments of those videos count.
        """
        by_tag: dict[str, list[Moment]] = {}
        for moment in self.moments:
            if restrict_to is not None and moment.item_id not in restrict_to:
                continue
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
            themes.append(self._theme(tag, moments))
        return themes

    # ----------------------------------------------------------------- answering
    def answer(self, question: str, history: list[dict[str, Any]] | None = None,
               selections: Sequence[dict[str, str]] | None = None,
               instructions: str | None = None, *,
               request_selections: Sequence[dict[str, str]] | None = None,
               web_search: bool = False) -> Answer:
        """Answer ``question`` given the session's turns and the selections in force.

        ``history`` holds the session's earlier turns (each with the ``memory`` its answer
        returned). ``selections`` are all the selections in force in the session; a
        ``{{sel:N}}`` in the question counts into ``request_selections`` (the ones sent with
        this request; ``selections`` when not given). ``instructions`` serve only as generic
        context, and only while the session has no turns. ``web_search`` adds web sources.
        """
        turns = [_clean_memory(turn) for turn in history or [] if isinstance(turn, dict)]
        if not turns and instructions:
            context = self.context_from_text(instructions)
            if context:
                turns = [context]
        in_force = list(selections or [])
        indexed = list(request_selections) if request_selections is not None else in_force
        scope = self._scope(question, in_force, indexed)
        asked = self._display_question(question, indexed)
        text = SELECTION_TOKEN.sub(" ", question)
        answer = self._route(text, asked, scope, turns)
        if web_search:
            # The web is searched for the subject, not for the selected videos' titles.
            answer = self._with_web_sources(answer, text)
        return answer

    def _route(self, text: str, asked: str, scope: _Scope,
               turns: list[dict[str, Any]]) -> Answer:
        if scope.problem:
            return self._scope_problem(scope)
        if not self.moments:
            return self._no_match(asked, scope)
        ref = _THEME_REF.search(text)
        if ref:
            return self._theme_videos(ref, turns, scope)
        themes_question = bool(_THEMES.search(text))
        back = _THOSE.search(text)
        these = _THESE.search(text)
        previous, previous_tag = self._previous_videos(turns, scope)
        residue = text
        for match in (back, these):
            if match:
                residue = residue.replace(match.group(0), " ")
        has_subject = bool(self._subject_terms(residue))
        if (back or these) and previous and not has_subject and not themes_question:
            return self._key_moments(previous, previous_tag, scope)
        narrowed = scope.narrow(previous, "the videos from my previous answer") \
            if back and previous else scope
        if themes_question and (narrowed.item_ids is None or len(narrowed.item_ids) > 1):
            return self._themes(narrowed)
        answer = self._generic(text, asked, narrowed)
        if narrowed is not scope and not answer.annotations:
            # Nothing on that subject in the earlier videos: look everywhere in scope.
            answer = self._generic(text, asked, scope)
        return answer

    # ----------------------------------------------------------------- context
    def context_from_text(self, text: str) -> dict[str, Any]:
        """Follow-up memory recovered from plain text (e.g. a summary in ``instructions``).

        Layout-agnostic and total: any string gives a dict, possibly empty. Lines are read in
        order and later mentions win: the last line naming two or more of this store's theme
        names (one, if no line names two) gives ``themes`` in the order named, followed by the
        store's other themes (a summary may have cut the list short); the last line naming
        video titles gives ``video_ids``. When that line also names exactly one theme and its
        videos open that theme's own ranking, the whole ranking and ``theme_tag`` are used.
        """
        text = text[:MAX_CONTEXT_CHARS] if isinstance(text, str) else ""
        theme_tags: list[str] = []
        single_tags: list[str] = []
        video_line: tuple[list[str], list[str]] | None = None
        for line in text.splitlines():
            if not line.strip():
                continue
            tags = self._tags_in_order(line)
            if len(tags) >= 2:
                theme_tags = tags
            elif tags:
                single_tags = tags
            titles = self._titles_in_order(_flat(line))
            if titles:
                video_line = (titles, tags)
        memory: dict[str, Any] = {}
        named = theme_tags or single_tags
        if named:
            found = [self._theme(tag, [m for m in self.moments if tag in m.tags])
                     for tag in named]
            memory["themes"] = found + [t for t in self.themes()
                                        if t["tag"] not in set(named)]
        if video_line is not None:
            titles, tags = video_line
            memory["video_ids"] = titles
            if len(tags) == 1:
                ranked = self._videos_for_tag(tags[0], None)[0][:THEME_VIDEOS]
                if ranked[:len(titles)] == titles:
                    memory["video_ids"] = ranked
                    memory["theme_tag"] = tags[0]
        return memory

    def _theme_names(self) -> dict[str, str]:
        """Flattened display name → tag, for every tag in the store."""
        tags = sorted({t for m in self.moments for t in m.tags})
        return {_flat(self._theme_name(tag)): tag for tag in tags}

    def _tags_in_order(self, text: str) -> list[str]:
        names = self._theme_names()
        # Bold spans are names ("1. **Camouflage** — …"); a plain word in running text ("a
        # camouflaged octopus") is not. Only text without any bold is matched word by word.
        bold = [_flat(span) for span in re.findall(r"\*\*(.+?)\*\*", text)]
        if bold:
            return list(dict.fromkeys(names[span] for span in bold if span in names))
        flat = _flat(text)
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

    # ----------------------------------------------------------------- scope
    def _scope(self, question: str, in_force: list[dict[str, str]],
               indexed: list[dict[str, str]]) -> _Scope:
        """The videos this question is about: the referenced, else all selected, else all."""
        referenced = [indexed[i] for i in _token_indexes(question) if i < len(indexed)]
        chosen = list({(s.get("kind"), s.get("id")): s
                       for s in (referenced or in_force)}.values())
        if not chosen:
            return _Scope()
        ids: list[str] = []
        names: list[str] = []
        known = 0
        for sel in chosen:
            if sel.get("kind") == "collection":
                collection = self.store.collection(str(sel.get("id")))
                if collection is None:
                    continue
                known += 1
                names.append(f"the collection **{collection.name}**")
                members: Sequence[str] = collection.item_ids
            else:
                item = self.store.item(str(sel.get("id")))
                if item is None:
                    continue
                known += 1
                names.append(f"**{item.title}**")
                members = (item.id,)
            ids.extend(m for m in members if m in self.videos)
        if not ids:
            if not known:
                problem = (f"The selected {'item is' if len(chosen) == 1 else 'items are'} "
                           f"not in **{self.store.name}**, so there is nothing to search.")
            else:
                problem = ("None of the selected videos is ready to search yet; ask again "
                           "once indexing has finished.")
            return _Scope(frozenset(), problem=problem)
        return _Scope(frozenset(ids), names[0] if len(names) == 1 else "the selected videos")

    def _display_question(self, question: str, indexed: list[dict[str, str]]) -> str:
        """The question with ``{{sel:N}}`` replaced by the titles and names it refers to."""

        def name(match: re.Match[str]) -> str:
            digits = match.group(1)
            if len(digits) > MAX_SELECTION_INDEX_DIGITS or int(digits) >= len(indexed):
                return match.group(0)
            sel = indexed[int(digits)]
            if sel.get("kind") == "collection":
                collection = self.store.collection(str(sel.get("id")))
                return collection.name if collection else match.group(0)
            item = self.store.item(str(sel.get("id")))
            return item.title if item else match.group(0)

        return SELECTION_TOKEN.sub(name, question)

    def _subject_terms(self, text: str) -> list[str]:
        """Index terms of ``text`` that name a subject this store knows about."""
        terms = [t for t in tokenize(text) if t not in _FORMAT_TERMS]
        return [t for t in terms
                if t in self._idf or any(x in self._idf for x in _SYNONYMS.get(t, ()))]

    def _previous_videos(self, turns: list[dict[str, Any]],
                         scope: _Scope) -> tuple[list[str], str | None]:
        """The videos (and theme tag) of the latest turn that cited videos, within scope."""
        for turn in reversed(turns):
            ids = turn.get("video_ids")
            if isinstance(ids, list) and ids:
                kept = [v for v in ids if v in self.videos
                        and (scope.item_ids is None or v in scope.item_ids)]
                tag = turn.get("theme_tag")
                return kept, tag if isinstance(tag, str) else None
        return [], None

    # ----------------------------------------------------------------- steps
    def _search_step(self, commentary: str, query: str, scope: _Scope, limit: int,
                     hits: list[tuple[Moment, float]]) -> ToolStep:
        arguments: dict[str, Any] = {"knowledge_store_id": self.store.id,
                                     "query": query[:200], "limit": limit}
        if scope.item_ids is not None:
            arguments["item_ids"] = sorted(scope.item_ids)
        return ToolStep(commentary, SEARCH_TOOL, arguments, self._results(hits))

    def _results(self, hits: list[tuple[Moment, float]]) -> list[dict[str, Any]]:
        return [{"item_id": m.item_id, "title": self.videos[m.item_id].title,
                 "start_sec": m.start, "end_sec": m.end, "score": round(score, 3),
                 "description": m.description} for m, score in hits]

    def _where(self, scope: _Scope) -> str:
        return scope.label or f"**{self.store.name}**"

    # ----------------------------------------------------------------- answer shapes
    def _theme(self, tag: str, moments: Sequence[Moment]) -> dict[str, Any]:
        return {"tag": tag, "name": self._theme_name(tag),
                "video_ids": list(dict.fromkeys(m.item_id for m in moments)),
                "moment_ids": [m.id for m in moments]}

    def _theme_name(self, tag: str) -> str:
        return self.store.theme_names.get(tag, tag.replace("-", " ").capitalize())

    def _moment(self, moment_id: str) -> Moment | None:
        return next((m for m in self.moments if m.id == moment_id), None)

    def _videos_for_tag(self, tag: str, restrict: frozenset[str] | None
                        ) -> tuple[list[str], dict[str, list[Moment]]]:
        """Videos with moments on ``tag``, most moments first, and those moments."""
        per_video: dict[str, list[Moment]] = {}
        for moment in self.moments:
            if tag in moment.tags and (restrict is None or moment.item_id in restrict):
                per_video.setdefault(moment.item_id, []).append(moment)
        ranked = sorted(per_video, key=lambda v: (-len(per_video[v]), self.videos[v].title))
        return ranked, per_video

    def _themes(self, scope: _Scope) -> Answer:
        themes = self.themes(restrict_to=scope.item_ids)
        if not themes:
            return self._generic("", "recurring themes", scope)
        out = _Builder(self.videos)
        words = {2: "two", 3: "three", 4: "four"}
        if scope.item_ids is None:
            where = f"in **{self.store.name}**"
            out.add(f"Across the {len(self.videos)} ready videos {where}, ")
        else:
            where = f"in {scope.label}"
            out.add(f"Across {scope.label} ({_plural(len(scope.item_ids), 'video')}), ")
        out.add(f"{words.get(len(themes), str(len(themes)))} themes come up again and "
                "again:\n\n")
        shown_all: list[tuple[Moment, float]] = []
        for number, theme in enumerate(themes, start=1):
            out.add(f"{number}. **{theme['name']}** — "
                    f"{_plural(len(theme['moment_ids']), 'moment')} in "
                    f"{_plural(len(theme['video_ids']), 'video')}. ")
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
                shown_all.append((moment, 1.0))
            out.add("\n")
        out.add("\nAsk about any theme to see the videos that represent it best.")
        # Never post-process out.text: the annotation offsets point into it as built.
        step = self._search_step(f"I'll group the moments {where} by recurring topic.",
                                 "recurring themes", scope, 20, shown_all)
        return Answer(text=out.text, annotations=out.annotations, steps=[step],
                      memory={"themes": themes, "video_ids": out.cited_videos})

    def _theme_videos(self, ref: re.Match[str], turns: list[dict[str, Any]],
                      scope: _Scope) -> Answer:
        themes = next((t["themes"] for t in reversed(turns)
                       if isinstance(t.get("themes"), list) and t["themes"]), None)
        themes = themes or self.themes(restrict_to=scope.item_ids)
        if not themes:
            return self._generic(ref.group(0), ref.group(0), scope)
        index = _ORDINALS[ref.group(1).lower()] if ref.group(1) else int(ref.group(2)) - 1
        ordinal = ref.group(1).lower() if ref.group(1) else f"number {ref.group(2)}"
        if not -len(themes) <= index < len(themes):
            out = _Builder(self.videos)
            out.add(f"I only identified {len(themes)} themes, so there is no {ordinal} one. "
                    "The themes were: " + ", ".join(f"**{t['name']}**" for t in themes) + ".")
            return Answer(text=out.text, memory={"themes": themes})
        theme = themes[index]
        tag = str(theme["tag"])
        ranked, per_video = self._videos_for_tag(tag, scope.item_ids)
        ranked = ranked[:THEME_VIDEOS]
        commentary = (f"The {ordinal} theme was **{theme['name']}**; I'll look for the videos "
                      "with the most moments on it.")
        hits = [(per_video[v][0], float(len(per_video[v]))) for v in ranked]
        step = self._search_step(commentary, str(theme["name"]), scope, 10, hits)
        if not ranked:
            text = (f"The {ordinal} theme was **{theme['name']}**, but none of "
                    f"{self._where(scope)} has a moment on it.")
            return Answer(text=text, steps=[step],
                          memory={"themes": themes, "theme_tag": tag})
        out = _Builder(self.videos)
        out.add(f"The {ordinal} theme was **{theme['name']}**. The videos that represent it "
                "best are:\n\n")
        for video_id in ranked:
            video = self.videos[video_id]
            moments = per_video[video_id]
            out.add(f"- **{video.title}** ({format_timestamp(video.duration)}) — "
                    f"{_plural(len(moments), 'moment')} on this theme. "
                    f"{_sentence(moments[0].description)} ")
            out.cite(moments[0])
            out.add(".\n")
        if len(ranked) > 1 and len(per_video[ranked[0]]) > len(per_video[ranked[1]]):
            out.add(f"\n**{self.videos[ranked[0]].title}** is the strongest example.")
        return Answer(text=out.text.rstrip("\n"), annotations=out.annotations, steps=[step],
                      memory={"themes": themes, "video_ids": ranked, "theme_tag": tag})

    def _key_moments(self, video_ids: list[str], tag: str | None, scope: _Scope) -> Answer:
        videos = [self.videos[v] for v in video_ids]
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
        query = self._theme_name(tag) if tag else "key moments"
        step = self._search_step(
            f"I'll pull the key moments of the {_plural(count, 'video')} from my previous "
            "answer.", query, scope.narrow(video_ids, ""), 3 * count, picked)
        return Answer(text=out.text.rstrip("\n"), annotations=out.annotations, steps=[step],
                      memory={"video_ids": [v.id for v in videos], "theme_tag": tag})

    def _generic(self, text: str, asked: str, scope: _Scope) -> Answer:
        hits = self.search(text, limit=4, restrict_to=set(scope.item_ids)
                           if scope.item_ids is not None else None)
        overview = False
        if not hits and scope.item_ids:
            # "What happens in {{sel:0}}?": no keyword hit, so walk the selected videos.
            per_video = 2 if len(scope.item_ids) > 1 else 5
            hits = [(m, 0.0) for v in sorted(scope.item_ids, key=lambda v: self.videos[v].title)
                    for m in self.videos[v].moments[:per_video]][:6]
            overview = True
        if not hits:
            return self._no_match(asked, scope)
        out = _Builder(self.videos)
        if overview:
            out.add(f"Here is an overview of {scope.label}:\n\n")
        elif scope.label:
            out.add(f"Here is what I found in {scope.label}:\n\n")
        else:
            out.add(f"Here are the moments in **{self.store.name}** that best match your "
                    "question:\n\n")
        # Videos in order of their best hit; moments of one video in time order.
        video_rank: dict[str, int] = {}
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
        step = self._search_step(
            f"I'll search {self._where(scope)} for moments that match your question.",
            asked, scope, 4, hits)
        return Answer(text=out.text.rstrip("\n"), annotations=out.annotations, steps=[step],
                      memory={"video_ids": out.cited_videos})

    def _no_match(self, asked: str, scope: _Scope) -> Answer:
        themes = self.themes(limit=3, restrict_to=scope.item_ids)
        text = f"I couldn't find anything in {self._where(scope)} that matches your question."
        if themes:
            text += (" The videos here cover topics such as "
                     + ", ".join(t["name"].lower() for t in themes)
                     + " — try asking about one of those.")
        step = self._search_step(
            f"I'll search {self._where(scope)} for moments that match your question.",
            asked, scope, 4, [])
        return Answer(text=text, steps=[step], memory={})

    def _scope_problem(self, scope: _Scope) -> Answer:
        step = ToolStep("I'll look up the selected items first.", ITEMS_TOOL,
                        {"knowledge_store_id": self.store.id}, [])
        return Answer(text=scope.problem, steps=[step], memory={})

    def _with_web_sources(self, answer: Answer, question: str) -> Answer:
        """Append a "From the web" line citing two pretend pages, plus the search step."""
        words = [w for w in normalise(question) if stem(w) not in _FORMAT_TERMS][:5]
        topic = " ".join(words) or self.store.name
        slug = re.sub(r"[^a-z0-9]+", "-", topic.casefold()).strip("-")[:60] or "topic"
        pages = [(f"https://example.org/articles/{slug}", f"{topic.capitalize()}: an overview"),
                 (f"https://example.com/guides/{slug}", f"Field notes on {topic}")]
        numbers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
        number = max(numbers, default=0)
        text = answer.text + "\n\n**From the web:** "
        citations: list[WebCitation] = []
        for position, (url, title) in enumerate(pages):
            number += 1
            text += ("; " if position else "") + f"*{title}* "
            marker = f"[{number}]"
            citations.append(WebCitation(len(text), len(text) + len(marker) - 1, url, title))
            text += marker
        text += "."
        queries = (topic, f"{topic} explained")
        step = WebSearchStep(f"I'll also search the web for background on {topic}.", queries)
        return Answer(text=text, annotations=answer.annotations,
                      web_citations=answer.web_citations + citations,
                      steps=[*answer.steps, step], memory=answer.memory)

    # ----------------------------------------------------------------- structured output
    def structured(self, schema: dict[str, Any], answer: Answer) -> str:
        """A JSON string shaped by ``schema`` and filled from ``answer`` (best effort)."""
        contexts = [{"title": a.title, "item_id": a.item_id, "start": a.start_sec,
                     "end": a.end_sec, "text": _plain(answer.text)} for a in answer.annotations]
        base = {"title": self.store.name, "item_id": "", "start": 0.0, "end": 0.0,
                "text": _plain(answer.text)}
        value = _fill(schema, "", contexts[0] if contexts else base, contexts, 0)
        return json.dumps(value, ensure_ascii=False)


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


def _token_indexes(question: str) -> list[int]:
    """The N of every well-formed ``{{sel:N}}`` (absurdly long ones are ignored)."""
    return [int(m.group(1)) for m in SELECTION_TOKEN.finditer(question)
            if len(m.group(1)) <= MAX_SELECTION_INDEX_DIGITS]


def _clean_memory(turn: dict[str, Any]) -> dict[str, Any]:
    """A stored turn's memory with only well-typed entries (session files can be edited)."""
    memory: dict[str, Any] = {}
    themes = turn.get("themes")
    if isinstance(themes, list):
        kept = [t for t in themes if isinstance(t, dict) and isinstance(t.get("tag"), str)
                and isinstance(t.get("name"), str)]
        if kept:
            memory["themes"] = kept
    videos = turn.get("video_ids")
    if isinstance(videos, list):
        memory["video_ids"] = [v for v in videos if isinstance(v, str)]
    if isinstance(turn.get("theme_tag"), str):
        memory["theme_tag"] = turn["theme_tag"]
    return memory
