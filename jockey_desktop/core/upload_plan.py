"""Which files can go to a knowledge store, and how (no Qt, no network).

Before anything is sent, every dropped or chosen path is checked here: folders are walked,
each file must have an extension a knowledge store takes (videos and images; an item is
never audio), be readable, not empty and within the API's size limits for its kind. A file
that passes becomes a :class:`PlannedFile` with its upload method (one ``POST /assets`` up to
the direct limit, the multipart flow above it) and the ``(size, mtime_ns)`` snapshot that
later tells whether it changed during the upload; a file that does not becomes a
:class:`Refusal` with a sentence. Duplicates of files already in the store or in the queue
are found by :func:`find_duplicates` (the user is asked about them).

The byte limits are the client's (``core.api.uploads``), imported when first needed: this
module is imported at start-up, the HTTP client is not.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ItemKind = Literal["video", "image"]

#: Extensions a knowledge store takes, by kind (lower case, with the dot).
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpeg", ".mpg",
    ".3gp", ".ts", ".mts", ".m2ts", ".ogv",
})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
#: Folders are walked at most this deep and for at most this many files (a drop of ``/``
#: must not freeze anything or queue a disk).
MAX_DEPTH = 8
MAX_FILES = 2000


@dataclass(frozen=True)
class PlannedFile:
    """A file that may be uploaded: where it is, what it is and how it goes."""

    path: Path
    filename: str
    size: int
    mtime_ns: int
    kind: ItemKind
    method: Literal["direct", "multipart"]

    def as_row(self, store_id: str) -> dict[str, Any]:
        """The fields of its upload-queue row (``Repository.add_uploads``)."""
        return {"store_id": store_id, "path": os.fspath(self.path), "filename": self.filename,
                "size": self.size, "mtime_ns": self.mtime_ns, "asset_type": self.kind,
                "method": self.method}


@dataclass(frozen=True)
class Refusal:
    """A path that will not be uploaded, and why (a sentence naming it)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Plan:
    """What a drop or a file dialog gave: the files to upload and those refused."""

    files: tuple[PlannedFile, ...]
    refused: tuple[Refusal, ...]
    #: True when a folder held more than ``MAX_FILES`` files and the rest were left out.
    truncated: bool = False


def item_kind(name: str) -> ItemKind | None:
    """``video`` or ``image`` from a file name's extension, or None (not for a store)."""
    suffix = Path(name).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


def format_size(n_bytes: int) -> str:
    """A file size for people, in decimal units as the API's limits are: ``"48.2 MB"``."""
    value = float(max(0, n_bytes))
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            if unit == "bytes":
                return f"{int(value)} byte" + ("" if int(value) == 1 else "s")
            shown = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:.0f}"
            return f"{shown} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def direct_limit(kind: ItemKind) -> int:
    """The largest file of ``kind`` one ``POST /assets`` takes (the client's limit)."""
    from jockey_desktop.core.api.uploads import DIRECT_UPLOAD_LIMITS

    return DIRECT_UPLOAD_LIMITS[kind]


def largest_upload(kind: ItemKind) -> int:
    """The largest file of ``kind`` the API takes by any method."""
    from jockey_desktop.core.api.uploads import MULTIPART_LIMITS

    return MULTIPART_LIMITS[kind]


def check_file(path: Path, *, direct_above: int | None = None) -> PlannedFile | Refusal:
    """Check one file; ``direct_above`` overrides the direct-upload limit (tests and the
    benchmark use it to send small files through the multipart flow)."""
    name = path.name
    kind = item_kind(name)
    if kind is None:
        suffix = path.suffix or "(no extension)"
        return Refusal(path, f"“{name}” is not a video or an image a knowledge store takes "
                             f"({suffix}).")
    try:
        info = path.stat()
    except FileNotFoundError:
        return Refusal(path, f"“{name}” no longer exists.")
    except OSError as exc:
        return Refusal(path, f"“{name}” cannot be read ({exc.strerror or exc}).")
    if not stat.S_ISREG(info.st_mode):
        return Refusal(path, f"“{name}” is not a regular file.")
    if not os.access(path, os.R_OK):
        return Refusal(path, f"“{name}” cannot be read (no permission).")
    if info.st_size == 0:
        return Refusal(path, f"“{name}” is empty.")
    most = largest_upload(kind)
    if info.st_size > most:
        article = "an" if kind == "image" else "a"
        return Refusal(path, f"“{name}” is {format_size(info.st_size)}; {article} {kind} can "
                             f"be at most {format_size(most)}.")
    limit = direct_limit(kind) if direct_above is None else direct_above
    method: Literal["direct", "multipart"] = "direct" if info.st_size <= limit else "multipart"
    return PlannedFile(path, name, info.st_size, info.st_mtime_ns, kind, method)


def plan_paths(paths: Iterable[str | os.PathLike[str]], *,
               direct_above: int | None = None) -> Plan:
    """Walk the given files and folders (hidden files and folders skipped) and check each
    file. Blocks on the disk: call it on a worker thread."""
    files: list[PlannedFile] = []
    refused: list[Refusal] = []
    seen: set[Path] = set()
    truncated = False
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            candidates, cut = _walk(root, MAX_FILES - len(files) - len(refused))
            truncated = truncated or cut
        else:
            candidates = [root]
        for candidate in candidates:
            key = candidate.absolute()
            if key in seen:
                continue
            seen.add(key)
            if root.is_dir() and item_kind(candidate.name) is None:
                continue  # a folder's other files (subtitles, notes) are not refusals
            outcome = check_file(candidate, direct_above=direct_above)
            if isinstance(outcome, PlannedFile):
                files.append(outcome)
            else:
                refused.append(outcome)
    return Plan(tuple(files), tuple(refused), truncated)


def _walk(root: Path, budget: int) -> tuple[list[Path], bool]:
    found: list[Path] = []
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name.casefold())
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        subfolders.append(Path(entry.path))
                    continue
            except OSError:
                continue
            if item_kind(entry.name) is None:
                continue
            if len(found) >= budget:
                return found, True
            found.append(Path(entry.path))
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))
    return found, False


@dataclass(frozen=True)
class KnownFile:
    """A file already in a store or the queue: its name and size (when known)."""

    filename: str
    size: int | None


def store_files(items: Iterable[Any]) -> list[KnownFile]:
    """The files of a store's items (``KnowledgeStoreItem``s), from their system metadata."""
    known = []
    for item in items:
        system: Mapping[str, Any] = getattr(item, "system_metadata", {}) or {}
        name = system.get("filename")
        size = system.get("size")
        if isinstance(name, str) and name:
            known.append(KnownFile(name, size if isinstance(size, int) else None))
    return known


def find_duplicates(files: Sequence[PlannedFile],
                    known: Iterable[KnownFile]) -> list[PlannedFile]:
    """The planned files whose name (and size, when both are known) match a known file."""
    by_name: dict[str, list[int | None]] = {}
    for entry in known:
        by_name.setdefault(entry.filename.casefold(), []).append(entry.size)
    duplicates = []
    for planned in files:
        sizes = by_name.get(planned.filename.casefold())
        if sizes is not None and any(s is None or s == planned.size for s in sizes):
            duplicates.append(planned)
    return duplicates


def source_changed(path: str | os.PathLike[str], size: int | None,
                   mtime_ns: int | None) -> str | None:
    """Why the file at ``path`` is no longer the one queued (a sentence), or None."""
    name = Path(path).name
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        return f"“{name}” was moved or deleted."
    except OSError as exc:
        return f"“{name}” cannot be read any more ({exc.strerror or exc})."
    if size is not None and info.st_size != size:
        return f"“{name}” changed since it was queued (its size is different)."
    if mtime_ns is not None and info.st_mtime_ns != mtime_ns:
        return f"“{name}” was modified since it was queued."
    return None


__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_FILES",
    "VIDEO_EXTENSIONS",
    "ItemKind",
    "KnownFile",
    "Plan",
    "PlannedFile",
    "Refusal",
    "check_file",
    "direct_limit",
    "find_duplicates",
    "format_size",
    "item_kind",
    "largest_upload",
    "plan_paths",
    "source_changed",
    "store_files",
]
