"""Versions of an answer (every answer to one question) and the reading order: each question
followed by its answer, whatever the ids, seams of a lost session inside their turn."""

from __future__ import annotations

from jockey_desktop.core.storage.models import MessageStatus, Role
from jockey_desktop.core.storage.versions import answer_versions, reading_order, version_info
from tests.helpers.records import make_message

A, U, S = Role.ASSISTANT, Role.USER, Role.SEAM


def _rows() -> list:
    # Q1 failed (A2), Q3 answered (A4), then Q1 asked again twice (A5, A6).
    return [
        make_message(1, U, "q1"), make_message(2, A, "a1", MessageStatus.FAILED, reply_to=1),
        make_message(3, U, "q3"), make_message(4, A, "a3", reply_to=3),
        make_message(5, A, "a1 again", reply_to=1), make_message(6, A, "a1 third", reply_to=1),
    ]


def test_versions_are_the_answers_to_one_question_oldest_first() -> None:
    versions = answer_versions(_rows())
    assert [m.id for m in versions[1]] == [2, 5, 6]
    info = version_info(versions, _rows()[4])
    assert info is not None and (info.number, info.count) == (2, 3)
    assert (info.previous_id, info.next_id) == (2, 6)
    first = version_info(versions, _rows()[1])
    assert first is not None and first.previous_id is None
    assert version_info(versions, _rows()[0]) is None  # a question has none


def test_reading_order_shows_the_newest_version_under_its_question() -> None:
    assert [m.id for m in reading_order(_rows())] == [1, 6, 3, 4]
    assert [m.id for m in reading_order(_rows(), {1: 2})] == [1, 2, 3, 4]
    assert [m.id for m in reading_order(_rows(), {1: 99})] == [1, 6, 3, 4]  # unknown pick
    assert [m.id for m in reading_order(_rows(), every_version=True)] == [1, 2, 5, 6, 3, 4]


def test_a_seam_of_a_lost_session_stays_inside_its_turn() -> None:
    rows = [make_message(1, U), make_message(2, A, status=MessageStatus.FAILED, reply_to=1),
            make_message(3, S, "new session"), make_message(4, A, reply_to=1),
            make_message(5, U), make_message(6, A, reply_to=5), make_message(7, S)]
    assert [m.id for m in reading_order(rows)] == [1, 3, 4, 5, 6, 7]
    assert [m.id for m in reading_order(rows, every_version=True)] == [1, 2, 3, 4, 5, 6, 7]


def test_answers_whose_question_is_not_loaded_stay_where_they_start() -> None:
    rows = [make_message(10, A, reply_to=1), make_message(11, U),
            make_message(12, A, reply_to=11), make_message(13, A, reply_to=1)]
    assert [m.id for m in reading_order(rows)] == [13, 11, 12]
