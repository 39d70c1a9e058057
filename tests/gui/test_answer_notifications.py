"""Long waits (issue 14.13): an answer that finishes while the window is in the background
makes the window ask for attention (``QApplication.alert``) and shows a desktop
notification naming the conversation; clicking it opens that conversation. Nothing is told
while the user is looking, nor for a stopped answer, nor once the setting is off."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from jockey_desktop.controllers.notifications import COALESCE_MS
from tests.helpers.app import (
    SLOW,
    Started,
    ask_and_wait,
    ask_via_composer,
    current,
    new_conversation,
    settled,
    wait_for_store,
)
from tests.helpers.notifications import FakeNotifier

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[QWidget]:
    """Windows ``QApplication.alert`` was asked to flash."""
    flashed: list[QWidget] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: flashed.append(widget))
    return flashed


def _app(qtbot: Any, start: Started) -> tuple[Any, FakeNotifier, QWidget]:
    desktop = start()
    notifier = FakeNotifier()
    desktop.notifications.notifier_factory = lambda: notifier
    window = desktop.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_for_store(qtbot, desktop)
    other = QWidget()  # another application's window, in front
    qtbot.addWidget(other)
    return desktop, notifier, other


def _to_background(qtbot: Any, window: Any, other: QWidget) -> None:
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow(), timeout=5_000)


def test_an_answer_finishing_in_the_background_is_told(
    qtbot: Any, start: Started, alerts: list[QWidget]
) -> None:
    desktop, notifier, other = _app(qtbot, start)
    window = desktop.window
    # Looked at: nothing is told.
    first = ask_and_wait(qtbot, desktop)
    assert not desktop.notifications.is_pending()
    assert notifier.messages == [] and alerts == []

    new_conversation(qtbot, desktop)
    _to_background(qtbot, window, other)
    second = ask_and_wait(qtbot, desktop, "How do the videos open?")
    assert desktop.notifications.is_pending()  # told once answers stop arriving
    qtbot.waitUntil(lambda: bool(notifier.messages), timeout=5_000)
    title, body, conversation_id = notifier.messages[0]
    assert conversation_id == second
    assert title == "Answer ready: How do the videos open?"
    answer = desktop.repo.list_messages(second)[-1]
    assert body and body.split()[0] in answer.plain_text
    assert alerts == [window]

    # A click on the notification brings the window forward on that conversation.
    window.sidebar.select_conversation(first, notify=True)
    assert current(desktop) == first
    notifier.sig_activated.emit(second)
    assert current(desktop) == second


def test_the_setting_turns_notifications_off(
    qtbot: Any, start: Started, alerts: list[QWidget]
) -> None:
    desktop, notifier, other = _app(qtbot, start)
    window = desktop.window
    assert window.action_notify.isChecked()  # on by default
    window.action_notify.trigger()  # Settings → Notify me when an answer is ready
    assert not desktop.settings.notify_when_answered
    assert not window.settings_dialog.notify_check.isChecked()  # the dialog agrees
    _to_background(qtbot, window, other)
    ask_and_wait(qtbot, desktop)
    assert not desktop.notifications.is_pending()
    assert notifier.messages == [] and alerts == []
    # Back on from the Settings dialog.
    window.settings_dialog.notify_check.setChecked(True)
    assert desktop.settings.notify_when_answered and window.action_notify.isChecked()


def test_a_stopped_answer_is_not_told(qtbot: Any, start: Started,
                                      alerts: list[QWidget]) -> None:
    desktop = start(sandbox_pace=SLOW)
    notifier = FakeNotifier()
    desktop.notifications.notifier_factory = lambda: notifier
    wait_for_store(qtbot, desktop)
    ask_via_composer(desktop, "What are the main themes in these videos?")
    qtbot.waitUntil(lambda: current(desktop) is not None
                    and desktop.chat.is_busy(current(desktop)), timeout=5_000)
    conversation_id = current(desktop)
    other = QWidget()
    qtbot.addWidget(other)
    _to_background(qtbot, desktop.window, other)
    desktop.window.chat_pane.composer.send_button.click()  # Stop
    qtbot.waitUntil(lambda: not desktop.chat.is_busy(conversation_id), timeout=5_000)
    qtbot.waitUntil(lambda: settled(desktop), timeout=5_000)
    assert not desktop.notifications.is_pending()
    assert notifier.messages == [] and alerts == []


def test_without_a_tray_the_window_still_flashes(
    qtbot: Any, start: Started, alerts: list[QWidget]
) -> None:
    desktop, _notifier, other = _app(qtbot, start)
    # A desktop without a tray (plain GNOME): no notifier can be built.
    desktop.notifications.notifier_factory = lambda: None
    _to_background(qtbot, desktop.window, other)
    ask_and_wait(qtbot, desktop)
    qtbot.waitUntil(lambda: bool(desktop.notifications.shown), timeout=5_000)
    assert alerts == [desktop.window]
    assert desktop.notifications.shown[0][0].startswith("Answer ready: ")


def test_other_features_tell_through_the_same_notifier(
    qtbot: Any, start: Started, alerts: list[QWidget]
) -> None:
    desktop, notifier, other = _app(qtbot, start)
    window = desktop.window
    _to_background(qtbot, window, other)
    shown = current(desktop)
    # The stores' "batch ready" (StoresFeature) says it this way: no conversation to open.
    desktop.notifications.tell("Videos ready", "3 videos are ready to ask about in “Trips”.")
    assert notifier.messages == [
        ("Videos ready", "3 videos are ready to ask about in “Trips”.", None)]
    assert alerts == [window]
    # A click on it brings the window forward, on whatever it showed.
    notifier.sig_activated.emit(None)
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    assert current(desktop) == shown


def test_a_notification_still_waiting_at_quit_is_dropped(
    qtbot: Any, start: Started, alerts: list[QWidget]
) -> None:
    # An answer that ended just before quitting waits (answers close together make one
    # notification); quitting drops it instead of telling after the window is gone.
    desktop, notifier, other = _app(qtbot, start)
    _to_background(qtbot, desktop.window, other)
    ask_and_wait(qtbot, desktop)
    assert desktop.notifications.is_pending()
    notes = desktop.notifications
    start.stop(desktop)
    assert not notes.is_pending()
    qtbot.wait(COALESCE_MS + 200)  # past the moment it would have told
    assert notifier.messages == [] and alerts == []
