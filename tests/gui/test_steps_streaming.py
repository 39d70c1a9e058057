"""The work an open Steps list costs while its answer streams in (issue 13): a streamed update
lays the row out once, at its exact height (never at an estimate for a frame); an update of
the answer's text rebuilds no step and keeps the list's stack; an update of one step rebuilds
that step only; a paint draws only the steps it reaches; a new font measures again."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QImage, QPainter, QPalette

from jockey_desktop.core.api import Step
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.ui import steps_view
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.markdown import SafeTextDocument
from jockey_desktop.ui.message_colors import Colors
from tests.helpers.records import make_message
from tests.helpers.views import row_layout, settle

ANSWER_ID = 2


def _steps(count: int) -> list[dict[str, Any]]:
    """``count`` narrated tool calls with JSON outputs, as the controller streams them."""
    steps: list[Step] = []
    for n in range(count):
        output = json.dumps([{"item_id": f"ksi_{n}_{r}", "title": f"Video {r}"}
                             for r in range(8)])
        steps += [Step("commentary", f"m{n}", 3 * n, "completed", text=f"Looking, part {n}."),
                  Step("function_call", f"fc{n}", 3 * n + 1, "completed",
                       name="search_knowledge_store", arguments=json.dumps({"page": n})),
                  Step("function_call_output", f"fo{n}", 3 * n + 2, "completed",
                       output=output)]
    return [step.to_dict() for step in steps]


@pytest.fixture
def streaming(qtbot: Any, view: ChatView) -> ChatView:
    """A view following an answer that streams with an open list of 30 steps."""
    view.set_messages([
        make_message(1, Role.USER, "How do wolves hunt?"),
        make_message(ANSWER_ID, Role.ASSISTANT, "Wolves", MessageStatus.STREAMING,
                     steps=_steps(10)),
    ])
    view.toggle_steps(ANSWER_ID)
    settle(qtbot, view)
    return view


@pytest.fixture
def step_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The index of every step document built from now on."""
    built: list[int] = []
    real = steps_view._step_document

    def counted(index: int, *args: Any) -> SafeTextDocument:
        built.append(index)
        return real(index, *args)

    monkeypatch.setattr(steps_view, "_step_document", counted)
    return built


def _exact_height(view: ChatView) -> int:
    message = view.message_model.message(ANSWER_ID)
    assert message is not None
    layout = view.message_delegate.layout_for(message, view.message_delegate.view_width())
    return math.ceil(layout.height)


def test_a_streamed_update_is_laid_out_once_at_its_exact_height(qtbot: Any,
                                                               streaming: ChatView) -> None:
    delegate = streaming.message_delegate
    index = streaming.index_for(ANSWER_ID)
    for update in range(3):
        builds = delegate.layout_count
        steps = _steps(10 + update + 1)
        streaming.message_model.set_stream_steps(ANSWER_ID, steps)
        # The layout pass Qt runs for the change: the row gets its new exact height at once
        # (an estimate would shrink the tall row for a frame, then paint would correct it).
        streaming.doItemsLayout()
        assert streaming.visualRect(index).height() == _exact_height(streaming)
        settle(qtbot, streaming)
        assert delegate.layout_count == builds + 1, "one layout per streamed update"
        assert streaming.visualRect(index).height() == _exact_height(streaming)


def test_an_answer_delta_rebuilds_no_step_and_keeps_the_lists_stack(
        qtbot: Any, streaming: ChatView, step_builds: list[int]) -> None:
    before = streaming.message_delegate.cached_layout(
        streaming.message_model.message(ANSWER_ID))  # type: ignore[arg-type]
    assert before is not None and before.extras is not None
    streaming.message_model.set_stream_text(ANSWER_ID, "Wolves hunt in packs.\n\nMostly at dusk.")
    settle(qtbot, streaming)
    after = streaming.message_delegate.cached_layout(
        streaming.message_model.message(ANSWER_ID))  # type: ignore[arg-type]
    assert after is not None and after is not before and after.extras is not None
    assert step_builds == []
    assert after.extras.stack is before.extras.stack  # not even stacked again
    assert after.extras.top > before.extras.top  # placed below the longer text


def test_a_step_update_rebuilds_that_step_only(qtbot: Any, streaming: ChatView,
                                               step_builds: list[int]) -> None:
    steps = _steps(10)
    steps[-1] = {**steps[-1], "status": "in_progress"}
    streaming.message_model.set_stream_steps(ANSWER_ID, steps)
    settle(qtbot, streaming)
    assert step_builds == [len(steps) - 1]

    streaming.message_model.set_stream_steps(ANSWER_ID, [*_steps(10), *_steps(11)[-3:]])
    settle(qtbot, streaming)
    assert step_builds == [29, 29, 30, 31, 32]  # the finished one again, the new three

    # A step far from the end that changes is found too, and a detail shown whole.
    earlier = [*_steps(10), *_steps(11)[-3:]]
    earlier[4] = {**earlier[4], "arguments": '{"page": 99}'}
    streaming.message_model.set_stream_steps(ANSWER_ID, earlier)
    settle(qtbot, streaming)
    streaming.toggle_steps(ANSWER_ID, 2)
    settle(qtbot, streaming)
    assert step_builds[5:] == [4, 2]
    extras = row_layout(streaming, ANSWER_ID)[0].extras
    assert extras is not None
    text = "".join(document.toPlainText() for _origin, document in extras.documents)
    assert '"page": 99' in text and "Video 7" in text and "Show less" in text


def test_a_paint_draws_only_the_steps_it_reaches(monkeypatch: pytest.MonkeyPatch) -> None:
    builder = steps_view.ExtrasBuilder()
    answer = make_message(ANSWER_ID, Role.ASSISTANT, "Wolves", steps=_steps(20))
    stack = builder.documents(answer, 500.0, QFont(), Colors.from_palette(QPalette()), 0,
                              steps_view.ExtrasState(expanded=True))
    placed, bottom = steps_view.place_extras(stack, 18.0, 100.0)
    assert len(stack) == 61 and math.isclose(bottom, 100.0 + stack.height)
    drawn: list[int] = []
    real = SafeTextDocument.documentLayout

    def recording(document: SafeTextDocument) -> Any:
        class Layout:
            def draw(self, *args: Any) -> None:
                drawn.append(stack.documents.index(document))
                real(document).draw(*args)
        return Layout()

    monkeypatch.setattr(SafeTextDocument, "documentLayout", recording)
    image = QImage(600, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    middle = 100.0 + stack.tops[30]
    clip = QRectF(0, middle, 600, 120)
    steps_view.paint_extras(painter, placed, QPalette(), Colors.from_palette(QPalette()), clip)
    painter.end()
    monkeypatch.undo()
    reached = [i for i in range(len(stack)) if 100.0 + stack.bottoms[i] >= clip.top()
               and 100.0 + stack.tops[i] <= clip.bottom()]
    assert drawn == reached and 30 in drawn and len(drawn) < 10
    # Hit-testing finds a step's "Show all" the same way.
    show_all = next(i for i in reached if "Show all" in stack.documents[i].toPlainText())
    origin, document, height = placed.placed(show_all)
    assert placed.documents[show_all] == (origin, document)
    assert steps_view.extras_anchor_at(
        placed, origin + QPointF(40, height - 4)) == steps_view.output_href(show_all - 1)


def test_a_new_font_measures_the_rows_and_the_reading_column_again(
        qtbot: Any, streaming: ChatView) -> None:
    delegate = streaming.message_delegate
    streaming.resize(2000, 480)
    settle(qtbot, streaming)
    narrow = delegate.reading_width()
    height = streaming.visualRect(streaming.index_for(ANSWER_ID)).height()
    bigger = QFont(streaming.font())
    if bigger.pointSizeF() > 0:
        bigger.setPointSizeF(bigger.pointSizeF() * 1.5)
    else:
        bigger.setPixelSize(round(bigger.pixelSize() * 1.5))
    streaming.setFont(bigger)
    settle(qtbot, streaming)
    assert delegate.reading_width() > narrow * 1.3
    assert streaming.visualRect(streaming.index_for(ANSWER_ID)).height() == \
        _exact_height(streaming) != height


def test_a_streamed_update_asks_only_its_own_row_whether_the_tick_goes_on(
        qtbot: Any, streaming: ChatView, monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[int] = []
    every_row = streaming._ticking_rows

    def counted() -> list[int]:
        scans.append(1)
        return every_row()

    monkeypatch.setattr(streaming, "_ticking_rows", counted)
    assert streaming.is_ticking()
    for n in range(5):
        streaming.message_model.set_stream_text(ANSWER_ID, f"Wolves hunt {n}")
    assert scans == [] and streaming.is_ticking()
    finished = streaming.message_model.message(ANSWER_ID)
    assert finished is not None
    streaming.message_model.replace(make_message(ANSWER_ID, Role.ASSISTANT, finished.text,
                                                 steps=finished.steps))
    assert scans == [1] and not streaming.is_ticking()  # the last one stops it at once
