"""Schema migrations from the v1, v2 and v3 databases, failing steps, too-new databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jockey_desktop.core.storage import (
    SCHEMA_VERSION,
    DatabaseTooNewError,
    MessageStatus,
    MigrationError,
    Role,
    open_repository,
    schema,
)
from jockey_desktop.core.storage import database as db
from jockey_desktop.core.storage.export import export_markdown
from tests.fixtures import make_v2_db as v2
from tests.helpers.storage_fixtures import (
    V1_FIXTURE,
    V2_FIXTURE,
    V3_UPLOAD_ROWS,
    digest,
    raw_query,
    user_version,
    v3_database,
)

_digest = digest


def _raw_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    convs = raw_query(path, "SELECT id, uid, title, store_id, store_name, session_id, "
                            "created_at FROM conversations ORDER BY id")
    msgs = raw_query(path, "SELECT id, uid, conversation_id, role, text, reply_to, session_id, "
                           "citations, input_tokens FROM messages ORDER BY id")
    return convs, msgs


def test_fixtures_are_at_their_versions() -> None:
    assert user_version(V1_FIXTURE) == 1
    assert user_version(V2_FIXTURE) == 2


def test_migrates_v1_fixture_keeping_every_row(v1_copy: Path, backup_dir: Path) -> None:
    before_convs, before_msgs = _raw_rows(v1_copy)
    assert len(before_convs) == 3 and len(before_msgs) == 12
    repo = open_repository(v1_copy, backup_dir)
    try:
        report = repo.open_report
        assert report.migrated and report.migrated_from == 1
        assert report.schema_version == SCHEMA_VERSION
        # A pre-migration backup exists and is still at v1.
        assert report.backup is not None and "pre-migration-v1" in report.backup.name
        assert db.read_backup_version(report.backup) == 1
        after_convs, after_msgs = _raw_rows(v1_copy)
        assert after_convs == before_convs and after_msgs == before_msgs
        # New columns have their defaults; the crash-cut answer is now interrupted.
        summaries = repo.list_conversations()
        assert {s.conversation.title for s in summaries} == {r[2] for r in before_convs}
        assert all(not s.conversation.pinned and s.conversation.draft == "" for s in summaries)
        assert report.interrupted_messages == 1
        statuses = [m.status for c in summaries for m in repo.list_messages(c.conversation.id)]
        assert statuses.count(MessageStatus.INTERRUPTED) == 1
        assert statuses.count(MessageStatus.COMPLETE) == 11
        cited = repo.list_messages(summaries[0].conversation.id)[1]
        assert cited.role is Role.ASSISTANT and cited.citations[0]["start_sec"] == 83.0
        # The FTS index was built from the old rows.
        assert repo.search("penguin") and repo.search("Käse")
        assert repo.integrity_check()
    finally:
        repo.close()


def _failing_step(conn: sqlite3.Connection) -> None:
    raise RuntimeError("boom")


def test_failing_migration_leaves_file_as_it_was(
    v1_copy: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _digest(v1_copy)
    broken = schema.Migration(
        2, "broken", schema.V2_STATEMENTS, function=_failing_step,  # fails after real work
    )
    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATIONS[0], broken])
    with pytest.raises(MigrationError, match="boom"):
        open_repository(v1_copy, backup_dir)
    assert _digest(v1_copy) == before
    for suffix in ("-wal", "-journal"):
        side = Path(f"{v1_copy}{suffix}")
        assert not side.exists() or side.stat().st_size == 0
    monkeypatch.undo()
    repo = open_repository(v1_copy, backup_dir)  # the real migration still works afterwards
    try:
        assert repo.open_report.migrated_from == 1
    finally:
        repo.close()


def test_failing_later_step_keeps_earlier_steps(
    db_path: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_repository(db_path, backup_dir).close()
    ok, broken = SCHEMA_VERSION + 1, SCHEMA_VERSION + 2
    steps = [*schema.MIGRATIONS,
             schema.Migration(ok, "ok", ("CREATE TABLE extra (x)",)),
             schema.Migration(broken, "broken", ("CREATE TABLE extra2 (x)", "NOT SQL"))]
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    with pytest.raises(MigrationError):
        open_repository(db_path, backup_dir)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == ok
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" in names and "extra2" not in names
    finally:
        conn.close()


def test_too_new_database_is_refused_and_untouched(db_path: Path, backup_dir: Path) -> None:
    open_repository(db_path, backup_dir).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = _digest(db_path)
    with pytest.raises(DatabaseTooNewError) as info:
        open_repository(db_path, backup_dir)
    assert "newer version" in str(info.value) and str(SCHEMA_VERSION + 5) in str(info.value)
    assert info.value.found_version == SCHEMA_VERSION + 5
    assert _digest(db_path) == before
    assert not db.marker_path(db_path).exists()




def test_migrates_v2_fixture_filling_the_new_columns(v2_copy: Path, backup_dir: Path) -> None:
    before_convs, before_msgs = _raw_rows(v2_copy)
    repo = open_repository(v2_copy, backup_dir)
    try:
        report = repo.open_report
        assert report.migrated_from == 2 and report.schema_version == SCHEMA_VERSION
        assert report.backup is not None and "pre-migration-v2" in report.backup.name
        assert db.read_backup_version(report.backup) == 2
        assert _raw_rows(v2_copy) == (before_convs, before_msgs)  # nothing else changed

        lions, zebras, untitled = (repo.get_conversation(i) for i in (1, 2, 3))
        assert lions is not None and zebras is not None and untitled is not None
        assert (lions.pinned, lions.draft, lions.title_is_auto) == (True, "next: leopards",
                                                                    False)
        for conversation in (lions, zebras, untitled):
            assert conversation.origin_conversation_id is None
            assert conversation.origin_message_id is None
            assert conversation.web_search is False

        messages = {m.id: m for c in (1, 2, 3) for m in repo.list_messages(c)}
        # plain_text written once, from the Markdown, for every old row.
        assert messages[2].plain_text == (
            "Hunting\nLions stalk their prey and ambush it at [01:02-01:10]. "
            "See the clip for the chase.")
        assert messages[1].plain_text == "How do lions hunt?"
        assert all(m.selections == [] and m.steps == [] for m in messages.values())
        # The retry time the v2 wording held only in text is now a column.
        assert messages[4].retry_at == pytest.approx(v2.RATE_LIMITED_AT + 30)
        assert messages[6].retry_at is None  # rate limited without a stated wait
        assert all(m.retry_at is None for i, m in messages.items() if i not in (4,))

        # The crash-cut turn is settled on both rows; the unanswered question too.
        assert messages[8].status is MessageStatus.INTERRUPTED
        assert messages[9].status is MessageStatus.INTERRUPTED
        assert messages[9].text == v2.ZEBRA_PARTIAL
        assert messages[10].status is MessageStatus.INTERRUPTED
        assert (report.interrupted_messages, report.interrupted_user_messages) == (1, 1)
        assert "(not answered)" not in export_markdown(repo, [zebras.id])

        # Search runs over the plain text: words found, syntax and link targets not.
        (hit,) = repo.search("stalk")
        assert hit.message_id == 2 and "**" not in hit.snippet and "[1]" not in hit.snippet
        assert repo.search("clips") == []
        assert repo.search("leopards") == []  # drafts are not searched
        assert repo.list_uploads() == []  # the upload queue exists, empty
        (queued,) = repo.add_uploads([{"store_id": "ks_nature", "method": "direct",
                                       "path": "/v/lion.mp4"}])
        assert repo.list_uploads(active_only=True) == [queued]
        assert repo.integrity_check()
    finally:
        repo.close()
    conn = sqlite3.connect(v2_copy)
    try:  # the rebuilt full-text index matches its content table exactly
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
        assert {"retry_at", "plain_text", "selections", "steps"} <= columns
    finally:
        conn.close()


def _failing_data_step(conn: sqlite3.Connection) -> None:
    schema._v3_data(conn)  # the real work first, then a failure
    raise RuntimeError("v3 broke")


def test_failing_v3_step_leaves_the_v2_file_as_it_was(
    v2_copy: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _digest(v2_copy)
    broken = schema.Migration(3, "broken", schema.V3_STATEMENTS, function=_failing_data_step)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS[:2], broken])
    with pytest.raises(MigrationError, match="v3 broke"):
        open_repository(v2_copy, backup_dir)
    assert _digest(v2_copy) == before
    assert user_version(v2_copy) == 2
    monkeypatch.undo()
    repo = open_repository(v2_copy, backup_dir)
    try:
        assert repo.open_report.migrated_from == 2
        assert repo.search("stalk")
    finally:
        repo.close()


def test_migrates_v3_keeping_every_upload_row(db_path: Path, backup_dir: Path) -> None:
    v3_database(db_path)
    columns = ", ".join(V3_UPLOAD_ROWS[0])
    before = raw_query(db_path, f"SELECT {columns} FROM uploads ORDER BY id")
    assert len(before) == len(V3_UPLOAD_ROWS)
    repo = open_repository(db_path, backup_dir)
    try:
        report = repo.open_report
        assert report.migrated_from == 3 and report.schema_version == SCHEMA_VERSION
        assert report.backup is not None and "pre-migration-v3" in report.backup.name
        assert db.read_backup_version(report.backup) == 3
        # Every v3 column of every row as it was; the new columns at their defaults.
        assert raw_query(db_path, f"SELECT {columns} FROM uploads ORDER BY id") == before
        assert raw_query(db_path, "SELECT upload_headers, server FROM uploads") == [
            ("{}", None)] * len(V3_UPLOAD_ROWS)
        rows = repo.list_uploads()
        assert [r.uid for r in rows] == ["up-1", "up-2", "up-3"]
        big = rows[0]
        assert (big.upload_id, big.chunks, big.bytes_done) == (
            "6650f0c1a3b2c4d5e6f70819", ((1, '"e1"', 8_388_608), (2, '"e2"', 8_388_608)),
            16_777_216)
        assert big.upload_headers == () and big.server is None
        assert rows[1].path == "/videos/caf\udce9.mp4"  # the undecodable name, exactly
        # The new columns take values afterwards.
        saved = repo.update_upload(big.id, upload_headers={"x-tag": "t1"}, server="sandbox")
        assert saved.upload_headers == (("x-tag", "t1"),) and saved.server == "sandbox"
        assert repo.integrity_check()
    finally:
        repo.close()


def test_failing_v4_step_leaves_the_v3_file_as_it_was(
    db_path: Path, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v3_database(db_path)
    before = _digest(db_path)
    broken = schema.Migration(4, "broken", (*schema.V4_STATEMENTS, "NOT SQL"))
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS[:3], broken])
    with pytest.raises(MigrationError, match="version 4"):
        open_repository(db_path, backup_dir)
    assert _digest(db_path) == before and user_version(db_path) == 3
    monkeypatch.undo()
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.migrated_from == 3
        assert len(repo.list_uploads()) == len(V3_UPLOAD_ROWS)
    finally:
        repo.close()
