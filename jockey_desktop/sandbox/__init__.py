"""The built-in sandbox: a loopback, Jockey-compatible HTTP server with sample stores.

Pure Python (stdlib ``http.server``), never imports Qt. Typical use::

    server = SandboxServer(state_dir=path, pace=Pace.instant())
    base_url = server.start()        # "http://127.0.0.1:<port>/v1.3"
    ...                              # x-api-key: SANDBOX_API_KEY ("sandbox")
    server.stop()

Fault injection (``server.faults.add(Fault.rate_limit(7))`` etc.) is described in
:mod:`jockey_desktop.sandbox.faults`; server behaviour in :mod:`jockey_desktop.sandbox.server`.
"""

from jockey_desktop.sandbox.faults import Fault, FaultKind, FaultSet
from jockey_desktop.sandbox.pace import Pace
from jockey_desktop.sandbox.server import API_PREFIX, MAX_BODY_BYTES, SANDBOX_API_KEY, SandboxServer
from jockey_desktop.sandbox.sessions import DEFAULT_SESSION_TTL

__all__ = [
    "API_PREFIX",
    "DEFAULT_SESSION_TTL",
    "MAX_BODY_BYTES",
    "SANDBOX_API_KEY",
    "Fault",
    "FaultKind",
    "FaultSet",
    "Pace",
    "SandboxServer",
]
