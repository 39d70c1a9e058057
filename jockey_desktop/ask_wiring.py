"""Wiring of what a question asks about and how an answer is shown beyond its text:
``wire_ask(desktop)`` (before the first paint: the conversation it shows has selections, a web
search switch and steps) and ``wire_mentions(desktop)`` (the ``@`` candidates, built after the
first paint or at the first ``@``).

- Selections: the composer's chips live in the :class:`Workspace` (``add_selection`` — which
  the stores view and a citation chip's "Ask about this video" call —, ``remove_selection``,
  ``sig_selections_changed``); ``@`` completion asks :class:`SelectionCandidates` for the
  store's ready videos and collections (listed on the network runner, cached per store;
  built after the first paint).
- "Also search the web": per conversation, through ``Workspace.set_web_search``.
- Agent steps: the chat's live steps reach the pane; the "Show agent steps" setting
  (``AppSettings.show_steps``) decides whether turns ask for them and whether the transcript
  lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from jockey_desktop.startup import follow_client

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.controllers.chat import ChatController
    from jockey_desktop.controllers.selections import SelectionCandidates
    from jockey_desktop.settings import AppSettings
    from jockey_desktop.ui.chat_pane import ChatPane


class AskFeature(QObject):
    """Applies the "Show agent steps" setting."""

    def __init__(self, settings: AppSettings, chat: ChatController, pane: ChatPane,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.chat = chat
        self.pane = pane
        self._apply_show_steps(settings.show_steps)

    @Slot(bool)
    def set_show_steps(self, show: bool) -> None:
        """The user turned "Show agent steps" on or off: remembered, and applied to the
        next turns (whether they ask for steps) and to the transcript."""
        self.settings.show_steps = bool(show)
        self._apply_show_steps(bool(show))

    def _apply_show_steps(self, show: bool) -> None:
        self.chat.set_include_steps(show)
        self.pane.set_show_steps(show)


def wire_mentions(desktop: JockeyDesktop) -> SelectionCandidates:
    """Build the ``@`` candidates (listed on the network runner) and connect them."""
    from jockey_desktop.controllers.selections import SelectionCandidates

    pane = desktop.window.chat_pane
    candidates = SelectionCandidates(desktop.runner, parent=desktop)
    follow_client(desktop.connection, candidates.set_client)
    pane.sig_mentions_wanted.connect(candidates.request)
    candidates.sig_candidates.connect(pane.set_mention_candidates)
    candidates.sig_failed.connect(pane.show_mentions_failed)
    return candidates


def wire_ask(desktop: JockeyDesktop) -> AskFeature:
    """Connect selections, web search and steps (what the first conversation shown needs)."""
    pane, ws, chat = desktop.window.chat_pane, desktop.workspace, desktop.chat
    feature = AskFeature(desktop.settings, chat, pane, parent=desktop)

    desktop.window.store_picker.sig_current_changed.connect(pane.set_default_store)

    ws.sig_selections_changed.connect(pane.set_selections)
    ws.sig_web_search_changed.connect(pane.set_web_search)
    pane.sig_selection_added.connect(ws.add_selection)
    pane.sig_selection_removed.connect(ws.remove_selection)
    pane.sig_web_search_toggled.connect(ws.set_web_search)

    chat.sig_stream_steps.connect(pane.on_stream_steps)
    pane.sig_show_steps_changed.connect(feature.set_show_steps)
    return feature
