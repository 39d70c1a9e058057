"""``python -m jockey_desktop.sandbox``: run the sandbox until SIGINT/SIGTERM.

The first stdout line is the base URL (ending in ``/v1.3``), flushed at once, so a parent
process can read it and connect. Without ``--state-dir`` sessions live only in memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from jockey_desktop.sandbox.pace import Pace
from jockey_desktop.sandbox.server import SANDBOX_API_KEY, SandboxServer


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="jockey-sandbox",
        description="A local, Jockey-compatible API server with sample knowledge stores.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--api-key", default=SANDBOX_API_KEY,
                        help="the key clients must send in x-api-key "
                             f"(default {SANDBOX_API_KEY!r})")
    parser.add_argument("--state-dir", default=None,
                        help="folder for session files (default: sessions kept in memory)")
    parser.add_argument("--pace", choices=("realistic", "instant"), default="realistic",
                        help="streaming speed (default realistic)")
    parser.add_argument("--keepalive-interval", type=float, default=10.0,
                        help="seconds of silence before a keep-alive (default 10)")
    parser.add_argument("--keepalive-style", choices=("event", "comment"), default="event",
                        help="keep-alive as an SSE event or a ': keep-alive' comment")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jockey-sandbox``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    pace = Pace.instant() if args.pace == "instant" else Pace.realistic()
    if not 0 <= args.port <= 65535:
        print("jockey-sandbox: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    if not math.isfinite(args.keepalive_interval) or args.keepalive_interval <= 0:
        print("jockey-sandbox: --keepalive-interval must be a positive number of seconds",
              file=sys.stderr)
        return 2
    pace = dataclasses.replace(pace, keepalive_interval=args.keepalive_interval,
                               keepalive_style=args.keepalive_style)
    server = SandboxServer(args.host, args.port, api_key=args.api_key,
                           state_dir=args.state_dir, pace=pace)
    try:
        base_url = server.start()
    except OSError as exc:
        print(f"jockey-sandbox: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    print(base_url, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
