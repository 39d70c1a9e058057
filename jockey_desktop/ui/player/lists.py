"""The lists under the picture: the video's transcript (follows playback, click to seek) and
the answer's moments (thumbnails, play one, select several to export)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.presentation.moments import PlayerMoment, sentence_at
from jockey_desktop.ui.theme import plain_tooltip

_START_ROLE = Qt.ItemDataRole.UserRole + 1
_INDEX_ROLE = Qt.ItemDataRole.UserRole + 2
THUMB_SIZE = QSize(96, 54)


class TranscriptView(QListWidget):
    """One row per sentence ("01:23  text"); the sentence playing is the current row."""

    #: A sentence was clicked: seek there (ms).
    sig_seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Transcript")
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._starts: list[float] = []
        self._playing: int | None = None
        self.itemClicked.connect(self._on_clicked)
        self.itemActivated.connect(self._on_clicked)

    def set_sentences(self, sentences: Sequence[tuple[float, float, str]]) -> None:
        """The transcript (start s, end s, text), in order."""
        self.clear()
        self._playing = None
        ordered = sorted(sentences, key=lambda s: s[0])
        self._starts = [start for start, _end, _text in ordered]
        for start, _end, text in ordered:
            item = QListWidgetItem(f"{format_timestamp(start)}  {' '.join(text.split())}")
            item.setData(_START_ROLE, start)
            self.addItem(item)

    def sentence_count(self) -> int:
        """How many sentences are shown."""
        return len(self._starts)

    def playing_row(self) -> int | None:
        """The row of the sentence playing, if any."""
        return self._playing

    @Slot(int)
    def follow(self, position_ms: int) -> None:
        """Highlight the sentence at a position and keep it in view."""
        row = sentence_at(self._starts, position_ms / 1000)
        if row == self._playing:
            return
        if self._playing is not None and self.item(self._playing) is not None:
            self.item(self._playing).setFont(self.font())
        self._playing = row
        if row is None:
            self.clearSelection()
            return
        item = self.item(row)
        bold = QFont(self.font())
        bold.setBold(True)
        item.setFont(bold)
        self.blockSignals(True)
        self.setCurrentRow(row)
        self.blockSignals(False)
        self.scrollToItem(item, QAbstractItemView.ScrollHint.PositionAtCenter)

    @Slot(QListWidgetItem)
    def _on_clicked(self, item: QListWidgetItem) -> None:
        start = item.data(_START_ROLE)
        if isinstance(start, (int, float)):
            self.sig_seek_requested.emit(round(float(start) * 1000))


class MomentsList(QListWidget):
    """The answer's moments: thumbnail, "Title · 01:23–01:45" and the sentence; the one
    playing in bold. Enter or a double click plays one; several can be selected."""

    #: Play this moment (its index in the answer).
    sig_moment_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Moments of the answer")
        self.setIconSize(THUMB_SIZE)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._placeholder = _placeholder_icon()
        self.itemActivated.connect(self._on_activated)

    def set_moments(self, moments: Sequence[PlayerMoment], current: int | None) -> None:
        """Show an answer's moments."""
        self.clear()
        for moment in moments:
            text = moment.label if not moment.sentence else f"{moment.label}\n{moment.sentence}"
            item = QListWidgetItem(self._placeholder, text)
            item.setData(_INDEX_ROLE, moment.index)
            item.setToolTip(plain_tooltip(moment.sentence or moment.label))
            self.addItem(item)
        self.set_current(current)

    def set_current(self, index: int | None) -> None:
        """Mark the moment playing."""
        for row in range(self.count()):
            item = self.item(row)
            font = QFont(self.font())
            font.setBold(item.data(_INDEX_ROLE) == index)
            item.setFont(font)
        if index is not None and 0 <= index < self.count():
            self.scrollToItem(self.item(index))

    def set_thumbnail(self, index: int, image: QImage) -> None:
        """A moment's thumbnail arrived."""
        if 0 <= index < self.count() and not image.isNull():
            pixmap = QPixmap.fromImage(image).scaled(
                THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            self.item(index).setIcon(QIcon(pixmap))

    def selected_indices(self) -> list[int]:
        """The selected moments, in the answer's order."""
        return sorted(int(item.data(_INDEX_ROLE)) for item in self.selectedItems())

    @Slot(QListWidgetItem)
    def _on_activated(self, item: QListWidgetItem) -> None:
        self.sig_moment_chosen.emit(int(item.data(_INDEX_ROLE)))


def _placeholder_icon() -> QIcon:
    pixmap = QPixmap(THUMB_SIZE)
    pixmap.fill(Qt.GlobalColor.black)
    return QIcon(pixmap)
