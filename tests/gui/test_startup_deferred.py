"""Start-up work that waits for the first paint (issue 6): the rest of the sidebar list, the
daily backup, and the imports the first paint does not need."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from jockey_desktop.app import AppOptions, JockeyDesktop
from jockey_desktop.controllers.conversations import ConversationsController
from jockey_desktop.core.storage import database, open_repository
from jockey_desktop.settings import AppSettings
from jockey_desktop.ui.models.conversation_model import ConversationIdRole, ConversationListModel
from jockey_desktop.ui.sidebar import ConversationSidebar
from tests.helpers.app import close_desktop
from tests.helpers.records import make_summary
from tests.helpers.storage_fixtures import answered_turn
from tests.helpers.views import ids

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")

ROOT = Path(__file__).resolve().parents[2]


def make_data_dir(path: Path, conversations: int) -> Path:
    """A data dir whose database holds ``conversations`` conversations (and no backup)."""
    path.mkdir(parents=True)
    repo = open_repository(path / "conversations.sqlite3", path / "backups")
    try:
        for n in range(conversations):
            repo.create_conversation("ks_1", "Games", title=f"Conversation {n}")
    finally:
        repo.close()
    return path


def make_data_dir_with_an_answer(path: Path) -> tuple[Path, int]:
    """A data dir of two empty conversations and a third with one answered turn (its id)."""
    data = make_data_dir(path, 2)
    repo = open_repository(data / "conversations.sqlite3", data / "backups")
    try:
        answered = repo.create_conversation("ks_1", "Games", title="Answered")
        answered_turn(repo, answered.id, "Who scored?", "Number 9, at **01:02**.")
    finally:
        repo.close()
    return data, answered.id


def create(data_dir: Path) -> JockeyDesktop:
    # No sandbox and no key: the welcome page, nothing on the network.
    desktop = JockeyDesktop.create(
        AppOptions(data_dir=str(data_dir), interactive=False, single_instance=False,
                   freeze_gc=False),
        QApplication.instance())
    assert desktop is not None
    return desktop


def hide_steps(data_dir: Path) -> None:
    """Turn "Show agent steps" off in the data dir's settings (it is on by default)."""
    settings = AppSettings(data_dir / "settings.ini")
    settings.show_steps = False
    settings.sync()


class PaintSpy(QObject):
    """Calls ``on_paint`` at each Paint event of the watched widget."""

    def __init__(self, on_paint: Callable[[], object], parent: QObject) -> None:
        super().__init__(parent)
        self._on_paint = on_paint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._on_paint()
        return False


# --------------------------------------------------------------------------- the model


def test_add_summaries_inserts_missing_rows_in_order_and_keeps_listed_ones(
    qtmodeltester: Any,
) -> None:
    model = ConversationListModel()
    first_page = [make_summary(10, 100.0, pinned=True), make_summary(9, 90.0),
                  make_summary(8, 80.0, title="fresher copy")]
    model.set_summaries(first_page)
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))

    # The whole list as read a moment earlier: an older copy of 8, the page again, and the
    # rest — including 95, which sorts between rows already shown.
    rest = [make_summary(8, 80.0, title="stale copy"), make_summary(9, 90.0),
            *(make_summary(cid, float(cid)) for cid in range(1, 8)), make_summary(95, 95.0)]
    added = model.add_summaries(rest)

    assert added == 8
    assert ids(model) == [10, 95, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert model.summary_for(8).conversation.title == "fresher copy"
    assert all(model.row_for_conversation(cid) == row for row, cid in enumerate(ids(model)))
    # Two blocks, bottom one first (one at the end, one between the rows), not one
    # notification per row.
    assert inserted == [(3, 9), (1, 1)]
    assert model.add_summaries(rest) == 0
    qtmodeltester.check(model)


def test_sidebar_add_summaries_keeps_the_selection_and_meets_an_early_wish(qtbot: Any) -> None:
    sidebar = ConversationSidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_summaries([make_summary(cid, float(cid)) for cid in (50, 49)])
    sidebar.select_conversation(49)
    selected: list[int] = []
    sidebar.sig_conversation_selected.connect(selected.append)
    sidebar.add_summaries([make_summary(cid, float(cid)) for cid in range(1, 49)])
    assert sidebar.current_conversation_id() == 49
    assert sidebar.list_view.currentIndex().data(ConversationIdRole) == 49

    # Asked for before its row arrived (the last conversation at start): selected on arrival,
    # silently (the app opened it already).
    sidebar.set_summaries([make_summary(cid, float(cid)) for cid in (100, 99)])
    sidebar.select_conversation(None)
    assert sidebar.select_conversation(7) is False
    sidebar.add_summaries([make_summary(cid, float(cid)) for cid in range(1, 99)])
    assert sidebar.current_conversation_id() == 7
    assert sidebar.list_view.currentIndex().data(ConversationIdRole) == 7
    assert selected == []


# --------------------------------------------------------------------------- the controller


def test_a_conversation_deleted_while_the_list_loads_does_not_come_back(
    qtbot: Any, tmp_path: Path
) -> None:
    from jockey_desktop.concurrency import TaskRunner

    data = make_data_dir(tmp_path / "data", 5)
    repo = open_repository(data / "conversations.sqlite3", data / "backups")
    from jockey_desktop.controllers.changes import ChangeFeed

    runner = TaskRunner(max_threads=1)
    controller = ConversationsController(repo, runner, ChangeFeed())
    try:
        victim = repo.list_conversations()[2].conversation.id
        with qtbot.waitSignal(controller.sig_summaries_loaded, timeout=5000) as loaded:
            controller.load_all_summaries()
            assert controller.is_loading_summaries()
            # Before the result is delivered (the event loop has not run): whether the
            # worker read the row or not, it must not reach the sidebar.
            controller.delete(victim)
        rows = loaded.args[0]
        assert len(rows) == 4
        assert victim not in [s.conversation.id for s in rows]
        assert not controller.is_loading_summaries()
    finally:
        controller.shutdown()
        runner.shutdown(2000)
        repo.close()


# --------------------------------------------------------------------------- the app


def test_the_sidebar_shows_a_first_page_then_every_conversation(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JockeyDesktop, "STARTUP_PAGE", 10)
    data = make_data_dir(tmp_path / "data", 35)
    desktop = create(data)
    try:
        desktop.start(show=True)
        model = desktop.window.sidebar.model
        # Before the event loop runs: only the newest page, in sidebar order.
        assert model.rowCount() == 10
        first_page = ids(model)
        qtbot.waitUntil(lambda: model.rowCount() == 35, timeout=5000)
        assert ids(model)[:10] == first_page
        assert ids(model) == [s.conversation.id for s in desktop.repo.list_conversations()]
    finally:
        close_desktop(desktop)


def test_a_short_list_is_read_once(qtbot: Any, tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", 3)
    desktop = create(data)
    try:
        desktop.start(show=True)
        assert desktop.window.sidebar.model.rowCount() == 3
        qtbot.waitUntil(lambda: database.latest_backup(data / "backups",
                                                       data / "conversations.sqlite3")
                        is not None, timeout=5000)
        assert not desktop.conversations.is_loading_summaries()
        assert desktop.window.sidebar.model.rowCount() == 3
    finally:
        close_desktop(desktop)


def test_the_daily_backup_happens_after_start_up_not_before(qtbot: Any, tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", 2)
    db, backups = data / "conversations.sqlite3", data / "backups"
    assert database.list_backups(backups, db) == []
    desktop = create(data)
    try:
        # Opening the repository (before the window exists) did not copy the database.
        assert database.list_backups(backups, db) == []
        assert desktop.repo.open_report.backup is None
        desktop.start(show=True)
        qtbot.waitUntil(lambda: len(database.list_backups(backups, db)) == 1, timeout=5000)
        assert "daily" in database.list_backups(backups, db)[0].name
    finally:
        close_desktop(desktop)
    # A second start the same day takes none.
    desktop = create(data)
    try:
        desktop.start(show=True)
        qtbot.waitUntil(lambda: desktop.first_paint.done, timeout=5000)
        # The backup job runs after the hook on the one-thread storage runner: let it run.
        assert desktop.storage_runner.drain(5000)
        assert len(database.list_backups(backups, db)) == 1
    finally:
        close_desktop(desktop)


_FIRST_PAINT_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication
    from jockey_desktop.app import AppOptions, JockeyDesktop

    qapp = QApplication(sys.argv[:1])
    desktop = JockeyDesktop.create(
        AppOptions(data_dir=sys.argv[1], interactive=False, single_instance=False), qapp)
    heavy = ("requests", "urllib3", "keyring", "jockey_desktop.sandbox",
             "jockey_desktop.core.api.client", "PySide6.QtMultimedia",
             "jockey_desktop.ui.player.engine", "jockey_desktop.core.media_relay",
             "opentimelineio")
    # The features the first paint does not show: built (and imported) just after it.
    features = ("jockey_desktop.player_wiring", "jockey_desktop.controllers.player",
                "jockey_desktop.stores_feature", "jockey_desktop.controllers.uploads",
                "jockey_desktop.core.upload_flow", "jockey_desktop.ui.stores.indicator",
                "jockey_desktop.compare_wiring", "jockey_desktop.controllers.compare",
                "jockey_desktop.controllers.notifications", "jockey_desktop.controllers.starters",
                "jockey_desktop.controllers.selections", "hashlib", "uuid",
                "jockey_desktop.ui.welcome", "jockey_desktop.presentation.backups",
                "jockey_desktop.presentation.file_names")
    # What draws messages: no conversation is reopened here, so the first paint needs none.
    transcript = ("jockey_desktop.ui.chat_view", "jockey_desktop.ui.message_delegate",
                  "jockey_desktop.ui.markdown")
    print("after-create", *sorted(m for m in heavy + features if m in sys.modules))
    window = desktop.window

    class Watch(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                # requests only: keyring may be loading on a worker meanwhile (by design).
                print("at-first-paint",
                      *sorted(m for m in heavy[:2] + features if m in sys.modules))
                print("transcript-at-first-paint",
                      *sorted(m for m in transcript if m in sys.modules))
                QTimer.singleShot(0, qapp.quit)
            return False

    watch = Watch()
    for widget in (window, window.sidebar.list_view.viewport()):
        widget.installEventFilter(watch)
    QTimer.singleShot(20_000, qapp.quit)
    desktop.start(show=True)
    qapp.exec()
    desktop.shutdown()
""")


def test_nothing_heavy_is_imported_before_the_first_paint(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", 3)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("TWELVELABS_API_KEY", None)
    proc = subprocess.run([sys.executable, "-c", _FIRST_PAINT_SCRIPT, str(data)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "after-create" in lines, proc.stdout
    assert "at-first-paint" in lines, proc.stdout
    assert "transcript-at-first-paint" in lines, proc.stdout



_UNUSED_TYPES_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6 import QtWidgets
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication
    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.ui.viewport import viewport_of

    # Widget types the app never shows. PySide sets up a type's Python side (enums included)
    # the first time Python meets it; a plain ``viewport()`` call makes it set up these and
    # some fifteen more at once (ui/viewport.py).
    never_shown = ("QCalendarWidget", "QLCDNumber", "QDial", "QFontDialog", "QErrorMessage")
    qapp = QApplication(sys.argv[:1])
    desktop = JockeyDesktop.create(
        AppOptions(data_dir=sys.argv[1], interactive=False, single_instance=False), qapp)
    if len(sys.argv) > 2:
        desktop.settings.last_conversation_id = int(sys.argv[2])

    class Watch(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                view = desktop.window.chat_pane._chat_view
                print("transcript-shown", view is not None and view.isVisible())
                print("set-up", *sorted(t for t in never_shown if t in vars(QtWidgets)))
                QTimer.singleShot(0, qapp.quit)
            return False

    watch = Watch()
    viewport_of(desktop.window.sidebar.list_view).installEventFilter(watch)
    QTimer.singleShot(20_000, qapp.quit)
    desktop.start(show=True)
    qapp.exec()
    desktop.shutdown()
""")


@pytest.mark.parametrize("reopened", [False, True], ids=["new", "reopened"])
def test_the_first_paint_sets_up_no_widget_type_the_app_never_shows(
        tmp_path: Path, reopened: bool) -> None:
    data, answered_id = make_data_dir_with_an_answer(tmp_path / "data")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("TWELVELABS_API_KEY", None)
    args = [str(data), str(answered_id)] if reopened else [str(data)]
    proc = subprocess.run([sys.executable, "-c", _UNUSED_TYPES_SCRIPT, *args], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"transcript-shown {reopened}" in lines, proc.stdout
    assert "set-up" in lines, proc.stdout  # none of them

def test_the_transcript_is_built_when_a_conversation_is_first_shown(
    qtbot: Any, tmp_path: Path
) -> None:
    data = make_data_dir(tmp_path / "data", 2)
    hide_steps(data)
    desktop = create(data)
    try:
        window = desktop.window
        pane = window.chat_pane
        desktop.start(show=True)
        qtbot.waitUntil(lambda: desktop.first_paint is not None and desktop.first_paint.done,
                        timeout=5000)
        # Nothing reopened: the empty page was painted without a transcript; the window's
        # icon came just after the paint.
        assert pane._chat_view is None
        assert pane.stack.currentWidget() is pane.empty_label
        assert not window.windowIcon().isNull()
        newest = desktop.conversations.summaries(limit=1)[0].conversation.id
        desktop.workspace.open(newest)
        view = pane._chat_view
        assert view is not None and pane.chat_view is view  # built once, on this open
        # The Steps setting given before it existed holds; its place in the Tab order is
        # the one it had when built with the pane (right after the header).
        assert view.message_delegate.shows_steps() is False
        assert pane.origin_link.nextInFocusChain() is view
    finally:
        close_desktop(desktop)


def test_a_reopened_conversation_is_in_the_first_paint(qtbot: Any, tmp_path: Path) -> None:
    data, answered_id = make_data_dir_with_an_answer(tmp_path / "data")
    desktop = create(data)
    desktop.settings.last_conversation_id = answered_id
    pane = desktop.window.chat_pane
    painted: list[object] = []

    def on_paint() -> None:
        painted.append(pane.stack.currentWidget())

    try:
        desktop.window.sidebar.list_view.viewport().installEventFilter(
            PaintSpy(on_paint, desktop.window))
        desktop.start(show=True)
        qtbot.waitUntil(lambda: bool(painted), timeout=5000)
        assert pane._chat_view is not None and painted[0] is pane._chat_view
    finally:
        close_desktop(desktop)


def test_features_the_first_paint_does_not_show_are_built_just_after_it(
    qtbot: Any, tmp_path: Path
) -> None:
    data = make_data_dir(tmp_path / "data", 3)
    desktop = create(data)
    parts = (JockeyDesktop.player, JockeyDesktop.store_feature, JockeyDesktop.compare,
             JockeyDesktop.notifications, JockeyDesktop.starters, JockeyDesktop.mentions)
    try:
        # Their menus are there from the start, with their shortcuts.
        window = desktop.window
        assert window.video_menu.menuAction() in window.menuBar().actions()
        assert window.action_manage_stores in window.actions()
        assert all(part.of(desktop).built() is None for part in parts)
        desktop.start(show=True)
        assert all(part.of(desktop).built() is None for part in parts)
        qtbot.waitUntil(lambda: desktop.first_paint is not None and desktop.first_paint.done,
                        timeout=5000)
        built = [part.of(desktop).built() for part in parts]
        assert all(feature is not None for feature in built)
        # Asking again gives the same part (built once).
        assert desktop.player is built[0] and desktop.store_feature is built[1]
        # The placeholders now reach their feature: Stores → Manage… opens the stores window.
        assert desktop.store_feature._view is None
        window.action_manage_stores.trigger()
        assert desktop.store_feature._view is not None
        assert desktop.store_feature.view.isVisible()
    finally:
        close_desktop(desktop)


def test_a_deferred_part_is_built_once_and_a_failed_build_is_tried_again() -> None:
    from jockey_desktop.startup import Deferred

    calls: list[int] = []

    def build() -> list[int]:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError("not this time")
        return calls

    part = Deferred(build)
    assert part.built() is None
    with pytest.raises(OSError):
        part.get()
    assert part.built() is None
    assert part.get() is calls and part.get() is calls
    assert calls == [0, 1]  # built once after the failure, then kept

    looping: Deferred[object] = Deferred(lambda: looping.get())
    with pytest.raises(RuntimeError, match="its own build"):
        looping.get()


def test_a_feature_asked_for_before_the_first_paint_is_built_then(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", 1)
    desktop = create(data)
    try:
        assert JockeyDesktop.compare.of(desktop).built() is None
        compare = desktop.compare
        assert JockeyDesktop.compare.of(desktop).built() is compare
        assert JockeyDesktop.player.of(desktop).built() is None  # the others wait
    finally:
        close_desktop(desktop)


def test_opening_a_long_conversation_reads_only_its_newest_page(
    qtbot: Any, tmp_path: Path
) -> None:
    from jockey_desktop.ui.chat_view import PAGE_SIZE

    data = make_data_dir(tmp_path / "data", 1)
    repo = open_repository(data / "conversations.sqlite3", data / "backups")
    try:
        conversation_id = repo.list_conversations()[0].conversation.id
        for n in range(PAGE_SIZE + 30):
            repo.add_user_message(conversation_id, f"question {n}")
    finally:
        repo.close()
    desktop = create(data)
    try:
        desktop.start(show=True)
        reads: list[int | None] = []
        real_page = desktop.repo.list_messages_page

        def counting_page(cid: int, *, limit: int, before_id: int | None = None) -> list[Any]:
            reads.append(before_id)
            return real_page(cid, limit=limit, before_id=before_id)

        desktop.repo.list_messages_page = counting_page  # type: ignore[method-assign]
        desktop.window.sidebar.select_conversation(None)
        desktop.workspace.open(conversation_id)
        view = desktop.window.chat_pane.chat_view
        assert reads == [None]  # one page, the newest
        assert view.message_model.rowCount() == PAGE_SIZE
        assert view.message_model.message_at(PAGE_SIZE - 1).text == f"question {PAGE_SIZE + 29}"
        assert view.has_older()
        # Scrolling up reaches the rest through the pager.
        assert view.load_older() == 30
        assert reads[-1] is not None and not view.has_older()
    finally:
        close_desktop(desktop)
