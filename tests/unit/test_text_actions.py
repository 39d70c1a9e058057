"""Actions named in the app's sentences become link runs; everything else stays plain."""

from __future__ import annotations

from jockey_desktop.presentation.text_actions import (
    TextAction,
    action_for,
    has_actions,
    split_actions,
)


def test_a_sentence_splits_into_plain_and_action_runs_that_join_back() -> None:
    text = "No API key is set — open Settings, or try the sandbox."
    runs = split_actions(text)
    assert runs == [
        ("No API key is set — ", None),
        ("open Settings", TextAction.SETTINGS),
        (", or ", None),
        ("try the sandbox", TextAction.SANDBOX),
        (".", None),
    ]
    assert "".join(run for run, _ in runs) == text


def test_the_longer_phrase_wins() -> None:
    runs = split_actions("Use File → Restore newest backup… now")
    assert ("File → Restore newest backup…", TextAction.RESTORE_BACKUP) in runs
    assert all(run != "Restore newest backup…" for run, _ in runs)


def test_only_the_apps_own_wording_is_a_link() -> None:
    assert not has_actions("Please OPEN SETTINGS")
    assert split_actions("plain words") == [("plain words", None)]
    assert split_actions("") == []
    assert has_actions("Help → Open logs")


def test_link_addresses_map_back_to_actions() -> None:
    assert action_for("action:import") is TextAction.IMPORT
    assert action_for("https://example.com") is None
