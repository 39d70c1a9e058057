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

from bare_window import run  # the sibling script: the same window, shown the same way
from PySide6.QtWidgets import QApplication


def prepare(app: QApplication) -> None:
    """What the app's first paint cannot do without (see the module doc)."""
    # Imported here, after the QApplication, as the app meets them.
    import dataclasses  # noqa: F401
    import json  # noqa: F401
    import logging  # noqa: F401
    import sqlite3

    # The Python side of the Qt types the window uses.
    from PySide6.QtCore import Qt  # noqa: F401  (the enums of the Qt namespace)
    from PySide6.QtGui import (  # noqa: F401
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
    from PySide6.QtWidgets import (  # noqa: F401
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


run(prepare)
