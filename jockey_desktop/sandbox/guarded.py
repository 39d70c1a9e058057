"""The base of the sandbox's stateful registries: one re-entrant lock and the server clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Guarded:
    """Thread-safe server state: hold :attr:`lock` while reading-modifying-writing it."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()

    @property
    def lock(self) -> threading.RLock:
        """Held while the state is read-modified-written (re-entrant)."""
        return self._lock

    def now(self) -> float:
        """The server clock (a Unix time)."""
        return self._clock()
