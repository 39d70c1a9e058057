"""The baseline: a bare PySide6 ``QMainWindow`` shown by the five lines of :func:`run`, timed
exactly like ``python -m jockey_desktop --startup-probe`` (process start → end of the first
paint). ``floor_window.py`` runs the same lines after its own preparation."""

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def run(prepare: Callable[[QApplication], object] | None = None) -> None:
    """Show the bare window (``prepare`` runs first, on the new QApplication), print the time
    from process start to the end of its first paint, quit."""
    # --- the five lines ---------------------------------------------------------------------
    app = QApplication(sys.argv)
    if prepare is not None:
        prepare(app)
    window = QMainWindow()
    window.resize(1180, 760)  # the app's default size: the same number of pixels to paint
    window.show()
    # (app.exec() below)
    # ----------------------------------------------------------------------------------------
    first_paint = _FirstPaint(app)
    window.installEventFilter(first_paint)
    app.exec()


class _FirstPaint(QObject):
    """Quit after the first paint has completed (same rule as the startup probe)."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._seen and event.type() == QEvent.Type.Paint:
            self._seen = True
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        painted = time.monotonic()
        # Imported only now, so it costs the baseline nothing before the paint.
        from jockey_desktop.startup_probe import process_start_age_s

        age, _how = process_start_age_s()
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                rss = next(int(line.split()[1]) / 1024 for line in status
                           if line.startswith("VmRSS:"))
            print(f"bare-window-rss-mb: {rss:.1f}")
        except (OSError, StopIteration):
            pass
        print(f"startup-probe: {age * 1000:.1f} ms to first paint")
        print(f"startup-probe-clock: monotonic={painted:.6f}", flush=True)
        self._app.quit()


if __name__ == "__main__":
    run()
