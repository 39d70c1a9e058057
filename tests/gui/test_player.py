"""The player with a real QMediaPlayer decoding the sandbox's HLS into a QVideoSink, offscreen:
a moment plays from its start, pauses or loops at its end, previous/next step across videos,
an expired address is re-resolved, the transcript seeks, keys drive it, and no request to the
media host carries the API key."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton

from jockey_desktop.presentation.moments import answer_moments
from tests.helpers.media import (
    PlayerHarness,
    answer_message,
    media_sandbox,
    player,
    player_marks,
)

__all__ = ["media_sandbox", "player"]

pytestmark = player_marks()


def _with_range(message: Any, index: int, start: float, end: float) -> tuple[Any, dict]:
    """A copy of an answer whose ``index``-th citation covers [start, end]."""
    edited = copy.deepcopy(message)
    citation = edited.citations[index]
    citation["start_sec"], citation["end_sec"] = start, end
    return edited, citation


def test_a_moment_plays_from_its_start_and_frames_keep_coming(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    assert player.feature.panel is None  # nothing of the player exists before the first click
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    panel = player.panel
    assert panel.title_label.text() == citation["title"]
    first = panel.canvas.painted_frames
    player.qtbot.waitUntil(lambda: panel.canvas.painted_frames >= first + 2, timeout=5000)
    start, end = player.engine.range_ms()
    assert (start, end) == (round(citation["start_sec"] * 1000), round(citation["end_sec"] * 1000))
    assert panel.seek_bar.cited_range() == (start, end)
    moments = answer_moments(answer)
    same_video = [m.index for m in moments if m.item_id == citation["item_id"]]
    assert sorted(m.index for m in panel.seek_bar.markers()) == same_video
    assert panel.moments_list.count() == len(moments)
    assert player.sb.server.media_requests_with_key == 0
    assert panel.problem_text() == ""
    unnamed = [w for w in [*panel.findChildren(QAbstractButton), panel.seek_bar, panel.canvas]
               if not w.accessibleName()]
    assert unnamed == []
    player.feature.dock.close()  # a player out of sight does not play on
    player.qtbot.waitUntil(lambda: not player.engine.is_playing(), timeout=3000)


def test_playback_pauses_at_the_end_of_the_cited_range(player: PlayerHarness) -> None:
    answer, citation = _with_range(answer_message(player.sb), 0, 20.0, 21.5)
    player.play(answer, citation)
    player.wait_for_frame_near(20.0)
    with player.qtbot.waitSignal(player.engine.sig_range_end, timeout=10_000):
        pass
    assert not player.engine.is_playing()
    assert 21_000 <= player.engine.position() <= 22_500


def test_loop_plays_the_range_again(player: PlayerHarness) -> None:
    answer, citation = _with_range(answer_message(player.sb), 0, 30.0, 31.5)
    player.play(answer, citation)
    player.wait_for_frame_near(30.0)
    positions: list[int] = []
    player.engine.sig_position.connect(positions.append)
    player.panel.loop_button.click()
    assert player.engine.is_looping()

    def looped() -> bool:
        return any(b < a - 500 for a, b in itertools.pairwise(positions))

    player.qtbot.waitUntil(looped, timeout=10_000)
    assert player.engine.is_playing()
    assert all(29_000 <= p <= 32_500 for p in positions)


def test_previous_and_next_step_through_the_answer_across_videos(
    player: PlayerHarness,
) -> None:
    answer = answer_message(player.sb)
    moments = answer_moments(answer)
    switch = next(i for i in range(1, len(moments))
                  if moments[i].item_id != moments[i - 1].item_id)
    player.play(answer, dict(moments[switch - 1].citation))
    player.wait_for_frame_near(moments[switch - 1].start)
    panel = player.panel
    before = player.engine.source()
    assert panel.next_button.isEnabled()
    panel.setFocus()
    player.qtbot.keyClick(panel, Qt.Key.Key_N)  # the next moment is in another video
    player.qtbot.waitUntil(lambda: player.controller.current_index() == switch, timeout=3000)
    assert player.engine.source() != before
    player.wait_for_frame_near(moments[switch].start)
    assert panel.title_label.text() == moments[switch].title
    panel.prev_button.click()
    player.qtbot.waitUntil(lambda: player.controller.current_index() == switch - 1,
                           timeout=3000)
    player.wait_for_frame_near(moments[switch - 1].start)
    player.controller.step(-len(moments))  # past the first: nowhere to go, nothing happens
    assert player.controller.current_index() == switch - 1


def test_an_expired_address_is_resolved_again_before_and_during_play(
    player: PlayerHarness,
) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.sb.expire_media()  # yesterday's answer: its signed URLs no longer work
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    assert "fresh one was obtained" in player.window.status_text()
    player.sb.expire_media()  # and they expire again while it plays: the next segment
    player.engine.seek(130_000)
    player.wait_for_frame_near(130.0)
    assert player.panel.problem_text() == ""
    assert player.sb.server.media_requests_with_key == 0


def test_a_transcript_sentence_click_seeks_there(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    player.play(answer, answer.citations[0])
    panel = player.panel
    player.qtbot.waitUntil(panel.has_transcript, timeout=5000)
    panel.tabs.setCurrentWidget(panel.transcript_view)
    view = panel.transcript_view
    assert view.sentence_count() > 3
    row = view.sentence_count() - 2
    item = view.item(row)
    view.scrollToItem(item)
    target = float(item.text().split()[0].split(":")[0]) * 60 + \
        float(item.text().split()[0].split(":")[1])
    player.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                            pos=view.visualItemRect(item).center())
    player.wait_for_frame_near(target)
    player.qtbot.waitUntil(lambda: view.playing_row() == row, timeout=5000)


def test_keys_play_pause_and_skip(player: PlayerHarness) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    panel, engine, qtbot = player.panel, player.engine, player.qtbot
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not engine.is_playing(), timeout=3000)
    paused_at = engine.position()
    qtbot.keyClick(panel, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: engine.position() >= paused_at + 4500, timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_Left)
    qtbot.keyClick(panel, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: engine.position() <= paused_at - 4500, timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    qtbot.waitUntil(engine.is_playing, timeout=3000)
    qtbot.keyClick(panel, Qt.Key.Key_Period, Qt.KeyboardModifier.ShiftModifier)
    assert engine.rate() == 1.25


def test_copy_time_and_open_in_the_system_player(
    player: PlayerHarness, tmp_path: Path
) -> None:
    answer = answer_message(player.sb)
    citation = answer.citations[0]
    player.play(answer, citation)
    player.wait_for_frame_near(citation["start_sec"])
    panel = player.panel
    panel.engine.pause()
    panel.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith(f"{citation['title']} ")
    minutes, seconds = copied.rsplit(" ", 1)[1].split(":")
    assert abs(int(minutes) * 60 + int(seconds) - panel.engine.position() / 1000) <= 1
    panel.open_button.click()
    player.qtbot.waitUntil(lambda: bool(player.opened), timeout=5000)
    playlist = Path(player.opened[0].toLocalFile())
    text = playlist.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n") and "#EXTVLCOPT:start-time=" in text
    assert text.strip().splitlines()[-1].startswith(player.sb.server.root_url + "/media/")
    assert playlist.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kind", ["selected", "answer"])
def test_moments_export_from_the_player(player: PlayerHarness, tmp_path: Path,
                                        kind: str) -> None:
    import opentimelineio as otio  # type: ignore[import-untyped]

    from jockey_desktop.core.moments_export import MomentFormat

    answer = answer_message(player.sb)
    player.play(answer, answer.citations[0])
    panel = player.panel
    moments = answer_moments(answer)
    target = tmp_path / f"{kind}.otio"
    player.export_answers.append((str(target), MomentFormat.OTIO))
    if kind == "selected":
        panel.moments_list.item(0).setSelected(True)
        panel.moments_list.item(2).setSelected(True)
        panel.action_export_selected.trigger()
        wanted = [moments[0], moments[2]]
    else:
        panel.action_export_answer.trigger()
        wanted = moments
    player.qtbot.waitUntil(lambda: "exported to" in player.window.status_text(), timeout=5000)
    clips = list(otio.adapters.read_from_file(str(target)).find_clips())
    assert [c.name for c in clips] == [m.title for m in wanted]
    rates = {i.id: i.system_metadata["fps"] for i in player.sb.items}
    first = clips[0].source_range
    assert first.start_time.to_seconds() == pytest.approx(wanted[0].start, abs=0.05)
    assert first.start_time.rate == pytest.approx(rates.get(wanted[0].item_id, 30), rel=0.01)


def test_an_export_to_a_full_disk_says_so_and_keeps_the_old_file(
        player: PlayerHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from jockey_desktop.core.moments_export import MomentFormat
    from jockey_desktop.core.storage import export as storage_export

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage_export.os, "fsync", full)
    answer = answer_message(player.sb)
    player.play(answer, answer.citations[0])
    target = tmp_path / "cut.otio"
    target.write_text("yesterday's cut", encoding="utf-8")
    player.export_answers.append((str(target), MomentFormat.OTIO))
    player.panel.action_export_answer.trigger()
    player.qtbot.waitUntil(lambda: "not exported" in player.window.status_text(), timeout=5000)
    assert player.window.status_text() == (
        f"The moments were not exported: cut.otio could not be saved: the disk holding "
        f"{tmp_path} is full. The file that was there is unchanged. Free some space there or "
        "choose another folder, then save again.")
    assert target.read_text(encoding="utf-8") == "yesterday's cut"
