"""NotificationsController: tell the user an answer finished while they were elsewhere.

A long answer can take minutes; the user switches to another window meanwhile. When a turn
ends while the app's window is not the active one (issue 14.13), the window asks for
attention (``QApplication.alert``: the taskbar entry flashes; GNOME shows "… is ready") and a
desktop notification says which conversation answered (a tray message where the desktop has
a tray). Answers that finish close together are told once ("3 answers are ready"). Stopped
turns are not told (the user stopped them). Settings → "Notify me when an answer is ready"
turns it off (``AppSettings.notify_when_answered``).

Other features tell the user through the same desktop notifier with :meth:`tell` (the stores'
"3 videos are ready"): one tray icon for the app, whatever finished.

The window side is injected (is it active, alert it, show a message), so the rules are tested
without a desktop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.core.ports import ConversationStore
from jockey_desktop.core.storage.models import MessageStatus
from jockey_desktop.presentation.notifications import Finished, notification_text, preview
from jockey_desktop.settings import AppSettings

log = logging.getLogger(__name__)

#: Answers finishing within this long of each other make one notification.
COALESCE_MS = 400


class Notifier(Protocol):
    """Shows a desktop notification (``ui.tray_notifier.TrayNotifier``); a click on it is
    announced by its ``sig_activated(conversation id or None)`` signal when it has one."""

    def show_message(self, title: str, body: str, conversation_id: int | None) -> bool:
        """Show it (about that conversation, or None); False when this desktop cannot."""
        ...


class NotificationsController(QObject):
    """Listens to ended turns; alerts and notifies while the window is in the background."""

    #: The user clicked a notification: show this conversation.
    sig_open_requested = Signal(int)
    #: The user clicked a notification about no conversation (:meth:`tell`): show the window.
    sig_front_requested = Signal()
    #: Whether notifications are on (for the menu's check mark).
    sig_enabled_changed = Signal(bool)

    def __init__(self, repo: ConversationStore, settings: AppSettings, *,
                 window_active: Callable[[], bool], alert: Callable[[], object],
                 notifier_factory: Callable[[], Notifier | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._repo = repo
        self._settings = settings
        self._window_active = window_active
        self._alert = alert
        #: Builds what shows desktop notifications (on the first one); tests replace it.
        self.notifier_factory = notifier_factory
        self._notifier: Notifier | None = None
        self._pending: list[Finished] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._tell)
        self.shown: list[tuple[str, str]] = []  # what was told, for the log and tests

    def is_pending(self) -> bool:
        """True while ended turns wait to be told (answers close together make one)."""
        return bool(self._pending)

    def enabled(self) -> bool:
        """True when finished answers are told (the setting)."""
        return self._settings.notify_when_answered

    @Slot(bool)
    def set_enabled(self, on: bool) -> None:
        """Turn notifications on or off (remembered)."""
        self._settings.notify_when_answered = bool(on)
        if not on:
            self._timer.stop()
            self._pending.clear()
        self.sig_enabled_changed.emit(bool(on))

    @Slot(int, int, str)
    def on_turn_finished(self, conversation_id: int, answer_id: int, status: str) -> None:
        """A turn ended (``ChatController.sig_turn_finished``)."""
        if not self.enabled() or self._window_active():
            return
        if status not in (MessageStatus.COMPLETE.value, MessageStatus.FAILED.value):
            return  # stopped by the user, or interrupted by a quit: nothing to tell
        conversation = self._repo.get_conversation(conversation_id)
        title = (conversation.title if conversation is not None else "") or "New conversation"
        answer = self._repo.get_message(answer_id) if status == "complete" else None
        quoted = preview((answer.plain_text or answer.text or "") if answer else "")
        self._pending.append(Finished(conversation_id, " ".join(title.split()), quoted,
                                      status == MessageStatus.FAILED.value))
        self._timer.start()

    def shutdown(self) -> None:
        """The app quits: answers still waiting to be told are dropped (their window is
        going away), and nothing fires after it."""
        self._timer.stop()
        self._pending.clear()

    @Slot()
    def _tell(self) -> None:
        finished, self._pending = self._pending, []
        if not finished or self._window_active():
            return  # the user came back meanwhile: they see it
        title, body = notification_text(finished)
        self._show(title, body, finished[-1].conversation_id)

    @Slot(str, str)
    def tell(self, title: str, body: str) -> None:
        """Tell something that is not an answer (the caller decided the user is elsewhere):
        the window asks for attention and a desktop notification shows it; a click on it
        brings the window forward. Not switched off by the answers' setting."""
        self._show(title, body, None)

    def _show(self, title: str, body: str, conversation_id: int | None) -> None:
        self.shown.append((title, body))
        self._alert()
        if self._notifier is None:
            self._notifier = self.notifier_factory()
            activated = getattr(self._notifier, "sig_activated", None)
            if activated is not None:
                activated.connect(self._activated)  # a click on the notification
        if self._notifier is not None:
            shown = self._notifier.show_message(title, body, conversation_id)
            log.info("notification: %s", "shown" if shown else "no desktop support")

    @Slot(object)
    def _activated(self, conversation_id: object) -> None:
        if isinstance(conversation_id, int):
            self.sig_open_requested.emit(conversation_id)
        else:
            self.sig_front_requested.emit()
