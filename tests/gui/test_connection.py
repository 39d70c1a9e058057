"""The Connection: one state machine for mode, key, server and client, announcing the client
once per change (the chat, the stores and whatever comes next subscribe to it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.connection import Connection
from jockey_desktop.controllers.settings import LazyApiKeyStore, SettingsController
from jockey_desktop.presentation.connection import ConnectionMode, ConnectionStatus
from jockey_desktop.settings import AppSettings


class FakeClient:
    """What the factory built, with the key and server it was built for."""

    def __init__(self, key: str, base_url: str) -> None:
        self.key, self.base_url = key, base_url
        self.closed = False

    def proxy_for_base_url(self) -> str | None:
        return None

    def close(self) -> None:
        self.closed = True


class Rig:
    """A Connection over the real key-store controller (in-memory keyring), recording what
    it announces; clients are fakes."""

    def __init__(self, tmp_path: Path, **options: Any) -> None:
        self.runner = TaskRunner(name="keys")
        self.settings = AppSettings(tmp_path / "settings.ini")
        self.keys = SettingsController(LazyApiKeyStore(), self.runner)
        self.built: list[FakeClient] = []
        options.setdefault("environ", {})
        self.connection = Connection(self.settings, self.keys, client_factory=self._build,
                                     sandbox_state_dir=tmp_path / "sandbox",
                                     sandbox_pace="fast", **options)
        self.clients: list[Any] = []
        self.statuses: list[ConnectionStatus] = []
        self.notices: list[str] = []
        self.connection.sig_client_changed.connect(self.clients.append)
        self.connection.sig_status_changed.connect(self.statuses.append)
        self.connection.sig_notice.connect(self.notices.append)

    def _build(self, key: str, base_url: str) -> FakeClient:
        client = FakeClient(key, base_url)
        self.built.append(client)
        return client

    def close(self) -> None:
        self.connection.shutdown()
        self.runner.shutdown(2000)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Any]:
    made: list[Rig] = []

    def build(**options: Any) -> Rig:
        made.append(Rig(tmp_path, **options))
        return made[-1]

    yield build
    for r in made:
        r.close()


def test_the_sandbox_is_shown_before_it_starts_and_announced_once(rig: Any) -> None:
    r = rig(sandbox_requested=True)
    r.connection.prepare()
    # The first paint already says "Sandbox"; nothing is started or built yet.
    assert r.statuses[-1].label == "Sandbox" and r.connection.sandbox() is None
    assert r.clients == []
    r.connection.connect_now()
    assert r.connection.mode is ConnectionMode.SANDBOX
    sandbox = r.connection.sandbox()
    assert sandbox is not None and r.built[0].base_url == sandbox.base_url
    assert r.clients == [r.built[0]]
    r.connection.connect_now()  # once only
    r.connection.use_sandbox()  # already in use: same client, no second announcement
    assert r.clients == [r.built[0]] and len(r.built) == 1


def test_a_sandbox_that_cannot_start_is_said_and_nothing_changes(
    rig: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jockey_desktop.sandbox import SandboxServer

    def refuse(self: Any) -> str:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(SandboxServer, "start", refuse)
    r = rig()
    # "Try the sandbox" on the welcome page: it raised out of the button's slot, and the
    # click did nothing visible.
    r.connection.try_sandbox()
    assert r.notices == ["The sandbox could not be started: Address already in use. The "
                         "details are in the log (Help → Open logs)."]
    assert r.connection.mode is ConnectionMode.NONE and r.connection.sandbox() is None
    assert r.clients == [] and "could not be started" in caplog.text
    assert r.statuses[-1].needs_setup and r.statuses[-1].label != "Sandbox"
    monkeypatch.undo()
    r.connection.try_sandbox()  # the next click tries again
    assert r.connection.mode is ConnectionMode.SANDBOX


def test_a_sandbox_asked_for_at_start_up_that_cannot_start_takes_back_its_label(
    rig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jockey_desktop.sandbox import SandboxServer

    def refuse(self: Any) -> str:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(SandboxServer, "start", refuse)
    r = rig(sandbox_requested=True)
    r.connection.prepare()
    assert r.statuses[-1].label == "Sandbox"  # the first paint
    r.connection.connect_now()
    assert r.statuses[-1].needs_setup and r.statuses[-1].label != "Sandbox"
    assert "could not be started" in r.notices[-1]


def test_a_saved_key_switches_to_the_api_and_removing_it_asks_for_setup(
    qtbot: Any, rig: Any
) -> None:
    r = rig()
    r.connection.prepare()
    r.connection.connect_now()  # asks the key store, on a worker
    qtbot.waitUntil(lambda: bool(r.statuses) and r.statuses[-1].needs_setup, timeout=5_000)
    assert r.clients == [] and r.connection.mode is ConnectionMode.NONE

    r.connection.save_key("tlk_saved_key_123")
    qtbot.waitUntil(lambda: r.connection.mode is ConnectionMode.API, timeout=5_000)
    assert r.connection.uses_key("tlk_saved_key_123")
    assert r.clients == [r.built[0]] and r.built[0].key == "tlk_saved_key_123"
    assert r.statuses[-1].label == "api.twelvelabs.io" and not r.statuses[-1].needs_setup

    r.connection.remove_key()
    qtbot.waitUntil(lambda: r.connection.mode is ConnectionMode.NONE, timeout=5_000)
    assert r.clients[-1] is None and r.statuses[-1].needs_setup


def test_with_an_api_base_the_environment_key_is_used_as_is(rig: Any) -> None:
    r = rig(api_base="https://jockey.example.org/v1.3",
            environ={"TWELVELABS_API_KEY": "tlk_env_key_999"})
    r.connection.prepare()
    r.connection.connect_now()
    assert r.connection.mode is ConnectionMode.API
    assert (r.built[0].key, r.built[0].base_url) == (
        "tlk_env_key_999", "https://jockey.example.org/v1.3")
    assert r.statuses[-1].label == "jockey.example.org"


def test_a_plain_http_server_builds_no_client_and_says_why(qtbot: Any, rig: Any) -> None:
    r = rig()
    r.settings.api_base_url = "http://api.example.com/v1.3"
    r.connection.save_key("tlk_saved_key_123")
    qtbot.waitUntil(lambda: bool(r.notices), timeout=5_000)
    assert "unencrypted" in r.notices[-1] and "Settings" in r.notices[-1]
    assert r.built == [] and r.connection.client() is None
    assert r.statuses[-1].needs_setup


def test_leaving_the_sandbox_in_settings_looks_the_key_up_again(qtbot: Any, rig: Any) -> None:
    r = rig(sandbox_requested=True)
    r.connection.prepare()
    r.connection.connect_now()
    r.connection.apply_settings("", False)
    assert r.clients[-1] is None and r.connection.mode is ConnectionMode.NONE
    assert not r.settings.use_sandbox
    qtbot.waitUntil(lambda: r.statuses[-1].needs_setup, timeout=5_000)  # no key saved


def test_the_server_identity_is_stable_for_the_sandbox_and_never_the_key(rig: Any) -> None:
    r = rig(sandbox_requested=True)
    seen: list[str | None] = []
    # What a subscriber reads while the client is announced (the upload queue does).
    r.connection.sig_client_changed.connect(
        lambda _client: seen.append(r.connection.server_identity()))
    assert r.connection.server_identity() is None  # no client yet
    r.connection.prepare()
    r.connection.connect_now()
    # The sandbox listens on a new port each run; its identity does not change.
    assert seen == ["sandbox"] and r.connection.server_identity() == "sandbox"
    r.connection.apply_settings("", False)
    assert seen[-1] is None and r.connection.server_identity() is None

    api = rig(api_base="https://Jockey.Example.org:443/v1.3/",
              environ={"TWELVELABS_API_KEY": "tlk_env_key_999"})
    api.connection.prepare()
    api.connection.connect_now()
    identity = api.connection.server_identity()
    assert identity == "https://jockey.example.org/v1.3" and "tlk_env_key_999" not in identity
