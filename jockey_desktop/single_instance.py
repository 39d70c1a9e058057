"""One running instance per data directory.

Two processes writing the same SQLite file and the same ``session_id``s could lose a
conversation, so the first launch takes a ``QLockFile`` in the data directory and listens on a
``QLocalServer``; a second launch on the same directory fails to take the lock, connects to the
server, sends ``activate`` (the first instance brings its window forward) and exits.

Stale locks: ``QLockFile.tryLock`` itself takes over a lock whose process is gone (same host,
pid no longer running or reused by another program). Its age-based staleness is switched off
(``setStaleLockTime(0)``) because a long-running app never refreshes the file and a second
launch after 30 s would otherwise steal a live lock. A lock file that cannot be parsed (a crash
while it was being written) would then block forever, so it is removed with
``removeStaleLockFile``, which on Unix only succeeds when no live process holds the file's
native lock.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import shutil
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

from jockey_desktop import APP_ID

__all__ = ["ACTIVATE_MESSAGE", "SingleInstanceGuard", "server_name_for_data_dir"]

log = logging.getLogger(__name__)

#: The line a second instance sends to the first.
ACTIVATE_MESSAGE = b"activate\n"

_MAX_MESSAGE_BYTES = 1024  # anything longer is not one of ours
_CONNECT_TIMEOUT_MS = 1000
# An unparsable lock younger than this may be a live instance still writing it.
_UNREADABLE_LOCK_GRACE_S = 5.0


def server_name_for_data_dir(data_dir: Path | str) -> str:
    """A local-server name unique to this user and data directory.

    Hashed because the socket name lands in a shared namespace (``/tmp`` on Unix, the pipe
    namespace on Windows) with a short length limit, and should not reveal the path.
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): the dir still separates us
        user = ""
    resolved = str(Path(data_dir).expanduser().resolve())
    digest = hashlib.sha256(f"{user}\0{resolved}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{APP_ID}-{digest[:20]}"


class SingleInstanceGuard(QObject):
    """Lock file plus activation channel for one data directory.

    Typical use in the composition root::

        guard = SingleInstanceGuard(paths.lock_file, server_name_for_data_dir(paths.data_dir))
        if not guard.try_acquire():
            guard.notify_running_instance()
            return 0
        guard.sig_activate_requested.connect(window.bring_to_front)

    Signals (GUI thread): ``sig_activate_requested()`` when another launch asked us to show
    ourselves.
    """

    sig_activate_requested = Signal()

    def __init__(self, lock_path: Path | str, server_name: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock_path = Path(lock_path)
        self._server_name = server_name
        self._lock = QLockFile(str(self._lock_path))
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    @property
    def lock_path(self) -> Path:
        """The lock file in the data directory."""
        return self._lock_path

    @property
    def server_name(self) -> str:
        """The local server name the first instance listens on."""
        return self._server_name

    @property
    def is_acquired(self) -> bool:
        """True while this guard holds the lock."""
        return self._lock.isLocked()

    @property
    def is_listening(self) -> bool:
        """True when the activation server is up (acquired and listening succeeded)."""
        return self._server is not None and self._server.isListening()

    def try_acquire(self) -> bool:
        """Take the lock without waiting; on success start the activation server.

        Returns False when another live process holds the lock (or it cannot be created, e.g.
        a read-only data dir — :meth:`lock_error_text` says which).
        """
        if self._lock.isLocked():
            return True
        if not self._lock.tryLock(0) and not self._take_over_unreadable_lock():
            return False
        self._listen()
        return True

    def held_by_another(self) -> bool:
        """True when :meth:`try_acquire` failed because another live process holds the lock
        (not because the lock file could not be written)."""
        return bool(self._lock.error() == QLockFile.LockError.LockFailedError)

    def lock_error_text(self) -> str:
        """Why :meth:`try_acquire` failed, as a sentence for the user."""
        error = self._lock.error()
        if error == QLockFile.LockError.LockFailedError:
            return "Jockey Desktop is already running with this data folder."
        if error == QLockFile.LockError.PermissionError:
            return (f"Cannot create the lock file {self._lock_path}: the data folder is "
                    "read-only (permission denied).")
        if error == QLockFile.LockError.NoError:
            return ""
        # QLockFile says only "unknown error" when its file cannot be written; a full disk
        # is the common case (the data folder's own write test passes: an empty file needs
        # no space), and one the user can act on.
        if _disk_is_full(self._lock_path.parent):
            return (f"Cannot create the lock file {self._lock_path}: the disk holding "
                    f"{self._lock_path.parent} is full. Free some space there, or choose "
                    "another folder with --data-dir.")
        return f"Cannot create the lock file {self._lock_path}."

    def holder_pid(self) -> int | None:
        """The pid written in the lock file by its holder, if readable."""
        pid, _host, _app = self._lock.getLockInfo()
        return int(pid) if pid > 0 else None

    def notify_running_instance(self, timeout_ms: int = _CONNECT_TIMEOUT_MS) -> bool:
        """Ask the instance holding the lock to come forward; True when the message was sent.

        Blocks for at most about ``2 × timeout_ms``; never waits for the other side's event
        loop, so it also works when both guards live in one process.
        """
        socket = QLocalSocket()
        try:
            socket.connectToServer(self._server_name)
            if not socket.waitForConnected(timeout_ms):
                log.info("No running instance answered on the activation channel")
                return False
            socket.write(ACTIVATE_MESSAGE)
            socket.flush()
            sent = socket.bytesToWrite() == 0 or socket.waitForBytesWritten(timeout_ms)
            socket.disconnectFromServer()
            if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
                socket.waitForDisconnected(timeout_ms)
            return bool(sent)
        finally:
            socket.abort()

    def release(self) -> None:
        """Stop listening and unlock (idempotent); call on quit."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        for socket in list(self._buffers):
            self._drop(socket)
        if self._lock.isLocked():
            self._lock.unlock()

    # --- internals ------------------------------------------------------------------------

    def _take_over_unreadable_lock(self) -> bool:
        if self._lock.error() != QLockFile.LockError.LockFailedError:
            return False
        pid, _host, _app = self._lock.getLockInfo()
        if pid > 0:
            return False  # a readable lock held by a live process: really another instance
        try:
            age = time.time() - self._lock_path.stat().st_mtime
        except OSError:
            age = _UNREADABLE_LOCK_GRACE_S  # vanished meanwhile: just retry below
        if age < _UNREADABLE_LOCK_GRACE_S:
            return False
        log.warning("Removing an unreadable lock file left by a crash: %s", self._lock_path)
        self._lock.removeStaleLockFile()
        return bool(self._lock.tryLock(0))

    def _listen(self) -> None:
        server = QLocalServer(self)
        # Only this user may connect (on Unix the socket gets owner-only permissions).
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._on_new_connection)
        if (not server.listen(self._server_name)
                and server.serverError() == QAbstractSocket.SocketError.AddressInUseError):
            # A socket file left by a crashed instance; we hold the lock, so it is ours.
            QLocalServer.removeServer(self._server_name)
            server.listen(self._server_name)
        if not server.isListening():
            # Still the only instance (we hold the lock); a second launch will just be told
            # that we are running instead of bringing us forward.
            log.warning("Activation channel unavailable: %s", server.errorString())
            server.deleteLater()
            return
        self._server = server

    @Slot()
    def _on_new_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            socket = server.nextPendingConnection()
            if socket is None:
                break
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(partial(self._on_ready_read, socket))
            socket.disconnected.connect(partial(self._on_disconnected, socket))
            # Data may already be buffered before readyRead was connected.
            self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(socket.readAll().data())
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            if line.strip() == ACTIVATE_MESSAGE.strip():
                self.sig_activate_requested.emit()
        if len(buffer) > _MAX_MESSAGE_BYTES:
            self._drop(socket)

    def _on_disconnected(self, socket: QLocalSocket) -> None:
        # A client that writes and hangs up at once: read what is left before dropping it.
        self._on_ready_read(socket)
        self._drop(socket)

    def _drop(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is None:
            return
        socket.abort()
        socket.deleteLater()


def _disk_is_full(folder: Path) -> bool:
    """True when the disk holding ``folder`` has (next to) no room left for a lock file."""
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False
