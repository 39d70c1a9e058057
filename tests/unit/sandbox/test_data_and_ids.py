"""Sample data sanity, the UUIDv7 generator, timestamps and delta splitting."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from jockey_desktop.sandbox.data import default_stores_dir, load_stores
from jockey_desktop.sandbox.ids import is_uuid7, new_id, rfc3339, uuid7
from jockey_desktop.sandbox.server import _chunks


def test_sample_stores_meet_the_brief() -> None:
    stores = load_stores()
    assert len(stores) >= 3
    big = [s for s in stores.values() if len([i for i in s.items if i.ready]) >= 5]
    assert len(big) >= 2
    assert any(not s.ready_items and s.items for s in stores.values())
    statuses = {i.status for s in stores.values() for i in s.items}
    assert {"processing", "failed", "ready"} <= statuses
    for store in stores.values():
        assert store.id.startswith("ks_") and is_uuid7(store.id[3:])
        for item in store.items:
            assert item.id.startswith("ksi_") and is_uuid7(item.id[4:])
            if item.ready:
                assert 4 <= len(item.moments) <= 8
            for moment in item.moments:
                assert 0 <= moment.start < moment.end <= item.duration
                assert moment.description and moment.transcript and moment.tags


def test_store_files_are_plain_json_with_api_fields() -> None:
    for path in default_stores_dir().glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert {"_id", "name", "description", "created_at", "updated_at", "items"} <= set(raw)


def test_uuid7_format_and_order() -> None:
    ids = [uuid7() for _ in range(500)]
    assert all(is_uuid7(i) for i in ids)
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert new_id("resp_").startswith("resp_") and not is_uuid7("not-a-uuid")


def test_rfc3339() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_783_732_437.9) == "2026-07-11T01:13:57Z"


@given(st.text(max_size=300), st.integers(1, 8))
def test_chunks_concatenate_to_the_text(text: str, words: int) -> None:
    pieces = _chunks(text, words)
    assert "".join(pieces) == text
    assert all(len(p.split()) <= words for p in pieces)
