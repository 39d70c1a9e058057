"""The chat on the real stack for controller tests: a repository in tmp, the real client over
loopback to a real sandbox, the storage runner and change feed the app uses, and a
ChatController on real thread pools with every signal recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core import api
from jockey_desktop.core.changes import Changes
from jockey_desktop.core.storage.models import Message, Role


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


class ChatStack:
    """The storage runner and change feed a ChatController writes through, with every
    change the feed announced recorded."""

    def __init__(self) -> None:
        from jockey_desktop.concurrency import create_storage_runner
        from jockey_desktop.controllers.changes import ChangeFeed

        self.storage = create_storage_runner()
        self.feed = ChangeFeed()
        self.changes: list[Changes] = []
        self.feed.sig_changed.connect(self.changes.append)

    def shown(self, conversation_id: int | None = None) -> list[Message]:
        """Every message record the feed announced (of one conversation), in order."""
        return [m for c in self.changes for m in c.messages
                if conversation_id is None or m.conversation_id == conversation_id]

    def close(self) -> None:
        """Let queued writes finish, then stop the runner."""
        self.storage.drain(5000)
        self.storage.shutdown(1000)


class ChatHarness(ChatStack):
    """A ChatController on the real stack, with every signal recorded."""

    def __init__(self, qtbot: Any, repo: Any, client: Any, **options: Any) -> None:
        from jockey_desktop.controllers.chat import ChatController

        super().__init__()
        self.qtbot = qtbot
        self.repo = repo
        self.client = client
        self.chat = ChatController(repo, self.storage, self.feed, client, **options)
        self.store = ready_store(client)
        self.finished: list[tuple[int, int, str]] = []
        self.stream: list[tuple[int, int, str]] = []
        self.notices: list[tuple[int, str]] = []
        self.refused: list[tuple[int, str]] = []
        self.busy: list[tuple[int, bool]] = []
        self.chat.sig_turn_finished.connect(self._on_finished)
        self.chat.sig_stream_text.connect(self._on_stream)
        self.chat.sig_notice.connect(self._on_notice)
        self.chat.sig_refused.connect(self._on_refused)
        self.chat.sig_busy_changed.connect(self._on_busy)

    def _on_finished(self, cid: int, mid: int, status: str) -> None:
        self.finished.append((cid, mid, status))

    def _on_stream(self, cid: int, mid: int, text: str) -> None:
        self.stream.append((cid, mid, text))

    def _on_notice(self, cid: int, text: str) -> None:
        self.notices.append((cid, text))

    def _on_refused(self, cid: int, text: str) -> None:
        self.refused.append((cid, text))

    def _on_busy(self, cid: int, busy: bool) -> None:
        self.busy.append((cid, busy))

    def new_conversation(self, store: Any = None) -> Any:
        """A conversation on ``store`` (default: the first ready one), written directly."""
        store = store or self.store
        return self.repo.create_conversation(store.id, store.name)

    def finished_count(self, conversation_id: int) -> int:
        """How many turns of the conversation have ended and been saved."""
        return sum(1 for cid, _mid, _status in self.finished if cid == conversation_id)

    def wait_finished(self, conversation_id: int, count: int, timeout_ms: int = 15_000) -> None:
        """Until ``count`` turns of the conversation have ended and been saved."""
        self.qtbot.waitUntil(lambda: self.finished_count(conversation_id) >= count,
                             timeout=timeout_ms)

    def ask(self, conversation_id: int, text: str, timeout_ms: int = 15_000) -> Any:
        """Send and wait for the turn to end; returns the final answer Message."""
        before = self.finished_count(conversation_id)
        assert self.chat.send(conversation_id, text) is None
        self.wait_finished(conversation_id, before + 1, timeout_ms)
        _cid, mid, _status = [f for f in self.finished if f[0] == conversation_id][-1]
        return self.repo.get_message(mid)

    def wait_streaming(self, conversation_id: int, timeout_ms: int = 10_000) -> Message:
        """Until the conversation's answer row is saved and text is arriving; returns it."""
        self.qtbot.waitUntil(lambda: any(cid == conversation_id for cid, _m, _t in self.stream),
                             timeout=timeout_ms)
        return next(m for m in reversed(self.shown(conversation_id))
                    if m.role == Role.ASSISTANT)

    def assistant_rows(self, conversation_id: int) -> list[Any]:
        """The saved answers of a conversation, oldest first."""
        return [m for m in self.repo.list_messages(conversation_id) if m.role == Role.ASSISTANT]

    def close(self) -> None:
        """Shut the chat down (partial text saved), then the storage runner."""
        self.chat.shutdown(1.5)
        super().close()


def _harness(qtbot: Any, repo: Any, server: Any) -> Iterator[ChatHarness]:
    client = make_client(server)
    h = ChatHarness(qtbot, repo, client)
    try:
        yield h
    finally:
        h.close()
        client.close()


@pytest.fixture
def harness(qtbot: Any, repo: Any, sandbox: Any) -> Iterator[ChatHarness]:
    """A chat harness on the instant-pace sandbox."""
    yield from _harness(qtbot, repo, sandbox)


@pytest.fixture
def slow_harness(qtbot: Any, repo: Any, slow_sandbox: Any) -> Iterator[ChatHarness]:
    """A chat harness on the slow sandbox (for stop, concurrency and quit tests)."""
    yield from _harness(qtbot, repo, slow_sandbox)
