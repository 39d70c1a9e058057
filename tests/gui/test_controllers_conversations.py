"""ConversationsController: CRUD signals, per-conversation debounced drafts, search, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.concurrency import create_storage_runner
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.core.storage.models import MessageStatus
from tests.gui import test_controllers_support as support

repo = support.repo


@pytest.fixture
def controller(qtbot: Any, repo: Any) -> Iterator[ConversationsController]:
    runner = create_storage_runner()
    ctl = ConversationsController(repo, runner, draft_delay_ms=100)
    try:
        yield ctl
    finally:
        ctl.shutdown()
        runner.shutdown(2000)


def test_create_rename_pin_delete_emit_summaries(
    qtbot: Any, controller: ConversationsController
) -> None:
    with qtbot.waitSignal(controller.sig_conversation_added) as added:
        conversation = controller.create("ks_1", "Nature")
    assert added.args[0].conversation.id == conversation.id
    assert conversation.store_name == "Nature" and conversation.title_is_auto

    with qtbot.waitSignal(controller.sig_conversation_updated) as updated:
        controller.rename(conversation.id, "  Birds   of prey ")
    assert updated.args[0].conversation.title == "Birds of prey"
    assert not updated.args[0].conversation.title_is_auto

    with qtbot.waitSignal(controller.sig_conversation_updated) as updated:
        controller.set_pinned(conversation.id, True)
    assert updated.args[0].conversation.pinned

    other = controller.create("ks_1", "Nature")
    assert [s.conversation.id for s in controller.summaries()] == [conversation.id, other.id]

    with qtbot.waitSignal(controller.sig_conversation_removed) as removed:
        controller.delete(conversation.id)
    assert removed.args == [conversation.id]
    assert controller.summary(conversation.id) is None
    assert [s.conversation.id for s in controller.summaries()] == [other.id]


def test_summary_reports_message_count_and_last_status(
    controller: ConversationsController, repo: Any
) -> None:
    conversation = controller.create("ks_1", "Nature")
    question = repo.add_user_message(conversation.id, "Hello?")
    answer = repo.start_assistant_message(conversation.id, question.id)
    summary = controller.summary(conversation.id)
    assert summary.message_count == 2 and summary.last_status == MessageStatus.STREAMING
    repo.fail_message(answer.id, status=MessageStatus.FAILED, error_code="server",
                      error_message="boom")
    assert controller.summary(conversation.id).last_status == MessageStatus.FAILED


def test_drafts_are_debounced_and_never_cross_conversations(
    qtbot: Any, controller: ConversationsController, repo: Any
) -> None:
    a = controller.create("ks_1", "Nature")
    b = controller.create("ks_1", "Nature")
    controller.save_draft(a.id, "half a question for A")
    controller.save_draft(b.id, "draft of B")
    controller.save_draft(a.id, "a whole question for A")
    # Not written yet (debounced), but readable through the controller.
    assert repo.get_conversation(a.id).draft == ""
    assert controller.draft(a.id) == "a whole question for A"
    assert controller.conversation(b.id).draft == "draft of B"
    qtbot.waitUntil(lambda: repo.get_conversation(a.id).draft != "", timeout=2000)
    assert repo.get_conversation(a.id).draft == "a whole question for A"
    assert repo.get_conversation(b.id).draft == "draft of B"


def test_pending_drafts_are_written_on_shutdown(
    controller: ConversationsController, repo: Any
) -> None:
    a = controller.create("ks_1", "Nature")
    controller.save_draft(a.id, "unsent words")
    controller.shutdown()
    assert repo.get_conversation(a.id).draft == "unsent words"


def test_a_deleted_conversations_draft_does_not_stop_the_others(
    controller: ConversationsController, repo: Any
) -> None:
    a = controller.create("ks_1", "Nature")
    b = controller.create("ks_1", "Nature")
    controller.save_draft(a.id, "for a")
    controller.save_draft(b.id, "for b")
    repo.delete_conversation(a.id)  # gone behind the controller's back
    controller.flush_drafts()
    assert repo.get_conversation(b.id).draft == "for b"


def test_search_runs_off_the_gui_thread_and_drops_superseded_results(
    qtbot: Any, controller: ConversationsController, repo: Any
) -> None:
    conversation = controller.create("ks_1", "Nature")
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


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_export_writes_a_file_off_the_gui_thread(
    qtbot: Any, controller: ConversationsController, repo: Any, tmp_path: Path, fmt: str
) -> None:
    conversation = controller.create("ks_1", "Nature")
    question = repo.add_user_message(conversation.id, "What hunts at dusk?")
    answer = repo.start_assistant_message(conversation.id, question.id)
    repo.finish_message(answer.id, text="Owls [1].", status=MessageStatus.COMPLETE)
    target = tmp_path / f"export.{fmt}"
    with qtbot.waitSignal(controller.sig_export_done, timeout=5000) as done:
        controller.export([conversation.id], fmt, str(target))
    assert done.args == [str(target)]
    text = target.read_text(encoding="utf-8")
    assert "What hunts at dusk?" in text and "Owls [1]." in text
    if fmt == "json":
        json.loads(text)


def test_export_failure_and_unknown_format_are_reported(
    qtbot: Any, controller: ConversationsController, tmp_path: Path
) -> None:
    conversation = controller.create("ks_1", "Nature")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(controller.sig_error, timeout=5000) as error:
        controller.export([conversation.id], "markdown", str(blocker / "x.md"))
    assert error.args[0].startswith("Export failed")
    with qtbot.waitSignal(controller.sig_error) as error:
        controller.export([conversation.id], "pdf", str(tmp_path / "x.pdf"))
    assert "pdf" in error.args[0]
