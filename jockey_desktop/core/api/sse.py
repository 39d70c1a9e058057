"""An incremental Server-Sent Events parser fed raw ``bytes`` chunks.

Follows the WHATWG event-stream rules that matter here: lines end in LF, CRLF or CR (a CRLF
may be split across two chunks), a line starting with ``:`` is a comment, several ``data:``
lines join with ``\\n``, one leading space after the colon is dropped, a blank line
dispatches the event, and an event with no data is not dispatched. Lines are split on bytes
before decoding, so a multi-byte UTF-8 character split across chunks is never broken (CR
and LF bytes cannot occur inside a UTF-8 sequence).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The data of the sentinel event that ends a Jockey stream.
DONE_DATA = "[DONE]"


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
    """Feed bytes with :meth:`feed`; it returns the events completed by that chunk."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip_lf = False  # previous chunk ended in CR: a leading LF belongs to it
        self._first_line = True
        self._event_type = ""
        self._data: list[str] = []
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
        self._buffer += chunk
        start = 0
        buf = self._buffer
        length = len(buf)
        i = 0
        while i < length:
            byte = buf[i]
            if byte == 0x0A or byte == 0x0D:
                line = bytes(buf[start:i])
                if byte == 0x0D:
                    if i + 1 < length:
                        if buf[i + 1] == 0x0A:
                            i += 1
                    else:
                        self._skip_lf = True
                event = self._process_line(line)
                if event is not None:
                    events.append(event)
                start = i + 1
            i += 1
        del self._buffer[:start]
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: an unterminated event is discarded, as the spec requires."""
        self._buffer.clear()
        self._data = []
        self._event_type = ""
        return []

    def _process_line(self, raw: bytes) -> SSEEvent | None:
        if self._first_line:
            self._first_line = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        line = raw.decode("utf-8", errors="replace")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event_type = value
        elif field == "data":
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
        return event
