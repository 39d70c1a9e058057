"""The change feed: announcements of one pass of the event loop go out once, coalesced."""

from __future__ import annotations

from typing import Any

from jockey_desktop.controllers.changes import ChangeFeed, Changes
from jockey_desktop.core.storage.models import MessageStatus, Role
from tests.helpers.records import make_message


def test_one_pass_of_announcements_is_one_emission_with_the_newest_rows(qtbot: Any) -> None:
    feed = ChangeFeed()
    seen: list[Changes] = []
    feed.sig_changed.connect(seen.append)
    question = make_message(1, Role.USER, "q", MessageStatus.PENDING)
    answer = make_message(2, Role.ASSISTANT, "", MessageStatus.STREAMING)
    feed.messages([question, answer])
    feed.conversations([1])
    feed.messages([make_message(2, Role.ASSISTANT, "done", MessageStatus.COMPLETE)])
    feed.conversations([1, 3])
    assert seen == [] and feed.is_pending()  # nothing until the loop is free again
    qtbot.waitUntil(lambda: bool(seen), timeout=2_000)
    qtbot.wait(20)
    (changes,) = seen
    # Each row once, in the order first announced, in its newest version.
    assert [(m.id, m.text) for m in changes.messages] == [(1, "q"), (2, "done")]
    assert changes.conversations == frozenset({1, 3})
    assert not changes.removed and not changes.everything
    assert changes.messages_of(1) == list(changes.messages)
    assert not feed.is_pending()


def test_a_removed_conversation_takes_its_pending_rows_with_it(qtbot: Any) -> None:
    feed = ChangeFeed()
    feed.messages([make_message(1, conversation_id=5), make_message(2, conversation_id=6)])
    feed.conversations([5, 6])
    feed.removed([5])
    with qtbot.waitSignal(feed.sig_changed, timeout=2_000) as emitted:
        pass
    changes = emitted.args[0]
    assert [m.id for m in changes.messages] == [2]
    assert changes.conversations == frozenset({6}) and changes.removed == frozenset({5})


def test_held_announcements_wait_for_the_release(qtbot: Any) -> None:
    feed = ChangeFeed()
    seen: list[Changes] = []
    feed.sig_changed.connect(seen.append)
    feed.hold()
    feed.conversations([1])
    feed.everything()
    qtbot.wait(50)
    assert seen == []
    feed.release()
    qtbot.waitUntil(lambda: bool(seen), timeout=2_000)
    assert seen[0].everything and seen[0].conversations == frozenset({1})


def test_nothing_announced_is_nothing_emitted(qtbot: Any) -> None:
    feed = ChangeFeed()
    with qtbot.assertNotEmitted(feed.sig_changed, wait=30):
        feed.flush()
        feed.messages([])


def test_a_closed_feed_announces_nothing_more(qtbot: Any) -> None:
    # At quit the database closes after the last writes drained: their announcements must
    # not make a view read the closed database.
    feed = ChangeFeed()
    feed.conversations([1])  # announced before the close, still waiting
    feed.close()
    assert not feed.is_pending()
    with qtbot.assertNotEmitted(feed.sig_changed, wait=50):
        feed.messages([make_message(1)])
        feed.everything()
        feed.flush()
