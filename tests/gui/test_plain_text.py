"""Every text from users or servers reaches Qt as plain text (issue 10.4): the real window is
built from hostile conversation titles, store names, video titles and server sentences, then
every widget (labels, buttons, tooltips, window titles, menus, the status bar, item views'
roles, documents, and the tooltips the transcript shows on hover) is checked for text Qt
would render as HTML. The walk is generic: widgets added later are checked too."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QToolTip, QWidget

from jockey_desktop.core.storage import MessageStatus, open_repository
from jockey_desktop.paths import AppPaths
from jockey_desktop.settings import AppSettings
from jockey_desktop.ui import theme
from tests.helpers.app import Started, open_conversation, wait_for_store
from tests.helpers.media import player_marks
from tests.helpers.rich_text import renders_rich, rich_text_findings

# The walk opens the player too: its exact multimedia lines (no PipeWire, no audio device).
pytestmark = player_marks(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")

#: A first question that becomes the title: Qt would load the file to render it.
TITLE = '<img src="file:///tmp/x.png"> <b>bold</b> &lt;tag&gt; [*] R&D'
STORE = '<b>Store</b> <img src="file:///tmp/s.png"> R&D'
ITEM = '<img src="file:///tmp/item.png">Video <i>title</i>'
SERVER = '<a href="file:///etc/passwd">click</a> <b>failed</b> &amp;'


def _prepare(data_dir: Any, store_id: str) -> int:
    """Hostile rows in the database before the app starts; returns the conversation id."""
    paths = AppPaths.under(data_dir)
    repo = open_repository(paths.database, paths.backups)
    try:
        conversation = repo.create_conversation(store_id, STORE)
        question, answer = repo.start_turn(conversation.id, TITLE)
        marker = "A moment [1]."
        citation = {"kind": "vref", "item_id": "it_1", "collection_id": None,
                    "thumbnail_url": None, "hls_url": None, "start_sec": 10, "end_sec": 20,
                    "title": ITEM, "marker_start": marker.index("[1]"),
                    "marker_end": marker.index("[1]") + 3}
        repo.complete_turn(question.id, answer.id, text=marker, citations=[citation])
        question, answer = repo.start_turn(conversation.id, SERVER)
        repo.end_turn(question.id, answer.id, status=MessageStatus.FAILED,
                      error_code="server", error_message=SERVER, text=None)
    finally:
        repo.close()
    settings = AppSettings(paths.settings_file)
    settings.last_conversation_id = conversation.id
    settings.sync()
    return conversation.id


def _hover_everywhere(views: list[QAbstractItemView], shown: list[str]) -> None:
    """A tooltip request at points all over every item view (delegates answer in Python)."""
    for view in views:
        viewport = view.viewport()
        for x in range(4, viewport.width(), 12):
            for y in range(4, viewport.height(), 6):
                event = QHelpEvent(QEvent.Type.ToolTip, QPoint(x, y), viewport.mapToGlobal(
                    QPoint(x, y)))
                QApplication.sendEvent(viewport, event)
    del shown  # filled by the patched QToolTip.showText


def test_hostile_titles_names_and_server_text_are_never_rich(
    qtbot: Any, start: Started, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store of the in-app sandbox gets a hostile name (as a server could send).
    desktop = start()
    store = wait_for_store(qtbot, desktop)
    client = desktop.connection.client()
    assert client is not None
    client.update_knowledge_store(store.id, name=STORE)  # type: ignore[attr-defined]
    start.stop(desktop)
    conversation_id = _prepare(start.data_dir, store.id)

    desktop = start()
    window = desktop.window
    qtbot.waitUntil(lambda: desktop.workspace.current_id() == conversation_id, timeout=5_000)
    qtbot.waitUntil(lambda: any(s.name == STORE for s in desktop.stores.stores())
                    and not desktop.stores.is_loading(), timeout=10_000)
    open_conversation(desktop, conversation_id)
    window.resize(1000, 700)
    pane = window.chat_pane
    # Server and user text in every place the window shows it.
    pane.show_notice(SERVER)
    pane.show_refusal(SERVER)
    window.show_transient(SERVER)
    window.show_notice(SERVER, important=True, offer_restore=True)
    window.store_picker.show_popup()
    window.store_picker.set_error(SERVER)
    window.sidebar.search_field.setText(TITLE)
    dialog = window.open_settings()
    window.set_test_result(False, SERVER)
    window.set_key_state(SERVER, False)
    window.set_settings_values(None, False, SERVER)
    message = next(m for m in pane.chat_view.message_model.messages() if m.citations)
    # The player shows the cited video's title and the moment's sentence.
    desktop.player.play_citation(pane.current_store_id(), message, message.citations[0])
    assert desktop.player.panel is not None and desktop.player.dock.isVisible()
    # The find bar searching for the hostile title, and the shortcuts sheet.
    pane.show_find()
    pane.find_bar.field.setText(TITLE)
    shortcuts = window.show_shortcuts()
    qtbot.waitUntil(lambda: pane.find_bar.count_label.text() != "", timeout=5_000)
    qtbot.wait(50)

    assert TITLE in window.windowTitle().replace("[*][*]", "[*]")  # the title is shown
    findings = rich_text_findings(QApplication.topLevelWidgets())
    assert findings == []

    shown: list[str] = []
    monkeypatch.setattr(QToolTip, "showText",
                        lambda pos, text, *args: shown.append(text))
    views = [v for w in QApplication.topLevelWidgets()
             for v in w.findChildren(QAbstractItemView) if v.isVisible()]
    _hover_everywhere(views, shown)
    assert any("Video" in tip for tip in shown)  # the chip's video title was hovered
    assert [tip for tip in shown if renders_rich(tip)] == []
    shortcuts.close()

    # The comparison view names the hostile store in its chooser and its column.
    compare = desktop.compare.show()
    qtbot.waitUntil(lambda: any(v.name_label.text() == STORE for v in compare.column_views
                                if v.isVisible()), timeout=5_000)
    assert rich_text_findings(QApplication.topLevelWidgets()) == []
    dialog.close()

    # A conversation forked from the hostile one: its header names the origin.
    fork = desktop.repo.create_conversation(store.id, STORE,
                                            origin_conversation_id=conversation_id)
    desktop.workspace.open(fork.id)
    assert not pane.origin_link.isHidden()  # (the comparison view may still cover it)
    assert pane.origin_link.text().replace("&&", "&").startswith("↩ Continued from “<img")
    # Qt's own tooltip label (left from the hover walk, whose texts are checked above) is
    # escaped rich text by design.
    assert [f for f in rich_text_findings(QApplication.topLevelWidgets())
            if "qtooltip_label" not in f] == []


def test_the_walk_finds_rich_text_where_it_is(qtbot: Any) -> None:
    """The check itself: each kind of place is found when it holds rich text."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton

    root = QWidget()
    qtbot.addWidget(root)
    label = QLabel(TITLE, root)
    button = QPushButton("R&D", root)
    button.setToolTip(ITEM)
    action = QAction("Act", root)
    action.setToolTip(SERVER)
    root.addAction(action)
    items = QListWidget(root)
    item = QListWidgetItem("row")
    item.setToolTip(STORE)
    items.addItem(item)
    root.setWindowTitle("a [*] title")
    found = "\n".join(rich_text_findings([root]))
    for expected in ("QLabel", "QPushButton", "mnemonic", "action 'Act'", "ToolTipRole",
                     "window title"):
        assert expected in found, expected
    # The helpers' output passes.
    theme.set_plain_text(label, TITLE)
    button.setText(theme.plain_menu_text("R&D"))
    button.setToolTip(theme.plain_tooltip(ITEM))
    action.setToolTip(theme.plain_tooltip(SERVER))
    item.setToolTip(theme.plain_tooltip(STORE))
    root.setWindowTitle(theme.plain_window_title("a [*] title"))
    assert rich_text_findings([root]) == []
