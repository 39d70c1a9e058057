"""Wiring of what the first paint shows: the composition root (``app.py``) builds the services
and the window, then calls these once, in this order.

- :func:`wire_connection` — one announcement of the client, every user of it subscribed; the
  settings dialog's requests (relayed by the window, so they are wired before it is built).
- :func:`wire_conversation` — the conversation on screen: the workspace, the sidebar's and the
  store picker's requests, and the pane's send / retry / stop / drafts.
- :func:`wire_changes` — the one change path: the feed, read once per change by each view,
  and the list controller's answers.
- :func:`wire_chat` — the chat's live state (not stored) and closing with held writes.
- :func:`wire_stores` — the store list, and a second launch bringing this window forward.

Signals go to bound ``@Slot`` methods, never lambdas (a lambda connected to a cross-thread
signal would run in the sender's thread). The parts the first paint does not show are wired
by ``deferred_wiring`` after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jockey_desktop.app import JockeyDesktop


def wire_connection(desktop: JockeyDesktop) -> None:
    """The connection's client and status to the chat, the stores and the window."""
    w, conn, keys = desktop.window, desktop.connection, desktop.keys
    conn.sig_client_changed.connect(desktop.chat.set_client)
    conn.sig_client_changed.connect(desktop.stores.set_client)
    conn.sig_status_changed.connect(w.show_connection)
    conn.sig_key_state_changed.connect(w.set_key_state)
    conn.sig_settings_values.connect(w.set_settings_values)
    conn.sig_notice.connect(w.show_transient)
    conn.sig_no_client_reason.connect(desktop.chat.set_no_client_reason)
    conn.sig_key_problem.connect(w.set_key_problem)
    keys.sig_test_result.connect(w.set_test_result)
    keys.sig_key_checked.connect(w.set_key_check_result)
    keys.sig_error.connect(w.show_transient)
    w.sig_settings_requested.connect(conn.refresh_settings)
    w.sig_save_key.connect(conn.check_and_save_key)
    w.sig_key_check_cancelled.connect(conn.cancel_key_check)
    w.sig_remove_key.connect(conn.remove_key)
    w.sig_test_connection.connect(conn.test_connection)
    w.sig_apply_settings.connect(conn.apply_settings)
    w.sig_try_sandbox_requested.connect(conn.try_sandbox)


def wire_conversation(desktop: JockeyDesktop) -> None:
    """The conversation on screen: the workspace and what asks it for changes."""
    w, conn, ws = desktop.window, desktop.connection, desktop.workspace
    pane, sidebar, picker = w.chat_pane, w.sidebar, w.store_picker
    ws.sig_opened.connect(pane.show_opened)
    ws.sig_cleared.connect(pane.clear)
    ws.sig_lost.connect(pane.clear_keeping_typed)
    ws.sig_current_changed.connect(sidebar.select_conversation)
    ws.sig_store_selected.connect(picker.select_store)
    ws.sig_focus_composer.connect(w.focus_composer)
    ws.sig_notice.connect(w.show_transient)
    ws.sig_refused.connect(pane.show_refusal)
    ws.sig_unsent_restored.connect(pane.set_composer_text)
    ws.sig_retry_refused.connect(pane.show_reason)
    ws.sig_store_gone.connect(pane.show_store_gone)
    ws.sig_pick_store_requested.connect(picker.show_popup)
    ws.sig_message.connect(w.show_message)
    ws.sig_damaged.connect(w.show_damaged_notice)
    sidebar.sig_conversation_selected.connect(ws.open)
    # A new conversation leaves a search: the list shows it, selected.
    sidebar.sig_new_requested.connect(sidebar.clear_search)
    sidebar.sig_new_requested.connect(ws.new_conversation)
    sidebar.sig_delete_requested.connect(ws.delete)
    w.sig_new_conversation.connect(sidebar.clear_search)
    w.sig_new_conversation.connect(ws.new_conversation)
    w.sig_restore_backup_requested.connect(ws.restore_newest_backup)
    picker.sig_current_changed.connect(ws.on_store_shown)
    picker.sig_current_changed.connect(pane.on_store_picked)
    picker.sig_store_chosen.connect(ws.choose_store)
    # A send or retry faster than the first paint connects first instead of refusing.
    pane.sig_send_requested.connect(conn.connect_now)
    pane.sig_send_requested.connect(ws.send)
    pane.sig_retry_requested.connect(conn.connect_now)
    pane.sig_retry_requested.connect(ws.retry)
    pane.sig_stop_requested.connect(ws.stop)
    pane.sig_draft_changed.connect(ws.save_draft)


def wire_changes(desktop: JockeyDesktop) -> None:
    """One change path: the feed to the transcript, the list controller to the views."""
    w, conv = desktop.window, desktop.conversations
    pane, sidebar = w.chat_pane, w.sidebar
    desktop.feed.sig_changed.connect(pane.apply_changes)
    conv.sig_conversation_updated.connect(sidebar.upsert_summary)
    conv.sig_conversation_updated.connect(pane.on_summary_updated)
    conv.sig_conversation_removed.connect(sidebar.remove_conversation)
    conv.sig_summaries_loaded.connect(sidebar.add_summaries)
    conv.sig_summaries_reset.connect(sidebar.set_summaries)
    conv.sig_search_results.connect(sidebar.show_search_results)
    conv.sig_notice.connect(w.show_transient)
    conv.sig_markdown_ready.connect(w.copy_conversation_text)
    conv.sig_error.connect(w.show_transient)
    sidebar.sig_rename_requested.connect(conv.rename)
    sidebar.sig_pin_requested.connect(conv.set_pinned)
    sidebar.sig_search_requested.connect(conv.search)
    # After sidebar.sig_conversation_selected (ws.open): the hit's conversation is shown.
    sidebar.sig_search_hit_opened.connect(pane.reveal_search_hit)
    w.sig_import_chosen.connect(conv.import_file)
    sidebar.sig_export_requested.connect(w.export_conversation)
    w.sig_export_chosen.connect(conv.export_one)
    conv.sig_export_failed.connect(w.show_export_failure)
    w.sig_export_all_chosen.connect(conv.export_all)
    w.sig_copy_conversation.connect(conv.copy_markdown)


def wire_chat(desktop: JockeyDesktop) -> None:
    """The chat's live state — each view keeps its own conversation's — and quitting."""
    w, chat, quit_guard = desktop.window, desktop.chat, desktop.quit_guard
    pane = w.chat_pane
    chat.sig_stream_text.connect(pane.on_stream_text)
    chat.sig_busy_changed.connect(pane.on_busy_changed)
    chat.sig_refused.connect(pane.on_refused)
    chat.sig_notice.connect(w.on_chat_notice)
    chat.sig_held_changed.connect(w.sidebar.set_held_conversations)
    # Closing with answers a full disk could not take tries them, then asks.
    w.close_guard = quit_guard.may_close
    quit_guard.sig_close_approved.connect(w.close)
    quit_guard.sig_notice.connect(w.show_transient)


def wire_stores(desktop: JockeyDesktop) -> None:
    """The store list to the picker and the workspace; a second launch to the window."""
    w, stores, picker = desktop.window, desktop.stores, desktop.window.store_picker
    picker.sig_refresh_requested.connect(stores.refresh)
    stores.sig_loading.connect(picker.set_loading)
    stores.sig_stores_loaded.connect(picker.set_stores)
    stores.sig_stores_loaded.connect(desktop.workspace.on_stores_loaded)
    stores.sig_stores_failed.connect(picker.set_error)
    stores.sig_key_refused.connect(w.set_saved_key_refused)
    if desktop.guard is not None:
        desktop.guard.sig_activate_requested.connect(w.bring_to_front)
