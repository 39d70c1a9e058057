"""``python -m jockey_desktop --self-test`` as CI and the packaged app run it: a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env_extra: dict[str, str] | None = None,
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "jockey_desktop", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_self_test_passes_with_one_summary_line_and_no_noise(tmp_path: Path) -> None:
    result = run_cli("--self-test", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"self-test OK: 3 turns, 1 session, \d+ citations, played \d\d:\d\d, \d+\.\d s\n",
        result.stdout)
    assert result.stderr == ""  # the packaged build fails on unexpected stderr
    # It ran the real storage path: the conversation is in the data dir's database.
    assert (tmp_path / "data" / "conversations.sqlite3").exists()


def test_self_test_fails_with_the_reason(tmp_path: Path, sandbox: Any) -> None:
    result = run_cli("--self-test", "--data-dir", str(tmp_path / "data"),
                     "--api-base", sandbox.base_url,
                     env_extra={"TWELVELABS_API_KEY": "tlk_not_a_real_key"})
    assert result.returncode == 1
    assert result.stderr.startswith("self-test FAILED: ")
    assert "Your API key was rejected" in result.stderr
    assert "tlk_not_a_real_key" not in result.stderr + result.stdout


def test_help_and_version_answer_without_starting_the_app() -> None:
    result = run_cli("--help", timeout=30)
    assert result.returncode == 0
    for option in ("--sandbox", "--api-base", "--data-dir", "--self-test"):
        assert option in result.stdout
    version = run_cli("--version", timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("Jockey Desktop ")
