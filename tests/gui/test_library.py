"""The conversation library on the real app: searching many conversations, backups and
restore, export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog

from jockey_desktop.core.storage.export import export_json
from jockey_desktop.core.storage.search import SEARCH_SHOWN
from tests.helpers.app import Started
from tests.helpers.storage_fixtures import answered_turn

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


def test_a_search_matching_more_than_it_lists_says_so(qtbot: Any, start: Started) -> None:
    desktop = start()
    for number in range(SEARCH_SHOWN + 10):
        conversation = desktop.repo.create_conversation("ks_nature", "Nature")
        answered_turn(desktop.repo, conversation.id, f"Question {number}",
                      f"Answer {number}: the lions hunt zebras at dawn.")
    sidebar = desktop.window.sidebar
    sidebar.focus_search()
    qtbot.keyClicks(sidebar.search_field, "zebras")
    qtbot.waitUntil(lambda: sidebar.results_model.rowCount() > 0, timeout=10_000)
    assert sidebar.results_model.rowCount() == SEARCH_SHOWN
    status = sidebar.results_status.text()
    assert status.startswith(f"The {SEARCH_SHOWN} best matches; more conversations match")
    assert "add a word to narrow" in status
    # A narrower query finds them all, and says how many.
    sidebar.search_field.clear()
    qtbot.keyClicks(sidebar.search_field, "Answer 7")
    qtbot.waitUntil(lambda: sidebar.results_status.text().startswith("1 match"),
                    timeout=10_000)


def test_restoring_a_backup_asks_with_its_time_in_words(qtbot: Any, start: Started) -> None:
    desktop = start()
    backup = desktop.repo.backup_now("manual")
    asked: list[str] = []
    desktop.window.confirm_restore_backup = lambda text: asked.append(text) or True
    desktop.window.sig_restore_backup_requested.emit()
    assert asked[0].startswith("Replace all your conversations with the backup taken on ")
    assert "(just now)?" in asked[0] and asked[0].endswith(f"Backup file: {backup}")
    qtbot.waitUntil(lambda: not desktop.workspace.is_restoring(), timeout=10_000)
    qtbot.waitUntil(lambda: "Your conversations are back as they were on"
                    in desktop.window.status_text(), timeout=10_000)
    # The copy made before the restore is the newest now: restoring it says what it is.
    desktop.window.sig_restore_backup_requested.emit()
    assert asked[1].startswith("Put your conversations back as they were just before the "
                               "last restore, on ")
    qtbot.waitUntil(lambda: not desktop.workspace.is_restoring(), timeout=10_000)


def test_an_import_with_a_damaged_conversation_brings_the_others_and_says_so(
    qtbot: Any, start: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop = start()
    repo = desktop.repo
    ids = [repo.create_conversation("ks_nature", "Nature", title=f"Lions {n}").id
           for n in range(3)]
    for conversation_id in ids:
        answered_turn(repo, conversation_id, "How do lions hunt?", "At dawn.")
    document = export_json(repo, ids)
    document["conversations"][1]["messages"][0]["role"] = "narrator"  # damaged by hand
    for conversation_id in ids:
        repo.delete_conversation(conversation_id)
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(path), ""))
    desktop.window.action_import.trigger()
    model = desktop.window.sidebar.model
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=10_000)
    assert sorted(s.conversation.title for s in model.summaries()) == ["Lions 0", "Lions 2"]
    qtbot.waitUntil(lambda: desktop.window.status_text() == (
        "Imported 2 conversations. 1 could not be read and was left out: A message has an "
        "unknown role or status."), timeout=10_000)


def test_an_export_that_cannot_be_written_names_the_file_in_a_dialog(
    qtbot: Any, start: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop = start()
    window = desktop.window
    conversation = desktop.repo.create_conversation("ks_nature", "Nature", title="Lions")
    answered_turn(desktop.repo, conversation.id, "How do lions hunt?", "At dawn.")
    target = tmp_path / "a folder"
    target.mkdir()  # chosen as the file's name: it cannot be written
    monkeypatch.setattr(window, "ask_export_path", lambda _fmt, _name: str(target))
    told: list[tuple[str, str, bool]] = []
    monkeypatch.setattr(window, "show_message",
                        lambda title, text, warning=False: told.append((title, text, warning)))
    window.export_conversation(conversation.id, "json")
    qtbot.waitUntil(lambda: bool(told), timeout=10_000)
    title, text, warning = told[0]
    assert (title, warning) == ("Export failed", True)
    assert text == (f"Nothing was exported: {target.name} could not be saved: a folder in "
                    f"{tmp_path} has that name. Choose another name and save again.")


def test_the_export_dialog_offers_the_title_as_a_clean_file_name(
    qtbot: Any, start: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = start().window
    offered: list[str] = []

    def save_dialog(_parent: Any, _caption: str, start_at: str, _filter: str) -> Any:
        offered.append(Path(start_at).name)
        return "", ""  # cancelled

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    assert window.ask_export_path("markdown", "What are the main themes in these videos?") \
        is None
    assert offered == ["What are the main themes in these videos.md"]


def test_a_restore_never_opens_another_conversation_that_took_the_same_id(
    qtbot: Any, start: Started
) -> None:
    desktop = start()
    repo = desktop.repo
    kept = repo.create_conversation("ks_nature", "Nature", title="Lions")
    answered_turn(repo, kept.id, "How do lions hunt?", "At dawn.")
    gone = repo.create_conversation("ks_nature", "Nature", title="Zebras")
    answered_turn(repo, gone.id, "Where do zebras drink?", "At the river.")
    repo.backup_now("manual")
    repo.delete_conversation(gone.id)
    # SQLite gives the next conversation the highest id again: the one the backup has.
    newer = repo.create_conversation("ks_nature", "Nature", title="Hyenas")
    answered_turn(repo, newer.id, "Do hyenas hunt?", "Often.")
    assert newer.id == gone.id
    desktop.feed.everything()
    qtbot.waitUntil(lambda: desktop.window.sidebar.model.summary_for(newer.id) is not None,
                    timeout=10_000)
    desktop.workspace.open(newer.id)
    desktop.window.confirm_restore_backup = lambda _text: True
    desktop.window.sig_restore_backup_requested.emit()
    qtbot.waitUntil(lambda: "Your conversations are back" in desktop.window.status_text(),
                    timeout=10_000)
    # "Zebras" has Hyenas' id in the backup: it is not shown as if it were the same one.
    assert desktop.workspace.current_id() is None
    assert "“Hyenas”, which was on screen, is not in this backup." in \
        desktop.window.status_text()
    # The conversation on screen, when the backup has it, opens again.
    desktop.workspace.open(kept.id)
    desktop.window.sig_restore_backup_requested.emit()  # the copy made before the restore
    qtbot.waitUntil(lambda: not desktop.workspace.is_restoring()
                    and desktop.workspace.current_id() == kept.id, timeout=10_000)


def test_export_all_writes_the_whole_library_to_one_file_import_reads_back(
    qtbot: Any, start: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desktop = start()
    window = desktop.window
    # With no conversation there is nothing to export: it says so, no dialog.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_a: pytest.fail("no dialog for an empty library"))
    window.action_export_all.trigger()
    assert window.status_text() == "There are no conversations to export."

    repo = desktop.repo
    titles = ["Lions", "Zebras", "Hyenas"]
    for title in titles:
        conversation = repo.create_conversation("ks_nature", "Nature", title=title)
        answered_turn(repo, conversation.id, f"What do {title.lower()} eat?", "Plenty.")
    desktop.feed.everything()
    model = window.sidebar.model
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10_000)
    target = tmp_path / "library.json"
    asked: list[tuple[str, str]] = []

    def save_dialog(_parent: Any, caption: str, start_at: str, _filter: str) -> Any:
        asked.append((caption, Path(start_at).name))
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    assert "Export &all conversations…" in [a.text() for a in window.menuBar().actions()[0]
                                             .menu().actions()]
    window.action_export_all.trigger()
    qtbot.waitUntil(lambda: window.status_text() == f"Exported 3 conversations to {target}",
                    timeout=10_000)
    caption, offered = asked[0]
    assert caption == "Export all conversations"
    assert offered.startswith("Jockey Desktop conversations ") and offered.endswith(".json")
    document = json.loads(target.read_text(encoding="utf-8"))
    assert sorted(c["title"] for c in document["conversations"]) == sorted(titles)

    for summary in model.summaries():
        repo.delete_conversation(summary.conversation.id)
    desktop.feed.everything()
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=10_000)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(target), ""))
    window.action_import.trigger()
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10_000)
    assert window.status_text() == "Imported 3 conversations."


def test_an_export_name_typed_without_extension_gets_one_and_asks_before_replacing(
    qtbot: Any, start: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = start().window
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_a: (str(tmp_path / "notes"), ""))
    assert window.ask_export_path("markdown", "Lions") == str(tmp_path / "notes.md")
    # That file exists: the dialog asked about "notes", so the window asks about "notes.md".
    (tmp_path / "notes.md").write_text("keep me", encoding="utf-8")
    asked: list[str] = []
    monkeypatch.setattr(window, "confirm_replace", lambda path: asked.append(path) or False)
    assert window.ask_export_path("markdown", "Lions") is None
    assert asked == [str(tmp_path / "notes.md")]
    monkeypatch.setattr(window, "confirm_replace", lambda _path: True)
    assert window.ask_export_path("json", "Lions") == str(tmp_path / "notes.json")
