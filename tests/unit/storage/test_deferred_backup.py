"""``database.deferring_daily_backup``: the daily backup can wait, a pre-migration one cannot."""

from __future__ import annotations

from pathlib import Path

from jockey_desktop.core.storage import database, open_repository


def test_daily_backup_is_skipped_at_open_only_inside_the_block(
    db_path: Path, backup_dir: Path
) -> None:
    open_repository(db_path, backup_dir).close()  # a new file: never backed up at creation
    assert database.list_backups(backup_dir, db_path) == []

    with database.deferring_daily_backup():
        assert not database.backup_is_due(backup_dir, db_path)
        repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.backup is None
        assert database.list_backups(backup_dir, db_path) == []
        # Outside the block the caller sees it is due, and takes it itself.
        assert database.backup_is_due(backup_dir, db_path)
        taken = repo.backup_now("daily")
        assert database.list_backups(backup_dir, db_path) == [taken]
        assert not database.backup_is_due(backup_dir, db_path)
    finally:
        repo.close()

    # Without the block, opening takes the daily backup itself as before.
    for old in database.list_backups(backup_dir, db_path):
        old.unlink()
    repo = open_repository(db_path, backup_dir)
    try:
        assert repo.open_report.backup is not None
        assert "daily" in repo.open_report.backup.name
    finally:
        repo.close()


def test_backup_before_a_migration_still_happens_inside_the_block(
    v1_copy: Path, backup_dir: Path
) -> None:
    with database.deferring_daily_backup():
        repo = open_repository(v1_copy, backup_dir)
    try:
        report = repo.open_report
        assert report.migrated_from == 1
        assert report.backup is not None and "pre-migration-v1" in report.backup.name
        assert database.read_backup_version(report.backup) == 1
    finally:
        repo.close()
