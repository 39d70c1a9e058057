"""Playback of one cited moment at a time: Qt Multimedia behind a small, fault-proof surface.

``PlaybackEngine`` owns the ``QMediaPlayer`` (FFmpeg backend), a ``QVideoSink`` that frames are
painted from (``VideoCanvas``; no QtMultimediaWidgets, and it works offscreen) and, when the
system has an audio device, a ``QAudioOutput``. It knows the cited range: playback starts at
its start, pauses at its end — or loops the range when Loop is on — and a seek the user makes
outside the range lets the video play on. Every fault becomes a sentence on
``sig_problem``: no multimedia backend, no audio device (the video plays silently), media the
backend cannot open, a stream that stalls. Nothing here raises into the window.

Built when the player is first used (creating a ``QMediaPlayer`` loads the FFmpeg plugin,
~50 ms), never before the first paint.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtMultimedia import (
    QAudioOutput,
    QMediaDevices,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)

from jockey_desktop.ui.player.ffmpeg_env import exempt_loopback, quiet_ffmpeg_log

log = logging.getLogger(__name__)

#: Playback speeds offered (the issue asks for 0.5–2×).
RATES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
#: How far ←/→ jump (ms).
SKIP_MS = 5000
#: Playing with no new frame for this long is a stall (ms).
STALL_MS = 10_000

NO_BACKEND = ("Videos cannot be played here: Qt's multimedia backend (the FFmpeg plugin) is "
              "missing from this installation.")
NO_AUDIO = "No audio output device was found: the video plays without sound."
STALLED = "The video has stalled: no picture has arrived for a while. It goes on when the " \
          "host sends more."


def media_error_text(error: QMediaPlayer.Error, detail: str) -> str:
    """A sentence for a player error (``detail`` is the backend's own words)."""
    what = {
        QMediaPlayer.Error.ResourceError: "The video could not be opened",
        QMediaPlayer.Error.FormatError: "The video's format is not supported here",
        QMediaPlayer.Error.NetworkError: "The video could not be loaded over the network",
        QMediaPlayer.Error.AccessDeniedError: "Access to the video was refused",
    }.get(error, "The video could not be played")
    detail = " ".join(detail.split())
    return f"{what} ({detail})." if detail else f"{what}."


class PlaybackEngine(QObject):
    """Play a range of a video; signals carry positions in ms and problems as sentences."""

    #: A new frame to paint.
    sig_frame = Signal(QVideoFrame)
    #: Position and duration (ms).
    sig_position = Signal(int)
    sig_duration = Signal(int)
    #: Playing (True) or not.
    sig_playing = Signal(bool)
    #: A short status ("Loading…", "Buffering…", "") — not a problem.
    sig_status = Signal(str)
    #: Something the user should read ("" clears it).
    sig_problem = Signal(str)
    #: The player failed on the current source (a sentence): the owner may have better words
    #: (the media relay's) or a fresh source to try.
    sig_failed = Signal(str)
    #: The first frame of a load or a moment seek arrived (at this position, ms).
    sig_first_frame = Signal(int)
    #: Playback reached the range's end and paused there.
    sig_range_end = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        exempt_loopback()  # the player reads the media relay on 127.0.0.1, never via a proxy
        self.player = QMediaPlayer(self)
        quiet_ffmpeg_log()  # the backend has loaded FFmpeg now
        self.sink = QVideoSink(self)
        self.player.setVideoSink(self.sink)
        self.audio: QAudioOutput | None = None
        self.available = self.player.isAvailable()
        self._devices = QMediaDevices(self)
        self._attach_audio()
        self._devices.audioOutputsChanged.connect(self._attach_audio)
        self._source = QUrl()
        self._start_ms = 0
        self._end_ms: int | None = None
        self._armed = False
        self._loop = False
        self._pending_seek: int | None = None
        self._autoplay = True
        self._waiting_frame = False
        self._stalled = False
        self._volume = 0.8
        self._muted = False
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(STALL_MS)
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(self._on_stall)
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)
        self.sink.videoFrameChanged.connect(self._on_frame)

    # -- what is played -----------------------------------------------------------------------

    def has_audio(self) -> bool:
        """True when sound goes to a device."""
        return self.audio is not None

    def source(self) -> QUrl:
        """The URL being played (empty when none)."""
        return self._source

    def range_ms(self) -> tuple[int, int | None]:
        """The cited range being played (ms; end None: to the end)."""
        return self._start_ms, self._end_ms

    def load(self, url: str, start_s: float, end_s: float | None, *,
             autoplay: bool = True) -> None:
        """Open ``url`` and play from ``start_s`` (pausing at ``end_s``)."""
        if not self.available:
            self.sig_problem.emit(NO_BACKEND)
            return
        self._set_range(start_s, end_s)
        self._autoplay = autoplay
        self._pending_seek = self._start_ms
        self._waiting_frame = True
        self._source = QUrl(url)
        self.sig_problem.emit("")
        self.sig_status.emit("Loading…")
        self.player.setSource(self._source)

    def play_range(self, start_s: float, end_s: float | None) -> None:
        """Play another range of the video already loaded."""
        self._set_range(start_s, end_s)
        self._waiting_frame = True
        self.sig_problem.emit("")
        if self._pending_seek is not None:
            self._pending_seek = self._start_ms  # still loading: seek when it is
            return
        self.player.setPosition(self._start_ms)
        self.player.play()

    def stop(self) -> None:
        """Stop and let go of the source (the relay may close it)."""
        self._watchdog.stop()
        self._pending_seek = None
        self.player.stop()
        self.player.setSource(QUrl())
        self._source = QUrl()

    # -- controls -----------------------------------------------------------------------------

    @Slot()
    def toggle(self) -> None:
        """Play if paused, pause if playing."""
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.play()

    @Slot()
    def play(self) -> None:
        """Play (paused at the range's end, it plays on past it, as a player would)."""
        if not self._source.isEmpty():
            self.player.play()

    @Slot()
    def pause(self) -> None:
        """Pause."""
        self.player.pause()

    @Slot(int)
    def seek(self, position_ms: int) -> None:
        """Go to a position; inside the cited range the end-pause (or loop) applies again."""
        position_ms = max(0, position_ms)
        duration = self.player.duration()
        if duration > 0:
            position_ms = min(position_ms, duration - 1)
        self._armed = self._end_ms is not None and self._start_ms <= position_ms < self._end_ms
        if self._pending_seek is not None:
            self._pending_seek = position_ms
            return
        self.player.setPosition(position_ms)

    @Slot(int)
    def skip(self, delta_ms: int) -> None:
        """Jump forward (positive) or back."""
        self.seek(self.player.position() + delta_ms)

    @Slot(float)
    def set_rate(self, rate: float) -> None:
        """Playback speed, clamped to 0.5–2×."""
        self.player.setPlaybackRate(min(max(rate, RATES[0]), RATES[-1]))

    def rate(self) -> float:
        """The playback speed."""
        return float(self.player.playbackRate())

    @Slot(float)
    def set_volume(self, volume: float) -> None:
        """Volume 0–1 (kept for when a device appears)."""
        self._volume = min(max(volume, 0.0), 1.0)
        if self.audio is not None:
            self.audio.setVolume(self._volume)

    def volume(self) -> float:
        """The volume 0–1."""
        return self._volume

    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        """Mute or unmute."""
        self._muted = muted
        if self.audio is not None:
            self.audio.setMuted(muted)

    def is_muted(self) -> bool:
        """True when muted."""
        return self._muted

    @Slot(bool)
    def set_loop(self, loop: bool) -> None:
        """Loop the cited range instead of pausing at its end."""
        self._loop = loop
        position = self.player.position()
        if loop and self._end_ms is not None and self._start_ms <= position < self._end_ms:
            self._armed = True

    def is_looping(self) -> bool:
        """True when the range loops."""
        return self._loop

    def is_playing(self) -> bool:
        """True while playing."""
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def position(self) -> int:
        """The position (ms)."""
        return int(self.player.position())

    # -- internals ----------------------------------------------------------------------------

    def _set_range(self, start_s: float, end_s: float | None) -> None:
        self._start_ms = max(0, round(start_s * 1000))
        self._end_ms = round(end_s * 1000) if end_s is not None else None
        if self._end_ms is not None and self._end_ms <= self._start_ms:
            self._end_ms = None
        self._armed = self._end_ms is not None

    @Slot()
    def _attach_audio(self) -> None:
        has_device = bool(QMediaDevices.audioOutputs())
        if has_device and self.audio is None:
            self.audio = QAudioOutput(self)
            self.audio.setVolume(self._volume)
            self.audio.setMuted(self._muted)
            self.player.setAudioOutput(self.audio)
        elif not has_device and self.audio is not None:
            self.player.setAudioOutput(None)  # type: ignore[arg-type]  # Qt accepts null
            self.audio.deleteLater()
            self.audio = None

    def _apply_pending(self) -> None:
        target, self._pending_seek = self._pending_seek, None
        if target is None:
            return
        if target > 0:
            self.player.setPosition(target)
        if self._autoplay:
            self.player.play()

    @Slot(QMediaPlayer.MediaStatus)
    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        kind = QMediaPlayer.MediaStatus
        if self.player.source() != self._source:
            return  # the previous video letting go (reported while the new one is set)
        if status == kind.LoadedMedia:
            self._apply_pending()
        if status == kind.LoadingMedia:
            self.sig_status.emit("Loading…")
        elif status in (kind.BufferingMedia, kind.StalledMedia):
            self.sig_status.emit("Buffering…")
        elif status == kind.EndOfMedia:
            self.sig_status.emit("End of the video")
            self._watchdog.stop()
        elif status != kind.InvalidMedia:
            self.sig_status.emit("")

    @Slot(QMediaPlayer.PlaybackState)
    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        if playing:
            self._watchdog.start()
        else:
            self._watchdog.stop()
        self.sig_playing.emit(playing)

    @Slot(QMediaPlayer.Error, str)
    def _on_error(self, error: QMediaPlayer.Error, detail: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        self._pending_seek = None
        self._watchdog.stop()
        text = media_error_text(error, detail)
        log.info("player error %s", error.name)  # the detail may hold a URL: not logged
        self.sig_status.emit("")
        self.sig_failed.emit(text)

    @Slot(QVideoFrame)
    def _on_frame(self, frame: QVideoFrame) -> None:
        if not frame.isValid():
            return
        if self.is_playing():
            self._watchdog.start()  # restart: pictures are arriving
        if self._stalled:
            self._stalled = False
            self.sig_problem.emit("")
        self.sig_frame.emit(frame)
        if self._waiting_frame and self._pending_seek is None:
            self._waiting_frame = False
            self.sig_first_frame.emit(int(self.player.position()))

    @Slot(int)
    def _on_position(self, position: int) -> None:
        if self._armed and self._end_ms is not None and position >= self._end_ms:
            if self._loop:
                self.player.setPosition(self._start_ms)
                return
            self._armed = False
            self.player.pause()
            self.sig_range_end.emit()
        self.sig_position.emit(position)

    @Slot(int)
    def _on_duration(self, duration: int) -> None:
        self.sig_duration.emit(int(duration))

    @Slot()
    def _on_stall(self) -> None:
        if self.is_playing():
            self._stalled = True
            self.sig_problem.emit(STALLED)
