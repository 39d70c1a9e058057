"""Keyboard shortcuts that are not menu items, for the shortcuts sheet (Qt-free).

Menu items carry their own shortcuts and the sheet reads them from the menus, so a new menu
shortcut is listed without touching this file. The keys below work inside one part of the
window (the question box, the list, the transcript, the player…) and have no menu item; each
section names where it applies. The player's keys are ``ui/player/panel.py``'s
(a test keeps the two in step).
"""

from __future__ import annotations

#: (section, [(keys, what they do)]) in the order the sheet shows them.
CONTEXT_SHORTCUTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Question box", (
        ("Enter", "Send the question"),
        ("Shift+Enter", "New line"),
        ("Esc", "Stop the answer that is arriving"),
        ("Tab", "Move to the Send button"),
    )),
    ("Conversation list", (
        ("↑ / ↓", "Open the previous / next conversation"),
        ("Enter", "Open the selected conversation"),
        ("F2", "Rename the conversation in place (Enter keeps, Esc cancels)"),
        ("Del", "Delete the conversation…"),
        ("Any letter", "Start typing a question (it goes to the question box)"),
    )),
    ("Search field", (
        ("↓", "Go to the results"),
        ("Enter", "Open the first result, scrolled to the match"),
        ("Esc", "Clear the search"),
    )),
    ("Search results", (
        ("Enter", "Open the result, scrolled to the match"),
        ("Esc, or ↑ on the first result", "Back to the search field"),
    )),
    ("Transcript", (
        ("↑ / ↓", "Move between messages"),
        ("Enter", "Play the answer's first cited moment"),
        ("Menu key / Shift+F10", "The message's menu (Play cited moment, Copy as Markdown…)"),
        ("Ctrl+C", "Copy the message"),
        ("Esc", "Stop the answer that is arriving"),
        ("Any letter", "Start typing a question (it goes to the question box)"),
    )),
    ("Find bar", (
        ("Enter / F3", "Next match"),
        ("Shift+Enter / Shift+F3", "Previous match"),
        ("Esc", "Close the find bar"),
    )),
    ("Knowledge stores window", (
        ("Ctrl+W", "Close the window"),
    )),
    ("Player", (
        ("Space", "Play / pause"),
        ("← / →", "Back / forward 5 seconds"),
        ("↑ / ↓", "Volume up / down"),
        ("M", "Mute"),
        ("L", "Loop the moment"),
        ("F", "Full screen (Esc leaves it)"),
        ("P / N", "Previous / next moment"),
        ("< / >", "Slower / faster"),
    )),
)

#: The player panel's keys as ``QKeySequence`` strings, for the test that keeps
#: ``CONTEXT_SHORTCUTS`` in step with ``ui/player/panel.py``.
PLAYER_KEYS = ("Space", "Left", "Right", "Up", "Down", "M", "L", "F", "P", "N", "<", ">")
