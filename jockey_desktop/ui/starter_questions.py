"""What an empty conversation shows: a few questions to start with, one click to ask.

Pure UI: it shows the questions it is given (the guide's, then ones drawn from the store's
own videos) and emits the one clicked. Question text may hold video titles from a server:
buttons show it verbatim (``plain_menu_text`` keeps an ``&`` from becoming a mnemonic).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.ui.elided_button import ElidedPushButton
from jockey_desktop.ui.theme import plain_tooltip, set_plain_text

INTRO = "Not sure where to start? Ask one of these, or type your own question below."
#: The intro while none of the store's videos is ready (its questions are then greyed out).
NOT_READY_INTRO = ("None of this store's videos is ready yet, so these questions cannot be "
                   "answered for now.")


class StarterQuestions(QWidget):
    """A heading, a sentence and one button per starter question."""

    #: A question was clicked (its text).
    sig_question_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StarterQuestions")
        self.setAccessibleName("Starter questions")
        self.heading = QLabel(self)
        self.heading.setProperty("role", "heading")
        self.heading.setAccessibleDescription("Starter questions heading")
        self.heading.setWordWrap(True)
        self.intro = QLabel(INTRO, self)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.intro.setWordWrap(True)
        self.intro.setProperty("role", "muted")
        self.buttons: list[QPushButton] = []
        self._answerable = True
        self._questions: list[str] = []
        self._column = QVBoxLayout()
        self._column.setSpacing(8)
        inner = QVBoxLayout()
        inner.setSpacing(10)
        inner.addStretch(2)
        inner.addWidget(self.heading)
        inner.addWidget(self.intro)
        inner.addSpacing(6)
        inner.addLayout(self._column)
        inner.addStretch(3)
        holder = QWidget(self)
        holder.setLayout(inner)
        holder.setMaximumWidth(640)
        row = QWidget(self)
        columns = QHBoxLayout(row)
        # The column takes the width its questions want (up to 640) before the margins get
        # any: a narrow window elides questions only once the margins are gone.
        columns.addStretch(1)
        columns.addWidget(holder)
        columns.addStretch(1)
        # Scrolls in a short window instead of making the window taller than the screen (with
        # a grown question box below it, the page alone asked for more than 600 px).
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(row)
        # Not a tab stop of its own: an unnamed stop between the question box and the
        # questions, where Tab seemed to do nothing (it still scrolls to a focused question).
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # The page's own background shows through (light and dark themes alike).
        self.scroll_area.viewport().setAutoFillBackground(False)
        row.setAutoFillBackground(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self.set_store_name("")

    def set_store_name(self, name: str) -> None:
        """Name the store the questions go to in the heading."""
        where = name.strip()
        set_plain_text(self.heading, f"Ask about the videos in “{where}”" if where
                       else "Ask about the videos in this knowledge store")

    def set_questions(self, questions: list[str]) -> None:
        """Show these questions (in order), replacing the ones shown."""
        if questions == self._questions:
            return
        self._questions = list(questions)
        for button in self.buttons:
            self._column.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for question in self._questions:
            # Elided when narrow (a long video title must not widen the window).
            button = ElidedPushButton(question, self)
            button.setObjectName("starterQuestion")
            button.setAccessibleName(question)
            button.setToolTip(plain_tooltip(f"Ask: {question}"))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(partial(self.sig_question_chosen.emit, question))
            button.setEnabled(self._answerable)
            self._column.addWidget(button)
            self.buttons.append(button)

    def questions(self) -> list[str]:
        """The questions shown."""
        return list(self._questions)

    def set_answerable(self, answerable: bool, why: str | None = None) -> None:
        """Offer the questions, or grey them out and say why (``why``, by default: no video
        of the store is ready; every one of them would fail)."""
        self._answerable = answerable
        self.intro.setText(INTRO if answerable else (why or NOT_READY_INTRO))
        for button in self.buttons:
            button.setEnabled(answerable)

    def is_answerable(self) -> bool:
        """False while the questions are greyed out."""
        return self._answerable
