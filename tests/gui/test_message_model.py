"""Tests of MessageListModel: one-row change notifications, revisions, the id index."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.ui.models.message_model import MessageListModel, MessageRole, RevisionRole
from tests.helpers.records import make_message


def test_model_passes_qtmodeltester(qtmodeltester: Any) -> None:
    model = MessageListModel()
    model.set_messages([make_message(i) for i in range(1, 6)])
    qtmodeltester.check(model, force_py=True)
    model.append(make_message(6, Role.ASSISTANT, status=MessageStatus.STREAMING))
    model.set_stream_text(6, "partial")
    model.remove(3)
    qtmodeltester.check(model, force_py=True)


def test_set_stream_text_emits_one_row_and_bumps_revision(qtbot: Any) -> None:
    model = MessageListModel()
    model.set_messages([make_message(i) for i in range(1, 4)])
    before = model.data(model.index(1, 0), RevisionRole)
    with qtbot.waitSignal(model.dataChanged) as blocker:
        assert model.set_stream_text(2, "hello")
    top, bottom = blocker.args[0], blocker.args[1]
    assert top.row() == bottom.row() == 1
    assert model.data(model.index(1, 0), Qt.ItemDataRole.DisplayRole) == "hello"
    assert model.data(model.index(1, 0), RevisionRole) == before + 1
    assert not model.set_stream_text(99, "x")  # unknown ids are reported, not raised


def test_replace_bumps_revision_even_when_caller_lags(qtbot: Any) -> None:
    model = MessageListModel()
    model.set_messages([make_message(1), make_message(2, Role.ASSISTANT)])
    model.set_stream_text(2, "a")
    model.set_stream_text(2, "ab")
    lagging = make_message(2, Role.ASSISTANT, "final", revision=0)
    with qtbot.waitSignal(model.dataChanged) as blocker:
        assert model.replace(lagging)
    assert blocker.args[0].row() == blocker.args[1].row() == 1
    stored = model.data(model.index(1, 0), MessageRole)
    assert stored.text == "final"
    assert stored.revision == 3
    assert lagging.revision == 0  # the caller's object is not mutated
    assert not model.replace(make_message(42))


def test_model_copies_messages_and_indexes_ids() -> None:
    model = MessageListModel()
    original = make_message(7, text="original")
    model.set_messages([make_message(5), original])
    original.text = "mutated elsewhere"
    assert model.message_at(1).text == "original"
    assert model.row_of(7) == 1
    assert model.index_of(7).row() == 1
    assert not model.index_of(8).isValid()
    model.append(make_message(7, text="again"))  # same id: replaced, not duplicated
    assert model.rowCount() == 2 and model.message_at(1).text == "again"
    model.remove(5)
    assert model.row_of(7) == 0


def test_streaming_rows() -> None:
    model = MessageListModel()
    model.set_messages([
        make_message(1),
        make_message(2, Role.ASSISTANT, status=MessageStatus.STREAMING),
        make_message(3, Role.ASSISTANT, status=MessageStatus.FAILED),
    ])
    assert model.streaming_rows() == [1]
    model.clear()
    assert model.streaming_rows() == [] and model.rowCount() == 0


def test_accessible_text_says_who_and_what_went_wrong() -> None:
    model = MessageListModel()
    model.set_messages([
        make_message(1, Role.USER, "Where is it?"),
        make_message(2, Role.ASSISTANT, "", MessageStatus.FAILED, error_message="No network."),
        make_message(3, Role.ASSISTANT, "Here [1]", citations=[{"title": "A"}]),
    ])
    role = Qt.ItemDataRole.AccessibleTextRole
    assert model.data(model.index(0, 0), role) == "You: Where is it?"
    assert model.data(model.index(1, 0), role) == "Jockey: (failed: No network.)"
    assert model.data(model.index(2, 0), role) == "Jockey: Here 1 cited moment: A"


def test_accessible_text_reads_an_answer_as_words_and_names_its_chips() -> None:
    model = MessageListModel()
    model.set_messages([make_message(
        1, Role.ASSISTANT, "Two **themes**:\n\n- `Live` demos [1]\n- Battery [2]",
        citations=[{"item_id": "a", "title": "Intro", "start_sec": 5, "end_sec": 9},
                   {"item_id": "b", "title": "Demo", "start_sec": 60, "end_sec": 90}])])
    text = model.data(model.index(0, 0), Qt.ItemDataRole.AccessibleTextRole)
    assert text == ("Jockey: Two themes: Live demos Battery 2 cited moments: "
                    "Intro · 00:05–00:09; Demo · 01:00–01:30 (Enter plays the first)")


def test_a_new_version_takes_its_questions_row_and_the_others_stay_held(qtbot: Any) -> None:
    model = MessageListModel()
    model.set_messages([make_message(1, Role.USER), make_message(
        2, Role.ASSISTANT, "partial", MessageStatus.CANCELLED, reply_to=1),
        make_message(3, Role.USER), make_message(4, Role.ASSISTANT, reply_to=3)])
    assert [m.id for m in model.messages()] == [1, 2, 3, 4]
    with qtbot.waitSignal(model.sig_version_added) as added:
        model.append(make_message(5, Role.ASSISTANT, "", MessageStatus.STREAMING, reply_to=1))
    assert added.args == [5]
    assert [m.id for m in model.messages()] == [1, 5, 3, 4]  # in place, nothing stacked
    assert model.row_of(2) is None and model.message(2) is not None
    info = model.version_of(5)
    assert info is not None and (info.number, info.count) == (2, 2)
    # Updates of a held version change it without showing it.
    assert model.set_stream_text(2, "partial, later") and model.row_of(2) is None
    assert model.set_stream_text(5, "new text")
    assert model.message_at(1).text == "new text"
    assert model.show_version(2)
    assert [m.id for m in model.messages()] == [1, 2, 3, 4]
    assert model.message_at(1).text == "partial, later"
    assert model.shown_version(1) == 2
    # A newer attempt is shown again whatever was picked.
    model.append(make_message(6, Role.ASSISTANT, reply_to=1))
    assert [m.id for m in model.messages()] == [1, 6, 3, 4]
    assert [m.id for m in model.all_messages()] == [1, 2, 3, 4, 5, 6]
