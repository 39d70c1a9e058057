"""Shared helpers for the player's tests: a sandbox whose media clock can be moved forward (so
signed media URLs expire on demand), a real client for it, and the first playable video."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.core import api
from jockey_desktop.sandbox import SANDBOX_API_KEY, Pace, SandboxServer


class ShiftableClock:
    """Real time plus an offset a test moves forward (media URLs then expire at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the server's time forward."""
        self.offset += seconds


@dataclass
class MediaSandbox:
    """A running sandbox, its clock, a client and one playable video of a store."""

    server: SandboxServer
    clock: ShiftableClock
    client: api.JockeyClient
    store_id: str
    items: list[Any]

    @property
    def item(self) -> Any:
        """The first ready video of the store."""
        return self.items[0]

    def expire_media(self) -> None:
        """Every media URL signed so far is refused from now on."""
        self.clock.advance(self.server.media.ttl + 5)


def _no_sleep(_seconds: float) -> None:
    """Retry back-off without waiting."""


def playable_items(client: api.JockeyClient) -> tuple[str, list[Any]]:
    """The first store with at least two ready videos, and those videos."""
    for store in client.list_knowledge_stores():
        videos = [i for i in client.list_items(store.id)
                  if i.is_ready and i.asset_type in (None, "video") and i.asset_id]
        if len(videos) >= 2:
            return store.id, videos
    raise AssertionError("the sandbox has no store with two ready videos")


@pytest.fixture
def media_sandbox(tmp_path: Path) -> Iterator[MediaSandbox]:
    """A sandbox (instant pace) with a shiftable clock, and a real client for it."""
    clock = ShiftableClock()
    server = SandboxServer(state_dir=tmp_path / "media-sandbox", pace=Pace.instant(),
                           clock=clock)
    server.start()
    client = api.JockeyClient(SANDBOX_API_KEY, server.base_url, sleep=_no_sleep)
    try:
        store_id, items = playable_items(client)
        yield MediaSandbox(server, clock, client, store_id, items)
    finally:
        client.close()
        server.stop()


# --------------------------------------------------------------------------- the player


#: Qt's multimedia noise on a machine without PipeWire, PulseAudio, GPU or hardware decoders:
#: expected there, exactly these lines (never warnings at large). The PulseAudio line is the
#: "no audio device" case (the video plays silently); the CPU-conversion line is the "no GPU"
#: case (offscreen Qt has no RHI backend and says so once per thread). "Immediate exit
#: requested" is FFmpeg's word for a load the app cancelled (a newer video, or quitting).
PLAYER_LOG_IGNORE = (
    r"^Could not open media\. FFmpeg error description: Immediate exit requested$",
    r"^Couldn't (load|resolve) pipewire-0\.3 (library|symbols)$",
    r'^"No HW decoder found"$',
    r"^PulseAudioService: pa_context_connect\(\) failed$",
    r"ensureRhi\(QRhi::Implementation\) : No RHI backend\. Using CPU conversion\.$",
    r"^This plugin does not support propagateSizeHints\(\)$",
)


def player_marks(*more: str) -> list[Any]:
    """The ``qt_log_ignore`` marks of a player test module (or test: the closest mark wins,
    so a test that expects one more line passes it here)."""
    return [pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE, *more)]


def answer_message(sb: MediaSandbox, message_id: int = 2, conversation_id: int = 1,
                   question: str = "What are the main themes in these videos?") -> Any:
    """A saved answer, as the chat would have stored it, with the sandbox's real citations
    (signed media URLs included)."""
    from jockey_desktop.core.storage.models import Message, MessageStatus, Role

    response = sb.client.create_response(sb.store_id, question)
    return Message(id=message_id, uid=f"u{message_id}", conversation_id=conversation_id,
                   role=Role.ASSISTANT, text=response.text, status=MessageStatus.COMPLETE,
                   created_at=time.time(), updated_at=time.time(),
                   citations=[c.to_dict() for c in response.citations])


class PlayerHarness:
    """The player feature on a real main window, a real runner and controller, and a
    sandbox whose media URLs can be expired; exports and opened files are recorded."""

    def __init__(self, qtbot: Any, sb: MediaSandbox, tmp_path: Path) -> None:
        from jockey_desktop.concurrency import TaskRunner
        from jockey_desktop.controllers.player import PlayerController
        from jockey_desktop.core.media_cache import ThumbnailCache
        from jockey_desktop.player_wiring import PlayerFeature
        from jockey_desktop.ui.main_window import MainWindow

        self.qtbot = qtbot
        self.sb = sb
        self.runner = TaskRunner(max_threads=3, name="player-test")
        self.cache = ThumbnailCache(tmp_path / "thumbnails")
        self.controller = PlayerController(self.runner, self.cache, tmp_path / "player")
        self.controller.set_client(sb.client)
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.export_answers: list[tuple[str, Any] | None] = []
        self.opened: list[Any] = []
        self.feature = PlayerFeature(self.window, self.controller,
                                     ask_export_path=self._ask, open_url=self.opened.append)
        self.window.resize(1300, 800)
        self.window.show()
        qtbot.waitExposed(self.window)

    def _ask(self, _parent: Any, _title: str) -> tuple[str, Any] | None:
        return self.export_answers.pop(0) if self.export_answers else None

    @property
    def panel(self) -> Any:
        """The player panel (built by the first play)."""
        assert self.feature.panel is not None
        return self.feature.panel

    @property
    def engine(self) -> Any:
        """The playback engine (built by the first play)."""
        assert self.feature.engine is not None
        return self.feature.engine

    def play(self, message: Any, citation: dict[str, Any]) -> None:
        """Play a citation as a chip click does."""
        self.feature.play_citation(self.sb.store_id, message, citation)

    def wait_for_frame_near(self, seconds: float, timeout: int = 10_000) -> None:
        """Until a frame is shown and playback is within 1 s of ``seconds``."""
        self.qtbot.waitUntil(
            lambda: self.panel.canvas.has_frame()
            and abs(self.engine.position() - seconds * 1000) <= 1000, timeout=timeout)

    def close(self) -> None:
        """Stop the player and the runner."""
        self.feature.shutdown()
        self.runner.shutdown(3000)
        self.window.close()


@pytest.fixture
def player(qtbot: Any, media_sandbox: MediaSandbox, tmp_path: Path) -> Iterator[PlayerHarness]:
    """A :class:`PlayerHarness` on the ``media_sandbox``."""
    harness = PlayerHarness(qtbot, media_sandbox, tmp_path)
    try:
        yield harness
    finally:
        harness.close()


class RecordingProxy:
    """A plain HTTP forward proxy on loopback that records the absolute URLs it is asked for
    and the headers that came with them."""

    def __init__(self) -> None:
        import threading
        import urllib.request
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, dict[str, str]]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorded.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    with direct.open(self.path, timeout=10) as upstream:
                        body, status = upstream.read(), upstream.status
                except Exception:
                    body, status = b"", 502
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll: shutdown() waits for serve_forever() to look (0.5 s by default).
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()
