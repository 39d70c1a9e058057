"""Routes of multipart uploads (see :mod:`jockey_desktop.sandbox.uploads`).

``POST /assets/multipart-uploads`` (201), ``GET /assets/multipart-uploads`` (incomplete
sessions), ``GET``/``POST /assets/multipart-uploads/{upload_id}`` (status / report chunks),
``POST …/{upload_id}/presigned-urls``, and the presigned ``PUT /upload-chunks/<token>``.

A chunk PUT needs no ``x-api-key`` (the real URLs are on another host and carry their own
authorisation); one that carries it still works but is counted in
``SandboxServer.chunk_puts_with_key``, so client tests can assert that never happens. Each
session gives ``upload_headers`` of its own (``Content-Type`` and a random
``x-sandbox-upload-tag``); a chunk PUT without every one of them, with the same value, is
refused with 403 ``signature_mismatch`` and the URL stays usable, as a presigned URL signed
with those headers does — so a client that forgets them (after a restart) is caught.
Errors of the chunk URLs are JSON bodies too: 403 ``access_denied`` (unknown or used URL),
403 ``request_expired``, 409 ``chunk_already_completed``, 400 for a body of the wrong size.
"""

from __future__ import annotations

from typing import Any

from jockey_desktop.sandbox.asset_routes import fail_message, too_large
from jockey_desktop.sandbox.assets import Asset, AssetStore
from jockey_desktop.sandbox.bodies import (
    ITEM_METADATA,
    bool_field,
    int_field,
    json_object,
    text_field,
    validate_metadata,
)
from jockey_desktop.sandbox.faults import FaultKind
from jockey_desktop.sandbox.formdata import BLOCK
from jockey_desktop.sandbox.handlers import Handler, Request, plain_page
from jockey_desktop.sandbox.ids import rfc3339
from jockey_desktop.sandbox.probe import mime_for, probe_file
from jockey_desktop.sandbox.uploads import (
    MAX_URLS_PER_REQUEST,
    Upload,
    UploadStore,
    chunk_info,
    summary,
)
from jockey_desktop.sandbox.validation import ApiError, invalid, missing

_MAX_REPORTED = 1_000


def _uploads(h: Handler) -> UploadStore:
    store: UploadStore = h.app.uploads
    store.settle_expired(h.app.assets)
    return store


def create_upload(h: Handler, r: Request) -> None:
    """``POST /assets/multipart-uploads`` → 201 with the first presigned URLs."""
    app = h.app
    limits = app.upload_limits
    data = json_object(r.body, ("filename", "type", "total_size", "enable_hls",
                                "enable_thumbnail", "user_metadata"))
    filename = text_field(data, "filename", required=True, max_chars=255) or ""
    kind = data.get("type")
    if kind is None:
        raise missing("type")
    if kind not in ("video", "audio", "image"):
        raise invalid("type", "Use `video`, `audio` or `image`.")
    total_size = int_field(data, "total_size", required=True, minimum=1)
    limit = limits.image_bytes if kind == "image" else limits.multipart_bytes
    if total_size > limit:
        error = too_large(kind, limit, "")
        raise ApiError(400, "parameter_invalid", error.message)
    metadata = (validate_metadata(data["user_metadata"], ITEM_METADATA, "user_metadata")
                if "user_metadata" in data else None) or None
    uploads = _uploads(h)
    upload = uploads.create(filename, kind, total_size,
                            bool_field(data, "enable_hls", False),
                            bool_field(data, "enable_thumbnail", False), metadata)
    assets: AssetStore = app.assets
    assets.add(Asset(id=upload.asset_id, method="multipart", filename=filename, kind=kind,
                     file_type=mime_for(filename, kind), created_at=upload.created_at,
                     enable_hls=upload.enable_hls, enable_thumbnail=upload.enable_thumbnail,
                     user_metadata=metadata))
    issued = uploads.issue(upload, 1, min(upload.total_chunks, limits.initial_upload_urls))
    h._send_json(201, {
        "upload_id": upload.id, "asset_id": upload.asset_id,
        "upload_urls": uploads.url_entries(app.root_url, issued),
        "upload_headers": upload.upload_headers(), "chunk_size": upload.chunk_size,
        "total_chunks": upload.total_chunks, "expires_at": rfc3339(upload.expires_at)})


def list_uploads(h: Handler, r: Request) -> None:
    """``GET /assets/multipart-uploads``: active sessions, newest first."""
    uploads = _uploads(h)
    now = uploads.now()
    rows = [summary(u, now) for u in uploads.incomplete()]
    h._reply_json(plain_page(rows, r.params), r.method, r.rel)


def upload_status(h: Handler, r: Request) -> None:
    """``GET /assets/multipart-uploads/{upload_id}``: status and per-chunk progress."""
    uploads = _uploads(h)
    with uploads.lock:
        upload = uploads.get(r.parts[2])
        now = uploads.now()
        infos = [chunk_info(i, c) for i, c in sorted(upload.chunks.items())]
        completed = upload.completed_count()
        failed = sum(1 for c in upload.chunks.values() if c.status == "failed")
        uploaded = sum(c.size for c in upload.chunks.values() if c.etag is not None)
        paged = plain_page(infos, r.params)
        body = {"upload_id": upload.id, "status": upload.status(now),
                "uploaded_chunks": paged["data"], "chunks_completed": completed,
                "chunks_failed": failed,
                "chunks_pending": upload.total_chunks - completed - failed,
                "page_info": paged["page_info"], "total_size": upload.total_size,
                "uploaded_size": uploaded, "created_at": rfc3339(upload.created_at),
                "updated_at": rfc3339(upload.updated_at)}
    h._reply_json(body, r.method, r.rel)


def _reported(data: dict[str, Any], upload: Upload) -> list[tuple[int, str, int]]:
    entries = data.get("completed_chunks")
    if entries is None:
        raise missing("completed_chunks")
    if not isinstance(entries, list) or not entries or len(entries) > _MAX_REPORTED:
        raise invalid("completed_chunks", f"It must be an array of 1–{_MAX_REPORTED} chunks.")
    result = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"chunk_index", "proof", "proof_type",
                                                         "chunk_size"}:
            raise invalid("completed_chunks", "Each entry is {chunk_index, proof, "
                                              'proof_type: "etag", chunk_size}.')
        index = int_field(entry, "chunk_index", minimum=1, maximum=upload.total_chunks)
        size = int_field(entry, "chunk_size", minimum=0)
        proof = entry["proof"]
        if entry["proof_type"] != "etag":
            raise invalid("completed_chunks", "`proof_type` must be `etag`.")
        if not isinstance(proof, str) or not proof.strip() or len(proof) > 200:
            raise invalid("completed_chunks", "`proof` must be the chunk's ETag.")
        result.append((index, proof, size))
    return result


def report_chunks(h: Handler, r: Request) -> None:
    """``POST /assets/multipart-uploads/{upload_id}``: report uploaded chunks by ETag."""
    app = h.app
    uploads = _uploads(h)
    data = json_object(r.body, ("completed_chunks",))
    with uploads.lock:
        upload = uploads.get(r.parts[2])
        entries = _reported(data, upload)
        if upload.status(uploads.now()) == "expired":
            raise ApiError(400, "parameter_invalid",
                           f"The upload session `{upload.id}` has expired; start a new one.")
        was_complete = upload.completed
        processed, duplicates = uploads.report(upload, entries)
        completes_now = upload.completed and not was_complete
        if completes_now:
            _become_asset(h, r, upload)
    body: dict[str, Any] = {"asset_id": upload.asset_id, "processed_chunks": processed,
                            "duplicate_chunks": duplicates,
                            "total_completed": upload.completed_count()}
    if upload.completed:
        body["url"] = f"{app.root_url}{app.media.prefix(upload.asset_id)}/original"
    h._reply_json(body, r.method, r.rel)


def _become_asset(h: Handler, r: Request, upload: Upload) -> None:
    app = h.app
    assets: AssetStore = app.assets
    path = assets.data_path(upload.asset_id)
    uploads: UploadStore = app.uploads
    uploads.finish(upload, path)
    forced = fail_message(h, r)

    def settle(asset: Asset) -> None:
        asset.apply_probe(probe_file(path, asset.filename), upload.total_size)
        asset.error = forced or asset.error
        assets.start_processing(asset)

    assets.finish(upload.asset_id, settle)


def presigned_urls(h: Handler, r: Request) -> None:
    """``POST …/{upload_id}/presigned-urls`` ``{start, count ≤ 50}``: fresh URLs."""
    app = h.app
    uploads = _uploads(h)
    data = json_object(r.body, ("start", "count"))
    upload = uploads.get(r.parts[2])
    start = int_field(data, "start", required=True, minimum=1, maximum=upload.total_chunks)
    count = int_field(data, "count", required=True, minimum=1, maximum=MAX_URLS_PER_REQUEST)
    if start + count - 1 > upload.total_chunks:
        raise invalid("count", f"The upload has only {upload.total_chunks} chunks.")
    if upload.status(uploads.now()) != "active":
        raise ApiError(400, "parameter_invalid",
                       f"The upload session `{upload.id}` is {upload.status(uploads.now())}.")
    issued = uploads.issue(upload, start, count)
    h._reply_json({"upload_id": upload.id, "start_index": start, "count": count,
                   "upload_urls": uploads.url_entries(app.root_url, issued),
                   "generated_at": rfc3339(uploads.now()),
                   "expires_at": rfc3339(issued[0][2])}, r.method, r.rel)


def put_chunk(h: Handler, r: Request) -> None:
    """``PUT /upload-chunks/<token>``: one chunk's bytes → 200 with an ``ETag``."""
    app = h.app
    if h.headers.get("x-api-key"):
        app.count_key_leak(media=False)
    if len(r.parts) != 3:
        raise ApiError(403, "access_denied", "This upload URL is not valid.")
    uploads: UploadStore = app.uploads
    expire = bool(app.faults.take(frozenset({FaultKind.EXPIRE_UPLOAD_URL}), r.method, r.rel,
                                  None))
    upload, index, token = uploads.claim(r.parts[2], expire_now=expire)
    wrong = [name for name, value in upload.upload_headers().items()
             if h.headers.get(name) != value]
    if wrong:
        # Checked before the body is read and without using the URL, like a signature.
        raise ApiError(403, "signature_mismatch",
                       "The request does not carry the upload headers this URL was signed "
                       f"with ({', '.join(wrong)}); send the session's upload_headers "
                       "exactly.")
    failing = app.faults.take(frozenset({FaultKind.FAIL_CHUNK}), r.method, r.rel, None)
    if failing:
        fault = failing[0]
        uploads.fail_chunk(upload, index, fault.message)
        raise ApiError(fault.status, "internal_error", fault.message)
    reader = h.upload_body
    assert reader is not None  # set by the server for upload routes
    expected = upload.chunk_length(index)
    if reader.length is not None and reader.length != expected:
        uploads.fail_chunk(upload, index, f"The chunk was {reader.length} bytes, not "
                                          f"{expected}.")
        raise ApiError(400, "invalid_request",
                       f"Chunk {index} must be exactly {expected} bytes.")
    etag = uploads.write_chunk(upload, index, token, iter(lambda: reader.read(BLOCK), b""))
    if reader.finished:
        h.close_connection = not h.keep_alive
    h._send_bytes(200, b"", "text/plain", {"ETag": etag})
