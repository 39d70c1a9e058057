"""Non-secret user preferences, stored in an INI file inside the data directory.

``AppSettings`` wraps a ``QSettings`` opened with ``IniFormat`` at an explicit path, so nothing
goes to the registry or ``~/.config``. Each preference is a typed property; the INI format
returns strings for numbers and booleans, so every getter converts and falls back to the default
on a value it cannot read (a hand-edited or damaged file must never stop the app starting).

The API key is never stored here: it lives in the OS keyring (``core.secrets``). The private
writer refuses any key whose name looks like a credential, as a guard against a future
"remember my key" shortcut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal

__all__ = ["THEMES", "AppSettings"]

#: Theme preferences the UI understands; "system" follows the OS colour scheme.
THEMES = ("system", "light", "dark")

# Names that must never become settings keys (see module docstring).
_CREDENTIAL_KEY = re.compile(r"(api[_-]?key|secret|password|token|credential)", re.IGNORECASE)

_K_API_BASE_URL = "api/base_url"
_K_USE_SANDBOX = "api/use_sandbox"
_K_LAST_STORE_ID = "session/last_store_id"
_K_LAST_CONVERSATION_ID = "session/last_conversation_id"
_K_WINDOW_GEOMETRY = "window/geometry"
_K_WINDOW_STATE = "window/state"
_K_SPLITTER_SIZES = "window/splitter_sizes"
_K_THEME = "appearance/theme"
_K_NOTIFY = "notifications/answer_ready"
_K_SHOW_STEPS = "chat/show_steps"
_K_UNSENT_QUESTION = "chat/unsent_question"
_K_MOMENTS_FOLDER = "exports/moments_folder"
_K_MOMENTS_FORMAT = "exports/moments_format"


class AppSettings(QObject):
    """Typed preferences over ``QSettings(settings_file, IniFormat)``.

    Use from the GUI thread. Writes are cached by QSettings and flushed by :meth:`sync`
    (also done by Qt on destruction); ``sig_changed(key)`` fires after each change.
    """

    sig_changed = Signal(str)

    def __init__(self, settings_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = Path(settings_file)
        self._settings = QSettings(str(self._path), QSettings.Format.IniFormat, self)
        # Never read the system-wide /etc/xdg copy: the data dir is the only source.
        self._settings.setFallbacksEnabled(False)

    @property
    def file_path(self) -> Path:
        """The INI file backing these settings."""
        return self._path

    def sync(self) -> bool:
        """Write pending changes to disk; False when the file could not be written."""
        self._settings.sync()
        return self._settings.status() == QSettings.Status.NoError

    def stored_keys(self) -> list[str]:
        """Every stored key (for diagnostics and tests)."""
        return list(self._settings.allKeys())

    # --- connection -----------------------------------------------------------------------

    @property
    def api_base_url(self) -> str | None:
        """A custom API base URL, or None for the client's default."""
        value = self._get_str(_K_API_BASE_URL)
        return value or None

    @api_base_url.setter
    def api_base_url(self, value: str | None) -> None:
        self._set(_K_API_BASE_URL, value.strip() if value and value.strip() else None)

    @property
    def use_sandbox(self) -> bool:
        """Whether the user chose the built-in sandbox (default False)."""
        return self._get_bool(_K_USE_SANDBOX, default=False)

    @use_sandbox.setter
    def use_sandbox(self, value: bool) -> None:
        self._set(_K_USE_SANDBOX, bool(value))

    @property
    def last_store_id(self) -> str | None:
        """The knowledge store picked last, preselected for a new conversation."""
        return self._get_str(_K_LAST_STORE_ID) or None

    @last_store_id.setter
    def last_store_id(self, value: str | None) -> None:
        self._set(_K_LAST_STORE_ID, value or None)

    @property
    def last_conversation_id(self) -> int | None:
        """The conversation open at the last quit, reopened at start."""
        return self._get_int(_K_LAST_CONVERSATION_ID)

    @last_conversation_id.setter
    def last_conversation_id(self, value: int | None) -> None:
        self._set(_K_LAST_CONVERSATION_ID, None if value is None else int(value))

    @property
    def unsent_question(self) -> str:
        """What was typed with no conversation on screen and not sent (no conversation holds
        it as a draft), shown again at the next start."""
        return self._get_str(_K_UNSENT_QUESTION)

    @unsent_question.setter
    def unsent_question(self, value: str) -> None:
        self._set(_K_UNSENT_QUESTION, value or None)

    # --- window ---------------------------------------------------------------------------

    @property
    def window_geometry(self) -> bytes | None:
        """``QWidget.saveGeometry()`` bytes of the main window."""
        return self._get_bytes(_K_WINDOW_GEOMETRY)

    @window_geometry.setter
    def window_geometry(self, value: bytes | QByteArray | None) -> None:
        self._set_bytes(_K_WINDOW_GEOMETRY, value)

    @property
    def window_state(self) -> bytes | None:
        """``QMainWindow.saveState()`` bytes (toolbars, docks)."""
        return self._get_bytes(_K_WINDOW_STATE)

    @window_state.setter
    def window_state(self, value: bytes | QByteArray | None) -> None:
        self._set_bytes(_K_WINDOW_STATE, value)

    @property
    def splitter_sizes(self) -> list[int] | None:
        """Sizes of the sidebar/chat splitter, or None to use the layout's defaults."""
        raw = self._get_str(_K_SPLITTER_SIZES)
        if not raw:
            return None
        try:
            sizes = [int(part) for part in raw.split(",")]
        except ValueError:
            return None
        return sizes if sizes and all(size >= 0 for size in sizes) else None

    @splitter_sizes.setter
    def splitter_sizes(self, value: Sequence[int] | None) -> None:
        # Stored as one "a,b,c" string: INI lists of one element come back as a bare string.
        self._set(_K_SPLITTER_SIZES, ",".join(str(int(v)) for v in value) if value else None)

    # --- appearance -----------------------------------------------------------------------

    @property
    def theme(self) -> str:
        """One of :data:`THEMES`; unknown stored values read as "system"."""
        value = self._get_str(_K_THEME)
        return value if value in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}")
        self._set(_K_THEME, value)

    # --- notifications --------------------------------------------------------------------

    @property
    def notify_when_answered(self) -> bool:
        """Tell the user when an answer finishes while the window is in the background
        (default True)."""
        return self._get_bool(_K_NOTIFY, default=True)

    @notify_when_answered.setter
    def notify_when_answered(self, value: bool) -> None:
        self._set(_K_NOTIFY, bool(value))

    # --- chat -----------------------------------------------------------------------------

    @property
    def show_steps(self) -> bool:
        """Ask Jockey for its steps and list them under each answer (default True)."""
        return self._get_bool(_K_SHOW_STEPS, default=True)

    @show_steps.setter
    def show_steps(self, value: bool) -> None:
        self._set(_K_SHOW_STEPS, bool(value))

    # --- moment exports --------------------------------------------------------------------

    @property
    def moments_export_folder(self) -> str:
        """The folder the last moments export was saved in ("" before the first)."""
        return self._get_str(_K_MOMENTS_FOLDER)

    @moments_export_folder.setter
    def moments_export_folder(self, value: str) -> None:
        self._set(_K_MOMENTS_FOLDER, value)

    @property
    def moments_export_format(self) -> str:
        """The suffix of the last moments export's format ("" before the first)."""
        return self._get_str(_K_MOMENTS_FORMAT)

    @moments_export_format.setter
    def moments_export_format(self, value: str) -> None:
        self._set(_K_MOMENTS_FORMAT, value)

    # --- plumbing -------------------------------------------------------------------------

    def _set(self, key: str, value: Any) -> None:
        if _CREDENTIAL_KEY.search(key):
            raise ValueError("credentials are kept in the OS keyring, never in settings")
        if value is None:
            self._settings.remove(key)
        else:
            self._settings.setValue(key, value)
        self.sig_changed.emit(key)

    def _get_str(self, key: str) -> str:
        value = self._settings.value(key)
        return value if isinstance(value, str) else ""

    def _get_bool(self, key: str, *, default: bool) -> bool:
        value = self._settings.value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
        return default

    def _get_int(self, key: str) -> int | None:
        value = self._settings.value(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return None
        return None

    def _get_bytes(self, key: str) -> bytes | None:
        value = self._settings.value(key)
        data: bytes
        if isinstance(value, QByteArray):
            data = bytes(value.data())
        elif isinstance(value, bytes | bytearray):
            data = bytes(value)
        else:
            return None
        return data or None

    def _set_bytes(self, key: str, value: bytes | QByteArray | None) -> None:
        if value is None:
            self._set(key, None)
            return
        data = value.data() if isinstance(value, QByteArray) else bytes(value)
        self._set(key, QByteArray(data) if data else None)
