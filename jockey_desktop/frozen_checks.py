"""Checks that a PyInstaller build kept what the app silently depends on.

The classic ways a frozen app breaks without any error at build time:

* keyring finds its backends through the ``keyring.backends`` entry points, i.e. through the
  ``*.dist-info`` metadata. If the metadata is not bundled, keyring quietly falls back to its
  ``fail`` backend and every user is told "no secure store" forever.
* requests verifies TLS with certifi's ``cacert.pem``. If the data file is not bundled, every
  HTTPS call fails with a certificate error, but only once a real server is contacted.
* the Linux build trims ICU's data to what Qt uses; if it trimmed too much, sorting or
  case mapping would silently change.
* the player needs QtMultimedia's FFmpeg plugin and the FFmpeg libraries; a missing one only
  shows when a user clicks a moment ("no backend"). :func:`check_multimedia` decodes a frame.
* the editor exports find OpenTimelineIO's adapters through entry points and plugin manifests
  read from files next to the adapters' sources: both must be bundled as data.

``python -m jockey_desktop --frozen-checks`` (and the frozen executable with the same flag)
calls :func:`run_frozen_checks`; ``build_scripts/build.py`` runs it after every build. The
checks also pass from a source checkout, which is how the unit tests exercise them.

No check needs a running Secret Service, Keychain or network: on a headless CI machine the
platform backend is registered but not *viable* (no D-Bus session), and that is fine — what
must not happen is that the backend is missing or cannot import its own dependencies.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtMultimedia import QVideoFrame

#: Environment variable naming the H.264 clip :func:`check_multimedia` decodes. The build sets
#: it to a clip it generates; without it the first clip under resources/sandbox/media is used.
MEDIA_ENV_VAR = "JOCKEY_FROZEN_CHECK_MEDIA"

#: File suffixes of clips the multimedia check can use (HLS segments and plain files).
MEDIA_SUFFIXES = (".ts", ".mp4", ".m4s")

#: How long the multimedia check waits for a decoded frame (software decoding of a tiny clip
#: takes milliseconds; this only bounds a hang on a broken backend).
MEDIA_TIMEOUT_MS = 20_000

#: Entry-point names keyring registers per platform (as in keyring's own metadata).
PLATFORM_ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    "linux": ("SecretService", "KWallet"),
    "darwin": ("macOS",),
    "win32": ("Windows",),
}

#: The backend class that must be registered after keyring loads its plugins:
#: (module, class name, dependency modules the backend imports lazily).
PLATFORM_BACKEND: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "linux": ("keyring.backends.SecretService", "Keyring", ("secretstorage", "jeepney")),
    "darwin": ("keyring.backends.macOS", "Keyring", ("keyring.backends.macOS.api",)),
    "win32": ("keyring.backends.Windows", "WinVaultKeyring", ()),
}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: a short name, whether it passed, and one line of detail."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """Return the single line printed for this check."""
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _platform_key() -> str:
    """Map sys.platform onto the keys of PLATFORM_* ("linux", "darwin", "win32")."""
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


def check_keyring_entry_points() -> CheckResult:
    """The ``keyring.backends`` entry points (bundled dist-info metadata) are discoverable."""
    # keyring reads entry points through its own compat shim; use the same one so we see
    # exactly what keyring sees (importlib_metadata on older Pythons).
    from keyring.compat.py312 import metadata

    names = sorted({ep.name for ep in metadata.entry_points(group="keyring.backends")})
    wanted = PLATFORM_ENTRY_POINTS.get(_platform_key(), ())
    missing = [name for name in wanted if name not in names]
    if not names:
        return CheckResult("keyring-entry-points", False,
                           "no keyring.backends entry points (dist-info metadata not bundled)")
    if missing:
        return CheckResult("keyring-entry-points", False,
                           f"missing {', '.join(missing)}; found {', '.join(names)}")
    return CheckResult("keyring-entry-points", True, f"found {', '.join(names)}")


def check_keyring_backends() -> CheckResult:
    """After loading plugins, the platform backend class is registered and importable.

    ``keyring.backend.get_all_keyring()`` lists only *viable* backends, so on a headless
    machine it legitimately returns just ``fail``/``chainer``. What proves the bundle is
    complete is that the platform backend class was registered and that its dependencies
    import; the viable list is printed for information.
    """
    import importlib

    import keyring.backend

    # "fail.Keyring", "SecretService.Keyring": module tail + class, sorted for stable output.
    viable = sorted(f"{type(ring).__module__.rsplit('.', 1)[-1]}.{type(ring).__name__}"
                    for ring in keyring.backend.get_all_keyring())
    registered = {f"{cls.__module__}.{cls.__name__}"
                  for cls in getattr(keyring.backend.KeyringBackend, "_classes", set())}
    spec = PLATFORM_BACKEND.get(_platform_key())
    if spec is None:
        return CheckResult("keyring-backends", True, f"no platform backend expected on "
                           f"{sys.platform}; viable: {', '.join(viable)}")
    module_name, class_name, dependencies = spec
    qualified = f"{module_name}.{class_name}"
    if qualified not in registered:
        return CheckResult("keyring-backends", False,
                           f"{qualified} not registered; registered: {sorted(registered)}")
    for dependency in dependencies:
        try:
            importlib.import_module(dependency)
        except ImportError as exc:
            return CheckResult("keyring-backends", False,
                               f"{qualified} registered but {dependency} is missing ({exc})")
    return CheckResult("keyring-backends", True, f"{qualified} registered with its "
                       f"dependencies; viable here: {', '.join(viable)}")


def check_certificates() -> CheckResult:
    """certifi's CA bundle exists and an SSL context loads it (what requests verifies with)."""
    import os
    import ssl

    import certifi

    cafile = certifi.where()
    if not os.path.isfile(cafile) or os.path.getsize(cafile) == 0:
        return CheckResult("certifi", False, f"CA bundle missing or empty at {cafile}")
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        return CheckResult("certifi", False, f"SSL context cannot load {cafile}: {exc}")
    count = context.cert_store_stats().get("x509_ca", 0)
    if count == 0:
        return CheckResult("certifi", False, f"{cafile} loaded but holds no CA certificates")
    return CheckResult("certifi", True, f"{count} CA certificates loaded from {cafile}")


def check_requests_bundle() -> CheckResult:
    """requests points at the same, existing CA bundle (it resolves it at import time)."""
    import os

    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    if not os.path.isfile(DEFAULT_CA_BUNDLE_PATH):
        return CheckResult("requests-ca-bundle", False,
                           f"requests' CA bundle not found at {DEFAULT_CA_BUNDLE_PATH}")
    return CheckResult("requests-ca-bundle", True, DEFAULT_CA_BUNDLE_PATH)


def check_qt_icu() -> CheckResult:
    """The ICU services Qt Core calls still work (the Linux build keeps only part of ICU's data).

    Root collation as QCollator and Qt's file dialog use it (German "ä" before "b", "a"
    before "B", numeric "file2" before "file10") and Turkish upper-casing. Each answer differs,
    and Qt warns "Could not create collator", when the data they need is missing. Legacy
    converters and zone display names are deliberately not shipped (see build.py).
    """
    from PySide6.QtCore import QCollator, QLocale

    problems: list[str] = []
    collator = QCollator(QLocale("de_DE"))
    collator.setNumericMode(True)
    if collator.compare("ä", "b") >= 0:
        problems.append("German collation (ä < b)")
    if collator.compare("a", "B") >= 0:
        problems.append("case-insensitive order (a < B)")
    if collator.compare("file2", "file10") >= 0:
        problems.append("numeric collation (file2 < file10)")
    if QLocale("tr_TR").toUpper("i") != "\u0130":
        problems.append("Turkish upper-casing (i -> İ)")
    if problems:
        return CheckResult("qt-icu", False, "broken: " + "; ".join(problems))
    return CheckResult("qt-icu", True, "root collation, numeric collation, case mapping")


#: The QGuiApplication :func:`check_multimedia` had to create, if any (kept alive).
_APPLICATION: list[QCoreApplication] = []


def sample_media_path() -> Path | None:
    """The clip the multimedia check decodes: $JOCKEY_FROZEN_CHECK_MEDIA, else the first
    sample segment bundled under resources/sandbox/media, else None."""
    from jockey_desktop.resources import resource_path

    named = os.environ.get(MEDIA_ENV_VAR)
    if named:
        return Path(named)
    media_dir = resource_path("sandbox", "media")
    if not media_dir.is_dir():
        return None
    clips = sorted(p for p in media_dir.rglob("*") if p.suffix in MEDIA_SUFFIXES)
    return clips[0] if clips else None


def check_multimedia() -> CheckResult:
    """QtMultimedia's FFmpeg backend loads and decodes a frame of an H.264 clip.

    Offscreen and without an audio device, as the player's tests run: a ``QMediaPlayer``
    plays the clip into a ``QVideoSink`` until a valid frame arrives whose picture is not one
    flat colour (read from the frame's luma plane: converting to a QImage offscreen would go
    through a "No RHI backend" warning).
    """
    clip = sample_media_path()
    if clip is None or not clip.is_file():
        return CheckResult("multimedia", False,
                           f"no sample clip to decode (set {MEDIA_ENV_VAR} or bundle "
                           f"resources/sandbox/media); looked for {clip or 'a bundled clip'}")

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer, QUrl
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtMultimedia import QMediaPlayer, QVideoSink

    # QVideoSink needs a GUI application; the frozen --frozen-checks run has none yet. It is
    # kept for the life of the process: destroying it under live Qt objects would crash.
    if QCoreApplication.instance() is None:
        _APPLICATION.append(QGuiApplication([sys.argv[0] or "jockey-desktop"]))

    loop = QEventLoop()
    player = QMediaPlayer()
    sink = QVideoSink()
    found: list[tuple[int, int, int]] = []  # width, height, distinct luma values
    errors: list[str] = []

    def on_frame(frame: QVideoFrame) -> None:
        if found or not frame.isValid():
            return
        found.append((frame.width(), frame.height(), _distinct_luma(frame)))
        loop.quit()

    def on_status(status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            errors.append(f"invalid media: {player.errorString() or 'no reason given'}")
            loop.quit()

    def on_error(_error: QMediaPlayer.Error, text: str) -> None:
        errors.append(text or "unknown player error")
        loop.quit()

    player.mediaStatusChanged.connect(on_status)
    player.errorOccurred.connect(on_error)
    sink.videoFrameChanged.connect(on_frame)
    player.setVideoSink(sink)
    player.setSource(QUrl.fromLocalFile(str(clip)))
    player.play()
    QTimer.singleShot(MEDIA_TIMEOUT_MS, loop.quit)
    loop.exec()
    player.stop()
    player.setSource(QUrl())

    if errors:
        return CheckResult("multimedia", False, f"{clip.name}: {'; '.join(errors)}")
    if not found:
        return CheckResult("multimedia", False, f"{clip.name}: no video frame within "
                           f"{MEDIA_TIMEOUT_MS // 1000} s")
    width, height, values = found[0]
    if values < 2:
        return CheckResult("multimedia", False,
                           f"{clip.name}: the decoded {width}x{height} frame is one flat colour")
    return CheckResult("multimedia", True,
                       f"FFmpeg backend decoded a {width}x{height} frame of {clip.name}")


def _distinct_luma(frame: QVideoFrame) -> int:
    """Distinct values on an 8x8 grid of the frame's first plane (luma for the YUV formats
    FFmpeg decodes H.264 to); 0 when the frame cannot be mapped."""
    from PySide6.QtMultimedia import QVideoFrame

    copy = QVideoFrame(frame)  # map() needs a non-const frame; this shares the buffer
    if not copy.map(QVideoFrame.MapMode.ReadOnly):
        return 0
    try:
        data = bytes(copy.bits(0))
        stride = copy.bytesPerLine(0)
        width, height = copy.width(), copy.height()
        return len({data[(height * (2 * j + 1) // 16) * stride + width * (2 * i + 1) // 16]
                    for i in range(8) for j in range(8)})
    finally:
        copy.unmap()


def check_otio_adapters() -> CheckResult:
    """The editor exports work: OTIO, CMX 3600 and FCP XML written and read back."""
    import opentimelineio as otio  # type: ignore[import-untyped]

    from jockey_desktop.core.moments_export import Moment, MomentFormat, render_moments

    moment = Moment("Frozen check", "check1", 12.5, 20.25, "A cited sentence.", fps=25)
    readers = {MomentFormat.OTIO: ("otio_json", {}), MomentFormat.EDL: ("cmx_3600", {"rate": 25}),
               MomentFormat.FCP_XML: ("fcp_xml", {})}
    for fmt, (adapter, options) in readers.items():
        timeline = otio.adapters.read_from_string(render_moments([moment], fmt), adapter,
                                                  **options)
        clip = next(iter(timeline.find_clips()))
        if clip.name != "Frozen check" or clip.source_range.start_time.value != 312:
            return CheckResult("otio-adapters", False,
                               f"{adapter} read back {clip.name!r} at {clip.source_range}")
    return CheckResult("otio-adapters", True, "otio_json, cmx_3600 and fcp_xml round trip")


ALL_CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_keyring_entry_points,
    check_keyring_backends,
    check_certificates,
    check_requests_bundle,
    check_qt_icu,
    check_otio_adapters,
    check_multimedia,
)


def collect_results(
    checks: tuple[Callable[[], CheckResult], ...] = ALL_CHECKS,
) -> list[CheckResult]:
    """Run every check; an exception inside a check becomes a failed result, not a crash."""
    results: list[CheckResult] = []
    for check in checks:
        name = check.__name__.removeprefix("check_").replace("_", "-")
        try:
            results.append(check())
        except Exception as exc:  # a broken bundle shows up as odd exceptions; report them
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"))
    return results


def run_frozen_checks(stream: TextIO | None = None) -> int:
    """Run all checks, print one line per check, return 0 if all passed, else 1.

    ``stream`` defaults to ``sys.stdout``. A windowed build on Windows has no stdout
    (``sys.stdout is None``); the checks still run and the exit code still tells.
    """
    out = sys.stdout if stream is None else stream
    results = collect_results()
    for result in results:
        if out is not None:
            print(result.line(), file=out)
    failed = [r for r in results if not r.ok]
    if out is not None:
        frozen = "frozen" if getattr(sys, "frozen", False) else "not frozen"
        verdict = "all checks passed" if not failed else f"{len(failed)} check(s) FAILED"
        print(f"frozen-checks ({frozen}, {sys.platform}): {verdict}", file=out)
    return 1 if failed else 0
