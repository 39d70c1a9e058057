"""The baseline: a bare PySide6 ``QMainWindow`` shown by the five lines below, timed exactly
like ``python -m jockey_desktop --startup-probe`` (process start → end of the first paint)."""

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

# --- the five lines -------------------------------------------------------------------------
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1180, 760)  # the app's default size: the same number of pixels to paint
window.show()
# (app.exec() below)
# --------------------------------------------------------------------------------------------


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
    app.quit()


_filter = _FirstPaint()
window.installEventFilter(_filter)
app.exec()
