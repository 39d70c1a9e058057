"""Entry point: ``python -m jockey_desktop``, the ``jockey-desktop`` script and the frozen app.

``python -m jockey_desktop [--sandbox] [--api-base URL] [--data-dir DIR] [--self-test]``.
Heavy imports happen after argument parsing so ``--help`` and ``--version`` are instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the app (or one of its checks); returns the exit code."""
    from jockey_desktop.options import AppOptions, build_parser

    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.api_base is not None:
        from jockey_desktop.core.api.urls import base_url_problem

        problem = base_url_problem(args.api_base)
        if problem is not None:
            # argparse's usage error: message on stderr, exit status 2, nothing started.
            parser.error(f"--api-base: {problem}")
    if args.frozen_checks:
        from jockey_desktop.frozen_checks import run_frozen_checks

        return int(run_frozen_checks())
    if args.self_test:
        from jockey_desktop.self_test import run_self_test

        return run_self_test(api_base=args.api_base, data_dir=args.data_dir)
    # From here the app starts. Python's cyclic GC would run some 60 times over the start-up
    # imports (~15 ms) and find next to nothing; the app's own collector takes collection
    # over on the GUI thread (concurrency.GuiThreadGarbageCollector) and, after the first
    # paint, collects the young generations once and freezes what start-up built.
    import gc

    gc.disable()
    if args.startup_probe:
        try:
            from jockey_desktop.startup_probe import run_startup_probe
        except ImportError:
            print("--startup-probe is not available in this build.", file=sys.stderr)
            return 2
        return int(run_startup_probe(args))

    from jockey_desktop.app import run

    return run(AppOptions(sandbox=args.sandbox, api_base=args.api_base, data_dir=args.data_dir))


if __name__ == "__main__":
    sys.exit(main())
