"""What the restore flow says about a backup: when it was taken, in words (no Qt).

A backup's file name holds a UTC stamp ("conversations-20261203-180215-…-daily.sqlite3"):
the question before a restore and the note after it say the local date and time and how long
ago instead, and keep the path as a detail at the end.
"""

from __future__ import annotations

import time
from pathlib import Path

from jockey_desktop.presentation.formatting import format_age

#: The reason ``Repository.restore_backup`` gives the copy it makes of what it replaces.
BEFORE_RESTORE = "before-restore"


def backup_when(taken_at: float, now: float | None = None) -> str:
    """The local date and time and the age: "3 Dec 2026 at 18:02 (2 h ago)"."""
    stamp = time.strftime("%d %b %Y at %H:%M", time.localtime(taken_at)).lstrip("0")
    return f"{stamp} ({format_age(taken_at, now)})"


def restore_question(path: Path, taken_at: float, now: float | None = None) -> str:
    """The question asked before the newest backup replaces every conversation."""
    when = backup_when(taken_at, now)
    if path.stem.endswith(BEFORE_RESTORE):
        ask = f"Put your conversations back as they were just before the last restore, on {when}?"
    else:
        ask = f"Replace all your conversations with the backup taken on {when}?"
    return (f"{ask}\n\n"
            "What was asked or changed since then is replaced, and answers in progress are "
            "stopped. The conversation on screen opens again as it is in the backup, if it "
            "is there. Your conversations as they are now are backed up first: restoring the "
            "newest backup again brings them back.\n\n"
            f"Backup file: {path}")


def restored_text(path: Path, taken_at: float, lost_title: str | None = None) -> str:
    """What is said once the backup is in place; ``lost_title``: the conversation that was
    on screen is not in the backup (it is in the copy made before the restore)."""
    stamp = time.strftime("%d %b %Y at %H:%M", time.localtime(taken_at)).lstrip("0")
    lost = (f" “{lost_title}”, which was on screen, is not in this backup."
            if lost_title is not None else "")
    return (f"Your conversations are back as they were on {stamp} ({path.name}).{lost} The "
            "ones from before the restore were saved as a backup: File → Restore newest "
            "backup… brings them back.")
