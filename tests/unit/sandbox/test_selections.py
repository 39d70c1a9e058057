"""Selections: items and collections scope the answer, add up in the session, ``{{sel:N}}``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from jockey_desktop.sandbox import SandboxServer
from jockey_desktop.sandbox.data import Collection
from tests.helpers.sandbox_engine import cited, engine, sample_store
from tests.helpers.sandbox_http import NATURE, Api, answer_part, cited_items


def _ids_by_title(api: Api, store_id: str) -> dict[str, str]:
    return {i["metadata"]["title"]: i["_id"] for i in api.ready_items(store_id)}


def _item(item_id: str) -> dict[str, str]:
    return {"kind": "item", "id": item_id}


def test_a_selected_item_is_the_only_one_cited(api: Api, nature_id: str) -> None:
    fox = _ids_by_title(api, nature_id)["Ice and the Arctic Fox"]
    body = api.ask(nature_id, "What happens in {{sel:0}}?", selections=[_item(fox)]).json()
    part = answer_part(body)
    assert part["annotations"] and cited_items(body) == [fox]
    assert "**Ice and the Arctic Fox**" in part["text"] and "{{sel:" not in part["text"]


def test_a_question_over_several_selected_items_cites_only_them(api: Api,
                                                                 nature_id: str) -> None:
    ids = _ids_by_title(api, nature_id)
    chosen = [ids["Kelp Forest Nights"], ids["Savanna at First Light"]]
    body = api.ask(nature_id, "How do the predators hunt?",
                   selections=[_item(i) for i in chosen]).json()
    assert set(cited_items(body)) == set(chosen)
    themes = api.ask(nature_id, "What are the main themes?",
                     selections=[_item(i) for i in chosen]).json()
    assert set(cited_items(themes)) <= set(chosen)
    assert "the selected videos (2 videos)" in answer_part(themes)["text"]


def test_a_placeholder_narrows_to_the_entry_it_names(api: Api, nature_id: str) -> None:
    ids = _ids_by_title(api, nature_id)
    chosen = [ids["Kelp Forest Nights"], ids["Savanna at First Light"]]
    body = api.ask(nature_id, "How do the predators hunt in {{sel:1}}?",
                   selections=[_item(i) for i in chosen]).json()
    assert cited_items(body) == [chosen[1]]


def test_selections_add_up_in_the_session(sandbox: SandboxServer, tmp_path: Path, api: Api,
                                          nature_id: str) -> None:
    ids = _ids_by_title(api, nature_id)
    savanna, kelp = ids["Savanna at First Light"], ids["Kelp Forest Nights"]
    first = api.ask(nature_id, "What happens in {{sel:0}}?", selections=[_item(savanna)]).json()
    session = first["session_id"]
    # Without new selections the earlier one still scopes the question.
    second = api.ask(nature_id, "How do the predators hunt?", session_id=session).json()
    assert cited_items(second) == [savanna]
    # A new selection adds up; its placeholder counts in this request's array.
    third = api.ask(nature_id, "What happens in {{sel:0}}?", session_id=session,
                    selections=[_item(kelp)]).json()
    assert cited_items(third) == [kelp]
    fourth = api.ask(nature_id, "How do the predators hunt?", session_id=session,
                     selections=[_item(savanna)]).json()
    assert set(cited_items(fourth)) == {savanna, kelp}
    saved = json.loads((tmp_path / "sandbox-state" / "sessions" / f"{session}.json")
                       .read_text(encoding="utf-8"))
    assert [s["id"] for s in saved["selections"]] == [savanna, kelp]  # no repeats


def test_a_collection_selects_its_ready_members(sandbox: SandboxServer, api: Api,
                                                nature_id: str) -> None:
    ids = _ids_by_title(api, nature_id)
    members = (ids["Wings over the Wetland"], ids["Tide Pools of the Northern Coast"])
    collection = Collection(id="ksic_019f0000-0000-7000-8000-000000000001", name="Shorelines",
                            api={}, item_ids=members)
    store = sandbox.stores[nature_id]
    sandbox.stores[nature_id] = dataclasses.replace(store, collections=(collection,))
    body = api.ask(nature_id, "How do the predators hunt in {{sel:0}}?",
                   selections=[{"kind": "collection", "id": collection.id}]).json()
    assert body["status"] == "completed"
    assert cited_items(body) and set(cited_items(body)) <= set(members)
    assert "the collection **Shorelines**" in answer_part(body)["text"]


def test_unknown_or_unready_selections_are_answered_without_citations(api: Api,
                                                                      nature_id: str) -> None:
    unknown = "ksi_019f0000-0000-7000-8000-0000000000ff"
    body = api.ask(nature_id, "What happens in {{sel:0}}?", selections=[_item(unknown)]).json()
    part = answer_part(body)
    assert body["status"] == "completed" and not part["annotations"]
    assert "not in **Nature documentaries**" in part["text"]
    processing = next(i.id for i in sample_store(NATURE).items if i.status == "processing")
    body = api.ask(nature_id, "What happens in {{sel:0}}?", selections=[_item(processing)]).json()
    assert not answer_part(body)["annotations"]
    assert "ready" in answer_part(body)["text"]


def test_steps_name_the_scoped_search(api: Api, nature_id: str) -> None:
    fox = _ids_by_title(api, nature_id)["Ice and the Arctic Fox"]
    body = api.ask(nature_id, "How does the fox hunt in {{sel:0}}?", selections=[_item(fox)],
                   include=["intermediate_outputs"]).json()
    call = next(o for o in body["output"] if o["type"] == "function_call")
    arguments = json.loads(call["arguments"])
    assert arguments["item_ids"] == [fox]
    assert arguments["query"] == "How does the fox hunt in Ice and the Arctic Fox?"


def test_the_engine_scopes_themes_and_theme_follow_ups() -> None:
    eng = engine(NATURE)
    ids = {v.title: v.id for v in eng.videos.values()}
    chosen = [_item(ids["Kelp Forest Nights"]), _item(ids["Ice and the Arctic Fox"])]
    themes = eng.answer("What are the main themes?", [], chosen)
    assert set(cited(themes)) <= {c["id"] for c in chosen}
    follow = eng.answer("Which videos best represent the first theme?",
                        [{"question": "themes", **themes.memory}], chosen)
    assert follow.annotations and set(cited(follow)) <= {c["id"] for c in chosen}
