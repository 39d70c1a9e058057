"""The file name an export suggests (``presentation.file_names``)."""

from __future__ import annotations

from jockey_desktop.presentation.file_names import export_file_name


def test_a_question_title_gives_a_clean_file_name() -> None:
    assert export_file_name("What are the main themes in these videos?", ".md") == (
        "What are the main themes in these videos.md")  # it was "…videos_.md"
    assert export_file_name("Compare “Nimbus” and “Arc”: keynotes/launches", ".json") == (
        "Compare Nimbus and Arc keynotes launches.json")
    assert export_file_name("Q&A, part 2 (draft)", ".md") == "Q&A, part 2 (draft).md"
    assert export_file_name("Käse über Ölfässer", ".md") == "Käse über Ölfässer.md"


def test_a_long_title_is_cut_between_words() -> None:
    title = "How do the predators hunt " * 10
    name = export_file_name(title, ".md")
    assert len(name) <= 80 + 3 and name.endswith("hunt.md")
    assert export_file_name("x" * 200, ".md") == "x" * 80 + ".md"


def test_unusable_or_reserved_titles_fall_back() -> None:
    assert export_file_name("???", ".md") == "conversation.md"
    assert export_file_name("", ".json") == "conversation.json"
    assert export_file_name("...hidden...", ".md") == "hidden.md"
    assert export_file_name("CON", ".md") == "conversation CON.md"
    assert export_file_name("nul.txt", ".md") == "conversation nul.txt.md"
