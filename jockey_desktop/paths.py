"""Where Jockey Desktop keeps its files.

Everything the app writes (database, backups, logs, sandbox state, settings, the instance lock)
lives under one per-user data directory, chosen in this order:

1. ``--data-dir DIR`` on the command line,
2. the ``JOCKEY_DESKTOP_DATA_DIR`` environment variable,
3. ``QStandardPaths.AppLocalDataLocation`` (which depends on the application identity, so
   :func:`configure_application_identity` must run first; :func:`resolve_paths` does it for
   you when nobody has).

Nothing is written anywhere else: settings use an INI file inside the data dir rather than
QSettings' default registry / ``~/.config`` location. ``core/`` never imports this module; the
composition root passes the resolved paths in.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths
from PySide6.QtGui import QGuiApplication

from jockey_desktop import APP_ID, APP_NAME, ORG_NAME, __version__

__all__ = [
    "DATA_DIR_ENV_VAR",
    "AppPaths",
    "DataDirError",
    "configure_application_identity",
    "resolve_paths",
]

log = logging.getLogger(__name__)

#: Environment variable that overrides the data directory (below ``--data-dir``).
DATA_DIR_ENV_VAR = "JOCKEY_DESKTOP_DATA_DIR"

_DIR_MODE = 0o700


class DataDirError(RuntimeError):
    """The data directory cannot be used; ``str(err)`` is a sentence for the user."""


@dataclass(frozen=True)
class AppPaths:
    """Every path the app writes to, all under :attr:`data_dir`.

    Directories (``data_dir``, ``backups``, ``logs``, ``sandbox_state``) exist once
    :func:`resolve_paths` returns; files are only named here, their owners create them.
    """

    data_dir: Path
    database: Path
    backups: Path
    logs: Path
    sandbox_state: Path
    settings_file: Path
    lock_file: Path
    log_file: Path
    crash_file: Path

    @classmethod
    def under(cls, data_dir: Path) -> AppPaths:
        """Name every sub-path of ``data_dir`` without touching the disk."""
        data_dir = Path(data_dir)
        logs = data_dir / "logs"
        return cls(
            data_dir=data_dir,
            database=data_dir / "conversations.sqlite3",
            backups=data_dir / "backups",
            logs=logs,
            sandbox_state=data_dir / "sandbox",
            settings_file=data_dir / "settings.ini",
            lock_file=data_dir / f"{APP_ID}.lock",
            log_file=logs / f"{APP_ID}.log",
            crash_file=logs / "crash.log",
        )

    def directories(self) -> tuple[Path, ...]:
        """The directories that must exist, parent first."""
        return (self.data_dir, self.backups, self.logs, self.sandbox_state)

    def ensure_directories(self) -> None:
        """Create the directories private to the user (0700); raise :class:`DataDirError`.

        The app's own subfolders (backups, logs, sandbox) are tightened to 0700 even when
        they exist. The data folder itself is tightened only when the app creates it: an
        existing folder handed over with ``--data-dir`` or the environment variable (say a
        shared project folder, or the home directory) keeps the permissions its owner chose.
        """
        _make_private_dir(self.data_dir, tighten_existing=False)
        # Before the subfolders: a read-only folder is then named as such, once.
        _check_writable(self.data_dir)
        for directory in self.directories():
            if directory != self.data_dir:
                _make_private_dir(directory)


def configure_application_identity(app: QCoreApplication | None = None) -> None:
    """Set organisation/application name, version and desktop file name from the package.

    The names are static on ``QCoreApplication`` so this works before or after the
    application object exists; ``app`` is accepted so the composition root reads naturally.
    ``QStandardPaths`` and the window manager (desktop file name → taskbar icon on Wayland)
    both depend on these values, so call it before :func:`resolve_paths`.
    """
    del app  # the setters are static; the parameter only documents the call order
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)


def resolve_paths(cli_data_dir: str | None) -> AppPaths:
    """Choose the data directory (CLI > env > QStandardPaths), create it 0700, return paths.

    An existing data directory is used as it is (never chmod-ed); see
    :meth:`AppPaths.ensure_directories`.

    Raises :class:`DataDirError` when the directory cannot be created or is not a directory.
    """
    data_dir = _choose_data_dir(cli_data_dir)
    paths = AppPaths.under(data_dir)
    paths.ensure_directories()
    return paths


def _choose_data_dir(cli_data_dir: str | None) -> Path:
    for candidate in (cli_data_dir, os.environ.get(DATA_DIR_ENV_VAR)):
        # An empty value (``JOCKEY_DESKTOP_DATA_DIR=``) means "not set", not "current dir".
        if candidate and candidate.strip():
            return Path(candidate).expanduser().absolute()
    if QCoreApplication.applicationName() != APP_NAME:
        # Without an identity Qt answers ~/.local/share/<executable name> (e.g. "python3"):
        # data would silently land in a different folder from run to run.
        configure_application_identity()
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    if not location:
        raise DataDirError(
            "No per-user data folder is available on this system; "
            f"start the app with --data-dir or set {DATA_DIR_ENV_VAR}."
        )
    return Path(location).absolute()


def _check_writable(directory: Path) -> None:
    """Raise :class:`DataDirError` saying so when nothing can be written in ``directory``.

    Tried by writing, not by asking permission bits (``os.access`` answers for the real
    uid and misses ACLs): every later failure (the lock file, the log, the database) would
    otherwise be reported as something else, e.g. "already running".
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".write-test-", dir=directory)
    except OSError as exc:
        raise _unusable(directory, exc, "write in") from exc
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        log.warning("could not remove the write test file %s", name)


def _unusable(directory: Path, exc: OSError, action: str) -> DataDirError:
    """The sentence for a data folder the OS refused: read-only said as read-only."""
    if exc.errno == errno.EROFS:
        problem = f"The data folder {directory} is on a read-only disk, so nothing can be saved."
    elif exc.errno in (errno.EACCES, errno.EPERM):
        problem = (f"The data folder {directory} is read-only for you (permission denied), "
                   "so nothing can be saved.")
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = f"The disk holding {directory} is full; free some space there."
    else:
        return DataDirError(f"Cannot {action} the data folder {directory}: "
                            f"{exc.strerror or exc}.")
    return DataDirError(
        f"{problem} Choose a writable folder with --data-dir or {DATA_DIR_ENV_VAR}.")


def _make_private_dir(directory: Path, *, tighten_existing: bool = True) -> None:
    existed = directory.is_dir()
    try:
        directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise DataDirError(f"{directory} exists but is not a folder.") from exc
    except OSError as exc:
        raise _unusable(directory, exc, "create") from exc
    if not directory.is_dir():
        raise DataDirError(f"{directory} exists but is not a folder.")
    if os.name != "posix":
        return  # Windows ACLs on the per-user profile already keep other users out.
    if existed and not tighten_existing:
        return
    try:
        mode = stat.S_IMODE(directory.stat().st_mode)
        # mkdir's mode is filtered by the umask and ignored for folders that already exist:
        # tighten explicitly, since conversations and session ids live here.
        if mode & 0o077:
            directory.chmod(_DIR_MODE)
    except OSError as exc:
        # A folder we may use but do not own (e.g. a shared --data-dir): usable, just say so.
        log.warning("Could not make %s private: %s", directory, exc.strerror or exc)
