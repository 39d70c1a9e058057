"""Wiring of the transcript's turn actions: one function the composition root calls
(``wire_transcript(desktop)``).

- Versions: Retry and "Ask again" add an answer version (``ChatController.retry`` /
  ``ask_again``); the transcript shows the newest with ‹ n / m › (``MessageListModel``).
- Forks: "Continue in a new conversation from here" and "Edit and ask" go to
  ``Workspace.continue_from`` / ``edit_and_ask``; the header's link back opens the origin
  (``Workspace.open_origin``) and the transcript scrolls to the message it continued from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop


def wire_transcript(desktop: JockeyDesktop) -> None:
    """Connect the chat pane's turn actions to the workspace (after the window exists)."""
    pane = desktop.window.chat_pane
    ws = desktop.workspace
    # Like Send and Retry: a click faster than the first paint connects first.
    pane.sig_ask_again_requested.connect(desktop.connection.connect_now)
    pane.sig_ask_again_requested.connect(ws.ask_again)
    pane.sig_fork_requested.connect(ws.continue_from)
    pane.sig_edit_requested.connect(ws.edit_and_ask)
    pane.sig_origin_requested.connect(ws.open_origin)
    ws.sig_reveal_message.connect(pane.reveal_origin_message)
    ws.sig_origin_named.connect(pane.show_origin)
