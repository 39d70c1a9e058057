"""Tests for jockey_desktop.paths: data-dir priority, private folders, application identity."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication

from jockey_desktop import APP_ID, APP_NAME, ORG_NAME, __version__
from jockey_desktop.paths import (
    DATA_DIR_ENV_VAR,
    AppPaths,
    DataDirError,
    configure_application_identity,
    resolve_paths,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def restore_identity(qapp: QCoreApplication) -> Iterator[None]:
    """Put back the application identity other tests (and pytest-qt) expect."""
    saved = (QCoreApplication.organizationName(), QCoreApplication.applicationName(),
             QCoreApplication.applicationVersion(), QGuiApplication.desktopFileName())
    yield
    QCoreApplication.setOrganizationName(saved[0])
    QCoreApplication.setApplicationName(saved[1])
    QCoreApplication.setApplicationVersion(saved[2])
    QGuiApplication.setDesktopFileName(saved[3])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cli_dir_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV_VAR, str(tmp_path / "from-env"))
    paths = resolve_paths(str(tmp_path / "from-cli"))
    assert paths.data_dir == tmp_path / "from-cli"
    assert not (tmp_path / "from-env").exists()


def test_environment_used_without_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV_VAR, str(tmp_path / "from-env"))
    assert resolve_paths(None).data_dir == tmp_path / "from-env"


def test_relative_and_home_relative_dirs_become_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_paths("rel").data_dir == tmp_path / "rel"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_paths("~/jd").data_dir == tmp_path / "home" / "jd"


@pytest.mark.usefixtures("restore_identity")
def test_standard_location_needs_and_gets_our_identity(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty variable means "not set", so the QStandardPaths location is used.
    monkeypatch.setenv(DATA_DIR_ENV_VAR, "")
    QCoreApplication.setApplicationName("python3")
    paths = resolve_paths(None)
    # The conftest points XDG_DATA_HOME into tmp; AppLocalDataLocation is <it>/<app> (no org).
    if sys.platform.startswith("linux"):
        assert paths.data_dir == tmp_path / "xdg-data" / APP_NAME
    assert QCoreApplication.applicationName() == APP_NAME
    assert QCoreApplication.organizationName() == ORG_NAME
    assert paths.data_dir.is_dir()


@pytest.mark.usefixtures("restore_identity")
def test_configure_application_identity(qapp: QCoreApplication) -> None:
    QCoreApplication.setApplicationName("something-else")
    configure_application_identity(qapp)
    assert QCoreApplication.organizationName() == ORG_NAME
    assert QCoreApplication.applicationName() == APP_NAME
    assert QCoreApplication.applicationVersion() == __version__
    assert QGuiApplication.desktopFileName() == APP_ID


def test_every_path_is_under_the_data_dir(tmp_path: Path) -> None:
    paths = resolve_paths(str(tmp_path / "d"))
    named = [getattr(paths, field) for field in paths.__dataclass_fields__]
    assert len(set(named)) == len(named), "two purposes share one path"
    for path in named:
        assert path == paths.data_dir or paths.data_dir in path.parents
    for directory in paths.directories():
        assert directory.is_dir()
    # Files are only named, never created by the resolver.
    for file_path in (paths.database, paths.settings_file, paths.lock_file, paths.log_file,
                      paths.crash_file):
        assert not file_path.exists()
    assert AppPaths.under(paths.data_dir) == paths


@posix_only
def test_directories_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        paths = resolve_paths(str(tmp_path / "d"))
    finally:
        os.umask(old)
    for directory in paths.directories():
        assert _mode(directory) == 0o700, directory


@posix_only
@pytest.mark.parametrize("via_env", [False, True])
def test_an_existing_data_dir_keeps_its_mode_but_the_apps_subfolders_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via_env: bool
) -> None:
    existing = tmp_path / "shared"
    existing.mkdir()
    existing.chmod(0o755)
    (existing / "logs").mkdir()
    (existing / "logs").chmod(0o755)  # the app's own folder: tightened even though it exists
    if via_env:
        monkeypatch.setenv(DATA_DIR_ENV_VAR, str(existing))
    paths = resolve_paths(None if via_env else str(existing))
    assert paths.data_dir == existing
    assert _mode(existing) == 0o755
    for directory in (paths.backups, paths.logs, paths.sandbox_state):
        assert _mode(directory) == 0o700, directory


@posix_only
def test_a_data_dir_the_app_creates_is_private_with_its_parents_untouched(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    parent.chmod(0o755)
    paths = resolve_paths(str(parent / "new" / "data"))
    assert _mode(paths.data_dir) == 0o700
    assert _mode(parent) == 0o755


def test_a_file_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(DataDirError, match="not a folder"):
        resolve_paths(str(blocker))


def test_a_file_in_place_of_a_sub_folder_is_a_clear_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "backups").write_text("x")
    with pytest.raises(DataDirError, match="backups"):
        resolve_paths(str(data_dir))
