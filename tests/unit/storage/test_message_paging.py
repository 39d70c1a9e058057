"""Paged transcript reads: ``list_messages_page`` and ``count_messages``."""

from __future__ import annotations

from jockey_desktop.core.storage import Repository


def _conversation_with(repo: Repository, count: int) -> tuple[int, list[int]]:
    conv = repo.create_conversation("s", "S")
    ids = [repo.add_user_message(conv.id, f"question {n}").id for n in range(count)]
    return conv.id, ids


def test_pages_walk_the_whole_transcript_without_loss_or_duplicates(repo: Repository) -> None:
    conversation_id, ids = _conversation_with(repo, 23)
    other, other_ids = _conversation_with(repo, 4)  # interleaved ids of another conversation
    repo.add_user_message(conversation_id, "late")
    ids.append(max(other_ids) + 1)
    newest = repo.list_messages_page(conversation_id, limit=10)
    assert [m.id for m in newest] == ids[-10:]  # the newest ones, oldest first
    seen = list(newest)
    before: int | None = newest[0].id
    while True:
        page = repo.list_messages_page(conversation_id, limit=10, before_id=before)
        if not page:
            break
        assert [m.id for m in page] == sorted(m.id for m in page)
        assert all(m.id < before for m in page)  # type: ignore[operator]
        seen = page + seen
        before = page[0].id
    assert [m.id for m in seen] == ids
    assert seen == repo.list_messages(conversation_id)
    assert repo.count_messages(conversation_id) == 24
    assert repo.count_messages(other) == 4


def test_page_edges(repo: Repository) -> None:
    conversation_id, ids = _conversation_with(repo, 3)
    assert [m.id for m in repo.list_messages_page(conversation_id, limit=50)] == ids
    assert repo.list_messages_page(conversation_id, limit=0) == []
    assert repo.list_messages_page(conversation_id, limit=5, before_id=ids[0]) == []
    assert [m.id for m in repo.list_messages_page(conversation_id, limit=1,
                                                  before_id=ids[2])] == [ids[1]]
    assert repo.list_messages_page(99_999, limit=5) == []
    assert repo.count_messages(99_999) == 0
