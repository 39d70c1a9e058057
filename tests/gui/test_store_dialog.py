"""The New/Edit store dialog on its own: its main button looks like the app's other main
buttons (filled with the highlight) once there is a name to create."""

from __future__ import annotations

from typing import Any

import pytest

from jockey_desktop.ui.stores.store_dialog import StoreDialog
from tests.helpers.look import themed

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_create_store_is_the_primary_button(qtbot: Any, qapp: Any, scheme: str) -> None:
    with themed(qapp, scheme):
        dialog = StoreDialog()
        qtbot.addWidget(dialog)
        dialog.name_field.setText("Holiday clips")
        dialog.show()
        qtbot.waitExposed(dialog)
        button = dialog.ok_button
        assert button.isEnabled() and button.text() == "Create store"
        image = button.grab().toImage()
        highlight = button.palette().highlight().color().name()
        middle = image.pixelColor(6, image.height() // 2).name()
        assert middle == highlight
