"""StoresController and SettingsController on real worker threads, against the real sandbox."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jockey_desktop.concurrency import TaskRunner
from jockey_desktop.controllers.settings import SettingsController
from jockey_desktop.controllers.stores import StoresController
from jockey_desktop.core.secrets import ApiKeyStore
from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.sandbox.faults import Fault
from jockey_desktop.settings import AppSettings
from tests.helpers.chat import make_client


@pytest.fixture
def runner(qtbot: Any) -> Iterator[TaskRunner]:
    tasks = TaskRunner(max_threads=4, name="test")
    try:
        yield tasks
    finally:
        tasks.shutdown(2000)


@pytest.fixture
def app_settings(tmp_path: Path) -> AppSettings:
    return AppSettings(tmp_path / "settings.ini")


def test_stores_load_with_readiness_counts(
    qtbot: Any, runner: TaskRunner, sandbox: Any, app_settings: AppSettings
) -> None:
    stores = StoresController(runner, make_client(sandbox), app_settings)
    loads: list[list[StoreSummary]] = []
    stores.sig_stores_loaded.connect(loads.append)
    with qtbot.waitSignal(stores.sig_loading):
        stores.refresh()
    qtbot.waitUntil(lambda: bool(loads) and not stores.is_loading(), timeout=10_000)
    final = loads[-1]
    assert len(final) >= 2
    assert all(isinstance(s, StoreSummary) for s in final)
    ready = stores.first_ready_store()
    assert ready is not None and ready.readiness in ("ready", "indexing")
    unready = [s for s in final if s.ready == 0]  # the sandbox's store still indexing
    assert unready and unready[0].warning and unready[0].processing + unready[0].queued > 0
    assert stores.store(ready.id) == ready
    stores.remember_store(ready.id)
    assert AppSettings(app_settings.file_path).last_store_id == ready.id
    assert stores.last_store_id() == ready.id


def test_a_refresh_is_loading_until_its_own_counts_are_in(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    # "Loaded" must mean this refresh: the previous list is no answer while a new one is
    # being fetched, and the preliminary list (counts unknown) is not final either.
    stores = StoresController(runner, make_client(sandbox))
    loading_seen: list[bool] = []
    stores.sig_stores_loaded.connect(lambda _stores: loading_seen.append(stores.is_loading()))
    stores.refresh()
    assert stores.is_loading()
    qtbot.waitUntil(lambda: not stores.is_loading(), timeout=10_000)
    assert loading_seen == [True, False]
    stores.refresh()  # the first list is still there, but it is not this refresh's
    assert stores.stores() and stores.is_loading()
    qtbot.waitUntil(lambda: not stores.is_loading(), timeout=10_000)
    assert loading_seen == [True, False, True, False]


def test_stores_without_a_client_or_with_a_failing_server_say_why(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    stores = StoresController(runner)
    with qtbot.waitSignal(stores.sig_stores_failed) as failed:
        stores.refresh()
    assert "API key" in failed.args[0]

    sandbox.faults.add(Fault.error(401, "api_key_invalid", "bad key", times=None,
                                   path="/knowledge-stores"))
    with qtbot.waitSignal(stores.sig_stores_failed, timeout=10_000) as failed:
        stores.set_client(make_client(sandbox))  # a new client: the list is reloaded with it
    # Only the reason: the store picker writes its own "Could not load knowledge stores".
    assert "API key was rejected" in failed.args[0]
    assert "Could not load" not in failed.args[0]
    assert "open Settings" in failed.args[0]


def test_a_store_is_called_gone_only_after_a_listing_that_succeeded_without_it(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    """"No longer exists" is said of a store only when the server listed the stores and it
    was not there: never while the list loads, after it failed, or for another key."""
    stores = StoresController(runner)
    unknown = "ks_019ebcf4-7e08-7201-b69c-000000000000"
    assert not stores.is_gone(unknown)  # nothing listed yet
    refused: list[bool] = []
    stores.sig_key_refused.connect(refused.append)
    stores.set_client(make_client(sandbox))
    assert not stores.is_gone(unknown)  # loading
    qtbot.waitUntil(lambda: not stores.is_loading(), timeout=10_000)
    assert stores.is_gone(unknown)
    assert not stores.is_gone(stores.stores()[0].id)

    sandbox.faults.add(Fault.error(503, "service_unavailable", times=None,
                                   path="/knowledge-stores", method="GET"))
    with qtbot.waitSignal(stores.sig_stores_failed, timeout=10_000):
        stores.refresh()
    assert not stores.is_gone(unknown)  # the server did not say
    assert refused == []  # a failing server is not a refused key

    sandbox.faults.clear()
    sandbox.faults.add(Fault.error(401, "api_key_invalid", "bad key", times=None,
                                   path="/knowledge-stores", method="GET"))
    with qtbot.waitSignal(stores.sig_stores_failed, timeout=10_000):
        stores.refresh()
    assert refused == [True] and not stores.is_gone(unknown)
    stores.set_client(None)  # the key removed: nothing refused any more
    assert refused == [True, False]


def test_a_newer_refresh_supersedes_an_older_one(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    stores = StoresController(runner, make_client(sandbox))
    loads: list[list[StoreSummary]] = []
    stores.sig_stores_loaded.connect(loads.append)
    stores.refresh()
    stores.refresh()
    qtbot.waitUntil(lambda: bool(loads) and not stores.is_loading(), timeout=10_000)
    qtbot.wait(200)
    # One preliminary list (counts unknown) and one complete list: the first refresh's
    # results were dropped.
    assert len(loads) == 2
    assert loads[-1] == stores.stores()


def test_key_round_trip_on_workers(qtbot: Any, runner: TaskRunner, memory_keyring: Any) -> None:
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_key_loaded) as loaded:
        settings.load_key()
    assert loaded.args == [None, "No API key is set."]

    with qtbot.waitSignal(settings.sig_key_saved) as saved:
        settings.save_key("  tlk_secret_value  ")
    assert saved.args == ["tlk_secret_value", "Stored in the OS keychain."]
    assert "tlk_secret_value" in memory_keyring.store.values()

    with qtbot.waitSignal(settings.sig_key_loaded) as loaded:
        settings.load_key()
    assert loaded.args[0] == "tlk_secret_value"

    with qtbot.waitSignal(settings.sig_key_removed) as removed:
        settings.remove_key()
    assert removed.args == ["No API key is set."]
    assert not memory_keyring.store

    with qtbot.waitSignal(settings.sig_error):
        settings.save_key("   ")


def test_a_load_started_before_a_save_never_reports_after_it(
    qtbot: Any, runner: TaskRunner, memory_keyring: Any
) -> None:
    # The window's second lookup (Settings opened) may still be running when Save is
    # clicked; on a multi-thread pool its stale "no key" must not land after the save.
    import threading

    release = threading.Event()
    store = ApiKeyStore()
    real_lookup = store.lookup

    def slow_lookup() -> Any:
        found = real_lookup()
        release.wait(10)  # the lookup has read "no key" and is slow to report it
        return found

    store.lookup = slow_lookup  # type: ignore[method-assign]
    settings = SettingsController(store, runner)
    order: list[tuple[str, Any]] = []
    settings.sig_key_loaded.connect(lambda key, where: order.append(("loaded", key)))
    settings.sig_key_saved.connect(lambda key, where: order.append(("saved", key)))
    settings.load_key()
    settings.save_key("tlk_secret_value")
    qtbot.wait(100)  # room for a save racing ahead to report first (the bug)
    release.set()
    qtbot.waitUntil(lambda: len(order) == 2, timeout=5_000)
    assert order == [("loaded", None), ("saved", "tlk_secret_value")]
    assert "tlk_secret_value" in memory_keyring.store.values()


def test_without_a_secure_store_the_key_is_kept_in_memory_with_the_reason(
    qtbot: Any, runner: TaskRunner
) -> None:
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_key_saved) as saved:
        settings.save_key("tlk_secret_value")
    assert saved.args[0] == "tlk_secret_value"
    assert "memory for this run only" in saved.args[1]


def test_connection_test_reports_success_and_failure_without_the_key(
    qtbot: Any, runner: TaskRunner, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_test_result, timeout=10_000) as result:
        settings.test_connection("sandbox", sandbox.base_url)
    ok, text = result.args
    assert ok and text.startswith("Connected —") and "knowledge stores" in text

    with qtbot.waitSignal(settings.sig_test_result, timeout=10_000) as result:
        settings.test_connection("tlk_wrong_key_12345", sandbox.base_url)
    ok, text = result.args
    assert not ok and "rejected" in text
    assert "tlk_wrong_key_12345" not in text
    assert "tlk_wrong_key_12345" not in caplog.text

    with qtbot.waitSignal(settings.sig_test_result) as result:
        settings.test_connection("  ", sandbox.base_url)
    assert result.args == [False, "Enter an API key first."]


def test_connection_test_of_a_bad_address_says_what_is_wrong_with_it(
    qtbot: Any, runner: TaskRunner
) -> None:
    # The client refuses such an address with a ValueError, once reported as a bug.
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_test_result) as result:
        settings.test_connection("sandbox", "htp:/nonsense")
    assert result.args == [False, "The API base URL must start with https:// (or http:// for "
                                  "a server on this computer)."]


def test_connection_test_answers_with_the_first_failure_without_retrying(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    from jockey_desktop.sandbox import Fault

    busy = sandbox.faults.add(Fault.error(503, "service_unavailable", times=None,
                                          path="/knowledge-stores", method="GET"))
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_test_result, timeout=10_000) as result:
        settings.test_connection("sandbox", sandbox.base_url)
    ok, text = result.args
    assert not ok and text.startswith("The server failed to answer.")
    assert busy.fired == 1  # "Testing…" is not held through the client's back-off


def test_with_the_env_key_set_a_saved_key_is_stored_but_the_env_key_stays_in_use(
    qtbot: Any, runner: TaskRunner, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWELVELABS_API_KEY", "tlk_env_key_in_use")
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_key_saved) as saved:
        settings.save_key("tlk_typed_other")
    key, where = saved.args
    assert key == "tlk_env_key_in_use"
    assert where == ("Saved to the OS keychain; the TWELVELABS_API_KEY environment variable "
                     "still takes precedence for this run.")
    assert "tlk_typed_other" in memory_keyring.store.values()


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("tlk_abc\ndef", "The key contains a line break"),
        ("tlk_abc def", "The key contains a space"),
        ("tlk_abc\x07def", "The key contains a control character"),
        ("tlk_abc’def", "The key contains a non-ASCII character ('’')"),
    ],
)
def test_malformed_keys_are_refused_on_save_and_on_test(
    qtbot: Any, runner: TaskRunner, memory_keyring: Any, pasted: str, expected: str
) -> None:
    settings = SettingsController(ApiKeyStore(), runner)
    with qtbot.waitSignal(settings.sig_error) as error:
        settings.save_key(f"  {pasted}\n")
    assert error.args[0].startswith(expected)
    assert error.args[0].endswith("paste it again from the Playground.")
    assert not memory_keyring.store
    with qtbot.waitSignal(settings.sig_test_result) as result:
        settings.test_connection(pasted, "http://127.0.0.1:9/v1.3")
    assert result.args[0] is False and result.args[1].startswith(expected)


def test_a_checked_key_the_key_store_cannot_take_gets_a_verdict_not_a_lasting_checking(
    qtbot: Any, runner: TaskRunner, sandbox: Any
) -> None:
    """The dialog says "Checking…" until a verdict: a key store failing on the save must
    give one (nothing saved), or the dialog waited forever."""
    from jockey_desktop.presentation.connection import KeyVerdict

    class BrokenStore:
        def get(self) -> str | None:
            return None

        def set(self, key: str) -> Any:
            raise OSError("the credential store went away")

        def delete(self) -> None:
            pass

        def location(self) -> Any:
            return "NONE"

    settings = SettingsController(BrokenStore(), runner)
    with qtbot.waitSignal(settings.sig_key_checked, timeout=10_000) as verdict:
        settings.check_and_save_key("sandbox", sandbox.base_url)
    assert verdict.args[0] is KeyVerdict.NOT_SAVED
    assert verdict.args[1] == "The key could not be saved: the credential store went away"
    assert not settings.has_key
