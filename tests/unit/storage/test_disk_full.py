"""A full disk: every write raises DiskFullError naming the database folder, nothing is
half-written, and writing works again once there is space."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jockey_desktop.core.storage import DiskFullError, MessageStatus, Repository, StorageError
from tests.helpers.private_mount import mount_unavailable_reason, run_with_private_mounts

CHILD = Path(__file__).with_name("disk_full_child.py")


def _cap_database_at_its_size(repo: Repository) -> None:
    """Inject SQLITE_FULL: SQLite refuses any write that needs a new page (as on a full
    disk) once the database may not grow past its current page count."""
    conn = repo._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def _uncap(repo: Repository) -> None:
    repo._connection().execute("PRAGMA max_page_count = 1073741823")


def test_injected_sqlite_full_raises_disk_full_and_writes_nothing(repo: Repository) -> None:
    conv = repo.create_conversation("s", "S")
    question, answer = repo.start_turn(conv.id, "asked before")
    repo.flush_partial_text(answer.id, "partial")
    before = (repo.list_messages(conv.id), repo.get_conversation(conv.id))
    big = "a long answer that needs new pages " * 1000
    _cap_database_at_its_size(repo)
    writes = {
        "start_turn": lambda: repo.start_turn(conv.id, big),
        "flush_partial_text": lambda: repo.flush_partial_text(answer.id, big),
        "complete_turn": lambda: repo.complete_turn(question.id, answer.id, text=big),
        "end_turn": lambda: repo.end_turn(question.id, answer.id,
                                          status=MessageStatus.FAILED, error_code="x",
                                          error_message="x", text=big),
        "set_draft": lambda: repo.set_draft(conv.id, big),
    }
    for name, write in writes.items():
        with pytest.raises(DiskFullError) as info:
            write()
        assert isinstance(info.value, StorageError), name
        message = str(info.value)
        assert message.startswith(f"The disk holding {repo.db_path.parent} is full"), name
        assert big[:20] not in message  # never the text itself
    assert (repo.list_messages(conv.id), repo.get_conversation(conv.id)) == before
    _uncap(repo)
    assert repo.complete_turn(question.id, answer.id, text=big).answer.text == big


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path: Path) -> None:
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    reason = mount_unavailable_reason(mount_point)
    if reason is not None:
        pytest.skip(reason)
    # A 2 MB disk in a mount namespace of the child's own: nothing outside sees it.
    run = run_with_private_mounts(f"mount -t tmpfs -o size=2m tmpfs '{mount_point}'",
                                  [sys.executable, str(CHILD), str(mount_point)])
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for name, outcome in report["results"].items():
        folder = mount_point / ("other" if name == "open_repository" else "data")
        assert outcome.startswith(f"DiskFullError: The disk holding {folder} is full"), (
            name, outcome)
    # Nothing half-written: the turn in flight is as it was, no new rows, no partial backup.
    assert report["unchanged"]["messages"] == [
        ["the first question", "complete"], ["the first answer", "complete"],
        ["asked before the disk filled", "pending"], ["a partial answer", "streaming"]]
    assert report["unchanged"]["backups"] == [] and report["unchanged"]["partial_files"] == []
    # Space back: the answer kept in memory is saved and asking works again.
    assert report["after_status"] == report["complete"] and report["after_text_ok"]
    assert report["again"] == "after space returned" and report["integrity"]
