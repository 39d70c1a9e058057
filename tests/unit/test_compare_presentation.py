"""The words of a comparison of stores: the names list and the chooser's hint."""

from __future__ import annotations

from jockey_desktop.presentation.compare import MAX_STORES, MIN_STORES, choice_hint, names_text


def test_names_read_as_a_list() -> None:
    assert names_text([]) == ""
    assert names_text(["Nature"]) == "“Nature”"
    assert names_text(["Nature", "Sports"]) == "“Nature” and “Sports”"
    assert names_text(["A", "B", "C"]) == "“A”, “B” and “C”"


def test_the_chooser_says_how_many_more_are_needed_or_allowed() -> None:
    assert MIN_STORES == 2 and MAX_STORES == 4
    assert choice_hint(0) == "Choose 2 more knowledge stores (up to 4)."
    assert choice_hint(1) == "Choose 1 more knowledge store (up to 4)."
    assert choice_hint(2) == "2 stores chosen; you can add 2 more."
    assert choice_hint(3) == "3 stores chosen; you can add 1 more."
    assert choice_hint(4) == "4 stores chosen (the most a comparison shows)."
