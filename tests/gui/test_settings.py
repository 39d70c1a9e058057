"""Tests for jockey_desktop.settings: typed round trips, robust reads, the data dir only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from jockey_desktop.settings import THEMES, AppSettings


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "appdata" / "settings.ini"


def _fill(settings: AppSettings) -> None:
    settings.api_base_url = "http://127.0.0.1:8765/v1.3"
    settings.use_sandbox = True
    settings.last_store_id = "ks_abc123"
    settings.last_conversation_id = 42
    settings.window_geometry = b"\x01\xd9\xd0\xcb\x00\x03\x00\x00geom\x00\xff"
    settings.window_state = b"\x00\x00\x00\xffstate\n\r"
    settings.splitter_sizes = [280, 900]
    settings.theme = "dark"


@pytest.mark.usefixtures("qapp")
def test_defaults_on_an_empty_file(settings_file: Path) -> None:
    settings = AppSettings(settings_file)
    assert settings.api_base_url is None
    assert settings.use_sandbox is False
    assert settings.last_store_id is None
    assert settings.last_conversation_id is None
    assert settings.window_geometry is None
    assert settings.window_state is None
    assert settings.splitter_sizes is None
    assert settings.theme == "system"


@pytest.mark.usefixtures("qapp")
def test_every_preference_survives_a_restart(settings_file: Path) -> None:
    first = AppSettings(settings_file)
    _fill(first)
    assert first.sync()
    del first

    again = AppSettings(settings_file)
    assert again.api_base_url == "http://127.0.0.1:8765/v1.3"
    assert again.use_sandbox is True
    assert again.last_store_id == "ks_abc123"
    assert again.last_conversation_id == 42
    assert again.window_geometry == b"\x01\xd9\xd0\xcb\x00\x03\x00\x00geom\x00\xff"
    assert again.window_state == b"\x00\x00\x00\xffstate\n\r"
    assert again.splitter_sizes == [280, 900]
    assert again.theme == "dark"


@pytest.mark.usefixtures("qapp")
def test_single_splitter_size_and_clearing(settings_file: Path) -> None:
    settings = AppSettings(settings_file)
    settings.splitter_sizes = [300]
    settings.sync()
    assert AppSettings(settings_file).splitter_sizes == [300]
    settings.splitter_sizes = None
    settings.api_base_url = "   "
    settings.window_geometry = None
    settings.sync()
    reread = AppSettings(settings_file)
    assert reread.splitter_sizes is None
    assert reread.api_base_url is None
    assert reread.window_geometry is None


@pytest.mark.usefixtures("qapp")
def test_damaged_values_fall_back_to_defaults(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(
        "[api]\nuse_sandbox=perhaps\n"
        "[session]\nlast_conversation_id=forty-two\n"
        "[window]\nsplitter_sizes=10,abc\ngeometry=not bytes\n"
        "[appearance]\ntheme=neon\n"
    )
    settings = AppSettings(settings_file)
    assert settings.use_sandbox is False
    assert settings.last_conversation_id is None
    assert settings.splitter_sizes is None
    assert settings.window_geometry is None
    assert settings.theme == "system"


@pytest.mark.usefixtures("qapp")
def test_hand_written_booleans_are_understood(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("[api]\nuse_sandbox=true\n")
    assert AppSettings(settings_file).use_sandbox is True


@pytest.mark.usefixtures("qapp")
def test_unknown_theme_is_refused(settings_file: Path) -> None:
    settings = AppSettings(settings_file)
    with pytest.raises(ValueError, match="theme"):
        settings.theme = "neon"
    for theme in THEMES:
        settings.theme = theme
        assert settings.theme == theme


@pytest.mark.usefixtures("qapp")
def test_written_only_to_the_given_file(settings_file: Path, tmp_path: Path) -> None:
    settings = AppSettings(settings_file)
    _fill(settings)
    assert settings.sync()
    assert settings.file_path == settings_file
    assert settings_file.is_file()
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {settings_file}, "QSettings wrote outside the data dir"


@pytest.mark.usefixtures("qapp")
def test_never_stores_a_credential(settings_file: Path, memory_keyring: object) -> None:
    # The public surface has no place for a key...
    public = [name for name in dir(AppSettings) if not name.startswith("_")]
    assert not [n for n in public if re.search(r"key(?!s$)|secret|token|password", n, re.I)]
    # ...the writer refuses credential-like names...
    settings = AppSettings(settings_file)
    for name in ("api_key", "auth/apiKey", "secret", "access_token", "Password"):
        with pytest.raises(ValueError, match="keyring"):
            settings._set(name, "tlk_SECRET")
    # ...and a fully used settings file holds no credential-like key or the key's text.
    secret = "tlk_DO_NOT_PERSIST_1234567890"
    memory_keyring.set_password("jockey-desktop", "api-key", secret)  # type: ignore[attr-defined]
    _fill(settings)
    settings.sync()
    text = settings_file.read_text()
    assert secret not in text
    assert not [k for k in settings.stored_keys() if re.search(r"api_?key|secret|token", k, re.I)]


@pytest.mark.usefixtures("qapp")
def test_change_signal_names_the_key(settings_file: Path, qtbot: QtBot) -> None:
    settings = AppSettings(settings_file)
    with qtbot.waitSignal(settings.sig_changed, timeout=1000) as blocker:
        settings.theme = "light"
    assert blocker.args == ["appearance/theme"]
