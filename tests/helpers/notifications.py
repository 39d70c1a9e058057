"""A desktop notifier that records instead of showing (``NotificationsController``'s
``notifier_factory`` in app tests)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class FakeNotifier(QObject):
    """Records the desktop notifications instead of showing them."""

    #: A click on a notification: the conversation it was about, or None.
    sig_activated = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str, int | None]] = []

    def show_message(self, title: str, body: str, conversation_id: int | None) -> bool:
        """Record it; shown, as far as the caller knows."""
        self.messages.append((title, body, conversation_id))
        return True
