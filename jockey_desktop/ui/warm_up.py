"""Qt types whose first use costs tens of milliseconds, used once while the app is idle.

PySide builds a Qt type's Python side — its enums, and those of the types its signatures
name — the first time the type is used. For ``QBrush`` that is about 35 ms on a 2-core
machine, and the transcript first uses it while an answer streams: the first code block
(whose background ``QTextFormat.setBackground`` takes as a brush) froze the window for that
long, the benchmark's worst event-loop gap. Using the type once just after the first paint,
when nothing is streaming yet, pays the cost where no one waits on it.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QTextCharFormat


def warm_up_transcript_types() -> None:
    """Use the costly types once (idempotent; cheap after the first call)."""
    QTextCharFormat().setBackground(QBrush(QColor(0, 0, 0, 0)))
