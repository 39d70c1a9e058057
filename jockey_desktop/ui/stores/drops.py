"""Files dropped on a window or a store: the local paths a drag carries, and an event filter
that accepts such drags on any widget and reports the drop (no Qt widgets built here, so the
main window can take drops from its first paint at no cost)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget


def local_paths(mime: QMimeData | None) -> list[str]:
    """The local files and folders a drag carries (web links and text are not files)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class FileDropFilter(QObject):
    """Accepts drags of local files on the widgets it filters; ``sig_dropped(paths, widget,
    position)`` on a drop (``position`` in the widget's coordinates)."""

    sig_dropped = Signal(object, object, QPoint)

    def watch(self, widget: QWidget) -> None:
        """Take file drops on ``widget``."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Accept file drags; report drops; leave every other event alone."""
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            drag: QDragEnterEvent | QDragMoveEvent = event  # type: ignore[assignment]
            if local_paths(drag.mimeData()):
                drag.acceptProposedAction()
                return True
            return False
        if kind == QEvent.Type.Drop:
            drop: QDropEvent = event  # type: ignore[assignment]
            paths = local_paths(drop.mimeData())
            if paths:
                drop.acceptProposedAction()
                self.sig_dropped.emit(paths, watched, drop.position().toPoint())
                return True
        return False
