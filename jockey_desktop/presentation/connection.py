"""What the window says about the connection (Qt-free): the mode, the label and the proxy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NOT_CONNECTED = "Not connected"
SANDBOX_LABEL = "Sandbox"


class ConnectionMode(Enum):
    """What the app is connected to."""

    #: Nothing yet (no key, or the key lookup has not answered).
    NONE = "none"
    #: The in-process sandbox server (no key needed).
    SANDBOX = "sandbox"
    #: A Jockey API server with the user's key.
    API = "api"


@dataclass(frozen=True)
class ConnectionStatus:
    """What the window shows about the connection."""

    mode: ConnectionMode
    #: "Sandbox", the API host, or "Not connected".
    label: str
    #: The proxy requests to the server go through, if any.
    proxy: str | None = None
    #: True when there is nothing to connect with (no key, no sandbox): the welcome page.
    needs_setup: bool = False

    @property
    def text(self) -> str:
        """The status bar's text: "api.twelvelabs.io · via proxy http://proxy:3128"."""
        return self.label if not self.proxy else f"{self.label} · via proxy {self.proxy}"
