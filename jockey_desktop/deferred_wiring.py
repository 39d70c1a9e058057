"""The parts of the app the first paint does not show, one wiring function each.

The composition root (``app.py``) names them as :class:`~jockey_desktop.startup.DeferredPart`
attributes of ``JockeyDesktop``: each runs just after the first paint, or at the part's first
use if that comes sooner. Each imports its feature's modules itself — most of what deferring
saves at start-up is those imports. A part that needs the server client gets the current one
as it subscribes (``startup.follow_client``): the connection may be made before it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jockey_desktop.startup import follow_client

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop
    from jockey_desktop.compare_wiring import CompareFeature
    from jockey_desktop.controllers.notifications import NotificationsController
    from jockey_desktop.controllers.selections import SelectionCandidates
    from jockey_desktop.controllers.starters import StartersController
    from jockey_desktop.player_wiring import PlayerFeature
    from jockey_desktop.stores_feature import StoresFeature


def player(desktop: JockeyDesktop) -> PlayerFeature:
    """The player's controller, the Video menu's actions and the citation clicks."""
    from jockey_desktop.player_wiring import wire_player

    return wire_player(desktop)


def stores(desktop: JockeyDesktop) -> StoresFeature:
    """Uploads, store management, the stores view (built when opened), drops; an item's
    Play goes to the player."""
    from jockey_desktop.stores_feature import install_stores_feature

    feature = install_stores_feature(desktop)
    feature.sig_play_item.connect(desktop.player.play_item)
    return feature


def compare(desktop: JockeyDesktop) -> CompareFeature:
    """File → Compare stores… and its controller (the view is built when opened)."""
    from jockey_desktop.compare_wiring import CompareFeature

    return CompareFeature(desktop)


def notifications(desktop: JockeyDesktop) -> NotificationsController:
    """An answer finished while the window was in the background: alert and notify."""
    from jockey_desktop.controllers.notifications import NotificationsController

    w = desktop.window
    notes = NotificationsController(
        desktop.repo, desktop.settings, window_active=w.is_window_active, alert=w.alert,
        notifier_factory=w.notifier, parent=desktop)
    desktop.chat.sig_turn_finished.connect(notes.on_turn_finished)
    w.sig_notify_changed.connect(notes.set_enabled)
    notes.sig_enabled_changed.connect(w.set_notify_checked)
    notes.sig_open_requested.connect(desktop.workspace.open)
    notes.sig_open_requested.connect(w.bring_to_front)
    notes.sig_front_requested.connect(w.bring_to_front)
    w.set_notify_checked(notes.enabled())
    return notes


def starters(desktop: JockeyDesktop) -> StartersController:
    """Starter questions of an empty conversation, drawn from its store's videos."""
    from jockey_desktop.controllers.starters import StartersController

    controller = StartersController(desktop.runner, parent=desktop)
    pane = desktop.window.chat_pane
    follow_client(desktop.connection, controller.set_client)
    pane.sig_starters_wanted.connect(controller.request)
    controller.sig_starters.connect(pane.set_store_questions)
    return controller


def mentions(desktop: JockeyDesktop) -> SelectionCandidates:
    """The ``@`` candidates of the composer."""
    from jockey_desktop.ask_wiring import wire_mentions

    return wire_mentions(desktop)
