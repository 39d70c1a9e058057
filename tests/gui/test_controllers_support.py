"""Shared fixtures of the controller tests, plus tests of the controllers' pure helpers.

The fixtures build the real stack: a real repository in tmp, the real client over loopback
to a real sandbox, and controllers on real thread pools. Other controller test modules
import the fixtures from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.controllers import errors as codes
from jockey_desktop.controllers.chat import MAX_INSTRUCTIONS_CHARS, build_recap
from jockey_desktop.controllers.errors import describe_error
from jockey_desktop.core import api

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Any]:
    """A real repository in tmp."""
    from jockey_desktop.core.storage import open_repository

    repository = open_repository(tmp_path / "db" / "conversations.sqlite3", tmp_path / "backups")
    try:
        yield repository
    finally:
        repository.close()


def _no_sleep(_seconds: float) -> None:
    """Retry back-off without waiting (the retry policy itself is the client's tests' job)."""


def make_client(server: Any, **options: Any) -> Any:
    """A real client for a sandbox server; retries happen without waiting."""
    from jockey_desktop.sandbox import SANDBOX_API_KEY

    options.setdefault("sleep", _no_sleep)
    return api.JockeyClient(SANDBOX_API_KEY, server.base_url, **options)


def ready_store(client: Any) -> Any:
    """The first knowledge store with ready items."""
    for store in client.list_knowledge_stores():
        if any(item.is_ready for item in client.list_items(store.id)):
            return store
    raise AssertionError("the sandbox has no store with ready items")


def not_ready_store(client: Any) -> Any:
    """A store with no ready items (the sandbox ships one)."""
    for store in client.list_knowledge_stores():
        if not any(item.is_ready for item in client.list_items(store.id)):
            return store
    raise AssertionError("the sandbox has no store without ready items")


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Iterator[Any]:
    """A sandbox that streams one word every 20 ms: a turn lasts a few seconds."""
    from jockey_desktop.sandbox import Pace, SandboxServer

    server = SandboxServer(
        state_dir=tmp_path / "slow-sandbox-state",
        pace=Pace(first_token_delay=0.0, delta_interval=0.02, words_per_delta=1),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


class ChatHarness:
    """A ChatController on the real stack, with every signal recorded."""

    def __init__(self, qtbot: Any, repo: Any, client: Any) -> None:
        from jockey_desktop.controllers.chat import ChatController

        self.qtbot = qtbot
        self.repo = repo
        self.client = client
        self.chat = ChatController(repo, client)
        self.store = ready_store(client)
        self.finished: list[tuple[int, int, str]] = []
        self.stream: list[tuple[int, int, str]] = []
        self.added: list[tuple[int, Any]] = []
        self.changed: list[tuple[int, Any]] = []
        self.notices: list[tuple[int, str]] = []
        self.busy: list[tuple[int, bool]] = []
        self.chat.sig_turn_finished.connect(self._on_finished)
        self.chat.sig_stream_text.connect(self._on_stream)
        self.chat.sig_message_added.connect(self._on_added)
        self.chat.sig_message_changed.connect(self._on_changed)
        self.chat.sig_notice.connect(self._on_notice)
        self.chat.sig_busy_changed.connect(self._on_busy)

    def _on_finished(self, cid: int, mid: int, status: str) -> None:
        self.finished.append((cid, mid, status))

    def _on_stream(self, cid: int, mid: int, text: str) -> None:
        self.stream.append((cid, mid, text))

    def _on_added(self, cid: int, message: Any) -> None:
        self.added.append((cid, message))

    def _on_changed(self, cid: int, message: Any) -> None:
        self.changed.append((cid, message))

    def _on_notice(self, cid: int, text: str) -> None:
        self.notices.append((cid, text))

    def _on_busy(self, cid: int, busy: bool) -> None:
        self.busy.append((cid, busy))

    def new_conversation(self, store: Any = None) -> Any:
        store = store or self.store
        return self.repo.create_conversation(store.id, store.name)

    def finished_count(self, conversation_id: int) -> int:
        return sum(1 for cid, _mid, _status in self.finished if cid == conversation_id)

    def ask(self, conversation_id: int, text: str, timeout_ms: int = 15_000) -> Any:
        """Send and wait for the turn to end; returns the final assistant Message."""
        before = self.finished_count(conversation_id)
        assert self.chat.send(conversation_id, text) is None
        self.qtbot.waitUntil(lambda: self.finished_count(conversation_id) > before,
                             timeout=timeout_ms)
        _cid, mid, _status = [f for f in self.finished if f[0] == conversation_id][-1]
        return self.repo.get_message(mid)

    def assistant_rows(self, conversation_id: int) -> list[Any]:
        from jockey_desktop.core.storage.models import Role

        return [m for m in self.repo.list_messages(conversation_id) if m.role == Role.ASSISTANT]


@pytest.fixture
def harness(qtbot: Any, repo: Any, sandbox: Any) -> Iterator[ChatHarness]:
    """A chat harness on the instant-pace sandbox."""
    client = make_client(sandbox)
    h = ChatHarness(qtbot, repo, client)
    try:
        yield h
    finally:
        h.chat.shutdown(1.5)
        client.close()


@pytest.fixture
def slow_harness(qtbot: Any, repo: Any, slow_sandbox: Any) -> Iterator[ChatHarness]:
    """A chat harness on the slow sandbox (for stop, concurrency and quit tests)."""
    client = make_client(slow_sandbox)
    h = ChatHarness(qtbot, repo, client)
    try:
        yield h
    finally:
        h.chat.shutdown(1.5)
        client.close()


# --------------------------------------------------------------------------- pure helpers


def test_recap_keeps_recent_pairs_within_the_instructions_limit() -> None:
    pairs = [(f"question {i} " + "q" * 500, f"answer {i} " + "a" * 900) for i in range(20)]
    recap = build_recap(pairs)
    assert recap is not None
    assert len(recap) <= MAX_INSTRUCTIONS_CHARS
    assert "question 19" in recap  # the most recent turn is always there
    assert "question 13" not in recap  # at most six pairs
    assert recap.index("question 18") < recap.index("question 19")


def test_recap_of_nothing_is_none_and_short_history_is_whole() -> None:
    assert build_recap([]) is None
    recap = build_recap([("What are the themes?", "Teamwork [1] and speed [2].")])
    assert recap is not None
    assert "What are the themes?" in recap and "Teamwork [1] and speed [2]." in recap


@pytest.mark.parametrize(
    ("error", "code", "needle"),
    [
        (api.AuthenticationError("bad key", status=401), codes.AUTH, "open Settings"),
        (api.ForbiddenError("plan", status=403), codes.FORBIDDEN, "not allowed"),
        (api.RateLimitedError("slow down", status=429, retry_after=7), codes.RATE_LIMITED,
         "(in 7 s)"),
        (api.StoreNotFoundError("gone", status=404), codes.STORE_NOT_FOUND, "no longer exists"),
        (api.StoreNotReadyError("none ready", status=400), codes.STORE_NOT_READY, "indexing"),
        (api.SessionStoreMismatchError("other", status=400), codes.SESSION_STORE_MISMATCH,
         "new conversation"),
        (api.InvalidRequestError("bad field", status=400), codes.INVALID_REQUEST, "refused"),
        (api.NetworkError("refused"), codes.NETWORK, "Can't reach the server"),
        (api.RequestTimedOutError("idle"), codes.TIMEOUT, "took too long"),
        (api.ServerError("boom", status=500), codes.SERVER, "server failed"),
        (api.ProtocolError("junk"), codes.PROTOCOL, "could not be understood"),
        (api.SessionLostError("expired", status=404), codes.SESSION_LOST, "session"),
        (api.RequestCancelledError(), codes.CANCELLED, "Stopped"),
        (ValueError("bug"), codes.UNKNOWN, "went wrong"),
    ],
)
def test_each_error_class_has_its_own_code_and_sentence(
    error: BaseException, code: str, needle: str
) -> None:
    info = describe_error(error, store_name="Nature")
    assert info.code == code
    assert needle in info.message


def test_rate_limit_message_says_when() -> None:
    info = describe_error(api.RateLimitedError("x", retry_after=7), now=lambda: 0.0)
    assert info.message.startswith("Rate limited — try again after ")
    assert info.message.endswith("(in 7 s).")
    no_hint = describe_error(api.RateLimitedError("x"))
    assert "wait a minute" in no_hint.message
