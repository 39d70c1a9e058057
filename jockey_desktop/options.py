"""The command line: ``AppOptions`` and its parser (no Qt; ``--help`` answers instantly)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jockey_desktop import APP_NAME, __version__

if TYPE_CHECKING:
    from jockey_desktop.sandbox import Pace


@dataclass(frozen=True)
class AppOptions:
    """What the command line (or a test, the self-test, a probe) asked for."""

    sandbox: bool = False
    api_base: str | None = None
    data_dir: str | None = None
    #: The sandbox's pace: "realistic" for people, "fast" for the self-test, or a
    #: ``sandbox.Pace`` (tests).
    sandbox_pace: Pace | str = "realistic"
    #: Skip the single-instance guard (the self-test runs in a private data dir).
    single_instance: bool = True
    #: Show modal dialogs (False in tests and the self-test: report to the log instead).
    interactive: bool = True
    #: After the first paint, freeze what start-up built (it lives as long as the app) so
    #: full collections stay short. Off where one process builds many apps (tests): each
    #: app's objects would then outlive it.
    freeze_gc: bool = True


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of ``python -m jockey_desktop``."""
    parser = argparse.ArgumentParser(
        prog="jockey-desktop",
        description=f"{APP_NAME} {__version__} — explore video collections with TwelveLabs "
                    "Jockey.")
    parser.add_argument("--sandbox", action="store_true",
                        help="run against the built-in sandbox server (no API key needed)")
    parser.add_argument("--api-base", metavar="URL",
                        help="use another Jockey-compatible server (base URL ending in /v1.3)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="keep conversations, settings and logs in DIR")
    parser.add_argument("--self-test", action="store_true",
                        help="hold a three-turn conversation offscreen and exit 0 on success")
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--frozen-checks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser
