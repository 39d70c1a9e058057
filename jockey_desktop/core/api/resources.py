"""Records of the management, upload, media and search endpoints (jockey-api.md §7).

Frozen dataclasses built leniently from JSON, like those in :mod:`.models`: unknown keys are
ignored, missing optional ones become None, and ``raw`` keeps what the server sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jockey_desktop.core.api.jsonfields import opt_float, opt_int, opt_str
from jockey_desktop.core.api.metadata import MetadataValue, metadata_from_json


@dataclass(frozen=True)
class ItemCollection:
    """A named set of items within a knowledge store (deleting it keeps the items)."""

    id: str
    knowledge_store_id: str | None = None
    name: str = ""
    description: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    member_count: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemCollection:
        """Build from the API object (``_id``; ``id`` is accepted too)."""
        return cls(
            id=_id(data),
            knowledge_store_id=opt_str(data.get("knowledge_store_id")),
            name=str(data.get("name") or ""),
            description=opt_str(data.get("description")),
            metadata=metadata_from_json(data.get("metadata")),
            member_count=opt_int(data.get("member_count")),
            created_at=opt_str(data.get("created_at")),
            updated_at=opt_str(data.get("updated_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class SearchMatch:
    """One matching clip of a video hit (an image hit has none)."""

    start_sec: float | None
    end_sec: float | None
    modalities: tuple[str, ...] = ()
    transcription: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """One result of a store search: an item, its rank, and the clips that matched.

    Hits carry no media URLs: resolve them through the item's asset (``get_asset``).
    """

    item_id: str
    asset_type: str | None
    rank: int | None
    matches: tuple[SearchMatch, ...] = ()
    user_metadata: dict[str, MetadataValue] = field(default_factory=dict)
    system_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchHit:
        """Build from one entry of the search response's ``data``."""
        matches = []
        for match in _dicts(data.get("matches")):
            modalities = match.get("modalities")
            matches.append(SearchMatch(
                opt_float(match.get("start_sec")), opt_float(match.get("end_sec")),
                tuple(m for m in modalities if isinstance(m, str))
                if isinstance(modalities, list) else (),
                opt_str(match.get("transcription")),
            ))
        metadata = data.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        system = metadata.get("system")
        return cls(
            item_id=str(data.get("item_id") or ""),
            asset_type=opt_str(data.get("asset_type")),
            rank=opt_int(data.get("rank")),
            matches=tuple(matches),
            user_metadata=metadata_from_json(metadata.get("user")),
            system_metadata=dict(system) if isinstance(system, Mapping) else {},
        )


@dataclass(frozen=True)
class SearchPage:
    """One page of search hits; pass ``next_page_token`` back for the next (None: last)."""

    hits: tuple[SearchHit, ...]
    next_page_token: str | None = None


@dataclass(frozen=True)
class Asset:
    """An uploaded file (24 hex id). ``status`` is ``processing``, ``ready`` or ``failed``."""

    id: str
    status: str | None = None
    method: str | None = None
    filename: str | None = None
    file_type: str | None = None
    created_at: str | None = None
    user_metadata: dict[str, MetadataValue] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_ready(self) -> bool:
        """True once the asset can be added to a store."""
        return self.status == "ready"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Asset:
        """Build from the API object."""
        return cls(**_asset_fields(data))


@dataclass(frozen=True)
class AssetDetail(Asset):
    """An asset with its processing details: the HLS manifest and thumbnail (signed URLs,
    None until ready), size in bytes, duration in seconds, and on failure the server's
    ``error_message`` (show it, don't parse it)."""

    hls_url: str | None = None
    hls_status: str | None = None
    thumbnail_url: str | None = None
    thumbnail_status: str | None = None
    duration: float | None = None
    size: int | None = None
    error_message: str | None = None
    technical_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssetDetail:
        """Build from ``GET /assets/{id}``."""
        hls = _dict(data.get("hls"))
        thumbnail = _dict(data.get("thumbnail"))
        return cls(
            **_asset_fields(data),
            hls_url=opt_str(hls.get("manifest_url")),
            hls_status=opt_str(hls.get("status")),
            thumbnail_url=opt_str(thumbnail.get("representative_url")),
            thumbnail_status=opt_str(thumbnail.get("status")),
            duration=opt_float(data.get("duration")),
            size=opt_int(data.get("size")),
            error_message=opt_str(_dict(data.get("error")).get("message")),
            technical_metadata=_dict(data.get("technical_metadata")),
        )


@dataclass(frozen=True)
class TranscriptSentence:
    """One sentence of a transcription: from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcription:
    """An asset's transcription: ``status`` ``pending``, ``processing``, ``ready`` or
    ``failed`` (``error_message`` then says why); ``sentences`` once ready."""

    status: str
    sentences: tuple[TranscriptSentence, ...] = ()
    error_message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transcription:
        """Build from ``GET /assets/{id}/transcription``; entries without times are dropped."""
        sentences = []
        for entry in _dicts(data.get("sentences")):
            start, end = opt_float(entry.get("start")), opt_float(entry.get("end"))
            text = entry.get("value", entry.get("text"))
            if start is not None and end is not None and isinstance(text, str):
                sentences.append(TranscriptSentence(start, end, text))
        error = data.get("error")
        message = error.get("message") if isinstance(error, Mapping) else error
        return cls(str(data.get("status") or ""), tuple(sentences), opt_str(message))


@dataclass(frozen=True)
class UploadUrl:
    """A presigned URL for one chunk (``chunk_index`` from 1): single use, about an hour."""

    chunk_index: int
    url: str
    expires_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadUrl | None:
        """None when the entry lacks its index or URL."""
        index = opt_int(data.get("chunk_index"))
        url = opt_str(data.get("url"))
        if index is None or url is None:
            return None
        return cls(index, url, opt_str(data.get("expires_at")))


def upload_urls_from_json(data: Any) -> tuple[UploadUrl, ...]:
    """The usable entries of an ``upload_urls`` array, in chunk order."""
    urls = (UploadUrl.from_json(d) for d in _dicts(data))
    return tuple(sorted((u for u in urls if u is not None), key=lambda u: u.chunk_index))


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload session (valid 24 h): PUT chunk N's bytes to its URL with exactly
    ``upload_headers``, keep the ETags, report them; renew URLs that expired."""

    upload_id: str
    asset_id: str
    upload_urls: tuple[UploadUrl, ...]
    upload_headers: dict[str, str]
    chunk_size: int
    total_chunks: int
    expires_at: str | None = None

    def chunk_span(self, chunk_index: int, total_size: int) -> tuple[int, int]:
        """``(offset, length)`` of chunk ``chunk_index`` (from 1) in a file of ``total_size``."""
        offset = (chunk_index - 1) * self.chunk_size
        return offset, max(0, min(self.chunk_size, total_size - offset))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MultipartUpload:
        """Build from ``POST /assets/multipart-uploads``."""
        headers = data.get("upload_headers")
        return cls(
            upload_id=str(data.get("upload_id") or ""),
            asset_id=str(data.get("asset_id") or ""),
            upload_urls=upload_urls_from_json(data.get("upload_urls")),
            upload_headers={str(k): str(v) for k, v in headers.items()}
            if isinstance(headers, Mapping) else {},
            chunk_size=opt_int(data.get("chunk_size")) or 0,
            total_chunks=opt_int(data.get("total_chunks")) or 0,
            expires_at=opt_str(data.get("expires_at")),
        )


@dataclass(frozen=True)
class CompletedChunk:
    """A chunk that was uploaded: its index, the ETag the upload host returned, its size."""

    chunk_index: int
    etag: str
    chunk_size: int

    def to_json(self) -> dict[str, Any]:
        """The ``completed_chunks`` entry."""
        return {"chunk_index": self.chunk_index, "proof": self.etag, "proof_type": "etag",
                "chunk_size": self.chunk_size}


@dataclass(frozen=True)
class ReportResult:
    """The answer to a batch of reported chunks; ``url`` is set once the upload is whole."""

    asset_id: str | None
    processed_chunks: int | None
    duplicate_chunks: int | None
    total_completed: int | None
    url: str | None = None

    @property
    def is_complete(self) -> bool:
        """True when the server has every chunk (the asset then processes)."""
        return self.url is not None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportResult:
        """Build from ``POST /assets/multipart-uploads/{id}``."""
        return cls(opt_str(data.get("asset_id")), opt_int(data.get("processed_chunks")),
                   opt_int(data.get("duplicate_chunks")), opt_int(data.get("total_completed")),
                   opt_str(data.get("url")))


@dataclass(frozen=True)
class ChunkStatus:
    """One chunk of an upload session: ``completed``, ``pending`` or ``failed`` (``error``)."""

    index: int
    status: str | None
    error: str | None = None


@dataclass(frozen=True)
class MultipartStatus:
    """Where an upload session stands: ``status`` ``active``, ``completed``, ``failed`` or
    ``expired``. From the status endpoint the chunk counts and ``chunks`` are filled; from the
    list of incomplete uploads, ``chunk_size`` and ``total_chunks``."""

    upload_id: str
    status: str | None
    total_size: int | None = None
    uploaded_size: int | None = None
    chunk_size: int | None = None
    total_chunks: int | None = None
    chunks_completed: int | None = None
    chunks_failed: int | None = None
    chunks_pending: int | None = None
    chunks: tuple[ChunkStatus, ...] = ()
    created_at: str | None = None
    expires_at: str | None = None

    def completed_indexes(self) -> frozenset[int]:
        """The chunks the server already has (skip them when resuming)."""
        return frozenset(c.index for c in self.chunks if c.status == "completed")

    @classmethod
    def from_json(cls, data: Mapping[str, Any],
                  chunks: tuple[ChunkStatus, ...] = ()) -> MultipartStatus:
        """Build from the status endpoint (chunks gathered over its pages) or a list entry."""
        return cls(
            upload_id=str(data.get("upload_id") or ""),
            status=opt_str(data.get("status")),
            total_size=opt_int(data.get("total_size")),
            uploaded_size=opt_int(data.get("uploaded_size")),
            chunk_size=opt_int(data.get("chunk_size")),
            total_chunks=opt_int(data.get("total_chunks")),
            chunks_completed=opt_int(data.get("chunks_completed")),
            chunks_failed=opt_int(data.get("chunks_failed")),
            chunks_pending=opt_int(data.get("chunks_pending")),
            chunks=chunks,
            created_at=opt_str(data.get("created_at")),
            expires_at=opt_str(data.get("expires_at")),
        )


def chunk_statuses_from_json(data: Any) -> list[ChunkStatus]:
    """The entries of an ``uploaded_chunks`` array that carry an index."""
    result = []
    for entry in _dicts(data):
        index = opt_int(entry.get("index", entry.get("chunk_index")))
        if index is not None:
            result.append(ChunkStatus(index, opt_str(entry.get("status")),
                                      opt_str(entry.get("error"))))
    return result


# --- lenient field readers ---------------------------------------------------------------


def _asset_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _id(data),
        "status": opt_str(data.get("status")),
        "method": opt_str(data.get("method")),
        "filename": opt_str(data.get("filename")),
        "file_type": opt_str(data.get("file_type")),
        "created_at": opt_str(data.get("created_at")),
        "user_metadata": metadata_from_json(data.get("user_metadata")),
        "raw": dict(data),
    }


def _id(data: Mapping[str, Any]) -> str:
    return str(data.get("_id") or data.get("id") or "")


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


__all__ = [
    "Asset",
    "AssetDetail",
    "ChunkStatus",
    "CompletedChunk",
    "ItemCollection",
    "MultipartStatus",
    "MultipartUpload",
    "ReportResult",
    "SearchHit",
    "SearchMatch",
    "SearchPage",
    "TranscriptSentence",
    "Transcription",
    "UploadUrl",
]
