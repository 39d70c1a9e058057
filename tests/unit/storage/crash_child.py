"""Child process for the crash-safety and two-process tests (run as a script, not collected).

Usage: ``python crash_child.py DB BACKUPS crash SEED`` writes turns forever, printing one
"ack ..." line after each write method has RETURNED (i.e. committed); the parent SIGKILLs it
at random moments. ``python crash_child.py DB BACKUPS writer TAG N`` writes N small
conversations and exits cleanly (two of these run at once).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from jockey_desktop.core.storage import (
    MessageStatus,
    open_repository,
)


def ack(*parts: object) -> None:
    """Report a committed write to the parent."""
    sys.stdout.write("ack " + " ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def crash_loop(db: Path, backups: Path, seed: int) -> None:
    """Write turns (the controller's path: start, flushes, complete or end) and upload-queue
    records until killed."""
    rng = random.Random(seed)
    repo = open_repository(db, backups)
    ack("open")
    while True:
        conv = repo.create_conversation(f"store-{seed}", "Store")
        ack("conv", conv.id)
        question, reply = repo.start_turn(conv.id, f"question {seed} {conv.id}")
        ack("user", question.id, conv.id)
        session = f"sess-{seed}-{conv.id}"
        repo.set_session_id(conv.id, session)
        ack("session", conv.id, session)
        text = ""
        for _ in range(rng.randint(1, 4)):
            text += f"chunk-{len(text)} " * rng.randint(1, 20)
            repo.flush_partial_text(reply.id, text)
            ack("flush", reply.id, len(text))
        if rng.random() < 0.5:
            repo.complete_turn(question.id, reply.id, text=text + "END", session_id=session)
            ack("finish", reply.id)
        elif rng.random() < 0.5:
            repo.end_turn(question.id, reply.id, status=MessageStatus.CANCELLED,
                          error_code=None, error_message=None)
            ack("ended", reply.id)
        (upload,) = repo.add_uploads([{"store_id": "ks", "method": "multipart",
                                       "path": f"/v/{seed}-{conv.id}.mp4"}])
        ack("upload", upload.id)
        for index in range(1, rng.randint(1, 4)):
            repo.record_chunk(upload.id, index, f"etag-{index}", 1000)
            ack("chunk", upload.id, index)


def writer(db: Path, backups: Path, tag: str, count: int) -> None:
    """Write ``count`` conversations with two messages each, then close cleanly."""
    repo = open_repository(db, backups)
    for i in range(count):
        conv = repo.create_conversation("store", "Store", title=f"{tag}-{i}")
        repo.set_session_id(conv.id, f"{tag}-sess-{i}")
        user = repo.add_user_message(conv.id, f"{tag} question {i}")
        reply = repo.start_assistant_message(conv.id, user.id)
        repo.finish_message(reply.id, text=f"{tag} answer {i}", status=MessageStatus.COMPLETE)
        ack("conv", conv.id)
    repo.close()
    ack("done")


if __name__ == "__main__":
    db_arg, backups_arg, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if mode == "crash":
        crash_loop(db_arg, backups_arg, int(sys.argv[4]))
    else:
        writer(db_arg, backups_arg, sys.argv[4], int(sys.argv[5]))
