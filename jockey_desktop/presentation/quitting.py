"""What quitting with writes held on a full disk says, and the choices it offers (Qt-free:
the dialog in ``ui/quit_dialog.py`` shows them, ``controllers/quitting.py`` acts on them)."""

from __future__ import annotations

from enum import Enum

#: The dialog's title.
HELD_QUIT_TITLE = "Quit without saving?"
#: The buttons, in the order the dialog shows them.
TRY_AGAIN_TEXT = "Try again"
QUIT_ANYWAY_TEXT = "Quit anyway"


class QuitChoice(str, Enum):
    """What the user answered when asked about held writes at quit."""

    #: Space may have been freed: try the writes again (and quit once they are saved).
    TRY_AGAIN = "try_again"
    #: Quit and lose what is held.
    QUIT = "quit"
    #: Do not quit (close the dialog, Esc).
    CANCEL = "cancel"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def held_writes_text(answers: int, sessions: int, folder: str, drafts: int = 0) -> str:
    """What will be lost by quitting now, in words: ``answers`` ended answers, ``sessions``
    new server sessions and ``drafts`` unsent questions the disk holding ``folder`` could not
    take."""
    parts = []
    if answers:
        parts.append(_count(answers, "answer", "answers"))
    if sessions:
        # Words for people (as the chat header's "Jockey remembers this conversation"): a
        # "session" is the API's word.
        parts.append("Jockey's memory of " + _count(sessions, "conversation", "conversations"))
    if drafts:
        parts.append(_count(drafts, "unsent draft", "unsent drafts"))
    what = (", ".join(parts[:-1]) + " and " + parts[-1]) if len(parts) > 1 else (
        parts[0] if parts else "Some changes")
    them = "it" if answers + sessions + drafts == 1 else "them"
    return (f"{what} could not be saved: the disk holding {folder} is full. Free some space "
            f"and choose {TRY_AGAIN_TEXT}, or quit and lose {them}.")
