"""The player in the whole app: nothing of it before the first click, a chip click in the
transcript plays the moment in a dock beside the chat, the window's shortcuts step through the
answer, a popped-out player's size comes back after a restart, and the app's sandbox never
sees the key on a media request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from jockey_desktop.core.moments_export import MomentFormat
from jockey_desktop.core.storage.models import Role
from jockey_desktop.presentation.moments import answer_moments
from tests.helpers.app import (
    Started,
    ask_and_wait,
    new_conversation,
    turn_done,
    wait_for_store,
)
from tests.helpers.media import player_marks
from tests.helpers.views import row_layout, settle

pytestmark = player_marks()


def _click_chip(qtbot: Any, desktop: Any, chip: int = 0) -> Any:
    """Click chip ``chip`` of the newest answer on screen; returns that answer."""
    view = desktop.window.chat_pane.chat_view
    answer = [m for m in view.message_model.messages() if m.role == Role.ASSISTANT][-1]
    settle(qtbot, view)
    layout, origin = row_layout(view, answer.id)
    rect, _index, _label = layout.chips[chip]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=(rect.center() + QPointF(origin)).toPoint())
    return answer


def _playing_near(desktop: Any, seconds: float) -> bool:
    feature = desktop.player
    return (feature.panel is not None and feature.panel.canvas.has_frame()
            and abs(feature.engine.position() - seconds * 1000) <= 1000)


def test_a_chip_click_plays_its_moment_in_the_dock(qtbot: Any, start: Started) -> None:
    desktop = start()
    feature = desktop.player
    assert feature.panel is None and feature.dock is None  # built on first use only
    assert feature.menu.title() == "&Video"
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    answer = _click_chip(qtbot, desktop)
    moments = answer_moments(answer)
    qtbot.waitUntil(lambda: _playing_near(desktop, moments[0].start), timeout=10_000)
    assert feature.dock is not None and feature.dock.isVisible()
    assert feature.dock.isAncestorOf(feature.panel)
    assert desktop.window.dockWidgetArea(feature.dock) == Qt.DockWidgetArea.RightDockWidgetArea
    desktop.window.chat_pane.composer.edit.setFocus()
    qtbot.keyClick(desktop.window.chat_pane.composer.edit, Qt.Key.Key_BracketRight,
                   Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: feature.controller.current_index() == 1, timeout=3000)
    qtbot.waitUntil(lambda: _playing_near(desktop, moments[1].start), timeout=10_000)
    sandbox = desktop.connection.sandbox()
    assert sandbox is not None and sandbox.media_requests_with_key == 0


def test_enter_on_an_answer_plays_its_first_moment_and_enter_in_the_question_box_sends(
        qtbot: Any, start: Started) -> None:
    """The keyboard's way to a chip: Enter on the answer (moved to with the arrows) plays
    its first moment in the dock, as a click on that chip does; the question box's Enter
    still sends."""
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    view = desktop.window.chat_pane.chat_view
    answer = [m for m in view.message_model.messages() if m.role == Role.ASSISTANT][-1]
    view.setFocus()
    view.setCurrentIndex(view.index_for(answer.id))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    moments = answer_moments(answer)
    qtbot.waitUntil(lambda: _playing_near(desktop, moments[0].start), timeout=10_000)
    feature = desktop.player
    assert feature.dock is not None and feature.dock.isVisible()
    assert feature.controller.current_index() == 0
    composer = desktop.window.chat_pane.composer
    composer.edit.setFocus()
    composer.set_text("And the second one?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(turn_done(desktop, conversation_id, 2), timeout=15_000)
    assert composer.text() == ""


def test_moments_export_from_the_menu_and_the_transcript(
    qtbot: Any, start: Started, tmp_path: Path
) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    feature, window = desktop.player, desktop.window
    asked: list[str] = []
    targets = [(str(tmp_path / "talk.edl"), MomentFormat.EDL),
               (str(tmp_path / "answer.csv"), MomentFormat.CSV)]

    def ask(_parent: Any, title: str) -> tuple[str, MomentFormat]:
        asked.append(title)
        return targets.pop(0)

    feature._ask_export_path = ask
    feature.action_export.trigger()  # Video → Export this conversation's moments…
    qtbot.waitUntil(lambda: (tmp_path / "talk.edl").exists(), timeout=5000)
    answers = [m for m in desktop.repo.list_messages(conversation_id) if m.role == Role.ASSISTANT]
    moments = answer_moments(answers[-1])
    edl = (tmp_path / "talk.edl").read_text(encoding="utf-8")
    assert len(re.findall(r"^\d{3}\s", edl, re.M)) == len(moments)
    # Each event names the uploaded file (asked of the server): what an editor relinks by.
    assert len(re.findall(r"^\* FROM CLIP: [a-z0-9_]+\.mp4$", edl, re.M)) == len(moments)
    assert asked[0] == f"{window.chat_pane.title_label.text()} moments"
    view = window.chat_pane.chat_view
    settle(qtbot, view)
    _layout, origin = row_layout(view, answers[-1].id)
    menu = view.build_context_menu(origin + QPoint(40, 12))
    next(a for a in menu.actions() if a.text() == "Export moments…").trigger()
    qtbot.waitUntil(lambda: (tmp_path / "answer.csv").exists(), timeout=5000)
    rows = (tmp_path / "answer.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(moments)
    # The file to relink and the drop-frame timecodes of the sandbox's 29.97 videos.
    assert all(re.match(r"[^,]*,[a-z0-9_]+\.mp4,[^,]+,[\d.]+,[\d.]+,\d\d:\d\d:\d\d;\d\d,", row)
               for row in rows[1:])
    assert feature.panel is None  # exporting builds no player


@player_marks(r"^This plugin does not support raise\(\)$")[0]  # a floating dock offscreen
def test_a_popped_out_players_size_comes_back(qtbot: Any, start: Started) -> None:
    desktop = start()
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    _click_chip(qtbot, desktop)
    feature = desktop.player
    qtbot.waitUntil(lambda: feature.dock is not None, timeout=5000)
    feature.dock.setFloating(True)  # popped out of the window
    feature.dock.resize(520, 430)
    qtbot.waitUntil(lambda: feature.dock.width() == 520, timeout=3000)
    start.stop(desktop)  # closing the window saves its state

    again = start()
    assert again.player.dock is None
    qtbot.waitUntil(lambda: again.window.chat_pane.current_conversation_id() is not None,
                    timeout=5000)
    _click_chip(qtbot, again)
    qtbot.waitUntil(lambda: again.player.dock is not None and again.player.dock.isVisible(),
                    timeout=5000)
    dock = again.player.dock
    assert dock.isFloating()
    qtbot.waitUntil(lambda: (dock.width(), dock.height()) == (520, 430), timeout=3000)


# The stores window is a top-level window: raising it logs the offscreen plugin's line too.
@player_marks(r"^This plugin does not support raise\(\)$")[0]
def test_play_in_the_stores_view_plays_the_item_from_its_start(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    feature = desktop.store_feature
    feature.open(store.id)
    view = feature.view
    assert view is not None
    qtbot.waitUntil(lambda: any(r.raw_status == "ready" for r in view.items_model.rows()),
                    timeout=10_000)
    ready = next(r for r in view.items_model.rows() if r.raw_status == "ready")
    view.select_items([ready.id])
    qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    player = desktop.player
    qtbot.waitUntil(lambda: _playing_near(desktop, 0.0), timeout=10_000)
    assert player.dock is not None and player.dock.isVisible()
    assert [m.item_id for m in player.controller.moments()] == [ready.id]
    assert player.controller.moments()[0].title == ready.title
    sandbox = desktop.connection.sandbox()
    assert sandbox is not None and sandbox.media_requests_with_key == 0


def test_the_player_opens_beside_the_chat_of_a_small_window_without_widening_it(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    window = desktop.window
    window.resize(900, 600)
    wait_for_store(qtbot, desktop)
    qtbot.waitUntil(lambda: window.width() == 900, timeout=5000)
    desktop.player.show_player()
    dock = desktop.player.dock
    qtbot.waitUntil(lambda: dock is not None and dock.isVisible(), timeout=5000)
    # The window's minimum is the chat's plus the dock's: it must fit the small window
    # (long starter questions and store names used to push it to ~1180 pixels).
    assert window.minimumSizeHint().width() <= 900
    assert window.width() == 900
    # With a conversation on screen too (its header names the store and the session).
    new_conversation(qtbot, desktop)
    assert window.chat_pane.store_label.text()
    assert window.minimumSizeHint().width() <= 900
    assert window.width() == 900


@player_marks(r"^This plugin does not support propagateSizeHints\(\)$")[0]  # the dialog
def test_the_export_dialog_opens_where_the_last_export_went_after_a_restart(
    qtbot: Any, start: Started, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from jockey_desktop.ui.player.export_dialog import MomentsSaveDialog, export_filters

    desktop = start()
    wait_for_store(qtbot, desktop)
    ask_and_wait(qtbot, desktop)
    feature = desktop.player
    assert feature.export_start() == (None, MomentFormat.OTIO)  # Documents, the first time
    project = tmp_path / "project"
    project.mkdir()
    feature._ask_export_path = lambda _parent, _title: (str(project / "cut.xml"),
                                                        MomentFormat.FCP_XML)
    feature.action_export.trigger()
    qtbot.waitUntil(lambda: (project / "cut.xml").exists(), timeout=5000)
    start.stop(desktop)

    again = start()
    wait_for_store(qtbot, again)
    assert again.player.export_start() == (project, MomentFormat.FCP_XML)
    dialog = MomentsSaveDialog(None, "Next moments", *again.player.export_start())
    qtbot.addWidget(dialog)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    assert dialog.directory().absolutePath() == str(project)
    assert dialog.selectedNameFilter() == export_filters()[2]
    assert dialog.selectedFiles() == [str(project / "Next moments.xml")]
    (project / "cut.xml").unlink()
    project.rmdir()  # a folder since removed opens Documents, in the format last used
    assert again.player.export_start() == (None, MomentFormat.FCP_XML)


def test_nothing_to_export_is_said_before_any_save_dialog(qtbot: Any, start: Started) -> None:
    from tests.helpers.records import answer_with_citations

    desktop = start()
    store = wait_for_store(qtbot, desktop)
    new_conversation(qtbot, desktop)
    feature, window = desktop.player, desktop.window
    asked: list[str] = []
    feature._ask_export_path = lambda _parent, title: asked.append(title)
    feature.action_export.trigger()  # Video → Export: a conversation with no answer yet
    qtbot.waitUntil(lambda: "nothing to export" in window.status_text(), timeout=5000)
    assert window.status_text() == ("This conversation cites no moments of a video, so there "
                                    "is nothing to export.")
    whole = answer_with_citations(7)
    for citation in whole.citations:
        citation["start_sec"] = citation["end_sec"] = None
    feature.export_answer(store.id, whole)  # the transcript's "Export moments…"
    assert window.status_text() == ("This answer cites whole videos only, with no time range "
                                    "to cut, so there is nothing to export.")
    assert asked == []  # no file name was asked for


def test_an_export_says_how_many_moments_went_where_and_whose_rate_was_guessed(
    qtbot: Any, start: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    answer = [m for m in desktop.repo.list_messages(conversation_id)
              if m.role == Role.ASSISTANT][-1]
    moments = answer_moments(answer)
    titles = list(dict.fromkeys(m.title for m in moments))
    feature, window = desktop.player, desktop.window
    told: list[tuple[str, str, bool]] = []
    monkeypatch.setattr(window, "show_message",
                        lambda title, text, warning=False: told.append((title, text, warning)))
    target = tmp_path / "cut.edl"
    feature._ask_export_path = lambda _parent, _title: (str(target), MomentFormat.EDL)
    feature.export_answer(store.id, answer)
    qtbot.waitUntil(lambda: "exported to" in window.status_text(), timeout=5000)
    assert window.status_text() == f"{len(moments)} moments exported to {target}."
    assert told == []  # nothing to read twice: the status bar says it
    target.unlink()
    feature.controller.set_client(None)  # the server cannot be asked for the frame rates
    feature.export_answer(store.id, answer)
    qtbot.waitUntil(lambda: bool(told), timeout=5000)
    shown = ", ".join(titles[:3]) + (" …" if len(titles) > 3 else "")
    # Too long for the status bar (cut there, gone in seconds): told in a message.
    assert told == [("Moments exported", (
        f"{len(moments)} moments exported to {target}. Frame rate not known for {shown} (the "
        f"server could not be asked): timed at 30 fps, so {'its' if len(titles) == 1 else 'their'}"
        " timecodes may be off; export again when connected."), True)]
    assert target.exists()
