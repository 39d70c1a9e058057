"""What the About box says (Qt-free): the version, what the app is for, and the licence notes
of the libraries the packaged app ships (Qt and PySide6 under the GNU LGPL v3, the FFmpeg
libraries behind video playback under the GNU LGPL v2.1 or later), which a user of the
packaged app must be able to find."""

from __future__ import annotations

from html import escape

#: What the app is for, one line.
TAGLINE = ("Explore video collections with TwelveLabs Jockey: ask questions, follow up, and "
           "jump to the cited moments.")


def about_html(app_name: str, version: str, *, python_version: str, qt_version: str,
               pyside_version: str) -> str:
    """The About box's rich text: name and version, the tagline, then what it is built on and
    under which licences (the versions are the running ones, not the ones built against)."""
    return (
        f"<p><b>{escape(app_name)}</b> {escape(version)}</p>"
        f"<p>{escape(TAGLINE)}</p>"
        f"<p>Built with Python {escape(python_version)}, Qt {escape(qt_version)} and "
        f"PySide6 {escape(pyside_version)}, used under the GNU Lesser General Public "
        "License v3; video playback uses the FFmpeg libraries, used under the GNU Lesser "
        "General Public License v2.1 or later. Help → About Qt shows Qt's licence "
        "notes.</p>")
