"""``python -m jockey_desktop.sandbox``: prints the base URL first, serves, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from jockey_desktop.sandbox.__main__ import build_parser, main


def test_cli_prints_url_then_serves(tmp_path: Path) -> None:
    env = {**os.environ, "NO_PROXY": "*"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jockey_desktop.sandbox", "--port", "0", "--pace", "instant",
         "--keepalive-style", "comment",
         "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:") and first.endswith("/v1.3")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(urllib.request.Request(first + "/knowledge-stores",
                                                headers={"x-api-key": "sandbox"}),
                         timeout=10) as reply:
            store = next(s["_id"] for s in json.load(reply)["data"]
                         if s["name"] == "Nature documentaries")
        body = {"knowledge_store_id": store, "stream": True,
                "input": [{"type": "message", "role": "user", "content": "cheetah"}]}
        request = urllib.request.Request(
            first + "/responses", data=json.dumps(body).encode(), method="POST",
            headers={"x-api-key": "sandbox", "Content-Type": "application/json"})
        with opener.open(request, timeout=10) as reply:
            text = reply.read().decode()
        assert text.startswith("event: response.created") and text.endswith("data: [DONE]\n\n")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert list((tmp_path / "state" / "sessions").glob("sess_*.json"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_cli_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.api_key, args.state_dir) == ("127.0.0.1", 0, "sandbox",
                                                                     None)
    assert (args.keepalive_interval, args.keepalive_style) == (10.0, "event")


@pytest.mark.parametrize("argv", [
    ["--keepalive-interval", "nan"], ["--keepalive-interval", "inf"],
    ["--keepalive-interval", "-inf"], ["--keepalive-interval", "0"],
    ["--port", "65536"], ["--port", "-1"], ["--port", "9" * 5000],
])
def test_cli_refuses_odd_numbers_with_exit_2(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusal (not an integer at all)
        code = exc.code
    assert code == 2
    assert "jockey-sandbox" in capsys.readouterr().err
