"""A question or Ctrl+N while the knowledge stores are still loading, or after they could not
be loaded: the app says which (never "Pick a knowledge store first", which blames the user for
what the server did), and the question stays in the composer; and a wrong API address is
named as such (not as a knowledge store that is gone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.app import JockeyDesktop
from jockey_desktop.sandbox import Fault, Pace
from jockey_desktop.sandbox.server import SANDBOX_API_KEY
from tests.helpers.app import Started, ask_via_composer, start_on
from tests.helpers.keyrings import LockableKeyring, installed_keyring

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")

QUESTION = "What are the main themes?"


@pytest.fixture
def sandbox_key() -> Iterator[LockableKeyring]:
    """The keychain holds the sandbox server's key (the app connects as to a real server)."""
    yield from installed_keyring(SANDBOX_API_KEY)


def _reason(desktop: JockeyDesktop) -> str:
    label = desktop.window.chat_pane.composer.reason_label
    return label.text() if label.isVisibleTo(desktop.window) else ""


def test_a_question_while_the_stores_could_not_be_loaded_says_so_and_is_kept(
    qtbot: Any, start: Started, sandbox: Any, sandbox_key: LockableKeyring
) -> None:
    broken = sandbox.faults.add(Fault.error(403, "forbidden", times=None,
                                            path="/knowledge-stores", method="GET"))
    desktop = start_on(start, sandbox.base_url)
    qtbot.waitUntil(lambda: broken.fired > 0
                    and not desktop.stores.is_loading(), timeout=10_000)
    assert desktop.stores.stores() == []

    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(lambda: bool(_reason(desktop)), timeout=5_000)
    reason = _reason(desktop)
    assert "could not be loaded" in reason and "the notice above says why" in reason
    assert "Pick a knowledge store" not in reason
    assert desktop.window.chat_pane.composer.text() == QUESTION

    notices: list[str] = []
    desktop.workspace.sig_notice.connect(notices.append)
    assert not desktop.workspace.new_conversation()  # Ctrl+N
    assert notices and "could not be loaded" in notices[-1]


def test_a_question_while_the_stores_are_loading_says_so_and_is_kept(
    qtbot: Any, start: Started, sandbox: Any, sandbox_key: LockableKeyring
) -> None:
    # Long enough to ask while it lasts; short, because shutting down waits for it.
    sandbox.faults.add(Fault.latency(3, times=1, path="/knowledge-stores", method="GET"))
    desktop = start_on(start, sandbox.base_url)
    qtbot.waitUntil(desktop.stores.is_loading, timeout=10_000)

    ask_via_composer(desktop, QUESTION)
    qtbot.waitUntil(lambda: bool(_reason(desktop)), timeout=5_000)
    reason = _reason(desktop)
    assert "still loading" in reason and "Pick a knowledge store" not in reason
    assert desktop.window.chat_pane.composer.text() == QUESTION


def test_a_wrong_api_address_is_named_as_such_not_as_a_store_that_is_gone(
    qtbot: Any, start: Started, sandbox: Any, sandbox_key: LockableKeyring
) -> None:
    # What a web server at the wrong address (no /v1.3, another service) answers.
    sandbox.faults.add(Fault.error(404, "not_found", "File not found", times=None,
                                   path="/knowledge-stores", method="GET"))
    desktop = start_on(start, sandbox.base_url)
    warning = desktop.window.store_picker.warning_label
    qtbot.waitUntil(lambda: "Could not load" in warning.text(), timeout=10_000)
    assert "does not offer the Jockey API" in warning.text()
    assert "API base URL" in warning.text()
    assert "no longer exists" not in warning.text()


def test_a_question_on_an_account_with_no_store_says_to_create_one(
    qtbot: Any, start: Started, sandbox_key: LockableKeyring, tmp_path: Path
) -> None:
    from jockey_desktop.sandbox.server import SandboxServer

    empty = SandboxServer(stores_dir=tmp_path / "no-stores", pace=Pace.instant())
    (tmp_path / "no-stores").mkdir()
    empty.start()
    try:
        desktop = start_on(start, empty.base_url)
        qtbot.waitUntil(lambda: not desktop.stores.is_loading()
                        and "No knowledge stores" in desktop.window.store_picker.button.text(),
                        timeout=10_000)
        ask_via_composer(desktop, QUESTION)
        qtbot.waitUntil(lambda: bool(_reason(desktop)), timeout=5_000)
        # "Pick a knowledge store first" could not be done: there is none to pick.
        assert "no knowledge store to ask about yet" in _reason(desktop)
        assert "Manage…" in _reason(desktop)
        assert desktop.window.chat_pane.composer.text() == QUESTION
    finally:
        start.stop_all()
        empty.stop()
