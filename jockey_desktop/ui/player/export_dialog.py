"""Where to export moments, and in which format: a save dialog starting in Documents."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QWidget

from jockey_desktop.core.moments_export import MomentFormat


def export_filters() -> list[str]:
    """One file-dialog filter per format, in :class:`MomentFormat` order."""
    return [f"{fmt.label} (*.{fmt.value})" for fmt in MomentFormat]


def documents_folder() -> Path:
    """The user's Documents folder (their home when the system names none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(location) if location else Path.home()


def safe_file_name(title: str) -> str:
    """A file name from a title: letters, digits, spaces, dashes (80 characters at most)."""
    safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title)
    return (" ".join(safe.split()) or "moments")[:80]


def chosen_format(path: str, selected_filter: str) -> tuple[str, MomentFormat]:
    """The format a dialog's answer means: the suffix typed when it names a format, else the
    selected filter's (whose suffix is then added)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    for fmt in MomentFormat:
        if suffix == fmt.value:
            return path, fmt
    filters = export_filters()
    fmt = list(MomentFormat)[filters.index(selected_filter)] if selected_filter in filters \
        else MomentFormat.OTIO
    return f"{path}.{fmt.value}", fmt


def ask_moments_export_path(parent: QWidget | None, title: str) -> tuple[str, MomentFormat] | None:
    """Ask where to save and in which format; None when cancelled."""
    from PySide6.QtWidgets import QFileDialog

    filters = export_filters()
    start = documents_folder() / f"{safe_file_name(title)}.{MomentFormat.OTIO.value}"
    path, selected = QFileDialog.getSaveFileName(parent, "Export moments", str(start),
                                                 ";;".join(filters), filters[0])
    if not path:
        return None
    return chosen_format(path, selected)
