"""Multipart upload sessions of the sandbox (jockey-api.md §7, SDK ``multipart_upload``).

A session reserves an asset id and a sparse ``<upload_id>.part`` file of ``total_size``
bytes. Each chunk (numbered from 1, ``chunk_size`` bytes except the last) is PUT to a
presigned URL ``/upload-chunks/<token>`` served by the sandbox itself, outside the API prefix
and without ``x-api-key``. A URL is single-use, names one chunk and expires
(``UploadLimits.upload_url_ttl``); a PUT writes the bytes at the chunk's offset and answers an
``ETag`` (the quoted MD5 of the bytes). Reporting chunks with their ETags (in batches, any
order, duplicates counted) completes them; when every chunk is complete the part file becomes
the asset's file and the asset starts processing. A session expires after
``UploadLimits.upload_session_ttl`` (24 h); its asset then fails.

Sessions, chunk states and URL tokens are persisted with a state dir (atomic JSON per
session), so a restarted sandbox resumes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jockey_desktop.core.storage.export import write_file_atomically
from jockey_desktop.sandbox.assets import ASSET_ID, Asset, AssetStore, UploadLimits, new_asset_id
from jockey_desktop.sandbox.guarded import Guarded
from jockey_desktop.sandbox.ids import rfc3339
from jockey_desktop.sandbox.validation import ApiError

log = logging.getLogger(__name__)

CHUNK_PREFIX = "/upload-chunks/"
#: The headers every session gives; each also gets a :data:`SESSION_HEADER` of its own.
UPLOAD_HEADERS = {"Content-Type": "application/octet-stream"}
#: A header only one session's chunk PUTs carry (its value is random per session), as a
#: real presigned URL signs headers of its own (encryption, checksums): a client that does
#: not send the session's ``upload_headers`` exactly is refused like a signature mismatch.
SESSION_HEADER = "x-sandbox-upload-tag"
#: ``POST …/presigned-urls`` hands out at most this many URLs at once.
MAX_URLS_PER_REQUEST = 50


@dataclass
class Chunk:
    """What is known about one chunk."""

    size: int = 0
    etag: str | None = None
    uploaded_at: float | None = None
    reported_at: float | None = None
    error: str | None = None
    updated_at: float = 0.0

    @property
    def status(self) -> str:
        """``completed`` once reported, ``failed`` after a failed PUT, else ``pending``."""
        if self.reported_at is not None:
            return "completed"
        return "failed" if self.error else "pending"


@dataclass
class Token:
    """One presigned chunk URL."""

    upload_id: str
    chunk_index: int
    expires_at: float
    used: bool = False


@dataclass
class Upload:
    """One multipart upload session."""

    id: str
    asset_id: str
    filename: str
    type: str
    total_size: int
    chunk_size: int
    enable_hls: bool
    enable_thumbnail: bool
    user_metadata: dict[str, Any] | None
    created_at: float
    expires_at: float
    updated_at: float
    completed: bool = False
    #: True once an expired session's asset was failed and its part file deleted.
    abandoned: bool = False
    chunks: dict[int, Chunk] = field(default_factory=dict)
    #: The value of this session's :data:`SESSION_HEADER` ("" for a session saved before
    #: sessions had one: only :data:`UPLOAD_HEADERS` are required of it).
    tag: str = ""

    def upload_headers(self) -> dict[str, str]:
        """The headers each chunk PUT of this session must carry, exactly."""
        headers = dict(UPLOAD_HEADERS)
        if self.tag:
            headers[SESSION_HEADER] = self.tag
        return headers

    @property
    def total_chunks(self) -> int:
        """ceil(total_size / chunk_size)."""
        return max(1, math.ceil(self.total_size / self.chunk_size))

    def chunk_length(self, index: int) -> int:
        """The exact size of chunk ``index`` (the last one may be smaller)."""
        if index < self.total_chunks:
            return self.chunk_size
        return self.total_size - self.chunk_size * (self.total_chunks - 1)

    def status(self, now: float) -> str:
        """``completed``, ``expired`` or ``active``."""
        if self.completed:
            return "completed"
        return "expired" if now > self.expires_at else "active"

    def chunk(self, index: int) -> Chunk:
        """The state of chunk ``index`` (created on first use)."""
        return self.chunks.setdefault(index, Chunk())

    def completed_count(self) -> int:
        """Chunks reported complete."""
        return sum(1 for c in self.chunks.values() if c.reported_at is not None)


class UploadStore(Guarded):
    """Thread-safe multipart upload sessions and their presigned URL tokens."""

    def __init__(self, state_dir: Path | None, files_dir: Path, limits: UploadLimits,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        super().__init__(clock)
        self._uploads: dict[str, Upload] = {}
        self._tokens: dict[str, Token] = {}
        self._dir = Path(state_dir) / "resources" / "uploads" if state_dir else None
        self.files_dir = self._dir or files_dir
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    # ----------------------------------------------------------------- persistence
    def _load(self) -> None:
        if self._dir is None:
            return
        for path in sorted(self._dir.glob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                chunks = {int(k): Chunk(**v) for k, v in raw.pop("chunks").items()}
                tokens = {k: Token(**v) for k, v in raw.pop("tokens").items()}
                upload = Upload(**raw, chunks=chunks)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("ignoring unreadable upload file %s: %s", path.name, exc)
                continue
            self._uploads[upload.id] = upload
            self._tokens.update(tokens)

    def save(self, upload: Upload) -> None:
        """Persist one session with its tokens (atomically)."""
        if self._dir is None:
            return
        with self._lock:
            raw = asdict(upload)
            raw["chunks"] = {str(k): v for k, v in raw["chunks"].items()}
            raw["tokens"] = {k: asdict(t) for k, t in self._tokens.items()
                             if t.upload_id == upload.id}
            write_file_atomically(self._dir / f"{upload.id}.json", raw)

    def part_path(self, upload_id: str) -> Path:
        """The session's sparse file (ids are 24 hex characters)."""
        if not ASSET_ID.match(upload_id):
            raise ValueError("not an upload id")
        return self.files_dir / f"{upload_id}.part"

    # ----------------------------------------------------------------- sessions
    def create(self, filename: str, kind: str, total_size: int, enable_hls: bool,
               enable_thumbnail: bool, user_metadata: dict[str, Any] | None) -> Upload:
        """A new active session with its sparse part file."""
        now = self._clock()
        upload = Upload(id=new_asset_id(), asset_id=new_asset_id(), filename=filename,
                        type=kind, total_size=total_size, chunk_size=self.limits.chunk_size,
                        enable_hls=enable_hls, enable_thumbnail=enable_thumbnail,
                        user_metadata=user_metadata, created_at=now,
                        expires_at=now + self.limits.upload_session_ttl, updated_at=now,
                        tag=secrets.token_hex(8))
        with self.part_path(upload.id).open("wb") as fh:
            fh.truncate(total_size)  # sparse: no disk used until chunks arrive
        with self._lock:
            self._uploads[upload.id] = upload
        return upload

    def get(self, upload_id: str) -> Upload:
        """The session, or 400 for a malformed id and 404 for an unknown one."""
        if not ASSET_ID.match(upload_id):
            raise ApiError(400, "parameter_invalid", "The `upload_id` parameter is invalid.")
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise ApiError(404, "resource_not_exist",
                           f"The upload session `{upload_id}` does not exist.")
        return upload

    def incomplete(self) -> list[Upload]:
        """Active sessions, newest first."""
        now = self._clock()
        with self._lock:
            return sorted((u for u in self._uploads.values() if u.status(now) == "active"),
                          key=lambda u: (u.created_at, u.id), reverse=True)

    def settle_expired(self, assets: AssetStore) -> None:
        """Fail the assets of sessions that expired before completing; drop their files."""
        now = self._clock()
        with self._lock:
            for upload in self._uploads.values():
                if upload.abandoned or upload.status(now) != "expired":
                    continue
                upload.abandoned = True
                with contextlib.suppress(OSError, ValueError):
                    self.part_path(upload.id).unlink()

                def fail(asset: Asset) -> None:
                    asset.error = ("The multipart upload expired before all of its chunks "
                                   "were reported.")
                    asset.ready_at = now

                assets.finish(upload.asset_id, fail)
                for token in [t for t, v in self._tokens.items() if v.upload_id == upload.id]:
                    del self._tokens[token]
                self.save(upload)

    # ----------------------------------------------------------------- URLs
    def issue(self, upload: Upload, start: int, count: int) -> list[tuple[int, str, float]]:
        """New single-use URL tokens for chunks ``start`` … ``start + count - 1``."""
        expires = self._clock() + self.limits.upload_url_ttl
        issued = []
        with self._lock:
            for index in range(start, start + count):
                token = secrets.token_urlsafe(24)
                self._tokens[token] = Token(upload.id, index, expires)
                issued.append((index, token, expires))
            self.save(upload)
        return issued

    def url_entries(self, root: str, issued: list[tuple[int, str, float]]
                    ) -> list[dict[str, Any]]:
        """PresignedUrlChunk objects for issued tokens."""
        return [{"chunk_index": index, "url": f"{root}{CHUNK_PREFIX}{token}",
                 "expires_at": rfc3339(expires)} for index, token, expires in issued]

    def claim(self, token_text: str, expire_now: bool) -> tuple[Upload, int, Token]:
        """The session and chunk of a presigned URL that may be used now, or a 403/409."""
        with self._lock:
            token = self._tokens.get(token_text)
            if token is None:
                raise ApiError(403, "access_denied", "This upload URL is not valid.")
            if expire_now:
                token.expires_at = min(token.expires_at, self._clock() - 1)
            if token.used:
                raise ApiError(403, "access_denied",
                               "This upload URL was already used; each URL works once. "
                               "Request a new one.")
            if self._clock() > token.expires_at:
                raise ApiError(403, "request_expired",
                               "This upload URL has expired. Request new URLs with "
                               "POST /assets/multipart-uploads/{upload_id}/presigned-urls.")
            upload = self._uploads.get(token.upload_id)
            if upload is None or upload.status(self._clock()) != "active":
                raise ApiError(403, "access_denied", "The upload session is no longer active.")
            if upload.chunk(token.chunk_index).reported_at is not None:
                raise ApiError(409, "chunk_already_completed",
                               f"Chunk {token.chunk_index} was already reported complete.")
            return upload, token.chunk_index, token

    def write_chunk(self, upload: Upload, index: int, token: Token,
                    blocks: Iterator[bytes]) -> str:
        """Write a chunk's bytes (from ``blocks``) at its offset; returns the quoted ETag.

        The body must be exactly the chunk's size (else 400 and the chunk is marked failed).
        """
        expected = upload.chunk_length(index)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with self.part_path(upload.id).open("r+b") as fh:
            fh.seek((index - 1) * upload.chunk_size)
            for block in blocks:
                size += len(block)
                if size > expected:
                    break
                digest.update(block)
                fh.write(block)
        if size != expected:
            which = "larger" if size > expected else "smaller"
            self.fail_chunk(upload, index, f"The chunk was {which} than {expected} bytes.")
            raise ApiError(400, "invalid_request",
                           f"Chunk {index} must be exactly {expected} bytes.")
        etag = f'"{digest.hexdigest()}"'
        with self._lock:
            now = self._clock()
            token.used = True
            chunk = upload.chunk(index)
            chunk.size, chunk.etag, chunk.uploaded_at = size, etag, now
            chunk.error, chunk.updated_at = None, now
            upload.updated_at = now
            self.save(upload)
        return etag

    def fail_chunk(self, upload: Upload, index: int, error: str) -> None:
        """Mark a chunk ``failed`` (its earlier bytes, if any, are no longer trusted)."""
        with self._lock:
            now = self._clock()
            chunk = upload.chunk(index)
            chunk.etag, chunk.uploaded_at, chunk.error, chunk.updated_at = None, None, error, now
            upload.updated_at = now
            self.save(upload)

    # ----------------------------------------------------------------- reporting
    def report(self, upload: Upload, entries: list[tuple[int, str, int]]) -> tuple[int, int]:
        """Complete the reported chunks; returns (processed, duplicates). All-or-nothing:
        the whole batch is checked before any chunk changes."""
        with self._lock:
            seen: set[int] = set()
            processed = duplicates = 0
            for index, proof, size in entries:
                chunk = upload.chunks.get(index)
                if index in seen or (chunk is not None and chunk.reported_at is not None):
                    continue
                seen.add(index)
                if chunk is None or chunk.etag is None:
                    raise ApiError(400, "parameter_invalid",
                                   f"Chunk {index} has not been uploaded yet.")
                if proof.strip().strip('"').lower() != chunk.etag.strip('"'):
                    raise ApiError(400, "parameter_invalid",
                                   f"The proof of chunk {index} does not match its ETag.")
                if size != chunk.size:
                    raise ApiError(400, "parameter_invalid",
                                   f"Chunk {index} is {chunk.size} bytes, not {size}.")
            now = self._clock()
            done: set[int] = set()
            for index, _proof, _size in entries:
                chunk = upload.chunk(index)
                if index in done or chunk.reported_at is not None:
                    duplicates += 1
                    continue
                chunk.reported_at, chunk.updated_at = now, now
                done.add(index)
                processed += 1
            upload.updated_at = now
            if upload.completed_count() == upload.total_chunks:
                upload.completed = True
                for token in [t for t, v in self._tokens.items() if v.upload_id == upload.id]:
                    del self._tokens[token]
            self.save(upload)
            return processed, duplicates

    def finish(self, upload: Upload, data_path: Path) -> None:
        """Move the completed file into place as the asset's data file."""
        os.replace(self.part_path(upload.id), data_path)


def summary(upload: Upload, now: float) -> dict[str, Any]:
    """An IncompleteUploadSummary."""
    return {"upload_id": upload.id, "status": upload.status(now),
            "total_size": upload.total_size, "chunk_size": upload.chunk_size,
            "total_chunks": upload.total_chunks, "created_at": rfc3339(upload.created_at),
            "expires_at": rfc3339(upload.expires_at)}


def chunk_info(index: int, chunk: Chunk) -> dict[str, Any]:
    """A ChunkInfo."""
    data: dict[str, Any] = {
        "index": index, "status": chunk.status,
        "uploaded_at": rfc3339(chunk.reported_at) if chunk.reported_at else None,
        "updated_at": rfc3339(chunk.updated_at)}
    if chunk.error and chunk.status == "failed":
        data["error"] = chunk.error
    return data
