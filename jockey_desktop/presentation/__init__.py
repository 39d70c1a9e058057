"""Presentation rules without Qt: what the views say about the records they show.

Status lines, the retry wait, session state, accessible text, badges and formatting are
decided here once and read by the delegates, the panes and the item models (and by tests,
without a display). Nothing here imports Qt or does I/O.
"""
