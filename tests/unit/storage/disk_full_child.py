"""Child process for the full-disk test (run as a script inside a private mount namespace
with a small tmpfs at ``FOLDER``; not collected).

Usage: ``python disk_full_child.py FOLDER``. Opens a repository in FOLDER, asks once, fills
the disk with a filler file, then tries every kind of write and records what each raised;
frees the space and writes again. Prints one JSON object with the findings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from jockey_desktop.core.storage import (
    DiskFullError,
    MessageStatus,
    StorageError,
    open_repository,
)
from tests.helpers.private_mount import fill


def attempt(call: Any) -> str:
    """What a write did: "ok", or the class and message of the error it raised."""
    try:
        call()
    except DiskFullError as exc:
        return f"DiskFullError: {exc}"
    except StorageError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def main(folder: Path) -> None:
    data = folder / "data"
    repo = open_repository(data / "conversations.sqlite3", data / "backups")
    conv = repo.create_conversation("ks_1", "Store")
    first_q, first_a = repo.start_turn(conv.id, "the first question")
    repo.complete_turn(first_q.id, first_a.id, text="the first answer")
    question, answer = repo.start_turn(conv.id, "asked before the disk filled")
    repo.flush_partial_text(answer.id, "a partial answer")
    filler = fill(folder)
    big = "words that need new pages " * 2000
    results = {
        "start_turn": attempt(lambda: repo.start_turn(conv.id, big)),
        "flush_partial_text": attempt(lambda: repo.flush_partial_text(answer.id, big)),
        "complete_turn": attempt(lambda: repo.complete_turn(question.id, answer.id,
                                                            text=big)),
        "backup_now": attempt(repo.backup_now),
        "open_repository": attempt(lambda: open_repository(
            folder / "other" / "conversations.sqlite3", folder / "other" / "backups")),
    }
    unchanged = {
        "messages": [(m.text, m.status.value) for m in repo.list_messages(conv.id)],
        "backups": [p.name for p in repo.list_backups()],
        "partial_files": [p.name for p in (data / "backups").glob("*.partial")],
    }
    os.unlink(filler)
    after = repo.complete_turn(question.id, answer.id, text=big)
    again = repo.start_turn(conv.id, "after space returned")
    report: dict[str, Any] = {
        "results": results,
        "unchanged": unchanged,
        "after_status": after.answer.status.value,
        "after_text_ok": after.answer.text == big,
        "again": again[0].text,
        "integrity": repo.integrity_check(),
        "complete": MessageStatus.COMPLETE.value,
    }
    repo.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
