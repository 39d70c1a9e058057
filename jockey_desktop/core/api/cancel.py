"""A thread-safe cancel flag with callbacks (used to abort a blocked socket read)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_log = logging.getLogger(__name__)


class CancelToken:
    """Set once from any thread; whoever is blocked on the request notices within a second.

    Callbacks registered with :meth:`add_callback` run exactly once, in the thread that
    calls :meth:`cancel` (or at once, if the token is already cancelled). The client uses
    one to shut down the socket of a streaming response, which ends a blocked ``recv``.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next_handle = 0

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` has been called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel; idempotent and safe from any thread."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            self._run(callback)

    def add_callback(self, callback: Callable[[], None]) -> int:
        """Run ``callback`` on cancel; returns a handle for :meth:`remove_callback`."""
        with self._lock:
            if not self._event.is_set():
                handle = self._next_handle
                self._next_handle += 1
                self._callbacks[handle] = callback
                return handle
        self._run(callback)
        return -1

    def remove_callback(self, handle: int) -> None:
        """Forget a callback (no-op when it already ran or was removed)."""
        with self._lock:
            self._callbacks.pop(handle, None)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` passes; returns :attr:`cancelled`."""
        return self._event.wait(timeout)

    @staticmethod
    def _run(callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:  # a failing callback must not stop the others or the canceller
            _log.debug("cancel callback failed", exc_info=True)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"
