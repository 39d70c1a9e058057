"""ChatController: one question → one streamed, saved answer (design.md §2 "Data through a turn").

The controller sits between the chat pane and the core: it saves the question before any
network, streams the answer on a worker thread, brings every event back to the GUI thread by a
queued signal, saves the session id the moment the server assigns it, throttles repaints and
partial-text writes, and turns every failure into a saved, retryable message row.

Threading: all public methods and slots run on the GUI thread. Each stream is a
``concurrency.StreamTask`` on the controller's own ``TaskRunner`` (streams hold a thread for
minutes; a separate pool keeps them from starving short tasks such as store listing). Every
turn has a request id bound into its slots; an event for a request that is no longer active
(stopped, superseded, shut down) is dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers import errors as error_codes
from jockey_desktop.controllers.errors import describe_error
from jockey_desktop.core import api
from jockey_desktop.core.storage import NotFoundError
from jockey_desktop.core.storage.models import Message, MessageStatus, Role

log = logging.getLogger(__name__)

#: The API's limit for one question (jockey-api.md §3.1).
MAX_QUESTION_CHARS = 10_000
#: The API's limit for ``instructions`` (jockey-api.md §8.4).
MAX_INSTRUCTIONS_CHARS = 2_000
#: How many earlier question/answer pairs a recap carries after a session loss.
RECAP_PAIRS = 6

_RECAP_HEADER = (
    "This conversation continues from an earlier session that is no longer available. "
    "Summary of the earlier turns (most recent last):"
)
_SEAM_REASON = (
    "New session started — the server no longer had the previous one. "
    "Earlier turns were summarised for Jockey."
)
_INTERRUPTED_TEXT = "The app closed before the answer finished."


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_recap(
    pairs: Sequence[tuple[str, str]],
    limit: int = MAX_INSTRUCTIONS_CHARS,
    max_pairs: int = RECAP_PAIRS,
) -> str | None:
    """A compact recap of earlier (question, answer) pairs for a new session's instructions.

    Keeps the last ``max_pairs`` pairs, each truncated, and drops the oldest ones until the
    whole text fits ``limit`` (the API rejects longer instructions). None when there is
    nothing to recap.
    """
    recent = [p for p in pairs if p[0].strip()][-max_pairs:]
    if not recent:
        return None
    q_limit, a_limit = 160, 320
    while True:
        lines = [_RECAP_HEADER]
        for question, answer in recent:
            lines.append(f"Q: {_clip(question, q_limit)}")
            lines.append(f"A: {_clip(answer, a_limit) if answer.strip() else '(no answer)'}")
        text = "\n".join(lines)
        if len(text) <= limit:
            return text
        if len(recent) > 1:
            recent = recent[1:]
            continue
        if a_limit > 60 or q_limit > 60:
            q_limit, a_limit = max(60, q_limit // 2), max(60, a_limit // 2)
            continue
        return text[:limit]


def _combine_instructions(base: str | None, recap: str | None) -> str | None:
    parts = [p for p in (base, recap) if p and p.strip()]
    if not parts:
        return None
    return "\n\n".join(parts)[:MAX_INSTRUCTIONS_CHARS]


@dataclass
class _Turn:
    """One request in flight."""

    request_id: int
    conversation_id: int
    user_message_id: int
    assistant_message_id: int
    store_id: str
    store_name: str
    question: str
    session_id: str | None
    instructions: str | None
    token: api.CancelToken
    recovering: bool = False  # a re-send in a new session after a session loss
    task: Any = None  # the StreamTask
    text: str = ""
    emitted_len: int = -1  # len(text) at the last sig_stream_text
    last_emit: float = 0.0
    last_flush: float = field(default_factory=time.monotonic)
    flushed_len: int = 0


class ChatController(QObject):
    """Sends questions, streams and saves answers; see ui_contract.md for the signals.

    ``repo`` is a ``core.storage.Repository``. The client is set with ``set_client`` (None =
    no key yet: sends are refused with a reason). Streams already running keep the client
    they started with.
    """

    sig_message_added = Signal(int, object)  # conversation id, Message
    sig_message_changed = Signal(int, object)  # conversation id, Message
    sig_stream_text = Signal(int, int, str)  # conversation id, message id, text so far
    sig_busy_changed = Signal(int, bool)
    sig_conversation_changed = Signal(int)
    sig_notice = Signal(int, str)
    #: A turn ended (conversation id, assistant message id, final MessageStatus value).
    sig_turn_finished = Signal(int, int, str)

    def __init__(
        self,
        repo: Any,
        client: Any = None,
        *,
        runner: TaskRunner | None = None,
        emit_interval_ms: int = 50,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._repo = repo
        self._client = client
        # Each stream holds a thread for minutes; allow several conversations at once.
        self._runner = runner if runner is not None else TaskRunner(
            max_threads=8, name="streams", parent=self)
        self._emit_interval_s = emit_interval_ms / 1000.0
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        # Epoch seconds, like the rows' timestamps (rate-limit retry-at, resend countdown).
        self._wall_clock = wall_clock
        self._turns: dict[int, _Turn] = {}  # request id → turn
        self._by_conversation: dict[int, int] = {}  # conversation id → request id
        self._next_request_id = 1
        self._shut_down = False
        self._tick = QTimer(self)
        self._tick.setInterval(emit_interval_ms)
        self._tick.timeout.connect(self._on_tick)

    # ----------------------------------------------------------------- public API

    def set_client(self, client: Any) -> None:
        """Use ``client`` for new turns (streams in flight keep theirs)."""
        self._client = client

    def client(self) -> Any:
        """The client new turns will use (None when no key is configured)."""
        return self._client

    def is_busy(self, conversation_id: int) -> bool:
        """True while a turn of ``conversation_id`` is streaming."""
        return conversation_id in self._by_conversation

    def live_texts(self, conversation_id: int) -> list[tuple[int, str]]:
        """(assistant message id, text so far) of the conversation's streaming turn.

        The saved partial text may be up to a second old; a pane that opens a conversation
        mid-stream applies this so it shows exactly what arrived.
        """
        rid = self._by_conversation.get(conversation_id)
        turn = self._turns.get(rid) if rid is not None else None
        return [(turn.assistant_message_id, turn.text)] if turn and turn.text else []

    def busy_conversations(self) -> list[int]:
        """Ids of every conversation with a turn in flight."""
        return list(self._by_conversation)

    def send(self, conversation_id: int, text: str) -> str | None:
        """Ask ``text`` in the conversation. None = accepted; else the reason it was refused.

        The question is saved (PENDING) before any network, so it survives a crash.
        """
        refusal = self._refusal(conversation_id, text)
        if refusal:
            return refusal
        conversation = self._repo.get_conversation(conversation_id)
        if conversation is None:
            return "This conversation no longer exists."
        # Also titles an untitled conversation from this first question (the repository
        # does it in the same transaction, keeping ``title_is_auto`` set).
        user_message = self._repo.add_user_message(conversation_id, text)
        self.sig_message_added.emit(conversation_id, user_message)
        self._start_turn(conversation, user_message, session_id=conversation.session_id,
                         instructions=self._instructions_for(conversation, user_message.id))
        self.sig_conversation_changed.emit(conversation_id)
        return None

    def retry(self, message_id: int) -> str | None:
        """Ask again the question of a failed, interrupted or cancelled turn.

        ``message_id`` may be the user question or its assistant answer. For the latest turn
        the question row is reused and a fresh assistant row is added below it, so the failed
        attempt stays in the transcript as what happened. For an older turn the question is
        repeated as a new row at the end (the server appends it to the session there, and an
        answer below later turns would be linked to nothing); the old attempt is then marked
        "Asked again below" and offers no Retry. The turn goes into the conversation's
        current session, so the server may see the question twice (the UI says so). Returns
        None when started, else the reason it was refused.
        """
        message = self._repo.get_message(message_id)
        if message is None:
            return "That message no longer exists."
        if message.role == Role.ASSISTANT and message.reply_to is not None:
            question = self._repo.get_message(message.reply_to)
        elif message.role == Role.USER:
            question = message
        else:
            question = None
        if question is None:
            return "There is no question to retry for this message."
        conversation_id = question.conversation_id
        if self.is_busy(conversation_id):
            return "An answer is still arriving in this conversation."
        transcript = self._repo.list_messages(conversation_id)
        answers = [m for m in transcript
                   if m.role == Role.ASSISTANT and m.reply_to == question.id]
        if any(m.status == MessageStatus.COMPLETE for m in answers):
            # E.g. the failed first attempt of a turn recovered in a new session.
            return "This question has already been answered below."
        if answers and answers[-1].error_code == error_codes.ASKED_AGAIN:
            return "This question was already asked again below."
        if answers and answers[-1].error_code == error_codes.SESSION_STORE_MISMATCH:
            # Sent unchanged it can only fail the same way (jockey-api.md §9).
            return ("This conversation's session belongs to another knowledge store — "
                    "start a new conversation to ask this question.")
        if answers:
            last = answers[-1]
            retry_at = error_codes.rate_limit_retry_at(last.error_code, last.error_message,
                                                       last.updated_at)
            wait = math.ceil(retry_at - self._wall_clock()) if retry_at is not None else 0
            if wait > 0:
                # The server said when; asking sooner only earns another 429.
                return f"Still rate limited — retry in {wait} s."
        if self._client is None:
            return "No API key is set — open Settings, or try the sandbox."
        conversation = self._repo.get_conversation(conversation_id)
        if conversation is None:
            return "This conversation no longer exists."
        latest = max((m.id for m in transcript if m.role == Role.USER), default=question.id)
        if question.id >= latest:
            self._repo.set_message_status(question.id, MessageStatus.PENDING)
            self._emit_changed(question.id)
            asked = self._repo.get_message(question.id) or question
        else:
            asked = self._repo.add_user_message(conversation_id, question.text)
            self.sig_message_added.emit(conversation_id, asked)
            for old in answers:
                # Kept as what happened, but no second Retry that would ask a third time.
                reason = (old.error_message or "").strip()
                self._repo.fail_message(
                    old.id, status=old.status, error_code=error_codes.ASKED_AGAIN,
                    error_message=f"{reason} {error_codes.ASKED_AGAIN_TEXT}".strip(),
                )
                self._emit_changed(old.id)
        self._start_turn(conversation, asked, session_id=conversation.session_id,
                         instructions=self._instructions_for(conversation, asked.id))
        if asked.id != question.id:
            self.sig_conversation_changed.emit(conversation_id)
        return None

    def stop(self, conversation_id: int) -> None:
        """Cancel the conversation's turn now; the text that arrived is kept (CANCELLED).

        The UI is updated at once; the worker notices the token within a second and any event
        it still delivers is dropped.
        """
        rid = self._by_conversation.get(conversation_id)
        if rid is None:
            return
        turn = self._turns[rid]
        self._cancel_work(turn)
        self._end_turn(turn, MessageStatus.CANCELLED, error_codes.CANCELLED,
                       error_codes.STOPPED_TEXT if turn.text else error_codes.STOPPED_EMPTY_TEXT)

    def shutdown(self, timeout_s: float = 1.5) -> None:
        """Cancel every stream, save partial text as INTERRUPTED, wait for workers (bounded)."""
        self._shut_down = True
        for turn in list(self._turns.values()):
            self._cancel_work(turn)
            self._end_turn(turn, MessageStatus.INTERRUPTED, error_codes.INTERRUPTED,
                           _INTERRUPTED_TEXT)
        self._tick.stop()
        # Never terminate(): cancelled streams end within ~1 s; past the bound the runner
        # abandons its busy threads so the process can still exit.
        self._runner.shutdown(max(0, int(timeout_s * 1000)))

    # ----------------------------------------------------------------- turn lifecycle

    def _refusal(self, conversation_id: int, text: str) -> str | None:
        if self._shut_down:
            return "The app is closing."
        if not text.strip():
            return "Type a question first."
        if len(text) > MAX_QUESTION_CHARS:
            return (f"Messages are limited to {MAX_QUESTION_CHARS:,} characters — "
                    f"this one has {len(text):,}.")
        if self.is_busy(conversation_id):
            return "An answer is still arriving — wait for it or press Stop."
        if self._client is None:
            return "No API key is set — open Settings, or try the sandbox."
        return None

    def _start_turn(
        self,
        conversation: Any,
        user_message: Message,
        *,
        session_id: str | None,
        instructions: str | None,
        recovering: bool = False,
    ) -> _Turn:
        assistant = self._repo.start_assistant_message(conversation.id, user_message.id)
        self.sig_message_added.emit(conversation.id, assistant)
        rid = self._next_request_id
        self._next_request_id += 1
        turn = _Turn(
            request_id=rid,
            conversation_id=conversation.id,
            user_message_id=user_message.id,
            assistant_message_id=assistant.id,
            store_id=conversation.store_id,
            store_name=conversation.store_name,
            question=user_message.text,
            session_id=session_id,
            instructions=instructions,
            token=api.CancelToken(),
            recovering=recovering,
            last_flush=self._clock(),
        )
        self._turns[rid] = turn
        self._by_conversation[conversation.id] = rid
        if not recovering:
            # A recovery re-send continues the same busy period: the UI never flickers idle.
            self.sig_busy_changed.emit(conversation.id, True)
        log.info("turn %d started (conversation %d, %s session)", rid, conversation.id,
                 "existing" if session_id else "new")
        kwargs: dict[str, Any] = {"session_id": session_id, "cancel": turn.token}
        if instructions:
            kwargs["instructions"] = instructions
        # No Qt parent: a parent deleted while the worker still runs would delete the task
        # under it. The runner keeps the task alive until its worker has really returned.
        task = self._runner.stream(self._client.stream_response, conversation.store_id,
                                   user_message.text, canceller=turn.token, **kwargs)
        # StreamTask emits on the GUI thread, so partial() binding the request id is safe.
        task.sig_item.connect(partial(self._on_event, rid))
        task.sig_failed.connect(partial(self._on_error, rid))
        task.sig_finished.connect(partial(self._on_done, rid))
        # Deleted here, on the GUI thread, once its worker has returned: otherwise the last
        # reference could be dropped by the worker thread, deleting a QObject off its thread.
        task.sig_stopped.connect(task.deleteLater)
        turn.task = task
        task.start()
        return turn

    @staticmethod
    def _cancel_work(turn: _Turn) -> None:
        # The token ends a blocked socket read; the task stops delivering anything at once.
        turn.token.cancel()
        if turn.task is not None:
            turn.task.cancel()

    def _release(self, turn: _Turn) -> None:
        """Forget the turn: later events for its request id are dropped.

        ``sig_busy_changed(False)`` is left to ``_announce_idle``, called once the rows are
        saved, so listeners that re-read the conversation see its final state.
        """
        self._turns.pop(turn.request_id, None)
        if self._by_conversation.get(turn.conversation_id) == turn.request_id:
            del self._by_conversation[turn.conversation_id]
        if not self._turns:
            self._tick.stop()

    def _announce_idle(self, conversation_id: int) -> None:
        if conversation_id not in self._by_conversation:
            self.sig_busy_changed.emit(conversation_id, False)

    def _end_turn(self, turn: _Turn, status: MessageStatus, code: str, message: str) -> None:
        """Close a turn that did not complete: save what arrived, mark both rows."""
        self._release(turn)
        if turn.text and turn.emitted_len != len(turn.text):
            self.sig_stream_text.emit(turn.conversation_id, turn.assistant_message_id,
                                      turn.text)
        self._repo.fail_message(
            turn.assistant_message_id, status=status, error_code=code, error_message=message,
            text=turn.text or None,
        )
        self._repo.set_message_status(turn.user_message_id, status)
        self._emit_changed(turn.user_message_id)
        self._emit_changed(turn.assistant_message_id)
        self.sig_conversation_changed.emit(turn.conversation_id)
        self._announce_idle(turn.conversation_id)
        self.sig_turn_finished.emit(turn.conversation_id, turn.assistant_message_id,
                                    status.value)
        log.info("turn %d ended: %s (%s)", turn.request_id, status.value, code)

    def _emit_changed(self, message_id: int) -> None:
        message = self._repo.get_message(message_id)
        if message is not None:
            self.sig_message_changed.emit(message.conversation_id, message)

    # ----------------------------------------------------------------- worker events

    def _guarded(self, turn: _Turn, handler: Callable[..., None], *args: Any) -> None:
        """Run a handler; if the conversation was deleted meanwhile, drop the turn quietly."""
        try:
            handler(turn, *args)
        except NotFoundError:
            log.info("turn %d dropped: its conversation was deleted", turn.request_id)
            self._cancel_work(turn)
            self._release(turn)
            self._announce_idle(turn.conversation_id)

    @Slot(int, object)
    def _on_event(self, request_id: int, event: object) -> None:
        turn = self._turns.get(request_id)
        if turn is None:
            return  # stopped, superseded or shut down: a late event
        self._guarded(turn, self._handle_event, event)

    def _handle_event(self, turn: _Turn, event: object) -> None:
        if isinstance(event, api.TextDelta):
            if getattr(event, "phase", "final_answer") != "final_answer":
                return  # narration of the agent's steps is not part of the answer
            turn.text += event.delta
            self._maybe_emit_text(turn)
        elif isinstance(event, api.ResponseCreated):
            self._on_created(turn, event)
        elif isinstance(event, api.ResponseDone):
            self._on_response_done(turn, event.response)
        elif isinstance(event, api.RetryWait):
            self._on_retry_wait(turn, event)
        # KeepAlive and unknown events: nothing to show.

    def _on_retry_wait(self, turn: _Turn, event: Any) -> None:
        """The client waits before resending (429/503 with Retry-After): say so in the row's
        status line instead of an answer that seems stuck. Not saved: the wait is over long
        before anyone reopens the conversation."""
        row = self._repo.get_message(turn.assistant_message_id)
        if row is None:
            return
        log.info("turn %d: waiting %.1f s before resending (%s)", turn.request_id,
                 event.seconds, event.reason)
        shown = error_codes.retry_wait_row(row, event.seconds, event.reason, self._wall_clock())
        if turn.text:
            shown = dataclasses.replace(shown, text=turn.text)
        self.sig_message_changed.emit(turn.conversation_id, shown)

    def _on_created(self, turn: _Turn, event: Any) -> None:
        session_id = getattr(event, "session_id", None)
        if not session_id or session_id == turn.session_id:
            return
        turn.session_id = session_id
        conversation = self._repo.get_conversation(turn.conversation_id)
        if conversation is not None and conversation.session_id != session_id:
            # Saved at once: a session id lost is a conversation that can never continue.
            self._repo.set_session_id(turn.conversation_id, session_id)
            self.sig_conversation_changed.emit(turn.conversation_id)

    def _maybe_emit_text(self, turn: _Turn) -> None:
        now = self._clock()
        if now - turn.last_emit >= self._emit_interval_s:
            self._emit_text(turn, now)
        if not self._tick.isActive():
            # Delivers throttled text and the ~1 s flush even if no further delta arrives.
            self._tick.start()
        if now - turn.last_flush >= self._flush_interval_s:
            self._flush(turn, now)

    def _emit_text(self, turn: _Turn, now: float) -> None:
        turn.last_emit = now
        turn.emitted_len = len(turn.text)
        self.sig_stream_text.emit(turn.conversation_id, turn.assistant_message_id, turn.text)

    def _flush(self, turn: _Turn, now: float) -> None:
        turn.last_flush = now
        if turn.flushed_len != len(turn.text):
            turn.flushed_len = len(turn.text)
            self._repo.flush_partial_text(turn.assistant_message_id, turn.text)

    @Slot()
    def _on_tick(self) -> None:
        """Deliver coalesced text that arrived faster than the repaint interval."""
        now = self._clock()
        pending = False
        for turn in list(self._turns.values()):
            if turn.emitted_len != len(turn.text):
                if now - turn.last_emit >= self._emit_interval_s:
                    self._emit_text(turn, now)
                else:
                    pending = True
            if now - turn.last_flush >= self._flush_interval_s:
                self._flush(turn, now)
            if turn.flushed_len != len(turn.text):
                pending = True  # unsaved text: come back for the ~1 s flush
        if not pending:
            self._tick.stop()

    def _on_response_done(self, turn: _Turn, response: api.Response) -> None:
        self._release(turn)
        text = response.text or turn.text
        citations = [c.to_dict() for c in response.citations]
        usage = response.usage
        session_id = response.session_id or turn.session_id
        if session_id and session_id != turn.session_id:
            turn.session_id = session_id
            self._repo.set_session_id(turn.conversation_id, session_id)
        self._repo.finish_message(
            turn.assistant_message_id,
            text=text,
            status=MessageStatus.COMPLETE,
            citations=citations,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            response_id=response.id,
            session_id=session_id,
        )
        self._repo.set_message_status(turn.user_message_id, MessageStatus.COMPLETE)
        if text != turn.text or turn.emitted_len != len(text):
            # Throttled text may still be pending: the final text always reaches the view.
            self.sig_stream_text.emit(turn.conversation_id, turn.assistant_message_id, text)
        self._emit_changed(turn.user_message_id)
        self._emit_changed(turn.assistant_message_id)
        if response.status == "incomplete":
            # A valid prefix of the answer: keep it as complete, but say it was cut short.
            why = ("it reached the length limit"
                   if response.incomplete_reason == "max_output_tokens"
                   else "the server stopped early")
            self.sig_notice.emit(turn.conversation_id,
                                 f"The answer was cut short ({why}); ask a follow-up for more.")
        self.sig_conversation_changed.emit(turn.conversation_id)
        self._announce_idle(turn.conversation_id)
        self.sig_turn_finished.emit(turn.conversation_id, turn.assistant_message_id,
                                    MessageStatus.COMPLETE.value)
        log.info("turn %d complete (%d chars, %d citations)", turn.request_id, len(text),
                 len(citations))

    @Slot(int)
    def _on_done(self, request_id: int) -> None:
        turn = self._turns.get(request_id)
        if turn is None:
            return
        # The client always ends with ResponseDone or raises; ending silently is a bug there,
        # but the user must not be left with a row that streams forever.
        self._guarded(turn, self._end_turn, MessageStatus.FAILED, error_codes.PROTOCOL,
                      "The server's reply ended before the answer was complete.")

    @Slot(int, object)
    def _on_error(self, request_id: int, exc: object) -> None:
        turn = self._turns.get(request_id)
        if turn is None:
            return  # e.g. the RequestCancelledError of a stream the user already stopped
        self._guarded(turn, self._handle_error, exc)

    def _handle_error(self, turn: _Turn, exc: object) -> None:
        request_id = turn.request_id
        if not isinstance(exc, api.JockeyError):
            log.error("turn %d crashed", request_id, exc_info=exc)  # type: ignore[arg-type]
        if isinstance(exc, api.SessionLostError) and turn.session_id and not turn.text:
            self._recover_session(turn)
            return
        info = describe_error(exc, store_name=turn.store_name)  # type: ignore[arg-type]
        self._end_turn(turn, MessageStatus.FAILED, info.code, info.message)
        if isinstance(exc, api.SessionStoreMismatchError):
            self.sig_notice.emit(
                turn.conversation_id,
                "This conversation's session is bound to another knowledge store. "
                "Start a new conversation to ask about this store.",
            )

    # ----------------------------------------------------------------- session loss

    def _recover_session(self, turn: _Turn) -> None:
        """Continue in a new session seeded with a recap: never a dead end.

        The failed attempt's row is closed (kept, with the reason), a seam row marks the
        switch, and the same question is sent again without a session id; the answer
        arrives in a fresh row below the seam.
        """
        old_session = turn.session_id
        self._release(turn)
        log.info("turn %d: session lost; continuing in a new session", turn.request_id)
        self._repo.fail_message(
            turn.assistant_message_id, status=MessageStatus.FAILED,
            error_code=error_codes.SESSION_LOST,
            error_message="The server no longer had this conversation's session — "
                          "the question was asked again in a new session below.",
        )
        self._emit_changed(turn.assistant_message_id)
        self._repo.set_session_id(turn.conversation_id, None)
        seam = self._repo.add_session_seam(turn.conversation_id, old_session, _SEAM_REASON)
        self.sig_message_added.emit(turn.conversation_id, seam)
        self.sig_conversation_changed.emit(turn.conversation_id)
        conversation = self._repo.get_conversation(turn.conversation_id)
        question = self._repo.get_message(turn.user_message_id)
        if conversation is None or question is None:
            self._announce_idle(turn.conversation_id)
            return
        # The conversation has no session now, so this includes the recap.
        self._start_turn(conversation, question, session_id=None,
                         instructions=self._instructions_for(conversation, question.id),
                         recovering=True)

    def _instructions_for(self, conversation: Any, question_id: int) -> str | None:
        """The conversation's own instructions, plus a recap when a new session must start
        although earlier turns exist (e.g. the re-send after a session loss failed too):
        the server would otherwise answer without any of the conversation's context."""
        if conversation.session_id:
            return conversation.instructions  # type: ignore[no-any-return]
        recap = build_recap(self._earlier_pairs(conversation.id, question_id))
        return _combine_instructions(conversation.instructions, recap)

    def _earlier_pairs(self, conversation_id: int, before_message_id: int) -> list[
            tuple[str, str]]:
        """(question, best answer) pairs of the turns before ``before_message_id``."""
        answers: dict[int, str] = {}
        questions: list[Message] = []
        for m in self._repo.list_messages(conversation_id):
            if m.role == Role.USER and m.id < before_message_id:
                questions.append(m)
            elif (m.role == Role.ASSISTANT and m.reply_to is not None and m.text.strip()
                  and (m.status == MessageStatus.COMPLETE or m.reply_to not in answers)):
                # A complete answer wins over partial text of a failed attempt.
                answers[m.reply_to] = m.text
        return [(q.text, answers.get(q.id, "")) for q in questions]
