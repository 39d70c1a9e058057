"""The file name an export suggests (``presentation.file_names``)."""

from __future__ import annotations

from jockey_desktop.presentation.file_names import export_file_name, with_export_suffix


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


def test_a_name_typed_without_extension_gets_the_formats() -> None:
    assert with_export_suffix("/docs/notes", ".md") == "/docs/notes.md"
    assert with_export_suffix("/docs/Lions vs. zebras", ".md") == "/docs/Lions vs. zebras.md"
    assert with_export_suffix("/docs/notes.md", ".md") == "/docs/notes.md"
    assert with_export_suffix("/docs/notes.txt", ".md") == "/docs/notes.txt"  # the user's own
    assert with_export_suffix("/my.folder/notes", ".json") == "/my.folder/notes.json"


def test_a_moments_export_offers_the_same_clean_name_with_its_own_fallback() -> None:
    def offered(title: str) -> str:
        return export_file_name(title, ".edl", fallback="moments")

    assert offered("What / is <this>? moments") == "What is this moments.edl"
    assert offered('A "quoted" C:\\path|pipe*.mp4 moments') == (
        "A quoted C path pipe .mp4 moments.edl")
    assert offered("Qu'est-ce que c'est (été) & 日本語 moments") == (
        "Qu'est-ce que c'est (été) & 日本語 moments.edl")
    assert offered("...\n\t?") == "moments.edl"
    long = offered("word " * 40 + "moments")
    assert len(long) <= 80 + 4 and long.endswith("word.edl") and "  " not in long
