"""The one rule for hiding secrets in text (no Qt): the client's errors and the log file.

Only secrets long enough to be secrets are replaced. The sandbox's key is the word
"sandbox"; replacing it would turn the server's own sentences into nonsense ("The [redacted]
hit an unexpected error") while hiding nothing: it is documented in the README. A real API
key is far longer than ``MIN_SECRET_LENGTH``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeGuard

#: Shorter strings are never treated as secrets (a word like "sandbox" is not one).
MIN_SECRET_LENGTH = 12
#: What a secret is replaced by.
REDACTED = "[redacted]"


def is_secret(value: str | None) -> TypeGuard[str]:
    """True when ``value`` is long enough to be hidden wherever it appears."""
    return value is not None and len(value) >= MIN_SECRET_LENGTH


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (see :func:`is_secret`) in ``secrets`` replaced."""
    if not text:
        return text
    for secret in secrets:
        if is_secret(secret):
            text = text.replace(secret, REDACTED)
    return text
