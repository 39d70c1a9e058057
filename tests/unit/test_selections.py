"""What a question asks about: composing ``{{sel:N}}``, the selections in force in a session,
``@`` mentions and what "Ask about this video" and ``@`` offer (presentation.selections)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.plaintext import resolve_selection_placeholders
from jockey_desktop.presentation.selections import (
    add_selection,
    ask_about,
    candidates,
    compose_question,
    item_name,
    mention_query,
    selection,
    selections_in_force,
    selections_summary,
)

FOX = {"kind": "item", "id": "ksi_fox", "name": "Ice and the Arctic Fox"}
REEF = {"kind": "item", "id": "ksi_reef", "name": "Reef"}
REEF_HUNTERS = {"kind": "item", "id": "ksi_rh", "name": "Reef Hunters"}
NIGHTS = {"kind": "collection", "id": "ksic_n", "name": "Night shoots"}


def test_mentions_become_placeholders_longest_name_first() -> None:
    sent = compose_question("Compare @Reef Hunters with @Reef and @Reef again.",
                            [REEF, REEF_HUNTERS])
    assert sent == "Compare {{sel:1}} with {{sel:0}} and {{sel:0}} again."
    assert resolve_selection_placeholders(sent, [REEF, REEF_HUNTERS]) == \
        "Compare Reef Hunters with Reef and Reef again."


def test_selections_the_text_does_not_mention_are_referred_to_at_the_end() -> None:
    sent = compose_question("How do the predators hunt?  ", [FOX, NIGHTS, REEF])
    assert sent == ("How do the predators hunt?\n\n"
                    "(About {{sel:0}}, {{sel:1}} and {{sel:2}}.)")
    mixed = compose_question("What happens in @Reef?", [FOX, REEF])
    assert mixed == "What happens in {{sel:1}}?\n\n(About {{sel:0}}.)"
    # Every selection sent is referred to in the text.
    for index in range(2):
        assert f"{{{{sel:{index}}}}}" in mixed


def test_a_typed_placeholder_is_broken_up_and_plain_questions_are_unchanged() -> None:
    assert compose_question("What is {{sel:3}}?", []) == "What is {{ sel:3}}?"
    assert compose_question("What is {{SEL:0}} or {{ sel:1}} in @Reef", [REEF]) == \
        "What is {{ SEL:0}} or {{ sel:1}} in {{sel:0}}"
    assert compose_question("Just a question @nobody", []) == "Just a question @nobody"


def test_a_selection_needs_a_known_kind_and_a_fitting_id() -> None:
    assert selection("item", "ksi_1", "  A   title ") == {"kind": "item", "id": "ksi_1",
                                                       "name": "A title"}
    assert selection("collection", "ksic_1", "") == {"kind": "collection", "id": "ksic_1",
                                                     "name": "ksic_1"}
    assert selection("item", "ksic_1", "x") is None  # a collection id as an item
    assert selection("collection", "ksi_1", "x") is None
    assert selection("video", "ksi_1", "x") is None
    assert add_selection([FOX], dict(FOX, name="renamed")) == [FOX]  # once
    assert add_selection([FOX], REEF) == [FOX, REEF]


def _question(mid: int, selections: list[dict[str, str]],
              status: MessageStatus = MessageStatus.COMPLETE) -> Message:
    return Message(mid, f"u{mid}", 1, Role.USER, "q", status, 0.0, 0.0,
                   selections=selections)


def test_selections_add_up_in_a_session_and_start_over_in_a_new_one() -> None:
    seam = Message(9, "s", 1, Role.SEAM, "new session", MessageStatus.COMPLETE, 0.0, 0.0)
    failed = _question(3, [NIGHTS], MessageStatus.FAILED)
    assert selections_in_force([_question(1, [FOX]), _question(2, [REEF, FOX]), failed]) \
        == [FOX, REEF]
    assert selections_in_force([_question(1, [FOX]), seam, _question(4, [REEF])]) == [REEF]
    # The question being asked counts: the server holds its selections from now on.
    assert selections_in_force([_question(5, [NIGHTS], MessageStatus.PENDING)]) == [NIGHTS]
    assert selections_summary([FOX, REEF, NIGHTS, REEF_HUNTERS, FOX], limit=3) == \
        "Ice and the Arctic Fox, Reef, Night shoots and 2 more"
    assert selections_summary([FOX, REEF]) == "Ice and the Arctic Fox and Reef"


@pytest.mark.parametrize(("before", "query"), [
    ("@", ""), ("What about @ice", "ice"), ("(@Reef Hu", "Reef Hu"), ("a\n@x", "x"),
    ("mail me at bob@example.com", None), ("@ leading space", None), ("no mention", None),
    ("@" + "x" * 61, None), ("@two  spaces", None),
])
def test_the_name_being_typed_after_an_at_sign(before: str, query: str | None) -> None:
    assert mention_query(before) == query


def test_ask_about_a_cited_video_or_collection() -> None:
    assert ask_about({"item_id": "ksi_9", "title": " Kelp\nForest "}) == \
        ("item", "ksi_9", "Kelp Forest")
    assert ask_about({"item_id": "ksi_9", "title": None}) == ("item", "ksi_9", "ksi_9")
    assert ask_about({"collection_id": "ksic_2", "title": "Nights"}) == \
        ("collection", "ksic_2", "Nights")
    assert ask_about({"kind": "inline_time", "item_id": None}) is None
    assert ask_about({"item_id": "0123456789abcdef01234567"}) is None  # a bare asset id


def test_at_offers_ready_items_then_collections_by_name() -> None:
    def item(item_id: str, status: str, title: str | None, filename: str | None = None) -> object:
        return SimpleNamespace(id=item_id, status=status,
                               metadata={"title": title} if title else {},
                               system_metadata={"filename": filename} if filename else {})

    items = [item("ksi_b", "ready", "beta"), item("ksi_a", "ready", None, "alpha.mp4"),
             item("ksi_c", "indexing", "still indexing"), item("ksi_d", "ready", None)]
    collections = [SimpleNamespace(id="ksic_z", name="Zed"), SimpleNamespace(id="bad", name="x")]
    assert candidates(items, collections) == [
        {"kind": "item", "id": "ksi_a", "name": "alpha.mp4"},
        {"kind": "item", "id": "ksi_b", "name": "beta"},
        {"kind": "item", "id": "ksi_d", "name": "ksi_d"},
        {"kind": "collection", "id": "ksic_z", "name": "Zed"},
    ]
    assert item_name({"title": 3}, {"filename": " f.mp4 "}, "ksi_1") == "f.mp4"
