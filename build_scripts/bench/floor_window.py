"""The floor: the bare window plus only what any PySide app showing Jockey Desktop's first
window must pay for before its first paint, and none of the app's own code.

On top of ``bare_window.py`` it

- creates the Python side of the Qt types that window uses (PySide builds a type, and every
  enum of it, the first time Python touches it: the ``Qt`` namespace alone is ~25 ms of enum
  creation on Python 3.11, ``QStyle`` ~9 ms);
- imports what storing conversations and logging need (``sqlite3``, ``dataclasses``,
  ``logging``, ``json``) and reads the sidebar's first page of rows from the database;
- sets the Fusion style and an application stylesheet (any stylesheet: Qt then styles every
  widget through its stylesheet engine, whatever the rules).

It builds no widget of the app and paints an empty window, so it is a lower bound: the app
also builds and paints its sidebar, chat pane and composer, and runs its own modules. Timed
like the app: ``FloorWindow [DATABASE]`` prints the same ``startup-probe`` lines.
"""

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])

# --- what the app's first paint cannot do without ------------------------------------------
import dataclasses  # noqa: E402,F401
import json  # noqa: E402,F401
import logging  # noqa: E402,F401
import sqlite3  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402,F401  (the enums of the Qt namespace)
from PySide6.QtGui import (  # noqa: E402,F401
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QKeySequence,
    QPainter,
    QPalette,
    QTextOption,
)
from PySide6.QtWidgets import (  # noqa: E402,F401
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
)

if len(sys.argv) > 1:
    connection = sqlite3.connect(sys.argv[1])
    try:
        connection.execute("SELECT * FROM conversations ORDER BY id DESC LIMIT 60").fetchall()
    except sqlite3.Error:
        pass  # no database yet: the app's first start reads no rows either
    finally:
        connection.close()
app.setStyle("Fusion")
app.setStyleSheet("QListView { border: none; }")
# --------------------------------------------------------------------------------------------

window = QMainWindow()
window.resize(1180, 760)  # the app's default size: the same number of pixels to paint
window.show()


class _FirstPaint(QObject):
    """Quit after the first paint has completed (same rule as the startup probe)."""

    seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.seen and event.type() == QEvent.Type.Paint:
            self.seen = True
            QTimer.singleShot(0, _done)
        return False


def _done() -> None:
    painted = time.monotonic()
    from jockey_desktop.startup_probe import process_start_age_s

    age, _how = process_start_age_s()
    print(f"startup-probe: {age * 1000:.1f} ms to first paint")
    print(f"startup-probe-clock: monotonic={painted:.6f}", flush=True)
    app.quit()


_filter = _FirstPaint()
window.installEventFilter(_filter)
app.exec()
