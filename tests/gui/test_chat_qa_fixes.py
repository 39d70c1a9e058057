"""QA fixes in the chat: retry of older turns, rate-limit waits, error text, big pastes, Stop.

Each test failed before its fix (QA scripts s10, s13, s2/s21, s7/s8b, and the "Stopped."
shown as an error).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, QUrl
from PySide6.QtWidgets import QVBoxLayout, QWidget

from jockey_desktop.controllers import errors as codes
from jockey_desktop.controllers.chat import ChatController
from jockey_desktop.controllers.errors import describe_error, retry_wait_row
from jockey_desktop.core import api
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.sandbox import SANDBOX_API_KEY
from jockey_desktop.sandbox.faults import Fault
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.composer import HARD_LIMIT, Composer
from jockey_desktop.ui.message_delegate import CANCELLED_REASON, RETRY_WAIT_TEXT
from tests.gui import test_controllers_support as support
from tests.gui.test_chat_view import click, row_layout, settle
from tests.gui.test_controllers_support import ChatHarness, make_client
from tests.gui.test_message_model import make_message

# The offscreen platform can't resize windows for a growing composer; harmless here.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

repo = support.repo
harness = support.harness

Q1 = "What are the main themes in these videos?"
Q2 = "Which videos best represent the first theme?"
Q3 = "Who speaks in the second video?"


@pytest.fixture
def view(qtbot: Any) -> Iterator[ChatView]:
    opened: list[QUrl] = []
    widget = ChatView(open_url=opened.append)
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


# --- 1. retry of an older failed turn --------------------------------------------------------


def test_retry_of_an_older_turn_repeats_the_question_at_the_end(
    harness: ChatHarness, sandbox: Any, view: ChatView, qtbot: Any
) -> None:
    h = harness
    conversation = h.new_conversation()
    h.ask(conversation.id, Q1)
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    failed = h.ask(conversation.id, Q2)
    assert failed.status == MessageStatus.FAILED
    h.ask(conversation.id, Q3)  # a later turn: the failed one is no longer the latest

    assert h.chat.retry(failed.id) is None
    h.qtbot.waitUntil(lambda: h.finished_count(conversation.id) == 4, timeout=15_000)
    rows = h.repo.list_messages(conversation.id)
    questions = [m.text for m in rows if m.role == Role.USER]
    assert questions == [Q1, Q2, Q3, Q2], "the question is repeated after the later turns"
    # The transcript stays chronological: the new answer follows its repeated question.
    assert rows[-2].role == Role.USER and rows[-2].text == Q2
    assert rows[-1].role == Role.ASSISTANT and rows[-1].reply_to == rows[-2].id
    assert rows[-1].status == MessageStatus.COMPLETE
    old = h.repo.get_message(failed.id)
    assert old.error_code == codes.ASKED_AGAIN
    assert old.error_message.endswith("Asked again below.")
    assert "already asked again" in h.chat.retry(failed.id)

    # The old attempt reads as a note, without a Retry link.
    view.set_messages(rows)
    settle(qtbot, view)
    layout, _origin = row_layout(view, old.id)
    assert layout.retry_rect is None
    assert layout.status_text.endswith("Asked again below.")


def test_retry_of_the_latest_turn_still_reuses_its_question(
    harness: ChatHarness, sandbox: Any
) -> None:
    h = harness
    conversation = h.new_conversation()
    h.ask(conversation.id, Q1)
    sandbox.faults.add(Fault.error(500, times=1, path="/responses"))
    failed = h.ask(conversation.id, Q2)
    assert h.chat.retry(failed.id) is None
    h.qtbot.waitUntil(lambda: h.finished_count(conversation.id) == 3, timeout=15_000)
    rows = h.repo.list_messages(conversation.id)
    assert [m.text for m in rows if m.role == Role.USER] == [Q1, Q2]
    assert h.repo.get_message(failed.id).error_code == codes.SERVER  # unchanged


# --- 2. Retry while still rate limited ---------------------------------------------------------


def test_retry_is_refused_and_shown_locked_until_retry_after(
    qtbot: Any, repo: Any, sandbox: Any, view: ChatView
) -> None:
    wall = [time.time()]
    client = make_client(sandbox)
    chat = ChatController(repo, client, wall_clock=lambda: wall[0])
    finished: list[int] = []
    chat.sig_turn_finished.connect(lambda _c, mid, _s: finished.append(mid))
    try:
        store = support.ready_store(client)
        conversation = repo.create_conversation(store.id, store.name)
        sandbox.faults.add(Fault.rate_limit(retry_after=12, times=None, path="/responses"))
        assert chat.send(conversation.id, Q1) is None
        qtbot.waitUntil(lambda: bool(finished), timeout=15_000)
        answer = repo.get_message(finished[-1])
        assert answer.error_code == codes.RATE_LIMITED and "(in 12 s)" in answer.error_message
        wall[0] = answer.updated_at + 2
        assert chat.retry(answer.id) == "Still rate limited — retry in 10 s."

        # The view: "Retry in 10 s", disabled; a click does nothing until the time has come.
        view.message_delegate._clock = lambda: wall[0]
        view.set_messages(repo.list_messages(conversation.id))
        settle(qtbot, view)
        assert view.is_ticking(), "the countdown repaints every second"
        layout, origin = row_layout(view, answer.id)
        assert layout.retry_rect is not None
        assert view.message_delegate.retry_wait_seconds(answer) == 10
        assert RETRY_WAIT_TEXT.format(seconds=10) == "Retry in 10 s"
        with qtbot.assertNotEmitted(view.sig_retry_requested, wait=50):
            click(qtbot, view, layout.retry_rect.center() + QPointF(origin))

        wall[0] = answer.updated_at + 13
        assert view.message_delegate.retry_wait_seconds(answer) == 0
        with qtbot.waitSignal(view.sig_retry_requested) as blocker:
            click(qtbot, view, layout.retry_rect.topLeft() + QPointF(3, 3) + QPointF(origin))
        assert blocker.args == [answer.id]
        sandbox.faults.clear()
        assert chat.retry(answer.id) is None
        qtbot.waitUntil(lambda: len(finished) == 2, timeout=15_000)
    finally:
        chat.shutdown(1.5)
        client.close()


def test_retry_at_is_derived_from_the_saved_row() -> None:
    assert codes.rate_limit_retry_at(codes.RATE_LIMITED,
                                     "Rate limited — try again after 10:00:12 (in 12 s).",
                                     1000.0) == 1012.0
    assert codes.rate_limit_retry_at(codes.RATE_LIMITED,
                                     "Rate limited by the server — wait a minute, then retry.",
                                     1000.0) is None
    assert codes.rate_limit_retry_at(codes.SERVER, "(in 12 s)", 1000.0) is None


# --- 3. automatic back-off is announced ------------------------------------------------------


def test_a_client_wait_shows_in_the_status_line_and_stop_ends_it(
    qtbot: Any, repo: Any, sandbox: Any, view: ChatView
) -> None:
    client = api.JockeyClient(SANDBOX_API_KEY, sandbox.base_url)  # real, cancellable pause
    chat = ChatController(repo, client)
    changed: list[Any] = []
    chat.sig_message_changed.connect(lambda _c, m: changed.append(m))
    try:
        store = support.ready_store(client)
        conversation = repo.create_conversation(store.id, store.name)
        sandbox.faults.add(Fault.rate_limit(retry_after=18, times=1, path="/responses"))
        assert chat.send(conversation.id, Q1) is None
        qtbot.waitUntil(lambda: any(m.error_code == codes.RETRY_WAIT for m in changed),
                        timeout=10_000)
        waiting = next(m for m in changed if m.error_code == codes.RETRY_WAIT)
        assert waiting.status == MessageStatus.STREAMING
        # Never saved: the stored row is a plain streaming answer.
        assert repo.get_message(waiting.id).error_code is None

        view.set_messages(repo.list_messages(conversation.id))
        view.message_model.replace(waiting)
        kind, text = view.message_delegate._status_text(view.message_model.message_at(1))
        assert kind == "busy"
        assert re.fullmatch(r"Rate limited — retrying in 1[78] s", text), text

        started = time.monotonic()
        chat.stop(conversation.id)
        qtbot.waitUntil(lambda: chat._runner.stream_count == 0, timeout=1_000)
        print(f"stream ended {time.monotonic() - started:.3f} s after Stop")
        assert repo.get_message(waiting.id).status == MessageStatus.CANCELLED
    finally:
        chat.shutdown(1.5)
        client.close()


def test_retry_wait_status_counts_down_then_disappears() -> None:
    row = make_message(5, Role.ASSISTANT, "", MessageStatus.STREAMING)
    shown = retry_wait_row(row, 18, "rate_limited", now=1000.0)
    assert codes.retry_wait_status(shown, 1000.0) == "Rate limited — retrying in 18 s"
    assert codes.retry_wait_status(shown, 1010.2) == "Rate limited — retrying in 8 s"
    assert codes.retry_wait_status(shown, 1018.0) is None
    assert codes.retry_wait_status(row, 1000.0) is None
    unavailable = retry_wait_row(row, 3, "unavailable", now=0.0)
    assert codes.retry_wait_status(unavailable, 0.0) == "The server is busy — retrying in 3 s"


# --- 4. error text says each thing once --------------------------------------------------------


_CLASSES = [
    api.AuthenticationError, api.ForbiddenError, api.MalformedKeyError, api.SessionLostError,
    api.StoreNotFoundError, api.ItemNotFoundError, api.InvalidRequestError,
    api.StoreNotReadyError, api.SessionStoreMismatchError, api.RateLimitedError,
    api.ServerError, api.NetworkError, api.RequestTimedOutError, api.ProtocolError,
    api.RequestCancelledError, api.JockeyError,
]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\s+—\s+|:\s+|;\s+", text)
    return [" ".join(p.lower().strip(" .!?").split()) for p in parts if p.strip(" .!?")]


@pytest.mark.parametrize("cls", _CLASSES)
@pytest.mark.parametrize("detail", ["", "Detail from the server.", "summary"])
def test_every_error_class_reads_without_a_repeated_sentence(cls: type, detail: str) -> None:
    # "summary": the server's detail equals the class's own summary (the QA case).
    err = cls(cls.summary if detail == "summary" else detail, retry_after=None)
    text = describe_error(err, store_name="Demo").message
    sentences = _sentences(text)
    assert len(sentences) == len(set(sentences)), text
    # The class summary (what str(err) starts with) appears at most once.
    assert text.count(err.user_summary().rstrip(".")) <= 1, text
    if detail == "Detail from the server." and cls not in (
        api.AuthenticationError, api.MalformedKeyError, api.SessionLostError,
        api.StoreNotFoundError, api.ItemNotFoundError, api.StoreNotReadyError,
        api.SessionStoreMismatchError, api.RateLimitedError, api.RequestTimedOutError,
        api.RequestCancelledError,
    ):
        assert "Detail from the server." in text, text  # the detail is kept, once


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (api.ProtocolError("The server's reply could not be understood."),
         "The server's reply could not be understood."),
        (api.ProtocolError("The server's answer was not valid JSON."),
         "The server's reply could not be understood. The server's answer was not valid JSON."),
        (api.NetworkError("The connection was refused."),
         "Can't reach the server — check the network connection or proxy. "
         "The connection was refused."),
        (api.ServerError(""), "The server failed to answer."),
        (api.MalformedKeyError(),
         "The API key contains characters that can't be sent (a line break or a non-ASCII "
         "character); paste it again."),
    ],
)
def test_qa_error_texts(err: Exception, expected: str) -> None:
    assert describe_error(err).message == expected


# --- 7. huge pastes ----------------------------------------------------------------------------


@pytest.fixture
def composer(qtbot: Any) -> Iterator[Composer]:
    # Inside a window, as in the app: a top-level composer that grows would ask the
    # offscreen platform for size hints it does not support (a Qt warning).
    window = QWidget()
    layout = QVBoxLayout(window)
    widget = Composer(window)
    layout.addWidget(widget)
    qtbot.addWidget(window)
    window.resize(700, 400)
    window.show()
    qtbot.waitExposed(window)
    widget.edit.setFocus()
    yield widget


def test_a_two_million_character_paste_is_cut_quickly_with_the_reason(
    qtbot: Any, composer: Composer
) -> None:
    composer.set_text("Intro: ")
    mime = QMimeData()
    mime.setText("x" * 2_000_000)  # one long line, the worst case for layout
    started = time.perf_counter()
    assert composer.edit.canInsertFromMimeData(mime)
    composer.edit.insertFromMimeData(mime)
    qtbot.wait(1)  # the resulting layout and repaint
    elapsed = time.perf_counter() - started
    print(f"2,000,000-char paste handled in {elapsed:.3f} s")
    assert len(composer.text()) == HARD_LIMIT
    assert composer.text().startswith("Intro: x")
    assert "Only the first 19,993 of 2,000,000 pasted characters" in composer.reason()
    assert not composer.can_send()  # still over the API's limit: the user must trim it


def test_a_paste_replacing_a_selection_gets_the_selection_s_room(composer: Composer) -> None:
    composer.set_text("a" * HARD_LIMIT)
    composer.edit.selectAll()
    mime = QMimeData()
    mime.setText("short question")
    composer.edit.insertFromMimeData(mime)
    assert composer.text() == "short question"
    assert composer.reason() == ""


def test_direct_edits_of_the_field_are_cut_too(composer: Composer) -> None:
    started = time.perf_counter()
    composer.edit.setPlainText("z" * 2_000_000)
    print(f"2,000,000-char setPlainText in {time.perf_counter() - started:.3f} s")
    assert len(composer.text()) == HARD_LIMIT
    assert "2,000,000" in composer.reason()
    composer.edit.insertPlainText("more")
    assert len(composer.text()) == HARD_LIMIT


def test_set_text_cuts_a_huge_draft(composer: Composer) -> None:
    composer.set_text("y" * 500_000)
    assert len(composer.text()) == HARD_LIMIT
    assert "500,000" in composer.reason()


# --- 8. Stop is neutral ------------------------------------------------------------------------


def test_a_stopped_answer_is_muted_with_a_normal_retry_link(
    qtbot: Any, view: ChatView
) -> None:
    view.set_messages([
        make_message(1, Role.USER, "q"),
        make_message(2, Role.ASSISTANT, "partial", MessageStatus.CANCELLED,
                     error_code=codes.CANCELLED, error_message="Stopped."),
        make_message(3, Role.USER, "q2"),
        make_message(4, Role.ASSISTANT, "", MessageStatus.CANCELLED,
                     error_code=codes.CANCELLED, error_message="Stopped."),
    ])
    settle(qtbot, view)
    delegate = view.message_delegate
    assert delegate._status_text(view.message_model.message_at(1)) == (
        "stopped", CANCELLED_REASON)
    assert CANCELLED_REASON == "Stopped — partial answer kept"
    assert delegate._status_text(view.message_model.message_at(3))[1] == (
        "Stopped before an answer arrived")
    layout, origin = row_layout(view, 2)
    assert layout.retry_rect is not None
    with qtbot.waitSignal(view.sig_retry_requested) as blocker:
        click(qtbot, view, layout.retry_rect.center() + QPointF(origin))
    assert blocker.args == [2]
    # Painted without the error colour: no pixel of the status line is the error red.
    image = view.viewport().grab().toImage()
    colors = delegate._colors_for(view.palette())
    top = origin.y() + int(layout.status_rect.top())
    bottom = origin.y() + int(layout.status_rect.bottom())
    reds = sum(
        1
        for y in range(top, bottom)
        for x in range(0, int(layout.retry_rect.left()), 2)
        if image.pixelColor(x, y).rgb() == colors.error.rgb()
    )
    assert reds == 0


def test_stop_saves_a_neutral_reason(harness: ChatHarness) -> None:
    h = harness
    conversation = h.new_conversation()
    assert h.chat.send(conversation.id, Q1) is None
    answer_id = h.assistant_rows(conversation.id)[0].id
    h.chat.stop(conversation.id)
    stopped = h.repo.get_message(answer_id)
    assert stopped.status == MessageStatus.CANCELLED
    assert stopped.error_message in (codes.STOPPED_TEXT, codes.STOPPED_EMPTY_TEXT)
    assert stopped.error_message != "Stopped."
