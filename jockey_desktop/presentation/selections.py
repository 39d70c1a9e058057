"""What a question is asked about: selections, how the question refers to them, and which are
in force in a session (Qt-free).

A selection is a plain dict ``{"kind": "item" | "collection", "id", "name"}`` (what storage
keeps in ``Message.selections``). The composer shows them as chips and the user may mention
one in the text as ``@Name``; :func:`compose_question` turns the text into what is sent: each
mention becomes ``{{sel:N}}`` (N its position in the request's ``selections``), and chips the
text does not mention are referred to in a closing "(About {{sel:0}} and {{sel:1}}.)", so the
text always refers to every selection it sends. The transcript shows the question with the
names (``core.storage.resolve_selection_placeholders``), never the placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jockey_desktop.core.storage.models import Message, MessageStatus, Role
from jockey_desktop.core.storage.plaintext import resolve_selection_placeholders

ITEM = "item"
COLLECTION = "collection"
#: Id prefixes the API requires per kind (jockey-api.md §3.1).
PREFIXES = {ITEM: "ksi_", COLLECTION: "ksic_"}

#: Anything the API would read as a placeholder; a user who types one literally gets it
#: broken up (:data:`_BROKEN`) rather than a request the server refuses.
_TYPED_PLACEHOLDER = re.compile(r"\{\{(?=sel:)", re.IGNORECASE)
_BROKEN = "{{ "


def selection(kind: str, selection_id: str, name: str) -> dict[str, Any] | None:
    """A selection dict, or None when ``kind`` is unknown or the id does not fit it (the API
    would refuse the request)."""
    prefix = PREFIXES.get(kind)
    if prefix is None or not isinstance(selection_id, str) \
            or not selection_id.startswith(prefix):
        return None
    label = " ".join(str(name or "").split()) or selection_id
    return {"kind": kind, "id": selection_id, "name": label}


def same_selection(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when both dicts select the same item or collection."""
    return a.get("kind") == b.get("kind") and a.get("id") == b.get("id")


def add_selection(selections: Sequence[Mapping[str, Any]],
                  chosen: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``selections`` with ``chosen`` at the end (once: picking it again changes nothing)."""
    result = [dict(s) for s in selections]
    if not any(same_selection(s, chosen) for s in result):
        result.append(dict(chosen))
    return result


def mention(selection_: Mapping[str, Any]) -> str:
    """How the composer writes a selection into the text: ``@Name``."""
    return "@" + str(selection_.get("name") or selection_.get("id") or "")


def placeholder_for(index: int) -> str:
    """The placeholder that refers to entry ``index`` of the request's ``selections``."""
    return f"{{{{sel:{index}}}}}"


#: How much may follow "@" and still be a name being typed (titles are short).
MENTION_QUERY_CHARS = 60


def mention_query(before_cursor: str) -> str | None:
    """The name being typed after an ``@`` (what completion filters by), from the text of
    the current line before the cursor; None when the cursor is not in a mention. An ``@``
    inside a word (an e-mail address) starts none; a name may hold spaces, not a line break.
    """
    at = before_cursor.rfind("@")
    if at < 0:
        return None
    if at > 0 and not (before_cursor[at - 1].isspace() or before_cursor[at - 1] in "([{\"'“"):
        return None
    query = before_cursor[at + 1:]
    if len(query) > MENTION_QUERY_CHARS or query.startswith(" ") or "  " in query:
        return None
    return query


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def compose_question(text: str, selections: Sequence[Mapping[str, Any]]) -> str:
    """The question as sent: ``@Name`` mentions of ``selections`` become ``{{sel:N}}``, the
    selections not mentioned are referred to at the end, and a placeholder the user typed
    is broken up (it would point at nothing, or at the wrong video)."""
    text = _TYPED_PLACEHOLDER.sub(_BROKEN, text)
    if not selections:
        return text
    # Longest names first: "@Reef Hunters" must not be read as "@Reef" + " Hunters".
    order = sorted(range(len(selections)), key=lambda i: -len(mention(selections[i])))
    pattern = re.compile("|".join(re.escape(mention(selections[i])) for i in order))
    index_of = {mention(selections[i]): i for i in reversed(order)}
    mentioned: set[int] = set()

    def to_placeholder(match: re.Match[str]) -> str:
        index = index_of[match.group(0)]
        mentioned.add(index)
        return placeholder_for(index)

    text = pattern.sub(to_placeholder, text)
    rest = [placeholder_for(i) for i in range(len(selections)) if i not in mentioned]
    if rest:
        text = f"{text.rstrip()}\n\n(About {_join(rest)}.)"
    return text


def question_text(message: Message) -> str:
    """A question as the transcript shows it: placeholders replaced by the names."""
    return resolve_selection_placeholders(message.text, message.selections)


def ask_about(citation: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, id, name) a citation chip's "Ask about this video" selects, or None when the
    citation names no item (an inline time without a video) or a collection."""
    item_id = citation.get("item_id")
    if isinstance(item_id, str) and item_id.startswith(PREFIXES[ITEM]):
        title = citation.get("title")
        name = " ".join(title.split()) if isinstance(title, str) and title.strip() else item_id
        return (ITEM, item_id, name)
    collection_id = citation.get("collection_id")
    if isinstance(collection_id, str) and collection_id.startswith(PREFIXES[COLLECTION]):
        title = citation.get("title")
        name = " ".join(title.split()) if isinstance(title, str) and title.strip() \
            else collection_id
        return (COLLECTION, collection_id, name)
    return None


def selections_in_force(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The selections the server holds for the conversation's current session: every
    selection sent with a question since the last new session (they add up), in the order
    first sent. Questions the server answered count, and the one being asked now."""
    in_force: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SEAM:
            in_force = []  # a new session starts with none
            continue
        if message.role is not Role.USER or message.status not in (
                MessageStatus.COMPLETE, MessageStatus.PENDING):
            continue
        for chosen in message.selections:
            if isinstance(chosen, Mapping) and not any(same_selection(s, chosen)
                                                       for s in in_force):
                in_force.append(dict(chosen))
    return in_force


def selections_summary(selections: Sequence[Mapping[str, Any]], *, limit: int = 3) -> str:
    """"Kelp Forest Nights, Reef Hunters and 2 more" ("" for none)."""
    names = [str(s.get("name") or s.get("id") or "") for s in selections]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return _join(names)


def item_name(metadata: Mapping[str, Any], system_metadata: Mapping[str, Any],
              item_id: str) -> str:
    """What an item is called: its ``title`` metadata, else its file name, else its id."""
    for value in (metadata.get("title"), metadata.get("name"), system_metadata.get("filename")):
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return item_id


def candidates(items: Iterable[Any], collections: Iterable[Any]) -> list[dict[str, Any]]:
    """What ``@`` offers for a store: its ready items, then its collections, each once, by
    name (``KnowledgeStoreItem`` / ``ItemCollection`` records)."""
    found: list[dict[str, Any]] = []
    for item in items:
        if getattr(item, "status", "ready") != "ready":
            continue
        name = item_name(item.metadata, item.system_metadata, item.id)
        chosen = selection(ITEM, item.id, name)
        if chosen is not None:
            found.append(chosen)
    listed: list[dict[str, Any]] = []
    for collection in collections:
        chosen = selection(COLLECTION, collection.id, collection.name)
        if chosen is not None:
            listed.append(chosen)
    found.sort(key=lambda s: str(s["name"]).casefold())
    listed.sort(key=lambda s: str(s["name"]).casefold())
    return found + listed
