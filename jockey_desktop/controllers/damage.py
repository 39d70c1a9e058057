"""DamageGuard: a damaged database page met at run time takes the start-up recovery path.

At open, storage moves a damaged file aside and starts a fresh one (``open_repository``); a
damaged page can also be met later, by any read or write (an old conversation opened, a
search, a write on the storage runner). The controllers get the repository through this
guard, which turns that moment into the same recovery instead of an exception in a slot:

- the first ``DatabaseCorruptError`` calls ``listener(error)`` (from whichever thread met it;
  the workspace relays it to the GUI thread, moves the file aside with
  ``Repository.replace_damaged`` and offers ``restore_backup``);
- a read then answers as for an empty database (None, [], 0): the views are about to be
  reloaded from the new file, and a read in a slot must not crash the window meanwhile; the
  same holds while the file is being replaced (``StorageBusyError`` during a recovery or a
  restore): the change feed announces ``everything`` afterwards and the views read again;
- a write still raises, so its caller says what was not saved (a question goes back to the
  composer).

Qt-free. The guard forwards everything else unchanged (``db_path``, ``open_report``, …).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jockey_desktop.core.storage import DatabaseCorruptError, StorageBusyError

log = logging.getLogger(__name__)

#: What each read answers once the file is found damaged (an empty database's answer).
_READ_DEFAULTS: dict[str, Callable[[], Any]] = {
    "get_conversation": lambda: None,
    "get_conversation_by_uid": lambda: None,
    "get_summary": lambda: None,
    "get_message": lambda: None,
    "get_old_session_id": lambda: None,
    "get_upload": lambda: None,
    "list_conversations": list,
    "list_messages": list,
    "list_messages_page": list,
    "list_uploads": list,
    "search": list,
    "count_conversations": lambda: 0,
    "count_messages": lambda: 0,
}
#: Calls that manage the file itself: never intercepted (the recovery runs through them).
_PASS_THROUGH = frozenset({"replace_damaged", "restore_backup", "close", "latest_backup",
                           "list_backups"})

DamageListener = Callable[[DatabaseCorruptError], None]


class DamageGuard:
    """The repository as the controllers see it (see the module docstring)."""

    def __init__(self, repo: Any, listener: DamageListener | None = None) -> None:
        self.real = repo
        #: Called with the error each time a damaged page is met (any thread).
        self.listener = listener

    def __repr__(self) -> str:
        return f"DamageGuard({self.real!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        if name.startswith("_") or name in _PASS_THROUGH or not callable(value):
            return value
        default = _READ_DEFAULTS.get(name)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except DatabaseCorruptError as error:
                log.error("damaged database met by %s: %s", name, error)
                if self.listener is not None:
                    self.listener(error)
                if default is None:
                    raise
                return default()
            except StorageBusyError:
                if default is None:
                    raise
                log.info("%s while the database is being replaced: answered empty", name)
                return default()

        guarded.__name__ = name
        return guarded
