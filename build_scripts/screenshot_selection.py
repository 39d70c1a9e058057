"""Make the screenshot of text selected across two messages from the real window (sandbox).

    python build_scripts/screenshot_selection.py [--theme light|dark] [--size 1400x900]

Writes ``docs/screenshot-selection-<theme>.png``: two turns answered, the text selected from
the middle of the first answer into the second question (as a drag leaves it), the view
scrolled to show both. It runs offscreen, so it works on a machine without a display.
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


def make_screenshot(theme: str, width: int, height: int) -> Path:
    """Drive the real app through two turns, select across them and save the PNG."""
    from PySide6.QtWidgets import QAbstractItemView

    from jockey_desktop.core.storage.models import MessageStatus, Role
    from jockey_desktop.self_test import (
        QUESTIONS,
        _Deadline,
        _pick_store,
        _wait_until,
        start_conversation,
    )

    qapp = application()
    out = ROOT / "docs" / f"screenshot-selection-{theme}.png"
    with sandbox_desktop(theme, width, height) as desktop:
        window = desktop.window
        deadline = _Deadline(90.0)
        store = _pick_store(desktop, qapp, deadline)
        pane = window.chat_pane

        def answers(cid: int) -> list[object]:
            return [m for m in desktop.repo.list_messages(cid) if m.role == Role.ASSISTANT
                    and m.status != MessageStatus.STREAMING]

        cid = start_conversation(desktop, qapp, deadline, store)
        for number, question in enumerate(QUESTIONS[:2], start=1):
            pane.composer.set_text(question)
            pane.composer.submit()
            _wait_until(qapp, lambda n=number: len(answers(cid)) >= n
                        and not desktop.chat.is_busy(cid)
                        and desktop.storage_runner.pending_count == 0, deadline, "an answer")
        _q1, a1, q2, _a2 = desktop.repo.list_messages(cid)
        view = pane.chat_view
        view.select_text((a1.id, 0), (a1.id, 1 << 30))
        start = view.selected_plain_text().index("The privacy section")
        view.select_text((a1.id, start), (q2.id, 20))
        view.scrollTo(view.index_for(q2.id), QAbstractItemView.ScrollHint.PositionAtCenter)
        for _ in range(30):
            qapp.processEvents()
        print(f"selected: {view.selected_plain_text()!r}")
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(f"wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1400x900", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    make_screenshot(args.theme, width, height)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
