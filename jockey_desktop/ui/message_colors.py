"""The colours of transcript rows, derived from the palette (light and dark alike).

One job: turn a ``QPalette`` into the handful of colours the row painter uses. "Dark" and the
error colour come from :mod:`jockey_desktop.ui.theme`, their only definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

from jockey_desktop.ui.theme import blend, error_color, is_dark_palette


@dataclass(frozen=True)
class Colors:
    """The colours of one palette, derived once per palette."""

    text: QColor
    muted: QColor
    base: QColor
    bubble: QColor
    bubble_border: QColor
    chip: QColor
    chip_border: QColor
    chip_text: QColor
    link: QColor
    error: QColor
    accent: QColor
    divider: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> Colors:
        """Derive every colour from the palette so light and dark both read well."""
        dark = is_dark_palette(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        link = palette.color(QPalette.ColorRole.Link)
        white = QColor("white")
        if dark and link.lightness() < 140:
            link = blend(link, white, 0.45)
        return cls(
            text=text,
            muted=blend(text, base, 0.42),
            base=base,
            bubble=blend(base, highlight, 0.22 if dark else 0.12),
            bubble_border=blend(base, highlight, 0.38 if dark else 0.25),
            chip=blend(base, text, 0.10 if dark else 0.05),
            chip_border=blend(base, text, 0.24 if dark else 0.18),
            chip_text=text,
            link=link,
            error=error_color(dark),
            accent=blend(highlight, white, 0.25) if dark else highlight,
            divider=blend(base, text, 0.25),
        )
