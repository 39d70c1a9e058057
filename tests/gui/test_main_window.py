"""Tests for the main window shell: pages, menus, shortcuts, geometry, dialogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from jockey_desktop.presentation.connection import ConnectionMode, ConnectionStatus
from jockey_desktop.settings import AppSettings
from jockey_desktop.ui.main_window import MainWindow, load_app_icon
from tests.helpers.accessibility import announced_name
from tests.helpers.records import make_conversation

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path: Path) -> MainWindow:
    """A shown window with conversation 7 on screen; exports "ask" for a path in tmp."""
    win = MainWindow()
    qtbot.addWidget(win)
    win.chat_pane.show_conversation(make_conversation(7), [])
    monkeypatch.setattr(win, "ask_export_path",
                        lambda fmt, name: str(tmp_path / f"{name}.{fmt}"))
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.mark.parametrize(
    ("key", "modifiers", "signal"),
    [
        (Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier, "sig_new_conversation"),
        (Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
         "sig_copy_conversation"),
        (Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier, "sig_settings_requested"),
        (Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier, "sig_find_requested"),
    ],
)
def test_shortcuts_emit(qtbot, window, key, modifiers, signal) -> None:
    window.sidebar.list_view.setFocus()
    with qtbot.waitSignal(getattr(window, signal), timeout=1000):
        qtbot.keyClick(window.sidebar.list_view, key, modifiers)
    window.settings_dialog.close()


def test_export_shortcut_and_menu_export_the_conversation_on_screen(
    qtbot, window, tmp_path: Path
) -> None:
    window.sidebar.list_view.setFocus()
    with qtbot.waitSignal(window.sig_export_chosen) as blocker:
        qtbot.keyClick(window.sidebar.list_view, Qt.Key.Key_E,
                       Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [7, "markdown", str(tmp_path / "conversation.markdown")]
    with qtbot.waitSignal(window.sig_export_chosen) as blocker:
        window.action_export_json.trigger()
    assert blocker.args[:2] == [7, "json"]
    with qtbot.waitSignal(window.sig_copy_conversation) as blocker:
        window.action_copy.trigger()
    assert blocker.args == [7]
    # With nothing on screen there is nothing to export or copy.
    window.chat_pane.clear()
    with qtbot.assertNotEmitted(window.sig_export_chosen, wait=50):
        window.action_export_md.trigger()
    with qtbot.assertNotEmitted(window.sig_copy_conversation, wait=50):
        window.action_copy.trigger()
    menus = [a.text() for a in window.menuBar().actions()]
    # The player's and the stores' menus are the window's from the start (their features
    # are built after the first paint and connect the actions).
    assert menus == ["&File", "&Edit", "&Settings", "&Video", "S&tores", "&Help"]


def test_ctrl_k_and_ctrl_e_win_over_a_focused_text_field(qtbot, window) -> None:
    field = window.sidebar.search_field
    field.setText("abc")
    field.setFocus()
    field.setCursorPosition(0)
    with qtbot.waitSignal(window.sig_find_requested, timeout=1000):
        qtbot.keyClick(field, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert field.text() == "abc"  # not "delete to end of line"
    assert field.hasFocus()
    with qtbot.waitSignal(window.sig_export_chosen, timeout=1000):
        qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)


def test_the_shortcut_guard_follows_the_focus_and_keeps_to_its_window(qtbot, window) -> None:
    # Ctrl+A stands in for Ctrl+K / Ctrl+E: every platform's line edit claims it (Qt's
    # offscreen key bindings have no "delete to end of line").
    window._guard.sequences.add(QKeySequence("Ctrl+A"))

    def claimed(widget: QWidget) -> bool:
        event = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_A,
                          Qt.KeyboardModifier.ControlModifier)
        QApplication.sendEvent(widget, event)
        return event.isAccepted()

    edit = window.chat_pane.composer.edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    field = window.sidebar.search_field
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    # The guard moved with the focus: the window's shortcut wins in the second field too.
    assert not claimed(field)
    # A field in another window keeps its own Ctrl+A.
    other = QLineEdit()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    other.setFocus()
    qtbot.waitUntil(other.hasFocus, timeout=2000)
    assert claimed(other)


def test_ctrl_k_focuses_search(qtbot, window) -> None:
    window.sidebar.list_view.setFocus()
    qtbot.keyClick(window.sidebar.list_view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.search_field.hasFocus()


def test_welcome_main_switch_and_buttons(qtbot, window) -> None:
    window.show_welcome()
    assert window.is_welcome_shown()
    assert not window.action_new.isEnabled()
    with qtbot.waitSignal(window.sig_enter_key_requested):
        window.welcome.key_button.click()
    with qtbot.waitSignal(window.sig_try_sandbox_requested):
        window.welcome.sandbox_button.click()
    with qtbot.assertNotEmitted(window.sig_new_conversation):
        qtbot.keyClick(window.welcome, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    window.show_main()
    assert not window.is_welcome_shown()
    assert window.action_new.isEnabled()
    assert window.pages.currentWidget() is window.splitter


def test_enter_presses_the_focused_button(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    # The welcome page's second button (Tab reaches it; before, only Space pressed it).
    window.show_welcome()
    window.welcome.sandbox_button.setFocus()
    with qtbot.waitSignal(window.sig_try_sandbox_requested, timeout=2_000):
        qtbot.keyClick(window.welcome.sandbox_button, Qt.Key.Key_Return)
    window.show_main()
    window.sidebar.new_button.setFocus()
    with qtbot.waitSignal(window.sidebar.sig_new_requested, timeout=2_000):
        qtbot.keyClick(window.sidebar.new_button, Qt.Key.Key_Enter,
                       Qt.KeyboardModifier.KeypadModifier)
    composer = window.chat_pane.composer
    composer.set_text("What happens first?")
    composer.send_button.setFocus()
    with qtbot.waitSignal(window.chat_pane.sig_send_requested, timeout=2_000) as sent:
        qtbot.keyClick(composer.send_button, Qt.Key.Key_Return)
    assert sent.args == ["What happens first?"]


def test_conversation_actions_wait_for_a_conversation(qtbot, window) -> None:
    on_conversation = [window.action_copy, window.action_export_md, window.action_export_json,
                       window.action_find_here, window.action_find_next,
                       window.action_find_previous, window.action_rename]
    assert all(action.isEnabled() for action in on_conversation)  # conversation 7 is open
    window.chat_pane.clear()
    assert not any(action.isEnabled() for action in on_conversation)
    assert window.action_new.isEnabled() and window.action_find.isEnabled()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.chat_pane.composer.edit.setFocus()
    qtbot.keyClick(window.chat_pane.composer.edit, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier)
    assert not window.chat_pane.find_bar.isVisible()  # no find bar over the empty page
    assert window.chat_pane.composer.edit.hasFocus()
    window.chat_pane.show_conversation(make_conversation(8), [])
    assert all(action.isEnabled() for action in on_conversation)
    window.show_welcome()
    assert not window.action_copy.isEnabled()


def test_window_composition_and_accessible_names(window) -> None:
    assert window.sidebar.parent() is not None
    assert window.chat_pane.isVisibleTo(window)
    assert window.store_picker.isVisibleTo(window)
    controls = (QAbstractButton, QLineEdit, QAbstractItemView, QPlainTextEdit, QTextEdit)
    unnamed = [
        f"{w.metaObject().className()} {w.objectName()!r} {getattr(w, 'text', str)()!r}"
        for w in window.findChildren(QWidget)
        if isinstance(w, controls) and w.isVisibleTo(window) and not w.accessibleName()
    ]
    assert unnamed == []


def test_status_bar_connection(window) -> None:
    window.show_connection(ConnectionStatus(ConnectionMode.SANDBOX, "Sandbox"))
    assert window.connection_label.text() == "Sandbox"
    # Read as "Sandbox, Connection": what it says, then what it is (not the text twice).
    assert announced_name(window.connection_label) == "Sandbox"
    assert window.connection_label.accessibleDescription() == "Connection"
    window.show_connection(ConnectionStatus(ConnectionMode.API, "api.twelvelabs.io",
                                            "http://proxy.local:3128"))
    assert window.connection_label.text() == "api.twelvelabs.io · via proxy http://proxy.local:3128"
    assert not window.is_welcome_shown()
    window.show_connection(ConnectionStatus(ConnectionMode.NONE, "Not connected",
                                            needs_setup=True))
    assert window.is_welcome_shown() and window.connection_label.text() == "Not connected"
    window.set_conversation_title("Trip")
    assert window.windowTitle().startswith("Trip — ")


def test_window_icon_loads() -> None:
    assert not load_app_icon().isNull()


def test_geometry_and_splitter_round_trip(qtbot, tmp_path: Path) -> None:
    settings = AppSettings(tmp_path / "settings.ini")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    # The offscreen screen is 800x600 and restoreGeometry keeps windows on screen.
    first.resize(760, 560)
    first.splitter.setSizes([250, 500])
    sizes = first.splitter.sizes()
    first.close()
    assert settings.splitter_sizes == sizes
    assert settings.window_geometry

    second = MainWindow(AppSettings(tmp_path / "settings.ini"))
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    qtbot.waitUntil(lambda: second.splitter.sizes() == sizes)
    assert (second.width(), second.height()) == (760, 560)


def test_confirm_new_conversation_on(qtbot, window, monkeypatch) -> None:
    seen: list[str] = []

    def fake_exec(box: QMessageBox) -> int:
        seen.append(box.text())
        start = next(b for b in box.buttons()
                     if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
        start.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert window.confirm_new_conversation_on("Cooking shows") is True
    assert seen == ["Start a new conversation on “Cooking shows”?"]


def test_settings_menu_opens_dialog(qtbot, window) -> None:
    with qtbot.waitSignal(window.sig_settings_requested):
        window.action_settings.trigger()
    assert window.settings_dialog.isVisible()
    window.settings_dialog.reject()


@pytest.fixture
def restore_app_look(qapp):
    """apply_theme changes app-wide state: put it back for the other tests."""
    palette, style, sheet = qapp.palette(), qapp.style().name(), qapp.styleSheet()
    yield qapp
    if style:
        qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


def _contrast(a, b) -> float:
    def lum(c):
        def ch(v):
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_palettes_are_readable(restore_app_look, scheme) -> None:
    from jockey_desktop.ui.theme import apply_theme, current_scheme, palette_colors

    assert apply_theme(restore_app_look, scheme) == scheme
    assert current_scheme(restore_app_look) == scheme
    assert "QPushButton[primary" in restore_app_look.styleSheet()
    colors = palette_colors()
    assert colors.is_dark == (scheme == "dark")
    # WCAG AA for body text on the base and on bubbles; large-text level for muted labels.
    assert _contrast(colors.text, colors.base) >= 4.5
    assert _contrast(colors.text, colors.user_bubble) >= 4.5
    assert _contrast(colors.text, colors.assistant_bubble) >= 4.5
    assert _contrast(colors.chip_text, colors.chip) >= 3.0
    assert _contrast(colors.muted, colors.base) >= 3.0
    assert _contrast(colors.error, colors.base) >= 3.0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_welcome_pages_two_buttons_are_one_size(qtbot, restore_app_look, window,
                                                    scheme) -> None:
    from jockey_desktop.ui.theme import apply_theme

    apply_theme(restore_app_look, scheme)
    window.show_welcome()
    welcome = window.welcome
    qtbot.waitUntil(welcome.key_button.isVisible, timeout=5_000)
    # Side by side, the primary "Enter an API key…" is as tall as "Try the sandbox" (the
    # primary style's smaller padding used to win over the big one's).
    assert welcome.key_button.height() == welcome.sandbox_button.height()
    assert welcome.key_button.sizeHint().height() == welcome.sandbox_button.sizeHint().height()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_focused_primary_button_shows_it(qtbot, restore_app_look, window, scheme) -> None:
    from jockey_desktop.ui.theme import apply_theme

    apply_theme(restore_app_look, scheme)
    window.show_welcome()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    key, sandbox = window.welcome.key_button, window.welcome.sandbox_button
    key.setFocus()
    qtbot.waitUntil(key.hasFocus, timeout=5_000)
    focused, focused_size = key.grab().toImage(), key.size()
    sandbox.setFocus()
    qtbot.waitUntil(sandbox.hasFocus, timeout=5_000)
    # A keyboard user sees where the focus is (the theme's blue button drew its focus in
    # blue on blue), and the button does not change size when it gets the focus.
    assert key.grab().toImage() != focused
    assert key.size() == focused_size


def test_theme_follows_system(restore_app_look) -> None:
    from jockey_desktop.ui.theme import _SchemeFollower, apply_theme, system_scheme

    assert apply_theme(restore_app_look) == system_scheme()
    follower = restore_app_look.findChild(_SchemeFollower)
    assert follower is not None
    restore_app_look.setProperty("jockey_scheme", "stale")
    follower.on_scheme_changed()  # what a live system switch calls
    assert restore_app_look.property("jockey_scheme") == system_scheme()
    apply_theme(restore_app_look, "dark")  # an explicit choice stops following
    assert restore_app_look.findChild(_SchemeFollower) is None


@pytest.mark.parametrize(
    ("key", "modifiers", "signal"),
    [
        (Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier, "sig_find_requested"),
        (Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier, "sig_new_conversation"),
        (Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
         "sig_copy_conversation"),
        (Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier, "sig_export_chosen"),
    ],
)
def test_shortcuts_work_while_typing_in_the_composer(qtbot, window, key, modifiers,
                                                     signal) -> None:
    editors = [w for w in window.chat_pane.findChildren(QPlainTextEdit) if not w.isReadOnly()]
    assert editors, "the chat pane has a composer"
    editor = editors[0]
    editor.setFocus()
    editor.setPlainText("draft")
    with qtbot.waitSignal(getattr(window, signal), timeout=1000):
        qtbot.keyClick(editor, key, modifiers)
    assert editor.toPlainText() == "draft"


# -- rich text, notices, restore, welcome -----------------------------------------------------

EVIL = '<h1>Evil</h1><img src="file:///etc/passwd">'


@pytest.fixture
def boxes(monkeypatch) -> list[QMessageBox]:
    """Message boxes "shown" (exec returns at once, nothing clicked)."""
    seen: list[QMessageBox] = []

    def fake_exec(box: QMessageBox) -> int:
        seen.append(box)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return seen


def test_confirm_new_conversation_on_shows_store_name_as_plain_text(window, boxes) -> None:
    assert window.confirm_new_conversation_on(EVIL) is False
    (box,) = boxes
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert EVIL in box.text()


def test_show_error_shows_server_text_as_plain_text(window, boxes) -> None:
    window.show_error("Export failed", f"The server said: {EVIL}")
    (box,) = boxes
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert box.text() == f"The server said: {EVIL}"
    assert box.windowTitle() == "Export failed"


def test_connection_label_is_plain(window) -> None:
    window.show_connection(ConnectionStatus(ConnectionMode.API, "api.example",
                                            f"http://{EVIL}"))
    assert window.connection_label.textFormat() == Qt.TextFormat.PlainText
    assert EVIL in window.connection_label.text()


def test_the_connection_tooltip_never_claims_a_connection(window) -> None:
    from jockey_desktop.presentation.connection import NOT_CONNECTED
    from jockey_desktop.ui.theme import plain_tooltip

    window.show_connection(ConnectionStatus(ConnectionMode.API, "127.0.0.1:9", None))
    assert window.connection_label.toolTip() == plain_tooltip("Server in use: 127.0.0.1:9")
    window.set_connection(NOT_CONNECTED)
    assert window.connection_label.toolTip() == plain_tooltip(NOT_CONNECTED)


def test_long_status_notice_is_elided_with_full_text_in_tooltip(qtbot, window) -> None:
    from PySide6.QtGui import QTextDocument

    window.resize(600, 400)
    long_text = ("The conversation database was damaged (file is not a database). It was moved "
                 "to /tmp/some/rather/long/path/conversations.sqlite3.corrupt-20261124-211231 "
                 "and a new, empty one was started. Restore a backup from the File menu.")
    window.show_notice(long_text)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and shown[:-1] in long_text
    assert window.statusBar().fontMetrics().horizontalAdvance(shown) < window.width()
    doc = QTextDocument()
    doc.setHtml(window.statusBar().toolTip())
    assert doc.toPlainText() == long_text
    assert window.status_text() == long_text
    assert not window.notice_banner.isVisible()  # not important: the status bar only
    window.resize(2400, 400)  # room again: shown in full, no tooltip needed
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == long_text, timeout=2000)
    assert window.statusBar().toolTip() == ""


def test_short_status_fits_without_tooltip_and_expires(qtbot, window) -> None:
    window.show_status("Exported to /tmp/x.md", 50)
    assert window.statusBar().currentMessage() == "Exported to /tmp/x.md"
    assert window.statusBar().toolTip() == ""
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=2000)
    assert window.status_text() == ""


def test_important_notice_shows_a_dismissible_banner(qtbot, window) -> None:
    text = f"The database was damaged and moved aside: {EVIL} " * 3
    window.show_notice(text, important=True)
    banner = window.notice_banner
    assert banner.isVisible()
    assert banner.label.textFormat() == Qt.TextFormat.PlainText
    assert banner.label.wordWrap()
    assert banner.text() == text
    qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible() and banner.text() == ""


def test_restore_backup_menu_emits_and_confirm_box(qtbot, window, monkeypatch) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "&Restore newest backup…" in texts
    with qtbot.waitSignal(window.sig_restore_backup_requested):
        window.action_restore_backup.trigger()
    window.show_welcome()  # also reachable before any key is set
    assert window.action_restore_backup.isEnabled()

    def click(role: QMessageBox.ButtonRole | None):
        def fake_exec(box: QMessageBox) -> int:
            assert box.textFormat() == Qt.TextFormat.PlainText
            assert "backup-1.sqlite3" in box.text()
            cancel = QMessageBox.StandardButton.Cancel
            for button in box.buttons():
                wanted = (box.standardButton(button) == cancel if role is None
                          else box.buttonRole(button) == role)
                if wanted:
                    button.click()
            return 0
        return fake_exec

    monkeypatch.setattr(QMessageBox, "exec", click(QMessageBox.ButtonRole.DestructiveRole))
    assert window.confirm_restore_backup("Restore backup-1.sqlite3?") is True
    monkeypatch.setattr(QMessageBox, "exec", click(None))
    assert window.confirm_restore_backup("Restore backup-1.sqlite3?") is False


def test_welcome_does_not_promise_a_keychain(window) -> None:
    note = window.welcome.note_label.text()
    assert "keychain when one is available" in note
    assert "never in a file" in note
    assert "secure keychain, never" not in note


def test_help_about_shows_the_running_versions_and_about_qt_is_offered(
        window, monkeypatch) -> None:
    import PySide6
    from PySide6.QtCore import qVersion

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "about",
                        lambda parent, title, text: shown.append((title, text)))
    asked_qt: list[str] = []
    monkeypatch.setattr(QMessageBox, "aboutQt", lambda parent, title: asked_qt.append(title))
    window.action_about.trigger()
    [(title, text)] = shown
    assert title == "About Jockey Desktop"
    assert f"Qt {qVersion()} and PySide6 {PySide6.__version__}" in text
    assert "Lesser General Public License" in text
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.action_about_qt in help_menu.actions()
    window.action_about_qt.trigger()
    assert asked_qt == ["About Qt"]
