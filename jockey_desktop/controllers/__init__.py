"""QObjects between the widgets and the core: chat, conversations, stores, settings, media.

Controllers own no widgets. They take core services (repository, client, key store) and task
runners from the composition root (``jockey_desktop.app``), do blocking work on workers, and
report on the GUI thread through ``sig_*`` signals (see docs/ARCHITECTURE.md and the UI
contract). Import the classes from their modules, e.g.
``from jockey_desktop.controllers.chat import ChatController``.
"""
