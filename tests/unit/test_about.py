"""The About box's text: version, what the app is for, and the licence notes of what the
packaged app ships."""

from __future__ import annotations

from jockey_desktop.presentation.about import about_html


def test_about_names_the_version_and_the_shipped_libraries_licences() -> None:
    html = about_html("Jockey Desktop", "0.1.0", python_version="3.11.9",
                      qt_version="6.11.0", pyside_version="6.11.1")
    assert "<b>Jockey Desktop</b> 0.1.0" in html
    assert "Python 3.11.9, Qt 6.11.0 and PySide6 6.11.1" in html
    assert "GNU Lesser General Public License v3" in html  # Qt, PySide6
    assert "FFmpeg" in html and "v2.1 or later" in html
    assert "About Qt" in html  # where Qt's own notes are


def test_about_text_is_escaped() -> None:
    html = about_html("A <b>", "1 & 2", python_version="3", qt_version="6",
                      pyside_version="6")
    assert "A &lt;b&gt;" in html and "1 &amp; 2" in html
