"""The transcript's Steps list and web sources under an answer: collapsed by default, opened
and closed by clicks, tool outputs cut and shown whole, web sources as numbered links that
open in the browser (http/https only), the live line of an answer in progress, questions
shown with the names of what they asked about, and the "Show agent steps" setting."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication

from jockey_desktop.core.api import Step
from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.core.web_sources import record_web_sources
from jockey_desktop.ui.chat_view import ChatView
from jockey_desktop.ui.steps_view import TOGGLE_HREF, output_href
from tests.helpers.records import make_message
from tests.helpers.views import anchor_point, click, row_layout, settle

ANSWER = "Wolves hunt in packs [1]. More on the web [2]."
OUTPUT = json.dumps({"results": [{"item_id": f"ksi_{n}", "title": f"Video {n}"}
                                 for n in range(12)]})
STEPS = [
    Step("commentary", "m0", 0, "completed", text="Looking for scenes with hunting."),
    Step("function_call", "fc1", 1, "completed", name="search_knowledge_store",
         arguments='{"query": "hunting"}'),
    Step("function_call_output", "fo2", 2, "completed", output=OUTPUT),
    Step("web_search", "ws3", 3, "completed", queries=("wolf packs",)),
]
MARK = ANSWER.index("[2]")
SOURCES = [{"url": "https://example.org/wolves", "title": "Wolves: an overview",
            "marker_start": MARK, "marker_end": MARK + 3},
           {"url": "javascript:alert(1)", "title": "never a link"}]


def answer(message_id: int = 2, **extra: Any) -> Any:
    steps = record_web_sources([s.to_dict() for s in STEPS], SOURCES)
    return make_message(message_id, Role.ASSISTANT, ANSWER, steps=steps, **extra)


def document_text(layout: Any) -> str:
    return "\n".join(doc.toPlainText() for _o, doc in layout.extras.documents)


def test_the_steps_list_opens_shows_details_whole_and_closes(qtbot: Any,
                                                             view: ChatView) -> None:
    view.set_messages([make_message(1, Role.USER, "How do wolves hunt?"), answer()])
    settle(qtbot, view)
    closed, origin = row_layout(view, 2)
    text = document_text(closed)
    assert "▸ Steps (4)" in text and "Looking for scenes" not in text  # collapsed
    closed_height = view.visualRect(view.index_for(2)).height()

    toggle = anchor_point(closed, TOGGLE_HREF)
    assert toggle is not None
    assert view.target_at((toggle + QPointF(origin)).toPoint()) == ("steps", TOGGLE_HREF)
    click(qtbot, view, toggle + QPointF(origin))
    settle(qtbot, view)
    assert view.message_delegate.steps_expanded(2)
    opened_layout, origin = row_layout(view, 2)
    text = document_text(opened_layout)
    assert "▾ Steps (4)" in text
    assert "1. Looking for scenes with hunting." in text
    assert "2. Tool call · search_knowledge_store" in text and '"query": "hunting"' in text
    assert "3. Tool output" in text and "Video 11" not in text and "Show all" in text
    assert "4. Web search" in text and "“wolf packs”" in text
    assert view.visualRect(view.index_for(2)).height() > closed_height + 100

    show_all = anchor_point(opened_layout, output_href(2))
    assert show_all is not None
    click(qtbot, view, show_all + QPointF(origin))
    settle(qtbot, view)
    whole, origin = row_layout(view, 2)
    assert "Video 11" in document_text(whole) and "Show less" in document_text(whole)

    click(qtbot, view, anchor_point(whole, TOGGLE_HREF) + QPointF(origin))
    settle(qtbot, view)
    assert not view.message_delegate.steps_expanded(2)
    assert view.visualRect(view.index_for(2)).height() == closed_height


def test_web_sources_are_numbered_links_that_open_in_the_browser(
    qtbot: Any, view: ChatView, opened: list[QUrl]
) -> None:
    view.set_messages([answer()])
    settle(qtbot, view)
    layout, origin = row_layout(view, 2)
    text = document_text(layout)
    assert "From the web" in text and "[2] Wolves: an overview · example.org" in text
    assert "never a link" not in text and "javascript" not in text
    link = anchor_point(layout, "https://example.org/wolves")
    assert link is not None
    click(qtbot, view, link + QPointF(origin))
    assert opened == [QUrl("https://example.org/wolves")]
    # The "[2]" marker in the answer's own text links to the same page.
    hrefs = []
    for _y, document in layout.parts:
        block = document.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                hrefs.append(it.fragment().charFormat().anchorHref())
                it += 1
            block = block.next()
    assert "https://example.org/wolves" in hrefs


def test_turning_the_setting_off_hides_every_steps_list(qtbot: Any, view: ChatView) -> None:
    view.set_messages([answer()])
    settle(qtbot, view)
    assert "Steps (4)" in document_text(row_layout(view, 2)[0])
    with qtbot.waitSignal(view.sig_show_steps_changed) as blocker:
        menu = view.build_context_menu(view.visualRect(view.index_for(2)).center())
        action = next(a for a in menu.actions() if a.text() == "Show agent steps")
        assert action.isChecked()
        action.trigger()
    assert blocker.args == [False]
    view.set_show_steps(False)
    settle(qtbot, view)
    layout, _origin = row_layout(view, 2)
    assert "Steps" not in document_text(layout)
    assert "From the web" in document_text(layout)  # the sources are part of the answer


def test_an_answer_in_progress_says_what_the_agent_is_doing(qtbot: Any,
                                                            opened: list[QUrl]) -> None:
    now = [1000.0]
    view = ChatView(clock=lambda: now[0], open_url=opened.append)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    streaming = make_message(2, Role.ASSISTANT, "", MessageStatus.STREAMING, created_at=990.0)
    view.set_messages([make_message(1, Role.USER, "q"), streaming])
    assert view.message_delegate.status_line(view.message_model.message_at(1)).text == \
        "Thinking · 10 s"
    view.message_model.set_stream_steps(2, [STEPS[0].to_dict(), STEPS[1].to_dict()])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 2)
    assert layout.status_text == "Looking for scenes with hunting. · 10 s"
    assert "▸ Steps (2)" in document_text(layout)  # the list grows while it streams


def test_a_question_shows_the_names_of_what_it_asked_about(qtbot: Any,
                                                           view: ChatView) -> None:
    question = make_message(1, Role.USER, "Compare {{sel:0}} with {{sel:1}}.", selections=[
        {"kind": "item", "id": "ksi_1", "name": "Kelp *Forest*"},
        {"kind": "collection", "id": "ksic_2", "name": "Reef [1]"}])
    view.set_messages([question])
    settle(qtbot, view)
    layout, _origin = row_layout(view, 1)
    assert layout.document is not None
    assert layout.document.toPlainText() == "Compare Kelp *Forest* with Reef [1]."
    view.copy_message(1)
    assert QGuiApplication.clipboard().text() == "Compare Kelp *Forest* with Reef [1]."
    accessible = view.message_model.index(0, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert accessible == "You: Compare Kelp *Forest* with Reef [1]."
