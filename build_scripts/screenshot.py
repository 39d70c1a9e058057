"""Make the README screenshot from the real window, on the built-in sandbox.

    python build_scripts/screenshot.py [--out docs/screenshot.png] [--theme light|dark]
                                       [--player | --compare | --selections]

It builds the real app (``app.JockeyDesktop``) in a temporary data directory, starts the
in-process sandbox at a fast pace, holds the guide's three-turn conversation through the
composer (plus a short conversation on a second store, so the sidebar is not empty), opens the
first citation's moment, and saves ``window.grab()`` as a PNG. With ``--player`` the first
moment of the last answer plays in the player beside the chat when the picture is taken
(``docs/screenshot-player-light.png`` / ``-dark.png``); with ``--compare`` one question is asked
of the sandbox's ready stores side by side (File → Compare stores…,
``docs/screenshot-compare-light.png`` / ``-dark.png``); with ``--selections`` the second
question is asked about two selected videos (chips picked from the store's items) and the
answer's Steps list is open (``docs/screenshot-selections.png``). It runs offscreen, so it works
on a machine without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_scripts.shot_app import application, sandbox_desktop  # noqa: E402

SIDE_QUESTION = "How do the predators hunt?"


SELECTIONS_QUESTION = "Compare what these two videos announce."


def make_screenshot(out: Path, theme: str, width: int, height: int,
                    player: bool = False, selections: bool = False) -> None:
    """Drive the real app through a conversation and save the window as ``out``."""

    from jockey_desktop.self_test import (
        QUESTIONS,
        _Deadline,
        _pick_store,
        _wait_until,
        play_cited_moment,
        start_conversation,
    )

    qapp = application()
    with sandbox_desktop(theme, width, height) as desktop:
        window = desktop.window
        deadline = _Deadline(60.0)
        main_store = _pick_store(desktop, qapp, deadline)
        others = [s for s in desktop.stores.stores() if s.id != main_store.id and s.ready]

        def ask(question: str, answers: int, conversation_id: int) -> None:
            window.chat_pane.composer.set_text(question)
            window.chat_pane.composer.submit()
            _wait_until(qapp, lambda: _answered(desktop, conversation_id) >= answers
                        and not desktop.chat.is_busy(conversation_id), deadline,
                        f"the answer to {question!r}")

        if others:
            side = start_conversation(desktop, qapp, deadline, others[0])
            ask(SIDE_QUESTION, 1, side)
        conversation_id = start_conversation(desktop, qapp, deadline, main_store)
        if selections:
            ask(QUESTIONS[0], 1, conversation_id)
            # The real client (the port names only what the chat needs).
            client: Any = desktop.chat.client()
            assert client is not None
            from jockey_desktop.presentation.selections import item_name

            for item in client.list_items(main_store.id, status="ready")[:2]:
                name = item_name(item.metadata, item.system_metadata, item.id)
                desktop.workspace.add_selection("item", item.id, name)
            ask(SELECTIONS_QUESTION, 2, conversation_id)
            from jockey_desktop.core.storage.models import Role

            answer = [m for m in desktop.repo.list_messages(conversation_id)
                      if m.role == Role.ASSISTANT][-1]
            view = window.chat_pane.chat_view
            view.toggle_steps(answer.id)
            for _ in range(20):
                qapp.processEvents()
            view.scroll_to_end()
        else:
            for number, question in enumerate(QUESTIONS[:2], start=1):
                ask(question, number, conversation_id)
            # A draft of the third question shows the composer in use.
            window.chat_pane.composer.set_text(QUESTIONS[2])
        if player:
            from jockey_desktop.core.storage.models import Role

            answer = [m for m in desktop.repo.list_messages(conversation_id)
                      if m.role == Role.ASSISTANT][-1]
            play_cited_moment(desktop, qapp, deadline, answer)
            engine = desktop.player.engine
            if engine is not None:
                engine.pause()  # a still picture, the list's thumbnails loaded
            settle = _Deadline(1.5)
            _wait_until(qapp, lambda: settle.left() <= 0, deadline, "the thumbnails")
        for _ in range(20):
            qapp.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(f"wrote {out} ({window.width()}×{window.height()}, {theme})")


COMPARE_QUESTION = "How do the videos open?"


def make_compare_screenshot(out: Path, theme: str, width: int, height: int) -> None:
    """File → Compare stores… on the sandbox's ready stores, one question asked of all of
    them through the comparison's question box; saved once every answer is in."""

    from jockey_desktop.self_test import _Deadline, _pick_store, _wait_until

    qapp = application()
    with sandbox_desktop(theme, width, height) as desktop:
        window = desktop.window
        deadline = _Deadline(60.0)
        _pick_store(desktop, qapp, deadline)
        window.action_compare.trigger()
        view = desktop.compare.view
        assert view is not None
        ready = [s for s in desktop.stores.stores() if s.ready]
        for store in ready[:4]:
            view.chips[store.id].setChecked(True)
        view.composer.set_text(COMPARE_QUESTION)
        view.composer.submit()
        controller = desktop.compare.controller
        _wait_until(qapp, lambda: len(controller.conversation_ids()) == len(ready[:4])
                    and not controller.is_busy()
                    and all(_answered(desktop, c) for c in controller.conversation_ids()),
                    deadline, "every store's answer")
        for _ in range(20):
            qapp.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(f"wrote {out} ({window.width()}×{window.height()}, {theme}, comparison)")


def _answered(desktop: object, conversation_id: int) -> int:
    from jockey_desktop.core.storage.models import MessageStatus, Role

    repo = desktop.repo  # type: ignore[attr-defined]
    return sum(1 for m in repo.list_messages(conversation_id)
               if m.role == Role.ASSISTANT and m.status == MessageStatus.COMPLETE)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1280x800", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--player", action="store_true",
                        help="play the last answer's first moment in the player")
    parser.add_argument("--compare", action="store_true",
                        help="one question asked of the sandbox's ready stores side by side")
    parser.add_argument("--selections", action="store_true",
                        help="ask about two selected videos, the answer's Steps list open")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.compare:
        make_compare_screenshot(args.out, args.theme, width, height)
    else:
        make_screenshot(args.out, args.theme, width, height, args.player, args.selections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
