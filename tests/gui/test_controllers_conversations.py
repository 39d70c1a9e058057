"""ConversationsController: writes on the storage runner announced through the change feed,
one re-read per changed row, per-conversation debounced drafts, search, export and copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.concurrency import TaskRunner, create_storage_runner
from jockey_desktop.controllers.changes import ChangeFeed
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.core.storage.models import Conversation, MessageStatus


class Stack:
    """The controller with the storage runner and change feed it writes through."""

    def __init__(self, qtbot: Any, repo: Any) -> None:
        self.qtbot = qtbot
        self.repo = repo
        self.runner: TaskRunner = create_storage_runner()
        self.feed = ChangeFeed()
        self.controller = ConversationsController(repo, self.runner, self.feed,
                                                  draft_delay_ms=100)

    def create(self, store_name: str = "Nature") -> Conversation:
        """A conversation created through the controller, once it is written."""
        made: list[Conversation] = []
        self.controller.create("ks_1", store_name, on_created=made.append)
        self.qtbot.waitUntil(lambda: bool(made), timeout=5_000)
        return made[0]

    def settle(self) -> None:
        """Until every queued write ran and its announcement went out."""
        self.qtbot.waitUntil(lambda: self.runner.pending_count == 0
                             and not self.feed.is_pending(), timeout=5_000)


@pytest.fixture
def stack(qtbot: Any, repo: Any) -> Iterator[Stack]:
    s = Stack(qtbot, repo)
    try:
        yield s
    finally:
        s.controller.shutdown()
        s.runner.drain(2000)
        s.runner.shutdown(2000)


def test_create_rename_pin_delete_are_written_then_announced_once(
    qtbot: Any, stack: Stack
) -> None:
    controller = stack.controller
    with qtbot.waitSignal(controller.sig_conversation_updated) as added:
        conversation = stack.create()
    assert added.args[0].conversation.id == conversation.id
    assert conversation.store_name == "Nature" and conversation.title_is_auto

    with qtbot.waitSignal(controller.sig_conversation_updated) as updated:
        controller.rename(conversation.id, "  Birds   of prey ")
    assert updated.args[0].conversation.title == "Birds of prey"
    assert not updated.args[0].conversation.title_is_auto

    with qtbot.waitSignal(controller.sig_conversation_updated) as updated:
        controller.set_pinned(conversation.id, True)
    assert updated.args[0].conversation.pinned

    other = stack.create()
    assert [s.conversation.id for s in controller.summaries()] == [conversation.id, other.id]

    with qtbot.waitSignal(controller.sig_conversation_removed) as removed:
        controller.delete(conversation.id)
    assert removed.args == [conversation.id]
    assert controller.summary(conversation.id) is None
    assert [s.conversation.id for s in controller.summaries()] == [other.id]


def test_changes_in_one_pass_are_read_once_per_row(
    qtbot: Any, stack: Stack, repo: Any
) -> None:
    a, b = stack.create(), stack.create()
    stack.settle()
    reads: list[int] = []
    real = repo.get_summary

    def counting(conversation_id: int) -> Any:
        reads.append(conversation_id)
        return real(conversation_id)

    repo.get_summary = counting
    updated: list[int] = []
    stack.controller.sig_conversation_updated.connect(
        lambda summary: updated.append(summary.conversation.id))
    for _ in range(3):  # three writers in one pass of the event loop
        stack.feed.conversations([a.id, b.id])
    stack.settle()
    assert sorted(reads) == [a.id, b.id]
    assert sorted(updated) == [a.id, b.id]


def test_summary_reports_message_count_and_last_status(stack: Stack, repo: Any) -> None:
    conversation = stack.create()
    question, answer = repo.start_turn(conversation.id, "Hello?")
    summary = stack.controller.summary(conversation.id)
    assert summary.message_count == 2 and summary.last_status == MessageStatus.STREAMING
    repo.end_turn(question.id, answer.id, status=MessageStatus.FAILED, error_code="server",
                  error_message="boom")
    assert stack.controller.summary(conversation.id).last_status == MessageStatus.FAILED


def test_drafts_are_debounced_and_never_cross_conversations(
    qtbot: Any, stack: Stack, repo: Any
) -> None:
    controller = stack.controller
    a, b = stack.create(), stack.create()
    controller.save_draft(a.id, "half a question for A")
    controller.save_draft(b.id, "draft of B")
    controller.save_draft(a.id, "a whole question for A")
    # Not written yet (debounced), but readable through the controller.
    assert repo.get_conversation(a.id).draft == ""
    assert controller.draft(a.id) == "a whole question for A"
    assert controller.conversation(b.id).draft == "draft of B"
    # Each draft is its own write on the storage runner: wait for both.
    qtbot.waitUntil(lambda: repo.get_conversation(a.id).draft != ""
                    and repo.get_conversation(b.id).draft != "", timeout=10_000)
    assert repo.get_conversation(a.id).draft == "a whole question for A"
    assert repo.get_conversation(b.id).draft == "draft of B"


def test_pending_drafts_are_queued_on_shutdown_and_written(stack: Stack, repo: Any) -> None:
    a = stack.create()
    stack.controller.save_draft(a.id, "unsent words")
    stack.controller.shutdown()
    assert stack.runner.drain(5000)
    assert repo.get_conversation(a.id).draft == "unsent words"


def test_a_deleted_conversations_draft_does_not_stop_the_others(
    stack: Stack, repo: Any
) -> None:
    a, b = stack.create(), stack.create()
    stack.controller.save_draft(a.id, "for a")
    stack.controller.save_draft(b.id, "for b")
    repo.delete_conversation(a.id)  # gone behind the controller's back
    stack.controller.flush_drafts()
    stack.settle()
    assert repo.get_conversation(b.id).draft == "for b"


def test_a_failed_write_is_reported_with_what_could_not_be_done(
    qtbot: Any, stack: Stack, repo: Any
) -> None:
    conversation = stack.create()
    repo.delete_conversation(conversation.id)  # gone behind the controller's back
    with qtbot.waitSignal(stack.controller.sig_error, timeout=5000) as error:
        stack.controller.rename(conversation.id, "New title")
    assert error.args[0].startswith("Could not rename the conversation")


def test_search_runs_off_the_gui_thread_and_drops_superseded_results(
    qtbot: Any, stack: Stack, repo: Any
) -> None:
    controller = stack.controller
    conversation = stack.create()
    repo.add_user_message(conversation.id, "Where do the falcons hunt?")
    results: list[tuple[str, Any]] = []
    controller.sig_search_results.connect(lambda q, hits: results.append((q, hits)))
    controller.search("fal")
    controller.search("falcons")
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    qtbot.wait(100)
    assert [q for q, _hits in results] == ["falcons"]  # "fal" was superseded
    assert results[0][1] and results[0][1][0].conversation_id == conversation.id
    results.clear()
    controller.search("   ")
    assert results == [("   ", [])]


def _answered(stack: Stack, repo: Any) -> Conversation:
    conversation = stack.create()
    question, answer = repo.start_turn(conversation.id, "What hunts at dusk?")
    repo.complete_turn(question.id, answer.id, text="Owls [1].")
    return conversation


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_export_writes_a_file_off_the_gui_thread(
    qtbot: Any, stack: Stack, repo: Any, tmp_path: Path, fmt: str
) -> None:
    conversation = _answered(stack, repo)
    target = tmp_path / f"export.{fmt}"
    with qtbot.waitSignal(stack.controller.sig_export_done, timeout=5000) as done:
        stack.controller.export([conversation.id], fmt, str(target))
    assert done.args == [str(target)]
    text = target.read_text(encoding="utf-8")
    assert "What hunts at dusk?" in text and "Owls [1]." in text
    if fmt == "json":
        json.loads(text)


def test_copy_renders_the_conversation_as_the_markdown_export_does(
    qtbot: Any, stack: Stack, repo: Any, tmp_path: Path
) -> None:
    conversation = _answered(stack, repo)
    with qtbot.waitSignal(stack.controller.sig_markdown_ready, timeout=5000) as ready:
        stack.controller.copy_markdown(conversation.id)
    assert ready.args[0] == conversation.id
    target = tmp_path / "export.md"
    with qtbot.waitSignal(stack.controller.sig_export_done, timeout=5000):
        stack.controller.export([conversation.id], "markdown", str(target))
    assert ready.args[1] == target.read_text(encoding="utf-8")  # one rendering, not two


def test_export_failure_and_unknown_format_are_reported(
    qtbot: Any, stack: Stack, tmp_path: Path
) -> None:
    conversation = stack.create()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(stack.controller.sig_export_failed, timeout=5000) as error:
        stack.controller.export([conversation.id], "markdown", str(blocker / "x.md"))
    # The file is named, with why and what to do.
    assert error.args[0] == (f"Nothing was exported: x.md could not be saved: part of the "
                             f"folder path {blocker} is a file, not a folder. Choose another "
                             "folder and save again.")
    with qtbot.waitSignal(stack.controller.sig_error) as error:
        stack.controller.export([conversation.id], "pdf", str(tmp_path / "x.pdf"))
    assert "pdf" in error.args[0]
