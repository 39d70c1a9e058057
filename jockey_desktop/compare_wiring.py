"""CompareFeature(desktop): File → Compare stores…, its controller (built by the composition root
just after the first paint), and its view built on first use.

The comparison reuses the chat's path for every turn (``CompareController`` over
``ConversationsController`` and ``ChatController``); this module only connects the controller,
the view, the window, the store list, the workspace (open a column as a conversation) and the
player (a citation clicked in a column), and builds the view the first time it is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from jockey_desktop.controllers.compare import CompareController
from jockey_desktop.core.store_summary import StoreSummary

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.ui.compare_view import CompareView


class CompareFeature(QObject):
    """Owns the comparison's controller and (once shown) its view."""

    def __init__(self, desktop: JockeyDesktop) -> None:
        super().__init__(desktop)
        self.desktop = desktop
        self.controller = CompareController(desktop.conversations, desktop.chat, desktop.feed,
                                            parent=self)
        self.view: CompareView | None = None
        # Built after the first paint: the stores listed before then are known already.
        self._stores: list[StoreSummary] = list(desktop.stores.stores())
        desktop.window.sig_compare_requested.connect(self.show)
        desktop.stores.sig_stores_loaded.connect(self._on_stores)

    @Slot()
    def show(self) -> CompareView:
        """Show the comparison where the conversation is (built the first time)."""
        view = self.ensure_view()
        self.desktop.window.show_side_page(view)
        view.focus_composer()
        return view

    def ensure_view(self) -> CompareView:
        """The view, built and connected the first time it is needed."""
        if self.view is not None:
            return self.view
        from jockey_desktop.ui.compare_view import CompareView

        window, c = self.desktop.window, self.controller
        view = CompareView(window)
        view.set_stores(self._stores, self._picked_store_id())
        view.sig_ask.connect(self._ask)
        view.sig_stop.connect(c.stop)
        view.sig_new_comparison.connect(c.new_comparison)
        view.sig_close.connect(window.show_conversation_area)
        view.sig_open_conversation.connect(self._open_conversation)
        view.sig_moment_requested.connect(self.desktop.player.play_citation)
        c.sig_columns.connect(view.set_columns)
        c.sig_messages.connect(view.apply_messages)
        c.sig_stream_text.connect(view.set_stream_text)
        c.sig_busy.connect(view.set_busy)
        window.add_side_page(view)
        self.view = view
        return view

    def _picked_store_id(self) -> str | None:
        store = self.desktop.window.store_picker.current_store()
        return store.id if store is not None else None

    @Slot(object)
    def _on_stores(self, stores: object) -> None:
        self._stores = [s for s in stores if isinstance(s, StoreSummary)] \
            if isinstance(stores, list) else []
        if self.view is not None:
            self.view.set_stores(self._stores, self._picked_store_id())

    @Slot(object, str)
    def _ask(self, stores: object, question: str) -> None:
        chosen = [(str(i), str(n)) for i, n in stores] if isinstance(stores, list) else []
        # A question faster than the first paint connects first (as the chat's Send does).
        self.desktop.connection.connect_now()
        refusal = self.controller.ask(chosen, question)
        if refusal and self.view is not None:
            self.view.show_refusal(refusal)

    @Slot(int)
    def _open_conversation(self, conversation_id: int) -> None:
        self.desktop.window.show_conversation_area()
        self.desktop.workspace.open(conversation_id)
