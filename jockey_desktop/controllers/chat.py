"""ChatController: one question → one streamed, saved answer.

The data path of one turn, with no back and forth (docs/ARCHITECTURE.md, "One turn"):

1. ``send`` checks the question, marks the conversation busy at once and hands the write to
   the storage runner: ``Repository.start_turn`` saves the question (PENDING) and its empty
   answer row (STREAMING) in one transaction before any network.
2. Its result (the two rows) goes to the change feed. The stream's worker (the controller's
   own stream pool) is started together with the write and waits for it: the request is
   sent the moment the question is durable, from the storage thread's own signal, without a
   round trip through the GUI thread (the first word is what a user waits for). Every event
   comes back to the GUI thread by a queued signal; events that overtake the write's own
   result are kept until it is applied.
3. The session id is saved (on the storage runner) the moment the server assigns it; text is
   shown at most every ~50 ms (``sig_stream_text``) and flushed to disk about once a second.
4. The end of a turn is one transaction (``complete_turn`` or ``end_turn``) whose result —
   both rows and the conversation — is announced on the feed; nothing is read back.

Every failure becomes a saved, retryable row; a session the server lost is continued in a
new session with a recap. The GUI thread never waits on the disk: it only reads.

A full disk loses nothing: a question that cannot be saved is refused (its text goes back to
the composer with the disk's sentence); an answer keeps arriving in memory, and the write
that ends its turn (and a new session id) is *held*: shown from memory ("Not saved yet"),
tried again every few seconds and before every send, and saved as soon as there is space.
Closing the window first tries them once more and asks the user if some are still held
(``controllers.quitting.QuitGuard``, through ``try_held_writes``); the shutdown makes a
last try and logs what still cannot be written.

Threading: all public methods and slots run on the GUI thread. Each turn has a request id
bound into its callbacks; an event or a write result for a request that is no longer active
(stopped, superseded, shut down) is dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.concurrency import StreamTask, TaskRunner
from jockey_desktop.controllers.changes import ChangeFeed
from jockey_desktop.core.errors import (
    ARRIVING_IN_MEMORY_TEXT,
    HELD_IN_MEMORY_TEXT,
    HELD_SAVED_TEXT,
    INTERRUPTED_TEXT,
    NO_CLIENT_TEXT,
    QUESTION_NOT_SAVED_TEXT,
    SESSION_LOST_TEXT,
    STOPPED_EMPTY_TEXT,
    STOPPED_TEXT,
    ErrorCode,
    describe_error,
    kept_in_memory_notice,
    retry_wait_seconds,
)
from jockey_desktop.core.limits import MAX_QUESTION_CHARS, too_long_reason
from jockey_desktop.core.ports import ApiClient, ConversationStore, Runner
from jockey_desktop.core.recap import build_recap, combine_instructions, earlier_pairs
from jockey_desktop.core.storage import DiskFullError, NotFoundError
from jockey_desktop.core.storage.models import (
    Message,
    MessageStatus,
    Role,
    TurnWrite,
)
from jockey_desktop.core.web_sources import record_web_sources
from jockey_desktop.presentation.selections import PREFIXES
from jockey_desktop.presentation.status import unsaved_row, waiting_row

if TYPE_CHECKING:
    from jockey_desktop.core import api

log = logging.getLogger(__name__)

_SEAM_REASON = (
    "New session started — the server no longer had the previous one. "
    "Earlier turns were summarised for Jockey."
)


@dataclass(frozen=True)
class _Started:
    """What a turn's first write returned: its two rows, plus rows it changed on the way."""

    question: Message
    answer: Message
    others: tuple[Message, ...] = ()


class _Gate:
    """Opened by the storage thread once a turn's question is durable: its stream waits on
    it, so nothing is sent before the question is on disk (and nothing at all when the
    write failed or the turn was stopped first)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._ok = False
        #: The request's instructions, worked out once the question is saved (the recap of
        #: a new session summarises the turns before it, read after that write).
        self.instructions: str | None = None

    def open(self, instructions: str | None) -> None:
        """The question is saved: send, with these instructions."""
        self.instructions = instructions
        self._ok = True
        self._event.set()

    def abort(self) -> None:
        """The question could not be saved: send nothing."""
        self._event.set()

    def wait(self, token: api.CancelToken) -> bool:
        """Until opened or aborted (True = send), or the turn is cancelled (False)."""
        # Polled: a Stop before the write is done must free the worker within moments.
        while not self._event.wait(0.05):
            if token.cancelled:
                return False
        return self._ok and not token.cancelled


@dataclass(frozen=True)
class _Request:
    """What a turn's request needs from storage once its question is saved."""

    conversation_id: int
    session_id: str | None
    base_instructions: str | None


def _instructions(repo: ConversationStore, request: _Request, question_id: int) -> str | None:
    """The conversation's own instructions, plus a recap when a new session must start
    although earlier turns exist (those before ``question_id``): the server would otherwise
    answer without any of the conversation's context."""
    if request.session_id:
        return request.base_instructions
    pairs = earlier_pairs(repo.list_messages(request.conversation_id), question_id)
    return combine_instructions(request.base_instructions, build_recap(pairs))


def _gated(gate: _Gate, repo: ConversationStore, request: _Request,
           job: Callable[..., _Started], *args: Any) -> _Started:
    """Run a turn's first write (on the storage thread), then open its gate with the
    request's instructions, or abort it when the write failed."""
    try:
        started = job(*args)
    except BaseException:
        gate.abort()
        raise
    try:
        instructions = _instructions(repo, request, started.question.id)
    except Exception:  # the question is saved whatever the recap met
        # Asked without the recap rather than not at all (and the worker never waits on).
        log.warning("no recap for the new session", exc_info=True)
        instructions = request.base_instructions
    gate.open(instructions)
    return started


def _stream_when_saved(gate: _Gate, token: api.CancelToken,
                       stream: Callable[..., Iterable[Any]], *args: Any,
                       **kwargs: Any) -> Iterator[Any]:
    """The stream of a turn, on its worker: waits for the question to be durable first."""
    if not gate.wait(token):
        return  # not saved, or stopped meanwhile: nothing was sent
    if gate.instructions:
        kwargs["instructions"] = gate.instructions
    yield from stream(*args, **kwargs)


def _selections_refusal(selections: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the API would refuse these selections (a kind it does not know, an id that does
    not fit its kind), or None. Said before anything is saved or sent."""
    for chosen in selections:
        kind, chosen_id = chosen.get("kind"), chosen.get("id")
        prefix = PREFIXES.get(kind) if isinstance(kind, str) else None
        if prefix is None or not isinstance(chosen_id, str) or not chosen_id.startswith(prefix):
            name = chosen.get("name") or chosen_id
            return f"“{name}” cannot be asked about: it is not an item or a collection."
    return None


def _start(repo: ConversationStore, conversation_id: int, text: str,
           selections: list[dict[str, Any]]) -> _Started:
    question, answer = repo.start_turn(conversation_id, text, selections=selections)
    return _Started(question, answer)


def _restart(repo: ConversationStore, question_id: int) -> _Started:
    question, answer = repo.restart_turn(question_id)
    return _Started(question, answer)


def _recover(repo: ConversationStore, question_id: int, answer_id: int,
             old_session: str | None) -> _Started:
    """The failed attempt closed with the reason, a seam row, and the question asked again
    (with a new answer row) below it."""
    failed = repo.end_turn(question_id, answer_id, status=MessageStatus.FAILED,
                           error_code=ErrorCode.SESSION_LOST.value,
                           error_message=SESSION_LOST_TEXT)
    seam = repo.add_session_seam(failed.conversation.id, old_session, _SEAM_REASON)
    question, answer = repo.restart_turn(question_id)
    return _Started(question, answer, (failed.answer, seam))


@dataclass
class _Turn:
    """One request in flight."""

    request_id: int
    conversation_id: int
    store_id: str
    store_name: str
    question: str
    session_id: str | None
    base_instructions: str | None
    token: api.CancelToken
    #: What the question asks about (``{"kind", "id", "name"}``; ``{{sel:N}}`` is entry N).
    selections: list[dict[str, Any]] = field(default_factory=list)
    #: Send the web-search tool with this turn.
    web_search: bool = False
    recovering: bool = False  # a re-send in a new session after a session loss
    #: The rows, once the first write has saved them.
    question_id: int | None = None
    answer: Message | None = None
    task: StreamTask | None = None
    text: str = ""
    emitted_len: int = -1  # len(text) at the last sig_stream_text
    last_emit: float = 0.0
    last_flush: float = field(default_factory=time.monotonic)
    flushed_len: int = 0
    #: The status the turn ends with, once it is ending (late events are then dropped).
    closing: MessageStatus | None = None
    #: Ended before its rows were saved: (status, code, sentence) to write once they are.
    pending_end: tuple[MessageStatus, ErrorCode, str] | None = None
    #: The user was told the disk is full during this turn (said once).
    told_disk_full: bool = False
    #: The agent's steps so far, by item id (insertion order is output order).
    steps: dict[str, api.Step] = field(default_factory=dict)
    #: Stream events (and its end) that arrived before the rows were applied: replayed then.
    early: list[tuple[str, object]] = field(default_factory=list)
    #: No client when the turn began: it ends once its rows are saved.
    no_client: bool = False
    #: Bumped on every step change; ``emitted_steps`` is its value at the last emission.
    steps_version: int = 0
    emitted_steps: int = 0
    #: Each step's stored form while the step is the same (frozen) object: an update
    #: replaces only the step that changed, so the others are not converted again on every
    #: emission (a long agent run has hundreds). Readers never change these dicts.
    stored_steps: dict[str, tuple[api.Step, dict[str, Any]]] = field(default_factory=dict)

    def step_dicts(self) -> list[dict[str, Any]]:
        """The steps so far as stored (``Step.to_dict()``), in output order."""
        dicts = []
        for key, step in self.steps.items():
            stored = self.stored_steps.get(key)
            if stored is None or stored[0] is not step:
                stored = self.stored_steps[key] = (step, step.to_dict())
            dicts.append(stored[1])
        return dicts


#: Why a write was lost at quit when the disk refused it (the log's wording).
DISK_STILL_FULL = "the disk is still full"


def _log_lost_at_quit(what: str, why: str) -> None:
    """The one log line of a write lost at quit (the user was asked before quitting)."""
    log.warning("lost at quit, %s: %s", why, what)


@dataclass(eq=False)
class _Held:
    """A write of the end of a turn or a session id; if the disk cannot take it, it is kept
    in memory and tried again."""

    conversation_id: int
    job: Callable[[], Any]
    on_saved: Callable[[Any], None]
    on_failed: Callable[[BaseException], None]
    #: The row shown from memory meanwhile (an answer's end), or None.
    shown: Message | None = None
    in_flight: bool = False
    #: Set by the worker when a try ends: "" once saved, else why not (the disk still
    #: full, another error); None while it runs. At quit the answer of the last try is
    #: not delivered to the GUI thread (the event loop has stopped), so what was lost is
    #: read from here once the storage runner has drained.
    unsaved_because: str | None = None

    def attempt(self) -> Any:
        """Run the write once (on the storage runner) and record whether it was saved."""
        self.unsaved_because = None
        try:
            result = self.job()
        except DiskFullError:
            self.unsaved_because = DISK_STILL_FULL
            raise
        except Exception as exc:
            self.unsaved_because = str(exc) or type(exc).__name__
            raise
        self.unsaved_because = ""
        return result


class ChatController(QObject):
    """Sends questions, streams answers, saves both through the storage runner.

    The client is set with ``set_client`` (None = no key yet: sends are refused with a
    reason). Streams already running keep the client they started with.
    """

    #: Throttled partial text of a streaming answer (conversation id, message id, text).
    sig_stream_text = Signal(int, int, str)
    #: A conversation's turn started or ended (conversation id, busy).
    sig_busy_changed = Signal(int, bool)
    #: A notice about one conversation (conversation id, sentence).
    sig_notice = Signal(int, str)
    #: A question accepted by ``send`` could not be saved: its text goes back into the
    #: composer with the reason (conversation id, reason).
    sig_refused = Signal(int, str)
    #: A turn ended and its rows are saved (conversation id, answer id, MessageStatus value).
    sig_turn_finished = Signal(int, int, str)
    #: The agent's steps of a streaming answer so far, throttled like the text
    #: (conversation id, message id, list of ``Step.to_dict()``).
    sig_stream_steps = Signal(int, int, object)
    #: The conversations whose answer waits in memory for disk space changed (a frozenset
    #: of conversation ids; empty once everything is saved).
    sig_held_changed = Signal(object)

    #: How often writes held on a full disk are tried again.
    HELD_RETRY_MS = 3000

    def __init__(
        self,
        repo: ConversationStore,
        storage: Runner,
        feed: ChangeFeed,
        client: ApiClient | None = None,
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
        self._storage = storage
        self._feed = feed
        self._client = client
        self._no_client_reason = ""
        #: Ask for the agent's steps (the "Show agent steps" setting).
        self._include_steps = True
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
        #: Writes a full disk refused, by key ("end", request id) / ("session", conversation).
        self._held: dict[tuple[str, int], _Held] = {}
        #: Every write submitted and not yet answered on the GUI thread, with what it saves
        #: ("end", "session"): at quit, answers are no longer delivered.
        self._writing: dict[_Held, str] = {}
        self._held_retry = QTimer(self)
        self._held_retry.setInterval(self.HELD_RETRY_MS)
        self._held_retry.timeout.connect(self.retry_held_writes)
        #: What ``sig_held_changed`` said last.
        self._held_announced: frozenset[int] = frozenset()
        #: Called once every held write tried by ``try_held_writes`` has answered.
        self._held_waiters: list[Callable[[], None]] = []
        #: The folder of the disk that refused the newest held write.
        self._held_folder: Path | None = None

    # ----------------------------------------------------------------- public API

    @Slot(object)
    def set_client(self, client: ApiClient | None) -> None:
        """Use ``client`` for new turns (streams in flight keep theirs)."""
        self._client = client

    @Slot(str)
    def set_no_client_reason(self, reason: str) -> None:
        """Why there is no client when it is not simply "no key" (e.g. the keychain could not
        be read); "" goes back to the usual sentence."""
        self._no_client_reason = reason

    @Slot(bool)
    def set_include_steps(self, include: bool) -> None:
        """Ask new turns for the agent's steps (``include: ["intermediate_outputs"]``) or
        not: with the Steps list turned off there is nothing to show them in."""
        self._include_steps = bool(include)

    def include_steps(self) -> bool:
        """True when new turns ask for the agent's steps."""
        return self._include_steps

    def _no_client_text(self) -> str:
        return self._no_client_reason or NO_CLIENT_TEXT

    def client(self) -> ApiClient | None:
        """The client new turns will use (None when no key is configured)."""
        return self._client

    def is_busy(self, conversation_id: int) -> bool:
        """True from ``send`` until the conversation's turn has ended."""
        return conversation_id in self._by_conversation

    def live_texts(self, conversation_id: int) -> list[tuple[int, str]]:
        """(answer id, text so far) of the conversation's streaming turn.

        The saved partial text may be up to a second old; a pane that opens a conversation
        mid-stream applies this so it shows exactly what arrived.
        """
        rid = self._by_conversation.get(conversation_id)
        turn = self._turns.get(rid) if rid is not None else None
        if turn is None or turn.answer is None or not turn.text:
            return []
        return [(turn.answer.id, turn.text)]

    def live_steps(self, conversation_id: int) -> list[tuple[int, list[dict[str, Any]]]]:
        """(answer id, steps so far) of the conversation's streaming turn: a pane that opens
        the conversation mid-stream shows the live line and the Steps list from these."""
        rid = self._by_conversation.get(conversation_id)
        turn = self._turns.get(rid) if rid is not None else None
        if turn is None or turn.answer is None or not turn.steps:
            return []
        return [(turn.answer.id, turn.step_dicts())]

    def busy_conversations(self) -> list[int]:
        """Ids of every conversation with a turn in flight."""
        return list(self._by_conversation)

    def unsaved_rows(self, conversation_id: int) -> dict[int, Message]:
        """Rows of the conversation shown from memory because the disk could not take them
        yet, by message id: a pane opening the conversation shows these over the stored
        ones (which still say "streaming")."""
        return {held.shown.id: held.shown for held in self._held.values()
                if held.shown is not None and held.conversation_id == conversation_id}

    def held_write_count(self) -> int:
        """How many writes wait for disk space (0 when everything is saved)."""
        return len(self._held)

    def held_answer_count(self) -> int:
        """How many of the held writes end an answer (the rest save new session ids)."""
        return sum(1 for held in self._held.values() if held.shown is not None)

    def held_conversations(self) -> frozenset[int]:
        """The conversations whose answer waits in memory for disk space."""
        return frozenset(held.conversation_id for held in self._held.values()
                         if held.shown is not None)

    def held_folder(self) -> Path | None:
        """The folder whose disk refused the newest held write (None: nothing held)."""
        return self._held_folder if self._held else None

    def try_held_writes(self, on_done: Callable[[], None]) -> None:
        """Try every held write now (on the storage runner) and call ``on_done`` on the GUI
        thread once each has answered, saved or still held: then ``held_write_count()``
        says what is left. Quitting asks this before it warns. ``on_done`` is never
        called from inside this method."""
        self._held_waiters.append(on_done)
        self.retry_held_writes()
        if not any(held.in_flight for held in self._held.values()):
            QTimer.singleShot(0, self._call_held_waiters)  # nothing was held

    @Slot()
    def retry_held_writes(self) -> None:
        """Try every write held on a full disk again (timer, every send, quit)."""
        for key, held in list(self._held.items()):
            if not held.in_flight:  # one in flight is the try: its outcome is awaited
                held.in_flight = True
                self._submit_write(key, held)

    def send(self, conversation_id: int, text: str, *,
             selections: Sequence[Mapping[str, Any]] = (),
             web_search: bool | None = None) -> str | None:
        """Ask ``text`` in the conversation. None = accepted; else the reason it was refused.

        ``selections`` (``{"kind", "id", "name"}`` dicts) scope the question; ``text``
        refers to entry N as ``{{sel:N}}`` (``presentation.selections.compose_question``
        writes it). ``web_search`` sends the web-search tool (None: the conversation's own
        setting). The question is saved (PENDING, with its selections and its answer row)
        before any network; should that write fail, ``sig_refused`` gives the reason and
        the text back.
        """
        refusal = self._refusal(conversation_id, text) or _selections_refusal(selections)
        if refusal:
            return refusal
        conversation = self._repo.get_conversation(conversation_id)
        if conversation is None:
            return "This conversation no longer exists."
        chosen = [dict(s) for s in selections]
        turn = self._reserve(conversation.id, conversation.store_id, conversation.store_name,
                             text, conversation.session_id, conversation.instructions,
                             selections=chosen,
                             web_search=conversation.web_search if web_search is None
                             else bool(web_search))
        # Space may be back: what waits in memory goes first (the runner keeps the order).
        self.retry_held_writes()
        self._begin(turn, _start, self._repo, conversation_id, text, chosen)
        return None

    def retry(self, message_id: int) -> str | None:
        """Ask again the question of a failed, interrupted or cancelled turn.

        ``message_id`` may be the question or its answer. The question row is reused and a
        fresh answer row replies to it (``restart_turn``): the attempts are versions of one
        answer (``core.storage.versions``), the newest shown, the failed one still there
        behind ‹ ›. The turn goes into the conversation's current session (at its end, for
        an older question), so the server may see the question twice. Returns None when
        started, else the reason it was refused — among them the retry lock: a rate-limited
        turn is refused until the server's Retry-After has passed.
        """
        return self._again(message_id, answered_ok=False)

    def ask_again(self, message_id: int) -> str | None:
        """"Ask again" on an answer (or its question): the question sent once more as a new
        turn of the same session — the server's session is linear, so it comes after
        everything asked since — and the answer filed as another version of the question's
        answer. Unlike Retry it is offered for an answered question too. Returns None when
        started, else the reason it was refused."""
        return self._again(message_id, answered_ok=True)

    def _again(self, message_id: int, *, answered_ok: bool) -> str | None:
        """Retry / Ask again: a new answer version of the message's question."""
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
        refusal = self._retry_refusal(answers, answered_ok=answered_ok)
        if refusal:
            return refusal
        if self._client is None:
            return self._no_client_text()
        conversation = self._repo.get_conversation(conversation_id)
        if conversation is None:
            return "This conversation no longer exists."
        chosen = [dict(s) for s in question.selections]
        turn = self._reserve(conversation.id, conversation.store_id, conversation.store_name,
                             question.text, conversation.session_id, conversation.instructions,
                             selections=chosen, web_search=conversation.web_search)
        # Never a second question row: the new answer is a version of this question's.
        self._begin(turn, _restart, self._repo, question.id)
        return None

    def _retry_refusal(self, answers: list[Message], *,
                       answered_ok: bool = False) -> str | None:
        if not answered_ok and any(m.status == MessageStatus.COMPLETE for m in answers):
            # Retry is for a question without an answer; "Ask again" is the way to another.
            return "This question has already been answered."
        if not answers:
            return None
        last = answers[-1]
        if last.error_code == ErrorCode.SESSION_STORE_MISMATCH:
            # Sent unchanged it can only fail the same way: a session is bound to its store.
            return ("This conversation's session belongs to another knowledge store — "
                    "start a new conversation to ask this question.")
        wait = retry_wait_seconds(last, self._wall_clock())
        if wait > 0:
            # The server said when; asking sooner only earns another 429.
            return f"Still rate limited — retry in {wait} s."
        return None

    def stop(self, conversation_id: int) -> None:
        """Cancel the conversation's turn now; the text that arrived is kept (CANCELLED).

        The conversation is idle at once; the worker notices the token within a second and
        any event it still delivers is dropped.
        """
        rid = self._by_conversation.get(conversation_id)
        if rid is None:
            return
        turn = self._turns[rid]
        self._cancel_work(turn)
        self._end_turn(turn, MessageStatus.CANCELLED, ErrorCode.CANCELLED,
                       STOPPED_TEXT if turn.text else STOPPED_EMPTY_TEXT)

    def shutdown(self, timeout_s: float = 1.5) -> bool:
        """Cancel every stream and queue its partial text as INTERRUPTED on the storage
        runner (the caller drains it), then wait for the stream workers (bounded).

        Returns True when every stream worker returned within the bound.
        """
        self._shut_down = True
        for turn in list(self._turns.values()):
            self._cancel_work(turn)
            if turn.closing is None:
                self._end_turn(turn, MessageStatus.INTERRUPTED, ErrorCode.INTERRUPTED,
                               INTERRUPTED_TEXT)
        self._tick.stop()
        self._held_retry.stop()
        # A last try for what waits for space; the caller drains the storage runner.
        self.retry_held_writes()
        # Never terminate(): cancelled streams end within ~1 s; past the bound the runner
        # abandons its busy threads so the process can still exit.
        return self._runner.shutdown(max(0, int(timeout_s * 1000)))

    # ----------------------------------------------------------------- turn lifecycle

    def _refusal(self, conversation_id: int, text: str) -> str | None:
        if self._shut_down:
            return "The app is closing."
        if not text.strip():
            return "Type a question first."
        if len(text) > MAX_QUESTION_CHARS:
            return too_long_reason(len(text))
        if self.is_busy(conversation_id):
            return "An answer is still arriving — wait for it or press Stop."
        if self._client is None:
            return self._no_client_text()
        return None

    def _reserve(self, conversation_id: int, store_id: str, store_name: str, text: str,
                 session_id: str | None, instructions: str | None, *,
                 selections: list[dict[str, Any]] | None = None, web_search: bool = False,
                 recovering: bool = False) -> _Turn:
        """A new turn, busy from now on (its rows are being written)."""
        # The client's package is imported by the first turn, not before the first paint.
        from jockey_desktop.core import api

        rid = self._next_request_id
        self._next_request_id += 1
        turn = _Turn(
            request_id=rid,
            conversation_id=conversation_id,
            store_id=store_id,
            store_name=store_name,
            question=text,
            session_id=session_id,
            base_instructions=instructions,
            token=api.CancelToken(),
            selections=list(selections or []),
            web_search=web_search,
            recovering=recovering,
            last_flush=self._clock(),
        )
        self._turns[rid] = turn
        self._by_conversation[conversation_id] = rid
        if not recovering:
            # A recovery re-send continues the same busy period: the UI never flickers idle.
            self.sig_busy_changed.emit(conversation_id, True)
        return turn

    def _begin(self, turn: _Turn, job: Callable[..., _Started], *args: Any) -> None:
        """Write the turn's first rows (``job(*args)`` on the storage runner) and start its
        stream at once, gated on that write."""
        gate = _Gate()
        request = _Request(turn.conversation_id, turn.session_id, turn.base_instructions)
        self._storage.submit(_gated, gate, self._repo, request, job, *args,
                             on_success=partial(self._rows_saved, turn.request_id),
                             on_error=partial(self._rows_failed, turn.request_id))
        self._start_stream(turn, gate)

    def _rows_saved(self, request_id: int, started: _Started) -> None:
        """The first write is durable: show the rows, then what the stream already brought
        (or end a turn stopped meanwhile)."""
        turn = self._turns.get(request_id)
        if turn is None:
            return  # shut down meanwhile: recovery marks the rows interrupted at next start
        turn.question_id = started.question.id
        turn.answer = started.answer
        self._feed.messages([*started.others, started.question, started.answer])
        self._feed.conversations([turn.conversation_id])
        if turn.pending_end is not None:
            status, code, sentence = turn.pending_end
            self._write_end(turn, status, code, sentence)
            return
        if turn.no_client:
            self._end_turn(turn, MessageStatus.FAILED, ErrorCode.NO_CLIENT,
                           self._no_client_text())
            return
        early, turn.early = turn.early, []
        for kind, value in early:
            if kind == "event":
                self._on_event(request_id, value)
            elif kind == "error":
                self._on_error(request_id, value)
            else:
                self._on_done(request_id)

    def _rows_failed(self, request_id: int, error: BaseException) -> None:
        turn = self._turns.get(request_id)
        if turn is None:
            return
        if self._release(turn):
            self.sig_busy_changed.emit(turn.conversation_id, False)
        self._turns.pop(turn.request_id, None)
        if isinstance(error, NotFoundError):
            log.info("turn %d dropped: its conversation was deleted", request_id)
            return
        log.warning("turn %d: the question could not be saved: %s", request_id, error)
        self.sig_refused.emit(turn.conversation_id,
                              f"{QUESTION_NOT_SAVED_TEXT} {error}")

    def _start_stream(self, turn: _Turn, gate: _Gate) -> None:
        """Start the turn's stream worker; it sends once ``gate`` opens."""
        from jockey_desktop.core import api

        client = self._client
        if client is None or self._shut_down:
            turn.no_client = True  # ended (with the reason) once its rows are saved
            return
        log.info("turn %d started (conversation %d, %s session)", turn.request_id,
                 turn.conversation_id, "existing" if turn.session_id else "new")
        kwargs: dict[str, Any] = {"session_id": turn.session_id, "cancel": turn.token}
        # Only what the turn uses is passed: the request stays the documented default form.
        if turn.selections:
            kwargs["selections"] = [api.Selection(s["kind"], s["id"]) for s in turn.selections]
        if self._include_steps:
            kwargs["include_steps"] = True
        if turn.web_search:
            kwargs["web_search"] = True
        # No Qt parent: a parent deleted while the worker still runs would delete the task
        # under it. The runner keeps the task alive until its worker has really returned.
        task = self._runner.stream(_stream_when_saved, gate, turn.token, client.stream_response,
                                   turn.store_id, turn.question, canceller=turn.token,
                                   **kwargs)
        # StreamTask emits on the GUI thread, so partial() binding the request id is safe.
        task.sig_item.connect(partial(self._on_event, turn.request_id))
        task.sig_failed.connect(partial(self._on_error, turn.request_id))
        task.sig_finished.connect(partial(self._on_done, turn.request_id))
        # Deleted here, on the GUI thread, once its worker has returned: otherwise the last
        # reference could be dropped by the worker thread, deleting a QObject off its thread.
        task.sig_stopped.connect(task.deleteLater)
        turn.task = task
        task.start()

    @staticmethod
    def _cancel_work(turn: _Turn) -> None:
        # The token ends a blocked socket read; the task stops delivering anything at once.
        turn.token.cancel()
        if turn.task is not None:
            turn.task.cancel()

    def _release(self, turn: _Turn) -> bool:
        """The conversation is no longer busy with this turn; True if it was."""
        if self._by_conversation.get(turn.conversation_id) != turn.request_id:
            return False
        del self._by_conversation[turn.conversation_id]
        if not self._by_conversation:
            self._tick.stop()
        return True

    def _end_turn(self, turn: _Turn, status: MessageStatus, code: ErrorCode, message: str,
                  retry_at: float | None = None) -> None:
        """Close a turn that did not complete: idle now, both rows saved as ``status``."""
        turn.closing = status
        if self._release(turn):
            self.sig_busy_changed.emit(turn.conversation_id, False)
        if turn.answer is not None and turn.text and turn.emitted_len != len(turn.text):
            self.sig_stream_text.emit(turn.conversation_id, turn.answer.id, turn.text)
        if turn.answer is None:
            turn.pending_end = (status, code, message)  # written once the rows exist
            return
        self._write_end(turn, status, code, message, retry_at)

    def _write_end(self, turn: _Turn, status: MessageStatus, code: ErrorCode, message: str,
                   retry_at: float | None = None) -> None:
        assert turn.question_id is not None and turn.answer is not None
        turn.closing = status
        # The steps that arrived are kept with the attempt: they say how far it got.
        steps = turn.step_dicts()
        self._write_turn_end(turn, partial(
            self._repo.end_turn, turn.question_id, turn.answer.id, status=status,
            error_code=code.value, error_message=message, text=turn.text or None,
            steps=steps, retry_at=retry_at),
            unsaved_row(turn.answer, status=status, text=turn.text, reason=message,
                        steps=steps))
        log.info("turn %d ended: %s (%s)", turn.request_id, status.value, code.value)

    def _write_turn_end(self, turn: _Turn, job: Callable[[], TurnWrite],
                        shown: Message) -> None:
        """The write that ends a turn; on a full disk it is held with ``shown`` on screen."""
        self._submit_write(("end", turn.request_id), _Held(
            turn.conversation_id, job, partial(self._turn_written, turn.request_id),
            partial(self._turn_not_written, turn.request_id), shown))

    def _submit_write(self, key: tuple[str, int], held: _Held) -> None:
        """Run ``held.job`` on the storage runner. A full disk holds it (in memory, tried
        again later); anything else goes to its own failure handler."""
        def saved(result: object) -> None:
            self._writing.pop(held, None)
            was_held = self._release_held(key, held)
            held.on_saved(result)
            if was_held:
                log.info("a write held on a full disk is saved (%s)", key[0])
                if held.shown is not None:
                    self.sig_notice.emit(held.conversation_id, HELD_SAVED_TEXT)
                if not self._held:
                    self._held_retry.stop()
            self._held_answered()

        def failed(error: BaseException) -> None:
            self._writing.pop(held, None)
            held.in_flight = False
            if isinstance(error, DiskFullError) and not self._shut_down:
                self._hold(key, held, error)
                self._held_answered()
                return
            self._release_held(key, held)
            if isinstance(error, DiskFullError):
                _log_lost_at_quit(key[0], DISK_STILL_FULL)
            if not self._held:
                self._held_retry.stop()
            held.on_failed(error)
            self._held_answered()

        self._writing[held] = key[0]
        self._storage.submit(held.attempt, on_success=saved, on_error=failed)

    def log_writes_lost_at_quit(self) -> int:
        """Once the storage runner has drained at quit: log each write whose answer never
        reached the GUI thread and that was not saved (the disk still full, another error,
        or not finished), so a lost answer is in the log even when its last try ended after
        the event loop had stopped. Returns how many were logged."""
        lost = [(what, held.unsaved_because) for held, what in self._writing.items()
                if held.unsaved_because != ""]
        for what, why in lost:
            _log_lost_at_quit(what, why or "its write had not finished")
        return len(lost)

    def _held_answered(self) -> None:
        """A write answered: tell the views which conversations still wait for space, and
        the waiters of ``try_held_writes`` once no held write is being tried."""
        held_now = self.held_conversations()
        if held_now != self._held_announced:
            self._held_announced = held_now
            self.sig_held_changed.emit(held_now)
        if self._held_waiters and not any(h.in_flight for h in self._held.values()):
            self._call_held_waiters()

    @Slot()
    def _call_held_waiters(self) -> None:
        waiters, self._held_waiters = self._held_waiters, []
        for waiter in waiters:
            waiter()

    def _release_held(self, key: tuple[str, int], held: _Held) -> bool:
        """Forget ``held`` (not a newer write held under the same key); True if it was held."""
        if self._held.get(key) is not held:
            return False
        del self._held[key]
        return True

    def _hold(self, key: tuple[str, int], held: _Held, error: DiskFullError) -> None:
        previous = self._held.get(key)
        self._held[key] = held  # a newer write (a newer session id) replaces an older one
        self._held_folder = error.folder
        if previous is not None:
            return  # tried again, still no space: nothing new to say
        log.warning("disk full: holding a write in memory (%s)", key[0])
        if held.shown is not None:
            self._feed.messages([held.shown])
            self.sig_notice.emit(held.conversation_id,
                                 kept_in_memory_notice(error, HELD_IN_MEMORY_TEXT))
        if not self._held_retry.isActive():
            self._held_retry.start()

    def _turn_written(self, request_id: int, written: TurnWrite) -> None:
        turn = self._turns.pop(request_id, None)
        if turn is None:
            return
        self._feed.messages([written.question, written.answer])
        self._feed.conversations([turn.conversation_id])
        self.sig_turn_finished.emit(turn.conversation_id, written.answer.id,
                                    written.answer.status.value)

    def _turn_not_written(self, request_id: int, error: BaseException) -> None:
        turn = self._turns.pop(request_id, None)
        if turn is None or isinstance(error, NotFoundError):
            return  # the conversation was deleted meanwhile
        log.warning("turn %d: the end of the turn could not be saved: %s", request_id, error)
        self.sig_notice.emit(turn.conversation_id,
                             f"The end of this answer could not be saved: {error}")
        if turn.answer is not None:
            status = turn.closing or MessageStatus.FAILED
            self.sig_turn_finished.emit(turn.conversation_id, turn.answer.id, status.value)

    # ----------------------------------------------------------------- worker events

    def _on_event(self, request_id: int, event: object) -> None:
        from jockey_desktop.core import api

        turn = self._turns.get(request_id)
        if turn is None or turn.closing is not None:
            return  # stopped, superseded or shut down: a late event
        if turn.answer is None:
            turn.early.append(("event", event))  # it overtook the write's own result
            return
        if isinstance(event, api.TextDelta):
            if event.phase != "final_answer":
                # Narration of the agent's steps: never part of the answer, but the live
                # line and the Steps list show it as it arrives.
                self._on_commentary(turn, event)
                return
            turn.text += event.delta
            self._maybe_emit_text(turn)
        elif isinstance(event, (api.StepStarted, api.StepFinished)):
            self._on_step(turn, event.step, finished=isinstance(event, api.StepFinished))
        elif isinstance(event, api.WebSearchProgress):
            self._on_web_search(turn, event)
        elif isinstance(event, api.ResponseCreated):
            self._on_created(turn, event)
        elif isinstance(event, api.ResponseDone):
            self._on_response_done(turn, event.response)
        elif isinstance(event, api.RetryWait):
            self._on_retry_wait(turn, event)
        # KeepAlive and unknown events: nothing to show.

    @staticmethod
    def _step_key(item_id: str | None, output_index: int | None) -> str:
        return item_id or f"#{output_index}"

    def _on_step(self, turn: _Turn, step: api.Step, *, finished: bool) -> None:
        key = self._step_key(step.item_id, step.output_index)
        known = turn.steps.get(key)
        if not finished and known is not None and known.text and not step.text:
            # An item re-announced as started must not drop narration already streamed.
            step = dataclasses.replace(step, text=known.text)
        turn.steps[key] = step
        self._steps_changed(turn)

    def _on_commentary(self, turn: _Turn, event: api.TextDelta) -> None:
        from jockey_desktop.core import api

        key = self._step_key(event.item_id, event.output_index)
        known = turn.steps.get(key)
        if known is None:
            known = api.Step(kind="commentary", item_id=event.item_id,
                             output_index=event.output_index, status="in_progress", text="",
                             item_type="message")
        turn.steps[key] = dataclasses.replace(known, text=(known.text or "") + event.delta)
        self._steps_changed(turn)

    def _on_web_search(self, turn: _Turn, event: api.WebSearchProgress) -> None:
        known = turn.steps.get(self._step_key(event.item_id, event.output_index))
        if known is None:
            return  # progress of an item never announced: nothing to attach it to
        status = "completed" if event.state == "completed" else "in_progress"
        if known.status != status:
            turn.steps[self._step_key(event.item_id, event.output_index)] = \
                dataclasses.replace(known, status=status)
            self._steps_changed(turn)

    def _steps_changed(self, turn: _Turn) -> None:
        turn.steps_version += 1
        self._maybe_emit_text(turn)

    def _on_retry_wait(self, turn: _Turn, event: api.RetryWait) -> None:
        """The client waits before resending (429/503 with Retry-After): say so in the row's
        status line instead of an answer that seems stuck. Not saved: the wait is over long
        before anyone reopens the conversation."""
        if turn.answer is None:
            return
        log.info("turn %d: waiting %.1f s before resending (%s)", turn.request_id,
                 event.seconds, event.reason)
        shown = waiting_row(turn.answer, event.seconds, event.reason, self._wall_clock())
        if turn.text:
            shown.text = turn.text
        self._feed.messages([shown])

    def _on_created(self, turn: _Turn, event: api.ResponseCreated) -> None:
        session_id = event.session_id
        if not session_id or session_id == turn.session_id:
            return
        turn.session_id = session_id
        # Saved at once: a session id lost is a conversation that can never continue (on a
        # full disk it is held and tried again, like the end of the turn).
        self._submit_write(("session", turn.conversation_id), _Held(
            turn.conversation_id,
            partial(self._repo.set_session_id, turn.conversation_id, session_id),
            partial(self._session_saved, turn.conversation_id),
            partial(self._write_failed, "the session id")))

    def _session_saved(self, conversation_id: int, _conversation: object) -> None:
        self._feed.conversations([conversation_id])

    def _flush_failed(self, request_id: int, error: BaseException) -> None:
        """A partial flush failed: nothing to redo (the end of the turn carries the whole
        text), but a full disk is said once, while the answer keeps arriving."""
        self._write_failed("the partial answer", error)
        turn = self._turns.get(request_id)
        if (isinstance(error, DiskFullError) and turn is not None and turn.closing is None
                and not turn.told_disk_full):
            turn.told_disk_full = True
            self.sig_notice.emit(turn.conversation_id,
                                 kept_in_memory_notice(error, ARRIVING_IN_MEMORY_TEXT))

    @staticmethod
    def _write_failed(what: str, error: BaseException) -> None:
        if not isinstance(error, NotFoundError):
            log.warning("could not save %s: %s", what, error)

    def _maybe_emit_text(self, turn: _Turn) -> None:
        """Text and steps reach the view at most every ``emit_interval_ms``; the tick
        delivers what arrived in between."""
        now = self._clock()
        # The answer's first words are shown at once, even right after a steps update:
        # the wait for the first word is the one a user feels most.
        first_words = turn.emitted_len <= 0 and bool(turn.text)
        if first_words or now - turn.last_emit >= self._emit_interval_s:
            self._emit_text(turn, now)
        if not self._tick.isActive():
            # Delivers throttled text and the ~1 s flush even if no further delta arrives.
            self._tick.start()
        if now - turn.last_flush >= self._flush_interval_s:
            self._flush(turn, now)

    def _emit_text(self, turn: _Turn, now: float) -> None:
        turn.last_emit = now
        if turn.answer is None:
            return  # kept until the rows exist (the tick comes back for it)
        if turn.emitted_steps != turn.steps_version:
            turn.emitted_steps = turn.steps_version
            self.sig_stream_steps.emit(turn.conversation_id, turn.answer.id, turn.step_dicts())
        if turn.emitted_len != len(turn.text):
            turn.emitted_len = len(turn.text)
            if turn.text:  # steps may come first: no empty "text" for the view to apply
                self.sig_stream_text.emit(turn.conversation_id, turn.answer.id, turn.text)

    def _flush(self, turn: _Turn, now: float) -> None:
        turn.last_flush = now
        if turn.answer is not None and turn.flushed_len != len(turn.text):
            turn.flushed_len = len(turn.text)
            self._storage.submit(self._repo.flush_partial_text, turn.answer.id, turn.text,
                                 on_error=partial(self._flush_failed, turn.request_id))

    @Slot()
    def _on_tick(self) -> None:
        """Deliver coalesced text that arrived faster than the repaint interval."""
        now = self._clock()
        pending = False
        for turn in list(self._turns.values()):
            if turn.closing is not None:
                continue
            if turn.emitted_len != len(turn.text) or turn.emitted_steps != turn.steps_version:
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
        assert turn.question_id is not None and turn.answer is not None
        if self._release(turn):
            self.sig_busy_changed.emit(turn.conversation_id, False)
        text = response.text or turn.text
        citations = [c.to_dict() for c in response.citations]
        usage = response.usage
        session_id = response.session_id or turn.session_id
        turn.closing = MessageStatus.COMPLETE
        if text != turn.text or turn.emitted_len != len(text):
            # Throttled text may still be pending: the final text always reaches the view.
            self.sig_stream_text.emit(turn.conversation_id, turn.answer.id, text)
        if response.status == "incomplete":
            # A valid prefix of the answer: keep it as complete, but say it was cut short.
            why = ("it reached the length limit"
                   if response.incomplete_reason == "max_output_tokens"
                   else "the server stopped early")
            self.sig_notice.emit(turn.conversation_id,
                                 f"The answer was cut short ({why}); ask a follow-up for more.")
        # The response's own steps are complete; the streamed ones stand in when it has
        # none (a server that leaves them out of the final object). Web sources go with them.
        steps = [step.to_dict() for step in response.steps] or turn.step_dicts()
        steps = record_web_sources(steps, [w.to_dict() for w in response.web_sources])
        self._write_turn_end(turn, partial(
            self._repo.complete_turn, turn.question_id, turn.answer.id, text=text,
            citations=citations, steps=steps, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, response_id=response.id, session_id=session_id),
            unsaved_row(turn.answer, status=MessageStatus.COMPLETE, text=text,
                        citations=citations, steps=steps))
        log.info("turn %d complete (%d chars, %d citations)", turn.request_id, len(text),
                 len(citations))

    def _on_done(self, request_id: int) -> None:
        turn = self._turns.get(request_id)
        if turn is None or turn.closing is not None:
            return
        if turn.answer is None:
            turn.early.append(("done", None))
            return
        # The client always ends with ResponseDone or raises; ending silently is a bug there,
        # but the user must not be left with a row that streams forever.
        self._end_turn(turn, MessageStatus.FAILED, ErrorCode.PROTOCOL,
                       "The server's reply ended before the answer was complete.")

    def _on_error(self, request_id: int, exc: object) -> None:
        from jockey_desktop.core import api

        turn = self._turns.get(request_id)
        if turn is None or turn.closing is not None:
            return  # e.g. the RequestCancelledError of a stream the user already stopped
        if turn.answer is None:
            turn.early.append(("error", exc))
            return
        assert isinstance(exc, BaseException)
        if not isinstance(exc, api.JockeyError):
            log.error("turn %d crashed", request_id, exc_info=exc)
        if isinstance(exc, api.SessionLostError) and turn.session_id and not turn.text:
            self._recover_session(turn)
            return
        info = describe_error(exc, store_name=turn.store_name, now=self._wall_clock)
        self._end_turn(turn, MessageStatus.FAILED, info.code, info.message, info.retry_at)
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
        arrives in a fresh row below the seam. The conversation stays busy throughout.
        """
        assert turn.question_id is not None and turn.answer is not None
        log.info("turn %d: session lost; continuing in a new session", turn.request_id)
        self._turns.pop(turn.request_id, None)
        again = self._reserve(turn.conversation_id, turn.store_id, turn.store_name,
                              turn.question, None, turn.base_instructions,
                              selections=turn.selections, web_search=turn.web_search,
                              recovering=True)
        self._begin(again, _recover, self._repo, turn.question_id, turn.answer.id,
                    turn.session_id)
