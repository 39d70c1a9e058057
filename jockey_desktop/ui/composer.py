"""The message composer: a multi-line editor with Send/Stop, a length counter and inline
refusal reasons; above it the chips of what the question asks about, below it "Also search
the web".

Enter sends, Shift+Enter adds a line, Esc stops a running answer. ``@`` offers the store's
videos and collections (arrows, Enter or Tab pick one; Esc closes the list); a pick becomes a
chip and ``@Name`` in the text. Drafts are reported through a
debounced ``sig_draft_changed``; :meth:`Composer.set_text` (loading another conversation's
draft) never emits it, and :meth:`Composer.flush_draft` lets the owner deliver a pending draft
*before* it switches conversations, so a draft can't be saved into the wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QFontMetricsF,
    QKeyEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.limits import MAX_QUESTION_CHARS, too_long_reason
from jockey_desktop.presentation.formatting import format_count
from jockey_desktop.ui.selection_chips import MentionCompleter, SelectionChipsBar
from jockey_desktop.ui.theme import error_color, is_dark_palette

#: What the counter counts against; longer questions are refused by the API.
MAX_CHARS = MAX_QUESTION_CHARS
#: The most the field holds at all: room to trim an over-long paste, but never the megabytes
#: that would freeze the window while the editor lays them out.
HARD_LIMIT = 2 * MAX_CHARS
COUNTER_FROM = 9_000
DRAFT_DEBOUNCE_MS = 400
BUSY_HINT = "Jockey is still answering — press Esc or Stop to cancel it first."
WEB_SEARCH_TEXT = "Also search the web"
WEB_SEARCH_TIP = ("Jockey may also search the web for this conversation; the pages it uses "
                  "are listed under the answer and open in your browser.")


def truncated_reason(kept: int, offered: int) -> str:
    """The inline note shown when a paste or draft was cut to ``HARD_LIMIT``."""
    return (
        f"Only the first {format_count(kept)} of {format_count(offered)} pasted characters "
        f"were inserted — messages are limited to {format_count(MAX_CHARS)} characters."
    )


class ComposerEdit(QPlainTextEdit):
    """The text field; turns Enter/Shift+Enter/Esc into composer actions and keeps pastes and
    drops within ``HARD_LIMIT``."""

    sig_submit = Signal()
    sig_escape = Signal()
    #: (kept, offered) — an insertion was cut to fit ``HARD_LIMIT``.
    sig_truncated = Signal(int, int)

    #: Keys an open completion popup owns (set by the composer): the field ignores them.
    key_owner: Callable[[int], bool] | None = None

    def room(self) -> int:
        """How many characters an insertion may add (the selection is replaced)."""
        cursor = self.textCursor()
        selected = cursor.selectionEnd() - cursor.selectionStart()
        # characterCount() counts the closing paragraph separator too.
        length = max(0, self.document().characterCount() - 1)
        return max(0, HARD_LIMIT - (length - selected))

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        """Only text can be pasted or dropped (it is cut to size on insertion)."""
        return source is not None and source.hasText()

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Insert the text of a paste or drop, cut to the room left.

        Cut *before* the editor sees it: laying out megabytes (a log file pasted by mistake)
        would block the GUI thread for seconds, and the API refuses it anyway.
        """
        if source is not None and source.hasText():
            self.insertPlainText(source.text())

    def insertPlainText(self, text: str) -> None:
        """Insert at the cursor, cut to the room left (``sig_truncated`` says so)."""
        room = self.room()
        if len(text) <= room:
            super().insertPlainText(text)
            return
        super().insertPlainText(text[:room])
        self.sig_truncated.emit(room, len(text))

    def setPlainText(self, text: str) -> None:
        """Replace the text, cut to ``HARD_LIMIT`` (``sig_truncated`` says so)."""
        if len(text) <= HARD_LIMIT:
            super().setPlainText(text)
            return
        super().setPlainText(text[:HARD_LIMIT])
        self.sig_truncated.emit(HARD_LIMIT, len(text))

    def event(self, event: QEvent) -> bool:
        """Keys an open completion list owns are left to it — before Qt's own handling,
        which would move the focus on Tab."""
        if (event.type() == QEvent.Type.KeyPress and self.key_owner is not None
                and isinstance(event, QKeyEvent) and self.key_owner(event.key())):
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter submits, Shift+Enter inserts a newline, Esc asks to stop."""
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                # A real "\n", not the U+2028 line separator QPlainTextEdit inserts by default.
                self.insertPlainText("\n")
            else:
                self.sig_submit.emit()
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.sig_escape.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Type a question; Send it, or Stop the answer in progress."""

    sig_send_requested = Signal(str)
    sig_stop_requested = Signal()
    sig_draft_changed = Signal(str)
    #: The chip at this index should go.
    sig_selection_removed = Signal(int)
    #: ``@`` completion picked (kind, id, name).
    sig_mention_picked = Signal(str, str, str)
    #: ``@`` was typed and no candidates are known: the owner fetches them.
    sig_mentions_wanted = Signal()
    #: "Also search the web" was turned on or off by the user.
    sig_web_search_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._last_sent: str | None = None

        self.edit = ComposerEdit(self)
        self.edit.setAccessibleName("Message")
        self.edit.setAccessibleDescription(
            "Type a question. Enter sends, Shift+Enter adds a line, Esc stops an answer."
        )
        self.edit.setTabChangesFocus(True)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_store_name("")

        self.send_button = QPushButton("Send")
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.send_button.setMinimumWidth(76)
        # A click leaves the focus in the question box (Tab still reaches the button).
        self.send_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.send_button.setAccessibleName("Send message")
        # Picked up by the app theme's stylesheet (ui/theme.py) when one is applied.
        self.send_button.setProperty("primary", True)

        self.counter_label = QLabel()
        self.counter_label.setAccessibleDescription("Character count")
        self.counter_label.hide()

        self.reason_label = QLabel()
        self.reason_label.setAccessibleDescription("Why the message was not sent")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_label.setProperty("role", "error")
        self.reason_label.hide()
        self._apply_error_colors()

        self.chips = SelectionChipsBar(self)
        self.chips.sig_remove_requested.connect(self.sig_selection_removed)
        self.mentions = MentionCompleter(self.edit, self)
        self.mentions.sig_wanted.connect(self.sig_mentions_wanted)
        self.mentions.sig_picked.connect(self.sig_mention_picked)
        self.edit.key_owner = self.mentions.handles_key

        self.web_search_box = QCheckBox(WEB_SEARCH_TEXT)
        self.web_search_box.setAccessibleName(WEB_SEARCH_TEXT)
        self.web_search_box.setToolTip(WEB_SEARCH_TIP)
        self.web_search_box.toggled.connect(self.sig_web_search_toggled)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        info = QHBoxLayout()
        info.setContentsMargins(2, 0, 2, 0)
        info.setSpacing(12)
        info.addWidget(self.web_search_box, 0, Qt.AlignmentFlag.AlignTop)
        info.addWidget(self.reason_label, 1)
        info.addWidget(self.counter_label, 0, Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        layout.addWidget(self.chips)
        layout.addLayout(row)
        layout.addLayout(info)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DEBOUNCE_MS)
        self._draft_timer.timeout.connect(self._emit_draft)

        self.edit.sig_submit.connect(self.submit)
        self.edit.sig_escape.connect(self._on_escape)
        self.edit.sig_truncated.connect(self._on_truncated)
        self.edit.textChanged.connect(self._on_text_changed)
        # Re-fit once wrapping is known (after layout, and when the width changes).
        self.edit.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.send_button.clicked.connect(self._on_button)
        self._fit_height()
        self._refresh()

    # -- public -------------------------------------------------------------------------------
    def text(self) -> str:
        """The text as typed (newlines as ``\\n``)."""
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        """Load a draft without emitting ``sig_draft_changed`` (it belongs to the conversation
        being shown, not to the one the text would otherwise be saved into)."""
        self._draft_timer.stop()
        offered = len(text)
        if offered > HARD_LIMIT:
            text = text[:HARD_LIMIT]  # e.g. a huge draft saved by an older version
        self.edit.blockSignals(True)
        try:
            self.edit.setPlainText(text)
        finally:
            self.edit.blockSignals(False)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)
        self._last_sent = None
        self.reason_label.hide()
        self._fit_height()
        self._refresh()
        if offered > HARD_LIMIT:
            self.show_reason(truncated_reason(HARD_LIMIT, offered))

    def set_selections(self, selections: Sequence[Mapping[str, Any]]) -> None:
        """Show what the next question asks about (chips, in placeholder order)."""
        self.chips.set_selections(selections)

    def selections(self) -> list[dict[str, Any]]:
        """The chips shown."""
        return self.chips.selections()

    def set_mention_candidates(self, candidates: Sequence[Mapping[str, Any]] | None) -> None:
        """What ``@`` offers (the store's ready videos and collections; None: unknown)."""
        self.mentions.set_candidates(candidates)

    def set_web_search(self, on: bool) -> None:
        """Show the conversation's "Also search the web" (no ``sig_web_search_toggled``)."""
        self.web_search_box.blockSignals(True)
        try:
            self.web_search_box.setChecked(bool(on))
        finally:
            self.web_search_box.blockSignals(False)

    def web_search(self) -> bool:
        """True while "Also search the web" is on."""
        return self.web_search_box.isChecked()

    def set_store_name(self, name: str, *, gone: bool = False) -> None:
        """Show which store questions go to in the placeholder (``gone``: the store no longer
        exists on the server, so the placeholder points to the picker instead)."""
        where = name.strip() or "this knowledge store"
        self.edit.setPlaceholderText(
            f"{where} no longer exists: pick another knowledge store above to ask…" if gone
            else f"Ask about the videos in {where}… (@ picks a video)")

    def set_busy(self, busy: bool) -> None:
        """While an answer streams, the button becomes Stop (typing stays possible)."""
        self._busy = bool(busy)
        if not busy and self.reason_label.text() == BUSY_HINT:
            self.reason_label.hide()
        self._refresh()

    def is_busy(self) -> bool:
        """True while the Stop button is shown."""
        return self._busy

    def show_reason(self, text: str) -> None:
        """Show why something was refused, right under the field."""
        self.reason_label.setText(text)
        self.reason_label.setVisible(bool(text))

    def reason(self) -> str:
        """The visible refusal reason ("" when none)."""
        return self.reason_label.text() if self.reason_label.isVisible() else ""

    def restore_unsent(self) -> None:
        """Put the last sent text back if the field is still empty (the send was refused)."""
        if self._last_sent is not None and not self.text():
            self.edit.setPlainText(self._last_sent)  # emits a draft change: it is a draft again
            cursor = self.edit.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            self.edit.setTextCursor(cursor)
        self._last_sent = None

    def can_send(self) -> bool:
        """True when the text is non-blank and within the limit and nothing streams."""
        text = self.text()
        return bool(text.strip()) and len(text) <= MAX_CHARS and not self._busy

    @Slot()
    def submit(self) -> None:
        """Send the text if allowed; otherwise show why not."""
        text = self.text()
        if not text.strip():
            return
        if len(text) > MAX_CHARS:
            self.show_reason(too_long_reason(len(text)))
            return
        if self._busy:
            self.show_reason(BUSY_HINT)
            return
        self.reason_label.hide()
        self._last_sent = text
        self._draft_timer.stop()
        self.edit.blockSignals(True)
        try:
            self.edit.clear()
        finally:
            self.edit.blockSignals(False)
        self._fit_height()
        self._refresh()
        self.sig_send_requested.emit(text)
        self.sig_draft_changed.emit("")  # the draft was sent: clear the stored one now

    @Slot()
    def flush_draft(self) -> None:
        """Deliver a pending (debounced) draft change immediately (no-op when none)."""
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            self._emit_draft()

    @Slot()
    def _emit_draft(self) -> None:
        self.sig_draft_changed.emit(self.text())

    # -- internals ----------------------------------------------------------------------------
    @Slot()
    def _on_button(self) -> None:
        if self._busy:
            self.sig_stop_requested.emit()
        else:
            self.submit()

    @Slot()
    def _on_escape(self) -> None:
        if self._busy:
            self.sig_stop_requested.emit()

    @Slot(int, int)
    def _on_truncated(self, kept: int, offered: int) -> None:
        # Shown after the insertion's own textChanged, so it replaces the "too long" line.
        self.show_reason(truncated_reason(kept, offered))

    @Slot()
    def _on_text_changed(self) -> None:
        self._draft_timer.start()
        self._fit_height()
        text_len = len(self.text())
        if text_len > MAX_CHARS:
            self.show_reason(too_long_reason(text_len))
        elif self.reason_label.isVisible() and self.reason_label.text() != BUSY_HINT:
            self.reason_label.hide()
        self._refresh()

    def _refresh(self) -> None:
        length = len(self.text())
        if length >= COUNTER_FROM:
            self.counter_label.setText(f"{format_count(length)} / {format_count(MAX_CHARS)}")
            over = length > MAX_CHARS
            # Muted while within the limit, the error colour once over it.
            self.counter_label.setForegroundRole(
                QPalette.ColorRole.WindowText if over else QPalette.ColorRole.PlaceholderText
            )
            self.counter_label.show()
        else:
            self.counter_label.hide()
        if self._busy:
            self.send_button.setText("Stop")
            self.send_button.setAccessibleName("Stop answer")
            self.send_button.setToolTip("Stop the answer (Esc); what arrived so far is kept")
            self.send_button.setEnabled(True)
        else:
            self.send_button.setText("Send")
            self.send_button.setAccessibleName("Send message")
            self.send_button.setToolTip("Send (Enter) — Shift+Enter adds a line")
            enabled = bool(self.text().strip())
            if not enabled and self.send_button.hasFocus():
                # Disabled with the focus, the button would hand it on to the next control
                # (the web-search box: typing was lost, Space switched web search on).
                self.edit.setFocus(Qt.FocusReason.OtherFocusReason)
            self.send_button.setEnabled(enabled)

    def showEvent(self, event: QShowEvent) -> None:
        """Text loaded while hidden was wrapped for a guessed width: fit it now."""
        super().showEvent(event)
        QTimer.singleShot(0, self, self._fit_height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A new width re-wraps the text: fit the field to it."""
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_height)

    def changeEvent(self, event: QEvent) -> None:
        """Keep the error colours readable when the palette flips light/dark."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_error_colors()

    def _apply_error_colors(self) -> None:
        color = error_color(is_dark_palette(self.palette()))
        for label in (self.reason_label, self.counter_label):
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, color)
            label.setPalette(palette)
        self.counter_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

    def _fit_height(self, *_args: object) -> None:
        # Grow with the text from 2 up to 8 (wrapped) lines, then scroll. For a
        # QPlainTextEdit the document height is measured in lines.
        metrics = QFontMetricsF(self.edit.font())
        document = self.edit.document()
        lines = max(int(document.size().height()), document.lineCount(), 1)
        lines = min(max(lines, 2), 8)
        frame = self.edit.frameWidth() * 2 + document.documentMargin() * 2
        height = int(lines * metrics.lineSpacing() + frame + 2)
        if self.edit.height() != height or self.edit.minimumHeight() != height:
            self.edit.setFixedHeight(height)
