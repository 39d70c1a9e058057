"""The change feed: every change to the stored conversations is announced here, once.

Writers (the chat's turns, the conversation list's rename/pin/delete, a backup restore) report
what they changed: the message records their write returned, the ids of conversations whose
row or header must be re-read, the ids of conversations that are gone. Announcements made in
one pass of the event loop are coalesced into one :class:`Changes` (the newest version of each
message, each id once), emitted by ``sig_changed`` when the loop is free again. Each view then
updates itself once: the transcript applies the messages of the conversation it shows, the
conversation list re-reads each changed row once and tells the sidebar and the header.

This is the one path from storage to the views; nothing else re-reads after a write.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.core.changes import Changes
from jockey_desktop.core.storage.models import Message

__all__ = ["ChangeFeed", "Changes"]


class ChangeFeed(QObject):
    """Collects change announcements and emits them coalesced (see module docstring)."""

    #: A :class:`Changes`; emitted at most once per pass of the event loop.
    sig_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._messages: dict[int, Message] = {}
        self._conversations: set[int] = set()
        self._removed: set[int] = set()
        self._everything = False
        self._held = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)

    def messages(self, messages: Iterable[Message]) -> None:
        """Rows written (or shown differently, e.g. a wait before a resend)."""
        for message in messages:
            # Re-inserting keeps the first announcement's place, with the newest version.
            self._messages[message.id] = message
        self._schedule()

    def conversations(self, conversation_ids: Iterable[int]) -> None:
        """Conversations whose row or header changed."""
        for conversation_id in conversation_ids:
            self._conversations.add(conversation_id)
            self._removed.discard(conversation_id)
        self._schedule()

    def removed(self, conversation_ids: Iterable[int]) -> None:
        """Conversations deleted (their pending row updates are dropped)."""
        for conversation_id in conversation_ids:
            self._removed.add(conversation_id)
            self._conversations.discard(conversation_id)
        self._messages = {k: m for k, m in self._messages.items()
                          if m.conversation_id not in self._removed}
        self._schedule()

    def everything(self) -> None:
        """Every conversation may have changed (a restore replaced the database)."""
        self._everything = True
        self._schedule()

    def hold(self) -> None:
        """Keep announcements until :meth:`release` (a restore is replacing the database:
        the views must not read it meanwhile)."""
        self._held = True
        self._timer.stop()

    def release(self) -> None:
        """Emit again; what was announced meanwhile goes out on the next pass."""
        self._held = False
        self._schedule()

    def close(self) -> None:
        """The database is closing (quit): nothing more is announced, so no view reads it
        after it closed (the last writes drained at quit still announce themselves)."""
        self._closed = True
        self._timer.stop()

    def is_pending(self) -> bool:
        """True while announcements wait for the next :meth:`flush`."""
        return self._timer.isActive()

    @Slot()
    def flush(self) -> None:
        """Emit what was announced since the last flush (nothing when nothing was)."""
        self._timer.stop()
        if self._held or self._closed or not (self._messages or self._conversations or self._removed
                              or self._everything):
            return
        changes = Changes(tuple(self._messages.values()), frozenset(self._conversations),
                          frozenset(self._removed), self._everything)
        self._messages, self._conversations, self._removed = {}, set(), set()
        self._everything = False
        self.sig_changed.emit(changes)

    def _schedule(self) -> None:
        if not self._held and not self._closed and not self._timer.isActive():
            self._timer.start()
