"""An incremental Server-Sent Events parser fed raw ``bytes`` chunks.

Follows the WHATWG event-stream rules that matter here: lines end in LF, CRLF or CR (a CRLF
may be split across two chunks), a line starting with ``:`` is a comment, several ``data:``
lines join with ``\\n``, one leading space after the colon is dropped, a blank line
dispatches the event, and an event with no data is not dispatched. Lines are split on bytes
before decoding, so a multi-byte UTF-8 character split across chunks is never broken (CR
and LF bytes cannot occur inside a UTF-8 sequence).

Work is linear in the bytes received: the part of an unfinished line already searched for a
line end is never searched again, and one event (its unfinished line plus the data lines
gathered so far) may hold at most :data:`MAX_EVENT_BYTES`; past that the stream is a
:class:`~jockey_desktop.core.api.errors.ProtocolError`, so a hostile or broken server cannot
make the client buffer without end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jockey_desktop.core.api.errors import ProtocolError, size_text

#: The data of the sentinel event that ends a Jockey stream.
DONE_DATA = "[DONE]"

#: Largest single event accepted (8 MiB). A real event is a few KiB (a ``response.completed``
#: with a long answer and its annotations stays far below); more means a broken stream.
MAX_EVENT_BYTES = 8 * 1024 * 1024

_LINE_END = re.compile(rb"[\r\n]")


def event_too_large_error(limit: int) -> ProtocolError:
    """The error for an event (or an unfinished line) larger than ``limit`` bytes."""
    return ProtocolError(
        f"The server sent a reply-stream event larger than {size_text(limit)}, so the stream "
        "was stopped."
    )


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: ``event`` defaults to ``"message"`` as in the spec."""

    event: str
    data: str
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """True for the ``data: [DONE]`` sentinel."""
        return self.data.strip() == DONE_DATA


class SSEParser:
    """Feed bytes with :meth:`feed`; it returns the events completed by that chunk.

    ``max_event_bytes`` bounds one event; :meth:`feed` raises ``ProtocolError`` past it.
    """

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._buffer = bytearray()
        self._searched = 0  # bytes of _buffer known to hold no CR or LF
        self._skip_lf = False  # previous chunk ended in CR: a leading LF belongs to it
        self._first_line = True
        self._event_type = ""
        self._data: list[str] = []
        self._data_bytes = 0  # size of _data as received, for the event bound
        self._last_id: str | None = None
        #: Number of comment lines seen (``: keep-alive`` and the like).
        self.comments = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk`` and return every event it completes (possibly none)."""
        events: list[SSEEvent] = []
        if not chunk:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buffer
        buf += chunk
        start = 0
        search_from = self._searched
        while True:
            match = _LINE_END.search(buf, search_from)
            if match is None:
                break
            end = match.start()
            next_start = end + 1
            if buf[end] == 0x0D:
                if next_start < len(buf):
                    if buf[next_start] == 0x0A:
                        next_start += 1
                else:
                    self._skip_lf = True
            event = self._process_line(bytes(buf[start:end]))
            if event is not None:
                events.append(event)
            start = search_from = next_start
        del buf[:start]
        self._searched = len(buf)
        if len(buf) + self._data_bytes > self.max_event_bytes:
            self._reset()
            raise event_too_large_error(self.max_event_bytes)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: an unterminated event is discarded, as the spec requires."""
        self._reset()
        return []

    def _reset(self) -> None:
        self._buffer.clear()
        self._searched = 0
        self._data = []
        self._data_bytes = 0
        self._event_type = ""

    def _process_line(self, raw: bytes) -> SSEEvent | None:
        if self._first_line:
            self._first_line = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        if not raw:
            return self._dispatch()
        if raw[:1] == b":":
            self.comments += 1
            return None
        line = raw.decode("utf-8", errors="replace")
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event_type = value
        elif field == "data":
            self._data_bytes += len(raw) + 1
            if self._data_bytes > self.max_event_bytes:
                self._reset()
                raise event_too_large_error(self.max_event_bytes)
            self._data.append(value)
        elif field == "id" and "\x00" not in value:
            self._last_id = value
        # "retry" and unknown fields are ignored: we never reconnect a Jockey stream,
        # since a new POST would append a second turn.
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event_type = ""
            return None
        event = SSEEvent(self._event_type or "message", "\n".join(self._data), self._last_id)
        self._event_type = ""
        self._data = []
        self._data_bytes = 0
        return event
