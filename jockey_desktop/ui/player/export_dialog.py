"""Where to export moments, and in which format: a save dialog starting in the last export's
folder with its format picked (Documents and OpenTimelineIO the first time)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from jockey_desktop.core.moments_export import MomentFormat
from jockey_desktop.presentation.file_names import export_file_name


def export_filters() -> list[str]:
    """One file-dialog filter per format, in :class:`MomentFormat` order."""
    return [f"{fmt.label} (*.{fmt.value})" for fmt in MomentFormat]


def documents_folder() -> Path:
    """The user's Documents folder (their home when the system names none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(location) if location else Path.home()


def chosen_format(path: str, selected_filter: str) -> tuple[str, MomentFormat]:
    """The format a dialog's answer means: the suffix typed when it names a format, else the
    selected filter's (whose suffix is then added)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    for fmt in MomentFormat:
        if suffix == fmt.value:
            return path, fmt
    fmt = format_of_filter(selected_filter)
    return f"{path}.{fmt.value}", fmt


def format_of_filter(selected_filter: str) -> MomentFormat:
    """The format a dialog filter stands for (OpenTimelineIO for one it does not know)."""
    filters = export_filters()
    return list(MomentFormat)[filters.index(selected_filter)] if selected_filter in filters \
        else MomentFormat.OTIO


class MomentsSaveDialog(QFileDialog):
    """The save dialog of a moments export: one filter per format, and a default suffix that
    follows the format picked, so a name typed without one gets it *inside* the dialog, where
    the "replace the existing file?" question is asked (added afterwards, an existing file
    of that name was replaced without a word)."""

    def __init__(self, parent: QWidget | None, title: str, folder: Path | None = None,
                 fmt: MomentFormat = MomentFormat.OTIO) -> None:
        filters = export_filters()
        start = folder if folder is not None else documents_folder()
        super().__init__(parent, "Export moments", str(start), ";;".join(filters))
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.selectNameFilter(filters[list(MomentFormat).index(fmt)])
        self.setDefaultSuffix(fmt.value)
        self.selectFile(export_file_name(title, f".{fmt.value}", fallback="moments"))
        self.filterSelected.connect(self._follow_filter)

    @Slot(str)
    def _follow_filter(self, selected_filter: str) -> None:
        self.setDefaultSuffix(format_of_filter(selected_filter).value)

    def chosen(self) -> tuple[str, MomentFormat] | None:
        """The path and format accepted (None before an accept or with no file)."""
        files = self.selectedFiles()
        if self.result() != QFileDialog.DialogCode.Accepted or not files or not files[0]:
            return None
        return chosen_format(files[0], self.selectedNameFilter())


def ask_moments_export_path(parent: QWidget | None, title: str, folder: Path | None = None,
                            fmt: MomentFormat = MomentFormat.OTIO,
                            ) -> tuple[str, MomentFormat] | None:
    """Ask where to save and in which format (starting in ``folder``, else Documents, with
    ``fmt`` picked); None when cancelled."""
    dialog = MomentsSaveDialog(parent, title, folder, fmt)
    try:
        dialog.exec()
        return dialog.chosen()
    finally:
        dialog.deleteLater()
