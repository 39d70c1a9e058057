"""Actions named in sentences, so the views can make them links (Qt-free).

The app's sentences tell people what to do next: "Your API key was rejected — open Settings
to replace it", "No API key is set — open Settings, or try the sandbox", "use File → Restore
newest backup…". Where such a sentence is shown in a label, the named action becomes a link
that does it (issue 14.10). This module is the one list of those phrases and the one split of
a sentence into plain runs and action runs; ``ui.theme.set_text_with_actions`` renders them.
"""

from __future__ import annotations

from enum import Enum


class TextAction(str, Enum):
    """Something a sentence can ask the user to do; the value is the link's address."""

    SETTINGS = "action:settings"
    SANDBOX = "action:sandbox"
    RESTORE_BACKUP = "action:restore-backup"
    OPEN_LOGS = "action:open-logs"
    IMPORT = "action:import"


#: Phrases (as the app writes them) and the action each names. Longer phrases first, so
#: "open Settings" wins over "Settings" where both would match.
ACTION_PHRASES: tuple[tuple[str, TextAction], ...] = (
    ("File → Restore newest backup…", TextAction.RESTORE_BACKUP),
    ("Restore newest backup…", TextAction.RESTORE_BACKUP),
    ("Help → Open logs", TextAction.OPEN_LOGS),
    ("File → Import…", TextAction.IMPORT),
    ("open Settings", TextAction.SETTINGS),
    ("Open Settings", TextAction.SETTINGS),
    ("in Settings", TextAction.SETTINGS),
    ("try the sandbox", TextAction.SANDBOX),
    ("Try the sandbox", TextAction.SANDBOX),
)


def action_for(href: str) -> TextAction | None:
    """The action a link address stands for, or None for any other address."""
    try:
        return TextAction(href)
    except ValueError:
        return None


def split_actions(text: str) -> list[tuple[str, TextAction | None]]:
    """``text`` as runs of (characters, action or None), in order; joined they give ``text``.

    Every occurrence of a phrase is an action run; the rest are plain runs. Matching is
    exact (case and punctuation), so only the app's own wording becomes a link.
    """
    runs: list[tuple[str, TextAction | None]] = []
    position = 0
    plain_start = 0
    while position < len(text):
        for phrase, action in ACTION_PHRASES:
            if text.startswith(phrase, position):
                if plain_start < position:
                    runs.append((text[plain_start:position], None))
                runs.append((phrase, action))
                position += len(phrase)
                plain_start = position
                break
        else:
            position += 1
    if plain_start < len(text):
        runs.append((text[plain_start:], None))
    return runs


def has_actions(text: str) -> bool:
    """True when ``text`` names at least one action."""
    return any(action is not None for _run, action in split_actions(text))
