"""The line under an answer: what it says, how it reads (busy, error, stopped, info) and what
its Retry link offers. Qt-free: the delegate paints it, the tests read it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from jockey_desktop.core.errors import (
    ASKED_AGAIN_TEXT,
    FAILED_TEXT,
    INTERRUPTED_TEXT,
    NOT_SAVED_TEXT,
    SESSION_LOST_TEXT,
    WAIT_LABEL_DEFAULT,
    WAIT_LABELS,
    ErrorCode,
    retry_wait_seconds,
)
from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.presentation.formatting import format_duration, format_tokens
from jockey_desktop.presentation.steps import live_activity

#: A cancelled row's line is derived, not the saved text (older versions saved "Stopped.").
CANCELLED_TEXT = "Stopped — partial answer kept"
CANCELLED_EMPTY_TEXT = "Stopped before an answer arrived"
RETRY_TEXT = "Retry"
#: The disabled Retry label while the server's Retry-After has not passed yet.
RETRY_WAIT_TEXT = "Retry in {seconds} s"
RETRY_TOOLTIP = (
    "Ask this question again in the same server-side session. "
    "The server may then see the question twice."
)
RETRY_WAIT_TOOLTIP = "The server asked to wait before trying again; Retry unlocks then."


class StatusKind(str, Enum):
    """How the status line reads."""

    NONE = ""
    #: Streaming: a pulsing dot and a ticking "Thinking · 12 s".
    BUSY = "busy"
    #: Failed or interrupted: a red dot and a Retry link.
    ERROR = "error"
    #: The user pressed Stop: muted, with a Retry link, not a failure.
    STOPPED = "stopped"
    #: Tokens and time of a finished answer, or a note (asked again below): no Retry.
    INFO = "info"


@dataclass(frozen=True)
class StatusLine:
    """The status line of one row."""

    kind: StatusKind
    text: str

    @property
    def offers_retry(self) -> bool:
        """True when the line carries a Retry link (locked or not)."""
        return self.kind in (StatusKind.ERROR, StatusKind.STOPPED)


def waiting_row(message: Message, seconds: float, reason: str, now: float) -> Message:
    """An in-memory copy of a streaming ``message`` saying the client waits ``seconds``
    (``reason`` from ``api.RetryWait``) before sending the question again. Never saved."""
    return dataclasses.replace(
        message, error_code=ErrorCode.RETRY_WAIT.value,
        error_message=WAIT_LABELS.get(reason, WAIT_LABEL_DEFAULT), retry_at=now + seconds)


def unsaved_row(message: Message, *, status: MessageStatus, text: str,
                citations: list[dict[str, Any]] | None = None,
                reason: str | None = None,
                steps: list[dict[str, Any]] | None = None) -> Message:
    """An in-memory copy of an answer that ended (``status``, ``text``) but that the disk
    could not take yet; its status line says so (and keeps ``reason``, e.g. "Stopped").
    Never saved: the saved row replaces it once there is space."""
    line = f"{reason} {NOT_SAVED_TEXT}" if reason else NOT_SAVED_TEXT
    return dataclasses.replace(
        message, status=status, text=text,
        citations=citations if citations is not None else message.citations,
        steps=steps if steps is not None else message.steps,
        error_code=ErrorCode.NOT_SAVED.value, error_message=line)


def waiting_text(message: Message, now: float) -> str | None:
    """"Rate limited — retrying in 18 s" for a row made by :func:`waiting_row` whose wait is
    still running, else None (the row then reads as an ordinary streaming answer)."""
    if message.error_code != ErrorCode.RETRY_WAIT or message.retry_at is None:
        return None
    remaining = math.ceil(message.retry_at - now)
    if remaining <= 0:
        return None
    return f"{message.error_message} — retrying in {remaining} s"


def status_line(message: Message, now: float) -> StatusLine:
    """The line under ``message`` at ``now`` (epoch seconds); empty for questions and seams."""
    if message.role is not Role.ASSISTANT:
        return StatusLine(StatusKind.NONE, "")
    status = message.status
    if status in (MessageStatus.STREAMING, MessageStatus.PENDING):
        waiting = waiting_text(message, now)
        if waiting:
            return StatusLine(StatusKind.BUSY, waiting)
        elapsed = format_duration(max(0.0, now - message.created_at))
        # Before the answer's first word, the agent's latest commentary says what it is
        # doing ("Looking for scenes with…"); without steps it is simply thinking.
        verb = "Answering" if message.text.strip() else (
            live_activity(message.steps) or "Thinking")
        return StatusLine(StatusKind.BUSY, f"{verb} · {elapsed}")
    if message.error_code == ErrorCode.NOT_SAVED:
        # Held in memory on a full disk: a note (no Retry: the answer is there, unsaved).
        return StatusLine(StatusKind.INFO, message.error_message or NOT_SAVED_TEXT)
    if message.error_code == ErrorCode.ASKED_AGAIN:
        # The question was repeated at the end of the conversation: a note, no Retry.
        return StatusLine(StatusKind.INFO, message.error_message or ASKED_AGAIN_TEXT)
    if status is MessageStatus.INTERRUPTED:
        return StatusLine(StatusKind.ERROR, message.error_message or INTERRUPTED_TEXT)
    if status is MessageStatus.CANCELLED:
        return StatusLine(StatusKind.STOPPED,
                          CANCELLED_TEXT if message.text.strip() else CANCELLED_EMPTY_TEXT)
    if status is MessageStatus.FAILED:
        if message.error_code == ErrorCode.SESSION_LOST:
            # Already re-asked in a new session (the answer is below the seam): a note, not
            # an error, and no Retry that would ask a third time.
            return StatusLine(StatusKind.INFO, message.error_message or SESSION_LOST_TEXT)
        return StatusLine(StatusKind.ERROR, message.error_message or FAILED_TEXT)
    parts = []
    tokens = format_tokens(message.input_tokens, message.output_tokens)
    if tokens:
        parts.append(tokens)
    took = message.updated_at - message.created_at
    if took >= 1:
        parts.append(format_duration(took))
    return StatusLine(StatusKind.INFO, " · ".join(parts))


def retry_label(message: Message, now: float) -> str:
    """The Retry link's text: "Retry", or "Retry in 12 s" while the retry lock holds."""
    wait = retry_wait_seconds(message, now)
    return RETRY_WAIT_TEXT.format(seconds=wait) if wait > 0 else RETRY_TEXT


def retry_tooltip(message: Message, now: float) -> str:
    """What the Retry link's tooltip explains (what it does, or why it is locked)."""
    return RETRY_WAIT_TOOLTIP if retry_wait_seconds(message, now) > 0 else RETRY_TOOLTIP


def may_lock_retry(message: Message) -> bool:
    """True when the row's Retry can be locked at some moment (room for "Retry in N s")."""
    return message.status is MessageStatus.FAILED and message.retry_at is not None


def needs_tick(message: Message, now: float) -> bool:
    """True while the row's status line counts seconds (streaming, or Retry locked)."""
    return message.status is MessageStatus.STREAMING or retry_wait_seconds(message, now) > 0
