"""QuitGuard: quitting while writes wait for disk space (issue 10.1, "kept until quit with
a warning"): ended answers and new session ids the chat holds, and drafts the conversation
list holds.

Closing the window (or File → Quit) asks :meth:`QuitGuard.may_close` first. With nothing
held it answers yes at once. Otherwise the held writes are tried once more on the storage
runner (the GUI thread never waits) and the close is put off; if some are still held, the
user is asked (``ask``: Try again / Quit anyway / Cancel) with what would be lost in words.
Nobody is asked when there is no one to answer (``interactive`` off: tests, the self-test,
scripts) or when the app was told to quit by a signal (:meth:`quit_without_asking`):
the loss is logged instead, and the shutdown's own last try logs each write it loses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.presentation.quitting import QuitChoice, held_writes_text

log = logging.getLogger(__name__)

#: The status line while the held writes are tried before quitting.
TRYING_TEXT = "Trying once more to save what waits for disk space…"


class QuitGuard(QObject):
    """Decides whether the window may close now; asks the user when closing loses writes.

    Wiring: the window calls :meth:`may_close` from its close event and closes again on
    ``sig_close_approved``; a quit by signal calls :meth:`quit_without_asking` first.
    """

    #: Closing was put off and may go ahead now: close the window again.
    sig_close_approved = Signal()
    #: A sentence for the status bar.
    sig_notice = Signal(str)

    def __init__(self, chat: ChatController, drafts: ConversationsController,
                 ask: Callable[[str], QuitChoice], *, interactive: bool, folder: Path,
                 parent: QObject | None = None) -> None:
        """``ask(text)`` shows the question and returns the user's choice; ``folder`` is
        named when the chat does not know which disk refused (the database's folder)."""
        super().__init__(parent)
        self._chat = chat
        self._drafts = drafts
        #: Asks the user (the window's dialog; tests replace it).
        self.ask = ask
        self._interactive = interactive
        self._folder = folder
        #: Closing may go ahead without asking (approved, or nobody to ask).
        self._approved = False
        #: A try or the question is under way: another close request waits for it.
        self._deciding = False
        # The question is asked from a fresh pass of the event loop, never from inside a
        # storage runner's callback (the dialog runs a nested loop).
        self._ask_timer = QTimer(self)
        self._ask_timer.setSingleShot(True)
        self._ask_timer.setInterval(0)
        self._ask_timer.timeout.connect(self._ask_user)

    def may_close(self) -> bool:
        """True = close now. False = put off: the held writes are being tried (and the user
        asked); ``sig_close_approved`` follows when closing may go ahead."""
        held = self._held_count()
        if self._approved or held == 0:
            return True
        if not self._interactive:
            log.warning("quitting with %d write(s) held on a full disk and no one to ask; "
                        "they are tried once more", held)
            self._approved = True  # said once
            return True
        if not self._deciding:
            self._deciding = True
            self._try_held()
        return False

    @Slot()
    def quit_without_asking(self) -> None:
        """The app quits with nobody to ask (SIGTERM, Ctrl+C, the shutdown itself): every
        close from now on goes ahead."""
        held = self._held_count()
        if held and not self._approved:
            log.warning("quitting without asking with %d write(s) held on a full disk; "
                        "they are tried once more", held)
        self._approved = True

    def held_text(self) -> str:
        """What quitting now would lose, in words (the question's text)."""
        answers = self._chat.held_answer_count()
        folder = self._chat.held_folder() or self._folder
        return held_writes_text(answers, self._chat.held_write_count() - answers, str(folder),
                                drafts=self._drafts.held_draft_count())

    def _held_count(self) -> int:
        return self._chat.held_write_count() + self._drafts.held_draft_count()

    def _try_held(self) -> None:
        """Try the chat's and the drafts' held writes at once; ``_tried`` once both answered."""
        self.sig_notice.emit(TRYING_TEXT)
        waiting = 2

        def answered() -> None:
            nonlocal waiting
            waiting -= 1
            if waiting == 0:
                self._tried()

        self._chat.try_held_writes(answered)
        self._drafts.try_held_drafts(answered)

    def _tried(self) -> None:
        if self._approved:
            return
        if self._held_count() == 0:
            log.info("the writes held on a full disk were saved; quitting")
            self._approve()
        else:
            self._ask_timer.start()

    @Slot()
    def _ask_user(self) -> None:
        if self._approved:
            return
        if self._held_count() == 0:  # saved meanwhile (the chat's and drafts' own retries)
            self._approve()
            return
        text = self.held_text()
        choice = self.ask(text)
        if self._approved:
            return  # quit by a signal while the question was open
        if choice is QuitChoice.TRY_AGAIN:
            self._try_held()
            return
        self._deciding = False
        if choice is QuitChoice.QUIT:
            log.warning("quit anyway, losing what the full disk could not take: %s", text)
            self._approve()
        else:
            log.info("quit cancelled: writes are still held on a full disk")

    def _approve(self) -> None:
        self._approved = True
        self._deciding = False
        self.sig_close_approved.emit()
