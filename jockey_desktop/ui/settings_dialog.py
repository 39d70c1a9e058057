"""The Settings dialog: API key (save/replace/remove/test), API base URL, sandbox, proxy.

Pure UI: it never touches the keyring or the network. It emits what the user asked for and
shows the results the SettingsController sends back. A key handed over with ``sig_save_key``
is checked with the server before it is saved ("Checking…", the field read-only meanwhile):
the field is cleared once it is saved, and keeps the key the server refused so it can be
corrected. The key is never logged or kept anywhere else.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.api.urls import base_url_problem
from jockey_desktop.presentation.connection import (
    KEY_CHECKING_TEXT,
    SAVED_KEY_REFUSED_TEXT,
    KeyVerdict,
)
from jockey_desktop.ui.theme import repolish

DEFAULT_BASE_URL_HINT = "https://api.twelvelabs.io/v1.3"


class SettingsDialog(QDialog):
    """API key, connection and sandbox settings."""

    #: Check this key with the server, then save it (key, the API base URL typed or "").
    sig_save_key = Signal(str, str)
    #: The dialog closed while its key was being checked: do not save it.
    sig_key_check_cancelled = Signal()
    sig_remove_key = Signal()
    sig_test_connection = Signal(str, str)
    sig_apply = Signal(str, bool)
    #: "Notify me when an answer is ready" was switched (on / off).
    sig_notify_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(520)
        self._has_key = False
        # A key handed over and not yet judged by the server; OK waits for the verdict.
        self._checking = False
        self._close_when_checked = False
        # Re-fitting waits for the event loop: a label's new size hint is only known once the
        # layout has processed the text change (and several changes make one re-fit).
        self._refit_timer = QTimer(self)
        self._refit_timer.setSingleShot(True)
        self._refit_timer.setInterval(0)
        self._refit_timer.timeout.connect(self._fit_to_contents)

        # -- API key ---------------------------------------------------------------------------
        key_box = QGroupBox("TwelveLabs API key", self)
        self.key_field = QLineEdit(key_box)
        self.key_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_field.setPlaceholderText("Paste your API key")
        self.key_field.setAccessibleName("API key")
        self.key_field.textChanged.connect(self._update_buttons)
        self.show_key_button = QToolButton(key_box)
        self.show_key_button.setText("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAccessibleName("Show or hide the API key")
        self.show_key_button.toggled.connect(self._on_show_toggled)
        self.save_button = QPushButton("Save key", key_box)
        self.save_button.setAccessibleName("Save API key")
        self.save_button.clicked.connect(self._on_save)
        self.remove_button = QPushButton("Remove key…", key_box)
        self.remove_button.setAccessibleName("Remove API key")
        self.remove_button.clicked.connect(self._on_remove)
        self.test_button = QPushButton("Test connection", key_box)
        self.test_button.setAccessibleName("Test connection")
        self.test_button.setToolTip("Lists your knowledge stores with this key (or the saved "
                                    "one when the field is empty)")
        self.test_button.clicked.connect(self._on_test)
        self.test_result_label = QLabel(key_box)
        self.test_result_label.setTextFormat(Qt.TextFormat.PlainText)  # server error text
        self.test_result_label.setWordWrap(True)
        self.test_result_label.setAccessibleDescription("Connection test result")
        # Shown only with something to say: empty, it left a blank line under the buttons.
        self.test_result_label.hide()
        self.location_label = QLabel("Checking where the key is stored…", key_box)
        self.location_label.setTextFormat(Qt.TextFormat.PlainText)  # keyring error names
        self.location_label.setWordWrap(True)
        self.location_label.setProperty("role", "muted")
        self.location_label.setAccessibleDescription("Where the API key is stored")

        field_row = QHBoxLayout()
        field_row.addWidget(self.key_field, 1)
        field_row.addWidget(self.show_key_button)
        button_row = QHBoxLayout()
        button_row.addWidget(self.save_button)
        button_row.addWidget(self.remove_button)
        button_row.addStretch(1)
        button_row.addWidget(self.test_button)
        key_layout = QVBoxLayout(key_box)
        key_layout.addLayout(field_row)
        key_layout.addLayout(button_row)
        key_layout.addWidget(self.test_result_label)
        key_layout.addWidget(self.location_label)

        # -- connection ------------------------------------------------------------------------
        conn_box = QGroupBox("Connection", self)
        self.base_url_field = QLineEdit(conn_box)
        self.base_url_field.setPlaceholderText(DEFAULT_BASE_URL_HINT)
        self.base_url_field.setAccessibleName("API base URL")
        self.base_url_field.setToolTip("Leave empty for the TwelveLabs API")
        self.base_url_field.textChanged.connect(self._update_buttons)
        self.base_url_error = QLabel(conn_box)
        self.base_url_error.setTextFormat(Qt.TextFormat.PlainText)
        self.base_url_error.setProperty("role", "error")
        self.base_url_error.setWordWrap(True)
        self.base_url_error.setAccessibleDescription("API base URL problem")
        self.base_url_error.hide()
        self.sandbox_check = QCheckBox("Use the built-in sandbox (sample videos, no key needed)",
                                       conn_box)
        self.sandbox_check.setAccessibleName("Use the built-in sandbox")
        self.sandbox_check.toggled.connect(self._update_buttons)
        self.proxy_label = QLabel("None", conn_box)
        self.proxy_label.setTextFormat(Qt.TextFormat.PlainText)  # from the environment
        self.proxy_label.setWordWrap(True)
        self.proxy_label.setAccessibleDescription("Proxy in use")
        form = QFormLayout(conn_box)
        form.addRow("API base URL:", self.base_url_field)
        form.addRow("", self.base_url_error)
        form.addRow("", self.sandbox_check)
        form.addRow("Proxy in use:", self.proxy_label)

        # -- notifications -----------------------------------------------------------------------
        notify_box = QGroupBox("Notifications", self)
        self.notify_check = QCheckBox("Notify me when an answer is ready while the window is "
                                      "in the background", notify_box)
        self.notify_check.setAccessibleName("Notify me when an answer is ready")
        self.notify_check.setToolTip("The window flashes in the taskbar and a desktop "
                                     "notification names the conversation")
        self.notify_check.setChecked(True)
        self.notify_check.toggled.connect(self.sig_notify_changed)
        QVBoxLayout(notify_box).addWidget(self.notify_check)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply, self)
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self._on_apply)

        layout = QVBoxLayout(self)
        layout.addWidget(key_box)
        layout.addWidget(conn_box)
        layout.addWidget(notify_box)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._update_buttons()

    # -- setters for results (called by the composition root) -------------------------------

    def set_values(self, base_url: str | None, use_sandbox: bool) -> None:
        """Fill the connection fields from the current settings."""
        self.base_url_field.setText(base_url or "")
        self.sandbox_check.setChecked(use_sandbox)

    def set_has_key(self, has_key: bool) -> None:
        """Whether a key is saved: "Save key" becomes "Replace key", Remove is enabled."""
        self._has_key = has_key
        self._update_buttons()

    def set_key_location(self, text: str) -> None:
        """Where the key lives, e.g. "Stored in the system keychain."."""
        self.location_label.setText(text)
        self._refit()

    def set_test_result(self, ok: bool, text: str) -> None:
        """Show the outcome of "Test connection"."""
        self._show_result(ok, _in_settings_wording(text))
        self._update_buttons()

    def set_key_check_result(self, verdict: object, text: str) -> None:
        """What became of the key handed over with ``sig_save_key``: accepted and saved (the
        field empties; OK pressed meanwhile closes the dialog now), refused or not saved
        (the field keeps it, selected, to correct), or saved without a verdict (the
        reason)."""
        if not self._checking:
            return  # closed meanwhile: the check was cancelled
        self._checking = False
        close = self._close_when_checked
        self._close_when_checked = False
        self.key_field.setReadOnly(False)
        if verdict in (KeyVerdict.REFUSED, KeyVerdict.NOT_SAVED):
            self._show_result(False, text)
            self._update_buttons()
            self.key_field.setFocus(Qt.FocusReason.OtherFocusReason)
            self.key_field.selectAll()
            return
        self.key_field.clear()
        self.show_key_button.setChecked(False)
        accepted = verdict is KeyVerdict.ACCEPTED
        self._show_result(True if accepted else None, _in_settings_wording(text))
        self._update_buttons()
        if accepted and close:
            self._on_apply()
            self.accept()

    def set_saved_key_refused(self, refused: bool) -> None:
        """The server refuses the key in use: said by the key field (the main window's
        notice sends the user here); taken back once a key works again."""
        if self._checking:
            return  # the verdict on the key being checked says more
        shown = self.test_result_label.isVisible() and self.test_result_label.text().endswith(
            SAVED_KEY_REFUSED_TEXT)
        if refused and not shown:
            self._show_result(False, SAVED_KEY_REFUSED_TEXT)
        elif not refused and shown:
            self.test_result_label.clear()
            self.test_result_label.hide()
            self._refit()

    def is_checking_key(self) -> bool:
        """True while a key handed over waits for the server's verdict."""
        return self._checking

    def _show_result(self, ok: bool | None, text: str) -> None:
        """✓ (ok), ✗ (not), ⚠ (None: done, with a caveat) and the sentence, under the key."""
        mark, role = {True: ("✓ ", "success"), False: ("✗ ", "error"),
                      None: ("⚠ ", "warning")}[ok]
        self.test_result_label.setText(mark + text)
        self.test_result_label.setProperty("role", role)
        repolish(self.test_result_label)
        self.test_result_label.show()
        self._refit()

    def _refit(self) -> None:
        """Re-fit the dialog to its wrapped labels once the layout has caught up."""
        timer = getattr(self, "_refit_timer", None)
        if timer is not None:
            timer.start()

    @Slot()
    def _fit_to_contents(self) -> None:
        """Grow (never shrink below what the user chose) so wrapped labels show in full:
        the key location and test result change after the dialog is laid out."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
        hint = self.sizeHint()
        if self.isVisible() and (hint.height() > self.height() or hint.width() > self.width()):
            self.resize(max(hint.width(), self.width()), max(hint.height(), self.height()))
        elif not self.isVisible():
            self.adjustSize()

    def set_notify(self, on: bool) -> None:
        """Show whether answer notifications are on (without emitting a change)."""
        self.notify_check.blockSignals(True)
        self.notify_check.setChecked(on)
        self.notify_check.blockSignals(False)

    def set_proxy(self, text: str | None) -> None:
        """The proxy that requests go through, or None/"" for a direct connection."""
        self.proxy_label.setText(text or "None (direct connection)")

    def base_url(self) -> str:
        """The entered base URL, stripped ("" = the default)."""
        return self.base_url_field.text().strip()

    # -- confirmation (patched in tests) -----------------------------------------------------

    def confirm_remove(self) -> bool:
        """Ask before removing the saved key."""
        answer = QMessageBox.question(
            self, "Remove API key",
            "Remove the saved API key from this computer? You will need to enter it again "
            "to use your knowledge stores.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- internals ---------------------------------------------------------------------------

    def _base_url_problem(self) -> str | None:
        url = self.base_url()
        # Empty means the default TwelveLabs server (https), always acceptable.
        return base_url_problem(url) if url else None

    @Slot()
    def _update_buttons(self) -> None:
        has_text = bool(self.key_field.text().strip())
        checking = self._checking
        self.save_button.setText("Replace key" if self._has_key else "Save key")
        self.save_button.setEnabled(has_text and not checking)
        self.remove_button.setEnabled(self._has_key and not checking)
        self.test_button.setEnabled(not checking and (
            has_text or self._has_key or self.sandbox_check.isChecked()))
        problem = self._base_url_problem()
        if problem != (self.base_url_error.text() or None):
            self.base_url_error.setText(problem or "")
            self.base_url_error.setVisible(problem is not None)
            self._refit()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok) if hasattr(
            self, "buttons") else None
        for button in (ok, getattr(self, "apply_button", None)):
            if button is not None:
                button.setEnabled(problem is None and not checking)

    @Slot(bool)
    def _on_show_toggled(self, shown: bool) -> None:
        self.key_field.setEchoMode(QLineEdit.EchoMode.Normal if shown
                                   else QLineEdit.EchoMode.Password)
        self.show_key_button.setText("Hide" if shown else "Show")

    @Slot()
    def _on_save(self) -> None:
        key = self.key_field.text().strip()
        if not key:
            return
        problem = _key_problem(key)
        if problem is not None:
            # Keep the field so the user sees what they pasted; nothing is stored.
            self._close_when_checked = False
            self._show_result(False, problem)
            return
        # The server is asked before the key is saved: a refused key said here, next to the
        # field that still holds it, instead of behind the dialog after it replaced a
        # working one. Read-only meanwhile: the verdict is about exactly this text.
        self._checking = True
        self.key_field.setReadOnly(True)
        self.test_result_label.setProperty("role", "muted")
        self.test_result_label.setText(KEY_CHECKING_TEXT)
        repolish(self.test_result_label)
        self.test_result_label.show()
        self._refit()
        self._update_buttons()
        self.sig_save_key.emit(key, self.base_url())

    @Slot()
    def _on_remove(self) -> None:
        if self.confirm_remove():
            self.sig_remove_key.emit()

    @Slot()
    def _on_test(self) -> None:
        key = self.key_field.text().strip()
        problem = _key_problem(key) if key else None
        if problem is not None:
            self._show_result(False, problem)
            return
        self.test_result_label.setProperty("role", "muted")
        self.test_result_label.setText("Testing…")
        repolish(self.test_result_label)
        self.test_result_label.show()
        self._refit()
        self.test_button.setEnabled(False)
        self.sig_test_connection.emit(self.key_field.text().strip(), self.base_url())

    @Slot()
    def _on_apply(self) -> None:
        if self._base_url_problem() is None:
            self.sig_apply.emit(self.base_url(), self.sandbox_check.isChecked())

    @Slot()
    def _on_ok(self) -> None:
        # OK means "use what I entered": a key pasted without pressing "Save key" is saved
        # too (throwing it away silently left the user at "Not connected"). A key that is
        # not a key keeps the dialog open with the reason, and nothing is applied.
        if self._base_url_problem() is not None:
            return
        key = self.key_field.text().strip()
        if key:
            problem = _key_problem(key)
            if problem is not None:
                self._show_result(False, problem)
                self.key_field.setFocus()
                return
            # Closed once the server accepted it (set_key_check_result); a refusal or a
            # key it could not check keeps the dialog open with the reason.
            self._close_when_checked = True
            self._on_save()
            return
        self._on_apply()
        self.accept()

    def showEvent(self, event: QShowEvent) -> None:
        """Opened without a key (from the welcome page's "Enter an API key…"): the cursor
        waits in the key field, ready for a paste."""
        super().showEvent(event)
        if not self._has_key:
            self.key_field.setFocus(Qt.FocusReason.OtherFocusReason)

    def reject(self) -> None:
        """Close without applying; an unsaved key is dropped from the field (and one still
        being checked is not saved)."""
        self._stop_checking()
        self.key_field.clear()
        super().reject()

    def accept(self) -> None:
        """Close; an unsaved key is dropped from the field."""
        self._stop_checking()
        self.key_field.clear()
        super().accept()

    def _stop_checking(self) -> None:
        if self._checking:
            self._checking = False
            self._close_when_checked = False
            self.key_field.setReadOnly(False)
            self.test_result_label.clear()
            self.test_result_label.hide()
            self._update_buttons()
            self.sig_key_check_cancelled.emit()


def _key_problem(key: str) -> str | None:
    # Imported on use: core.secrets imports keyring, which the first paint does not need.
    from jockey_desktop.core.secrets import api_key_problem

    return api_key_problem(key)


def _in_settings_wording(text: str) -> str:
    """Error sentences written for the main window say "open Settings"; here we are in it."""
    for phrase in ("open Settings to replace it", "open Settings to enter it",
                   "open Settings"):
        if phrase in text:
            return text.replace(phrase, "paste a valid key above and save it")
    return text
