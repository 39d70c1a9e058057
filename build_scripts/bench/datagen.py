"""Builds the benchmark's synthetic data directory through the app's own storage code.

Every conversation is written with ``Repository.import_conversation`` (one transaction per
conversation, the same code path as importing an export), so the file has exactly the schema,
indexes and full-text tables the app makes. Text is Markdown with headings, lists, emphasis,
code, links and ``[n]`` citation markers carrying real citation dicts (``CITATION_KEYS``).

Built once per size into a cache folder and copied for each benchmark run: building 200,000
messages takes a minute, copying the file a second.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from jockey_desktop.core.storage import (
    CITATION_KEYS,
    Conversation,
    Message,
    MessageStatus,
    Role,
    open_repository,
)

#: Bump when the generated content changes, so stale caches are rebuilt.
DATA_VERSION = 3
_INFO_FILE = "bench-data.json"

_STOP_TEXT = "the a of and to in is that it for on with as was at by this from"
_STOP_WORDS = _STOP_TEXT.split()
_TOPIC_TEXT = (
    "video scene speaker keynote launch drone survey river forest camera shot moment "
    "product pricing demo audience stage interview wildlife bird flight landing crowd "
    "chart roadmap battery sensor map field harvest storm coast bridge tower night "
    "morning sunset close-up wide angle slow motion timelapse narrator subtitle clip "
    "segment highlight summary question answer example detail feature update release"
)
_TOPIC_WORDS = _TOPIC_TEXT.split()
_SYLLABLE_TEXT = "ka lo mi ren tos va pel dri mun sha ter bix ol fen gu rad"
_SYLLABLES = _SYLLABLE_TEXT.split()


def _vocabulary() -> tuple[list[str], list[float]]:
    """Words in frequency order with Zipf cumulative weights (weight of rank r ~ 1/r), as in
    real text: stop words in nearly every message, topic words in a few percent of them
    ("forest" ranks about 300th, in ~2 % of messages), a long tail of rare words."""
    rng = random.Random(1)
    rare: list[str] = []
    seen: set[str] = set(_STOP_WORDS) | set(_TOPIC_WORDS)
    while len(rare) < 4000:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        if word not in seen:
            seen.add(word)
            rare.append(word)
    words = list(_STOP_WORDS)
    # Topic words spread over ranks ~20-600, the rare words around and after them.
    step = 12
    topics = list(_TOPIC_WORDS)
    rng.shuffle(topics)
    while topics or rare:
        words.extend(rare[:step])
        del rare[:step]
        if topics:
            words.append(topics.pop())
    weights: list[float] = []
    total = 0.0
    for rank in range(1, len(words) + 1):
        total += 1 / rank
        weights.append(total)
    return words, weights


_WORDS, _CUM_WEIGHTS = _vocabulary()


@dataclass(frozen=True)
class DataInfo:
    """What was built: sizes and the ids of the two named conversations."""

    data_dir: str
    conversations: int
    messages: int
    big_id: int
    big_messages: int
    small_id: int
    small_messages: int
    version: int = DATA_VERSION


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choices(_WORDS, cum_weights=_CUM_WEIGHTS, k=words))
    return text[0].upper() + text[1:] + "."


def _citation(marker_start: int, marker_end: int, rng: random.Random) -> dict[str, object]:
    start = round(rng.uniform(0, 3000), 1)
    values: dict[str, object] = {
        "kind": "video_citation", "marker_start": marker_start, "marker_end": marker_end,
        "item_id": f"item_{rng.randrange(500):04d}", "collection_id": None,
        "start_sec": start, "end_sec": round(start + rng.uniform(3, 60), 1),
        "title": f"{rng.choice(_TOPIC_WORDS).title()} {rng.choice(_TOPIC_WORDS)} footage",
        "thumbnail_url": None, "hls_url": None,
    }
    return {key: values.get(key) for key in CITATION_KEYS}


def assistant_text(rng: random.Random) -> tuple[str, list[dict[str, object]]]:
    """A Markdown answer (heading, paragraph with citations, list, code, link) and its
    citations (marker indices are Python string indices, end exclusive)."""
    parts: list[str] = []
    citations: list[dict[str, object]] = []
    length = 0

    def add(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    def cite(number: int) -> None:
        marker = f"[{number}]"
        citations.append(_citation(length, length + len(marker), rng))
        add(marker)

    add(f"### {_sentence(rng, 4)[:-1]}\n\n")
    add(_sentence(rng, rng.randint(10, 25))[:-1] + " ")
    cite(1)
    add(". The **" + rng.choice(_TOPIC_WORDS) + "** appears at `00:" + f"{rng.randrange(60):02d}"
        + "` in *" + rng.choice(_TOPIC_WORDS) + "* ")
    cite(2)
    add(".\n\n")
    for _ in range(rng.randint(2, 4)):
        add(f"- {_sentence(rng, rng.randint(5, 12))} ")
        cite(rng.randint(1, 3))
        add("\n")
    add(f"\n{_sentence(rng, rng.randint(8, 20))} See [the source](https://example.com/"
        f"{rng.randrange(10_000)}) for more.")
    return "".join(parts), citations


def user_text(rng: random.Random) -> str:
    """A short question."""
    return _sentence(rng, rng.randint(5, 16))[:-1] + "?"


def _messages(count: int, rng: random.Random, now: float) -> list[Message]:
    messages: list[Message] = []
    for local_id in range(1, count + 1):
        t = now - (count - local_id) * 30
        if local_id % 2:
            messages.append(Message(
                id=local_id, uid=str(uuid.UUID(int=rng.getrandbits(128))), conversation_id=0,
                role=Role.USER, text=user_text(rng), status=MessageStatus.COMPLETE,
                created_at=t, updated_at=t))
        else:
            text, citations = assistant_text(rng)
            messages.append(Message(
                id=local_id, uid=str(uuid.UUID(int=rng.getrandbits(128))), conversation_id=0,
                role=Role.ASSISTANT, text=text, status=MessageStatus.COMPLETE, created_at=t,
                updated_at=t, reply_to=local_id - 1, session_id="sess_bench",
                response_id=f"resp_{local_id}", citations=citations,
                input_tokens=200, output_tokens=len(text.split())))
    return messages


@functools.lru_cache(maxsize=1)
def sandbox_store() -> tuple[str, str]:
    """(id, name) of the sandbox store every conversation is bound to, so a benchmark can
    stream a real reply into any of them."""
    from jockey_desktop.sandbox.data import load_stores

    stores = load_stores(None)
    store = stores[sorted(stores)[0]]
    return store.id, store.name


def _conversation(title: str, updated_at: float, rng: random.Random,
                  pinned: bool = False) -> Conversation:
    store_id, store_name = sandbox_store()
    return Conversation(
        id=0, uid=str(uuid.UUID(int=rng.getrandbits(128))), title=title, store_id=store_id,
        store_name=store_name, session_id="sess_bench", instructions=None,
        created_at=updated_at - 3600, updated_at=updated_at, pinned=pinned, draft="",
        title_is_auto=False)


def build_data_dir(data_dir: Path, conversations: int, messages: int, *, big: int = 1000,
                   small: int = 10, seed: int = 6) -> DataInfo:
    """Write a fresh data directory: ``conversations`` conversations holding ``messages``
    messages in all, among them one of ``big`` and one of ``small`` messages (the two most
    recent, so they open first in the sidebar). Returns what was built."""
    if conversations < 2 or messages < big + small:
        raise ValueError("need at least 2 conversations and big + small messages")
    data_dir = Path(data_dir)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    (data_dir / "backups").mkdir(parents=True)
    rng = random.Random(seed)
    repo = open_repository(data_dir / "conversations.sqlite3", data_dir / "backups")
    try:
        conn = repo._connection()
        # Building only: one fsync per conversation would make this take minutes; the data
        # written is the same. The app's own connection settings apply when it opens the file.
        conn.execute("PRAGMA synchronous = OFF")
        now = time.time()
        others = conversations - 2
        rest = messages - big - small
        per, extra = divmod(rest, others) if others else (0, 0)
        for n in range(others):
            count = per + (1 if n < extra else 0)
            conv = _conversation(_sentence(rng, rng.randint(3, 7))[:-1],
                                 now - 600 - n * 60, rng, pinned=(n % 997 == 0))
            repo.import_conversation(conv, _messages(count, rng, conv.updated_at))
        small_conv = _conversation("Small conversation (10 messages)", now - 60, rng)
        small_id = repo.import_conversation(small_conv, _messages(small, rng, now - 60))
        big_conv = _conversation("Big conversation (1,000 messages)", now, rng)
        big_id = repo.import_conversation(big_conv, _messages(big, rng, now))
        assert small_id is not None and big_id is not None
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        repo.close()
    info = DataInfo(str(data_dir), conversations, messages, big_id, big, small_id, small)
    (data_dir / _INFO_FILE).write_text(json.dumps(asdict(info)), encoding="utf-8")
    return info


def cached_data_dir(cache_root: Path, conversations: int, messages: int) -> DataInfo:
    """The cached build for these sizes (built now if missing or stale).

    The folder is named by the storage schema too: a build made by an older schema would be
    migrated at every measured start, timing the migration instead of the start.
    """
    from jockey_desktop.core.storage import SCHEMA_VERSION

    folder = (Path(cache_root)
              / f"data-v{DATA_VERSION}-s{SCHEMA_VERSION}-{conversations}c-{messages}m")
    info_file = folder / _INFO_FILE
    if info_file.is_file():
        try:
            info = DataInfo(**json.loads(info_file.read_text(encoding="utf-8")))
            if info.version == DATA_VERSION:
                return info
        except (TypeError, ValueError):
            pass  # a half-written cache: rebuild it
    return build_data_dir(folder, conversations, messages)


def copy_data_dir(info: DataInfo, target: Path) -> DataInfo:
    """A private copy of a built data directory (runs write drafts, settings and replies)."""
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(info.data_dir, target)
    copied = DataInfo(**{**asdict(info), "data_dir": str(target)})
    (target / _INFO_FILE).write_text(json.dumps(asdict(copied)), encoding="utf-8")
    return copied


def load_info(data_dir: Path) -> DataInfo:
    """The ``DataInfo`` written next to a built data directory."""
    return DataInfo(**json.loads((Path(data_dir) / _INFO_FILE).read_text(encoding="utf-8")))
