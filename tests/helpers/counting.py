"""Counting what the app asks of its repository, and on which thread."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The read methods of ``core.storage.Repository``.
READS = ("get_conversation", "get_summary", "list_conversations", "list_messages",
         "list_messages_page", "get_message", "count_messages", "count_conversations",
         "search", "latest_backup")


class CallCounter:
    """Calls of a repository's methods, split by the GUI (main) thread and the others."""

    def __init__(self) -> None:
        self.gui: Counter[str] = Counter()
        self.workers: Counter[str] = Counter()

    def gui_reads(self) -> dict[str, int]:
        """Read calls made on the GUI thread, by method (zero counts left out)."""
        return {name: n for name, n in self.gui.items() if name in READS and n}


@contextmanager
def counting_calls(repo: Any, names: tuple[str, ...] = READS) -> Iterator[CallCounter]:
    """Count calls of ``names`` on ``repo`` (every holder of it sees the counting methods)
    while the block runs; the methods are restored after it."""
    counter = CallCounter()
    main = threading.main_thread().ident
    originals: dict[str, Callable[..., Any]] = {}

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            target = counter.gui if threading.get_ident() == main else counter.workers
            target[name] += 1
            return method(*args, **kwargs)
        return counted

    for name in names:
        originals[name] = getattr(repo, name)
        setattr(repo, name, wrap(name, originals[name]))
    try:
        yield counter
    finally:
        for name in names:
            delattr(repo, name)  # the class's method shows through again
