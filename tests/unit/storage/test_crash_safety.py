"""Crash safety (SIGKILL at random moments) and two processes on one database."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jockey_desktop.core.storage import MessageStatus, open_repository

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 22
PER_WRITER = 150


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, bufsize=1,
    )


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    db, backups = tmp_path / "conversations.sqlite3", tmp_path / "backups"
    rng = random.Random(1234)
    sessions: dict[int, str] = {}
    users: dict[int, int] = {}  # user message id -> conversation id
    flushed: dict[int, int] = {}  # reply id -> acked text length
    finished: set[int] = set()
    ended: set[int] = set()
    chunks: dict[int, set[int]] = {}  # upload id -> acked chunk indexes
    for round_no in range(KILLS):
        proc = _spawn(str(db), str(backups), "crash", str(round_no))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ack open", proc.stderr.read()  # type: ignore
        lines = []
        for _ in range(rng.randint(0, 60)):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        time.sleep(rng.uniform(0, 0.004))  # land the kill anywhere inside the next write
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        for line in [*lines, *rest.splitlines()]:  # acks still in the pipe count too
            parts = line.split()
            if parts[:2] == ["ack", "session"]:
                sessions[int(parts[2])] = parts[3]
            elif parts[:2] == ["ack", "user"]:
                users[int(parts[2])] = int(parts[3])
            elif parts[:2] == ["ack", "flush"]:
                flushed[int(parts[2])] = max(flushed.get(int(parts[2]), 0), int(parts[3]))
            elif parts[:2] == ["ack", "finish"]:
                finished.add(int(parts[2]))
            elif parts[:2] == ["ack", "ended"]:
                ended.add(int(parts[2]))
            elif parts[:2] == ["ack", "upload"]:
                chunks.setdefault(int(parts[2]), set())
            elif parts[:2] == ["ack", "chunk"]:
                chunks.setdefault(int(parts[2]), set()).add(int(parts[3]))

        repo = open_repository(db, backups)
        try:
            report = repo.open_report
            assert report.unclean_shutdown and report.quick_check_ok is True
            assert report.moved_aside is None
            assert repo.integrity_check()
            for conversation_id, session in sessions.items():
                conv = repo.get_conversation(conversation_id)
                assert conv is not None and conv.session_id == session
            for message_id, conversation_id in users.items():
                message = repo.get_message(message_id)
                assert message is not None and message.conversation_id == conversation_id
            for message_id, length in flushed.items():
                message = repo.get_message(message_id)
                assert message is not None and len(message.text) >= length
                assert message.status in (MessageStatus.COMPLETE, MessageStatus.INTERRUPTED,
                                          MessageStatus.CANCELLED)
            for message_id in finished:
                message = repo.get_message(message_id)
                assert message is not None and message.status is MessageStatus.COMPLETE
                assert message.text.endswith("END")
                question = repo.get_message(message.reply_to or 0)
                assert question is not None and question.status is MessageStatus.COMPLETE
            for message_id in ended:
                message = repo.get_message(message_id)
                assert message is not None and message.status is MessageStatus.CANCELLED
            # Nothing is left in flight, and no question stays pending beside its answer.
            assert not [m for s in repo.list_conversations()
                        for m in repo.list_messages(s.conversation.id)
                        if m.status in (MessageStatus.STREAMING, MessageStatus.PENDING)]
            queue = {u.id: u for u in repo.list_uploads()}
            for upload_id, indexes in chunks.items():
                assert upload_id in queue
                assert {c[0] for c in queue[upload_id].chunks} >= indexes
        finally:
            repo.close()
    assert len(sessions) >= KILLS // 2  # the kills really landed mid-run, not all at start
    assert any(chunks.values())  # and between upload-queue writes too


@pytest.mark.slow
def test_two_processes_on_one_database(tmp_path: Path) -> None:
    db, backups = tmp_path / "conversations.sqlite3", tmp_path / "backups"
    open_repository(db, backups).close()
    procs = [_spawn(str(db), str(backups), "writer", tag, str(PER_WRITER))
             for tag in ("alpha", "beta")]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.splitlines()[-1] == "ack done"
    repo = open_repository(db, backups)
    try:
        assert repo.integrity_check()
        titles = {s.conversation.title for s in repo.list_conversations()}
        assert titles == {f"{tag}-{i}" for tag in ("alpha", "beta") for i in range(PER_WRITER)}
        for summary in repo.list_conversations():
            assert summary.message_count == 2
            assert summary.conversation.session_id == summary.conversation.title.replace(
                "-", "-sess-")
        assert len(repo.search("alpha answer", limit=1000)) == PER_WRITER
    finally:
        repo.close()
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
