"""The knowledge-store picker: a compact button showing the current store, and a popup list
with filter-as-you-type, item counts, readiness and a Refresh button.

It only displays what the StoresController loads (on a worker) and reports the user's choice
with ``sig_store_chosen``. Programmatic selection (``select_store``, restoring the remembered
store) never emits, so restoring state cannot trigger "start a new conversation?" prompts.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jockey_desktop.core.store_summary import StoreSummary
from jockey_desktop.presentation.store_counts import readiness_label, store_counts_text
from jockey_desktop.ui.elided_button import ElidedToolButton
from jockey_desktop.ui.models.store_model import (
    StoreFilterModel,
    StoreIdRole,
    StoreListModel,
    StoreRole,
)
from jockey_desktop.ui.theme import (
    palette_colors,
    plain_menu_text,
    plain_tooltip,
    repolish,
    set_text_with_actions,
)

_Index = QModelIndex | QPersistentModelIndex


def store_button_text(store: StoreSummary) -> str:
    """The compact control's text: "Name · 12 videos · Ready"."""
    noun = "video" if store.item_count == 1 else "videos"
    return f"{store.name} · {store.item_count} {noun} · {readiness_label(store)}"


def fitting_counts_text(store: StoreSummary, metrics: QFontMetrics, width: int) -> str:
    """A store row's counts line for ``width`` pixels: the whole line when it fits, else
    without the total (the tooltip and the header give it) rather than cutting off the
    queued and failed; elided only when even that is too long."""
    counts = store_counts_text(store)
    if metrics.horizontalAdvance(counts) <= width:
        return counts
    return metrics.elidedText(store_counts_text(store, short=True),
                              Qt.TextElideMode.ElideRight, width)


class StoreDelegate(QStyledItemDelegate):
    """A store row: bold name with a readiness tag on the right; counts on the second line."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Two lines plus padding."""
        return QSize(260, QFontMetrics(option.font).height() * 2 + 16)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Draw name, readiness tag and counts."""
        store: StoreSummary | None = index.data(StoreRole)
        if store is None:
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        painter.save()
        if opt.widget is not None:
            opt.widget.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt,
                                             painter, opt.widget)
        colors = palette_colors(opt.palette)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        rect = opt.rect.adjusted(10, 8, -10, -8)
        fm = QFontMetrics(opt.font)
        line_h = fm.height()
        tag = readiness_label(store)
        tag_color = {"ready": colors.success, "indexing": colors.warning,
                     "none ready": colors.error}.get(store.readiness, colors.muted)
        tag_w = fm.horizontalAdvance(tag) + 4
        painter.setPen(colors.highlighted_text if selected else tag_color)
        painter.drawText(QRect(rect.right() - tag_w, rect.top(), tag_w, line_h),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, tag)
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(colors.highlighted_text if selected else colors.text)
        name_w = rect.width() - tag_w - 8
        name = QFontMetrics(bold).elidedText(store.name, Qt.TextElideMode.ElideRight, name_w)
        painter.drawText(QRect(rect.left(), rect.top(), name_w, line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        painter.setFont(opt.font)
        painter.setPen(colors.highlighted_text if selected else colors.muted)
        counts = fitting_counts_text(store, fm, rect.width())
        painter.drawText(QRect(rect.left(), rect.top() + line_h + 2, rect.width(), line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, counts)
        painter.restore()


class StorePopup(QFrame):
    """The drop-down: filter field, store list, status line and Refresh."""

    def __init__(self, picker: StorePicker) -> None:
        super().__init__(picker, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Choose a knowledge store")
        self.filter_field = QLineEdit(self)
        self.filter_field.setPlaceholderText("Filter stores…")
        self.filter_field.setClearButtonEnabled(True)
        self.filter_field.setAccessibleName("Filter knowledge stores")
        self.list_view = QListView(self)
        self.list_view.setAccessibleName("Knowledge stores")
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setItemDelegate(StoreDelegate(self.list_view))
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Shown instead of the list when the filter matches nothing.
        self.empty_label = QLabel(self)
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)  # echoes what was typed
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setProperty("role", "muted")
        self.empty_label.setAccessibleDescription("No matching store")
        self.empty_label.hide()
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        # Server error text goes here: plain, so markup in it is shown, not rendered.
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setAccessibleDescription("Store list status")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setAccessibleName("Refresh knowledge stores")
        self.refresh_button.setToolTip("Reload the stores and their indexing status")
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.filter_field)
        layout.addWidget(self.list_view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(bottom)
        self.resize(380, 360)


class StorePicker(QWidget):
    """Compact current-store control with a popup list of the stores to choose from."""

    sig_store_chosen = Signal(str)
    sig_refresh_requested = Signal()
    #: The shown store changed for any reason (user, restore, reload); carries the
    #: StoreSummary or None. For display only: user choices come with ``sig_store_chosen``.
    sig_current_changed = Signal(object)
    #: "Manage…": open the stores view (create stores, upload videos).
    sig_manage_requested = Signal()
    #: An action named in the warning was clicked ("open Settings"): its ``action:`` address.
    sig_text_action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Knowledge store")
        self._current: StoreSummary | None = None
        self._wanted_id: str | None = None
        self._state = "empty"  # empty / loading / error / loaded
        self._error = ""

        self.model = StoreListModel(self)
        self.filter_model = StoreFilterModel(self)
        self.filter_model.setSourceModel(self.model)

        self.caption = QLabel("Knowledge store:", self)
        self.caption.setProperty("role", "muted")
        # Elided when narrow: a long store name must not make the window wider.
        self.button = ElidedToolButton(self, suffix="  ▾", min_width=120)
        self.button.setAccessibleName("Choose knowledge store")
        self.button.setToolTip("Choose the knowledge store to ask questions about")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.button.setArrowType(Qt.ArrowType.NoArrow)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.clicked.connect(self.show_popup)
        self.manage_button = QToolButton(self)
        self.manage_button.setText("Manage…")
        self.manage_button.setAccessibleName("Manage knowledge stores")
        self.manage_button.setToolTip("Create stores, upload videos and watch them index")
        self.manage_button.setAutoRaise(True)
        self.manage_button.clicked.connect(self.sig_manage_requested)
        self.warning_label = QLabel(self)
        self.warning_label.setWordWrap(True)
        # Store names and server error text end up here: plain, never interpreted as HTML.
        self.warning_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warning_label.setProperty("role", "warning")
        self.warning_label.setAccessibleDescription("Knowledge store warning")
        self.warning_label.linkActivated.connect(self.sig_text_action)
        self.warning_label.hide()

        # The drop-down is built the first time it opens (not before the first paint).
        self._popup: StorePopup | None = None

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.caption)
        row.addWidget(self.button)
        row.addWidget(self.manage_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.warning_label)
        self._refresh_view()

    # -- public API -----------------------------------------------------------------------------

    def set_stores(self, stores: Iterable[StoreSummary]) -> None:
        """Show a freshly loaded list; keeps (or restores) the selected store when present.

        With no selection yet, or when the selected/remembered store is gone, the first store
        with ready items is selected (without ``sig_store_chosen``) so the user can start at
        once.
        """
        stores = list(stores)
        self._state = "loaded"
        self.model.set_stores(stores)
        by_id = {s.id: s for s in stores}
        wanted = self._wanted_id or (self._current.id if self._current else None)
        self._wanted_id = None
        if wanted in by_id:
            current = by_id[wanted]
        elif stores:
            current = next((s for s in stores if s.ready), stores[0])
        else:
            current = None
        self._set_current(current)

    def set_loading(self) -> None:
        """Show that the stores are being (re)loaded."""
        self._state = "loading"
        self._refresh_view()

    def set_error(self, text: str) -> None:
        """Show why the stores could not be loaded (the list keeps its last content)."""
        self._state = "error"
        self._error = text
        self._refresh_view()

    def select_store(self, store_id: str | None) -> bool:
        """Select a store by id without emitting (e.g. the remembered last store).

        When the list has not loaded yet, the id is kept and applied by ``set_stores``.
        Returns True when the store is in the current list.
        """
        if store_id is None:
            return False
        row = self.model.row_for_store(store_id)
        if row is None:
            self._wanted_id = store_id
            return False
        self._wanted_id = None
        self._set_current(self.model.stores()[row])
        return True

    def current_store(self) -> StoreSummary | None:
        """The selected store, or None."""
        return self._current

    # -- popup -------------------------------------------------------------------------------

    @property
    def popup(self) -> StorePopup:
        """The drop-down list, built the first time it is needed."""
        if self._popup is None:
            popup = StorePopup(self)
            popup.list_view.setModel(self.filter_model)
            popup.filter_field.textChanged.connect(self._on_filter_changed)
            popup.filter_field.installEventFilter(self)
            popup.list_view.clicked.connect(self._on_row_chosen)
            popup.list_view.activated.connect(self._on_row_chosen)
            popup.refresh_button.clicked.connect(self._on_refresh_clicked)
            self._popup = popup
            self._refresh_popup()
        return self._popup

    @Slot()
    def show_popup(self) -> None:
        """Open the list under the button with the filter focused."""
        self.popup.filter_field.clear()
        width = max(self.button.width(), 380)
        self.popup.resize(width, self.popup.height())
        self.popup.move(self.button.mapToGlobal(self.button.rect().bottomLeft()))
        self._select_current_in_popup()
        self.popup.show()
        self.popup.filter_field.setFocus(Qt.FocusReason.PopupFocusReason)

    def choose(self, store_id: str) -> None:
        """Choose a store as the user would: select it, close the popup, emit."""
        if self.select_store(store_id):
            if self._popup is not None:
                self._popup.hide()
            self.sig_store_chosen.emit(store_id)

    # -- internals ---------------------------------------------------------------------------

    def _set_current(self, store: StoreSummary | None) -> None:
        changed = store != self._current
        self._current = store
        self._refresh_view()
        if changed:
            self.sig_current_changed.emit(store)

    def _select_current_in_popup(self) -> None:
        view = self.popup.list_view
        if self._current is not None:
            row = self.model.row_for_store(self._current.id)
            if row is not None:
                view.setCurrentIndex(self.filter_model.mapFromSource(self.model.index(row, 0)))

    def _refresh_view(self) -> None:
        if self._state == "loading":
            text = "Loading knowledge stores…"
        elif self._state == "error":
            text = "Could not load knowledge stores"
        elif self.model.rowCount() == 0 and self._state == "loaded":
            text = "No knowledge stores"
        else:
            text = (store_button_text(self._current) if self._current is not None
                    else "Choose a knowledge store…")
        self.button.setText(plain_menu_text(f"{text}  ▾"))  # "R&D" is not a mnemonic
        self.button.setAccessibleDescription(text)
        self.button.setToolTip(plain_tooltip(
            text if self._current is not None
            else "Choose the knowledge store to ask questions about"))
        self._refresh_popup()

        warning: str | None = None
        if self._state == "error":
            warning = (f"Could not load knowledge stores: {self._error} "
                       "Open the list and press Refresh to try again.")
        elif self._current is not None:
            warning = self._current.warning
        # Verbatim, with the actions it names ("open Settings", "try the sandbox") as links.
        set_text_with_actions(self.warning_label, warning or "")
        self.warning_label.setVisible(bool(warning))

    def _refresh_popup(self) -> None:
        """The drop-down's status line, Refresh and no-match state (when it is built)."""
        if self._popup is None:
            return
        status = self._popup.status_label
        status.setProperty("role", "muted")
        if self._state == "loading":
            status.setText("Loading…")
        elif self._state == "error":
            status.setText(f"Could not load stores: {self._error}")
            status.setProperty("role", "error")
        elif self.model.rowCount() == 0 and self._state == "loaded":
            status.setText("This account has no knowledge stores yet.")
        else:
            status.setText(self._count_text())
        repolish(status)
        self._update_no_match()
        self._popup.refresh_button.setEnabled(self._state != "loading")

    def _count_text(self) -> str:
        """The footer count: "3 stores", or "1 of 3 stores" while the filter hides some."""
        total = self.model.rowCount()
        if total == 0:
            return ""
        noun = "store" if total == 1 else "stores"
        if self._popup is not None and self._popup.filter_field.text().strip():
            return f"{self.filter_model.rowCount()} of {total} {noun}"
        return f"{total} {noun}"

    def _update_no_match(self) -> None:
        """Say so in the list area when the filter hides every store."""
        if self._popup is None:
            return
        query = self._popup.filter_field.text().strip()
        no_match = bool(query) and self.model.rowCount() > 0 and not self.filter_model.rowCount()
        if no_match:
            self.popup.empty_label.setText(f"No store matches “{query}”")
        self.popup.empty_label.setVisible(no_match)
        self.popup.list_view.setVisible(not no_match)

    @Slot(str)
    def _on_filter_changed(self, text: str) -> None:
        self.filter_model.set_filter_text(text)
        if self._state in ("loaded", "empty") and self.model.rowCount():
            self.popup.status_label.setText(self._count_text())
        self._update_no_match()
        if self.filter_model.rowCount() and not self.popup.list_view.currentIndex().isValid():
            self.popup.list_view.setCurrentIndex(self.filter_model.index(0, 0))

    @Slot(QModelIndex)
    def _on_row_chosen(self, index: QModelIndex) -> None:
        store_id = index.data(StoreIdRole)
        if store_id is not None:
            self.choose(store_id)

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.set_loading()
        self.sig_refresh_requested.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the filter field: Down/Up move in the list, Enter chooses the current row."""
        # The event type first: while the popup is being destroyed its field still sends
        # events here, and the half-destroyed popup's attributes are gone by then.
        if (event.type() == QEvent.Type.KeyPress and self._popup is not None
                and watched is self._popup.filter_field):
            key_event: QKeyEvent = event  # type: ignore[assignment]
            view = self.popup.list_view
            key = key_event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.filter_model.rowCount():
                row = view.currentIndex().row() if view.currentIndex().isValid() else -1
                row += 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(row, self.filter_model.rowCount() - 1))
                view.setCurrentIndex(self.filter_model.index(row, 0))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                index = view.currentIndex()
                if not index.isValid() and self.filter_model.rowCount():
                    index = self.filter_model.index(0, 0)
                if index.isValid():
                    self._on_row_chosen(index)
                return True
        return super().eventFilter(watched, event)
