"""Benchmarks of what users feel: start-up, opening long conversations, streaming, search,
typing, memory and the packaged app (issue 6). Prints numbers; asserts nothing.

    python build_scripts/benchmark.py [--small] [--json PATH] [--runs N]

Builds a synthetic data directory through the app's own storage code (10,000 conversations,
200,000 Markdown messages with citations, one conversation of 1,000 messages and one of 10;
``--small``: 100 conversations, 1,500 messages, 1–2 runs, well under two minutes), then measures
the real app in fresh child processes — never a mock:

1. cold start: process start → first paint of the main window with the sidebar populated
   (``python -m jockey_desktop --startup-probe --sandbox``), against a bare PySide6
   ``QMainWindow`` (``bench/bare_window.py``) in the same run, interleaved, as a ratio; beside
   it, informational: the floor (``bench/floor_window.py``: the bare window plus the Qt types,
   SQLite read and stylesheet the app's first paint needs, none of the app's code; what PySide
   makes any app showing this window pay) and a start that reopens a conversation;
2. opening a conversation: sidebar selection → first complete paint of the transcript, the
   1,000-message conversation against the 10-message one (first open in a fresh process);
3. streaming: a 5 ms heartbeat ``QTimer`` records the GUI event loop's gaps while the sandbox
   streams a 4,000-word answer at ~200 deltas/s into the 1,000-message conversation;
4. sidebar search over all conversations, per keystroke: search request → results painted
   (the sidebar's deliberate debounce is reported separately, not counted);
5. typing in the composer while that answer streams: key press → repaint, 99th percentile;
6. memory: resident set with the big directory loaded and the big conversation open;
7. the packaged app in ``dist/`` (when built): folder size (the player's QtMultimedia and
   FFmpeg included), and cold start against the bare window frozen the same way (PyInstaller
   one-folder, built once into the cache folder), with the frozen floor beside it;
8. the player (issue 11), side by side with the chat-only figures of the same run: a click on
   a chip in the transcript → the first frame at the cited moment painted (10 clicks, 3 with
   ``--small``, each to another video when the answer allows; the first click also builds the
   player); the
   event-loop gaps while a video plays and the long answer of measure 3 streams; resident
   memory with a video playing against the same process before the first click.
9. uploads (``bench/upload_probe.py``, the sandbox in a process of its own): the app's
   multipart upload of a 1 GB file (file queued → asset saved) against one bare ``requests``
   PUT of the same file to the same server, as a time ratio (≤ 1.25 means a throughput of at
   least 0.8× the bare PUT); the GUI event loop's gaps meanwhile (p99); and the resident set
   growth while a 3 GB sparse file uploads (``--small``: 64 MB and 128 MB).
10. asking (issue 13), side by side in one run: the app's added delay to the first
   visible word of an answer — the composer's send → the first paint of the answer row with text —
   against a bare ``requests`` SSE loop reading the same sandbox stream (request → first
   ``final_answer`` delta), in turns on fresh sessions; and the event-loop gaps while an
   answer preceded by a long list of agent steps (tool calls with large JSON outputs)
   streams in with its Steps list open.

Every measure is the median of several runs with min and max; the JSON file holds, per measure,
``name, value, unit, target, met, min, max, runs`` (plus ``description``, ``note``,
``details``). Child processes use Qt's offscreen platform unless ``QT_QPA_PLATFORM`` is set or
a display exists (``--platform`` overrides).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from build_scripts.bench import datagen  # noqa: E402
from build_scripts.bench.stats import Result, format_table, median, percentile  # noqa: E402

BARE_WINDOW = REPO_ROOT / "build_scripts" / "bench" / "bare_window.py"
#: The bare window plus what PySide makes any app showing this window pay (informational).
FLOOR_WINDOW = REPO_ROOT / "build_scripts" / "bench" / "floor_window.py"
DIST_APP_DIR = REPO_ROOT / "dist" / "JockeyDesktop"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "jockey-bench-cache"
RESULT_PREFIX = "BENCH-RESULT: "
#: The issue's folder budget in MB (10^6 bytes, this table's unit), as build.py's
#: MAX_FOLDER_MB (issue 11 item 8: 135 MB); build.py fails a build above it.
PACKAGED_LIMIT_MB = 135.0
_CLOCK_LINE = re.compile(r"^startup-probe-clock: monotonic=([0-9.]+)$", re.M)
_PROBE_LINE = re.compile(r"^startup-probe: ([0-9.]+) ms", re.M)
_RSS_LINE = re.compile(r"^bare-window-rss-mb: ([0-9.]+)$", re.M)


class BenchError(RuntimeError):
    """A child process failed; the message carries its output."""


# --------------------------------------------------------------------------- configuration


class Config:
    """Sizes and run counts of one benchmark invocation."""

    def __init__(self, small: bool, runs: int | None) -> None:
        self.small = small
        if small:
            self.conversations, self.messages = 100, 1500
            self.start_runs = runs or 2
            self.gui_runs = runs or 1
            self.stream_runs = runs or 1
            self.words = 300
            self.keys = 20
            self.open_repeats = 1
            self.clicks, self.play_ms = 3, 1000
        else:
            self.conversations, self.messages = 10_000, 200_000
            self.start_runs = runs or 7
            self.gui_runs = runs or 5
            self.stream_runs = runs or 3
            self.words = 4000
            self.keys = 150
            self.open_repeats = 3
            self.clicks, self.play_ms = 10, 3000
        self.deltas_per_s = 200.0


def child_env(platform_name: str | None) -> dict[str, str]:
    """Environment of every child: repository on the path, a Qt platform that works here."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    if platform_name:
        env["QT_QPA_PLATFORM"] = platform_name
    elif "QT_QPA_PLATFORM" not in env and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
                                               or sys.platform in ("win32", "darwin")):
        env["QT_QPA_PLATFORM"] = "offscreen"
    # The app must not find a real key or a user's data dir through the environment.
    env.pop("TWELVELABS_API_KEY", None)
    env.pop("JOCKEY_DESKTOP_DATA_DIR", None)
    # Measure starts as an installed app makes them, with compiled bytecode (kept in the
    # cache folder, not the repository): with PYTHONDONTWRITEBYTECODE set, every start would
    # also time compiling the sources, which no installed or packaged app does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(DEFAULT_CACHE / "pycache"))
    return env


def run_child(cmd: Sequence[str], env: dict[str, str], timeout: float) -> tuple[str, float]:
    """Run a child; returns (stdout, time.monotonic() just before it was spawned)."""
    spawned = time.monotonic()
    proc = subprocess.run(list(cmd), env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])}… exited {proc.returncode}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout, spawned


def time_to_first_paint(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    """Milliseconds from spawning ``cmd`` to its printed first-paint clock, and its stdout."""
    out, spawned = run_child(cmd, env, timeout=120)
    match = _CLOCK_LINE.search(out)
    if match is None:
        probe = _PROBE_LINE.search(out)
        if probe is None:
            raise BenchError(f"no startup-probe line from {cmd[0]}:\n{out[-2000:]}")
        return float(probe.group(1)), out
    return (float(match.group(1)) - spawned) * 1000, out


#: Experiment flags passed to every GUI probe (``--what-if-*``); empty for real measures.
WHAT_IF: list[str] = []


def gui_probe(scenario: str, data_dir: Path, env: dict[str, str], *args: str,
              timeout: float = 600) -> dict[str, Any]:
    """Run one ``bench/gui_probe.py`` scenario in a fresh process; returns its result."""
    cmd = [sys.executable, "-m", "build_scripts.bench.gui_probe", scenario,
           "--data-dir", str(data_dir), *args, *WHAT_IF]
    out, _ = run_child(cmd, env, timeout=timeout)
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX):]))
    raise BenchError(f"gui probe {scenario} printed no result:\n{out[-2000:]}")


def progress(text: str) -> None:
    """A progress line on stderr (stdout carries the table)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- measures


def measure_cold_start(cfg: Config, data_dir: Path, env: dict[str, str],
                       reopen_id: int) -> tuple[list[Result], float]:
    """Measure 1, with two informational companions: the floor, and a start that reopens
    conversation ``reopen_id`` as the last one on screen (what most starts of a daily user
    are; the measure's data reopens none). Also returns the bare window's median RSS (MB) for
    measure 6."""
    app_cmd = [sys.executable, "-m", "jockey_desktop", "--startup-probe", "--sandbox",
               "--data-dir", str(data_dir)]
    bare_cmd = [sys.executable, str(BARE_WINDOW)]
    from jockey_desktop.paths import AppPaths  # here: it imports PySide

    floor_cmd = [sys.executable, str(FLOOR_WINDOW), str(AppPaths.under(data_dir).database)]
    # One warm-up of each: the first run after a build pays for disk cache and .pyc writes,
    # which is not what a user's second-and-later start costs.
    for cmd in (bare_cmd, app_cmd, floor_cmd):
        time_to_first_paint(cmd, env)
    app_ms: list[float] = []
    bare_ms: list[float] = []
    floor_ms: list[float] = []
    bare_rss: list[float] = []
    for i in range(cfg.start_runs):
        order = [(bare_cmd, bare_ms), (app_cmd, app_ms), (floor_cmd, floor_ms)]
        for cmd, sink in order if i % 2 == 0 else reversed(order):
            ms, out = time_to_first_paint(cmd, env)
            sink.append(ms)
            rss = _RSS_LINE.search(out)
            if rss and cmd is bare_cmd:
                bare_rss.append(float(rss.group(1)))
        progress(f"cold start run {i + 1}: app {app_ms[-1]:.0f} ms, bare {bare_ms[-1]:.0f} ms, "
                 f"floor {floor_ms[-1]:.0f} ms")
    ratios = [a / b for a, b in zip(app_ms, bare_ms, strict=True)]
    result = Result.from_runs(
        "cold_start_ratio", ratios, "×", 1.5,
        "1. cold start ÷ bare QMainWindow",
        app_ms=round(median(app_ms), 1), bare_ms=round(median(bare_ms), 1),
        app_ms_runs=[round(v, 1) for v in app_ms], bare_ms_runs=[round(v, 1) for v in bare_ms])
    result.note = (f"app {median(app_ms):.0f} ms vs bare window {median(bare_ms):.0f} ms "
                   "(process start → first paint, sidebar populated)")
    app_result = Result.from_runs("cold_start_app_ms", app_ms, "ms", None,
                                  "1. cold start, app (informational)")
    floor_result = floor_ratio_result("cold_start_floor_ratio", "1.", floor_ms, bare_ms)
    reopen_result = measure_reopened_start(cfg, data_dir, env, reopen_id, bare_cmd, app_cmd)
    bare_rss_mb = median(bare_rss) if bare_rss else float("nan")
    return [result, app_result, floor_result, reopen_result], bare_rss_mb



def measure_reopened_start(cfg: Config, data_dir: Path, env: dict[str, str], reopen_id: int,
                           bare_cmd: list[str], app_cmd: list[str]) -> Result:
    """The start that reopens a conversation (its newest page painted in the transcript),
    against the bare window, alternated like measure 1 (informational)."""
    from jockey_desktop.paths import AppPaths
    from jockey_desktop.settings import AppSettings

    settings = AppSettings(AppPaths.under(data_dir).settings_file)
    settings.last_conversation_id = reopen_id
    settings.sync()
    time_to_first_paint(app_cmd, env)
    app_ms: list[float] = []
    bare_ms: list[float] = []
    for i in range(cfg.start_runs):
        order = [(bare_cmd, bare_ms), (app_cmd, app_ms)]
        for cmd, sink in order if i % 2 == 0 else reversed(order):
            sink.append(time_to_first_paint(cmd, env)[0])
    ratios = [a / b for a, b in zip(app_ms, bare_ms, strict=True)]
    result = Result.from_runs("cold_start_reopened_ratio", ratios, "×", None,
                              "1. cold start reopening a conversation ÷ bare (informational)",
                              app_ms=round(median(app_ms), 1), bare_ms=round(median(bare_ms), 1))
    result.note = (f"app {median(app_ms):.0f} ms vs bare window {median(bare_ms):.0f} ms, the "
                   "big conversation reopened (its newest page shown)")
    return result


def floor_ratio_result(name: str, number: str, floor_ms: list[float],
                       bare_ms: list[float]) -> Result:
    """The floor window ÷ the bare window (informational): the share of the start that PySide
    makes any app showing this window pay, whatever its own code does."""
    ratios = [f / b for f, b in zip(floor_ms, bare_ms, strict=True)]
    result = Result.from_runs(name, ratios, "×", None,
                              f"{number} floor ÷ bare (PySide's share; informational)",
                              floor_ms=round(median(floor_ms), 1))
    result.note = (f"floor {median(floor_ms):.0f} ms: the bare window plus the Qt types, "
                   "SQLite read and stylesheet of the app's first paint, none of its code")
    return result


def measure_open_and_memory(cfg: Config, data_dir: Path, env: dict[str, str],
                            bare_rss: float) -> list[Result]:
    """Measures 2 and 6 (one fresh process per run)."""
    small: list[float] = []
    big: list[float] = []
    warm_big: list[float] = []
    settled_big: list[float] = []
    settled_small: list[float] = []
    rss: list[float] = []
    for i in range(cfg.gui_runs):
        r = gui_probe("open", data_dir, env, "--run-index", str(i),
                      "--repeats", str(cfg.open_repeats))
        small.append(r["cold_small_ms"])
        big.append(r["cold_big_ms"])
        warm_big.extend(r["warm_big_ms"])
        settled_big.append(r["settled_big_ms"])
        settled_small.append(r["settled_small_ms"])
        if r.get("rss_mb") is not None:
            rss.append(r["rss_mb"])
        progress(f"open run {i + 1}: 10 msgs {small[-1]:.1f} ms, 1,000 msgs {big[-1]:.1f} ms")
    ratios = [b / s for b, s in zip(big, small, strict=True)]
    results = [
        Result.from_runs("open_ratio", ratios, "×", 2.0,
                         "2. open 1,000-msg ÷ 10-msg conversation",
                         small_ms=round(median(small), 1), big_ms=round(median(big), 1)),
        Result.from_runs("open_big_ms", big, "ms", 50.0,
                         "2. open the 1,000-msg conversation",
                         warm_reopen_ms=round(median(warm_big), 1) if warm_big else None,
                         settled_ms=round(median(settled_big), 1),
                         small_settled_ms=round(median(settled_small), 1),
                         small_ms_runs=[round(v, 1) for v in small]),
    ]
    if rss:
        memory = Result.from_runs(
            "memory_rss_mb", rss, "MB", 150.0, "6. resident memory, big data + 1,000-msg open",
            bare_window_mb=round(bare_rss, 1),
            ratio_to_bare=round(median(rss) / bare_rss, 2) if bare_rss == bare_rss else None)
        memory.note = f"{median(rss) / bare_rss:.1f}× the bare window's {bare_rss:.0f} MB"
        results.append(memory)
    else:
        results.append(Result.skipped("memory_rss_mb", "MB", 150.0,
                                      "6. resident memory", "no /proc on this system"))
    return results


def measure_search(cfg: Config, data_dir: Path, env: dict[str, str]) -> list[Result]:
    """Measure 4."""
    per_run: list[float] = []
    keys: list[float] = []
    debounce = None
    for i in range(cfg.gui_runs):
        r = gui_probe("search", data_dir, env, "--run-index", str(i))
        per_run.append(median(r["search_to_paint_ms"]))
        keys.extend(r["search_to_paint_ms"])
        debounce = r["debounce_ms"]
        progress(f"search run {i + 1}: median {per_run[-1]:.1f} ms per keystroke")
    result = Result.from_runs(
        "search_keystroke_ms", per_run, "ms", 30.0, "4. sidebar search per keystroke",
        keystroke_p90_ms=round(percentile(keys, 90), 1), keystroke_max_ms=round(max(keys), 1),
        keystrokes=len(keys), debounce_ms=debounce)
    result.note = (f"search request → results painted; the sidebar waits {debounce} ms after "
                   "the last key before asking (debounce, not counted)")
    return [result]


def measure_stream(cfg: Config, data_dir: Path, env: dict[str, str]) -> list[Result]:
    """Measures 3 and 5."""
    common = ["--words", str(cfg.words), "--deltas-per-s", str(cfg.deltas_per_s)]
    p99: list[float] = []
    worst: list[float] = []
    detail: dict[str, Any] = {}
    for i in range(cfg.stream_runs):
        r = gui_probe("stream", data_dir, env, *common, "--run-index", str(i))
        gaps = r["gaps_ms"]
        p99.append(percentile(gaps, 99))
        worst.append(max(gaps))
        detail = {"answer_words": r["answer_words"], "stream_s": round(r["stream_s"], 1),
                  "answer_status": r["answer_status"], "ui_updates": r["ui_updates"]}
        progress(f"stream run {i + 1}: p99 gap {p99[-1]:.1f} ms, worst {worst[-1]:.1f} ms "
                 f"({r['answer_words']} words in {r['stream_s']:.1f} s)")
    typing_p99: list[float] = []
    typing_all: list[float] = []
    for i in range(cfg.stream_runs):
        r = gui_probe("typing", data_dir, env, *common, "--keys", str(cfg.keys),
                      "--run-index", str(i))
        lat = r["key_to_paint_ms"]
        if lat:
            typing_p99.append(percentile(lat, 99))
            typing_all.extend(lat)
        progress(f"typing run {i + 1}: {len(lat)} keys, p99 "
                 f"{percentile(lat, 99) if lat else float('nan'):.1f} ms")
    results = [
        Result.from_runs("stream_gap_p99_ms", p99, "ms", 16.0,
                         "3. streaming: event-loop gap p99", **detail),
        Result.from_runs("stream_gap_max_ms", worst, "ms", 50.0,
                         "3. streaming: worst event-loop gap", **detail),
    ]
    if typing_p99:
        results.append(Result.from_runs(
            "typing_p99_ms", typing_p99, "ms", 16.0, "5. typing while streaming: key → paint p99",
            median_ms=round(median(typing_all), 1), keys=len(typing_all)))
    else:
        results.append(Result.skipped("typing_p99_ms", "ms", 16.0, "5. typing while streaming",
                                      "the stream ended before any key was typed"))
    return results


def measure_ask(cfg: Config, data_dir: Path, env: dict[str, str]) -> list[Result]:
    """Measure 9: the first visible word against a bare SSE loop; a long Steps list."""
    added: list[float] = []
    app_all: list[float] = []
    bare_all: list[float] = []
    turns = "4" if cfg.small else "12"
    for i in range(cfg.stream_runs):
        r = gui_probe("first_word", data_dir, env, "--turns", turns, "--run-index", str(i))
        app, bare = r["app_ms"], r["bare_ms"]
        added.append(median(app) - median(bare))
        app_all.extend(app)
        bare_all.extend(bare)
        progress(f"first word run {i + 1}: app {median(app):.1f} ms, bare loop "
                 f"{median(bare):.1f} ms, added {added[-1]:.1f} ms")
    p99: list[float] = []
    worst: list[float] = []
    detail: dict[str, Any] = {}
    steps = "15" if cfg.small else "60"
    for i in range(cfg.stream_runs):
        r = gui_probe("steps_stream", data_dir, env, "--words", "300", "--steps", steps,
                      "--deltas-per-s", str(cfg.deltas_per_s), "--run-index", str(i))
        gaps = r["gaps_ms"]
        p99.append(percentile(gaps, 99))
        worst.append(max(gaps))
        detail = {"steps": r["steps"], "list_open": r["list_open"],
                  "stream_s": round(r["stream_s"], 1), "answer_status": r["answer_status"]}
        progress(f"steps stream run {i + 1}: p99 gap {p99[-1]:.1f} ms, worst "
                 f"{worst[-1]:.1f} ms ({r['steps']} steps, list open: {r['list_open']})")
    first = Result.from_runs(
        "first_word_added_ms", added, "ms", 10.0,
        "10. first visible word: the app's delay over a bare SSE loop (median)",
        app_ms=round(median(app_all), 1), bare_ms=round(median(bare_all), 1),
        app_ms_runs=[round(v, 1) for v in app_all], bare_ms_runs=[round(v, 1) for v in bare_all])
    first.note = (f"send → first word painted {median(app_all):.0f} ms vs request → first "
                  f"answer delta read {median(bare_all):.0f} ms (same sandbox stream, with "
                  "the agent's steps)")
    return [first,
            Result.from_runs("steps_stream_gap_p99_ms", p99, "ms", 16.0,
                             "10. a long Steps list streaming in (open): event-loop gap p99",
                             worst_ms=round(max(worst), 1), **detail)]


def measure_player(cfg: Config, data_dir: Path, env: dict[str, str],
                   earlier: list[Result]) -> list[Result]:
    """Measure 8, next to measure 3's chat-only gaps when this run measured them."""
    per_run: list[float] = []
    clicks: list[float] = []
    first: list[float] = []
    deltas: list[float] = []
    chat_only: list[float] = []
    playing: list[float] = []
    for i in range(cfg.gui_runs):
        r = gui_probe("player", data_dir, env, "--clicks", str(cfg.clicks),
                      "--play-ms", str(cfg.play_ms), "--run-index", str(i))
        times = r["click_to_frame_ms"]
        per_run.append(median(times))
        clicks.extend(times)
        first.append(times[0])
        if r.get("chat_only_rss_mb") is not None and r.get("playing_rss_mb") is not None:
            chat_only.append(r["chat_only_rss_mb"])
            playing.append(r["playing_rss_mb"])
            deltas.append(r["playing_rss_mb"] - r["chat_only_rss_mb"])
        if r.get("key_leaks"):
            raise BenchError(f"{r['key_leaks']} media requests carried the API key")
        progress(f"player run {i + 1}: click → frame median {per_run[-1]:.0f} ms "
                 f"(first, building the player: {times[0]:.0f} ms), {r['videos']} videos")
    click = Result.from_runs(
        "player_click_to_frame_ms", per_run, "ms", 300.0,
        f"8. chip click → first frame at the moment ({cfg.clicks} clicks across videos)",
        first_click_ms=round(median(first), 1), click_p90_ms=round(percentile(clicks, 90), 1),
        click_max_ms=round(max(clicks), 1), clicks=len(clicks))
    click.note = (f"the first click also builds the player: {median(first):.0f} ms; "
                  f"90% of clicks within {percentile(clicks, 90):.0f} ms")
    results = [click]
    if deltas:
        memory = Result.from_runs(
            "player_memory_delta_mb", deltas, "MB", 80.0,
            "8. resident memory, video playing − chat only",
            chat_only_mb=round(median(chat_only), 1), playing_mb=round(median(playing), 1))
        memory.note = (f"{median(playing):.0f} MB playing vs {median(chat_only):.0f} MB "
                       "before the first click, same process")
        results.append(memory)
    else:
        results.append(Result.skipped("player_memory_delta_mb", "MB", 80.0,
                                      "8. resident memory with the player",
                                      "no /proc on this system"))
    common = ["--words", str(cfg.words), "--deltas-per-s", str(cfg.deltas_per_s)]
    p99: list[float] = []
    worst: list[float] = []
    painted: list[int] = []
    for i in range(cfg.stream_runs):
        r = gui_probe("player_stream", data_dir, env, *common, "--run-index", str(i))
        gaps = r["gaps_ms"]
        p99.append(percentile(gaps, 99))
        worst.append(max(gaps))
        painted.append(r["frames_painted"])
        progress(f"player + stream run {i + 1}: p99 gap {p99[-1]:.1f} ms, worst "
                 f"{worst[-1]:.1f} ms, {r['frames_painted']} frames painted")
    alone = {r.name: r.value for r in earlier}
    side = {"stream_alone_p99_ms": alone.get("stream_gap_p99_ms"),
            "stream_alone_max_ms": alone.get("stream_gap_max_ms")}
    gap = Result.from_runs("player_stream_gap_p99_ms", p99, "ms", 16.0,
                           "8. video playing + streaming: event-loop gap p99",
                           frames_painted=painted, **side)
    worst_gap = Result.from_runs("player_stream_gap_max_ms", worst, "ms", 50.0,
                                 "8. video playing + streaming: worst event-loop gap", **side)
    if side["stream_alone_p99_ms"] is not None:
        gap.note = f"streaming alone in this run: p99 {side['stream_alone_p99_ms']:.1f} ms"
        worst_gap.note = f"streaming alone in this run: {side['stream_alone_max_ms']:.1f} ms"
    return [*results, gap, worst_gap]


UPLOAD_PROBE = "build_scripts.bench.upload_probe"


class _UploadServer:
    """A sandbox in its own process (see ``upload_probe server``); closed with the context."""

    def __init__(self, chunk_size: int, state_dir: Path, env: dict[str, str]) -> None:
        self.state_dir = state_dir
        self._proc = subprocess.Popen(
            [sys.executable, "-m", UPLOAD_PROBE, "server", "--chunk-size", str(chunk_size),
             "--state-dir", str(state_dir)],
            env=env, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline().strip() if self._proc.stdout else ""
        if not line.startswith("http"):
            self.close()
            raise BenchError(f"the upload server did not start: {line!r}")
        self.base_url = line

    def clear_files(self) -> None:
        """Drop what earlier runs uploaded (a 1 GB run leaves 1 GB on disk)."""
        for pattern in ("*.bin", "*.part"):
            for path in self.state_dir.rglob(pattern):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the server process."""
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> _UploadServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def _upload_child(scenario: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    out, _ = run_child([sys.executable, "-m", UPLOAD_PROBE, scenario, *args], env,
                       timeout=1800)
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX):]))
    raise BenchError(f"upload probe {scenario} printed no result:\n{out[-2000:]}")


def measure_uploads(cfg: Config, env: dict[str, str]) -> list[Result]:
    """Measure 8: upload throughput against a bare PUT, event-loop gaps, memory growth."""
    size = 64 * 1024**2 if cfg.small else 1024**3
    big = 128 * 1024**2 if cfg.small else 3 * 1024**3
    runs = cfg.stream_runs
    app_env = dict(env, TWELVELABS_API_KEY="sandbox")
    work = Path(tempfile.mkdtemp(prefix="jockey-bench-upload-"))
    try:
        source = _sparse_file(work / "match.mp4", size)
        ratios: list[float] = []
        app_rates: list[float] = []
        bare_rates: list[float] = []
        gaps: list[float] = []
        with _UploadServer(size + 1, work / "bare-server", env) as bare_server, \
                _UploadServer(8 * 1024**2, work / "app-server", env) as app_server:
            for i in range(runs):
                order = ["bare", "app"] if i % 2 == 0 else ["app", "bare"]
                outcome: dict[str, dict[str, Any]] = {}
                for which in order:
                    if which == "bare":
                        outcome["bare"] = _upload_child(
                            "bare", env, "--base", bare_server.base_url, "--file", str(source))
                        bare_server.clear_files()
                    else:
                        outcome["app"] = _upload_child(
                            "app", app_env, "--base", app_server.base_url, "--file",
                            str(source), "--data-dir", str(work / f"app-data-{i}"))
                        app_server.clear_files()
                app, bare = outcome["app"], outcome["bare"]
                ratios.append(app["seconds"] / bare["seconds"])
                app_rates.append(size / app["seconds"] / 1e6)
                bare_rates.append(size / bare["seconds"] / 1e6)
                gaps.extend(app["gaps_ms"])
                progress(f"upload run {i + 1}: app {app_rates[-1]:.0f} MB/s in "
                         f"{app['chunks']} chunks, bare PUT {bare_rates[-1]:.0f} MB/s")
            progress(f"upload memory: {big / 1e9:.2f} GB sparse file")
            grown = _upload_child("app", app_env, "--base", app_server.base_url, "--file",
                                  str(_sparse_file(work / "long-match.mp4", big)),
                                  "--data-dir", str(work / "app-data-big"))
            app_server.clear_files()
        throughput = [1 / r for r in ratios]
        ratio = Result.from_runs(
            "upload_time_ratio", ratios, "×", 1.25,
            f"9. upload {size / 1e9:.2f} GB ÷ bare requests PUT (time)",
            throughput_ratio=[round(t, 3) for t in throughput],
            app_mb_per_s=[round(v, 1) for v in app_rates],
            bare_mb_per_s=[round(v, 1) for v in bare_rates])
        ratio.note = (f"throughput {median(throughput):.2f}× a bare PUT (≥ 0.8 wanted): app "
                      f"{median(app_rates):.0f} MB/s, bare {median(bare_rates):.0f} MB/s")
        gap = Result.from_runs("upload_gap_p99_ms", [percentile(gaps, 99)], "ms", 16.0,
                               "9. event-loop gap during uploads, p99",
                               max_ms=round(max(gaps), 1), beats=len(gaps))
        growth = grown["rss_peak_mb"] - grown["rss_before_mb"]
        memory = Result.from_runs(
            "upload_rss_growth_mb", [growth], "MB", 50.0,
            f"9. resident set growth, {big / 1e9:.2f} GB sparse upload",
            before_mb=round(grown["rss_before_mb"], 1), peak_mb=round(grown["rss_peak_mb"], 1),
            seconds=round(grown["seconds"], 1), chunks=grown["chunks"])
        return [ratio, gap, memory]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def folder_size_mb(folder: Path) -> float:
    """Total size under ``folder`` in MB (1,000,000 bytes), counted as build.py's size report
    counts it: every file, a symlink as its link only."""
    return sum(p.lstat().st_size for p in folder.rglob("*")
               if p.is_symlink() or p.is_file()) / 1e6


def frozen_baseline(cache: Path, env: dict[str, str], script: Path, name: str) -> Path | None:
    """A baseline script (the bare or the floor window) frozen like the app (PyInstaller
    one-folder, windowed, the app's Python and Qt excludes); built once into the cache. None
    when PyInstaller is missing."""
    try:
        import PySide6
    except ImportError:
        return None
    target = cache / f"frozen-{script.stem}-{PySide6.__version__}"
    exe = target / "dist" / name / (f"{name}.exe" if os.name == "nt" else name)
    if exe.is_file():
        return exe
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        return None
    sys.path.insert(0, str(REPO_ROOT / "build_scripts"))
    try:
        import build as app_build  # the app's trimming rules: the same excludes

        excludes = [*app_build.PYTHON_EXCLUDES, *app_build.QT_MODULE_EXCLUDES]
    except Exception:  # an older build.py: freeze without excludes
        excludes = []
    finally:
        sys.path.pop(0)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--onedir", "--windowed",
           "--name", name, "--distpath", str(target / "dist"),
           # The floor window imports its sibling, the bare window.
           "--paths", str(script.parent),
           "--workpath", str(target / "work"), "--specpath", str(target),
           "--hidden-import", "jockey_desktop.startup_probe",
           *(f"--exclude-module={m}" for m in excludes), str(script)]
    progress(f"freezing {script.name} with PyInstaller (once; cached)")
    subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, check=True, timeout=900)
    return exe if exe.is_file() else None


def measure_packaged(cfg: Config, data_dir: Path, env: dict[str, str],
                     cache: Path) -> list[Result]:
    """Measure 7 (skipped with a note when ``dist/`` holds no build)."""
    exe = DIST_APP_DIR / ("JockeyDesktop.exe" if os.name == "nt" else "JockeyDesktop")
    if not exe.is_file():
        return [Result.skipped("packaged_size_mb", "MB", PACKAGED_LIMIT_MB,
                               "7. packaged app folder size (with the player)",
                               "no build in dist/ (python build_scripts/build.py)"),
                Result.skipped("packaged_cold_start_ratio", "×", 1.5,
                               "7. packaged cold start ÷ frozen bare window",
                               "no build in dist/")]
    size_mb = folder_size_mb(DIST_APP_DIR)
    size = Result.from_runs("packaged_size_mb", [size_mb], "MB", PACKAGED_LIMIT_MB,
                            "7. packaged app folder size (with the player)",
                            folder_mib=round(size_mb * 1e6 / 2**20, 1))
    size.note = (f"{size_mb * 1e6 / 2**20:.1f} MiB; the budget (build.py's too) is "
                 f"{PACKAGED_LIMIT_MB:.0f} MB ({PACKAGED_LIMIT_MB * 1e6 / 2**20:.1f} MiB)")
    results = [size]
    if cfg.small:
        results.append(Result.skipped(
            "packaged_cold_start_ratio", "×", 1.5, "7. packaged cold start ÷ frozen bare window",
            "not in --small runs (freezing the baseline takes minutes)"))
        return results
    try:
        bare = frozen_baseline(cache, env, BARE_WINDOW, "BareWindow")
        floor = frozen_baseline(cache, env, FLOOR_WINDOW, "FloorWindow")
    except (subprocess.SubprocessError, OSError) as exc:
        bare = floor = None
        progress(f"could not freeze the baseline windows: {exc}")
    if bare is None or floor is None:
        results.append(Result.skipped(
            "packaged_cold_start_ratio", "×", 1.5, "7. packaged cold start ÷ frozen bare window",
            "PyInstaller is not installed (pip install -e .[build])"))
        return results
    from jockey_desktop.paths import AppPaths  # here: it imports PySide

    app_cmd = [str(exe), "--startup-probe", "--sandbox", "--data-dir", str(data_dir)]
    bare_cmd = [str(bare)]
    floor_cmd = [str(floor), str(AppPaths.under(data_dir).database)]
    try:
        time_to_first_paint(app_cmd, env)
    except BenchError as exc:
        results.append(Result.skipped(
            "packaged_cold_start_ratio", "×", 1.5, "7. packaged cold start ÷ frozen bare window",
            f"the build in dist/ cannot run --startup-probe ({str(exc).splitlines()[0]})"))
        return results
    time_to_first_paint(bare_cmd, env)
    time_to_first_paint(floor_cmd, env)
    app_ms: list[float] = []
    bare_ms: list[float] = []
    floor_ms: list[float] = []
    for i in range(cfg.start_runs):
        order = [(bare_cmd, bare_ms), (app_cmd, app_ms), (floor_cmd, floor_ms)]
        for cmd, sink in order if i % 2 == 0 else reversed(order):
            sink.append(time_to_first_paint(cmd, env)[0])
    ratios = [a / b for a, b in zip(app_ms, bare_ms, strict=True)]
    result = Result.from_runs(
        "packaged_cold_start_ratio", ratios, "×", 1.5,
        "7. packaged cold start ÷ frozen bare window",
        app_ms=round(median(app_ms), 1), bare_ms=round(median(bare_ms), 1),
        bare_folder_mb=round(folder_size_mb(bare.parent), 1))
    result.note = f"frozen app {median(app_ms):.0f} ms vs frozen bare {median(bare_ms):.0f} ms"
    results.append(result)
    results.append(floor_ratio_result("packaged_cold_start_floor_ratio", "7.", floor_ms,
                                      bare_ms))
    return results


# --------------------------------------------------------------------------- main


def machine_description() -> str:
    """CPU, cores, OS and versions, for the README's table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        import PySide6

        qt = f"PySide6 {PySide6.__version__}"
    except ImportError:
        qt = "PySide6 ?"
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {qt}")


def run(cfg: Config, cache: Path, env: dict[str, str], only: set[str] | None = None
        ) -> list[Result]:
    """Every measure in order; returns the results."""
    progress(f"data: {cfg.conversations:,} conversations, {cfg.messages:,} messages")
    built = datagen.cached_data_dir(cache, cfg.conversations, cfg.messages)
    work = Path(tempfile.mkdtemp(prefix="jockey-bench-"))
    try:
        results: list[Result] = []
        bare_rss = float("nan")

        def fresh(name: str) -> Path:
            # Each family of measures gets a pristine copy: runs add replies and settings.
            return Path(datagen.copy_data_dir(built, work / name).data_dir)

        wanted = only or {"start", "open", "search", "stream", "player", "ask", "packaged",
                          "upload"}
        if "start" in wanted or "open" in wanted:
            progress("1. cold start")
            start_results, bare_rss = measure_cold_start(cfg, fresh("start"), env,
                                                         reopen_id=built.big_id)
            if "start" in wanted:
                results.extend(start_results)
        if "open" in wanted:
            progress("2. open + 6. memory")
            results.extend(measure_open_and_memory(cfg, fresh("open"), env, bare_rss))
        if "search" in wanted:
            progress("4. search")
            results.extend(measure_search(cfg, fresh("search"), env))
        if "stream" in wanted:
            progress("3. streaming + 5. typing")
            results.extend(measure_stream(cfg, fresh("stream"), env))
        if "player" in wanted:
            progress("8. player (click → frame, playing + streaming, memory)")
            results.extend(measure_player(cfg, fresh("player"), env, results))
        if "ask" in wanted:
            progress("10. asking (first visible word vs a bare SSE loop, a long Steps list)")
            results.extend(measure_ask(cfg, fresh("ask"), env))
        if "packaged" in wanted:
            progress("7. packaged app")
            results.extend(measure_packaged(cfg, fresh("packaged"), env, cache))
        if "upload" in wanted:
            progress("8. uploads")
            results.extend(measure_uploads(cfg, env))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON; 0 unless a measure crashed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="tiny data and 1–2 runs (CI: proves the harness runs)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the results here")
    parser.add_argument("--runs", type=int, help="runs per measure (default 7/5/3; small 2/1)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help=f"where built data and the frozen baseline are kept "
                             f"(default {DEFAULT_CACHE})")
    parser.add_argument("--only", action="append",
                        choices=["start", "open", "search", "stream", "player", "ask",
                                 "packaged", "upload"],
                        help="run only these measures (repeatable)")
    parser.add_argument("--platform", help="Qt platform of the children (default: offscreen "
                                           "when there is no display)")
    parser.add_argument("--what-if-tail", type=int, metavar="N",
                        help="EXPERIMENT (sizes a fix, does not measure the app as built): the "
                             "transcript shows only the newest N messages")
    parser.add_argument("--what-if-clip", action="store_true",
                        help="EXPERIMENT: message documents drawn clipped to the viewport")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    WHAT_IF.clear()
    if args.what_if_tail:
        WHAT_IF.extend(["--what-if-tail", str(args.what_if_tail)])
    if args.what_if_clip:
        WHAT_IF.append("--what-if-clip")
    if WHAT_IF:
        progress(f"EXPERIMENT {' '.join(WHAT_IF)}: GUI numbers are NOT the app as built")
    cfg = Config(args.small, args.runs)
    env = child_env(args.platform)
    started = time.monotonic()
    # Other processes on the machine skew every number: the JSON records how busy it was.
    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = run(cfg, args.cache_dir, env, set(args.only) if args.only else None)
    machine = machine_description()
    if WHAT_IF:
        print(f"EXPERIMENT ({' '.join(WHAT_IF)}): not the app as built.\n")
    print(format_table(results))
    load = f"; load average at start {load_at_start:.2f}" if load_at_start is not None else ""
    print(f"\nMachine: {machine}{load}; Qt platform: {env.get('QT_QPA_PLATFORM', 'default')}; "
          f"{'small' if cfg.small else 'full'} run in {time.monotonic() - started:.0f} s.")
    if args.json:
        payload = {"machine": machine, "small": cfg.small, "what_if": WHAT_IF or None,
                   "load_average_at_start": load_at_start,
                   "qt_platform": env.get("QT_QPA_PLATFORM"),
                   "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                   "results": [r.to_json() for r in results]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
