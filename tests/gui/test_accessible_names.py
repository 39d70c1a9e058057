"""Accessibility of the real window: every control a keyboard reaches has a name, and the
labels that show information (titles, store, session state, the player's title, count,
range and time) are announced with what they show, not with a name in its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QWidget

from jockey_desktop.presentation.moments import answer_moments
from jockey_desktop.ui.notice_banner import NoticeBanner
from jockey_desktop.ui.player.engine import PlaybackEngine
from jockey_desktop.ui.player.panel import PlayerPanel
from tests.helpers.accessibility import (
    hidden_label_texts,
    labels_named_over_their_text,
    unnamed_controls,
)
from tests.helpers.app import Started, ask_and_wait, new_conversation, wait_for_store
from tests.helpers.media import PLAYER_LOG_IGNORE
from tests.helpers.records import answer_with_citations

pytestmark = pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE, r"This plugin does not support")


def test_the_window_names_its_controls_and_speaks_its_labels(qtbot: Any,
                                                             start: Started) -> None:
    desktop = start()
    window = desktop.window
    wait_for_store(qtbot, desktop)
    new_conversation(qtbot, desktop)
    # The starter questions page, then a conversation with an answer.
    qtbot.waitUntil(lambda: window.chat_pane.starters_shown() and bool(
        window.chat_pane.starters.buttons), timeout=10_000)
    assert unnamed_controls(window) == []
    assert hidden_label_texts(window) == []
    ask_and_wait(qtbot, desktop)
    assert unnamed_controls(window) == []
    assert hidden_label_texts(window) == []


def test_the_player_speaks_its_title_count_range_and_time(qtbot: Any) -> None:
    panel = PlayerPanel(PlaybackEngine())
    qtbot.addWidget(panel)
    moments = answer_moments(answer_with_citations(2))
    panel.show_moments(moments, 0)
    panel.show_moment(moments[0])
    panel.resize(400, 500)
    panel.show()
    qtbot.waitExposed(panel)
    assert hidden_label_texts(panel) == []
    assert unnamed_controls(panel) == []


def _widgets() -> list[tuple[str, Callable[[], QWidget]]]:
    from jockey_desktop.ui.chat_pane import ChatPane
    from jockey_desktop.ui.compare_view import CompareColumnView
    from jockey_desktop.ui.composer import Composer
    from jockey_desktop.ui.find_bar import FindBar
    from jockey_desktop.ui.settings_dialog import SettingsDialog
    from jockey_desktop.ui.sidebar import ConversationSidebar
    from jockey_desktop.ui.store_picker import StorePicker
    from jockey_desktop.ui.stores.store_dialog import StoreDialog
    from jockey_desktop.ui.stores.stores_view import StoresView
    from jockey_desktop.ui.welcome import WelcomePage

    return [("chat pane", ChatPane), ("compare column", CompareColumnView),
            ("composer", Composer), ("find bar", FindBar),
            ("notice", lambda: _notice(NoticeBanner())),
            ("settings", SettingsDialog), ("sidebar", ConversationSidebar),
            ("store picker", StorePicker), ("store dialog", StoreDialog),
            ("stores", StoresView), ("welcome", lambda: WelcomePage(icon=_logo())),
            ("player", lambda: PlayerPanel(PlaybackEngine()))]


def _notice(banner: NoticeBanner) -> NoticeBanner:
    banner.show_text("The data folder is full: open Settings to choose another.", "Retry")
    return banner


def _logo() -> QIcon:
    picture = QPixmap(32, 32)
    picture.fill(QColor("teal"))
    return QIcon(picture)


@pytest.mark.parametrize("make", [make for _name, make in _widgets()],
                         ids=[name for name, _make in _widgets()])
def test_no_label_has_a_name_in_place_of_its_text(qtbot: Any,
                                                  make: Callable[[], QWidget]) -> None:
    # A reason why a question was not sent, a store's problem, a search's status: each label
    # is read as what it says (what it is goes in its description).
    widget = make()
    qtbot.addWidget(widget)
    assert labels_named_over_their_text(widget) == []


@pytest.mark.parametrize("make", [make for _name, make in _widgets()],
                         ids=[name for name, _make in _widgets()])
def test_every_control_a_keyboard_reaches_has_a_name(qtbot: Any,
                                                      make: Callable[[], QWidget]) -> None:
    widget = make()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    assert unnamed_controls(widget) == []
