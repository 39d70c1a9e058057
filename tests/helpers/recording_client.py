"""A real API client that records what each ``stream_response`` was asked to send."""

from __future__ import annotations

from typing import Any


class RecordingClient:
    """Wraps a real client: every ``stream_response`` call's arguments are kept in
    ``calls`` (args, kwargs), and the call goes through unchanged."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """Record, then stream through the real client."""
        self.calls.append((args, dict(kwargs)))
        return self.real.stream_response(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
