"""A data folder the app cannot use the normal way: read-only (said as such, never "already
running"), or in use by a running instance while ``--self-test --data-dir`` points at it (the
self-test refuses and leaves that instance's files alone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.storage.database import marker_path
from tests.helpers.app import Started
from tests.helpers.private_mount import mount_unavailable_reason, run_with_private_mounts

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

ROOT = Path(__file__).resolve().parents[2]

#: Builds the app on argv[1], non-interactively, and prints why it did not start.
START_APP = (
    "import sys; from jockey_desktop.app import AppOptions, JockeyDesktop; "
    "d = JockeyDesktop.create(AppOptions(data_dir=sys.argv[1], sandbox=True, "
    "interactive=False)); print('started' if d else JockeyDesktop.last_start_failure)"
)


def _env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))


def _mount_point(tmp_path: Path) -> Path:
    """An empty folder to mount a private tmpfs on (the test is skipped where it cannot)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    reason = mount_unavailable_reason(mount_point)
    if reason is not None:
        pytest.skip(reason)
    return mount_point


def _start_refused(setup: str, data: Path) -> str:
    """Start the app on ``data`` after the shell ``setup`` (private mounts); it must refuse
    to start for its data folder. Returns what it wrote on stderr."""
    run = run_with_private_mounts(setup, [sys.executable, "-c", START_APP, str(data)],
                                  env=_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "data-dir"
    return run.stderr


def test_a_read_only_data_folder_is_reported_as_read_only(tmp_path: Path) -> None:
    mount_point = _mount_point(tmp_path)
    data = mount_point / "data"
    # An existing data folder (from an earlier run) on a disk since remounted read-only.
    setup = (f"mount -t tmpfs -o size=1m tmpfs '{mount_point}' && "
             f"mkdir -p '{data}/logs' '{data}/backups' '{data}/sandbox' && "
             f"mount -o remount,ro '{mount_point}'")
    stderr = _start_refused(setup, data)
    assert f"The data folder {data} is on a read-only disk" in stderr
    assert "already running" not in stderr.lower()

    self_test = run_with_private_mounts(
        setup, [sys.executable, "-m", "jockey_desktop", "--self-test", "--data-dir", str(data)],
        env=_env())
    assert self_test.returncode == 1
    assert self_test.stderr.startswith(f"self-test FAILED: The data folder {data} is on a "
                                       "read-only disk")


def test_a_full_disk_at_start_up_is_named_without_a_traceback(tmp_path: Path) -> None:
    mount_point = _mount_point(tmp_path)
    data = mount_point / "data"
    # Filled to the last byte: empty files (the folder's write test) still fit, the lock
    # file's few bytes do not.
    setup = (f"mount -t tmpfs -o size=512k tmpfs '{mount_point}' && "
             f"(dd if=/dev/zero of='{mount_point}/filler' bs=4k 2>/dev/null; "
             f"dd if=/dev/zero of='{mount_point}/filler2' bs=1 2>/dev/null; true)")
    stderr = _start_refused(setup, data)
    # It said "Cannot create the lock file …." without a reason, then crashed closing its
    # log on the same disk.
    assert f"the disk holding {data} is full" in stderr
    assert "Traceback" not in stderr


def test_a_read_only_lock_is_not_called_another_instance(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the folder passes the write test, a lock file that cannot be created is a
    folder problem (e.g. permissions changed on the lock file alone)."""
    from PySide6.QtCore import QLockFile

    from jockey_desktop.app import AppOptions, JockeyDesktop

    monkeypatch.setattr(QLockFile, "tryLock", lambda self, timeout=0: False)
    monkeypatch.setattr(QLockFile, "error",
                        lambda self: QLockFile.LockError.PermissionError)
    desktop = JockeyDesktop.create(AppOptions(data_dir=str(tmp_path / "data"), sandbox=True,
                                              interactive=False, freeze_gc=False))
    assert desktop is None
    assert JockeyDesktop.last_start_failure == "data-dir"


def test_self_test_refuses_a_data_folder_a_running_app_uses(
    qtbot: Any, start: Started
) -> None:
    running = start()
    marker = marker_path(running.paths.database)
    assert marker.exists()  # the running app's "not closed cleanly" marker
    result = subprocess.run(
        [sys.executable, "-m", "jockey_desktop", "--self-test", "--data-dir",
         str(start.data_dir)], cwd=ROOT, env=_env(), capture_output=True, text=True,
        timeout=90)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"self-test FAILED: another Jockey Desktop is using {start.data_dir}")
    assert marker.exists()  # the running instance's crash marker is untouched
    assert running.repo.count_conversations() == 0  # and nothing was written into its files
