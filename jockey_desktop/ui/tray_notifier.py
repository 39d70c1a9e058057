"""Desktop notifications through the system tray (built on the first notification).

Where the desktop has a tray (KDE, Xfce, Windows, macOS' menu bar), the app's icon appears
there while a message is shown and the message names the conversation; a click on it brings
the window forward (on that conversation, when the message is about one). The app has one:
``controllers.notifications`` builds it and every feature tells through that. Without a tray
(plain GNOME), ``show_message`` returns False and the window's ``QApplication.alert`` is what
the user sees (GNOME shows it as "Jockey Desktop is ready").
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

#: The tray icon goes away this long after its last message.
TRAY_LINGER_MS = 15_000


class TrayNotifier(QObject):
    """Shows messages from a tray icon that exists only while there is something to tell."""

    #: A message was clicked: the conversation it was about (an int), or None.
    sig_activated = Signal(object)

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icon = icon
        self._tray: QSystemTrayIcon | None = None
        self._conversation_id: int | None = None
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(TRAY_LINGER_MS)
        self._hide_timer.timeout.connect(self._hide)

    @staticmethod
    def available() -> bool:
        """True when this desktop can show tray messages."""
        return QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()

    def show_message(self, title: str, body: str, conversation_id: int | None) -> bool:
        """Show a message (plain text) about that conversation (or None); False when there
        is no tray to show it from."""
        if not self.available():
            return False
        if self._tray is None:
            self._tray = QSystemTrayIcon(self._icon, self)
            self._tray.setToolTip("Jockey Desktop")
            self._tray.messageClicked.connect(self._on_clicked)
            self._tray.activated.connect(self._on_clicked)
        self._conversation_id = conversation_id
        self._tray.show()
        self._tray.showMessage(title, body, self._icon, 10_000)
        self._hide_timer.start()
        return True

    @Slot()
    def _on_clicked(self, *_args: object) -> None:
        self.sig_activated.emit(self._conversation_id)
        self._hide()

    @Slot()
    def _hide(self) -> None:
        if self._tray is not None:
            self._tray.hide()
