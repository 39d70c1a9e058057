"""Child processes of the upload benchmarks: a sandbox server, a bare ``requests`` PUT, and the
real app uploading a file, each printing one ``BENCH-RESULT: {json}`` line (the server prints
its base URL first, then serves until its stdin closes).

``python -m build_scripts.bench.upload_probe SCENARIO [options]`` from the repository root:

- ``server --chunk-size N --state-dir D``: a sandbox whose multipart chunks are N bytes, in
  its own process (the server's work must not share a GIL with what is measured);
- ``bare --base URL --file F``: a one-chunk multipart session, then the whole file in one
  ``requests.put`` streamed from the file object — the baseline;
- ``app --base URL --file F --data-dir D``: the real app (composition root, window, upload
  queue) connected to that server with the sandbox key, dropping F on a new store; measures
  the transfer (file queued → asset saved), the GUI event loop's gaps with a 5 ms heartbeat,
  and the resident set size every 50 ms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT: "


def rss_mb() -> float:
    """This process's resident set size now (MB), from /proc (Linux) or getrusage."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def scenario_server(args: argparse.Namespace) -> dict[str, Any]:
    from jockey_desktop.sandbox import Pace, SandboxServer
    from jockey_desktop.sandbox.assets import UploadLimits

    limits = UploadLimits(chunk_size=args.chunk_size, initial_upload_urls=50,
                          multipart_bytes=64 * 1024**3)
    server = SandboxServer(state_dir=args.state_dir, pace=Pace.instant(),
                           upload_limits=limits)
    server.start()
    print(server.base_url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()
    return {"chunk_puts_with_key": server.chunk_puts_with_key}


def scenario_bare(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    from jockey_desktop.sandbox import SANDBOX_API_KEY

    size = args.file.stat().st_size
    http = requests.Session()
    http.trust_env = False
    created = http.post(f"{args.base}/assets/multipart-uploads",
                        headers={"x-api-key": SANDBOX_API_KEY},
                        json={"filename": args.file.name, "type": "video",
                              "total_size": size}, timeout=60)
    created.raise_for_status()
    session = created.json()
    if session["total_chunks"] != 1:
        raise RuntimeError("the baseline server must take the file as one chunk")
    url = session["upload_urls"][0]["url"]
    with args.file.open("rb") as handle:
        cpu_started = time.process_time()
        started = time.perf_counter()
        response = http.put(url, data=handle, headers=session["upload_headers"]
                            | {"Content-Length": str(size)}, timeout=600)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    response.raise_for_status()
    return {"seconds": elapsed, "cpu_s": cpu, "bytes": size}


def scenario_app(args: argparse.Namespace) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.core.storage.models import UploadState

    qapp = QApplication(sys.argv[:1])
    desktop = JockeyDesktop.create(AppOptions(api_base=args.base, data_dir=str(args.data_dir),
                                              interactive=False, single_instance=False),
                                   qapp)
    if desktop is None:
        raise RuntimeError("the app did not start")
    desktop.start(show=True)

    def wait_for(condition: Any, limit_s: float) -> bool:
        """Run the event loop (idle when nothing happens, as in the app) until
        ``condition`` holds, looking every 10 ms; False after ``limit_s``."""
        end = time.monotonic() + limit_s
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(10)
        check.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > end
                              else None)
        check.start()
        if not condition():
            loop.exec()
        check.stop()
        return bool(condition())

    try:
        if not wait_for(lambda: desktop.connection.client() is not None, 30):
            raise RuntimeError("no client")
        client = desktop.connection.client()
        store = client.create_knowledge_store("Benchmark")  # type: ignore[attr-defined]
        uploads = desktop.store_feature.uploads
        wait_for(lambda: False, 0.5)  # start-up work settles
        beats: list[float] = []
        rss: list[float] = []
        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.setInterval(5)

        def beat() -> None:
            beats.append(time.perf_counter())
            if len(beats) % 10 == 0:  # every 50 ms: /proc is not read on every beat
                rss.append(rss_mb())

        heartbeat.timeout.connect(beat)
        rss_before = rss_mb()
        heartbeat.start()
        cpu_started = time.process_time()
        started = time.perf_counter()
        uploads.add_paths(store.id, [str(args.file)])

        def sent() -> bool:
            rows = uploads.uploads()
            return bool(rows) and rows[0].state in (UploadState.PROCESSING, UploadState.ADDING,
                                                    UploadState.INDEXING, UploadState.READY,
                                                    UploadState.FAILED)

        if not wait_for(sent, 1800):
            raise RuntimeError("the upload did not finish in time")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        heartbeat.stop()
        row = uploads.uploads()[0]
        if row.state is UploadState.FAILED:
            raise RuntimeError(f"the upload failed: {row.error_message}")
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(beats)]
        return {"seconds": elapsed, "cpu_s": cpu, "bytes": row.size, "chunks": len(row.chunks),
                "method": row.method.value, "gaps_ms": gaps, "rss_before_mb": rss_before,
                "rss_peak_mb": max([rss_before, *rss])}
    finally:
        desktop.shutdown()
        desktop.window.close()


SCENARIOS = {"server": scenario_server, "bare": scenario_bare, "app": scenario_app}


def main(argv: list[str] | None = None) -> int:
    """Run one scenario and print its result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--base")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--chunk-size", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args(argv)
    result = SCENARIOS[args.scenario](args)
    result["pid"] = os.getpid()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
