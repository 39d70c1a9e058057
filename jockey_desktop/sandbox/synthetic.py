"""Store items built from assets: the served item object plus what the answer engine may cite.

A sample asset added to a store brings its sample video's title and moments along. Any other
upload gets honest synthetic moments: the sandbox never looks at the picture or the sound, so
each moment says in words that only the file name, the length and the user's metadata are
known — and those words (title, file name, metadata values) are what the engine can match a
question against and cite.
"""

from __future__ import annotations

import re
from typing import Any

from jockey_desktop.core.timecode import format_timestamp
from jockey_desktop.sandbox.assets import Asset
from jockey_desktop.sandbox.data import Moment, Video
from jockey_desktop.sandbox.ids import rfc3339

_WORDS = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_MAX_TAGS = 8
_MAX_METADATA_TEXT = 240


def title_for(asset: Asset, metadata: dict[str, Any]) -> str:
    """The item's title: a string ``title`` in its metadata, else the file name made readable."""
    given = metadata.get("title")
    if isinstance(given, str) and given.strip():
        return given.strip()
    if asset.video is not None:
        return asset.video.title
    stem = asset.filename.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    return (words[:1].upper() + words[1:]) if words else "Untitled upload"


def system_metadata(asset: Asset, asset_type: str) -> dict[str, Any]:
    """The item's ``system_metadata`` (only the facts that are known)."""
    data: dict[str, Any] = {"asset_type": asset_type, "filename": asset.filename}
    facts: tuple[tuple[str, Any], ...]
    if asset_type == "image":
        facts = (("width", asset.width), ("height", asset.height), ("codec_name", None),
                 ("size", asset.size))
    else:
        facts = (("duration", asset.duration), ("fps", asset.fps), ("width", asset.width),
                 ("height", asset.height), ("codec_name", asset.codec), ("size", asset.size))
    data.update({key: value for key, value in facts if value is not None})
    return data


def _metadata_text(metadata: dict[str, Any]) -> str:
    pairs = []
    for key, value in metadata.items():
        if key == "title":
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        pairs.append(f"{key}: {shown}")
    text = "; ".join(pairs)
    return text if len(text) <= _MAX_METADATA_TEXT else text[:_MAX_METADATA_TEXT] + "…"


def _tags(title: str, metadata: dict[str, Any]) -> tuple[str, ...]:
    texts = [title]
    for value in metadata.values():
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts.extend(value)
    words = [w.casefold() for text in texts for w in _WORDS.findall(text)]
    return tuple(dict.fromkeys(words))[:_MAX_TAGS]


def _synthetic_moments(item_id: str, asset: Asset, asset_type: str, title: str,
                       metadata: dict[str, Any]) -> tuple[Moment, ...]:
    known = f"its file name ({asset.filename})"
    extra = _metadata_text(metadata)
    tags = _tags(title, metadata)
    if asset_type == "image":
        about = known + (f" and its metadata ({extra})" if extra else "")
        return (Moment(id=f"{item_id}#0", item_id=item_id, start=0.0, end=0.0,
                       description=f"The image “{title}”. The sandbox has not looked at it, so "
                                   f"it knows only {about}.",
                       transcript=(), tags=tags),)
    duration = float(asset.duration or 0.0)
    if duration <= 0:
        return ()  # nothing to cite in a video of unknown length (it fails indexing anyway)
    length = "approximate length" if asset.duration_estimated else "length"
    about = f"{known}, its {length} ({format_timestamp(duration)})"
    about += f" and its metadata ({extra})" if extra else ""
    labels: tuple[str, ...]
    if duration >= 30:
        labels = ("The opening", "The middle", "The closing part")
    elif duration >= 10:
        labels = ("The first half", "The second half")
    else:
        labels = ("The whole",)
    step = duration / len(labels) if duration > 0 else 0.0
    moments = []
    for index, label in enumerate(labels):
        start = round(index * step, 1)
        end = round(duration if index == len(labels) - 1 else (index + 1) * step, 1)
        if end <= start:
            end = start + 0.1
        moments.append(Moment(
            id=f"{item_id}#{index}", item_id=item_id, start=start, end=end,
            description=f"{label} of “{title}”. The sandbox has not watched this upload, so "
                        f"it knows only {about}.",
            transcript=(), tags=tags))
    return tuple(moments)


def build_item(item_id: str, asset: Asset, asset_type: str, metadata: dict[str, Any],
               created: float) -> Video:
    """A new ``queued`` item for ``asset`` with the moments the engine may cite once ready."""
    title = title_for(asset, metadata)
    stamp = rfc3339(created)
    api = {"_id": item_id, "asset_id": asset.id, "asset_type": asset_type, "status": "queued",
           "metadata": dict(metadata), "system_metadata": system_metadata(asset, asset_type),
           "created_at": stamp, "updated_at": stamp}
    if asset.video is not None and asset_type == "video":
        # A sample video added again: the same moments, now under this item's id.
        moments = tuple(Moment(id=f"{item_id}#{index}", item_id=item_id, start=m.start,
                               end=m.end, description=m.description, transcript=m.transcript,
                               tags=m.tags)
                        for index, m in enumerate(asset.video.moments))
        duration = asset.video.duration
    else:
        moments = _synthetic_moments(item_id, asset, asset_type, title, metadata)
        duration = 0.0 if asset_type == "image" else float(asset.duration or 0.0)
    return Video(id=item_id, title=title, status="queued", duration=duration, api=api,
                 moments=moments)
