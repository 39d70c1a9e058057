"""Child process of the benchmark: drives the real app (composition root, controllers, window,
in-process sandbox) on a synthetic data directory and prints one ``BENCH-RESULT: {json}`` line.

``python -m build_scripts.bench.gui_probe SCENARIO --data-dir DIR [options]``, run from the
repository root with the offscreen (or a real) Qt platform. Scenarios:

- ``open``: select the 10-message and the 1,000-message conversation in the sidebar (first
  open in this process, then warm re-opens); selection → first complete paint of the transcript.
  Then the resident set size with the big conversation open.
- ``search``: type a query into the sidebar's search field one key at a time; for each key,
  the debounced search request → results painted (and key → painted, debounce included).
- ``stream``: stream a long answer from the sandbox (custom ``Pace``) into the big
  conversation while a 5 ms heartbeat ``QTimer`` records the GUI event loop's gaps.
- ``typing``: the same stream, while keys are typed into the composer; key press → repaint of
  the composer.
- ``player``: ask the sandbox a question with cited moments, then click the answer's chips
  (alternating videos) in the transcript: click → the player's first painted frame at the
  cited moment. The first click also builds the player. Resident memory before the first
  click (chat only) and after a few seconds of playing.
- ``player_stream``: a video plays (its range looping) while the long answer streams into
  the big conversation; the 5 ms heartbeat's gaps, as in ``stream``.
- ``first_word`` (issue 13): the same question (with the agent's steps, as the app asks by
  default) in turns, once through a bare ``requests`` SSE loop (request sent → first
  ``final_answer`` delta read) and once through the app (the composer's send → the first
  paint of the answer row showing text), each on a fresh session of the same in-process
  sandbox, so both read the same stream with the same pace.
- ``steps_stream`` (issue 13): an answer preceded by a long list of agent steps (tool calls
  with large JSON outputs, narration) streams into the big conversation with its Steps list
  open; the 5 ms heartbeat's gaps, as in ``stream``.

"Painted" is detected with an event filter on the widget that must repaint: when its Paint
event arrives, a zero-timer is armed, and it fires once the whole window pass (all widgets and
the flush) is over — that moment is the measurement's end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

RESULT_PREFIX = "BENCH-RESULT: "


def rss_mb() -> float | None:
    """Resident set size of this process in MB (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class PaintWatch(QObject):
    """Notes (``time.perf_counter``) the end of the next completed paint of some widgets, and
    of every later one (``last_paint_at``), to tell "first painted" from "settled"."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self._armed = False
        self.done_at: float | None = None
        self.last_paint_at: float | None = None
        self._loop: QEventLoop | None = None
        for widget in widgets:
            widget.installEventFilter(self)

    def arm(self) -> None:
        """Wait for the next paint from now on."""
        self._armed = True
        self.done_at = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            if self._armed:
                self._armed = False
                QTimer.singleShot(0, self._finish)
            else:
                QTimer.singleShot(0, self._note_later_paint)
        return False

    def _note_later_paint(self) -> None:
        self.last_paint_at = time.perf_counter()

    def settle(self, quiet_ms: int = 150, timeout_ms: int = 3000) -> float | None:
        """Run the loop until no paint came for ``quiet_ms``; the end of the last paint."""
        deadline = time.monotonic() + timeout_ms / 1000
        last = self.last_paint_at or self.done_at
        while time.monotonic() < deadline:
            spin(quiet_ms)
            now_last = self.last_paint_at or self.done_at
            if now_last == last:
                break
            last = now_last
        return last

    def _finish(self) -> None:
        self.done_at = time.perf_counter()
        if self._loop is not None:
            self._loop.quit()

    def wait(self, timeout_ms: int = 5000) -> float | None:
        """Run the event loop until the paint is done (or timeout); returns its time."""
        if self.done_at is None:
            self._loop = QEventLoop()
            QTimer.singleShot(timeout_ms, self._loop.quit)
            self._loop.exec()
            self._loop = None
        return self.done_at


def spin(ms: int) -> None:
    """Let the event loop run for ``ms`` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition: Callable[[], bool], timeout_ms: int) -> bool:
    """Run the event loop until ``condition()`` holds (checked every 10 ms)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        spin(10)
    return True


class Session:
    """The real app on a data directory, started in sandbox mode with a benchmark pace."""

    def __init__(self, data_dir: Path, pace: Any = None) -> None:
        from jockey_desktop.app import AppOptions, JockeyDesktop
        from jockey_desktop.sandbox import Pace

        # A previous run's "last conversation" would be reopened on start: not a cold open.
        (data_dir / "settings.ini").unlink(missing_ok=True)
        self.info = json.loads((data_dir / "bench-data.json").read_text(encoding="utf-8"))
        self.qapp = QApplication.instance() or QApplication(sys.argv[:1])
        options = AppOptions(sandbox=True, data_dir=str(data_dir), single_instance=False,
                             interactive=False, sandbox_pace=pace or Pace.instant())
        desktop = JockeyDesktop.create(options, self.qapp)  # type: ignore[arg-type]
        if desktop is None:
            raise SystemExit("the app could not start on the benchmark data directory")
        self.desktop = desktop
        self.window = desktop.window
        desktop.start()
        # Start-up settles: first paint, the store list arrives and is shown.
        picker = self.window.store_picker
        wait_for(lambda: picker.current_store() is not None, 10_000)
        spin(300)

    def open(self, conversation_id: int, watch: PaintWatch) -> float:
        """Select a conversation in the sidebar like a click; ms until the transcript painted."""
        watch.arm()
        start = time.perf_counter()
        self.window.sidebar.select_conversation(conversation_id, notify=True)
        done = watch.wait()
        if done is None:
            raise RuntimeError(f"conversation {conversation_id} was never painted")
        self.last_open_start = start
        return (done - start) * 1000

    def settled_ms(self, watch: PaintWatch) -> float:
        """After :meth:`open`: ms from the selection to the end of the last paint before the
        view went quiet (rows whose estimated height was corrected repaint once more)."""
        watch.last_paint_at = None
        last = watch.settle()
        assert last is not None
        return (last - self.last_open_start) * 1000

    def close(self) -> None:
        """Shut the app down the normal way."""
        self.desktop.shutdown()
        self.window.close()


# --------------------------------------------------------------------------- scenarios


def scenario_open(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Cold and warm opens of the small and the big conversation, then RSS."""
    info = session.info
    view = session.window.chat_pane.chat_view
    watch = PaintWatch([view.viewport()])
    small, big = info["small_id"], info["big_id"]
    # A third conversation to switch away to, so every measured open is a real switch.
    neutral = small - 1
    order = [small, big] if args.run_index % 2 == 0 else [big, small]
    cold: dict[int, float] = {}
    settled: dict[int, float] = {}
    for conversation_id in order:
        session.open(neutral, watch)
        watch.settle()
        cold[conversation_id] = session.open(conversation_id, watch)
        settled[conversation_id] = session.settled_ms(watch)
    warm: dict[int, list[float]] = {small: [], big: []}
    for _ in range(args.repeats):
        for conversation_id in order:
            session.open(neutral, watch)
            warm[conversation_id].append(session.open(conversation_id, watch))
    session.open(big, watch)
    spin(300)
    rows = view.visible_rows()
    return {"cold_small_ms": cold[small], "cold_big_ms": cold[big],
            "settled_small_ms": settled[small], "settled_big_ms": settled[big],
            "warm_small_ms": warm[small], "warm_big_ms": warm[big],
            "visible_rows": len(rows), "rss_mb": rss_mb(),
            "big_rows": view.message_model.rowCount()}


def _type_key(widget: QWidget, char: str) -> None:
    """Queue a key press + release like the window system does (processed by the loop)."""
    key = Qt.Key(ord(char.upper())) if char.isalpha() else Qt.Key.Key_Space
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QCoreApplication.postEvent(
            widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, char))


def scenario_search(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Type ``args.query`` key by key; time search request → results painted."""
    sidebar = session.window.sidebar
    field = sidebar.search_field
    watch = PaintWatch([sidebar.results_view.viewport(), sidebar.results_status])
    requested: list[float] = []
    sidebar.sig_search_requested.connect(lambda _q: requested.append(time.perf_counter()))
    # Connected after the sidebar's own slot: the results are in the model when this runs,
    # so the next paint of the results page is the one that shows them.
    session.desktop.conversations.sig_search_results.connect(lambda *_a: watch.arm())
    field.setFocus()
    work, total = [], []
    for count, char in enumerate(args.query, start=1):
        if args.query[:count].strip() == args.query[: count - 1].strip():
            # A space: the query is unchanged, so the sidebar rightly searches nothing.
            _type_key(field, char)
            spin(250)
            continue
        requested.clear()
        watch.done_at = None
        pressed = time.perf_counter()
        _type_key(field, char)
        if not wait_for(lambda: bool(requested), 5000):
            raise RuntimeError("the sidebar never asked for a search")
        done = watch.wait(10_000)
        if done is None or field.text() != args.query[:count]:
            raise RuntimeError(f"no results painted for {args.query[:count]!r}")
        work.append((done - requested[0]) * 1000)
        total.append((done - pressed) * 1000)
        spin(20)
    from jockey_desktop.ui.sidebar import SEARCH_DEBOUNCE_MS

    return {"search_to_paint_ms": work, "key_to_paint_ms": total,
            "debounce_ms": SEARCH_DEBOUNCE_MS, "hits_last": sidebar.results_model.rowCount()}


def _long_answer_engine(engine: Any, words: int) -> Any:
    """Wrap a sandbox answer engine: its real answer (citations included), then Markdown
    paragraphs and lists until the text has ``words`` words."""
    from dataclasses import replace

    from build_scripts.bench.datagen import assistant_text

    class LongAnswers:
        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def answer(self, *a: Any, **k: Any) -> Any:
            import random

            base = engine.answer(*a, **k)
            rng = random.Random(words)
            parts = [base.text]
            count = len(base.text.split())
            while count < words:
                text, _citations = assistant_text(rng)
                parts.append(text)
                count += len(text.split())
            text = "\n\n".join(parts)
            return replace(base, text=text)

    return LongAnswers()


def _prepare_stream(session: Session, args: argparse.Namespace) -> tuple[int, Any]:
    """Open the big conversation, give it a live sandbox session, lengthen the answers."""
    desktop = session.desktop
    big = session.info["big_id"]
    conversation = desktop.repo.get_conversation(big)
    store_id = conversation.store_id
    sandbox = desktop.connection.sandbox()
    assert sandbox is not None, "the benchmark runs in sandbox mode"
    sandbox.engines[store_id] = _long_answer_engine(sandbox.engines[store_id], args.words)
    live = sandbox.sessions.create(store_id)
    desktop.repo.set_session_id(big, live.id)
    view = session.window.chat_pane.chat_view
    session.open(big, PaintWatch([view.viewport()]))
    spin(200)
    return big, desktop


def _run_stream(session: Session, args: argparse.Namespace,
                during: Callable[[], None] | None = None) -> dict[str, Any]:
    big, desktop = _prepare_stream(session, args)
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    deltas: list[float] = []
    desktop.chat.sig_stream_text.connect(lambda *_a: deltas.append(time.perf_counter()))
    heartbeat.start()
    started = time.perf_counter()
    refusal = desktop.chat.send(big, "What happens in these videos? Tell me everything.")
    if refusal:
        raise RuntimeError(f"the question was refused: {refusal}")
    if during is not None:
        during()
    limit_ms = int(args.words / 150 * 1000) + 60_000
    if not wait_for(lambda: not desktop.chat.is_busy(big), limit_ms):
        raise RuntimeError("the stream did not finish in time")
    # The end of the turn is written on the storage runner: measured until it is done.
    if not wait_for(lambda: desktop.storage_runner.pending_count == 0, 10_000):
        raise RuntimeError("the answer was not saved in time")
    heartbeat.stop()
    elapsed = time.perf_counter() - started
    messages = desktop.repo.list_messages(big)
    answer = messages[-1]
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(beats)]
    return {"gaps_ms": gaps, "stream_s": elapsed, "answer_words": len(answer.text.split()),
            "answer_status": str(answer.status.value), "ui_updates": len(deltas),
            "rows": len(messages)}


def scenario_stream(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Heartbeat gaps while a long answer streams into the big conversation."""
    return _run_stream(session, args)


def scenario_typing(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Key press → composer repaint while a long answer streams into the big conversation."""
    composer = session.window.chat_pane.composer
    edit = composer.edit
    watch = PaintWatch([edit.viewport()])
    latencies: list[float] = []
    desktop = session.desktop
    big = session.info["big_id"]

    def type_while_streaming() -> None:
        edit.setFocus()
        spin(300)  # into the stream
        text = "where does the drone land near the river "
        n = 0
        while desktop.chat.is_busy(big) and n < args.keys:
            char = text[n % len(text)]
            watch.arm()
            pressed = time.perf_counter()
            _type_key(edit, char)
            done = watch.wait(2000)
            if done is not None:
                latencies.append((done - pressed) * 1000)
            n += 1
            spin(40 + (n * 7) % 40)  # 40-80 ms between keys, a fast typist

    result = _run_stream(session, args, during=type_while_streaming)
    result["key_to_paint_ms"] = latencies
    return result


def _what_if_tail(session: Session, tail: int) -> None:
    """Experiment: the transcript gets only the newest ``tail`` messages, as a windowed model
    (older rows fetched when scrolled to) would hold; used to size a fix, never by default."""
    conversations = session.desktop.conversations
    full = conversations.messages

    def tail_only(conversation_id: int) -> list[Any]:
        return full(conversation_id)[-tail:]

    conversations.messages = tail_only


def _what_if_clip(view: QWidget) -> None:
    """Experiment: every ``QAbstractTextDocumentLayout.draw`` called from Python gets
    ``PaintContext.clip`` = the transcript's viewport in document coordinates, so only the
    visible lines of a long message are drawn (the delegate draws the whole document now)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QAbstractTextDocumentLayout

    original = QAbstractTextDocumentLayout.draw

    def draw(layout: Any, painter: Any, context: Any) -> None:
        inverse, invertible = painter.transform().inverted()
        if invertible:
            context.clip = inverse.mapRect(QRectF(view.viewport().rect()))  # type: ignore
        original(layout, painter, context)

    QAbstractTextDocumentLayout.draw = draw  # type: ignore[method-assign]


class FramePaintWatch(QObject):
    """The end of the first paint of the player's picture that shows a frame at a position
    (ms, within ``tolerance_ms``); armed per click."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__()
        self.canvas = canvas
        self.target_ms: int | None = None
        self.tolerance_ms = 1000
        self.done_at: float | None = None
        canvas.installEventFilter(self)

    def arm(self, target_ms: int) -> None:
        """Wait for a painted frame near ``target_ms``."""
        self.target_ms = target_ms
        self.done_at = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.target_ms is not None:
            frame = getattr(self.canvas, "_frame", None)
            if frame is not None and abs(frame.startTime() / 1000 - self.target_ms) \
                    <= self.tolerance_ms:
                self.target_ms = None
                QTimer.singleShot(0, self._finish)
        return False

    def _finish(self) -> None:
        self.done_at = time.perf_counter()


def _ask_for_moments(session: Session) -> tuple[Any, Any]:
    """A new conversation on the sandbox's store with the most ready videos, one answer with
    cited moments; returns (the answer, the store id) once it is on screen."""
    from jockey_desktop.core.storage.models import Role

    desktop = session.desktop

    def stores() -> list[Any]:
        return [s for s in desktop.stores.stores() if s.ready >= 2]

    if not wait_for(lambda: bool(stores()), 10_000):
        raise RuntimeError("the sandbox has no store with two ready videos")
    store = max(stores(), key=lambda s: s.ready)
    session.window.store_picker.select_store(store.id)
    opened: list[int] = []
    if not desktop.workspace.new_conversation(then=opened.append):
        raise RuntimeError("could not start a conversation")
    if not wait_for(lambda: bool(opened), 10_000):
        raise RuntimeError("the conversation was not created")
    conversation_id = opened[0]
    refusal = desktop.chat.send(conversation_id, "What are the main themes in these videos?")
    if refusal:
        raise RuntimeError(f"the question was refused: {refusal}")
    if not wait_for(lambda: not desktop.chat.is_busy(conversation_id)
                    and desktop.storage_runner.pending_count == 0, 60_000):
        raise RuntimeError("the answer did not arrive")
    spin(300)
    answer = [m for m in desktop.repo.list_messages(conversation_id)
              if m.role == Role.ASSISTANT][-1]
    if not answer.citations:
        raise RuntimeError("the answer cites nothing")
    return answer, store.id


def _chip_point(view: Any, message_id: int, citation: int) -> Any:
    """Where to click the chip of citation ``citation`` of a row (viewport coordinates),
    scrolled into view."""
    from PySide6.QtCore import QPointF

    index = view.index_for(message_id)
    view.scrollTo(index)
    view.viewport().repaint()
    layout = view.message_delegate.cached_layout(view.message_model.message_at(index.row()))
    rect = next(rect for rect, cited, _label in layout.chips if cited == citation)
    # Layouts are relative to the centred reading column.
    return (rect.center() + QPointF(view.visualRect(index).topLeft())
            + view.message_delegate.column_origin()).toPoint()


def _click_order(moments: list[Any], clicks: int) -> list[Any]:
    """``clicks`` moments, each in another video than the one before when the answer allows."""
    order: list[Any] = []
    previous: str | None = None
    pool = list(moments)
    while len(order) < clicks and pool:
        pick = next((m for m in pool if m.item_id != previous), pool[0])
        order.append(pick)
        previous = pick.item_id
        pool.remove(pick)
        if not pool:
            pool = list(moments)
    return order


def scenario_player(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Chip click → first painted frame at the cited moment, across videos; memory."""
    from PySide6.QtTest import QTest

    from jockey_desktop.presentation.moments import answer_moments

    answer, _store = _ask_for_moments(session)
    view = session.window.chat_pane.chat_view
    moments = answer_moments(answer)
    spin(500)
    gc_collect()
    chat_only_rss = rss_mb()
    feature = session.desktop.player
    times: list[float] = []
    watch: FramePaintWatch | None = None
    for moment in _click_order(moments, args.clicks):
        cited = next(i for i, c in enumerate(answer.citations) if c == moment.citation)
        point = _chip_point(view, answer.id, cited)
        if watch is not None:
            watch.arm(round(moment.start * 1000))
        clicked = time.perf_counter()
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        panel = feature.ensure_panel()  # built by the first click: no cost after it
        if watch is None:
            watch = FramePaintWatch(panel.canvas)
            watch.arm(round(moment.start * 1000))
        armed = watch
        if not wait_for(partial(_painted, armed), 15_000):
            raise RuntimeError(f"no frame near {moment.start} s was painted "
                               f"({panel.problem_text() or 'no problem shown'})")
        assert armed.done_at is not None
        times.append((armed.done_at - clicked) * 1000)
        spin(150)
    spin(args.play_ms)  # playing, before the memory is read
    sandbox = session.desktop.connection.sandbox()
    return {"click_to_frame_ms": times, "chat_only_rss_mb": chat_only_rss,
            "playing_rss_mb": rss_mb(), "moments": len(moments),
            "videos": len({m.item_id for m in moments}),
            "key_leaks": sandbox.media_requests_with_key if sandbox else None}


def _painted(watch: FramePaintWatch) -> bool:
    return watch.done_at is not None


def gc_collect() -> None:
    """A full collection on the GUI thread (so RSS compares like with like)."""
    import gc

    gc.collect()


def scenario_player_stream(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Heartbeat gaps while a video plays and the long answer streams."""
    answer, store_id = _ask_for_moments(session)
    feature = session.desktop.player
    citation = next(c for c in answer.citations if c.get("hls_url"))
    feature.play_citation(store_id, answer, citation)
    panel = feature.ensure_panel()
    if not wait_for(panel.canvas.has_frame, 15_000):
        raise RuntimeError("the video did not start")
    panel.engine.set_loop(True)  # keep playing for the whole stream
    frames_before = panel.canvas.painted_frames
    result = _run_stream(session, args)
    result["frames_painted"] = panel.canvas.painted_frames - frames_before
    result["still_playing"] = panel.engine.is_playing()
    return result


FIRST_WORD_QUESTION = "How do the predators hunt in these videos?"


def _bare_first_word(base_url: str, store_id: str) -> float:
    """ms from sending the request to reading the first ``final_answer`` delta, with a bare
    ``requests`` SSE loop (no client library, no parsing beyond finding that event)."""
    import requests

    from jockey_desktop.sandbox import SANDBOX_API_KEY

    body = {"knowledge_store_id": store_id, "stream": True,
            "include": ["intermediate_outputs"],
            "input": [{"type": "message", "role": "user", "content": FIRST_WORD_QUESTION}]}
    answer_items: set[str] = set()
    started = time.perf_counter()
    with requests.post(f"{base_url}/responses", json=body, stream=True, timeout=60,
                       headers={"x-api-key": SANDBOX_API_KEY}) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines(decode_unicode=True):
            if not line or not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            kind = event.get("type")
            if kind == "response.output_item.added":
                item = event.get("item") or {}
                if item.get("type") == "message" and item.get("phase") in (None, "final_answer"):
                    answer_items.add(str(item.get("id")))
            elif kind == "response.output_text.delta" and event.get("item_id") in answer_items:
                return (time.perf_counter() - started) * 1000
    raise RuntimeError("the bare loop read no answer")


def scenario_first_word(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """The app's added delay to the first visible word, against a bare SSE loop."""
    desktop = session.desktop
    store = session.window.store_picker.current_store()
    sandbox = desktop.connection.sandbox()
    assert store is not None and sandbox is not None
    view = session.window.chat_pane.chat_view
    watch = PaintWatch([view.viewport()])
    got_text: list[float] = []

    def on_text(_cid: int, _mid: int, text: str) -> None:
        # Connected after the pane's own slot: the row holds the text when this runs, so the
        # next completed paint of the transcript is the one that shows it.
        if text and not got_text:
            got_text.append(time.perf_counter())
            watch.arm()

    desktop.chat.sig_stream_text.connect(on_text)
    bare: list[float] = []
    app: list[float] = []
    for turn in range(args.turns):
        if turn % 2 == 0:
            bare.append(_bare_first_word(sandbox.base_url, store.id))
        conversation = desktop.repo.create_conversation(store.id, store.name)
        desktop.workspace.open(conversation.id)
        spin(100)
        got_text.clear()
        watch.done_at = None
        started = time.perf_counter()
        composer = session.window.chat_pane.composer
        composer.set_text(FIRST_WORD_QUESTION)
        composer.submit()
        if not wait_for(lambda: watch.done_at is not None, 60_000):
            raise RuntimeError("the answer's first word was never painted")
        assert watch.done_at is not None
        app.append((watch.done_at - started) * 1000)
        if not wait_for(lambda cid=conversation.id: not desktop.chat.is_busy(cid), 60_000):
            raise RuntimeError("the answer did not finish")
        if turn % 2 == 1:
            bare.append(_bare_first_word(sandbox.base_url, store.id))
        spin(100)
    return {"bare_ms": bare, "app_ms": app}


def _long_steps_engine(engine: Any, steps: int) -> Any:
    """Wrap a sandbox answer engine: its real answer, preceded by ``steps`` narrated tool
    calls whose outputs are large JSON lists (what a long agent run looks like)."""
    from dataclasses import replace

    from jockey_desktop.sandbox.engine import ToolStep

    class LongSteps:
        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def answer(self, *a: Any, **k: Any) -> Any:
            base = engine.answer(*a, **k)
            extra = [ToolStep(f"Step {n}: looking for scenes with animals hunting at night, "
                              f"then checking the transcript around moment {n}.",
                              "search_knowledge_store",
                              {"query": f"hunting scene {n}", "limit": 20, "page": n},
                              [{"item_id": f"ksi_{n:04d}{r:02d}", "title": f"Video {r}",
                                "start_sec": r * 10.0, "end_sec": r * 10.0 + 8.5,
                                "score": round(1 / (r + 1), 3),
                                "description": "A predator stalks its prey through tall "
                                               "grass before the final sprint."}
                               for r in range(20)])
                     for n in range(steps)]
            return replace(base, steps=[*extra, *base.steps])

    return LongSteps()


def scenario_steps_stream(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Heartbeat gaps while a long Steps list streams in, opened, then the answer."""
    desktop = session.desktop
    big = session.info["big_id"]
    conversation = desktop.repo.get_conversation(big)
    sandbox = desktop.connection.sandbox()
    assert sandbox is not None and conversation is not None
    store_id = conversation.store_id
    sandbox.engines[store_id] = _long_steps_engine(sandbox.engines[store_id], args.steps)
    view = session.window.chat_pane.chat_view
    opened: list[int] = []

    def open_list(_cid: int, message_id: int, _steps: object) -> None:
        if not opened:
            opened.append(message_id)
            view.toggle_steps(message_id)  # the user opens the list as it starts
            view.scroll_to_end()

    desktop.chat.sig_stream_steps.connect(open_list)
    result = _run_stream(session, args)
    answer = desktop.repo.list_messages(big)[-1]
    result["steps"] = len(answer.steps)
    result["list_open"] = bool(opened) and view.message_delegate.steps_expanded(opened[0])
    return result


SCENARIOS = {"open": scenario_open, "search": scenario_search, "stream": scenario_stream,
             "typing": scenario_typing, "player": scenario_player,
             "player_stream": scenario_player_stream, "first_word": scenario_first_word,
             "steps_stream": scenario_steps_stream}


def main(argv: list[str] | None = None) -> int:
    """Run one scenario and print its result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--run-index", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--query", default="forest camera")
    parser.add_argument("--words", type=int, default=4000)
    parser.add_argument("--keys", type=int, default=150)
    parser.add_argument("--deltas-per-s", type=float, default=200.0)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--play-ms", type=int, default=3000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--what-if-tail", type=int, default=0, metavar="N",
                        help="experiment, not a measure of the app: show only the last N "
                             "messages of a conversation (what a windowed transcript would cost)")
    parser.add_argument("--what-if-clip", action="store_true",
                        help="experiment, not a measure of the app: message documents are "
                             "drawn with PaintContext.clip set to the visible part")
    args = parser.parse_args(argv)

    from jockey_desktop.sandbox import Pace

    pace = Pace(first_token_delay=0.2, delta_interval=1 / args.deltas_per_s, words_per_delta=1,
                keepalive_interval=10.0)
    session = Session(args.data_dir, pace)
    if args.what_if_tail:
        _what_if_tail(session, args.what_if_tail)
    if args.what_if_clip:
        _what_if_clip(session.window.chat_pane.chat_view)
    try:
        result = SCENARIOS[args.scenario](session, args)
    finally:
        session.close()
    result["pid"] = os.getpid()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
