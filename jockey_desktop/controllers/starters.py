"""StartersController: questions drawn from a store's own videos, read off the GUI thread.

An empty conversation offers the guide's questions at once and, once this controller has
listed the store's items on the network runner, a few about its own videos (their titles and
metadata: ``presentation.starters``). Each store is read once per client; a late answer for
an older client is dropped.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from jockey_desktop.core.ports import Runner
from jockey_desktop.presentation.starters import store_questions

log = logging.getLogger(__name__)


def read_store_questions(client: Any, store_id: str) -> list[str]:
    """List the store's ready items and draw questions from them. Blocks on the network."""
    return store_questions(client.list_items(store_id, status="ready"))


class StartersController(QObject):
    """Answers ``request(store_id)`` with ``sig_starters(store_id, questions)``."""

    #: Questions drawn from a store's videos (store id, list of questions; may be empty).
    sig_starters = Signal(str, object)

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._client: Any = None
        self._generation = 0
        self._known: dict[str, list[str]] = {}
        self._asking: set[str] = set()
        #: Stores asked for before any client existed (an empty conversation reopened at
        #: start-up asks before the connection is made): read once one arrives.
        self._waiting: list[str] = []

    @Slot(object)
    def set_client(self, client: object) -> None:
        """Another connection: what was drawn from the old one's stores is forgotten."""
        self._client = client
        self._generation += 1
        self._known.clear()
        self._asking.clear()
        if client is not None:
            waiting, self._waiting = self._waiting, []
            for store_id in waiting:
                self.request(store_id)

    @Slot(str)
    def request(self, store_id: str) -> None:
        """Read the store's questions (once; the known ones are sent again at once)."""
        if not store_id:
            return
        if store_id in self._known:
            self.sig_starters.emit(store_id, list(self._known[store_id]))
            return
        if self._client is None:
            if store_id not in self._waiting:
                self._waiting.append(store_id)
            return
        if store_id in self._asking:
            return
        self._asking.add(store_id)
        generation = self._generation
        self._runner.submit(read_store_questions, self._client, store_id,
                            on_success=partial(self._arrived, generation, store_id),
                            on_error=partial(self._failed, generation, store_id))

    def _arrived(self, generation: int, store_id: str, questions: list[str]) -> None:
        if generation != self._generation:
            return
        self._asking.discard(store_id)
        self._known[store_id] = list(questions)
        self.sig_starters.emit(store_id, list(questions))

    def _failed(self, generation: int, store_id: str, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._asking.discard(store_id)
        # The guide's questions are shown anyway; asking again later may work.
        log.info("could not read the videos of %s for starter questions: %s", store_id, error)
