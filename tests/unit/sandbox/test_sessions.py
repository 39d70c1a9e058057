"""Sessions: creation, persistence across restarts, TTL expiry, store binding, selections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jockey_desktop.sandbox import Fault, Pace, SandboxServer
from tests.helpers.sandbox_http import NATURE, Api, answer_part, body_for


class FakeClock:
    """A settable clock for TTL tests."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _session_files(state: Path) -> list[Path]:
    folder = state / "sessions"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_first_turn_creates_and_follow_up_continues(api: Api, nature_id: str) -> None:
    first = api.ask(nature_id, "What are the main themes?").json()
    session = first["session_id"]
    second = api.ask(nature_id, "cheetah", session_id=session).json()
    assert second["session_id"] == session
    assert second["output"][0]["id"] == f"msg_{session}_1"
    assert second["id"] != first["id"]


def test_session_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    server = SandboxServer(state_dir=state, pace=Pace.instant())
    server.start()
    with Api(server.base_url) as api:
        store = api.store_id(NATURE)
        first = api.ask(store, "What are the main themes across these videos?").json()
    server.stop()
    files = _session_files(state)
    assert [f.name for f in files] == [f"{first['session_id']}.json"]
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    assert saved["store_id"] == store and saved["turns"][0]["themes"]

    again = SandboxServer(state_dir=state, pace=Pace.instant())
    again.start()
    try:
        with Api(again.base_url) as api:
            follow = api.ask(store, "Which videos best represent the first theme?",
                             session_id=first["session_id"]).json()
        assert follow["session_id"] == first["session_id"]
        assert follow["output"][0]["id"] == f"msg_{first['session_id']}_1"
        text = answer_part(follow)["text"]
        first_theme = saved["turns"][0]["themes"][0]["name"]
        assert first_theme in text
    finally:
        again.stop()


def test_unknown_session_is_404_with_exact_message(api: Api, nature_id: str) -> None:
    missing = "sess_019f4f2a-b69b-7a01-9018-cc51681121ea"
    response = api.ask(nature_id, "hello", session_id=missing)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "resource_not_exist"
    assert body["message"] == f"The session `{missing}` does not exist or has expired."


def test_expire_session(sandbox: SandboxServer, api: Api, nature_id: str) -> None:
    session = api.ask(nature_id, "hello").json()["session_id"]
    assert sandbox.expire_session(session) is True
    response = api.ask(nature_id, "hello again", session_id=session)
    assert response.status_code == 404
    assert response.json()["message"] == (f"The session `{session}` does not exist or has "
                                          "expired.")
    assert sandbox.expire_session(session) is False


def test_ttl_expiry(tmp_path: Path) -> None:
    clock = FakeClock()
    server = SandboxServer(state_dir=tmp_path / "s", pace=Pace.instant(), session_ttl=60,
                           clock=clock)
    server.start()
    try:
        with Api(server.base_url) as api:
            store = api.store_id(NATURE)
            session = api.ask(store, "hello").json()["session_id"]
            clock.now += 59  # still alive; using it restarts the TTL
            assert api.ask(store, "again", session_id=session).status_code == 200
            clock.now += 59
            assert api.ask(store, "again", session_id=session).status_code == 200
            clock.now += 61
            response = api.ask(store, "too late", session_id=session)
        assert (response.status_code, response.json()["code"]) == (404, "resource_not_exist")
        assert not _session_files(tmp_path / "s")
    finally:
        server.stop()


def test_store_mismatch_is_400_naming_the_store(api: Api, nature_id: str,
                                               keynotes_id: str) -> None:
    session = api.ask(nature_id, "hello").json()["session_id"]
    response = api.ask(keynotes_id, "hello", session_id=session)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parameter_invalid"
    assert body["message"] == f"Session {session} belongs to knowledge store {nature_id}"


def test_rejected_requests_create_no_session(sandbox: SandboxServer, tmp_path: Path,
                                             api: Api, nature_id: str, empty_id: str) -> None:
    state = tmp_path / "sandbox-state"
    api.post(body_for(nature_id, "x", temperature=1))
    api.post(body_for(empty_id))
    api.post(body_for("ks_019e879d-6620-7569-abca-7a318e6871ff"))
    api.post(body_for(nature_id), key="wrong")
    sandbox.faults.add(Fault.error(503, "service_unavailable", retry_after=3))
    assert api.post(body_for(nature_id)).status_code == 503
    assert _session_files(state) == []
    assert api.post(body_for(nature_id)).status_code == 200
    assert len(_session_files(state)) == 1
    assert not [f for f in _session_files(state) if f.name.startswith(".tmp")]


def test_an_edited_session_file_never_breaks_a_request(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with SandboxServer(state_dir=state, pace=Pace.instant()) as server, \
            Api(server.base_url) as api:
        store = api.store_id(NATURE)
        broken = api.ask(store, "What are the main themes?").json()["session_id"]
        odd = api.ask(store, "What are the main themes?").json()["session_id"]
    path = state / "sessions" / f"{broken}.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**saved, "last_used_at": float("nan")}), encoding="utf-8")
    path = state / "sessions" / f"{odd}.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["turns"] = [{"themes": [1, {"tag": None}], "video_ids": "x", "theme_tag": 5}]
    path.write_text(json.dumps(saved), encoding="utf-8")
    with SandboxServer(state_dir=state, pace=Pace.instant()) as server, \
            Api(server.base_url) as api:
        response = api.ask(store, "Which videos best represent the first theme?",
                           session_id=broken)
        assert (response.status_code, response.json()["code"]) == (404, "resource_not_exist")
        # Unusable memory is ignored: the follow-up falls back to the store's own themes.
        response = api.ask(store, "Which videos best represent the first theme?",
                           session_id=odd)
        assert response.status_code == 200 and answer_part(response.json())["annotations"]


def test_a_full_disk_under_the_state_folder_keeps_sessions_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process sandbox keeps its state in the app's data folder: when that disk is
    full a turn must still complete (the real server's storage is not the user's disk)."""
    import errno
    import os

    from jockey_desktop.sandbox import sessions

    store = sessions.SessionStore(tmp_path / "state")
    real_fsync = os.fsync

    def full_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_fsync)
    session = store.create("ks_1")  # no OSError escapes
    assert store.get(session.id) is session
    assert _session_files(tmp_path / "state") == []  # no temporary file left behind
    monkeypatch.setattr(os, "fsync", real_fsync)
    store.save(session)  # space back: persisted again
    assert [p.name for p in _session_files(tmp_path / "state")] == [f"{session.id}.json"]
