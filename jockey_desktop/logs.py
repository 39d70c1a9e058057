"""The app's log file: INFO and up to a rotating file in the data dir, secrets redacted (no Qt).

Nobody logs the API key, but as a second line of defence every record (message, traceback,
stack) passes a filter that replaces any registered secret before a handler sees it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import logging.handlers
import os
import sys
from typing import TYPE_CHECKING

from jockey_desktop import APP_NAME
from jockey_desktop.core.redaction import is_secret, redact

if TYPE_CHECKING:
    from jockey_desktop.paths import AppPaths

_LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


class _LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file, quiet when its disk is full.

    logging's default reaction to a failed write is a traceback on stderr for every record:
    on a full disk that is a flood in the terminal while the app itself copes (and tells the
    user in the window). Records that cannot be written are counted instead, and the count
    is written once the disk takes a line again.
    """

    dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record (first saying how many were lost, if any)."""
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            lost = logging.LogRecord(record.name, logging.WARNING, __file__, 0,
                                     "%d log record(s) lost: the disk was full", (dropped,),
                                     None)
            super().emit(lost)
            if self.dropped:  # the note failed too: still full, and this record is lost
                self.dropped = dropped + 1
                return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Count a record lost to a full (or vanished) disk; anything else as usual."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT,
                                                          errno.EROFS, errno.EIO):
            self.dropped += 1
            return
        super().handleError(record)


class RedactingFilter(logging.Filter):
    """Replaces any registered secret in log records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        """``text`` with every registered secret replaced (only strings long enough to be
        secrets: ``core.redaction``)."""
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if not self.secrets:
            return True
        text = record.getMessage()
        redacted = self.redact(text)
        if redacted != text:
            record.msg, record.args = redacted, None
        # A formatted traceback can hold the key too (an exception's repr, a local shown by
        # a frame line): format it here, redact it, and hand the handler the text only. The
        # Formatter uses ``exc_text`` as is; ``exc_info`` is dropped so no handler
        # re-formats the original.
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_EXC_FORMATTER = logging.Formatter()

#: The filter on the app's log handler (one per process).
redactor = RedactingFilter()


def register_secret(secret: str | None) -> None:
    """Never let ``secret`` reach the log file, whoever logs it (a string too short to be a
    secret, like the sandbox's "sandbox", is left alone: it would garble ordinary text)."""
    if is_secret(secret):
        redactor.secrets.add(secret)


def setup_logging(paths: AppPaths) -> logging.Handler | None:
    """Log INFO and up to a rotating file in the data dir's logs/ (never to the console)."""
    try:
        # Created 0600 whatever the umask: it names conversations and servers.
        os.close(os.open(paths.log_file, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
        handler = _LogFileHandler(
            paths.log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        print(f"{APP_NAME}: cannot write the log file {paths.log_file}: {exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # urllib3 logs request lines at DEBUG only; keep it quiet regardless of the root level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler


def close_logging(handler: logging.Handler | None) -> None:
    """Detach and close a handler made by :func:`setup_logging`."""
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        # Its last flush can meet a full disk: the file is closed all the same, and a
        # traceback at quit (or at a start refused for that disk) would say nothing more.
        with contextlib.suppress(OSError):
            handler.close()
