"""A message as plain text: Markdown stripped once, selection placeholders resolved."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jockey_desktop.core.storage.plaintext import (
    markdown_to_plain,
    message_plain_text,
    resolve_selection_placeholders,
)


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("## Goals\n**The goal** was `scored` [1].", "Goals\nThe goal was scored."),
        ("see [the docs](http://exa.example/a_(b)) now", "see the docs now"),
        ("- item\n> quote ![alt](img.png) [2,3]", "item\nquote alt"),
        ("*it* and _em_ but snake_case and 5 * 3 and x[0]",
         "it and em but snake_case and 5 * 3 and x[0]"),
        ("at [01:02-01:10] <vref id=a start=1 end=2/>clip</vref>", "at [01:02-01:10] clip"),
        ("***bold*** and ~~struck~~", "bold and struck"),
        ("| a | b |\n|---|:-:|\n| 1 | 2 |", "a b\n1 2"),
        ("para\n\n\n\nnext", "para\n\nnext"),
        ("```python\na_b = **x**\n```\nafter", "a_b = **x**\nafter"),
        ("a\n---\nb", "a\n\nb"),
        ("Heading\n=====\ntext", "Heading\n\ntext"),
        ("1. first\n2. second [3][4]", "1. first\n2. second"),
        ("# Title #", "Title"),
        ("go to <https://x.example/z> now", "go to https://x.example/z now"),
        (r"a \*literal\* star and `*code*`", "a *literal* star and *code*"),
        ("- [x] done\n- [ ] todo", "done\ntodo"),
        ("plain words stay plain", "plain words stay plain"),
        ("", ""),
    ],
)
def test_markdown_to_plain(markdown: str, plain: str) -> None:
    assert markdown_to_plain(markdown) == plain


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_markdown_to_plain_only_removes(text: str) -> None:
    plain = markdown_to_plain(text)
    # Stripping only deletes syntax and re-spaces: what is left, in order, is from the input.
    remaining = iter(c for c in text if not c.isspace())
    for char in (c for c in plain if not c.isspace()):
        assert any(char == source for source in remaining), char


_SELECTIONS = [{"kind": "item", "id": "ksi_1", "name": "Lion hunt"},
               {"kind": "collection", "id": "ksic_2", "name": ""}]


def test_placeholders_become_names() -> None:
    text = "Compare {{sel:0}} with {{sel:1}} and {{sel:7}}"
    assert resolve_selection_placeholders(text, _SELECTIONS) == (
        "Compare Lion hunt with ksic_2 and {{sel:7}}")  # no name: the id; none: as written
    assert resolve_selection_placeholders("no placeholders", _SELECTIONS) == "no placeholders"


def test_message_plain_text_by_role() -> None:
    # A question is literal text: its asterisks are the user's, only placeholders change.
    assert message_plain_text("user", "Is 5 * 3 in **{{sel:0}}**?", _SELECTIONS) == (
        "Is 5 * 3 in **Lion hunt**?")
    assert message_plain_text("assistant", "**Lions** hunt [1].") == "Lions hunt."
    assert message_plain_text("seam", "Session *expired*") == "Session *expired*"
    assert message_plain_text("assistant", "a\ud800b") == "a\ufffdb"
