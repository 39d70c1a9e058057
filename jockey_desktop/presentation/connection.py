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


class KeyVerdict(Enum):
    """What became of a key the settings dialog handed over to be checked and saved."""

    #: The server accepted it; it is saved and in use.
    ACCEPTED = "accepted"
    #: The server refused it (401): nothing was saved, the field keeps it for correcting.
    REFUSED = "refused"
    #: The server could not say (down, failing, another address…): saved, the reason told.
    UNCHECKED = "unchecked"
    #: The key store failed while saving it: nothing saved, the field keeps it.
    NOT_SAVED = "not_saved"


#: Said in the dialog while the server is asked about a key about to be saved.
KEY_CHECKING_TEXT = "Checking this key with the server…"


#: Said next to the key field while the server refuses the key in use (revoked, regenerated).
SAVED_KEY_REFUSED_TEXT = ("The server refuses the saved key (it may have been revoked or "
                          "regenerated). Paste a valid key above and choose Replace key.")


def key_accepted_text(store_count: int) -> str:
    """The dialog's line once the server accepted a key and it was saved (the line below it
    says where: the keychain, or memory for this run)."""
    noun = "knowledge store" if store_count == 1 else "knowledge stores"
    return f"The server accepted this key — {store_count} {noun} available."


def key_refused_text(*, had_key: bool) -> str:
    """The dialog's line when the server refused the key about to be saved (nothing is)."""
    kept = " The key saved before stays in use." if had_key else ""
    return ("The server refused this key: it is not a valid API key for this server. "
            "Nothing was saved. Check it against the one in your TwelveLabs account "
            f"(copy it again if part is missing), then save it again.{kept}")


def key_unchecked_text(reason: str) -> str:
    """The dialog's line when the key was saved but the server could not say whether it is
    valid (``reason``: why, as the error sentences put it)."""
    return f"The key is saved, but the server could not check it: {reason}"
