"""The upload queue on the real stack: a repository in tmp, the real client over loopback to a
sandbox whose multipart chunks are small (so a file of a few hundred KB takes several), the
storage and network runners the app uses, and an ``UploadsController`` with short poll
timings; plus video files to upload and waits on the queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core.storage.models import Upload, UploadState
from tests.helpers.sandbox_resources import box, tiny_mp4

#: Multipart chunks of the test sandbox.
CHUNK = 64 * 1024
#: Files above this go through the multipart flow in these tests.
DIRECT_ABOVE = 100 * 1024


def video_bytes(size: int = 20_000, duration: float = 12.5) -> bytes:
    """An MP4 of exactly ``size`` bytes the sandbox accepts (a real header, then padding)."""
    header = tiny_mp4(duration=duration, padding=0)
    header = header[:len(header) - (8 + 256)]  # without its one-block ``mdat``
    padding = max(0, size - len(header) - 8)
    return header + box(b"mdat", bytes(range(256)) * (padding // 256) + bytes(padding % 256))


def write_video(folder: Path, name: str, size: int = 20_000, duration: float = 12.5) -> Path:
    """A small MP4 file of exactly ``size`` bytes the sandbox accepts."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(video_bytes(size, duration))
    return path


def fast_timings() -> Any:
    """Poll timings for tests: a few tens of milliseconds."""
    from jockey_desktop.controllers.uploads import UploadTimings

    return UploadTimings(tick_ms=20, asset_first=0.02, asset_most=0.1, item_first=0.02,
                         item_most=0.1, rate_limit_wait=0.2)


class Queue:
    """An UploadsController on the real stack, with what it said recorded."""

    def __init__(self, qtbot: Any, tmp_path: Path, *, pace: Any = None,
                 client_options: dict[str, Any] | None = None) -> None:
        from jockey_desktop.concurrency import TaskRunner, create_storage_runner
        from jockey_desktop.controllers.uploads import UploadsController
        from jockey_desktop.core.storage import open_repository
        from jockey_desktop.sandbox import Pace, SandboxServer
        from jockey_desktop.sandbox.assets import UploadLimits
        from tests.helpers.chat import make_client

        self.qtbot = qtbot
        self.tmp_path = tmp_path
        self.state_dir = tmp_path / "sandbox-state"
        self.limits = UploadLimits(chunk_size=CHUNK, initial_upload_urls=2)
        self.pace = pace or Pace.instant()
        self.server = SandboxServer(state_dir=self.state_dir, pace=self.pace,
                                    upload_limits=self.limits)
        self.server.start()
        self.port = self.server.port
        self.client_options = client_options or {}
        self.client = make_client(self.server, **self.client_options)
        self.repo = open_repository(tmp_path / "db" / "conversations.sqlite3",
                                    tmp_path / "backups")
        self.storage = create_storage_runner()
        self.network = TaskRunner(4, name="test-network")
        self.controller = UploadsController(self.repo, self.storage, self.network,
                                            timings=fast_timings())
        self.controller.direct_above = DIRECT_ABOVE
        self.notices: list[str] = []
        self.errors: list[str] = []
        self.refused: list[str] = []
        self.batches: list[Any] = []
        self.store_changes: list[str] = []
        self.progress: list[Any] = []
        c = self.controller
        c.sig_notice.connect(self.notices.append)
        c.sig_error.connect(self.errors.append)
        c.sig_refused.connect(self.refused.append)
        c.sig_batch_finished.connect(self.batches.append)
        c.sig_store_changed.connect(self.store_changes.append)
        c.sig_progress.connect(self.progress.append)
        self._closed = False

    def start(self) -> None:
        """Hand the controller its client (as the connection does)."""
        self.controller.set_client(self.client)

    def new_store(self, name: str = "My uploads") -> str:
        """A new empty store on the sandbox; its id."""
        return str(self.client.create_knowledge_store(name).id)

    def rows(self) -> list[Upload]:
        """The queue as saved."""
        return self.repo.list_uploads()

    def wait_rows(self, condition: Callable[[list[Upload]], bool], timeout: int = 15_000,
                  ) -> list[Upload]:
        """Until the saved queue satisfies ``condition`` (and the controller agrees)."""
        def check() -> bool:
            rows = self.rows()
            return bool(rows) and condition(rows) and all(
                self.controller.upload(r.id) == r for r in rows)
        self.qtbot.waitUntil(check, timeout=timeout)
        return self.rows()

    def wait_all(self, state: UploadState, count: int | None = None,
                 timeout: int = 15_000) -> list[Upload]:
        """Until every row (``count`` of them, when given) is in ``state``."""
        return self.wait_rows(lambda rows: all(r.state is state for r in rows)
                              and (count is None or len(rows) == count), timeout)

    def restart_server(self) -> None:
        """Stop the sandbox and start another on the same state and port (a server
        restart), with a new client for it."""
        from jockey_desktop.sandbox import SandboxServer
        from tests.helpers.chat import make_client

        self.server.stop()
        self.server = SandboxServer(state_dir=self.state_dir, pace=self.pace,
                                    upload_limits=self.limits, port=self.port)
        self.server.start()
        self.client.close()
        self.client = make_client(self.server, **self.client_options)

    def close(self) -> None:
        """Stop everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.controller.shutdown()
        self.network.shutdown(2000)
        self.storage.drain(3000)
        self.storage.shutdown(2000)
        self.client.close()
        self.server.stop()
        self.repo.close()


@pytest.fixture
def queue(qtbot: Any, tmp_path: Path) -> Iterator[Queue]:
    """An upload queue against a fresh sandbox, started."""
    stack = Queue(qtbot, tmp_path)
    stack.start()
    try:
        yield stack
    finally:
        stack.close()


def drop_files(widget: Any, paths: list[Path], position: Any = None) -> bool:
    """Drag ``paths`` onto ``widget`` and drop them at ``position`` (its centre by default),
    as the window system delivers a file drop; True when the drop was accepted."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = position if position is not None else widget.rect().center()
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(point, action, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(point), action, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()
