"""Screenshots of the stores feature from the real app on the built-in sandbox, into docs/.

    python build_scripts/screenshot_stores.py [--out-dir docs] [--theme light|dark]

A new user's path, as the GUI test drives it: "New store…" with metadata, four videos
dropped on the store (one large enough for the multipart upload, its parts slowed so the
picture catches it half sent), the store once every video is ready, and the answer to a
question about them. Offscreen; the videos are small generated MP4s (the same the tests use).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ("beach day.mp4", "mountain hike.mp4", "city night.mp4")
QUESTION = "What are the main themes in these videos?"


def make_screenshots(out_dir: Path, theme: str) -> list[Path]:
    """Drive the app and save the pictures; returns their paths."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from jockey_desktop.app import AppOptions, JockeyDesktop
    from jockey_desktop.controllers.uploads import UploadTimings
    from jockey_desktop.core.storage.models import UploadState
    from jockey_desktop.sandbox import Fault, Pace
    from jockey_desktop.self_test import _Deadline, _wait_until
    from jockey_desktop.ui.theme import apply_theme
    from tests.helpers.uploads import write_video

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    data_dir = Path(tempfile.mkdtemp(prefix="jockey-stores-shots-"))
    desktop = JockeyDesktop.create(AppOptions(
        sandbox=True, data_dir=str(data_dir / "data"), single_instance=False,
        interactive=False, sandbox_pace=Pace(indexing_time=4.0, asset_processing_time=0.5)),
        qapp)
    if desktop is None:
        raise SystemExit(f"the app did not start: {JockeyDesktop.last_start_failure}")
    saved: list[Path] = []

    def spin(condition: Callable[[], bool]) -> None:
        _wait_until(qapp, condition, _Deadline(60.0), "the stores view")

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.01)

    def save(widget: object, name: str) -> None:
        path = out_dir / f"{name}-{theme}.png"
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        saved.append(path)

    try:
        apply_theme(qapp, theme)
        desktop.start(show=True)
        feature = desktop.store_feature
        feature.uploads.timings = UploadTimings(tick_ms=100, asset_first=0.2, asset_most=0.5,
                                                item_first=0.3, item_most=1.0)
        feature.uploads.direct_above = 4_000_000
        spin(lambda: bool(desktop.stores.stores()) and not desktop.stores.is_loading())
        view = feature.open()
        view.resize(1100, 760)
        spin(lambda: view.current_store_id() is not None)

        dialog = view.open_new_store_dialog()
        dialog.name_field.setText("Holiday clips")
        dialog.description_field.setPlainText("Summer 2026, phone and drone footage")
        dialog.add_field("year", "Number", "2026")
        dialog.add_field("places", "List of texts", "Lisbon, Alps, Porto")
        dialog.add_field("shared", "Yes/No", "no")
        spin(lambda: dialog.isVisible())
        save(dialog, "stores-new-store")
        dialog.ok_button.click()
        spin(lambda: view.name_label.text() == "Holiday clips")

        folder = data_dir / "videos"
        files = [write_video(folder, name, size=2_500_000 + 400_000 * n, duration=40 + 25 * n)
                 for n, name in enumerate(NAMES)]
        files.append(write_video(folder, "drone flight.mp4", size=40 * 1024 * 1024,
                                 duration=312))
        desktop.connection.sandbox().faults.add(
            Fault.latency(0.5, path="/upload-chunks", times=None))
        view.add_paths([str(f) for f in files])
        def half_sent() -> bool:
            live = feature.uploads.progress().files
            return any(r.filename == "drone flight.mp4" and r.id in live
                       and 0.3 < live[r.id].sent / (r.size or 1) < 0.7
                       for r in feature.uploads.uploads())

        spin(half_sent)
        settle(0.3)  # a progress tick with speed and time left
        save(view, "stores-uploading")

        desktop.connection.sandbox().faults.clear()
        spin(lambda: len(feature.uploads.uploads()) == 4 and all(
            r.state is UploadState.READY for r in feature.uploads.uploads()))
        spin(lambda: len(view.items_model.rows()) == 4
             and all(r.raw_status == "ready" for r in view.items_model.rows()))
        view.tabs.setCurrentIndex(0)
        save(view, "stores-ready")

        view.close()
        store_id = view.current_store_id()
        assert store_id is not None
        desktop.window.store_picker.choose(store_id)
        composer = desktop.window.chat_pane.composer
        composer.set_text(QUESTION)
        composer.submit()
        spin(lambda: desktop.workspace.current_id() is not None)
        conversation = desktop.workspace.current_id()
        spin(lambda: not desktop.chat.is_busy(conversation)  # type: ignore[arg-type]
             and desktop.storage_runner.pending_count == 0)
        settle(0.5)
        desktop.window.resize(1180, 760)
        save(desktop.window, "stores-ask")
    finally:
        desktop.shutdown()
        desktop.window.close()
    return saved


def main() -> int:
    """Parse the arguments and make the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in make_screenshots(args.out_dir, args.theme):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
