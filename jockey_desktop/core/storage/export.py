"""Export conversations to Markdown and JSON, import JSON back, write files atomically.

The JSON export holds every stored field (store id and name, ``session_id``, seams,
citations, usage, statuses, drafts) so it is a full backup of those conversations; it never
holds the API key (storage never sees it). Import matches conversations on ``uid``, so
re-importing the same file adds nothing.

These functions can take a while on big histories: run them off the GUI thread.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ... import __version__
from ..timecode import format_time_range
from .errors import ImportFormatError
from .models import Conversation, Message, MessageStatus, Role
from .repository import Repository, normalize_citations
from .sanitize import sanitize_json_value, sanitize_optional, sanitize_text

EXPORT_FORMAT = "jockey-desktop-conversations"
EXPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ImportResult:
    """How many conversations ``import_json`` added and how many were already present."""

    imported: int
    skipped: int


# --- Markdown ------------------------------------------------------------------------------


def format_citation(citation: Mapping[str, Any]) -> str:
    """A readable citation: "Title 01:23–01:45"; a whole video is just its title."""
    title = citation.get("title") or citation.get("item_id") or "Untitled video"
    start, end = citation.get("start_sec"), citation.get("end_sec")
    if not isinstance(start, (int, float)) or not math.isfinite(start):
        return str(title)
    if not (isinstance(end, (int, float)) and math.isfinite(end)):
        end = None
    return f"{title} {format_time_range(start, end)}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


_STATUS_NOTES = {
    MessageStatus.FAILED: "failed",
    MessageStatus.INTERRUPTED: "interrupted",
    MessageStatus.CANCELLED: "stopped",
    MessageStatus.STREAMING: "incomplete",
    MessageStatus.PENDING: "not answered",
}


def _conversation_markdown(conversation: Conversation, messages: list[Message]) -> str:
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"- Knowledge store: {conversation.store_name} (`{conversation.store_id}`)")
    lines.append(f"- Started: {_iso(conversation.created_at)}")
    lines.append("")
    for message in messages:
        if message.role is Role.SEAM:
            lines += ["---", "", f"*New session: {message.text}*", "", "---", ""]
            continue
        who = "You" if message.role is Role.USER else "Jockey"
        note = _STATUS_NOTES.get(message.status)
        heading = f"## {who} — {_iso(message.created_at)}"
        lines += [heading + (f" ({note})" if note else ""), "", message.text.rstrip(), ""]
        if message.error_message:
            lines += [f"> {message.error_message}", ""]
        seen: set[str] = set()
        sources = []
        for citation in message.citations:
            text = format_citation(citation)
            if text not in seen:
                seen.add(text)
                sources.append(f"- {text}")
        if sources:
            lines += ["**Sources**", "", *sources, ""]
    return "\n".join(lines).rstrip() + "\n"


def export_markdown(repo: Repository, conversation_ids: Iterable[int]) -> str:
    """The given conversations as one Markdown document (unknown ids are skipped)."""
    parts = []
    for conversation_id in conversation_ids:
        conversation = repo.get_conversation(conversation_id)
        if conversation is not None:
            parts.append(
                _conversation_markdown(conversation, repo.list_messages(conversation_id))
            )
    return "\n".join(parts)


# --- JSON ----------------------------------------------------------------------------------


def _message_record(
    repo: Repository, message: Message, uid_by_id: dict[int, str]
) -> dict[str, Any]:
    return {
        "uid": message.uid,
        "role": message.role.value,
        "text": message.text,
        "status": message.status.value,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "reply_to_uid": uid_by_id.get(message.reply_to) if message.reply_to else None,
        "session_id": message.session_id,
        "old_session_id": (
            repo.get_old_session_id(message.id) if message.role is Role.SEAM else None
        ),
        "response_id": message.response_id,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "citations": message.citations,
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
        "revision": message.revision,
    }


def export_json(repo: Repository, conversation_ids: Iterable[int]) -> dict[str, Any]:
    """The given conversations with every stored field, as a JSON-ready dict."""
    conversations = []
    for conversation_id in conversation_ids:
        conversation = repo.get_conversation(conversation_id)
        if conversation is None:
            continue
        messages = repo.list_messages(conversation_id)
        uid_by_id = {m.id: m.uid for m in messages}
        conversations.append({
            "uid": conversation.uid,
            "title": conversation.title,
            "title_is_auto": conversation.title_is_auto,
            "store_id": conversation.store_id,
            "store_name": conversation.store_name,
            "session_id": conversation.session_id,
            "instructions": conversation.instructions,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "pinned": conversation.pinned,
            "draft": conversation.draft,
            "messages": [_message_record(repo, m, uid_by_id) for m in messages],
        })
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": time.time(),
        "conversations": conversations,
    }


def _field(record: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
           default: Any = None, required: bool = False) -> Any:
    if key not in record or record[key] is None:
        if required:
            raise ImportFormatError(f"A record is missing the field {key!r}.")
        return default
    value = record[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ImportFormatError(f"The field {key!r} has the wrong type.")
    return value


def _parse_conversation(
    record: Any,
) -> tuple[Conversation, list[Message], dict[int, str | None]]:
    if not isinstance(record, Mapping):
        raise ImportFormatError("A conversation record is not an object.")
    now = time.time()
    conversation = Conversation(
        id=0,
        uid=sanitize_text(_field(record, "uid", str, required=True)),
        title=sanitize_text(_field(record, "title", str, "")),
        store_id=sanitize_text(_field(record, "store_id", str, required=True)),
        store_name=sanitize_text(_field(record, "store_name", str, "")),
        session_id=sanitize_optional(_field(record, "session_id", str)),
        instructions=sanitize_optional(_field(record, "instructions", str)),
        created_at=_field(record, "created_at", float, now),
        updated_at=_field(record, "updated_at", float, now),
        pinned=bool(_field(record, "pinned", bool, False)),
        draft=sanitize_text(_field(record, "draft", str, "")),
        title_is_auto=bool(_field(record, "title_is_auto", bool, True)),
    )
    raw_messages = _field(record, "messages", list, [])
    local_id: dict[str, int] = {}
    messages: list[Message] = []
    old_sessions: dict[int, str | None] = {}
    for index, raw in enumerate(raw_messages, start=1):
        if not isinstance(raw, Mapping):
            raise ImportFormatError("A message record is not an object.")
        try:
            role = Role(_field(raw, "role", str, required=True))
            status = MessageStatus(_field(raw, "status", str, required=True))
        except ValueError as exc:
            raise ImportFormatError("A message has an unknown role or status.") from exc
        if status in (MessageStatus.STREAMING, MessageStatus.PENDING):
            # Nothing is in flight in an imported file.
            status = MessageStatus.INTERRUPTED
        uid = sanitize_text(_field(raw, "uid", str, required=True))
        reply_uid = _field(raw, "reply_to_uid", str)
        citations = _field(raw, "citations", list, [])
        message = Message(
            id=index, uid=uid, conversation_id=0, role=role,
            text=sanitize_text(_field(raw, "text", str, "")), status=status,
            created_at=_field(raw, "created_at", float, now),
            updated_at=_field(raw, "updated_at", float, now),
            reply_to=local_id.get(reply_uid) if reply_uid else None,
            session_id=sanitize_optional(_field(raw, "session_id", str)),
            response_id=sanitize_optional(_field(raw, "response_id", str)),
            error_code=sanitize_optional(_field(raw, "error_code", str)),
            error_message=sanitize_optional(_field(raw, "error_message", str)),
            citations=normalize_citations(c for c in citations if isinstance(c, Mapping)),
            input_tokens=_field(raw, "input_tokens", int),
            output_tokens=_field(raw, "output_tokens", int),
            revision=_field(raw, "revision", int, 0),
        )
        # Kept on the side: Message has no field for it.
        old_sessions[index] = sanitize_optional(_field(raw, "old_session_id", str))
        local_id[uid] = index
        messages.append(message)
    return conversation, messages, old_sessions


def import_json(repo: Repository, data: Mapping[str, Any] | str | bytes) -> ImportResult:
    """Import an ``export_json`` document (dict or JSON text). Conversations whose ``uid``
    already exists are skipped, so importing the same file twice adds nothing. The whole
    document is validated before anything is written; each conversation is written in one
    transaction. Raises ``ImportFormatError`` for anything that is not such a document."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ImportFormatError("The file is not valid JSON.") from exc
    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise ImportFormatError("The file is not a Jockey Desktop conversation export.")
    version = data.get("format_version")
    if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
        raise ImportFormatError(
            "The export was made by a newer version of Jockey Desktop; update to import it."
        )
    records = data.get("conversations")
    if not isinstance(records, list):
        raise ImportFormatError("The export has no conversation list.")
    parsed = [_parse_conversation(sanitize_json_value(r)) for r in records]
    imported = skipped = 0
    for conversation, messages, old_sessions in parsed:
        if repo.import_conversation(conversation, messages, old_sessions) is None:
            skipped += 1
        else:
            imported += 1
    return ImportResult(imported=imported, skipped=skipped)


def write_file_atomically(path: Path | str, content: str | bytes | Mapping[str, Any]) -> Path:
    """Write an export next to ``path`` and rename it into place (never a half-written file;
    mode 0600: conversations are private). A dict is written as JSON."""
    path = Path(path)
    if isinstance(content, Mapping):
        content = json.dumps(content, ensure_ascii=False, indent=2)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
