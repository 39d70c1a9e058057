"""Fault injection: each fault behaves as documented, counts its uses and honours filters."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from jockey_desktop.sandbox import Fault, FaultKind, Pace, SandboxServer
from tests.helpers.sandbox_http import NATURE, Api, answer_part, body_for, parse_sse


def test_forced_error_statuses(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.error(500))
    sandbox.faults.add(Fault.error(403, "api_not_allowed", "Not for your plan.",
                                   path="/knowledge-stores"))
    response = api.post(body_for(nature_id))
    assert response.status_code == 500
    assert response.json()["code"] == "internal_server_error"
    assert "Traceback" not in response.text
    response = api.get("/knowledge-stores")
    assert response.status_code == 403
    assert response.json() == {"code": "api_not_allowed", "message": "Not for your plan.",
                               "docs_url": response.json()["docs_url"]}
    # Both were single-use.
    assert api.post(body_for(nature_id)).status_code == 200
    assert api.get("/knowledge-stores").status_code == 200
    assert len(sandbox.faults) == 0


def test_503_with_retry_after(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.error(503, "service_unavailable", retry_after=4))
    response = api.post(body_for(nature_id))
    assert response.status_code == 503 and response.headers["Retry-After"] == "4"


def test_rate_limit(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    fault = sandbox.faults.add(Fault.rate_limit(retry_after=7, times=2, path="/responses"))
    for _ in range(2):
        response = api.post(body_for(nature_id))
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        body = response.json()
        assert body["code"] == "too_many_requests"
        assert body["message"].endswith("Please try again later after 7 seconds.")
    assert fault.fired == 2
    assert api.get("/knowledge-stores").status_code == 200  # other path untouched
    assert api.post(body_for(nature_id)).status_code == 200


def test_latency(sandbox: SandboxServer, api: Api) -> None:
    fault = sandbox.faults.add(Fault.latency(0.3, method="GET"))
    started = time.monotonic()
    assert api.get("/knowledge-stores").status_code == 200
    assert time.monotonic() - started >= 0.3
    assert fault.fired == 1 and len(sandbox.faults) == 0


def test_stream_fails_midway(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.fail_midway(after_deltas=2, code="agent_error",
                                         message="The agent crashed."))
    events = api.stream(nature_id, "What are the main themes?")
    names = [e.event for e in events]
    assert names.count("response.output_text.delta") == 2
    assert names[-2] == "response.failed" and events[-1].data == "[DONE]"
    failed = events[-2].json["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "agent_error", "message": "The agent crashed."}
    # A non-streamed request is not affected by a stream-only fault... and it was used up.
    assert api.ask(nature_id, "cheetah", stream=True).text.endswith("data: [DONE]\n\n")


def test_fail_midway_ignores_json_requests(sandbox: SandboxServer, api: Api,
                                           nature_id: str) -> None:
    fault = sandbox.faults.add(Fault.fail_midway())
    assert api.ask(nature_id, "cheetah").json()["status"] == "completed"
    assert fault.fired == 0 and len(sandbox.faults) == 1


def test_stream_cut_without_done(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.cut_stream(after_deltas=3))
    response = api.ask(nature_id, "What are the main themes?", stream=True)
    raw = response.content.decode("utf-8")
    events, _ = parse_sse(raw)
    names = [e.event for e in events]
    assert names.count("response.output_text.delta") == 3
    assert "[DONE]" not in raw
    assert not {"response.completed", "response.failed"} & set(names)


def test_cut_before_a_json_reply(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.cut_stream(stream=False))
    with pytest.raises(requests.ConnectionError):
        api.ask(nature_id, "cheetah")
    assert api.ask(nature_id, "cheetah").status_code == 200


def test_malformed_json_body(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.malformed_json(path="/responses"))
    response = api.ask(nature_id, "cheetah")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_malformed_sse_line(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.malformed_json(after_deltas=1, stream=True))
    raw = api.ask(nature_id, "cheetah", stream=True).content.decode("utf-8")
    events, _ = parse_sse(raw)
    broken = []
    for event in events:
        try:
            json.loads(event.data) if event.data != "[DONE]" else None
        except ValueError:
            broken.append(event)
    assert len(broken) == 1
    assert events[-1].data == "[DONE]"


def test_silent_stall_sends_nothing(tmp_path: Path) -> None:
    # Keep-alives are due every 0.05 s, yet a stall must stay completely silent.
    sandbox = SandboxServer(state_dir=tmp_path / "s", pace=Pace(keepalive_interval=0.05))
    sandbox.start()
    try:
        _check_stall(sandbox)
    finally:
        sandbox.stop()


def _check_stall(sandbox: SandboxServer) -> None:
    with Api(sandbox.base_url) as api:
        nature_id = api.store_id(NATURE)
    sandbox.faults.add(Fault.stall(seconds=1.0, path="/responses"))
    parts = urlsplit(sandbox.base_url)
    body = json.dumps(body_for(nature_id, "cheetah", stream=True)).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"POST /v1.3/responses HTTP/1.1\r\nHost: x\r\nx-api-key: sandbox\r\n"
                     b"Content-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        received = b""
        while b"response.in_progress" not in received:
            received += sock.recv(65536)
        # Drain what was already sent along with in_progress, then expect silence.
        sock.settimeout(0.1)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        assert b"output_text.delta" not in received
        sock.settimeout(0.6)
        with pytest.raises(TimeoutError):
            sock.recv(65536)
        sock.settimeout(5)
        rest = b""
        while b"[DONE]" not in rest:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        assert b"response.completed" in rest


def test_stall_delays_a_json_reply(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    sandbox.faults.add(Fault.stall(seconds=0.3, stream=False))
    started = time.monotonic()
    assert answer_part(api.ask(nature_id, "cheetah").json())["text"]
    assert time.monotonic() - started >= 0.3


def test_unlimited_fault_until_removed(sandbox: SandboxServer, api: Api) -> None:
    fault = sandbox.faults.add(Fault.error(502, "bad_gateway", times=None))
    for _ in range(3):
        assert api.get("/knowledge-stores").status_code == 502
    assert fault.fired == 3 and fault.kind is FaultKind.ERROR
    sandbox.faults.remove(fault)
    assert api.get("/knowledge-stores").status_code == 200
    sandbox.faults.add(Fault.error(500, times=None))
    sandbox.faults.clear()
    assert api.get("/knowledge-stores").status_code == 200
