"""Checks that a PyInstaller build kept what the app silently depends on.

The classic ways a frozen app breaks without any error at build time:

* keyring finds its backends through the ``keyring.backends`` entry points, i.e. through the
  ``*.dist-info`` metadata. If the metadata is not bundled, keyring quietly falls back to its
  ``fail`` backend and every user is told "no secure store" forever.
* requests verifies TLS with certifi's ``cacert.pem``. If the data file is not bundled, every
  HTTPS call fails with a certificate error, but only once a real server is contacted.
* the Linux build trims ICU's data to what Qt uses; if it trimmed too much, sorting,
  case mapping or time-zone names would silently change.

``python -m jockey_desktop --frozen-checks`` (and the frozen executable with the same flag)
calls :func:`run_frozen_checks`; ``build_scripts/build.py`` runs it after every build. The
checks also pass from a source checkout, which is how the unit tests exercise them.

No check needs a running Secret Service, Keychain or network: on a headless CI machine the
platform backend is registered but not *viable* (no D-Bus session), and that is fine — what
must not happen is that the backend is missing or cannot import its own dependencies.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

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
    """Every ICU service Qt Core calls still works (the Linux build trims ICU's data).

    Collation (German ä sorts before b, Swedish after z), Turkish case mapping, a legacy
    converter (Shift_JIS; Linux only, where Qt's named codecs come from ICU) and a localized
    time-zone name. Each answer differs when the data it needs is missing.
    """
    from PySide6.QtCore import QCollator, QLocale, QStringDecoder, QTimeZone

    problems: list[str] = []
    if QCollator(QLocale("de_DE")).compare("ä", "b") >= 0:
        problems.append("German collation (ä < b)")
    if QCollator(QLocale("sv_SE")).compare("ä", "z") <= 0:
        problems.append("Swedish collation (z < ä)")
    if QLocale("tr_TR").toUpper("i") != "\u0130":
        problems.append("Turkish upper-casing (i -> İ)")
    if _platform_key() == "linux" and not QStringDecoder("Shift_JIS").isValid():
        problems.append("Shift_JIS converter")
    name = QTimeZone(b"Europe/Berlin").displayName(
        QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("de_DE"))
    if "Mitteleurop" not in name:
        problems.append(f"German time-zone name (got {name!r})")
    if problems:
        return CheckResult("qt-icu", False, "broken: " + "; ".join(problems))
    return CheckResult("qt-icu", True, "collation, case mapping, converters, zone names")


ALL_CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_keyring_entry_points,
    check_keyring_backends,
    check_certificates,
    check_requests_bundle,
    check_qt_icu,
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
