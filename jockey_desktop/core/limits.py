"""The API's size limits, defined once for the app (no Qt).

The composer counts against them, the chat controller refuses past them, and the recap that
seeds a new session is cut to fit them.
"""

from __future__ import annotations

#: Characters in one question (the API refuses longer input with a 400).
MAX_QUESTION_CHARS = 10_000
#: Characters of ``instructions`` on one request (the API refuses more).
MAX_INSTRUCTIONS_CHARS = 2_000


def too_long_reason(length: int) -> str:
    """Why a question of ``length`` characters is refused (one sentence, used everywhere)."""
    return (f"Messages are limited to {MAX_QUESTION_CHARS:,} characters — "
            f"this one has {length:,}.")
