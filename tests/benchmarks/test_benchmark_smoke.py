"""The benchmark harness runs end to end at a tiny size and writes valid JSON (no timing
assertions: benchmarks print numbers, they are not timed tests)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from build_scripts import benchmark  # noqa: E402
from build_scripts.bench import datagen  # noqa: E402
from build_scripts.bench.stats import Result, format_table, percentile  # noqa: E402

#: Every measure of the harness, by the ``--only`` families that produce it. The small run is
#: split by family so that xdist runs the parts on separate workers at once: as one run it took
#: 55–90 s on one worker (its children mostly wait on paced streams), which set a floor under
#: the whole suite. Together the parts run every measure, and each part checks its own.
PARTS: dict[tuple[str, ...], set[str]] = {
    ("start", "open", "packaged", "upload"): {
        "cold_start_ratio", "cold_start_app_ms", "cold_start_floor_ratio",
        "cold_start_reopened_ratio", "open_ratio", "open_big_ms", "memory_rss_mb",
        "packaged_size_mb", "packaged_cold_start_ratio",
        "upload_time_ratio", "upload_gap_p99_ms", "upload_rss_growth_mb"},
    ("search", "stream"): {"search_keystroke_ms", "stream_gap_p99_ms", "stream_gap_max_ms",
                           "typing_p99_ms"},
    ("player",): {"player_click_to_frame_ms", "player_memory_delta_mb",
                  "player_stream_gap_p99_ms", "player_stream_gap_max_ms"},
    ("ask",): {"first_word_added_ms", "steps_stream_gap_p99_ms"},
}

EXPECTED = {"cold_start_ratio", "cold_start_app_ms", "cold_start_floor_ratio",
            "cold_start_reopened_ratio", "open_ratio", "open_big_ms",
            "memory_rss_mb", "search_keystroke_ms", "stream_gap_p99_ms", "stream_gap_max_ms",
            "typing_p99_ms", "packaged_size_mb", "packaged_cold_start_ratio",
            "player_click_to_frame_ms", "player_memory_delta_mb", "player_stream_gap_p99_ms",
            "player_stream_gap_max_ms",
            "upload_time_ratio", "upload_gap_p99_ms", "upload_rss_growth_mb",
            "first_word_added_ms", "steps_stream_gap_p99_ms"}

#: The GUI measures really drove the app: these can only be skipped by a crash.
NEVER_SKIPPED = {"cold_start_ratio", "cold_start_floor_ratio", "cold_start_reopened_ratio",
                 "open_big_ms", "search_keystroke_ms",
                 "stream_gap_p99_ms", "typing_p99_ms", "player_click_to_frame_ms",
                 "player_stream_gap_p99_ms", "upload_time_ratio",
                 "upload_gap_p99_ms", "upload_rss_growth_mb"}

#: Measures that are a difference of two timings (the app's against a bare loop's): noise
#: can make them negative, so instead of being positive they must be exactly that difference
#: of the two medians, each positive, that the record holds in its details.
DIFFERENCES = {"first_word_added_ms": ("app_ms", "bare_ms")}

FIELDS = ("name", "value", "unit", "target", "met", "min", "max", "runs")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data cache for the parts that run on this worker (the data is built once)."""
    return tmp_path_factory.mktemp("bench-cache")


def test_the_parts_run_every_measure_once_and_every_family(
        capsys: pytest.CaptureFixture[str]) -> None:
    names = [name for measures in PARTS.values() for name in measures]
    assert len(names) == len(set(names)) and set(names) == EXPECTED
    # The families the harness offers are exactly those the parts run, each once.
    with pytest.raises(SystemExit):
        benchmark.main(["--help"])
    offered = re.search(r"--only \{([a-z,]+)\}", capsys.readouterr().out)
    assert offered is not None
    families = [family for part in PARTS for family in part]
    assert sorted(families) == sorted(offered.group(1).split(","))


@pytest.mark.slow
@pytest.mark.parametrize("part", list(PARTS), ids="+".join)
def test_small_run_writes_every_measure_as_valid_json(
        part: tuple[str, ...], tmp_path: Path, bench_cache: Path) -> None:
    out = tmp_path / "bench.json"
    only = [arg for family in part for arg in ("--only", family)]
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "build_scripts" / "benchmark.py"), "--small",
         "--runs", "1", *only, "--json", str(out), "--cache-dir", str(bench_cache)],
        env=_child_env(), capture_output=True, text=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = json.loads(out.read_text(encoding="utf-8"))
    results = {r["name"]: r for r in payload["results"]}
    assert set(results) == PARTS[part]
    for name, r in results.items():
        assert all(key in r for key in FIELDS), name
        if r["value"] is None:  # skipped: says why, claims nothing
            assert r["note"] and r["met"] is None and r["runs"] == 0, name
            continue
        assert r["runs"] >= 1, name
        if name in DIFFERENCES:
            app, bare = (r["details"][key] for key in DIFFERENCES[name])
            assert app > 0 and bare > 0, name
            # One run: the value is the difference of the medians (shown rounded to 0.1).
            assert r["value"] == pytest.approx(app - bare, abs=0.11), name
        else:
            assert math.isfinite(r["value"]) and r["value"] > 0, name
        assert r["min"] <= r["value"] <= r["max"], name
        if r["target"] is None:
            assert r["met"] is None, name
        else:
            assert r["met"] is (r["value"] <= r["target"]), name
    for name in NEVER_SKIPPED & PARTS[part]:
        assert results[name]["value"] is not None, name
    if "stream" in part:
        assert results["stream_gap_p99_ms"]["details"]["answer_status"] == "complete"
    # The table went to stdout with one row per measure.
    assert proc.stdout.count("\n| ") >= len(PARTS[part])


def test_startup_probe_prints_the_time_to_first_paint(tmp_path: Path) -> None:
    info = datagen.build_data_dir(tmp_path / "data", conversations=3, messages=1010 + 4)
    proc = subprocess.run(
        [sys.executable, "-m", "jockey_desktop", "--startup-probe", "--data-dir",
         info.data_dir], env=_child_env(), capture_output=True, text=True, timeout=60,
        check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = proc.stdout.splitlines()[0]
    assert first.startswith("startup-probe: ") and first.endswith(" ms to first paint"), first
    milliseconds = float(first.split()[1])
    assert 0 < milliseconds < 60_000


def test_data_builder_goes_through_the_repository(tmp_path: Path) -> None:
    from jockey_desktop.core.storage import Role, open_repository

    info = datagen.build_data_dir(tmp_path / "d", conversations=5, messages=1010 + 9)
    repo = open_repository(Path(info.data_dir) / "conversations.sqlite3",
                           Path(info.data_dir) / "backups")
    try:
        assert repo.count_conversations() == 5
        big = repo.list_messages(info.big_id)
        small = repo.list_messages(info.small_id)
        assert (len(big), len(small)) == (1000, 10)
        answer = next(m for m in big if m.role == Role.ASSISTANT)
        assert answer.citations and "**" in answer.text and "- " in answer.text
        for citation in answer.citations:
            marker = answer.text[citation["marker_start"]:citation["marker_end"]]
            assert marker.startswith("[") and marker.endswith("]")
        assert sum(s.message_count for s in repo.list_conversations()) == 1019
        # The newest conversations are the two named ones, so the sidebar lists them first.
        top = [s.conversation.id for s in repo.list_conversations(limit=2)]
        assert top == [info.big_id, info.small_id] or info.big_id in top
    finally:
        repo.close()


def test_percentile_interpolates_and_the_result_record_judges_the_target() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(101)), 99) == 99
    with pytest.raises(ValueError):
        percentile([], 50)
    over = Result.from_runs("x", [10, 30, 20], "ms", 16.0, "x")
    assert (over.value, over.min, over.max, over.runs, over.met) == (20, 10, 30, 3, False)
    assert Result.from_runs("y", [3.0], "ms", None, "y").met is None
    table = format_table([over, Result.skipped("z", "ms", 1.0, "z", "no build")])
    assert "**no**" in table and "skipped: no build" in table
