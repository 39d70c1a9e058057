"""The composer's chips, ``@`` completion driven by the keyboard, and "Also search the web"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget

from jockey_desktop.ui.composer import Composer

# The offscreen platform's own limits (the completion list is a popup window).
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")

FOX = {"kind": "item", "id": "ksi_fox", "name": "Ice and the Arctic Fox"}
WINGS = {"kind": "item", "id": "ksi_wings", "name": "Wings over the Wetland"}
NIGHTS = {"kind": "collection", "id": "ksic_nights", "name": "Night shoots"}


@pytest.fixture
def composer(qtbot: Any) -> Iterator[Composer]:
    """A shown composer with focus in its text field."""
    widget = Composer()
    qtbot.addWidget(widget)
    widget.resize(640, 160)
    widget.show()
    qtbot.waitExposed(widget)
    widget.edit.setFocus()
    yield widget


def keys_target(composer: Composer) -> QWidget:
    """Where a key press goes: the completion list while it is open, else the field."""
    return composer.mentions.popup() if composer.mentions.is_open() else composer.edit


def type_text(qtbot: Any, composer: Composer, text: str) -> None:
    for char in text:
        qtbot.keyClicks(keys_target(composer), char)


def press(qtbot: Any, composer: Composer, key: Qt.Key) -> None:
    qtbot.keyClick(keys_target(composer), key)


def shown_rows(composer: Composer) -> list[str]:
    model = composer.mentions.popup().model()
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def test_at_asks_for_candidates_once_known_offers_them_and_enter_picks(
    qtbot: Any, composer: Composer
) -> None:
    wanted: list[bool] = []
    composer.sig_mentions_wanted.connect(lambda: wanted.append(True))
    type_text(qtbot, composer, "What happens in @")
    assert wanted and not composer.mentions.is_open()  # nothing known yet: asked for them
    composer.set_mention_candidates([FOX, WINGS, NIGHTS])
    qtbot.waitUntil(composer.mentions.is_open, timeout=3_000)
    assert shown_rows(composer) == ["Ice and the Arctic Fox", "Wings over the Wetland",
                                    "Night shoots · collection"]
    type_text(qtbot, composer, "the")  # filters by any part of the name
    assert shown_rows(composer) == ["Ice and the Arctic Fox", "Wings over the Wetland"]
    sent: list[str] = []
    composer.sig_send_requested.connect(sent.append)
    with qtbot.waitSignal(composer.sig_mention_picked) as picked:
        press(qtbot, composer, Qt.Key.Key_Down)
        press(qtbot, composer, Qt.Key.Key_Return)
    assert picked.args == ["item", "ksi_wings", "Wings over the Wetland"]
    assert composer.text() == "What happens in @Wings over the Wetland "
    assert sent == []  # Enter picked; it did not send
    assert not composer.mentions.is_open()
    assert QApplication.focusWidget() is composer.edit
    type_text(qtbot, composer, "?")
    press(qtbot, composer, Qt.Key.Key_Return)
    assert sent == ["What happens in @Wings over the Wetland ?"]


def test_tab_picks_and_escape_closes_the_list_without_stopping(
    qtbot: Any, composer: Composer
) -> None:
    composer.set_mention_candidates([FOX, WINGS])
    composer.set_busy(True)
    stops: list[bool] = []
    composer.sig_stop_requested.connect(lambda: stops.append(True))
    type_text(qtbot, composer, "@ice")
    qtbot.waitUntil(composer.mentions.is_open, timeout=3_000)
    assert shown_rows(composer) == ["Ice and the Arctic Fox"]
    press(qtbot, composer, Qt.Key.Key_Escape)
    assert not composer.mentions.is_open() and stops == []  # Esc closed the list only
    assert composer.text() == "@ice"
    press(qtbot, composer, Qt.Key.Key_Escape)
    assert stops == [True]  # and Esc stops the answer again once the list is closed
    type_text(qtbot, composer, " @wet")
    qtbot.waitUntil(composer.mentions.is_open, timeout=3_000)
    with qtbot.waitSignal(composer.sig_mention_picked) as picked:
        press(qtbot, composer, Qt.Key.Key_Tab)
    assert picked.args == ["item", "ksi_wings", "Wings over the Wetland"]
    assert composer.text() == "@ice @Wings over the Wetland "


def test_no_list_inside_a_word_or_for_a_name_nothing_matches(qtbot: Any,
                                                             composer: Composer) -> None:
    composer.set_mention_candidates([FOX])
    type_text(qtbot, composer, "mail bob@ice")
    assert not composer.mentions.is_open()
    type_text(qtbot, composer, " @zzz")
    assert not composer.mentions.is_open()


def test_chips_show_the_selections_and_their_remove_buttons_ask_to_remove(
    qtbot: Any, composer: Composer
) -> None:
    assert not composer.chips.isVisible()
    composer.set_selections([FOX, NIGHTS])
    assert composer.chips.isVisible()
    chips = composer.chips.chips()
    assert [c.label.text() for c in chips] == ["Ice and the Arctic Fox", "Night shoots"]
    assert chips[1].accessibleName() == "Asking about collection Night shoots"
    assert chips[0].remove_button.accessibleName() == "Remove Ice and the Arctic Fox"
    with qtbot.waitSignal(composer.sig_selection_removed) as removed:
        qtbot.mouseClick(chips[1].remove_button, Qt.MouseButton.LeftButton)
    assert removed.args == [1]
    composer.set_selections([])
    assert not composer.chips.isVisible()


def test_at_in_a_store_with_nothing_to_pick_says_so_and_picks_nothing(
    qtbot: Any, composer: Composer
) -> None:
    from jockey_desktop.ui.selection_chips import NOTHING_TO_PICK

    picked: list[tuple[str, str, str]] = []
    composer.sig_mention_picked.connect(lambda *args: picked.append(args))
    composer.set_mention_candidates([])  # listed: no ready video, no collection
    type_text(qtbot, composer, "What is in @")
    assert composer.mentions.is_open()
    assert shown_rows(composer) == [NOTHING_TO_PICK]
    press(qtbot, composer, Qt.Key.Key_Return)
    assert picked == [] and composer.selections() == []
    assert composer.text() == "What is in @"
    type_text(qtbot, composer, "x")  # a name: the sentence is no answer to it
    assert not composer.mentions.is_open()


def test_chips_added_or_removed_while_chips_show_are_shown_and_take_room(
    qtbot: Any, composer: Composer
) -> None:
    composer.set_selections([FOX])
    qtbot.waitUntil(lambda: composer.chips.chips()[0].isVisible(), timeout=2000)
    # A second pick, then removing the first: the bar is already shown each time.
    for chosen in ([FOX, WINGS], [WINGS]):
        composer.set_selections(chosen)
        chips = composer.chips.chips()
        assert [c.label.text() for c in chips] == [c["name"] for c in chosen]
        assert all(c.isVisible() for c in chips)
        tall = chips[0].sizeHint().height()
        qtbot.waitUntil(lambda tall=tall: composer.chips.height() >= tall, timeout=2000)
        assert all(not c.geometry().isEmpty() for c in chips)


def test_the_web_search_box_says_when_the_user_turns_it(qtbot: Any,
                                                        composer: Composer) -> None:
    toggled: list[bool] = []
    composer.sig_web_search_toggled.connect(toggled.append)
    composer.set_web_search(True)  # the conversation's setting: not the user's act
    assert composer.web_search() and toggled == []
    box = composer.web_search_box
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert toggled == [False] and not composer.web_search()
    composer.web_search_box.setFocus()
    qtbot.keyClick(composer.web_search_box, Qt.Key.Key_Space)
    assert toggled == [False, True]
