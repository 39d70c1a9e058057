"""What the desktop notification says when answers finish in the background."""

from __future__ import annotations

from jockey_desktop.presentation.notifications import (
    PREVIEW_CHARS,
    Finished,
    notification_text,
    preview,
)


def test_one_answer_names_its_conversation_and_quotes_it() -> None:
    title, body = notification_text([Finished(7, "Lions at dusk", "The pride moves at 02:10.",
                                              failed=False)])
    assert title == "Answer ready: Lions at dusk"
    assert body == "The pride moves at 02:10."


def test_an_empty_answer_still_says_something() -> None:
    assert notification_text([Finished(7, "Lions", "", failed=False)])[1] == "Jockey answered."


def test_a_failed_answer_says_so_and_what_to_do() -> None:
    title, body = notification_text([Finished(7, "Lions", "", failed=True)])
    assert title == "No answer in “Lions”"
    assert "could not be finished" in body and "retry" in body


def test_several_answers_make_one_notification_naming_three_and_counting_the_rest() -> None:
    finished = [Finished(i, f"Conv {i}", "x", failed=i == 4) for i in range(1, 6)]
    title, body = notification_text(finished)
    # Not "5 answers are ready" over one that failed.
    assert title == "4 answers are ready, 1 could not be finished"
    assert body == ("“Conv 1”, “Conv 2”, “Conv 3” and 2 more. Open the conversations to retry "
                    "what could not be finished.")
    all_failed = [Finished(i, f"C{i}", "", failed=True) for i in range(2)]
    assert notification_text(all_failed)[0] == "2 answers could not be finished"
    one_ready = [Finished(1, "A", "x", failed=False), Finished(2, "B", "", failed=True)]
    assert notification_text(one_ready)[0] == "1 answer is ready, 1 could not be finished"


def test_two_answers_are_both_named_without_a_count_of_more() -> None:
    title, body = notification_text([Finished(1, "A", "x", False), Finished(2, "B", "y", False)])
    assert (title, body) == ("2 answers are ready", "“A”, “B”.")


def test_preview_is_one_line_and_cut_at_a_word() -> None:
    assert preview("Two\n\nlines  here") == "Two lines here"
    long = " ".join(["elephant"] * 40)
    cut = preview(long)
    assert cut.endswith("…") and len(cut) <= PREVIEW_CHARS + 1
    # Cut between words: the text before the ellipsis is whole words only.
    assert all(word == "elephant" for word in cut[:-1].split())
    assert preview("x" * PREVIEW_CHARS) == "x" * PREVIEW_CHARS


def test_preview_reads_without_markdown_marks() -> None:
    answer = ("Across the 5 ready videos in **Product keynotes**, four themes: `live demos` "
              "and [pricing](https://example.com/p) in ks_019f_abc.")
    assert preview(answer) == ("Across the 5 ready videos in Product keynotes, four themes: "
                               "live demos and pricing in ks_019f_abc.")
