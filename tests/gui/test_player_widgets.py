"""The player's widgets on their own: the seek bar's markers (hover: the sentence, click: that
moment) and seeking, the transcript following a position, the moments list's selection, the
picture's poster, the export dialog's format rules, and the full-screen window's time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QLineEdit

from jockey_desktop.core.moments_export import MomentFormat
from jockey_desktop.presentation.moments import answer_moments
from jockey_desktop.ui.player.canvas import VideoCanvas
from jockey_desktop.ui.player.export_dialog import (
    MomentsSaveDialog,
    chosen_format,
    export_filters,
)
from jockey_desktop.ui.player.lists import MomentsList, TranscriptView
from jockey_desktop.ui.player.seek_bar import SeekBar, SeekMarker
from tests.helpers.look import themed
from tests.helpers.media import PLAYER_LOG_IGNORE
from tests.helpers.records import answer_with_citations


def test_seek_bar_markers_say_their_sentence_and_play_their_moment(qtbot: Any) -> None:
    bar = SeekBar()
    qtbot.addWidget(bar)
    bar.resize(416, 26)
    bar.show()
    bar.set_duration(400_000)
    bar.set_range(100_000, 130_000)
    sentence = "A <b>heron</b> lands & eats."
    bar.set_markers([SeekMarker(100_000, 0, sentence), SeekMarker(300_000, 3, "Later.")], 0)
    at_marker = QPoint(round(bar.x_for(300_000)), 4)
    assert bar.tooltip_at(at_marker) == "Later."
    assert bar.tooltip_at(QPoint(round(bar.x_for(100_000)), 4)) == sentence
    assert bar.tooltip_at(QPoint(round(bar.x_for(200_000)), 20)) == "03:20"
    with qtbot.waitSignal(bar.sig_marker_activated) as marker:
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=at_marker)
    assert marker.args == [3]
    with qtbot.waitSignal(bar.sig_seek_requested) as seek:
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                         pos=QPoint(round(bar.x_for(200_000)), 20))
    assert abs(seek.args[0] - 200_000) <= 1000
    assert bar.cited_range() == (100_000, 130_000)


def test_the_transcript_follows_the_position_and_seeks_on_click(qtbot: Any) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    view.set_sentences([(9.0, 12.0, "Third."), (0.0, 4.0, "First."), (4.0, 9.0, "Second.")])
    assert [view.item(i).text() for i in range(3)] == ["00:00  First.", "00:04  Second.",
                                                        "00:09  Third."]
    view.follow(5_000)
    assert view.playing_row() == 1 and view.item(1).font().bold()
    view.follow(10_000)
    assert view.playing_row() == 2 and not view.item(1).font().bold()
    with qtbot.waitSignal(view.sig_seek_requested) as seek:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.visualItemRect(view.item(0)).center())
    assert seek.args == [0]


def test_the_moments_list_marks_the_current_and_knows_the_selection(qtbot: Any) -> None:
    moments = answer_moments(answer_with_citations(2))
    listing = MomentsList()
    qtbot.addWidget(listing)
    listing.set_moments(moments, 1)
    assert listing.count() == 2 and listing.item(1).font().bold()
    assert listing.item(0).text() == ("Intro to ML · 01:23–01:45\n"
                                      "It is shown early and again later, then once more.")
    listing.item(1).setSelected(True)
    listing.item(0).setSelected(True)
    assert listing.selected_indices() == [0, 1]
    with qtbot.waitSignal(listing.sig_moment_chosen) as chosen:
        listing.itemActivated.emit(listing.item(1))
    assert chosen.args == [1]


def test_the_picture_shows_the_poster_letter_boxed(qtbot: Any) -> None:
    canvas = VideoCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(320, 240)
    canvas.show()
    poster = QImage(160, 90, QImage.Format.Format_RGB32)
    poster.fill(QColor("teal"))
    canvas.set_poster(poster)
    canvas.set_text("Loading…")
    shot = canvas.grab().toImage()
    assert shot.pixelColor(160, 120) == QColor("teal")  # the picture, in the middle
    assert shot.pixelColor(160, 5) == QColor("black")  # the bars above and below
    assert canvas.text() == "Loading…" and not canvas.has_frame()


def test_the_export_format_follows_the_suffix_typed_or_the_filter() -> None:
    filters = export_filters()
    assert len(filters) == len(MomentFormat)
    assert chosen_format("/x/cut.edl", filters[0]) == ("/x/cut.edl", MomentFormat.EDL)
    assert chosen_format("/x/cut", filters[3]) == ("/x/cut.csv", MomentFormat.CSV)
    assert chosen_format("/x/cut.v2", "nonsense") == ("/x/cut.v2.otio", MomentFormat.OTIO)


@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")  # a dialog
def test_the_save_dialog_gives_a_typed_name_the_picked_formats_suffix_itself(
        qtbot: Any, tmp_path: Path) -> None:
    """The suffix is added inside the dialog (where "replace the existing file?" is asked),
    not after it: a name typed bare used to get its suffix afterwards, and an existing file of
    that name was replaced without a word."""
    dialog = MomentsSaveDialog(None, "Whales moments", tmp_path)
    qtbot.addWidget(dialog)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.show()
    combo = dialog.findChild(QComboBox, "fileTypeCombo")
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name.text() == "Whales moments.otio" and dialog.defaultSuffix() == "otio"
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # OpenTimelineIO → CMX 3600 EDL
    assert dialog.selectedNameFilter() == export_filters()[1]
    assert name.text() == "Whales moments.edl" and dialog.defaultSuffix() == "edl"
    name.setText("cut")
    assert dialog.selectedFiles() == [str(tmp_path / "cut.edl")]
    assert dialog.chosen() is None  # nothing accepted yet
    dialog.setResult(QFileDialog.DialogCode.Accepted)
    assert dialog.chosen() == (str(tmp_path / "cut.edl"), MomentFormat.EDL)


def lightest(image: QImage) -> int:
    """The highest lightness of any pixel in ``image`` (0–255)."""
    return max(image.pixelColor(x, y).lightness()
               for x in range(image.width()) for y in range(image.height()))


@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_full_screen_time_is_light_on_the_black_screen_in_either_theme(
    qtbot: Any, qapp: Any, scheme: str
) -> None:
    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.fullscreen import FullScreenVideo

    with themed(qapp, scheme):
        engine = PlaybackEngine()
        bar = SeekBar()
        qtbot.addWidget(bar)
        bar.set_duration(3_842_000)
        window = FullScreenVideo(engine, "Lumen Phone 9 Launch Keynote", bar, lambda _: None)
        qtbot.addWidget(window)
        window.resize(800, 600)
        window.show()
        qtbot.waitExposed(window)
        engine.sig_position.emit(610_000)
        assert window.time_label.text() == "10:10 / 1:04:02"
        # Its text, drawn on the window's black: not the theme's dark text colour.
        shown = window.grab(window.time_label.geometry()).toImage()
        assert shown.pixelColor(0, 0).lightness() < 30  # the black around the text
        assert lightest(shown) > 180
        window.close()


@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_loop_on_is_filled_with_the_highlight(qtbot: Any, qapp: Any, scheme: str) -> None:
    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.panel import PlayerPanel

    with themed(qapp, scheme):
        panel = PlayerPanel(PlaybackEngine())
        qtbot.addWidget(panel)
        panel.show()
        qtbot.waitExposed(panel)
        button = panel.loop_button
        highlight = button.palette().highlight().color().name()

        def share_of_highlight() -> float:
            image = button.grab().toImage()
            pixels = [image.pixelColor(x, y).name()
                      for x in range(image.width()) for y in range(image.height())]
            return pixels.count(highlight) / len(pixels)

        assert share_of_highlight() < 0.05
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert button.isChecked()
        assert share_of_highlight() > 0.5


@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE)
def test_a_long_title_is_elided_beside_the_moment_count(qtbot: Any) -> None:
    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.panel import PlayerPanel

    panel = PlayerPanel(PlaybackEngine())
    qtbot.addWidget(panel)
    moments = answer_moments(answer_with_citations(2))
    long_title = "Cascade Cloud Developer Day Opening Keynote, Recorded Live " * 2
    moment = replace(moments[0], title=long_title)
    panel.show_moments(moments, 0)
    panel.show_moment(moment)
    panel.resize(320, 500)
    panel.show()
    qtbot.waitExposed(panel)
    label = panel.title_label
    shown = label.shown_text()
    assert label.text() == long_title  # what the tooltip and screen readers get
    assert shown.endswith("…")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.geometry().right() < panel.count_label.geometry().left()


@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE)
def test_the_control_icons_grow_with_the_font_and_stay_sharp(qtbot: Any) -> None:
    from PySide6.QtGui import QFont

    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.panel import PlayerPanel

    panel = PlayerPanel(PlaybackEngine())
    qtbot.addWidget(panel)
    normal = QFont(panel.font())
    normal.setPointSizeF(9)
    panel.setFont(normal)
    small_side = panel.play_button.iconSize().width()
    big = QFont(normal)
    big.setPointSizeF(18)  # a user with low vision
    panel.setFont(big)
    side = panel.play_button.iconSize().width()
    assert side >= small_side * 1.6
    assert panel.next_button.iconSize().width() == side
    # Drawn at twice that size: a 2× screen needs no upscaled (blurry) pixmap.
    assert max(s.width() for s in panel.play_button.icon().availableSizes()) >= 2 * side


@pytest.mark.qt_log_ignore(*PLAYER_LOG_IGNORE, r"This plugin does not support")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_player_docks_title_is_a_header_and_its_buttons_still_work(
    qtbot: Any, qapp: Any, scheme: str
) -> None:
    """The dock's title was plain text against its edge: it is bold, stands off the top and
    starts where the player's content does, and the player's own text stays as it was; the
    pop-out and close buttons still work."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QMainWindow

    from jockey_desktop.ui.player.dock import PlayerDock
    from jockey_desktop.ui.player.engine import PlaybackEngine
    from jockey_desktop.ui.player.panel import PlayerPanel

    with themed(qapp, scheme):
        window = QMainWindow()
        qtbot.addWidget(window)
        window.setCentralWidget(QLabel("chat"))
        panel = PlayerPanel(PlaybackEngine())
        dock = PlayerDock(window)
        dock.setWidget(panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        window.resize(1000, 600)
        window.show()
        qtbot.waitExposed(window)
        assert dock.font().weight() >= 600
        assert panel.count_label.font().weight() == qapp.font().weight()
        float_button = dock.findChild(QAbstractButton, "qt_dockwidget_floatbutton")
        close_button = dock.findChild(QAbstractButton, "qt_dockwidget_closebutton")
        assert float_button is not None and close_button is not None
        # Where "Player" is drawn: the title band, left of the buttons.
        content = panel.mapTo(dock, QPoint(panel.layout().contentsMargins().left(), 0))
        band = dock.grab().toImage().copy(0, 0, float_button.x(), content.y())
        ink = [(x, y) for x in range(band.width()) for y in range(band.height())
               if abs(band.pixelColor(x, y).lightness()
                      - dock.palette().window().color().lightness()) > 80]
        assert ink, "the title is drawn"
        left, top = min(x for x, _y in ink), min(y for _x, y in ink)
        assert content.x() <= left <= content.x() + 2  # in line with the player's content
        assert top >= 8  # off the top edge, as the app's other headers are
        qtbot.mouseClick(float_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dock.isFloating, timeout=5_000)
        qtbot.mouseClick(float_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dock.isFloating(), timeout=5_000)
        with qtbot.waitSignal(dock.sig_closed, timeout=5_000):
            qtbot.mouseClick(close_button, Qt.MouseButton.LeftButton)
        assert not dock.isVisible()
