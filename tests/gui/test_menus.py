"""The menus (issue 14.12): File → Import… brings an export back; Help → Keyboard shortcuts
lists every shortcut; Help → Open data folder / Open logs show those folders; the export
and import dialogs start in the Documents folder; exported times are local with their
offset."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtWidgets import QFileDialog

from jockey_desktop.presentation.shortcuts import CONTEXT_SHORTCUTS, PLAYER_KEYS
from jockey_desktop.ui.shortcuts_dialog import action_keys
from tests.helpers.app import Started, ask_and_wait, wait_for_store
from tests.helpers.keys import press

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


@pytest.fixture
def documents(tmp_path: Path) -> Iterator[Path]:
    """A Documents folder of the user's (XDG user dirs, as a desktop sets it)."""
    folder = tmp_path / "My Documents"
    folder.mkdir()
    config = Path(os.environ["XDG_CONFIG_HOME"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "user-dirs.dirs").write_text(f'XDG_DOCUMENTS_DIR="{folder}"\n', encoding="utf-8")
    assert QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation) == str(folder)
    yield folder


@pytest.fixture
def local_zone() -> Iterator[None]:
    """The computer's time zone is India (UTC+05:30, no summer time)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _menu(window: Any, title: str) -> list[str]:
    bar = window.menuBar()
    menu = next(a.menu() for a in bar.actions() if a.text() == title)
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_the_menus_offer_import_shortcuts_and_folders(qtbot: Any, start: Started) -> None:
    window = start().window
    assert "&Import…" in _menu(window, "&File")
    assert "&Compare stores…" in _menu(window, "&File")
    assert _menu(window, "&Help") == ["&Keyboard shortcuts", "Open &data folder", "Open &logs",
                                      "&About Jockey Desktop", "About &Qt"]
    assert len(_menu(window, "&Settings")) >= 2  # no longer a menu of one item


def test_keyboard_shortcuts_sheet_lists_every_shortcut(qtbot: Any, start: Started) -> None:
    window = start().window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.focus_composer()
    press(qtbot, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    dialog = window.show_shortcuts()  # the one Ctrl+/ opened
    assert dialog.isVisible()
    rows = dialog.rows()
    listed = {(keys, does) for _section, keys, does in rows}
    # Every action of the window that has a shortcut, the player's and the chat's included.
    for action in window.actions():
        keys = action_keys(action)
        if keys:
            assert any(k == keys for k, _does in listed), action.text()
    for section, entries in CONTEXT_SHORTCUTS:
        for keys, does in entries:
            assert (section, keys, does) in rows
    assert ("Conversation list", "F2",
            "Rename the conversation in place (Enter keeps, Esc cancels)") in rows
    dialog.close()


def test_the_shortcuts_sheet_lists_the_stores_windows_keys(qtbot: Any) -> None:
    """The stores window's own keys (no menu item there) are on the sheet, and do work."""
    from jockey_desktop.ui.stores.stores_view import StoresView

    view = StoresView()
    qtbot.addWidget(view)
    bound = {key.toString() for action in view.actions() for key in action.shortcuts()}
    listed = dict(CONTEXT_SHORTCUTS)["Knowledge stores window"]
    assert ("Ctrl+W", "Close the window") in listed
    for keys, _does in listed:
        assert keys in bound
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=5_000)
    press(qtbot, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5_000)


def test_the_shortcuts_sheet_knows_the_players_keys() -> None:
    """The player's keys (ui/player/panel.py) are on the sheet. The source is read, not
    imported: importing it loads QtMultimedia, which is for the player's own tests."""
    import jockey_desktop

    panel = Path(jockey_desktop.__file__).parent / "ui" / "player" / "panel.py"
    text = panel.read_text(encoding="utf-8")
    source = text[text.index("def _shortcuts"):text.index("self.shortcuts: list")]
    for key in PLAYER_KEYS:
        spelled = f"Qt.Key.Key_{key}" if len(key) > 1 or key.isalpha() else f'"{key}"'
        assert spelled in source, key
    player = dict(CONTEXT_SHORTCUTS)["Player"]
    assert {keys for keys, _ in player} >= {"Space", "← / →", "↑ / ↓", "M", "L", "F", "P / N",
                                              "< / >"}


def test_help_opens_the_data_folder_and_the_logs(qtbot: Any, start: Started) -> None:
    desktop = start()
    window = desktop.window
    opened: list[QUrl] = []
    window.open_url = lambda url: opened.append(url) or True
    window.action_open_data.trigger()
    window.action_open_logs.trigger()
    assert [Path(u.toLocalFile()) for u in opened] == [desktop.paths.data_dir,
                                                        desktop.paths.logs]
    # A desktop that cannot open folders: the status bar says where they are.
    window.open_url = lambda url: False
    window.action_open_logs.trigger()
    assert str(desktop.paths.logs) in window.status_text()


def test_export_starts_in_documents_and_import_brings_it_back(
    qtbot: Any, start: Started, documents: Path, local_zone: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desktop = start()
    window = desktop.window
    wait_for_store(qtbot, desktop)
    conversation_id = ask_and_wait(qtbot, desktop)
    title = desktop.repo.get_conversation(conversation_id).title
    asked: list[str] = []

    def save_dialog(_parent: Any, _caption: str, start_at: str, _filter: str) -> Any:
        asked.append(start_at)
        return str(Path(start_at).with_suffix(".json")), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    window.action_export_json.trigger()
    assert Path(asked[0]).parent == documents  # the dialog starts in Documents
    exported = Path(asked[0]).with_suffix(".json")
    qtbot.waitUntil(exported.exists, timeout=5_000)

    # Markdown export: local times with their offset.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_a: (str(documents / "c.md"), ""))
    press(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil((documents / "c.md").exists, timeout=5_000)
    markdown = (documents / "c.md").read_text(encoding="utf-8")
    assert "+05:30" in markdown and "UTC" not in markdown

    # Delete it, then File → Import… brings it back.
    monkeypatch.setattr(window.sidebar, "confirm_delete", lambda _title: True)
    window.sidebar.delete(conversation_id)
    model = window.sidebar.model
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=5_000)
    opened_at: list[str] = []

    def open_dialog(_parent: Any, _caption: str, start_at: str, _filter: str) -> Any:
        opened_at.append(start_at)
        return str(exported), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_dialog)
    press(qtbot, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert opened_at == [str(documents)]
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.index(0, 0).data() == title,
                    timeout=5_000)
    qtbot.waitUntil(lambda: window.status_text() == "Imported 1 conversation.", timeout=5_000)
    # Importing the same file again adds nothing, and says so.
    press(qtbot, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "already here" in window.status_text(), timeout=5_000)
    assert model.rowCount() == 1


def test_importing_a_file_that_is_not_an_export_says_so(
    qtbot: Any, start: Started, documents: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = start().window
    bad = documents / "notes.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(bad), ""))
    window.action_import.trigger()
    qtbot.waitUntil(lambda: "Nothing was imported" in window.status_text(), timeout=5_000)
    assert "not a Jockey Desktop conversation export" in window.status_text()


def test_the_shortcuts_sheet_shows_every_description_whole(qtbot: Any, start: Started) -> None:
    window = start().window
    dialog = window.show_shortcuts()
    qtbot.waitExposed(dialog)
    tree, header = dialog.tree, dialog.tree.header()
    metrics = tree.fontMetrics()
    longest = max(metrics.horizontalAdvance(does) for _section, _keys, does in dialog.rows())
    # The "Does" column is as wide as its longest text (with the cell's margins) and ends
    # inside the visible list: nothing is cut to "…".
    assert tree.sizeHintForColumn(1) > longest
    assert header.sectionSize(1) >= tree.sizeHintForColumn(1)
    assert header.sectionPosition(1) + header.sectionSize(1) <= tree.viewport().width()
    dialog.close()
