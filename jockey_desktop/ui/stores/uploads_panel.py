"""The upload queue as the user sees it: a line and a bar for the whole queue, a row per file
with its own bar and status (speed, time left, or why it failed), and Pause / Resume /
Cancel / Retry / Remove for the selected rows. It shows what the queue controller says and
emits what the user asked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Signal, Slot
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.storage.models import Upload, UploadState
from jockey_desktop.presentation.uploads import queue_summary
from jockey_desktop.ui.stores.models import FractionRole, RecordRole, UploadsModel

_Index = QModelIndex | QPersistentModelIndex
_TRANSFER = (UploadState.QUEUED, UploadState.UPLOADING)
#: Rows that will not move on by themselves: their bars are drawn greyed.
_STOPPED = (UploadState.CANCELLED, UploadState.FAILED, UploadState.PAUSED)


class ProgressDelegate(QStyledItemDelegate):
    """Paints a row's progress (``FractionRole``) as the style's progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """The cell's background, then a bar inset in it."""
        super().paint(painter, option, index)
        fraction = index.data(FractionRole)
        if fraction is None:
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(4, 5, -4, -5)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = round(float(fraction) * 1000)
        bar.textVisible = False
        # Without State_Horizontal, Qt 6's styles draw the bar filling upwards.
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        upload = index.data(RecordRole)
        if isinstance(upload, Upload) and upload.state in _STOPPED:
            # Greyed: a cancelled file's part-filled bar looked like one still sending.
            palette = QPalette(option.palette)
            palette.setColor(QPalette.ColorRole.Highlight,
                             palette.color(QPalette.ColorRole.PlaceholderText))
            bar.palette = palette
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


class UploadsPanel(QWidget):
    """The queue: summary line, total bar, the table of files and their actions."""

    sig_pause = Signal(object)
    sig_resume = Signal(object)
    sig_cancel = Signal(object)
    sig_retry = Signal(object)
    sig_remove = Signal(object)
    sig_clear_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Uploads")
        self.model = UploadsModel(self)
        self.title = QLabel("Uploads", self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel("Nothing is uploading.", self)
        self.summary.setProperty("role", "muted")
        self.summary.setAccessibleDescription("Upload progress")
        self.total_bar = QProgressBar(self)
        self.total_bar.setRange(0, 1000)
        self.total_bar.setTextVisible(False)
        self.total_bar.setMaximumHeight(8)
        self.total_bar.setAccessibleName("Total upload progress")
        self.table = QTableView(self)
        self.table.setAccessibleName("Upload queue")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the buttons, not cell to cell
        self.table.setItemDelegateForColumn(UploadsModel.PROGRESS, ProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(UploadsModel.FILE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(UploadsModel.STORE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(UploadsModel.PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(UploadsModel.STATUS, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(UploadsModel.FILE, 200)
        self.table.setColumnWidth(UploadsModel.STORE, 130)
        self.table.setColumnWidth(UploadsModel.PROGRESS, 120)

        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.retry_button = QPushButton("Retry", self)
        self.remove_button = QPushButton("Remove", self)
        self.clear_button = QPushButton("Clear finished", self)
        for button, tip in (
                (self.pause_button, "Stop sending the selected files (sent parts are kept)"),
                (self.resume_button, "Continue the selected paused files"),
                (self.cancel_button, "Give up the selected files"),
                (self.retry_button, "Try the selected failed files again"),
                (self.remove_button, "Take the selected finished files off the list"),
                (self.clear_button, "Take every ready or cancelled file off the list")):
            button.setToolTip(tip)
            button.setAccessibleDescription(tip)
        self.pause_button.clicked.connect(lambda: self.sig_pause.emit(self.selected_ids()))
        self.resume_button.clicked.connect(lambda: self.sig_resume.emit(self.selected_ids()))
        self.cancel_button.clicked.connect(lambda: self.sig_cancel.emit(self.selected_ids()))
        self.retry_button.clicked.connect(lambda: self.sig_retry.emit(self.selected_ids()))
        self.remove_button.clicked.connect(lambda: self.sig_remove.emit(self.selected_ids()))
        self.clear_button.clicked.connect(self.sig_clear_finished)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.summary, 1)
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button,
                       self.retry_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.total_bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self.model.dataChanged.connect(self._update_buttons)
        self._update_buttons()

    # -- what the queue says -----------------------------------------------------------------

    @Slot(object)
    def set_rows(self, rows: list[Upload]) -> None:
        """Every row (after a reload)."""
        self.model.set_rows(rows)
        self._update_summary_idle()

    @Slot(object)
    def upsert(self, rows: list[Upload]) -> None:
        """Rows added or changed."""
        self.model.upsert(rows)
        self._update_summary_idle()

    @Slot(object)
    def remove(self, upload_ids: list[int]) -> None:
        """Rows taken off the list."""
        self.model.remove(upload_ids)
        self._update_summary_idle()

    @Slot(object)
    def set_progress(self, progress: Any) -> None:
        """The queue's progress (a ``QueueProgress``)."""
        self.model.set_progress(progress.files)
        self.summary.setText(queue_summary(
            progress.sent, progress.total, progress.speed, progress.seconds_left,
            progress.transferring, progress.waiting, progress.indexing))
        if progress.transferring or progress.waiting:
            fraction = progress.sent / progress.total if progress.total else 0.0
            self.total_bar.setRange(0, 1000)
            self.total_bar.setValue(round(fraction * 1000))
        else:
            self.total_bar.setRange(0, 0)  # only processing and indexing: busy, no amount
        self.total_bar.setVisible(progress.busy)

    def set_store_names(self, names: dict[str, str]) -> None:
        """Store names for the Store column."""
        self.model.set_store_names(names)

    def selected_ids(self) -> list[int]:
        """Ids of the selected rows."""
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        records = [self.model.index(r, 0).data(RecordRole) for r in sorted(rows)]
        return [r.id for r in records if r is not None]

    def select_ids(self, upload_ids: list[int]) -> None:
        """Select rows by id (tests, "show this upload")."""
        selection = self.table.selectionModel()
        selection.clear()
        for row, upload in enumerate(self.model.rows()):
            if upload.id in upload_ids:
                selection.select(self.model.index(row, 0),
                                 selection.SelectionFlag.Select
                                 | selection.SelectionFlag.Rows)

    # -- internals ---------------------------------------------------------------------------

    def _update_summary_idle(self) -> None:
        if not any(r.active for r in self.model.rows()):
            self.summary.setText("Nothing is uploading." if self.model.rowCount()
                                 else "Drop videos here or use Add videos…")
            self.total_bar.hide()

    @Slot()
    def _update_buttons(self) -> None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        states = {self.model.rows()[r].state for r in rows if r < self.model.rowCount()}
        self.pause_button.setEnabled(any(s in _TRANSFER for s in states))
        self.resume_button.setEnabled(UploadState.PAUSED in states)
        self.cancel_button.setEnabled(any(s not in (UploadState.READY, UploadState.FAILED,
                                                    UploadState.CANCELLED) for s in states))
        self.retry_button.setEnabled(bool(states & {UploadState.FAILED,
                                                    UploadState.CANCELLED}))
        self.remove_button.setEnabled(bool(states & {UploadState.READY, UploadState.FAILED,
                                                     UploadState.CANCELLED}))
        self.clear_button.setEnabled(any(r.state in (UploadState.READY, UploadState.CANCELLED)
                                         for r in self.model.rows()))
