"""Export conversations to Markdown and JSON, import JSON back, write files atomically.

The JSON export holds every stored field (store id and name, ``session_id``, seams,
citations, selections, agent steps, retry times, usage, statuses, drafts, the web-search
setting and a fork's link back, by uid) so it is a full backup of those conversations; it
never holds the API key (storage never sees it). Import matches conversations on ``uid``, so
re-importing the same file adds nothing.

These functions can take a while on big histories: run them off the GUI thread.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from ... import __version__
from ..citation_numbers import source_numbers
from ..timecode import format_time_range
from ..web_sources import split_web_sources
from .errors import ImportFormatError
from .models import Conversation, Message, MessageStatus, Role
from .plaintext import resolve_selection_placeholders, selection_label
from .repository import Repository, normalize_citations, normalize_selections, normalize_steps
from .sanitize import sanitize_json_value, sanitize_optional, sanitize_text
from .versions import answer_versions, reading_order, version_info

EXPORT_FORMAT = "jockey-desktop-conversations"
#: 2 added selections, steps, retry_at, web_search and the origin uids. Version 1 files still
#: import; an app that reads only version 1 refuses version 2 instead of dropping fields.
EXPORT_FORMAT_VERSION = 2
#: A step's tool output or arguments longer than this are cut in the Markdown export.
STEP_TEXT_LIMIT = 300


@dataclass(frozen=True)
class ImportResult:
    """How many conversations ``import_json`` added and how many were already present."""

    imported: int
    skipped: int
    #: Conversations of the file that could not be read and were left out, and why the
    #: first of them could not ("" when every one was read).
    unreadable: int = 0
    problem: str = ""


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


def local_time_text(ts: float, tz: tzinfo | None = None) -> str:
    """A timestamp as a reader of the export sees it: local time with its UTC offset,
    "2026-06-02 11:20 +02:00" (``tz`` defaults to this computer's zone at that moment, so
    summer and winter times each get their own offset)."""
    moment = datetime.fromtimestamp(ts, UTC).astimezone(tz)
    offset = moment.strftime("%z")  # "+0200"
    return f"{moment:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


_STATUS_NOTES = {
    MessageStatus.FAILED: "failed",
    MessageStatus.INTERRUPTED: "interrupted",
    MessageStatus.CANCELLED: "stopped",
    MessageStatus.STREAMING: "incomplete",
    MessageStatus.PENDING: "not answered",
}


def _one_line(value: Any, limit: int = STEP_TEXT_LIMIT) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _step_text(step: Mapping[str, Any]) -> str:
    """Commentary or a message item's text (``text``, or its ``content`` parts)."""
    if isinstance(step.get("text"), str):
        return str(step["text"])
    content = step.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text") or "") for part in content
                        if isinstance(part, Mapping))
    return ""


def format_step(step: Mapping[str, Any]) -> str:
    """One agent step on one line. Steps are stored as given (API output items or the app's
    own records), so the usual shapes are read: commentary / ``message`` text,
    ``function_call`` name and arguments, ``function_call_output`` output and web searches'
    queries; anything else shows its type. The app's own records (``Step.to_dict()``) name
    the step in ``kind`` (``"other"`` keeps the item's type in ``item_type``)."""
    kind = str(step.get("type") or step.get("kind") or "step")
    if kind == "other":
        kind = str(step.get("item_type") or "step")
    if kind in ("message", "commentary"):
        return _one_line(_step_text(step)) or kind
    if kind == "function_call":
        arguments = step.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False) if arguments else ""
        return f"Tool call: {step.get('name') or 'tool'}({_one_line(arguments)})"
    if kind == "function_call_output":
        return f"Tool output: {_one_line(step.get('output') or '')}"
    if "web_search" in kind:
        action = step.get("action")
        queries = step.get("queries")
        if queries is None and isinstance(action, Mapping):
            queries = action.get("queries")
        if isinstance(queries, list) and queries:
            return "Web search: " + "; ".join(_one_line(q, 120) for q in queries)
        return "Web search"
    text = _step_text(step)
    return f"{kind}: {_one_line(text)}" if text else kind


def _autolink(url: str) -> str:
    """``url`` safe inside a Markdown autolink (``<…>`` ends at ``>`` and at white space)."""
    return url.replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def _conversation_markdown(conversation: Conversation, messages: list[Message]) -> str:
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"- Knowledge store: {conversation.store_name} (`{conversation.store_id}`)")
    lines.append(f"- Started: {local_time_text(conversation.created_at)}")
    lines.append("")
    # A question's own status note only says something when no answer row follows it (the
    # answer carries the note); "(not answered)" above a partial answer would be wrong.
    answered = {m.reply_to for m in messages if m.role is Role.ASSISTANT and m.reply_to}
    versions = answer_versions(messages)
    # Each question with all of its answers (the versions, oldest first) under it.
    for message in reading_order(messages, every_version=True):
        if message.role is Role.SEAM:
            lines += ["---", "", f"*New session: {message.text}*", "", "---", ""]
            continue
        who = "You" if message.role is Role.USER else "Jockey"
        note = _STATUS_NOTES.get(message.status)
        if message.role is Role.USER and message.id in answered:
            note = None
        heading = f"## {who} — {local_time_text(message.created_at)}"
        info = version_info(versions, message)
        if info is not None and info.count > 1:
            heading += f" — version {info.number} of {info.count}"
        text = message.text
        if message.role is Role.USER:
            text = resolve_selection_placeholders(text, message.selections)
        lines += [heading + (f" ({note})" if note else ""), "", text.rstrip(), ""]
        if message.selections:
            about = ", ".join(f"{selection_label(s)} ({s.get('kind') or 'item'})"
                              for s in message.selections)
            lines += [f"*Asked about: {about}*", ""]
        if message.error_message:
            lines += [f"> {message.error_message}", ""]
        lines += _answer_sources_markdown(message)
    return "\n".join(lines).rstrip() + "\n"


def _answer_sources_markdown(message: Message) -> list[str]:
    """An answer's Steps, Sources and web sources; sources numbered as their ``[N]``
    markers in the text (``core.citation_numbers``), so ``[5]`` is source 5 (an ordered
    list: a Markdown viewer starts it at the first number and counts on, which matches
    the markers as an answer numbers them, 1, 2, 3…)."""
    lines: list[str] = []
    steps, web_sources = split_web_sources(message.steps)
    if steps:
        lines += ["**Steps**", ""]
        lines += [f"{n}. {format_step(step)}" for n, step in enumerate(steps, 1)]
        lines.append("")
    # One numbering for the answer's video and web sources, as its markers read.
    numbers = source_numbers(message.text, [*message.citations, *web_sources])
    videos: dict[int, Mapping[str, Any]] = {}
    for number, citation in zip(numbers, message.citations, strict=False):
        videos.setdefault(number, citation)
    if videos:
        lines += ["**Sources**", ""]
        lines += [f"{n}. {format_citation(c)}" for n, c in sorted(videos.items())]
        lines.append("")
    if web_sources:
        lines += ["**From the web**", ""]
        pages = sorted(zip(numbers[len(message.citations):], web_sources, strict=True),
                       key=lambda pair: pair[0])
        lines += [f"{n}. {_one_line(s['title'] or s['url'], 200)} — <{_autolink(s['url'])}>"
                  for n, s in pages]
        lines.append("")
    return lines


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
        "retry_at": message.retry_at,
        "selections": message.selections,
        "steps": message.steps,
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
        origin = (repo.get_conversation(conversation.origin_conversation_id)
                  if conversation.origin_conversation_id is not None else None)
        origin_message = (repo.get_message(conversation.origin_message_id)
                          if conversation.origin_message_id is not None else None)
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
            "web_search": conversation.web_search,
            "origin_conversation_uid": origin.uid if origin else None,
            "origin_message_uid": origin_message.uid if origin_message else None,
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


@dataclass(frozen=True)
class _ParsedConversation:
    conversation: Conversation
    messages: list[Message]
    old_sessions: dict[int, str | None]
    origin_conversation_uid: str | None
    origin_message_uid: str | None


def _records(record: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A list-of-objects field; entries that are not objects are skipped."""
    return [item for item in _field(record, key, list, []) if isinstance(item, Mapping)]


def _parse_conversation(record: Any) -> _ParsedConversation:
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
        web_search=bool(_field(record, "web_search", bool, False)),
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
            citations=normalize_citations(_records(raw, "citations")),
            input_tokens=_field(raw, "input_tokens", int),
            output_tokens=_field(raw, "output_tokens", int),
            revision=_field(raw, "revision", int, 0),
            retry_at=_finite(_field(raw, "retry_at", float)),
            selections=normalize_selections(_records(raw, "selections")),
            steps=normalize_steps(_records(raw, "steps")),
        )
        # Kept on the side: Message has no field for it.
        old_sessions[index] = sanitize_optional(_field(raw, "old_session_id", str))
        local_id[uid] = index
        messages.append(message)
    return _ParsedConversation(
        conversation, messages, old_sessions,
        origin_conversation_uid=sanitize_optional(_field(record, "origin_conversation_uid",
                                                         str)),
        origin_message_uid=sanitize_optional(_field(record, "origin_message_uid", str)),
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def import_json(repo: Repository, data: Mapping[str, Any] | str | bytes) -> ImportResult:
    """Import an ``export_json`` document (dict or JSON text). Conversations whose ``uid``
    already exists are skipped, so importing the same file twice adds nothing. The whole
    document is read before anything is written; each conversation is written in one
    transaction, origins before their forks (by creation time), so a fork imported with its
    origin links back to it.

    A conversation record that cannot be read (a field of the wrong type, a message with an
    unknown role: a damaged or hand-edited file) is left out and counted in ``unreadable``;
    the others are imported — one bad record among hundreds refused the whole file. Raises
    ``ImportFormatError`` for anything that is not such a document (including JSON nested too
    deeply to read) and when none of its conversations can be read."""
    try:
        parsed, unreadable, problem = _parse_document(data)
    except RecursionError as exc:
        raise ImportFormatError(
            "The file is not a Jockey Desktop conversation export: its data is nested too "
            "deeply.") from exc
    if unreadable and not parsed:
        noun = "conversation" if unreadable == 1 else f"{unreadable} conversations"
        raise ImportFormatError(f"Its {noun} could not be read. {problem}")
    imported = skipped = 0
    for item in sorted(parsed, key=lambda p: p.conversation.created_at):
        new_id = repo.import_conversation(
            item.conversation, item.messages, item.old_sessions,
            origin_conversation_uid=item.origin_conversation_uid,
            origin_message_uid=item.origin_message_uid)
        if new_id is None:
            skipped += 1
        else:
            imported += 1
    return ImportResult(imported=imported, skipped=skipped, unreadable=unreadable,
                        problem=problem)


def _parse_document(data: Mapping[str, Any] | str | bytes
                    ) -> tuple[list[_ParsedConversation], int, str]:
    """The readable conversations of a document, how many were not, and the first reason."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ImportFormatError("The file is not valid JSON.") from exc
    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise ImportFormatError("The file is not a Jockey Desktop conversation export.")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ImportFormatError("The export has no valid format version.")
    if version > EXPORT_FORMAT_VERSION:
        raise ImportFormatError(
            "The export was made by a newer version of Jockey Desktop; update to import it."
        )
    records = data.get("conversations")
    if not isinstance(records, list):
        raise ImportFormatError("The export has no conversation list.")
    parsed: list[_ParsedConversation] = []
    unreadable = 0
    problem = ""
    for record in records:
        try:
            parsed.append(_parse_conversation(sanitize_json_value(record)))
        except ImportFormatError as exc:
            unreadable += 1
            problem = problem or str(exc)
    return parsed, unreadable, problem


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


def write_failure_text(path: Path | str, error: OSError) -> str:
    """Why ``path`` could not be written and what to do, as sentences: the file the user
    chose (never the temporary one beside it), and what became of a file that was there (an
    atomic write leaves it untouched)."""
    target = Path(path)
    folder = target.parent
    advice = "Choose another folder and save again."
    if error.errno == errno.EROFS:
        reason = f"the folder {folder} is on a read-only disk"
    elif error.errno in (errno.EACCES, errno.EPERM):
        reason = f"you cannot write in the folder {folder} (permission denied)"
    elif error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the disk holding {folder} is full"
        advice = "Free some space there or choose another folder, then save again."
    elif error.errno == errno.ENAMETOOLONG:
        reason = "its name is too long for this disk"
        advice = "Choose a shorter name and save again."
    elif isinstance(error, IsADirectoryError) or target.is_dir():
        reason = f"a folder in {folder} has that name"
        advice = "Choose another name and save again."
    elif error.errno in (errno.ENOTDIR, errno.EEXIST) and not folder.is_dir():
        reason = f"part of the folder path {folder} is a file, not a folder"
    else:
        reason = f"{(error.strerror or str(error)).rstrip('.')} (in {folder})"
    kept = "The file that was there is unchanged." if target.is_file() else ""
    return " ".join(part for part in (f"{target.name} could not be saved: {reason}.", kept,
                                      advice) if part)
