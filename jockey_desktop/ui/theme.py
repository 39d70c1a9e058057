"""Light/dark theme that follows the system: Fusion style, a palette per scheme, a small
stylesheet, and colour helpers for delegates.

Fusion is used on every platform so that both palettes render the same everywhere (native
styles ignore parts of a custom palette). On Qt >= 6.5 the scheme comes from
``QGuiApplication.styleHints().colorScheme()`` and the app re-themes itself when the system
switches. Delegates read colours through ``palette_colors()`` so they stay readable in both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from jockey_desktop.presentation.text_actions import has_actions, split_actions

LIGHT = "light"
DARK = "dark"

_LIGHT_COLORS = {
    QPalette.ColorRole.Window: "#f4f5f7",
    QPalette.ColorRole.WindowText: "#1d1f23",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#eef0f3",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d1f23",
    QPalette.ColorRole.PlaceholderText: "#7a808a",
    QPalette.ColorRole.Text: "#1d1f23",
    QPalette.ColorRole.Button: "#eceef1",
    QPalette.ColorRole.ButtonText: "#1d1f23",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#2f6fde",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#1f5fc9",
    QPalette.ColorRole.LinkVisited: "#6a3fc0",
    QPalette.ColorRole.Mid: "#c5c9d0",
    QPalette.ColorRole.Midlight: "#e2e5ea",
    QPalette.ColorRole.Dark: "#9aa0a9",
    QPalette.ColorRole.Shadow: "#5c6169",
    QPalette.ColorRole.Light: "#ffffff",
}

_DARK_COLORS = {
    QPalette.ColorRole.Window: "#1f2125",
    QPalette.ColorRole.WindowText: "#e6e8eb",
    QPalette.ColorRole.Base: "#17181b",
    QPalette.ColorRole.AlternateBase: "#25282d",
    QPalette.ColorRole.ToolTipBase: "#2b2e34",
    QPalette.ColorRole.ToolTipText: "#e6e8eb",
    QPalette.ColorRole.PlaceholderText: "#8c929c",
    QPalette.ColorRole.Text: "#e6e8eb",
    QPalette.ColorRole.Button: "#2b2e34",
    QPalette.ColorRole.ButtonText: "#e6e8eb",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#3d7be6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7fb0ff",
    QPalette.ColorRole.LinkVisited: "#b79bff",
    QPalette.ColorRole.Mid: "#44484f",
    QPalette.ColorRole.Midlight: "#363a40",
    QPalette.ColorRole.Dark: "#101113",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Light: "#4a4f57",
}

# Kept small on purpose: the palette does most of the work, the sheet only adds the few
# touches Fusion lacks (rounded primary buttons, a quiet warning strip, the welcome title).
_STYLESHEET = """
QPushButton[big="true"] {
    background: palette(button); color: palette(button-text);
    border: 1px solid palette(mid); border-radius: 6px; padding: 10px 22px; font-size: 11pt;
}
QPushButton[big="true"]:hover { border-color: palette(highlight); }
QPushButton[primary="true"] {
    background: palette(highlight); color: palette(highlighted-text);
    border: 1px solid palette(highlight); border-radius: 6px; padding: 8px 18px;
    font-weight: 600;
}
QPushButton[primary="true"]:hover { background: %(primary_hover)s; }
QPushButton[primary="true"][big="true"] { padding: 10px 22px; }
QPushButton[big="true"]:focus { border: 2px solid palette(highlight); padding: 9px 21px; }
QPushButton[primary="true"]:focus { border: 2px solid palette(text); padding: 7px 17px; }
QPushButton[primary="true"][big="true"]:focus { padding: 9px 21px; }
QPushButton[primary="true"]:disabled {
    background: palette(button); color: palette(placeholder-text); border-color: palette(mid);
}
QLabel[role="warning"] {
    background: %(warn_bg)s; color: %(warn_fg)s; border: 1px solid %(warn_border)s;
    border-radius: 4px; padding: 4px 8px;
}
QLabel[role="error"] { color: %(error)s; }
QLabel[role="success"] { color: %(success)s; }
QLabel[role="muted"] { color: palette(placeholder-text); }
QLabel[role="title"] { font-size: 20pt; font-weight: 600; }
QLabel[role="heading"] { font-size: 14pt; font-weight: 600; }
QPushButton[link="true"] {
    border: none; background: transparent; color: palette(link); padding: 2px 4px;
}
QPushButton[link="true"]:hover { text-decoration: underline; }
QPushButton#starterQuestion {
    text-align: left; padding: 8px 14px; border: 1px solid palette(mid); border-radius: 8px;
    background: palette(base);
}
QPushButton#starterQuestion:hover { border-color: palette(highlight); }
QPushButton#compareChip {
    padding: 4px 12px; border: 1px solid palette(mid); border-radius: 12px;
    background: palette(base);
}
QPushButton#compareChip:checked {
    background: palette(highlight); color: palette(highlighted-text);
    border-color: palette(highlight);
}
QPushButton#compareChip:disabled { color: palette(placeholder-text); }
QFrame#NoticeBanner {
    background: %(warn_bg)s; border: 1px solid %(warn_border)s; border-radius: 4px;
}
QFrame#NoticeBanner QLabel { color: %(warn_fg)s; }
QListView { border: none; }
/* The player dock's title as a header (it was plain text against the dock's edge): bold
   (a style sheet's font is not passed on to the player inside), in line with the player's
   content (Fusion adds 4 px to the padding) and off the top; text-align is what makes Qt
   apply the padding at all. The pop-out and close buttons stay Qt's own. */
QDockWidget#playerDock { font-weight: 600; }
QDockWidget#playerDock::title { text-align: left; padding: 7px 4px 5px 4px; }
QLineEdit { padding: 4px 6px; border-radius: 4px; border: 1px solid palette(mid); }
QLineEdit:focus { border: 1px solid palette(highlight); }
"""


@dataclass(frozen=True)
class PaletteColors:
    """Colours for custom painting, derived from the current palette."""

    text: QColor
    muted: QColor
    base: QColor
    highlight: QColor
    highlighted_text: QColor
    user_bubble: QColor
    assistant_bubble: QColor
    chip: QColor
    chip_text: QColor
    border: QColor
    warning: QColor
    error: QColor
    success: QColor
    streaming: QColor
    is_dark: bool


def is_dark_palette(palette: QPalette) -> bool:
    """True when the window background is darker than its text: the one test of "dark"."""
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightnessF() < text.lightnessF()


def error_color(dark: bool) -> QColor:
    """The colour of error text and marks, readable on the scheme's background."""
    return QColor(_ERROR_DARK if dark else _ERROR_LIGHT)


_ERROR_DARK = "#ff7b72"
_ERROR_LIGHT = "#c62828"


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved ``t`` (0..1) of the way towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def palette_colors(palette: QPalette | None = None) -> PaletteColors:
    """Colours for delegates (bubbles, chips, badges), readable in light and dark schemes."""
    if palette is None:
        palette = QGuiApplication.palette()
    dark = is_dark_palette(palette)
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    highlight = palette.color(QPalette.ColorRole.Highlight)
    return PaletteColors(
        text=text,
        muted=palette.color(QPalette.ColorRole.PlaceholderText),
        base=base,
        highlight=highlight,
        highlighted_text=palette.color(QPalette.ColorRole.HighlightedText),
        user_bubble=blend(base, highlight, 0.22 if dark else 0.12),
        assistant_bubble=palette.color(QPalette.ColorRole.AlternateBase),
        chip=blend(base, highlight, 0.30 if dark else 0.16),
        chip_text=palette.color(QPalette.ColorRole.Link),
        border=palette.color(QPalette.ColorRole.Mid),
        warning=QColor("#e0a43a" if dark else "#9a5b00"),
        error=error_color(dark),
        success=QColor("#5fcf80" if dark else "#2e7d32"),
        streaming=QColor("#7fb0ff" if dark else "#1f5fc9"),
        is_dark=dark,
    )


def build_palette(scheme: str) -> QPalette:
    """The full QPalette for ``"light"`` or ``"dark"`` (disabled colours dimmed)."""
    colors = _DARK_COLORS if scheme == DARK else _LIGHT_COLORS
    palette = QPalette()
    for role, value in colors.items():
        palette.setColor(role, QColor(value))
    dim = QColor("#6b7078" if scheme == DARK else "#a0a5ad")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return palette


def system_scheme() -> str:
    """The system's colour scheme: "dark" or "light" (light when unknown)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() == Qt.ColorScheme.Dark:
        return DARK
    return LIGHT


def stylesheet(scheme: str) -> str:
    """The application stylesheet for a scheme."""
    if scheme == DARK:
        values = {"warn_bg": "#3a2f17", "warn_fg": "#f3d08a", "warn_border": "#6b5320",
                  "error": _ERROR_DARK, "primary_hover": "#5590f0", "success": "#5fcf80"}
    else:
        values = {"warn_bg": "#fff4d6", "warn_fg": "#6b4500", "warn_border": "#e8c875",
                  "error": _ERROR_LIGHT, "primary_hover": "#255fc4", "success": "#2e7d32"}
    return _STYLESHEET % values


class _SchemeFollower(QObject):
    """Re-applies the theme when the system colour scheme changes (Qt >= 6.5)."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app

    @Slot()
    def on_scheme_changed(self) -> None:
        """Re-theme for the new system scheme."""
        _apply(self._app, system_scheme())


def _apply(app: QApplication, scheme: str) -> None:
    app.setStyle("Fusion")
    app.setPalette(build_palette(scheme))
    app.setStyleSheet(stylesheet(scheme))
    app.setProperty("jockey_scheme", scheme)


def current_scheme(app: QApplication | None = None) -> str:
    """The scheme last applied by ``apply_theme`` (or guessed from the palette)."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    value = app.property("jockey_scheme") if app is not None else None
    if value in (LIGHT, DARK):
        return str(value)
    return DARK if is_dark_palette(QGuiApplication.palette()) else LIGHT


def apply_theme(app: QApplication, scheme: str | None = None) -> str:
    """Style ``app`` for ``scheme`` ("light"/"dark"), or follow the system when None.

    Following the system also re-themes on a live change of the system scheme. Returns the
    scheme applied.
    """
    follower = app.findChild(_SchemeFollower)
    if scheme is None:
        scheme = system_scheme()
        hints = QGuiApplication.styleHints()
        if follower is None and hasattr(hints, "colorSchemeChanged"):
            follower = _SchemeFollower(app)
            hints.colorSchemeChanged.connect(follower.on_scheme_changed)
    elif follower is not None:
        # An explicit choice stops following the system.
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.on_scheme_changed)
        follower.setParent(None)
        follower.deleteLater()
    _apply(app, scheme)
    return scheme


def repolish(widget: QWidget) -> None:
    """Re-evaluate the stylesheet after a dynamic property change on ``widget``."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that shows exactly these characters.

    Qt renders a tooltip as HTML whenever it merely *looks* like HTML (``Qt::mightBeRichText``),
    so a store name or conversation title such as ``<img src=…>`` would be interpreted. The
    text is escaped and wrapped in ``<qt>`` (forcing rich text whose only markup is ours), which
    also makes long tooltips wrap instead of running off the screen.
    """
    if not text:
        return ""
    escaped = html.escape(text, quote=False).replace("\n", "<br>")
    return f"<qt>{escaped}</qt>"


def plain_window_title(text: str) -> str:
    """``text`` as a window title that shows exactly these characters.

    Qt reads ``[*]`` in a title as the "unsaved changes" placeholder and drops it; doubled,
    it shows once. Line breaks (a title from a server) are shown as spaces.
    """
    return " ".join(text.splitlines()).replace("[*]", "[*][*]")


def plain_menu_text(text: str) -> str:
    """``text`` as a menu item or button label that shows exactly these characters.

    Qt reads ``&`` as the mnemonic marker (``&&`` shows one) and a tab in a menu item as the
    start of its shortcut text.
    """
    return " ".join(text.replace("\t", " ").splitlines()).replace("&", "&&")


def set_plain_text(label: QLabel, text: str) -> None:
    """Show ``text`` in ``label`` as plain text, whatever it looks like (a label's default
    format renders anything that merely looks like HTML, ``Qt::mightBeRichText``)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)


def text_with_action_links(text: str) -> str:
    """``text`` as rich text whose only markup is ours: every character escaped, line breaks
    kept, and each action it names (``presentation.text_actions``) an ``action:`` link."""
    parts: list[str] = []
    for run, action in split_actions(text):
        escaped = html.escape(run, quote=False).replace("\n", "<br>")
        parts.append(f'<a href="{action.value}">{escaped}</a>' if action is not None
                     else escaped)
    return f"<qt>{''.join(parts)}</qt>"


def set_text_with_actions(label: QLabel, text: str) -> None:
    """Show ``text`` in ``label`` exactly as written, with the actions it names as links.

    Text naming no action is set as plain text. Links never open anything by themselves
    (``openExternalLinks`` off): the owner connects ``label.linkActivated`` and does the
    action (``presentation.text_actions.action_for(href)``).
    """
    label.setOpenExternalLinks(False)
    if not has_actions(text):
        set_plain_text(label, text)
        return
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setText(text_with_action_links(text))
    flags = label.textInteractionFlags()
    label.setTextInteractionFlags(flags | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
