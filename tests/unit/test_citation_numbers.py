"""The number a cited source shows: its marker's [N], the same for chips and the export."""

from __future__ import annotations

from jockey_desktop.core.citation_numbers import marker_number, numbered_sources, source_numbers


def _at(text: str, marker: str, **extra: object) -> dict[str, object]:
    start = text.index(marker)
    return {"marker_start": start, "marker_end": start + len(marker), **extra}


def test_a_citation_takes_the_number_of_its_marker() -> None:
    text = "Later [2], first [1]."
    later, first = _at(text, "[2]", item_id="b"), _at(text, "[1]", item_id="a")
    assert marker_number(text, later) == 2
    assert source_numbers(text, [later, first]) == [2, 1]
    assert [n for n, _c in numbered_sources(text, [later, first])] == [1, 2]


def test_citations_without_a_readable_marker_share_or_continue_the_numbers() -> None:
    text = "Goal [3] here."
    marked = _at(text, "[3]", item_id="a", start_sec=1, end_sec=2)
    same_moment = {"item_id": "a", "start_sec": 1, "end_sec": 2}
    other = {"item_id": "b", "marker_start": 0, "marker_end": 4}  # "Goal" is no marker
    outside = {"item_id": "c", "marker_start": 50, "marker_end": 53}
    assert marker_number(text, other) is None and marker_number(text, outside) is None
    assert source_numbers(text, [marked, same_moment, other, outside]) == [3, 3, 4, 5]


def test_a_chip_lists_every_number_its_moment_was_cited_with() -> None:
    from jockey_desktop.core.storage.models import Role
    from jockey_desktop.presentation.transcript import chip_numbers, marker_tooltip
    from tests.helpers.records import make_message

    text = "Goal [2], save [1], the goal again [5]."
    goal = {"item_id": "a", "title": "Final", "start_sec": 83, "end_sec": 105}
    save = {"item_id": "b", "title": "Derby", "start_sec": 10, "end_sec": 12}
    citations = [_at(text, "[2]", **goal), _at(text, "[1]", **save), _at(text, "[5]", **goal)]
    answer = make_message(1, Role.ASSISTANT, text, citations=citations)
    assert chip_numbers(answer) == {0: "2, 5", 1: "1"}
    assert marker_tooltip(answer, 1) == "[1] Derby · 00:10–00:12\nClick to play this moment"
    assert marker_tooltip(answer, 2).startswith("[2, 5] Final · 01:23–01:45")
    assert marker_tooltip(answer, 9) == ""
