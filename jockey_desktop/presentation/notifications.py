"""What a notification about finished answers says (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass

from jockey_desktop.presentation.formatting import plain_line

#: How much of an answer the notification quotes.
PREVIEW_CHARS = 140


@dataclass(frozen=True)
class Finished:
    """One turn that ended while the window was in the background."""

    conversation_id: int
    title: str
    preview: str
    failed: bool


def preview(text: str) -> str:
    """The start of an answer on one line, without its Markdown marks, cut at a word."""
    flat = plain_line(text)
    if len(flat) <= PREVIEW_CHARS:
        return flat
    return flat[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


def notification_text(finished: list[Finished]) -> tuple[str, str]:
    """(title, body) of one notification for the turns that just ended."""
    if len(finished) == 1:
        one = finished[0]
        if one.failed:
            return (f"No answer in “{one.title}”",
                    "The answer could not be finished. Open the conversation to retry.")
        return f"Answer ready: {one.title}", one.preview or "Jockey answered."
    names = ", ".join(f"“{f.title}”" for f in finished[:3])
    more = f" and {len(finished) - 3} more" if len(finished) > 3 else ""
    failed = sum(1 for f in finished if f.failed)
    ready = len(finished) - failed
    body = f"{names}{more}."
    if not failed:
        return f"{len(finished)} answers are ready", body
    # The title counts what is ready: "5 answers are ready" over one that failed misled.
    body += " Open the conversations to retry what could not be finished."
    if not ready:
        return f"{failed} answers could not be finished", body
    answers = "answer is" if ready == 1 else "answers are"
    return f"{ready} {answers} ready, {failed} could not be finished", body
