"""Measure the storage hot paths on a big history (run by hand, not collected by pytest).

``python tests/unit/storage/bench_storage.py [conversations] [messages_per_conversation]``
(default 10,000 × 20 = 200,000 messages). Words follow a Zipf-like law over 3,000 words so the
most common ones occur in nearly every message, like "the" in real text (the worst case for
ranked search).
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from jockey_desktop.core.storage import open_repository


def timed(label: str, func: Callable[[], object]) -> object:
    """Run ``func`` once and print how long it took."""
    start = time.perf_counter()
    result = func()
    print(f"{label:<40} {(time.perf_counter() - start) * 1000:8.1f} ms")
    return result


def main(conversations: int = 10_000, per_conversation: int = 20) -> None:
    """Build the history, then time the calls the UI makes."""
    folder = Path(tempfile.mkdtemp())
    repo = open_repository(folder / "c.sqlite3", folder / "backups")
    words = [f"w{i}" for i in range(3000)] + ["goal", "striker"]
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))
    rng = random.Random(1)
    conn = repo._connection()
    now = time.time()
    start = time.perf_counter()
    conn.execute("BEGIN")
    for c in range(conversations):
        cid = conn.execute(
            "INSERT INTO conversations (uid, title, store_id, store_name, created_at, "
            "updated_at, pinned) VALUES (?, ?, 's', 'S', ?, ?, ?)",
            (str(uuid.uuid4()), " ".join(rng.choices(words, cum_weights=cumulative, k=4)),
             now - c, now - c, int(c % 500 == 0)),
        ).lastrowid
        for m in range(per_conversation):
            text = " ".join(rng.choices(words, cum_weights=cumulative, k=40))
            conn.execute(
                "INSERT INTO messages (uid, conversation_id, role, text, plain_text, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)",
                (str(uuid.uuid4()), cid, "user" if m % 2 == 0 else "assistant", text, text,
                 now, now),
            )
    conn.execute("COMMIT")
    print(f"built {conversations * per_conversation} messages in "
          f"{time.perf_counter() - start:.1f} s")
    timed("list_conversations() all", repo.list_conversations)
    timed("list_conversations(limit=200)", lambda: repo.list_conversations(limit=200))
    for query in ("goal", "w50", "w100 w7", "w0", "w1 w2", "w12", "w0 w1 w2 w3"):
        timed(f"search({query!r})", lambda q=query: repo.search(q))
    conv = repo.create_conversation("s", "S")
    turn = timed("start_turn", lambda: repo.start_turn(conv.id, "hello"))
    question, reply = turn  # type: ignore[misc]
    answer = "**Lions** hunt at dusk [1]. " * 200  # ~5 kB of Markdown
    timed("flush_partial_text (5 kB Markdown)",
          lambda: repo.flush_partial_text(reply.id, answer))
    timed("complete_turn (5 kB Markdown)", lambda: repo.complete_turn(
        question.id, reply.id, text=answer, session_id="sess"))
    timed("get_summary", lambda: repo.get_summary(conv.id))
    timed("close", repo.close)
    (folder / "c.sqlite3.running").touch()
    repo = timed("open after unclean shutdown", lambda: open_repository(
        folder / "c.sqlite3", folder / "backups"))  # type: ignore[assignment]
    repo.close()
    migrate_from_v2(folder, conversations * per_conversation)


def migrate_from_v2(folder: Path, messages: int) -> None:
    """Time the v2 -> v3 upgrade (plain-text backfill and index rebuild) of ``messages``
    Markdown messages."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
    import make_v2_db  # the frozen v2 schema

    path = folder / "v2.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for statement in make_v2_db.SCHEMA_SQL:
        conn.execute(statement)
    now = time.time()
    cid = conn.execute("INSERT INTO conversations (uid, store_id, created_at, updated_at) "
                       "VALUES ('u', 's', ?, ?)", (now, now)).lastrowid
    conn.executemany(
        "INSERT INTO messages (uid, conversation_id, role, text, status, created_at, "
        "updated_at) VALUES (?, ?, 'assistant', ?, 'complete', ?, ?)",
        ((str(uuid.uuid4()), cid, make_v2_db.LION_ANSWER, now, now) for _ in range(messages)))
    conn.execute("PRAGMA user_version = 2")
    conn.execute("COMMIT")
    conn.close()
    repo = timed(f"open + migrate v2 -> v3 ({messages} messages)",
                 lambda: open_repository(path, folder / "v2-backups"))
    repo.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
