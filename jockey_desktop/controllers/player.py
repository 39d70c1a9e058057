"""PlayerController: what the player plays, where its media comes from, and the moment exports.

A click on a citation hands this controller the answer (``play(store_id, message, citation)``).
It works out the answer's moments (``presentation.moments``), and for the one clicked:

* **the video**: the citation's signed ``hls_url`` is registered with the loopback
  :class:`~jockey_desktop.core.media_relay.MediaRelay` at once (no network on the GUI thread,
  so the first frame comes fast) and the relay's URL goes to the player. With no usable
  ``hls_url`` the item is resolved first (item → asset, on a worker). The relay re-resolves an
  expired address by itself, once, and tells this controller (``RelayEvent``) what the user
  must read. Another moment of the same video only seeks.
* **the poster and the list's thumbnails**: from the disk cache (by item and time) or fetched
  without the key, on a worker.
* **the transcript**: the item's asset's transcription, when there is one (none: no tab, no
  error); the item also gives the frame rate the exports use.

Results of superseded requests are dropped (each new video bumps a generation). The API key is
never involved: media goes through the client's keyless media session.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from jockey_desktop.core.errors import NO_CLIENT_TEXT
from jockey_desktop.core.media_cache import ThumbnailCache, load_thumbnail
from jockey_desktop.core.media_source import (
    MediaClient,
    NoVideoError,
    VideoInfo,
    is_web_url,
    manifest_resolver,
    resolve_video,
    source_facts,
)
from jockey_desktop.core.ports import ConversationStore, Runner
from jockey_desktop.core.storage.models import Message
from jockey_desktop.presentation.moments import (
    PlayerMoment,
    answer_moments,
    conversation_moments,
    export_moments_of,
    exported_text,
    moment_of,
    step,
)

if TYPE_CHECKING:
    # The relay (http.server) is imported by the first video, not at start-up.
    from jockey_desktop.core.media_relay import MediaRelay, RelayEvent, RelaySource
    from jockey_desktop.core.moments_export import SourceFacts

log = logging.getLogger(__name__)

#: Said when a citation points at an image or a collection.
NOT_A_VIDEO = "This citation is not a moment of a video, so there is nothing to play."
#: How long a replaced video's stream stays served (ms; see ``_close_video``).
CLOSE_GRACE_MS = 20_000
#: The file "Open in the system's player" writes (an extended M3U playlist).
EXTERNAL_PLAYLIST = "open-in-player.m3u"

#: (start s, end s, text) of each transcript sentence.
Sentences = list[tuple[float, float, str]]


@dataclass
class _Video:
    """The video loaded in the player."""

    generation: int
    item_id: str
    source: RelaySource | None = None
    upstream: str | None = None
    #: The relay said it cannot go on (expired, failed): the next click reopens the video.
    broken: bool = False
    problem: str = ""


def _error_text(error: BaseException) -> str:
    """A sentence for a failure (client errors and NoVideoError are sentences already)."""
    from jockey_desktop.core.api.errors import JockeyError

    if isinstance(error, (JockeyError, NoVideoError)):
        return str(error)
    log.warning("player: unexpected error", exc_info=error)
    return "an unexpected error (the details are in the log: Help → Open logs)."


def video_details(client: MediaClient, store_id: str,
                  item_id: str) -> tuple[SourceFacts, Sentences | None]:
    """What the exports use of the item (frame rate, file name, length) and its transcript
    sentences (None when it has none). Blocking."""
    from jockey_desktop.core.api.errors import JockeyError

    item = client.get_item(store_id, item_id)
    facts = source_facts(item)
    if not item.asset_id:
        return facts, None
    try:
        transcription = client.get_transcription(item.asset_id)
    except JockeyError as error:  # no transcript is not a problem worth a message
        log.info("no transcript: %s", type(error).__name__)
        return facts, None
    if transcription is None or not transcription.sentences:
        return facts, None
    return facts, [(s.start, s.end, s.text) for s in transcription.sentences]


def external_playlist(title: str, url: str, start: float) -> str:
    """An extended M3U playlist that system players open at ``start`` (VLC reads the
    ``EXTVLCOPT`` line; others start at 0): the title and the signed manifest URL."""
    name = " ".join(title.split()).replace(",", " ")
    return (f"#EXTM3U\n#EXTINF:-1,{name}\n#EXTVLCOPT:start-time={max(0.0, start):.1f}\n"
            f"{url}\n")


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable by the user only (it holds a signed URL)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    return path


class PlayerController(QObject):
    """The player's data: moments, media addresses, posters, transcripts, exports."""

    #: The answer's moments and the index of the one to play (None: not playable).
    sig_moments = Signal(list, object)
    #: The moment now playing (a PlayerMoment).
    sig_moment = Signal(object)
    #: Play a new video: the loopback URL, the range (start s, end s or None).
    sig_load = Signal(str, float, object)
    #: Play another range of the video already loaded.
    sig_play_range = Signal(float, object)
    #: Stop playing (the connection changed).
    sig_stop = Signal()
    #: The poster of the moment playing (image bytes, or None).
    sig_poster = Signal(object)
    #: A moment's thumbnail for the list (index, image bytes).
    sig_thumbnail = Signal(int, bytes)
    #: The video's transcript (Sentences), or None.
    sig_transcript = Signal(object)
    #: A sentence the player shows ("" clears it).
    sig_problem = Signal(str)
    #: Something for the status bar.
    sig_notice = Signal(str)
    #: Open this local file with the system (the external-player playlist).
    sig_open_file = Signal(str)
    #: An export was written (what went where, and whether it carries a caution the user
    #: must read: videos timed at a guessed rate) or failed (why not).
    sig_exported = Signal(str, bool)
    sig_export_failed = Signal(str)
    #: Relay events arrive on the relay's threads; this hands them to the GUI thread.
    _sig_relay_event = Signal(object)

    def __init__(self, runner: Runner, cache: ThumbnailCache, work_dir: Path,
                 repo: ConversationStore | None = None, parent: QObject | None = None,
                 *, storage_runner: Runner | None = None,
                 relay_factory: Callable[..., MediaRelay] | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        # A whole conversation is a slow read: it goes where the app's slow reads go.
        self._storage_runner = storage_runner or runner
        self._cache = cache
        self._work_dir = Path(work_dir)
        self._repo = repo
        self._relay_factory = relay_factory
        self._relay: MediaRelay | None = None
        self._client: MediaClient | None = None
        self._store_id: str | None = None
        self._moments: list[PlayerMoment] = []
        self._index: int | None = None
        self._video: _Video | None = None
        self._generation = 0
        self._list_generation = 0
        self._sources: dict[str, SourceFacts] = {}
        self._shut_down = False
        self._sig_relay_event.connect(self._on_relay_event)

    # -- state --------------------------------------------------------------------------------

    def moments(self) -> list[PlayerMoment]:
        """The moments of the answer being played."""
        return list(self._moments)

    def current_index(self) -> int | None:
        """The index of the moment playing."""
        return self._index

    def relay(self) -> MediaRelay | None:
        """The media relay, once the first video was opened."""
        return self._relay

    @Slot(object)
    def set_client(self, client: MediaClient | None) -> None:
        """Another client (key or server changed): what plays stops, the next click uses it."""
        if client is self._client:
            return
        self._client = client
        if self._video is not None:
            self.sig_stop.emit()
            self._close_video(at_once=True)

    # -- playing ------------------------------------------------------------------------------

    def play(self, store_id: str, message: Message, citation: Mapping[str, Any]) -> None:
        """Play a clicked citation of an answer, with the answer's other moments around it."""
        if self._shut_down:
            return
        moments = answer_moments(message)
        index = moment_of(moments, citation)
        if index is None:
            self.sig_notice.emit(NOT_A_VIDEO)
            return
        new_answer = store_id != self._store_id or \
            [m.key() for m in moments] != [m.key() for m in self._moments]
        self._store_id = store_id
        if new_answer:
            self._moments = moments
            self.sig_moments.emit(moments, index)
            self._load_list_thumbnails()
        self.go_to(index)

    def play_item(self, store_id: str, item_id: str, title: str) -> None:
        """Play a whole store item from its start (the stores view's "Play"): a list of one
        moment, resolved through the item like any video without a citation's address."""
        if self._shut_down:
            return
        moment = PlayerMoment(index=0, item_id=item_id, title=title or "Video", start=0.0,
                              end=None, sentence="", hls_url=None, thumbnail_url=None,
                              citation={"kind": "video_citation", "item_id": item_id,
                                        "title": title, "start_sec": None, "end_sec": None})
        self._store_id = store_id
        self._moments = [moment]
        self.sig_moments.emit(self._moments, 0)
        self._load_list_thumbnails()
        self.go_to(0)

    @Slot(int)
    def go_to(self, index: int) -> None:
        """Play moment ``index`` of the answer."""
        if self._shut_down or not 0 <= index < len(self._moments):
            return
        moment = self._moments[index]
        self._index = index
        self.sig_moment.emit(moment)
        video = self._video
        if video is not None and video.item_id == moment.item_id and not video.broken \
                and video.source is not None:
            self.sig_play_range.emit(moment.start, moment.end)
            return
        self._open_video(moment)

    @Slot(int)
    def step(self, delta: int) -> None:
        """The previous (-1) or next (+1) moment of the answer, across videos."""
        target = step(self._moments, self._index, delta)
        if target is not None:
            self.go_to(target)

    @Slot(str)
    def on_player_failed(self, text: str) -> None:
        """The player could not go on: the relay's words when it had some, else the
        player's; the next click on this video opens it afresh."""
        video = self._video
        if video is None:
            return
        video.broken = True
        self.sig_problem.emit(video.problem or text)

    def _open_video(self, moment: PlayerMoment) -> None:
        self._close_video()
        self._generation += 1
        video = _Video(self._generation, moment.item_id)
        self._video = video
        client, store_id = self._client, self._store_id
        self._load_poster(moment, video.generation)
        if client is None or store_id is None:
            video.broken = True
            self.sig_problem.emit(f"This video cannot be played: {NO_CLIENT_TEXT}")
            return
        self._runner.submit(video_details, client, store_id, moment.item_id,
                            on_success=partial(self._details_ready, video.generation,
                                               moment.item_id),
                            on_error=partial(self._details_failed, video.generation))
        if is_web_url(moment.hls_url):
            assert moment.hls_url is not None
            self._start(video, moment.hls_url, moment)
            return
        self.sig_problem.emit("")
        self._runner.submit(resolve_video, client, store_id, moment.item_id,
                            on_success=partial(self._resolved, video.generation, moment),
                            on_error=partial(self._resolve_failed, video.generation))

    def _start(self, video: _Video, url: str, moment: PlayerMoment) -> None:
        client, store_id = self._client, self._store_id
        assert client is not None and store_id is not None
        if self._relay is None:
            from jockey_desktop.core.media_relay import MediaRelay

            factory = self._relay_factory or MediaRelay
            self._relay = factory(on_event=self._sig_relay_event.emit)
        video.source = self._relay.open(
            url, client, partial(manifest_resolver, client, store_id, moment.item_id))
        video.upstream = url
        self.sig_load.emit(video.source.url, moment.start, moment.end)

    def _resolved(self, generation: int, moment: PlayerMoment, info: VideoInfo) -> None:
        video = self._video
        if video is None or video.generation != generation:
            return
        if info.hls_url is None:
            video.broken = True
            self.sig_problem.emit("This video cannot be played yet: the server has no stream "
                                  "of it (it may still be processing).")
            return
        self._start(video, info.hls_url, moment)

    def _resolve_failed(self, generation: int, error: BaseException) -> None:
        if self._video is not None and self._video.generation == generation:
            self._video.broken = True
            self.sig_problem.emit(f"This video cannot be played: {_error_text(error)}")

    def _details_ready(self, generation: int, item_id: str,
                       details: tuple[SourceFacts, Sentences | None]) -> None:
        facts, sentences = details
        self._sources[item_id] = facts
        if self._video is not None and self._video.generation == generation:
            self.sig_transcript.emit(sentences)

    def _details_failed(self, generation: int, error: BaseException) -> None:
        # The video may still play from its citation's address; no transcript, no message.
        log.info("video details not loaded: %s", type(error).__name__)

    def _close_video(self, *, at_once: bool = False) -> None:
        video, self._video = self._video, None
        if video is None or video.source is None or self._relay is None:
            return
        if at_once:
            self._relay.close(video.source)
            return
        # The player lets go of the old stream on its own threads, after the new one is set:
        # a 404 for its last reads would come back as an error of the new video. The old
        # source stays served a little longer.
        QTimer.singleShot(CLOSE_GRACE_MS, self, partial(self._relay.close, video.source))

    @Slot(object)
    def _on_relay_event(self, event: RelayEvent) -> None:
        from jockey_desktop.core.media_relay import RelayEventKind

        video = self._video
        if video is None or video.source is None or video.source.id != event.source_id:
            return  # an older video's connection
        if event.kind is RelayEventKind.REFRESHED:
            self.sig_notice.emit("The video's address had expired; a fresh one was obtained.")
            return
        if event.kind is RelayEventKind.RESUMED:
            if video.problem and not video.broken:
                video.problem = ""
                self.sig_problem.emit("")
            return
        video.problem = event.message
        if event.kind in (RelayEventKind.EXPIRED, RelayEventKind.FAILED):
            video.broken = True
        self.sig_problem.emit(event.message)

    # -- pictures -----------------------------------------------------------------------------

    def _load_poster(self, moment: PlayerMoment, generation: int) -> None:
        self.sig_poster.emit(None)
        self._runner.submit(load_thumbnail, self._client, self._cache, store_id=self._store_id,
                            item_id=moment.item_id, seconds=moment.start,
                            url=moment.thumbnail_url,
                            on_success=partial(self._poster_ready, generation),
                            on_error=_ignore)

    def _poster_ready(self, generation: int, data: bytes | None) -> None:
        if self._video is not None and self._video.generation == generation and data:
            self.sig_poster.emit(data)

    def _load_list_thumbnails(self) -> None:
        self._list_generation += 1
        for moment in self._moments:
            self._runner.submit(load_thumbnail, self._client, self._cache,
                                store_id=self._store_id, item_id=moment.item_id,
                                seconds=moment.start, url=moment.thumbnail_url,
                                on_success=partial(self._thumbnail_ready, self._list_generation,
                                                   moment.index),
                                on_error=_ignore)

    def _thumbnail_ready(self, generation: int, index: int, data: bytes | None) -> None:
        if generation == self._list_generation and data:
            self.sig_thumbnail.emit(index, data)

    # -- outside the app ----------------------------------------------------------------------

    @Slot(float)
    def open_external(self, position: float) -> None:
        """Open the video playing in the system's player, at ``position`` (s)."""
        video, moment = self._video, self.current_moment()
        if video is None or moment is None:
            return
        url = video.upstream
        if self._relay is not None and video.source is not None:
            url = self._relay.upstream_url(video.source) or url
        if not is_web_url(url):
            self.sig_notice.emit("This video has no address a system player could open yet.")
            return
        assert url is not None
        self._runner.submit(write_private, self._work_dir / EXTERNAL_PLAYLIST,
                            external_playlist(moment.title, url, position),
                            on_success=self._playlist_written,
                            on_error=self._playlist_failed)

    def current_moment(self) -> PlayerMoment | None:
        """The moment playing."""
        if self._index is None or not 0 <= self._index < len(self._moments):
            return None
        return self._moments[self._index]

    def _playlist_written(self, path: Path) -> None:
        self.sig_open_file.emit(str(path))

    def _playlist_failed(self, error: BaseException) -> None:
        self.sig_notice.emit(f"The video could not be handed to the system's player: {error}")

    # -- exports ------------------------------------------------------------------------------

    def chosen_moments(self, indices: Sequence[int]) -> list[PlayerMoment]:
        """The moments of the answer being played with these indices."""
        wanted = set(indices)
        return [m for m in self._moments if m.index in wanted]

    def export(self, indices: Sequence[int], fmt: str, path: str, name: str) -> None:
        """Write moments of the answer being played (by index) in ``fmt`` to ``path``."""
        self._export(self.chosen_moments(indices), fmt, path, name)

    def export_answer(self, store_id: str, message: Message, fmt: str, path: str,
                      name: str) -> None:
        """Write every moment of one answer."""
        self._export(answer_moments(message), fmt, path, name, store_id)

    def read_conversation_moments(self, conversation_id: int,
                                  on_ready: Callable[[list[PlayerMoment]], None]) -> None:
        """Every moment of a conversation, read on the storage runner and handed to
        ``on_ready`` on the GUI thread (a read that fails is said as an export failure)."""
        repo = self._repo
        if repo is None:
            return
        self._storage_runner.submit(
            repo.list_messages, conversation_id,
            on_success=partial(self._conversation_moments_read, on_ready),
            on_error=partial(self._export_error, ""))

    def _conversation_moments_read(self, on_ready: Callable[[list[PlayerMoment]], None],
                                   messages: list[Message]) -> None:
        on_ready(conversation_moments(messages))

    def export_moments(self, moments: list[PlayerMoment], store_id: str, fmt: str, path: str,
                       name: str) -> None:
        """Write these moments (of a conversation read with ``read_conversation_moments``)."""
        self._export(moments, fmt, path, name, store_id)

    def _export(self, moments: list[PlayerMoment], fmt: str, path: str, name: str,
                store_id: str | None = None) -> None:
        self._runner.submit(_write_export, moments, self._client,
                            store_id or self._store_id, dict(self._sources), fmt, path, name,
                            on_success=self._exported,
                            on_error=partial(self._export_error, path))

    def _exported(self, outcome: tuple[str, bool]) -> None:
        self.sig_exported.emit(*outcome)

    def _export_error(self, path: str, error: BaseException) -> None:
        if isinstance(error, OSError):
            # The OS's text names the temporary file beside the chosen one, in errno terms.
            from jockey_desktop.core.storage.export import write_failure_text

            self.sig_export_failed.emit(f"The moments were not exported: "
                                        f"{write_failure_text(path, error)}")
            return
        reason = str(error) if isinstance(error, ValueError) else _error_text(error)
        self.sig_export_failed.emit(f"The moments could not be exported: {reason}")

    # -- quit ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the relay (connections in flight end on their own)."""
        self._shut_down = True
        self._close_video(at_once=True)
        if self._relay is not None:
            self._relay.stop()


def _ignore(_error: BaseException) -> None:
    """A thumbnail that does not come is not worth a message."""


def _known_sources(moments: Sequence[PlayerMoment], client: MediaClient | None,
                   store_id: str | None,
                   known: dict[str, SourceFacts]) -> tuple[dict[str, SourceFacts], set[str]]:
    """What is known of the moments' videos (frame rate, file name, length): what the player
    learnt, else asked (best effort: an unknown rate falls back to the exporter's default, an
    unknown file name to the video's title); with the ids of the videos that could not be
    asked (no connection, a refusal)."""
    from jockey_desktop.core.api.errors import JockeyError
    from jockey_desktop.core.moments_export import SourceFacts

    sources = dict(known)
    unasked: set[str] = set()
    for item_id in dict.fromkeys(m.item_id for m in moments):
        if item_id in sources:
            continue
        if client is None or store_id is None:
            unasked.add(item_id)
            continue
        try:
            sources[item_id] = source_facts(client.get_item(store_id, item_id))
        except JockeyError:
            unasked.add(item_id)
            sources[item_id] = SourceFacts()
    return sources, unasked


def _write_export(moments: list[PlayerMoment], client: MediaClient | None,
                  store_id: str | None, sources: dict[str, SourceFacts], fmt: str, path: str,
                  name: str) -> tuple[str, bool]:
    """Write moments in a format (blocking: network for the videos' facts, then the file);
    returns the sentence saying what was written (``presentation.moments.exported_text``)
    and whether it carries a caution (a video timed at a guessed rate)."""
    from jockey_desktop.core.moments_export import MomentFormat, export_moments

    known, unasked = _known_sources(moments, client, store_id, sources)
    records = export_moments_of(moments, known)
    if not records:
        raise ValueError("There are no cited ranges to export (whole-video citations have "
                         "no range).")
    written = export_moments(records, fmt, path, name)
    # Rates matter to the editor formats only (CSV and chapters are in seconds).
    timed = MomentFormat(fmt) in (MomentFormat.OTIO, MomentFormat.EDL, MomentFormat.FCP_XML)
    untimed = [] if not timed else list(dict.fromkeys(
        r.video_title for r in records if r.fps is None and r.item_id in unasked))
    return (exported_text(str(written), len(records), len(moments) - len(records), untimed),
            bool(untimed))
