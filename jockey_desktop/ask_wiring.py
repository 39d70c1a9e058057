"""Wiring of what a question asks about and how an answer is shown beyond its text: one
function the composition root calls (``wire_ask(desktop)``).

- Selections: the composer's chips live in the :class:`Workspace` (``add_selection`` — which
  the stores view and a citation chip's "Ask about this video" call —, ``remove_selection``,
  ``sig_selections_changed``); ``@`` completion asks :class:`SelectionCandidates` for the
  store's ready videos and collections (listed on the network runner, cached per store).
- "Also search the web": per conversation, through ``Workspace.set_web_search``.
- Agent steps: the chat's live steps reach the pane; the "Show agent steps" setting
  (``AppSettings.show_steps``) decides whether turns ask for them and whether the transcript
  lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from jockey_desktop.controllers.selections import SelectionCandidates

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.controllers.chat import ChatController
    from jockey_desktop.settings import AppSettings
    from jockey_desktop.ui.chat_pane import ChatPane


class AskFeature(QObject):
    """Holds the ``@`` candidates and applies the "Show agent steps" setting."""

    def __init__(self, settings: AppSettings, chat: ChatController, pane: ChatPane,
                 candidates: SelectionCandidates, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.chat = chat
        self.pane = pane
        self.candidates = candidates
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


def wire_ask(desktop: JockeyDesktop) -> AskFeature:
    """Build the ``@`` candidates and connect selections, web search and steps."""
    pane, ws, chat = desktop.window.chat_pane, desktop.workspace, desktop.chat
    candidates = SelectionCandidates(desktop.runner, parent=desktop)
    feature = AskFeature(desktop.settings, chat, pane, candidates, parent=desktop)

    desktop.connection.sig_client_changed.connect(candidates.set_client)
    pane.sig_mentions_wanted.connect(candidates.request)
    candidates.sig_candidates.connect(pane.set_mention_candidates)
    candidates.sig_failed.connect(pane.show_mentions_failed)
    desktop.window.store_picker.sig_current_changed.connect(pane.set_default_store)

    ws.sig_selections_changed.connect(pane.set_selections)
    ws.sig_web_search_changed.connect(pane.set_web_search)
    pane.sig_selection_added.connect(ws.add_selection)
    pane.sig_selection_removed.connect(ws.remove_selection)
    pane.sig_web_search_toggled.connect(ws.set_web_search)

    chat.sig_stream_steps.connect(pane.on_stream_steps)
    pane.sig_show_steps_changed.connect(feature.set_show_steps)
    return feature
