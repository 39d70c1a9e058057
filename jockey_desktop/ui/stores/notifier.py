"""Telling the user something while the window is not in front: a desktop notification
through the system tray when there is one, otherwise the taskbar asks for attention (and the
status bar says it). Built on first use."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget


class Notifier(QObject):
    """``notify(title, text)``: a tray message, or the window asking for attention.
    ``sig_notified(title, text, how)`` says what was done (``"tray"`` or ``"alert"``)."""

    sig_notified = Signal(str, str, str)

    def __init__(self, window: QWidget, icon: QIcon | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._icon = icon or QIcon()
        self._tray: QSystemTrayIcon | None = None

    def notify(self, title: str, text: str) -> str:
        """Show the message; returns how (``"tray"`` or ``"alert"``)."""
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self._icon, self)
                self._tray.setToolTip(title)
                self._tray.messageClicked.connect(self._bring_window_forward)
            self._tray.show()
            self._tray.showMessage(title, text, self._icon, 10_000)
            how = "tray"
        else:
            QApplication.alert(self._window, 0)
            how = "alert"
        self.sig_notified.emit(title, text, how)
        return how

    def _bring_window_forward(self) -> None:
        window = self._window
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
