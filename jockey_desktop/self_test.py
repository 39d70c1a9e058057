"""``--self-test``: hold the guide's three-turn conversation through the real app, offscreen.

It builds the real composition root (``app.JockeyDesktop``: repository, controllers, the real
MainWindow) in a private temporary data directory, starts the in-process sandbox with a fast
pace (or, with ``--api-base URL``, uses that server and ``TWELVELABS_API_KEY``), picks the
first knowledge store with ready items, creates a conversation, types each question into the
composer and submits it, and waits for the answer. It then checks, from the repository, that
every answer was saved COMPLETE with citations and that all three turns used one session id.

Then it plays a cited moment of the last answer as a click on its chip does: the player is
built, the video streams through the media relay (Qt Multimedia's FFmpeg backend, offscreen,
no audio device needed), and the check is a decoded frame within a second of the citation's
start that is not one flat colour, painted by the player; in sandbox mode also that no media
request carried the API key.

Prints one line — ``self-test OK: 3 turns, 1 session, N citations, played MM:SS, X s`` — and
returns 0, or ``self-test FAILED: <reason>`` (stderr) and 1 on any failure or after the time
limit.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from jockey_desktop.presentation.starters import GUIDE_QUESTIONS

#: The getting-started guide's three questions (also the starters of an empty conversation).
QUESTIONS = GUIDE_QUESTIONS

#: The whole self-test must finish within this many seconds.
TIME_LIMIT_S = 60.0


class SelfTestError(Exception):
    """A check failed; ``str()`` is the reason printed to the user."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.end = self.started + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _wait_until(qapp: Any, condition: Callable[[], bool], deadline: _Deadline, what: str) -> None:
    """Run the event loop until ``condition()`` holds; fail with ``what`` at the deadline."""
    from PySide6.QtCore import QEventLoop

    while not condition():
        if deadline.left() <= 0:
            raise SelfTestError(f"timed out waiting for {what}")
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        # processEvents returns at once when idle; a short sleep keeps this from spinning.
        time.sleep(0.005)


def _at_least(items: list[Any], count: int) -> bool:
    return len(items) >= count


def _pick_store(desktop: Any, qapp: Any, deadline: _Deadline) -> Any:
    stores = desktop.stores
    failures: list[str] = []
    stores.sig_stores_failed.connect(failures.append)
    _wait_until(qapp, lambda: bool(failures) or (bool(stores.stores())
                                                 and not stores.is_loading()),
                deadline, "the knowledge stores to load")
    if failures:
        raise SelfTestError(failures[-1])
    store = stores.first_ready_store()
    if store is None:
        raise SelfTestError("no knowledge store has ready items")
    return store


def start_conversation(desktop: Any, qapp: Any, deadline: _Deadline, store: Any) -> int:
    """Pick ``store`` and start a conversation on it, as Ctrl+N does; returns its id."""
    desktop.window.store_picker.select_store(store.id)
    workspace = desktop.workspace
    if not workspace.new_conversation():
        raise SelfTestError(f"could not start a conversation on {store.name}")

    def started() -> bool:
        current = workspace.current_id()
        return current is not None and (
            desktop.repo.get_conversation(current).store_id == store.id)

    _wait_until(qapp, started, deadline, "the new conversation")
    return int(workspace.current_id())


def _run(desktop: Any, qapp: Any, deadline: _Deadline) -> str:
    from jockey_desktop.core.storage.models import MessageStatus, Role

    store = _pick_store(desktop, qapp, deadline)
    window = desktop.window
    conversation_id = start_conversation(desktop, qapp, deadline, store)
    pane = window.chat_pane
    finished: list[tuple[int, int, str]] = []

    def on_finished(cid: int, mid: int, status: str) -> None:
        finished.append((cid, mid, status))

    desktop.chat.sig_turn_finished.connect(on_finished)
    for number, question in enumerate(QUESTIONS, start=1):
        # Through the composer, exactly as a user would (Enter calls submit()).
        pane.composer.set_text(question)
        pane.composer.submit()
        _wait_until(qapp, partial(_at_least, finished, number), deadline,
                    f"the answer to question {number}")
        _cid, message_id, status = finished[number - 1]
        if status != MessageStatus.COMPLETE.value:
            message = desktop.repo.get_message(message_id)
            reason = message.error_message if message is not None else status
            raise SelfTestError(f"question {number} failed: {reason}")
        if pane.current_conversation_id() != conversation_id:
            raise SelfTestError("the chat pane switched away from the conversation")

    messages = desktop.repo.list_messages(conversation_id)
    answers = [m for m in messages if m.role == Role.ASSISTANT]
    questions = [m for m in messages if m.role == Role.USER]
    if [q.text for q in questions] != list(QUESTIONS):
        raise SelfTestError("the saved questions differ from the ones asked")
    if len(answers) != len(QUESTIONS):
        raise SelfTestError(f"expected {len(QUESTIONS)} answers, found {len(answers)}")
    citations = 0
    for number, answer in enumerate(answers, start=1):
        if answer.status != MessageStatus.COMPLETE or not answer.text.strip():
            raise SelfTestError(f"answer {number} was not saved complete")
        if not answer.citations:
            raise SelfTestError(f"answer {number} has no citations")
        citations += len(answer.citations)
    sessions = {a.session_id for a in answers}
    conversation = desktop.repo.get_conversation(conversation_id)
    if len(sessions) != 1 or None in sessions:
        raise SelfTestError(f"the turns used {len(sessions)} sessions instead of one")
    if conversation is None or conversation.session_id not in sessions:
        raise SelfTestError("the conversation's saved session id is not the turns' session")
    played = play_cited_moment(desktop, qapp, deadline, answers[-1])
    return (f"self-test OK: {len(answers)} turns, 1 session, {citations} citations, "
            f"played {played}, {deadline.elapsed():.1f} s")


def play_cited_moment(desktop: Any, qapp: Any, deadline: _Deadline, answer: Any) -> str:
    """Play the first moment of ``answer`` as a chip click does; check a frame near its start.
    Returns the position played ("01:23")."""
    from jockey_desktop.core.timecode import format_timestamp
    from jockey_desktop.presentation.moments import answer_moments

    moments = answer_moments(answer)
    if not moments:
        raise SelfTestError("the last answer cites no moment of a video")
    moment = moments[0]
    conversation = desktop.repo.get_conversation(answer.conversation_id)
    player = desktop.player
    player.play_citation(conversation.store_id, answer, dict(moment.citation))
    start_ms = round(moment.start * 1000)

    def near_start() -> bool:
        panel, engine = player.panel, player.engine
        if panel is not None and panel.problem_text():
            raise SelfTestError(f"the player said: {panel.problem_text()}")
        return (panel is not None and engine is not None and panel.canvas.has_frame()
                and abs(engine.position() - start_ms) <= 1000)

    _wait_until(qapp, near_start, deadline, f"a frame near {format_timestamp(moment.start)}")
    image = player.panel.canvas.current_image()
    if image is None or _distinct_colours(image) < 2:
        raise SelfTestError("the player painted no picture, or one flat colour")
    sandbox = desktop.connection.sandbox()
    if sandbox is not None and sandbox.media_requests_with_key:
        raise SelfTestError("a media request carried the API key")
    return format_timestamp(player.engine.position() / 1000)


def _distinct_colours(image: Any) -> int:
    """Distinct colours on an 8×8 grid of an image (1: a flat picture)."""
    width, height = image.width(), image.height()
    return len({image.pixel(width * (2 * i + 1) // 16, height * (2 * j + 1) // 16)
                for i in range(8) for j in range(8)})


#: Qt messages that are harmless noise of the offscreen platform (window-manager requests
#: it cannot honour, e.g. "…support propagateSizeHints()"), not findings.
_OFFSCREEN_NOISE_PREFIX = "This plugin does not support "

#: What Qt Multimedia says, exactly, on a machine without PipeWire, an audio server, a GPU or
#: hardware decoders (a CI runner, offscreen): the player handles each case (no sound, CPU
#: conversion, software decoding), so they are not findings.
_PLAYER_NOISE = (
    re.compile(r"^Couldn't (load|resolve) pipewire-0\.3 (library|symbols)$"),
    re.compile(r'^"No HW decoder found"$'),
    re.compile(r"^PulseAudioService: pa_context_connect\(\) failed$"),
    re.compile(r"ensureRhi\(QRhi::Implementation\) : No RHI backend\. Using CPU "
               r"conversion\.$"),
    re.compile(r"^Using Qt multimedia with FFmpeg version [\w.]+ [\w. ]+$"),
)


def _install_message_filter() -> None:
    """Drop the offscreen platform's known noise; every other Qt message goes to stderr."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, _context: Any, message: str) -> None:
        if message.startswith(_OFFSCREEN_NOISE_PREFIX) or any(
                pattern.search(message) for pattern in _PLAYER_NOISE):
            return
        label = {QtMsgType.QtDebugMsg: "debug", QtMsgType.QtInfoMsg: "info",
                 QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical",
                 QtMsgType.QtFatalMsg: "fatal"}.get(kind, "message")
        print(f"Qt {label}: {message}", file=sys.stderr)

    qInstallMessageHandler(handler)


def _lock_data_dir(data_dir: str) -> Any:
    """Take the data folder's single-instance lock for the whole self-test, as the app does
    (without asking a running instance to come forward): a self-test must never open, and at
    its end close, a database a running app is using — closing removes that app's crash
    marker."""
    from jockey_desktop.paths import DataDirError, resolve_paths
    from jockey_desktop.single_instance import SingleInstanceGuard, server_name_for_data_dir

    try:
        paths = resolve_paths(data_dir)
    except DataDirError as exc:
        raise SelfTestError(str(exc)) from exc
    guard = SingleInstanceGuard(paths.lock_file, server_name_for_data_dir(paths.data_dir))
    if guard.try_acquire():
        return guard
    if guard.held_by_another():
        raise SelfTestError(f"another Jockey Desktop is using {paths.data_dir}; quit it or "
                            "give the self-test another --data-dir")
    raise SelfTestError(guard.lock_error_text())


def run_self_test(api_base: str | None = None, data_dir: str | None = None) -> int:
    """Run the self-test; returns the process exit code (0 OK, 1 failed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.environ["QT_QPA_PLATFORM"] == "offscreen":
        _install_message_filter()
    deadline = _Deadline(TIME_LIMIT_S)
    private_dir = None if data_dir else tempfile.mkdtemp(prefix="jockey-self-test-")
    desktop = None
    guard = None
    try:
        from jockey_desktop.app import AppOptions, JockeyDesktop
        from jockey_desktop.startup import ensure_qapp

        if api_base and not os.environ.get("TWELVELABS_API_KEY"):
            raise SelfTestError("--api-base needs the key in TWELVELABS_API_KEY")
        qapp = ensure_qapp()
        if data_dir:
            guard = _lock_data_dir(data_dir)
        options = AppOptions(
            sandbox=not api_base, api_base=api_base, data_dir=data_dir or private_dir,
            sandbox_pace="fast", single_instance=False, interactive=False)
        desktop = JockeyDesktop.create(options, qapp)
        if desktop is None:
            raise SelfTestError("the app could not start (see the message above)")
        desktop.start(show=True)
        summary = _run(desktop, qapp, deadline)
    except SelfTestError as failure:
        print(f"self-test FAILED: {failure}", file=sys.stderr)
        return 1
    except Exception as exc:  # any bug is a failed self-test, with its reason
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if desktop is not None:
            desktop.shutdown()
            desktop.window.close()
        if guard is not None:
            guard.release()
        if private_dir is not None:
            shutil.rmtree(private_dir, ignore_errors=True)
    print(summary)
    return 0
