"""Make the screenshots of answer versions and of a fork from the real window (sandbox).

    python build_scripts/screenshot_transcript.py [--theme light|dark] [--size 1600x900]

Writes ``docs/screenshot-versions-<theme>.png`` (a failed first attempt retried and an
answered question asked again: "‹ 2 / 2 ›" under each answer, the reading column centred in a
wide window, a question typed on two lines) and ``docs/screenshot-fork-<theme>.png`` (the
conversation continued from an answer in a new one: the link back in the header). It runs
offscreen, so it works on a machine without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_scripts.shot_app import application, sandbox_desktop  # noqa: E402


def make_screenshots(theme: str, width: int, height: int) -> None:
    """Drive the real app through versions and a fork; save the two PNGs in docs/."""
    from jockey_desktop.core.storage.models import MessageStatus, Role
    from jockey_desktop.sandbox.faults import Fault
    from jockey_desktop.self_test import (
        QUESTIONS,
        _Deadline,
        _pick_store,
        _wait_until,
        start_conversation,
    )

    qapp = application()
    with sandbox_desktop(theme, width, height) as desktop:
        window = desktop.window
        deadline = _Deadline(90.0)
        store = _pick_store(desktop, qapp, deadline)
        pane = window.chat_pane

        def answers(cid: int) -> list[object]:
            return [m for m in desktop.repo.list_messages(cid) if m.role == Role.ASSISTANT
                    and m.status != MessageStatus.STREAMING]

        def wait(cid: int, count: int) -> None:
            _wait_until(qapp, lambda: len(answers(cid)) >= count
                        and not desktop.chat.is_busy(cid)
                        and desktop.storage_runner.pending_count == 0, deadline, "an answer")

        cid = start_conversation(desktop, qapp, deadline, store)
        desktop.connection.sandbox().faults.add(Fault.error(500, times=1, path="/responses"))
        pane.composer.set_text(QUESTIONS[0])
        pane.composer.submit()
        wait(cid, 1)
        pane.sig_retry_requested.emit(answers(cid)[-1].id)  # type: ignore[attr-defined]
        wait(cid, 2)
        pane.composer.set_text(QUESTIONS[1].replace(" ", "\n", 1).replace("?", "?\n", 1)
                               .strip() + "\nKeep it short.")
        pane.composer.submit()
        wait(cid, 3)
        pane.sig_ask_again_requested.emit(answers(cid)[-1].id)  # type: ignore[attr-defined]
        wait(cid, 4)
        for _ in range(30):
            qapp.processEvents()
        shot(window, ROOT / "docs" / f"screenshot-versions-{theme}.png")

        first_answer = answers(cid)[1]
        pane.sig_fork_requested.emit(first_answer.id)  # type: ignore[attr-defined]
        _wait_until(qapp, lambda: desktop.workspace.current_id() not in (None, cid),
                    deadline, "the new conversation")
        fork = desktop.workspace.current_id()
        pane.composer.set_text("And which of them is the most surprising?")
        pane.composer.submit()
        wait(fork, 1)
        for _ in range(30):
            qapp.processEvents()
        shot(window, ROOT / "docs" / f"screenshot-fork-{theme}.png")


def shot(window: object, out: Path) -> None:
    """Save the window's picture."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):  # type: ignore[attr-defined]
        raise SystemExit(f"could not write {out}")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1600x900", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    make_screenshots(args.theme, width, height)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
