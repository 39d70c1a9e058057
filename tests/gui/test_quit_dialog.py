"""The question asked when quitting would lose answers a full disk could not take
(``ui.quit_dialog.ask_about_held_writes``): its buttons map to the choices, Try again is the
default, Esc cancels, and the folder in its text is shown as plain text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from jockey_desktop.presentation.quitting import QuitChoice, held_writes_text
from jockey_desktop.ui.quit_dialog import ask_about_held_writes
from tests.helpers.rich_text import rich_text_findings

#: A folder name Qt would render as HTML (and load the image of) if it were rich text.
HOSTILE = '/home/<img src="file:///tmp/x.png"><b>me</b>'

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def _answer_with(qtbot: Any, act: Callable[[QMessageBox], None]) -> tuple[QuitChoice, list[str]]:
    """Ask (the real modal box) and let ``act`` answer it once it is shown; returns the
    choice and what a rich-text walk of the open box found."""
    parent = QWidget()
    qtbot.addWidget(parent)
    findings: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, answer)  # not shown yet
            return
        findings.extend(rich_text_findings([box]))
        act(box)

    QTimer.singleShot(0, answer)
    return ask_about_held_writes(parent, held_writes_text(2, 0, HOSTILE)), findings


def _button(box: QMessageBox, text: str) -> Any:
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


@pytest.mark.parametrize(("label", "choice"), [
    ("Try again", QuitChoice.TRY_AGAIN), ("Quit anyway", QuitChoice.QUIT),
    ("Cancel", QuitChoice.CANCEL)])
def test_each_button_is_its_choice(qtbot: Any, label: str, choice: QuitChoice) -> None:
    seen: list[object] = []

    def click(box: QMessageBox) -> None:
        # Read now, assert later: an assertion failing here would leave the box open.
        default = box.defaultButton()
        seen.extend([box.text(), box.textFormat(),
                     default.text().replace("&", "") if default is not None else None])
        _button(box, label).click()

    chosen, findings = _answer_with(qtbot, click)
    assert chosen is choice and findings == []
    assert seen == [held_writes_text(2, 0, HOSTILE), Qt.TextFormat.PlainText, "Try again"]


def test_escape_cancels(qtbot: Any) -> None:
    chosen, _findings = _answer_with(
        qtbot, lambda box: qtbot.keyClick(box, Qt.Key.Key_Escape))
    assert chosen is QuitChoice.CANCEL
