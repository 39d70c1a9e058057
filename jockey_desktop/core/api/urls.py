"""Checks on the API base URL before any request carries the API key to it.

Pure Python, never imports Qt. ``JockeyClient.__init__``, the settings dialog, the
``--api-base`` command-line option and the app's client factory all call
:func:`base_url_problem`, so one rule decides where the key may travel: https anywhere, plain
http only to this computer (the local sandbox server and tests).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["PLAIN_HTTP_PROBLEM", "SANDBOX_SERVER", "base_url_problem", "is_loopback_host",
           "server_identity"]

#: The identity of the app's own in-process sandbox, whatever port it listens on this run.
SANDBOX_SERVER = "sandbox"
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: The sentence shown when a base URL would send the key over plain http to another machine.
PLAIN_HTTP_PROBLEM = (
    "Plain http:// would send your API key unencrypted; use https://, "
    "or http:// only for a server on this computer."
)


def is_loopback_host(host: str) -> bool:
    """Return True if *host* names this computer: ``localhost``, 127.0.0.0/8 or ``::1``."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        return False
    # "localhost" and its subdomains resolve to loopback by RFC 6761; no DNS lookup here,
    # because a lookup could be answered by anyone on the network.
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str) -> str | None:
    """Return why *url* is unacceptable as the API base, or None if it is fine.

    Acceptable: ``https://`` to any host, ``http://`` only to a loopback host. Anything else
    (another scheme, no host, plain http to another machine) gets a one-sentence reason meant
    for the user. The URL itself is never echoed (it could, by mistake, hold a key).
    """
    text = url.strip()
    if not text:
        return "Enter the API base URL, for example https://api.twelvelabs.io/v1.3."
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "The API base URL is not a valid address."
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return (
            "The API base URL must start with https:// "
            "(or http:// for a server on this computer)."
        )
    if not host:
        return "The API base URL has no server name."
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would be sent (and logged by proxies) alongside the key.
        return "The API base URL must not contain a user name or password."
    if scheme == "http" and not is_loopback_host(host):
        return PLAIN_HTTP_PROBLEM
    return None


def server_identity(base_url: str) -> str:
    """A stable name of the API at ``base_url``, for data that belongs to one server (the
    upload queue): scheme, host and path, lower-cased where case does not matter, without
    a default port, a trailing slash, a query, a fragment or credentials (never a key).
    ``https://API.example.com:443/v1.3/`` and ``https://api.example.com/v1.3`` are one
    server. The in-process sandbox is :data:`SANDBOX_SERVER` instead (its port changes)."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    try:
        port = parts.port
    except ValueError:
        port = None
    where = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{where}{parts.path.rstrip('/')}"
