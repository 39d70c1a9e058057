"""Painting one laid-out transcript row: bubble, documents, chips, status line, Retry, seam.

One job: draw a :class:`RowLayout` with a ``QPainter`` already translated to the row's
top-left. What the status line and the Retry link say comes from
:mod:`jockey_desktop.presentation.status`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPalette,
    QPen,
    QPolygonF,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)

from jockey_desktop.core.errors import retry_wait_seconds
from jockey_desktop.core.storage.models import Message
from jockey_desktop.presentation.status import StatusKind, retry_label, status_line
from jockey_desktop.ui.message_colors import Colors
from jockey_desktop.ui.message_layout import (
    BUBBLE_RADIUS,
    MARGIN_X,
    RowLayout,
    chip_geometry,
    number_width,
    small_font,
)
from jockey_desktop.ui.steps_view import Highlight
from jockey_desktop.ui.text_selection import part_ranges, row_documents


def paint_seam(painter: QPainter, layout: RowLayout, width: int, font: QFont,
               colors: Colors) -> None:
    """A session seam: its reason centred between two thin rules."""
    small = small_font(font)
    small.setItalic(True)
    inner = max(80.0, width - 2 * MARGIN_X)
    rect = layout.seam_rect or QRectF(MARGIN_X, 0, inner, layout.height)
    mid_y = rect.center().y()
    painter.setPen(QPen(colors.divider, 1))
    if rect.left() - 12 > MARGIN_X + 24:
        painter.drawLine(QPointF(MARGIN_X, mid_y), QPointF(rect.left() - 12, mid_y))
        painter.drawLine(QPointF(rect.right() + 12, mid_y), QPointF(MARGIN_X + inner, mid_y))
    painter.setFont(small)
    painter.setPen(colors.muted)
    painter.drawText(
        rect.adjusted(-1, 0, 1, 0),
        int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
        layout.seam_text,
    )


def paint_focus(painter: QPainter, width: int, height: int, colors: Colors) -> None:
    """The dashed frame of the keyboard-current row (what Ctrl+C and the menu key act on)."""
    focus = QColor(colors.accent)
    focus.setAlphaF(0.55)
    painter.setPen(QPen(focus, 1.2, Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(QRectF(3, 2, width - 6, height - 4), 6, 6)


def paint_bubble(painter: QPainter, layout: RowLayout, colors: Colors) -> None:
    """A question's rounded bubble (nothing for answers)."""
    if layout.bubble is None:
        return
    painter.setPen(QPen(colors.bubble_border, 1))
    painter.setBrush(colors.bubble)
    painter.drawRoundedRect(layout.bubble.adjusted(0.5, 0.5, -0.5, -0.5), BUBBLE_RADIUS,
                            BUBBLE_RADIUS)


def paint_documents(painter: QPainter, layout: RowLayout, palette: QPalette, colors: Colors,
                    clip: QRectF | None, selection: tuple[int, int] | None = None) -> None:
    """The row's text documents, drawn only where ``clip`` (document coordinates) shows them;
    ``selection`` (start, end positions through the row's text) is drawn highlighted."""
    if layout.document is None:
        return
    painter.save()
    painter.translate(layout.doc_origin)
    ctx = QAbstractTextDocumentLayout.PaintContext()
    text_palette = QPalette(palette)
    text_palette.setColor(QPalette.ColorRole.Text, colors.text)
    text_palette.setColor(QPalette.ColorRole.Link, colors.link)
    ctx.palette = text_palette
    selected = dict.fromkeys(range(len(layout.parts)), (0, 0))
    if selection is not None:
        selected.update({i: (lo, hi) for i, lo, hi in part_ranges(layout, *selection)})
    for part, (y, document) in enumerate(layout.parts):
        ctx.selections = _highlight(document, selected[part], palette)
        part_clip = clip.translated(0, -y) if clip is not None else None
        height = document.size().height()
        if part_clip is not None:
            # An empty clip would mean "no clip" to Qt: skip what is not exposed.
            part_clip = part_clip.intersected(QRectF(-1, -1, 1e7, height + 2))
            if part_clip.isEmpty():
                continue
            ctx.clip = part_clip
        painter.save()
        painter.translate(0, y)
        document.documentLayout().draw(painter, ctx)
        painter.restore()
    painter.restore()


def extras_highlights(layout: RowLayout, selection: tuple[int, int] | None,
                      palette: QPalette) -> list[Highlight]:
    """The selected text of the documents under an answer (web sources, steps), each as
    the highlight ``steps_view.paint_extras`` draws on it."""
    if selection is None or layout.extras is None:
        return []
    documents = row_documents(layout)
    return [(documents[index][1], _highlight(documents[index][1], (lo, hi), palette))
            for index, lo, hi in part_ranges(layout, *selection) if documents[index][2]]


def _highlight(document: QTextDocument, span: tuple[int, int],
               palette: QPalette) -> list[QAbstractTextDocumentLayout.Selection]:
    """The document's selected span as a layout selection in the palette's highlight."""
    lo, hi = span
    if hi <= lo:
        return []
    cursor = QTextCursor(document)
    cursor.setPosition(lo)
    cursor.setPosition(hi, QTextCursor.MoveMode.KeepAnchor)
    fmt = QTextCharFormat()
    fmt.setBackground(palette.color(QPalette.ColorRole.Highlight))
    fmt.setForeground(palette.color(QPalette.ColorRole.HighlightedText))
    chosen = QAbstractTextDocumentLayout.Selection()
    chosen.cursor = cursor
    chosen.format = fmt
    return [chosen]


def paint_chips(painter: QPainter, layout: RowLayout, font: QFont, colors: Colors) -> None:
    """The citation chips: a pill with a small play triangle and the moment's label."""
    small = small_font(font)
    metrics = QFontMetricsF(small)
    bold = QFont(small)
    bold.setWeight(QFont.Weight.Bold)
    chip = chip_geometry(metrics)
    for position, (rect, _index, label) in enumerate(layout.chips):
        painter.setFont(small)
        painter.setPen(QPen(colors.chip_border, 1))
        painter.setBrush(colors.chip)
        radius = rect.height() / 2
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        mid = rect.center().y()
        number = layout.chip_numbers[position] if position < len(layout.chip_numbers) else ""
        number_w = number_width(metrics, number)
        if number:
            # The number its [N] marker shows, in the markers' colour and weight.
            painter.setFont(bold)
            painter.setPen(colors.link)
            painter.drawText(QRectF(rect.left() + chip.pad_x - 2, rect.top(), number_w,
                                    rect.height()),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             number)
            painter.setFont(small)
        icon_left = rect.left() + chip.pad_x + number_w
        triangle = QPolygonF([
            QPointF(icon_left, mid - chip.icon / 2),
            QPointF(icon_left + chip.icon, mid),
            QPointF(icon_left, mid + chip.icon / 2),
        ])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.link)
        painter.drawPolygon(triangle)
        painter.setPen(colors.chip_text)
        text_rect = rect.adjusted(chip.pad_x + chip.icon + chip.space + number_w, 0,
                                  -chip.pad_x + 1, 0)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         label)


def paint_status(painter: QPainter, message: Message, layout: RowLayout, font: QFont,
                 colors: Colors, now: float) -> None:
    """The status line (with its dot) and the Retry link, as they read at ``now``."""
    rect = layout.status_rect
    if rect is None:
        return
    small = small_font(font)
    metrics = QFontMetricsF(small)
    painter.setFont(small)
    line = status_line(message, now)
    if line.kind in (StatusKind.BUSY, StatusKind.ERROR):
        first_line_mid = rect.top() + metrics.height() / 2
        size = chip_geometry(metrics).dot
        dot = QRectF(MARGIN_X, first_line_mid - size / 2, size, size)
        painter.setPen(Qt.PenStyle.NoPen)
        if line.kind is StatusKind.BUSY:
            # A soft pulse (one step per timer tick) shows the app is alive.
            color = QColor(colors.accent)
            color.setAlphaF(1.0 if int(now) % 2 else 0.45)
            painter.setBrush(color)
        else:
            painter.setBrush(colors.error)
        painter.drawEllipse(dot)
    painter.setPen(colors.error if line.kind is StatusKind.ERROR else colors.muted)
    if line.kind is StatusKind.BUSY:
        shown = metrics.elidedText(line.text, Qt.TextElideMode.ElideRight, rect.width() + 1)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    else:
        shown = line.text
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width() + 2, rect.height()),
                     int(flags), shown)
    if layout.retry_rect is None:
        return
    align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    if retry_wait_seconds(message, now) > 0:
        # Locked: plain muted text, no underline, until the server allows it.
        painter.setPen(colors.muted)
        painter.drawText(layout.retry_rect, align, retry_label(message, now))
        return
    link_font = QFont(small)
    link_font.setUnderline(True)
    link_font.setWeight(QFont.Weight.DemiBold)
    painter.setFont(link_font)
    painter.setPen(colors.link)
    painter.drawText(layout.retry_rect, align, retry_label(message, now))


def paint_actions(painter: QPainter, layout: RowLayout, font: QFont, colors: Colors) -> None:
    """An answer's action line: the version arrows and count, "Ask again", "Continue in a
    new conversation" (links in the link colour; an arrow with nowhere to go is muted)."""
    if not layout.actions:
        return
    small = small_font(font)
    align = int(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignVCenter)
    for rect, action, label in layout.actions:
        text_font = QFont(small)
        if action.endswith(("previous", "next")):
            text_font.setWeight(QFont.Weight.Bold)
        painter.setFont(text_font)
        live = bool(action) and not action.startswith("off:")
        painter.setPen(colors.link if live else colors.muted)
        painter.drawText(rect, align, label)
