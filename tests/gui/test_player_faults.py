"""The player's faults are sentences, never crashes: a stream that stalls, a media host that
404s mid-play, a video the server cannot resolve, no audio device, no multimedia backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtMultimedia import QMediaDevices

from jockey_desktop.core.media_relay import MediaRelay
from jockey_desktop.sandbox.faults import Fault
from jockey_desktop.ui.player.engine import NO_AUDIO, NO_BACKEND
from jockey_desktop.ui.player.ffmpeg_env import AV_LOG_QUIET, loaded_avutil
from tests.helpers.media import (
    PlayerHarness,
    RecordingProxy,
    answer_message,
    media_sandbox,
    player,
    player_marks,
)

__all__ = ["media_sandbox", "player"]

pytestmark = player_marks()

REPO = Path(__file__).resolve().parents[2]


def test_a_stalled_stream_is_said_and_clears_when_it_resumes(player: PlayerHarness) -> None:
    player.controller._relay_factory = partial(MediaRelay, stall_after=0.3)
    player.sb.server.faults.add(Fault.latency(1.2, path="/media", times=None))
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.play(answer, citation)
    player.qtbot.waitUntil(lambda: "stalled" in player.panel.problem_text(), timeout=5000)
    player.sb.server.faults.clear()  # the host answers again
    player.wait_for_frame_near(citation["start_sec"])
    player.qtbot.waitUntil(lambda: player.panel.problem_text() == "", timeout=5000)


def test_a_host_that_404s_mid_play_is_said_in_words(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    player.sb.server.faults.add(Fault.error(status=404, path="/media", times=None))
    player.engine.seek(150_000)  # a segment not fetched yet
    player.qtbot.waitUntil(lambda: "expired" in player.panel.problem_text(), timeout=10_000)
    assert player.panel.problem_text() == ("The video's address has expired and the server "
                                           "gave no working new one.")
    assert player.window.isVisible()  # the rest of the app carries on
    player.sb.server.faults.clear()
    player.play(answer, citation)  # a new click opens the video afresh
    player.wait_for_frame_near(citation["start_sec"])
    assert player.panel.problem_text() == ""


def test_a_video_the_server_cannot_resolve_is_said(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    citation = dict(answer.citations[0], hls_url=None)  # nothing to play without asking
    answer.citations[0] = citation
    citation["item_id"] = "ksi_00000000-0000-7000-8000-000000000000"
    player.play(answer, citation)
    player.qtbot.waitUntil(lambda: bool(player.panel.problem_text()), timeout=5000)
    assert player.panel.problem_text().startswith("This video cannot be played: ")
    assert not player.panel.canvas.has_frame()


def test_without_an_audio_device_the_video_plays_silently(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    panel = player.panel
    if QMediaDevices.audioOutputs():
        assert panel.engine.has_audio() and panel.volume_slider.isEnabled()
    else:
        assert not panel.engine.has_audio()
        assert not panel.volume_slider.isEnabled() and panel.volume_slider.toolTip() == NO_AUDIO


def test_without_a_multimedia_backend_the_player_says_so(tmp_path: Path) -> None:
    # The backend is a plugin found once per process: a process whose plugin folder holds
    # only the platform plugin is an installation that lost the FFmpeg plugin.
    script = textwrap.dedent("""
        import os, sys, PySide6
        from PySide6.QtCore import QCoreApplication
        plugins = sys.argv[1]
        os.symlink(os.path.join(os.path.dirname(PySide6.__file__), "Qt", "plugins",
                                "platforms"), os.path.join(plugins, "platforms"))
        QCoreApplication.setLibraryPaths([plugins])
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from jockey_desktop.ui.player.engine import PlaybackEngine
        from jockey_desktop.ui.player.panel import PlayerPanel
        engine = PlaybackEngine()
        panel = PlayerPanel(engine)
        engine.load("http://127.0.0.1:9/index.m3u8", 3.0, 5.0)
        print("PROBLEM:", panel.problem_text())
        print("PLAY ENABLED:", panel.play_button.isEnabled())
    """)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    env: dict[str, Any] = {"PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
                           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script, str(plugins)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"PROBLEM: {NO_BACKEND}" in done.stdout
    assert "PLAY ENABLED: False" in done.stdout


def test_without_a_connection_the_player_says_why(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    player.controller.set_client(None)
    player.play(answer, answer.citations[0])
    player.qtbot.waitUntil(lambda: bool(player.panel.problem_text()), timeout=5000)
    assert "No API key is set" in player.panel.problem_text()


def test_a_configured_proxy_does_not_take_the_players_loopback_stream(
    player: PlayerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FFmpeg honours a lowercase http_proxy for every host not in no_proxy, loopback too.
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    proxy = RecordingProxy()
    try:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.setenv("NO_PROXY", "corp.example")
        player.play(answer, citation)
        player.wait_for_frame_near(citation["start_sec"])
    finally:
        proxy.stop()
    assert proxy.requests == []
    assert os.environ["no_proxy"].split(",") == ["corp.example", "127.0.0.1"]


def test_ffmpeg_writes_nothing_of_its_own_to_stderr(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    player.play(answer, answer.citations[0])
    library = loaded_avutil()
    assert library is not None  # the backend loaded FFmpeg, and we found it
    assert library.av_log_get_level() == AV_LOG_QUIET


def test_an_image_citation_has_nothing_to_play_and_builds_nothing(
    player: PlayerHarness,
) -> None:
    answer = answer_message(player.sb)
    image = dict(answer.citations[0], kind="image_citation")
    answer.citations.append(image)
    player.play(answer, image)
    assert player.feature.panel is None and player.feature.dock is None
    assert "nothing to play" in player.window.status_text()
